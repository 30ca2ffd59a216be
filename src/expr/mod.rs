//! GitLab's CI/CD variable expression language (`rules:if`, `only/except:variables`): lexer, parser, evaluator.
//!
//! The behaviour follows GitLab's implementation (`lib/gitlab/ci/pipeline/expression/` in
//! gitlab-org/gitlab) where it is more precise than the documentation, because pipelines are
//! written against what GitLab does. The notable consequences:
//!
//! - Values are Ruby values: a variable is a string or `nil`, comparisons give booleans, and
//!   `&&`/`||` are Ruby's, so they short-circuit on Ruby truthiness (`""` is truthy) and yield one
//!   of their operands. Only the final result is tested with ActiveSupport's `present?`, so a
//!   lone `$VAR` is true when the variable is defined and not blank.
//! - `=~`/`!~` search (they do not anchor). An undefined left side is matched as `""`. An
//!   undefined right side makes `=~` false and `!~` true. A right side that is a string (a
//!   variable, or a quoted literal) is used as a regex when it reads `/pattern/flags` and
//!   compiles, and otherwise GitLab checks whether the *left side is a substring of the right*.
//! - Regexes are RE2; `re2_to_rust` adapts the few places where the `regex` crate differs.
//! - Nothing is expanded inside string or regex literals, and only `$NAME` names a variable.

use std::borrow::Cow;
use std::fmt;

use regex::Regex;

mod lex;
mod parse;
mod regex_re2;
#[cfg(test)]
mod tests;

use lex::*;
use parse::*;
use regex_re2::*;

/// GitLab's lexer runs its loop 100 times and only notices the end of the input at the start of
/// an iteration, so the 100th token already fails with "Too many tokens!".
const MAX_TOKENS: usize = 99;

/// Flags GitLab accepts after a regex literal's closing slash (`[ismU]*` in its lexer).
const REGEX_FLAGS: &str = "ismU";

/// A parsed `rules:if` expression.
///
/// Equality compares the source text as well as the structure, so two expressions are equal
/// when they were written the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    root: Node,
    /// The text as written, kept so that runtime errors can point into it.
    source: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} at column {column} of `{source_text}`")]
pub struct ExprError {
    pub message: String,
    /// 1-based column, counted in characters.
    pub column: usize,
    pub source_text: String,
}

impl ExprError {
    fn new(message: impl Into<String>, column: usize, source_text: &str) -> Self {
        ExprError {
            message: message.into(),
            column,
            source_text: source_text.to_string(),
        }
    }
}

/// Parses a `rules:if` (or `only/except:variables`) expression.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    let tokens = lex(src)?;
    let root = Parser {
        src,
        tokens,
        pos: 0,
        end_column: src.chars().count() + 1,
    }
    .parse()?;
    Ok(Expr {
        root,
        source: src.to_string(),
    })
}

impl Expr {
    /// Evaluates with `lookup` giving a variable's value (None when the variable is not defined).
    /// Err only for a runtime problem GitLab also fails on.
    ///
    /// A variable holding a regex that does not compile is not one: GitLab then searches the
    /// variable's text for the left side, and so does this. GitLab fails (with an internal
    /// error) on a regex literal left of `==`, `!=`, `=~` or `!~`, and on `true` (a comparison
    /// result) right of `=~`/`!~`; those are the errors.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<bool, ExprError> {
        Ok(self.evaluate(&self.root, lookup)?.is_present())
    }

    /// Names of the variables the expression reads (for `explain`), in order of first use, no duplicates.
    pub fn variables(&self) -> Vec<String> {
        fn collect(node: &Node, names: &mut Vec<String>) {
            match node {
                Node::Var(name) if !names.contains(name) => names.push(name.clone()),
                Node::Binary { lhs, rhs, .. } => {
                    collect(lhs, names);
                    collect(rhs, names);
                }
                _ => {}
            }
        }
        let mut names = Vec::new();
        collect(&self.root, &mut names);
        names
    }

    fn evaluate(
        &self,
        node: &Node,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Value, ExprError> {
        Ok(match node {
            Node::Var(name) => lookup(name).map_or(Value::Nil, Value::Str),
            Node::Str(text) => Value::Str(text.clone()),
            Node::Null => Value::Nil,
            Node::Bool(value) => Value::Bool(*value),
            Node::Regex(pattern) => Value::Regex(pattern.clone()),
            Node::Binary {
                op,
                column,
                lhs,
                rhs,
            } => self.evaluate_binary(*op, *column, lhs, rhs, lookup)?,
        })
    }

    fn evaluate_binary(
        &self,
        op: BinOp,
        column: usize,
        lhs: &Node,
        rhs: &Node,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Value, ExprError> {
        let runtime_error = |message: String| ExprError::new(message, column, &self.source);
        let left = self.evaluate(lhs, lookup)?;
        Ok(match op {
            // Ruby's `a && b` / `a || b`: the right side is only evaluated when needed, and the
            // result is an operand, not a boolean (GitLab's specs check this against Ruby's eval).
            BinOp::And if !left.is_truthy() => left,
            BinOp::Or if left.is_truthy() => left,
            BinOp::And | BinOp::Or => self.evaluate(rhs, lookup)?,
            BinOp::Eq | BinOp::Ne => {
                let right = self.evaluate(rhs, lookup)?;
                let equal = left.ruby_eq(&right, op).map_err(runtime_error)?;
                Value::Bool(equal == (op == BinOp::Eq))
            }
            BinOp::Match | BinOp::NoMatch => {
                let right = self.evaluate(rhs, lookup)?;
                let found = regex_match(&left, &right, op).map_err(runtime_error)?;
                // `Matches` returns false and `NotMatches` true when the pattern is nil or false.
                Value::Bool(
                    found.map_or(op == BinOp::NoMatch, |found| found == (op == BinOp::Match)),
                )
            }
        })
    }
}

impl fmt::Display for Expr {
    /// Prints the expression on one line with single spaces around operators, strings in double
    /// quotes (single quotes when the text holds a double quote), and only the parentheses the
    /// structure needs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_node(f, &self.root)
    }
}

fn write_node(f: &mut fmt::Formatter<'_>, node: &Node) -> fmt::Result {
    match node {
        Node::Var(name) => write!(f, "${name}"),
        // A literal cannot contain its own quote (GitLab has no escapes), so one of the two fits.
        Node::Str(text) if text.contains('"') => write!(f, "'{text}'"),
        Node::Str(text) => write!(f, "\"{text}\""),
        Node::Null => f.write_str("null"),
        Node::Bool(value) => write!(f, "{value}"),
        Node::Regex(pattern) => write!(f, "{pattern}"),
        Node::Binary { op, lhs, rhs, .. } => {
            write_operand(f, lhs, op.precedence(), false)?;
            write!(f, " {op} ")?;
            write_operand(f, rhs, op.precedence(), true)
        }
    }
}

fn write_operand(
    f: &mut fmt::Formatter<'_>,
    node: &Node,
    parent: u8,
    right_side: bool,
) -> fmt::Result {
    // Operators are left-associative, so a right operand of the same precedence keeps its parentheses.
    let parenthesise = match node {
        Node::Binary { op, .. } => {
            op.precedence() < parent || (right_side && op.precedence() == parent)
        }
        _ => false,
    };
    if parenthesise {
        f.write_str("(")?;
        write_node(f, node)?;
        f.write_str(")")
    } else {
        write_node(f, node)
    }
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Var(String),
    Str(String),
    Null,
    /// `true`/`false`: recent GitLab versions lex these (mainly for `spec:inputs` rules).
    Bool(bool),
    Regex(Pattern),
    Binary {
        op: BinOp,
        /// Column of the operator, for runtime errors.
        column: usize,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Eq,
    Ne,
    Match,
    NoMatch,
    And,
    Or,
}

impl BinOp {
    /// Higher binds tighter. GitLab gives all four comparisons Ruby's precedence 10, `&&` 11 and
    /// `||` 12 (lower is tighter there), and its shunting-yard parser makes them left-associative.
    fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 0,
            BinOp::And => 1,
            BinOp::Eq | BinOp::Ne | BinOp::Match | BinOp::NoMatch => 2,
        }
    }
}

impl fmt::Display for BinOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Match => "=~",
            BinOp::NoMatch => "!~",
            BinOp::And => "&&",
            BinOp::Or => "||",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// A Ruby value as GitLab's evaluator sees it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Nil,
    Str(String),
    Bool(bool),
    Regex(Pattern),
}

impl Value {
    /// Ruby truthiness, which `&&` and `||` use: only `nil` and `false` are false.
    fn is_truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    /// ActiveSupport's `present?`, which decides the expression (`Statement#truthful?`): strings
    /// must hold something other than whitespace.
    fn is_present(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(value) => *value,
            Value::Str(text) => !text.chars().all(char::is_whitespace),
            Value::Regex(_) => true,
        }
    }

    /// Ruby's `==`. A regex on the left is GitLab's `UntrustedRegexp#==`, which calls `source`
    /// on the other side and so fails for anything but another regex.
    fn ruby_eq(&self, other: &Value, op: BinOp) -> Result<bool, String> {
        Ok(match (self, other) {
            (Value::Regex(a), Value::Regex(b)) => a == b,
            (Value::Regex(_), _) => {
                return Err(format!(
                    "a regular expression on the left of `{op}` can only be compared with another \
                     one (GitLab fails with an internal error)"
                ));
            }
            (Value::Nil, Value::Nil) => true,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        })
    }

    /// Ruby's `to_s`, which GitLab applies to the left side of `=~`/`!~`.
    fn match_text(&self, op: BinOp) -> Result<Cow<'_, str>, String> {
        match self {
            Value::Nil => Ok(Cow::Borrowed("")),
            Value::Str(text) => Ok(Cow::Borrowed(text)),
            Value::Bool(value) => Ok(Cow::Owned(value.to_string())),
            Value::Regex(_) => Err(format!(
                "a regular expression cannot be the left side of `{op}` (GitLab would match \
                 against Ruby's description of the object)"
            )),
        }
    }
}

/// GitLab's `Matches`/`NotMatches`: `None` when the pattern side is `nil` or `false`, otherwise
/// whether the pattern finds a match anywhere in the left side's text.
fn regex_match(text: &Value, pattern: &Value, op: BinOp) -> Result<Option<bool>, String> {
    let built;
    let regex = match pattern {
        Value::Nil | Value::Bool(false) => return Ok(None),
        Value::Bool(true) => {
            return Err(format!(
                "the right side of `{op}` is a boolean, not a pattern (GitLab fails with an internal error)"
            ));
        }
        Value::Regex(pattern) => &pattern.regex,
        // `Pattern.build_and_evaluate`: a string reading `/pattern/flags` that compiles is a
        // regex; any other string is searched for the left side (`right.scan(left)`), which the
        // docs describe under "Unexpected behavior from regular expression matching with `=~`".
        Value::Str(candidate) => match Pattern::from_slashed(candidate) {
            Ok(pattern) => {
                built = pattern;
                &built.regex
            }
            Err(_) => return Ok(Some(candidate.contains(&*text.match_text(op)?))),
        },
    };
    Ok(Some(regex.is_match(&text.match_text(op)?)))
}
