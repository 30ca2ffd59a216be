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
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    LParen,
    RParen,
    Var(String),
    Str(String),
    Regex(Pattern),
    Null,
    Bool(bool),
    Op(BinOp),
}

impl TokenKind {
    fn describe(&self) -> String {
        match self {
            TokenKind::LParen => "`(`".into(),
            TokenKind::RParen => "`)`".into(),
            TokenKind::Var(name) => format!("`${name}`"),
            TokenKind::Str(_) => "a string".into(),
            TokenKind::Regex(_) => "a regular expression".into(),
            TokenKind::Null => "`null`".into(),
            TokenKind::Bool(value) => format!("`{value}`"),
            TokenKind::Op(op) => format!("`{op}`"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    /// 1-based character column of the token's first character.
    column: usize,
}

fn lex(src: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut pos = 0;
    loop {
        while chars.get(pos).copied().is_some_and(is_ruby_space) {
            pos += 1;
        }
        if pos == chars.len() {
            return Ok(tokens);
        }
        if tokens.len() == MAX_TOKENS {
            return Err(ExprError::new(
                format!("too many tokens (GitLab accepts at most {MAX_TOKENS})"),
                pos + 1,
                src,
            ));
        }
        let (kind, end) =
            lex_token(&chars, pos).map_err(|message| ExprError::new(message, pos + 1, src))?;
        tokens.push(Token {
            kind,
            column: pos + 1,
        });
        pos = end;
    }
}

/// Ruby's `\s`, which is what GitLab's lexer skips between tokens.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads the token starting at `pos`; returns it with the index just past it.
fn lex_token(chars: &[char], pos: usize) -> Result<(TokenKind, usize), String> {
    let starts_with = |word: &str| {
        word.chars()
            .enumerate()
            .all(|(i, c)| chars.get(pos + i) == Some(&c))
    };
    // GitLab's boolean lexeme is `\b(?:true|false)\b`, unlike `null`, which needs no boundary.
    let bounded_word = |word: &str| {
        let len = word.chars().count();
        starts_with(word)
            && (pos == 0 || !is_word_char(chars[pos - 1]))
            && !chars.get(pos + len).copied().is_some_and(is_word_char)
    };
    let operator = |op: BinOp| Ok((TokenKind::Op(op), pos + 2));
    match chars[pos] {
        '(' => Ok((TokenKind::LParen, pos + 1)),
        ')' => Ok((TokenKind::RParen, pos + 1)),
        '$' => lex_variable(chars, pos),
        quote @ ('"' | '\'') => lex_string(chars, pos, quote),
        '/' => lex_regex(chars, pos),
        _ if starts_with("null") => Ok((TokenKind::Null, pos + 4)),
        _ if bounded_word("true") => Ok((TokenKind::Bool(true), pos + 4)),
        _ if bounded_word("false") => Ok((TokenKind::Bool(false), pos + 5)),
        _ if starts_with("==") => operator(BinOp::Eq),
        _ if starts_with("=~") => operator(BinOp::Match),
        _ if starts_with("!=") => operator(BinOp::Ne),
        _ if starts_with("!~") => operator(BinOp::NoMatch),
        _ if starts_with("&&") => operator(BinOp::And),
        _ if starts_with("||") => operator(BinOp::Or),
        '=' => Err("unexpected `=` (the operators are `==` and `=~`)".into()),
        '!' => Err("unexpected `!` (there is no negation; the operators are `!=` and `!~`)".into()),
        '&' => Err("unexpected `&` (did you mean `&&`?)".into()),
        '|' => Err("unexpected `|` (did you mean `||`?)".into()),
        c if is_word_char(c) => {
            let word: String = chars[pos..]
                .iter()
                .take_while(|c| is_word_char(**c))
                .collect();
            Err(format!(
                "unexpected `{word}` (variables are written `$NAME`, strings are quoted)"
            ))
        }
        c => Err(format!("unexpected character `{c}`")),
    }
}

fn lex_variable(chars: &[char], pos: usize) -> Result<(TokenKind, usize), String> {
    // GitLab's lexeme is `\$(?<name>\w+)`, and Ruby's `\w` is ASCII-only.
    let name: String = chars[pos + 1..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
        .collect();
    if name.is_empty() {
        return Err(match chars.get(pos + 1) {
            Some('{') => {
                "`${NAME}` is not accepted in expressions: GitLab only knows `$NAME`".into()
            }
            Some('[') => "`$[[ … ]]` interpolation must be expanded before evaluation".into(),
            _ => "expected a variable name after `$`".into(),
        });
    }
    let end = pos + 1 + name.len();
    Ok((TokenKind::Var(name), end))
}

fn lex_string(chars: &[char], pos: usize, quote: char) -> Result<(TokenKind, usize), String> {
    // GitLab's lexeme is `"(.*?)"` or `'(.*?)'`: no escapes, the first matching quote ends the
    // string, and `.` does not cross a line break.
    let body = &chars[pos + 1..];
    match body.iter().position(|&c| c == quote || c == '\n') {
        Some(len) if body[len] == quote => {
            let text = body[..len].iter().collect();
            Ok((TokenKind::Str(text), pos + len + 2))
        }
        _ => Err("unterminated string literal".into()),
    }
}

fn lex_regex(chars: &[char], pos: usize) -> Result<(TokenKind, usize), String> {
    let close = find_regex_close(chars, pos).ok_or_else(|| regex_literal_problem(chars, pos))?;
    let mut end = close + 1;
    while chars.get(end).is_some_and(|c| REGEX_FLAGS.contains(*c)) {
        end += 1;
    }
    let text: String = chars[pos..end].iter().collect();
    if text.contains('\n') {
        // GitLab's treatment of such a literal depends on accidents of Ruby's line anchors.
        return Err("a regular expression literal cannot span lines".into());
    }
    let pattern = Pattern::from_slashed(&text)?;
    Ok((TokenKind::Regex(pattern), end))
}

/// Finds the closing slash of the regex literal opening at `open`, as GitLab's lexeme
/// `/([^\/]|\\/)+[^\\]\/[ismU]*` does with Ruby's backtracking.
///
/// That regex needs at least two characters between the slashes (`//` and `/./` do not lex, as
/// the docs warn), lets `\/` stand for a slash, and, when it meets `//`, takes the first slash as
/// the pattern's last character. Only the first unescaped slash can close the literal, so a scan
/// replaces the backtracking.
fn find_regex_close(chars: &[char], open: usize) -> Option<usize> {
    let start = open + 1;
    let mut pos = start;
    loop {
        let slash = pos + chars[pos..].iter().position(|&c| c == '/')?;
        if slash > start && chars.get(slash + 1) == Some(&'/') {
            return Some(slash + 1);
        }
        if slash > pos && chars[slash - 1] == '\\' {
            pos = slash + 1;
            continue;
        }
        return (slash > pos && slash - 1 > start).then_some(slash);
    }
}

fn regex_literal_problem(chars: &[char], open: usize) -> String {
    match chars[open + 1..].iter().position(|&c| c == '/') {
        None => "unterminated regular expression".into(),
        Some(0 | 1) => {
            "empty and one-character regular expressions such as `/./` are rejected by GitLab"
                .into()
        }
        Some(_) => "unterminated regular expression (`\\/` is an escaped slash)".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent over the precedence levels of `BinOp::precedence`.

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    /// Column just past the end of the input, where a missing trailing operand is reported.
    end_column: usize,
}

impl Parser<'_> {
    fn parse(mut self) -> Result<Node, ExprError> {
        if self.tokens.is_empty() {
            return Err(self.error("empty expression", 1));
        }
        let root = self.parse_level(0)?;
        match self.tokens.get(self.pos) {
            None => Ok(root),
            Some(token) if token.kind == TokenKind::RParen => {
                Err(self.error("unmatched `)`", token.column))
            }
            Some(token) => Err(self.missing_operator(token)),
        }
    }

    /// Parses a chain of operators of precedence `level`, whose operands bind tighter.
    fn parse_level(&mut self, level: u8) -> Result<Node, ExprError> {
        if level > BinOp::Eq.precedence() {
            return self.parse_operand();
        }
        let mut lhs = self.parse_level(level + 1)?;
        while let Some(token) = self.tokens.get(self.pos) {
            let TokenKind::Op(op) = token.kind else { break };
            if op.precedence() != level {
                break;
            }
            let column = token.column;
            self.pos += 1;
            let rhs = self.parse_level(level + 1)?;
            lhs = Node::Binary {
                op,
                column,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        Ok(lhs)
    }

    fn parse_operand(&mut self) -> Result<Node, ExprError> {
        let Some(token) = self.tokens.get(self.pos).cloned() else {
            // At the end of the input, so the last token is what wanted an operand.
            let after = self
                .tokens
                .last()
                .map_or_else(|| "the start".to_string(), |token| token.kind.describe());
            return Err(self.error(format!("missing operand after {after}"), self.end_column));
        };
        self.pos += 1;
        match token.kind {
            TokenKind::Var(name) => Ok(Node::Var(name)),
            TokenKind::Str(text) => Ok(Node::Str(text)),
            TokenKind::Regex(pattern) => Ok(Node::Regex(pattern)),
            TokenKind::Null => Ok(Node::Null),
            TokenKind::Bool(value) => Ok(Node::Bool(value)),
            TokenKind::LParen => {
                let inner = self.parse_level(0)?;
                match self.tokens.get(self.pos) {
                    Some(next) if next.kind == TokenKind::RParen => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    None => Err(self.error("unclosed `(`", token.column)),
                    Some(next) => Err(self.missing_operator(next)),
                }
            }
            TokenKind::RParen | TokenKind::Op(_) => Err(self.error(
                format!("missing operand before {}", token.kind.describe()),
                token.column,
            )),
        }
    }

    fn missing_operator(&self, token: &Token) -> ExprError {
        self.error(
            format!("missing operator before {}", token.kind.describe()),
            token.column,
        )
    }

    fn error(&self, message: impl Into<String>, column: usize) -> ExprError {
        ExprError::new(message, column, self.src)
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

// ---------------------------------------------------------------------------------------------
// Regular expressions

/// A compiled regex literal or regex-valued variable.
#[derive(Debug, Clone)]
struct Pattern {
    /// The RE2 pattern between the slashes, with `\/` already turned into `/` as GitLab does.
    source: String,
    /// The flags as written after the closing slash: a subset of `ismU`, possibly repeated.
    flags: String,
    regex: Regex,
}

impl PartialEq for Pattern {
    /// GitLab compares regexes by their RE2 source (`UntrustedRegexp#==`), i.e. pattern and flags.
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.flags == other.flags
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/{}", self.source.replace('/', "\\/"), self.flags)
    }
}

impl Pattern {
    /// GitLab's `Lexeme::Pattern.new` followed by `UntrustedRegexp::RubySyntax.fabricate!`:
    /// turn every `\/` into `/`, split `/pattern/flags`, and compile `(?flags)pattern` with RE2.
    fn from_slashed(text: &str) -> Result<Pattern, String> {
        let unescaped = text.replace("\\/", "/");
        let (source, flags) = split_slashed(&unescaped)
            .ok_or_else(|| "a regular expression must be written `/pattern/flags`".to_string())?;
        let re2 = if flags.is_empty() {
            source.to_string()
        } else {
            format!("(?{flags}){source}")
        };
        let translated =
            re2_to_rust(&re2).map_err(|detail| format!("invalid regular expression: {detail}"))?;
        let regex = Regex::new(&translated).map_err(|err| {
            let text = err.to_string();
            let detail = text
                .lines()
                .rev()
                .find_map(|line| line.strip_prefix("error: "))
                .unwrap_or(&text)
                .to_string();
            format!("invalid regular expression: {detail}")
        })?;
        Ok(Pattern {
            source: source.to_string(),
            flags: flags.to_string(),
            regex,
        })
    }
}

/// `RubySyntax::PATTERN`, `^/(?<regexp>.*)/(?<flags>[ismU]*)$`: Ruby's `^`, `$` and `.` work
/// line by line, so the first line of the form `/…/flags` wins, its pattern running to the last
/// slash of the line.
fn split_slashed(value: &str) -> Option<(&str, &str)> {
    value.split('\n').find_map(|line| {
        let body = line.strip_prefix('/')?;
        let close = body.rfind('/')?;
        let flags = &body[close + 1..];
        flags
            .chars()
            .all(|c| REGEX_FLAGS.contains(c))
            .then(|| (&body[..close], flags))
    })
}

/// Rewrites an RE2 pattern in the `regex` crate's dialect. Both are RE2-style automata, but they
/// differ in ways a GitLab user could notice:
/// - `\d`, `\w`, `\s` and `\b` are ASCII-only in RE2 and Unicode-aware in `regex`;
/// - RE2 reads a `{` that does not start a repetition literally, and caps repetitions at 1000;
/// - inside a class RE2 reads `[`, `&&`, `--` and `~~` literally, where `regex` sees nested
///   classes and set operations;
/// - RE2 has `\Q…\E` and octal escapes; `\<` and `\>` are literals in RE2 but word boundaries in
///   `regex`;
/// - RE2 accepts repeated flags (`(?ii)`, which GitLab produces for `/x/ii`) and knows only `imsU`.
///
/// Everything else is passed through for `regex` to accept or reject.
fn re2_to_rust(re2: &str) -> Result<String, String> {
    let chars: Vec<char> = re2.chars().collect();
    let mut out = String::with_capacity(re2.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        i = match chars[i] {
            '\\' => translate_escape(&chars, i, false, &mut out)?,
            '[' => translate_class(&chars, i, &mut out)?,
            '{' => match repetition_end(&chars, i) {
                Some(end) => {
                    let repetition: String = chars[i..=end].iter().collect();
                    check_repetition(&repetition)?;
                    out.push_str(&repetition);
                    end + 1
                }
                None => {
                    out.push_str(r"\{");
                    i + 1
                }
            },
            c @ ('}' | ']') => {
                out.push('\\');
                out.push(c);
                i + 1
            }
            '(' if chars.get(i + 1) == Some(&'?') => translate_group_flags(&chars, i, &mut out)?,
            c => {
                out.push(c);
                i + 1
            }
        };
    }
    Ok(out)
}

/// If `chars[open]` starts a repetition (`{n}`, `{n,}` or `{n,m}`), the index of its `}`.
fn repetition_end(chars: &[char], open: usize) -> Option<usize> {
    let digits = |from: usize| {
        chars[from.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut i = open + 1;
    let lower = digits(i);
    if lower == 0 {
        return None;
    }
    i += lower;
    if chars.get(i) == Some(&',') {
        i += 1;
        i += digits(i);
    }
    (chars.get(i) == Some(&'}')).then_some(i)
}

fn check_repetition(repetition: &str) -> Result<(), String> {
    let too_big = repetition
        .trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .filter(|bound| !bound.is_empty())
        .any(|bound| bound.parse::<u32>().map_or(true, |n| n > 1000));
    if too_big {
        Err(format!("bad repetition operator: {repetition}"))
    } else {
        Ok(())
    }
}

/// `(?flags)` or `(?flags:`: keeps RE2's meaning (last setting of a flag wins) without the
/// repetitions `regex` rejects. Other `(?` groups are passed through.
fn translate_group_flags(chars: &[char], open: usize, out: &mut String) -> Result<usize, String> {
    let start = open + 2;
    let mut end = start;
    while chars
        .get(end)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == '-')
    {
        end += 1;
    }
    let terminator = match chars.get(end) {
        Some(&c @ (')' | ':')) if end > start => c,
        _ => {
            out.push_str("(?");
            return Ok(start);
        }
    };
    let written: String = chars[start..end].iter().collect();
    let unsupported = || format!("invalid or unsupported Perl syntax: `(?{written}`");
    let mut settings: Vec<(char, bool)> = Vec::new();
    let mut negated = false;
    let mut flag_since_negation = false;
    for &c in &chars[start..end] {
        if c == '-' {
            if negated {
                return Err(unsupported());
            }
            negated = true;
            flag_since_negation = false;
        } else if "imsU".contains(c) {
            flag_since_negation = true;
            match settings.iter_mut().find(|(flag, _)| *flag == c) {
                Some(setting) => setting.1 = !negated,
                None => settings.push((c, !negated)),
            }
        } else {
            return Err(unsupported());
        }
    }
    if negated && !flag_since_negation {
        return Err(unsupported());
    }
    let on: String = settings.iter().filter(|s| s.1).map(|s| s.0).collect();
    let off: String = settings.iter().filter(|s| !s.1).map(|s| s.0).collect();
    out.push_str("(?");
    out.push_str(&on);
    if !off.is_empty() {
        out.push('-');
        out.push_str(&off);
    }
    out.push(terminator);
    Ok(end + 1)
}

/// Translates the escape at `chars[at]` (a backslash); returns the index after it.
fn translate_escape(
    chars: &[char],
    at: usize,
    in_class: bool,
    out: &mut String,
) -> Result<usize, String> {
    let Some(&c) = chars.get(at + 1) else {
        return Err("trailing `\\`".into());
    };
    let mut next = at + 2;
    match c {
        // RE2's Perl classes are ASCII. Inside a class, the positive ones are spliced in as ranges
        // and the negated ones become nested classes (which `regex` unions).
        'd' if in_class => out.push_str("0-9"),
        'd' => out.push_str("[0-9]"),
        'w' if in_class => out.push_str("0-9A-Za-z_"),
        'w' => out.push_str("[0-9A-Za-z_]"),
        's' if in_class => out.push_str(r"\t\n\x0C\r "),
        's' => out.push_str(r"[\t\n\x0C\r ]"),
        'D' => out.push_str("[^0-9]"),
        'W' => out.push_str("[^0-9A-Za-z_]"),
        'S' => out.push_str(r"[^\t\n\x0C\r ]"),
        'b' | 'B' if !in_class => {
            out.push_str("(?-u:\\");
            out.push(c);
            out.push(')');
        }
        '<' | '>' => out.push(c),
        'Q' => {
            let literal_end = (next..chars.len())
                .find(|&i| chars[i] == '\\' && chars.get(i + 1) == Some(&'E'))
                .unwrap_or(chars.len());
            let literal: String = chars[next..literal_end].iter().collect();
            out.push_str(&regex::escape(&literal));
            next = (literal_end + 2).min(chars.len());
        }
        'p' | 'P' | 'x' if chars.get(next) == Some(&'{') => {
            // Copy `\p{…}` / `\x{…}` whole, so the brace is not taken for a repetition.
            let close = (next..chars.len())
                .find(|&i| chars[i] == '}')
                .map_or(chars.len(), |i| i + 1);
            out.extend(&chars[at..close]);
            next = close;
        }
        // RE2 reads `\0` and `\1`..`\7` followed by an octal digit as up to three octal digits;
        // a lone `\1`..`\9` is a backreference, which both engines reject.
        '0'..='7' if c == '0' || chars.get(next).is_some_and(|d| ('0'..='7').contains(d)) => {
            let mut code = c.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                match chars.get(next).and_then(|d| d.to_digit(8)) {
                    Some(digit) => {
                        code = code * 8 + digit;
                        next += 1;
                    }
                    None => break,
                }
            }
            out.push_str(&format!("\\x{{{code:X}}}"));
        }
        _ => {
            out.push('\\');
            out.push(c);
        }
    }
    Ok(next)
}

/// Translates the character class opening at `chars[open]`; returns the index after it.
fn translate_class(chars: &[char], open: usize, out: &mut String) -> Result<usize, String> {
    out.push('[');
    let mut i = open + 1;
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    // As in POSIX, a `]` right after the opening bracket is a literal.
    if chars.get(i) == Some(&']') {
        out.push_str(r"\]");
        i += 1;
    }
    let mut previous_dash = false;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("missing closing ]".into());
        };
        let mut dash = false;
        i = match c {
            ']' => {
                out.push(']');
                return Ok(i + 1);
            }
            '[' => match posix_class_end(chars, i) {
                Some(end) => {
                    out.extend(&chars[i..=end]);
                    end + 1
                }
                None => {
                    out.push_str(r"\[");
                    i + 1
                }
            },
            '\\' => translate_escape(chars, i, true, out)?,
            '&' | '~' => {
                out.push('\\');
                out.push(c);
                i + 1
            }
            // `--` is set difference in `regex`; in RE2 the second dash is a range bound.
            '-' if previous_dash => {
                out.push_str(r"\-");
                i + 1
            }
            _ => {
                dash = c == '-';
                out.push(c);
                i + 1
            }
        };
        previous_dash = dash;
    }
}

/// If `chars[open]` starts a POSIX class such as `[:alpha:]` or `[:^digit:]`, the index of its `]`.
fn posix_class_end(chars: &[char], open: usize) -> Option<usize> {
    if chars.get(open + 1) != Some(&':') {
        return None;
    }
    let name_start = open + 2;
    let name_len = chars[name_start.min(chars.len())..]
        .iter()
        .take_while(|c| c.is_ascii_lowercase() || **c == '^')
        .count();
    let colon = name_start + name_len;
    (name_len > 0 && chars.get(colon) == Some(&':') && chars.get(colon + 1) == Some(&']'))
        .then_some(colon + 1)
}

#[cfg(test)]
mod tests {
    //! Expected values come from GitLab's documentation ("CI/CD variable expressions" in
    //! `doc/ci/jobs/job_rules.md`, cited as *docs*) or from GitLab's own specs under
    //! `spec/lib/gitlab/ci/pipeline/expression/` (cited as *spec*), which state what the
    //! implementation returns.

    use super::*;

    /// A lookup over fixed pairs; names not listed are undefined.
    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    fn eval(src: &str, pairs: &[(&str, &str)]) -> bool {
        let expr = parse(src).unwrap_or_else(|err| panic!("{err}"));
        expr.eval(&vars(pairs))
            .unwrap_or_else(|err| panic!("{err}"))
    }

    /// The Ruby value GitLab's `Statement#evaluate` would return, before `present?`.
    fn value(src: &str, pairs: &[(&str, &str)]) -> Value {
        let expr = parse(src).unwrap_or_else(|err| panic!("{err}"));
        expr.evaluate(&expr.root, &vars(pairs)).unwrap()
    }

    fn parse_err(src: &str) -> ExprError {
        match parse(src) {
            Ok(expr) => panic!("`{src}` parsed as `{expr}`"),
            Err(err) => err,
        }
    }

    fn str_value(text: &str) -> Value {
        Value::Str(text.to_string())
    }

    /// The tree without operator columns, to compare structures parsed from different texts.
    fn shape(node: &Node) -> Node {
        match node {
            Node::Binary { op, lhs, rhs, .. } => Node::Binary {
                op: *op,
                column: 0,
                lhs: Box::new(shape(lhs)),
                rhs: Box::new(shape(rhs)),
            },
            leaf => leaf.clone(),
        }
    }

    /// The variables of GitLab's `statement_spec.rb`.
    const SPEC_VARS: &[(&str, &str)] = &[
        ("PRESENT_VARIABLE", "my variable"),
        ("PATH_VARIABLE", "a/path/variable/value"),
        ("FULL_PATH_VARIABLE", "/a/full/path/variable/value"),
        ("EMPTY_VARIABLE", ""),
    ];

    #[test]
    fn statement_spec_truthiness() {
        // spec statement_spec.rb, `#evaluate` table; the boolean is `present?` of the value it
        // lists (`nil`, `''` and `false` are not present; match positions and non-blank strings are).
        let table: &[(&str, bool)] = &[
            (r#"$PRESENT_VARIABLE == "my variable""#, true),
            (r#""my variable" == $PRESENT_VARIABLE"#, true),
            ("$PRESENT_VARIABLE == 'my variable'", true),
            ("$PRESENT_VARIABLE == null", false),
            ("$EMPTY_VARIABLE == null", false),
            (r#""" == $EMPTY_VARIABLE"#, true),
            ("$EMPTY_VARIABLE", false),
            ("$UNDEFINED_VARIABLE == null", true),
            ("null == $UNDEFINED_VARIABLE", true),
            ("$PRESENT_VARIABLE", true),
            ("$UNDEFINED_VARIABLE", false),
            ("$PRESENT_VARIABLE =~ /var.*e$/", true),
            (r"$PRESENT_VARIABLE =~ /va\r.*e$/", false),
            (r"$PRESENT_VARIABLE =~ /va\/r.*e$/", false),
            ("$PRESENT_VARIABLE =~ /^var.*/", false),
            ("$EMPTY_VARIABLE =~ /var.*/", false),
            ("$UNDEFINED_VARIABLE =~ /var.*/", false),
            ("$PRESENT_VARIABLE =~ /VAR.*/i", true),
            (r"$PATH_VARIABLE =~ /path\/variable/", true),
            (
                r"$FULL_PATH_VARIABLE =~ /^\/a\/full\/path\/variable\/value$/",
                true,
            ),
            // Written `/\\/path…/` inside a single-quoted Ruby string, i.e. `\/` here.
            (r"$FULL_PATH_VARIABLE =~ /\/path\/variable\/value$/", true),
            (r#"$PRESENT_VARIABLE != "my variable""#, false),
            (r#""my variable" != $PRESENT_VARIABLE"#, false),
            ("$PRESENT_VARIABLE != null", true),
            ("$EMPTY_VARIABLE != null", true),
            (r#""" != $EMPTY_VARIABLE"#, false),
            ("$UNDEFINED_VARIABLE != null", false),
            ("null != $UNDEFINED_VARIABLE", false),
            ("$PRESENT_VARIABLE !~ /var.*e$/", false),
            ("$PRESENT_VARIABLE !~ /^var.*/", true),
            (r"$PRESENT_VARIABLE !~ /^v\ar.*/", true),
            (r"$PRESENT_VARIABLE !~ /^v\/ar.*/", true),
            ("$EMPTY_VARIABLE !~ /var.*/", true),
            ("$UNDEFINED_VARIABLE !~ /var.*/", true),
            ("$PRESENT_VARIABLE !~ /VAR.*/i", false),
            (
                "$PRESENT_VARIABLE =~ /my var/ && $EMPTY_VARIABLE =~ /nope/",
                false,
            ),
            (
                r#"$EMPTY_VARIABLE == "" && $PRESENT_VARIABLE != "nope""#,
                true,
            ),
            (
                "$PRESENT_VARIABLE =~ /my var/ || $EMPTY_VARIABLE =~ /nope/",
                true,
            ),
            (
                r#"$PRESENT_VARIABLE && null || $EMPTY_VARIABLE == """#,
                true,
            ),
            ("$UNDEFINED_VARIABLE == null || $PRESENT_VARIABLE", true),
            (
                r#"(($PRESENT_VARIABLE && null) || $EMPTY_VARIABLE == "")"#,
                true,
            ),
            (r#"("string" || "test") == "string""#, true),
            (r#"(null || ("test" == "string"))"#, false),
            (r#"("string" == ("test" && "string"))"#, true),
            (r#"("string" == ("test" || "string"))"#, false),
            (
                r#"("string" == ("string" || (("1" == "1") && ("2" == "3"))))"#,
                true,
            ),
        ];
        for (src, expected) in table {
            assert_eq!(eval(src, SPEC_VARS), *expected, "{src}");
        }
    }

    #[test]
    fn and_or_yield_ruby_operands() {
        // spec statement_spec.rb: `&&`/`||` give exactly what Ruby's `eval` gives, i.e. an
        // operand, with `""` truthy. So `$EMPTY && $PRESENT` is "my variable" (true), and
        // `$PRESENT && $EMPTY` is "" (false).
        let table: &[(&str, Value)] = &[
            (r#"$PRESENT_VARIABLE && "string""#, str_value("string")),
            ("$PRESENT_VARIABLE && $EMPTY_VARIABLE", str_value("")),
            ("$PRESENT_VARIABLE && null", Value::Nil),
            (
                "$EMPTY_VARIABLE && $PRESENT_VARIABLE",
                str_value("my variable"),
            ),
            ("null && $PRESENT_VARIABLE", Value::Nil),
            (r#""string" && $EMPTY_VARIABLE"#, str_value("")),
            ("$UNDEFINED_VARIABLE && $EMPTY_VARIABLE", Value::Nil),
            (
                "$PRESENT_VARIABLE || $UNDEFINED_VARIABLE",
                str_value("my variable"),
            ),
            (
                "$UNDEFINED_VARIABLE || $PRESENT_VARIABLE",
                str_value("my variable"),
            ),
            (
                "$PRESENT_VARIABLE || $UNDEFINED_VARIABLE == null",
                str_value("my variable"),
            ),
            (r#"("string" == "test" || "string")"#, str_value("string")),
        ];
        for (src, expected) in table {
            assert_eq!(&value(src, SPEC_VARS), expected, "{src}");
        }
        // The gotcha that follows: an empty-but-defined variable short-circuits `||`, so the
        // comparison after it is never looked at and the result is "" (not present).
        assert!(!eval(
            r#"$EMPTY_VARIABLE || $PRESENT_VARIABLE == "my variable""#,
            SPEC_VARS
        ));
        // Short-circuiting also skips what would fail: `null && …` never evaluates the regex side.
        assert!(!eval(r#"null && /ab/ == "x""#, &[]));
    }

    #[test]
    fn lone_operands() {
        // docs: "You can check if a variable is both defined and not empty by using just the
        // variable name". GitLab tests `present?`, so whitespace-only counts as empty.
        assert!(eval("$V", &[("V", "x")]));
        assert!(!eval("$V", &[("V", "")]));
        assert!(!eval("$V", &[("V", " \t\n")]));
        assert!(!eval("$V", &[]));
        // A string, `true`/`false`, `null` and a regex can stand alone too (spec: `"string" && "string"`
        // is "string"; a regex object is present).
        assert!(eval(r#""text""#, &[]));
        assert!(!eval("''", &[]));
        assert!(eval("true", &[]));
        assert!(!eval("false", &[]));
        assert!(!eval("null", &[]));
        assert!(eval("/ab/", &[]));
    }

    #[test]
    fn null_and_empty() {
        // docs: compare to `null` to see whether a variable is defined, to `""` whether it is
        // defined but empty. An undefined variable is nil, which is not "".
        assert!(eval("$EMPTY != null", &[("EMPTY", "")]));
        assert!(!eval("$EMPTY == null", &[("EMPTY", "")]));
        assert!(eval(r#"$EMPTY == """#, &[("EMPTY", "")]));
        assert!(!eval(r#"$UNDEF == """#, &[]));
        assert!(eval(r#"$UNDEF != """#, &[]));
        assert!(eval("null == null", &[]));
    }

    #[test]
    fn matching_undefined_and_empty_sides() {
        // spec: an undefined left side never matches `/var.*/` (`=~` false, `!~` true). GitLab
        // matches `nil.to_s`, i.e. "", so a pattern that matches "" does match.
        assert!(!eval("$UNDEF =~ /xy/", &[]));
        assert!(eval("$UNDEF !~ /xy/", &[]));
        assert!(eval("$UNDEF =~ /^$/", &[]));
        // Matches#evaluate: `return false unless regexp`; NotMatches: `return true unless regexp`.
        assert!(!eval("$A =~ $UNDEF", &[("A", "x")]));
        assert!(eval("$A !~ $UNDEF", &[("A", "x")]));
        assert!(!eval("$A =~ null", &[("A", "x")]));
    }

    #[test]
    fn regex_search_is_unanchored() {
        // docs: "just `/issue/` would also match a branch called `severe-issues`".
        assert!(eval("$B =~ /issue/", &[("B", "severe-issues")]));
        assert!(!eval("$B =~ /^issue-/", &[("B", "severe-issues")]));
        assert!(eval("$B =~ /^issue-.*$/", &[("B", "issue-12")]));
        // docs: "Pattern matching is case-sensitive by default. Use the `i` flag modifier".
        assert!(!eval("$B =~ /ISSUE/", &[("B", "issue")]));
        assert!(eval("$B =~ /ISSUE/i", &[("B", "issue")]));
    }

    #[test]
    fn regex_flags_are_re2_flags() {
        // GitLab prepends the flags as `(?flags)` to an RE2 pattern (RubySyntax), so `m` is RE2's
        // multi-line mode and `s` lets `.` match a newline.
        let text = [("T", "first\nsecond")];
        assert!(!eval("$T =~ /^second$/", &text));
        assert!(eval("$T =~ /^second$/m", &text));
        assert!(!eval("$T =~ /first.second/", &text));
        assert!(eval("$T =~ /first.second/s", &text));
        assert!(eval("$T =~ /FIRST.SECOND/si", &text));
        // spec pattern_spec.rb: `/pattern/im` becomes `(?im)pattern`; `U` is accepted too, and
        // a repeated flag is passed on to RE2, which accepts it.
        assert!(eval("$T =~ /^s.+d$/mU", &text));
        assert!(eval("$T =~ /FIRST/ii", &text));
        // spec: "ignores unsupported flags": `x` is not part of the literal, so here it is a
        // stray token.
        assert_eq!(parse_err("$T =~ /first/x").column, 14);
    }

    #[test]
    fn regex_literal_lexing() {
        // spec pattern_spec.rb: "does not allow to use an empty pattern"; docs: "Single-character
        // regular expressions, like `/./`, are not supported".
        assert!(parse_err("$A =~ //").message.contains("one-character"));
        let err = parse_err("$A =~ /./");
        assert_eq!(
            (err.column, err.message.contains("one-character")),
            (7, true)
        );
        // spec: `\/` is an escaped slash, "recognizes \ as an escape character for /".
        assert!(eval(
            r"$A =~ /some .* \/ pattern/",
            &[("A", "some x / pattern")]
        ));
        assert!(eval(r"$A =~ /^a\/b$/", &[("A", "a/b")]));
        // spec: "does not recognize \ as an escape character for $": `\$` stays an RE2 escape.
        assert!(eval(r"$A =~ /cost \$5/", &[("A", "cost $5")]));
        // spec: "is an eager scanner for regexp boundaries": the first unescaped slash closes.
        let err = parse_err("$A =~ /some .* / pattern/");
        assert_eq!(err.column, 18);
        // GitLab's lexeme reads `//` as "the pattern ends with a slash".
        assert!(eval("$A =~ /ab//", &[("A", "xab/")]));
        assert!(!eval("$A =~ /ab//", &[("A", "xab")]));
        assert!(parse_err("$A =~ /abc").message.contains("unterminated"));
        assert!(parse_err(r"$A =~ /abc\/").message.contains("unterminated"));
    }

    #[test]
    fn invalid_regex_literals_are_parse_errors() {
        // A literal that RE2 rejects is "Invalid regular expression!" when GitLab builds the
        // lexeme, i.e. an invalid expression. RE2 has no look-around (job_control.md: "some
        // features, like negative lookaheads, became unavailable").
        let err = parse_err("$A =~ /^(?!master$)./");
        assert_eq!(err.column, 7);
        assert!(
            err.message.starts_with("invalid regular expression"),
            "{err}"
        );
        assert_eq!(parse_err("$A =~ /(ab/").column, 7);
        assert!(
            parse_err("$A =~ /a{1001}/")
                .message
                .contains("bad repetition")
        );
        assert!(parse_err("$A =~ /(?x)a b/").message.contains("unsupported"));
    }

    #[test]
    fn re2_dialect() {
        // RE2's `\d`, `\w`, `\s` and `\b` are ASCII (github.com/google/re2/wiki/Syntax: "\d
        // digits (≡ [0-9])"); the regex crate's are Unicode.
        assert!(eval(r"$A =~ /^\d+$/", &[("A", "2024")]));
        assert!(!eval(r"$A =~ /^\d$/", &[("A", "٣")]));
        assert!(!eval(r"$A =~ /^\w$/", &[("A", "é")]));
        assert!(!eval(r"$A =~ /^\s$/", &[("A", "\u{A0}")]));
        assert!(eval(r"$A =~ /^[\d.]+$/", &[("A", "1.2")]));
        assert!(!eval(r"$A =~ /^[\d.]+$/", &[("A", "1.٣")]));
        assert!(eval(r"$A =~ /^[^\D]$/", &[("A", "7")]));
        assert!(eval(r"$A =~ /\bfix\b/", &[("A", "a fix.")]));
        assert!(!eval(r"$A =~ /\bfix\b/", &[("A", "prefix")]));
        // RE2 reads a `{` that starts no repetition literally; `{n,m}` still repeats.
        assert!(eval("$A =~ /^v{major}$/", &[("A", "v{major}")]));
        assert!(eval(
            "$A =~ /^v[0-9]{1,3}-release$/",
            &[("A", "v12-release")]
        ));
        assert!(!eval(
            "$A =~ /^v[0-9]{1,3}-release$/",
            &[("A", "v1234-release")]
        ));
        // Inside a class RE2 takes `[`, `&&` and `~~` literally.
        assert!(eval("$A =~ /^[[]$/", &[("A", "[")]));
        assert!(eval("$A =~ /^[a&&b]+$/", &[("A", "a&b")]));
        assert!(eval("$A =~ /^[]a]+$/", &[("A", "]a")]));
        assert!(eval("$A =~ /^[[:digit:]-]+$/", &[("A", "1-2")]));
        // `\Q…\E` quotes, octal escapes, and `\<` is a plain `<` in RE2.
        assert!(eval(r"$A =~ /^\Q.*\E$/", &[("A", ".*")]));
        assert!(!eval(r"$A =~ /^\Q.*\E$/", &[("A", "ab")]));
        assert!(eval(r"$A =~ /^\101$/", &[("A", "A")]));
        assert!(eval(r"$A =~ /\<b\>/", &[("A", "a<b>")]));
        // `\A`/`\z` anchor in both engines (used by Octez for version tags).
        assert!(eval(r"$A =~ /\A\d+\.\d+\.\d+\z/", &[("A", "1.2.3")]));
        // Later flag settings win, as in RE2.
        assert!(!eval("$A =~ /(?i-i)abc/", &[("A", "ABC")]));
    }

    #[test]
    fn regex_held_in_a_variable() {
        // docs "Store a regular expression in a variable": 'abcde' matches a `pattern`
        // variable holding '/^ab.*/', 'fghij' does not.
        assert!(eval(
            "$teststring =~ $pattern",
            &[("teststring", "abcde"), ("pattern", "/^ab.*/")]
        ));
        assert!(!eval(
            "$teststring =~ $pattern",
            &[("teststring", "fghij"), ("pattern", "/^ab.*/")]
        ));
        // Flags and `\/` work as in literals (Pattern.build_and_evaluate builds a Pattern lexeme).
        let pattern = [("P", r"/^V\d+\/x$/i"), ("A", "v12/X")];
        assert!(eval("$A =~ $P", &pattern));
        assert!(!eval("$A !~ $P", &pattern));
        // A variable can hold the one-character pattern its literal form cannot (RubySyntax only
        // needs `/…/`).
        assert!(eval("$A =~ $P", &[("A", "abc"), ("P", "/b/")]));
        // docs: "Variables in a regular expression are not resolved".
        let jobs = [
            ("CI_JOB_NAME", "regex-job1"),
            ("string1", "regex-job1"),
            ("pattern", "/$string2/"),
            ("string2", "regex-job1"),
        ];
        assert!(!eval("$CI_JOB_NAME =~ /$string1/", &jobs));
        assert!(!eval("$CI_JOB_NAME =~ $pattern", &jobs));
    }

    #[test]
    fn non_regex_right_side_is_a_substring_test() {
        // docs "Unexpected behavior from regular expression matching with `=~`": when the right
        // side is not a valid `/…/` regex, "the comparison checks if the left side is a
        // substring of the right side. For example, `"23" =~ "1234"` evaluates to true, which is
        // the opposite of `"23" =~ /1234/`".
        assert!(eval(r#""23" =~ "1234""#, &[]));
        assert!(!eval(r#""23" =~ /1234/"#, &[]));
        assert!(!eval(r#""1234" =~ "23""#, &[]));
        assert!(eval(r#""1234" !~ "23""#, &[]));
        // A quoted `/…/` is a regex, like a variable holding one.
        assert!(eval(r#""1234" =~ "/23/""#, &[]));
        // gitlab-org/gitlab#426313 measured `$LEFT =~ $RIGHT` on GitLab.com for the values 1234,
        // 23 and /23/: rows are LEFT, columns RIGHT.
        let values = ["1234", "23", "/23/"];
        let observed = [
            [true, false, true],
            [true, true, true],
            [false, false, true],
        ];
        for (left, row) in values.iter().zip(observed) {
            for (right, expected) in values.iter().zip(row) {
                let pairs = [("LEFT", *left), ("RIGHT", *right)];
                assert_eq!(
                    eval("$LEFT =~ $RIGHT", &pairs),
                    expected,
                    "{left} =~ {right}"
                );
            }
        }
        // A variable holding a broken regex is not an error: GitLab falls back to the substring
        // test with the variable's text (Pattern.build_and_evaluate rescues the syntax error).
        assert!(eval("$A =~ $P", &[("A", "(ab"), ("P", "/(ab/")]));
        assert!(!eval("$A =~ $P", &[("A", "ab"), ("P", "/(?!x)/")]));
        // `"abc".scan("")` is not empty, so an undefined left side is a substring of anything.
        assert!(eval("$UNDEF =~ $P", &[("P", "abc")]));
    }

    #[test]
    fn strings_are_not_expanded() {
        // GitLab's String lexeme evaluates to its text as written (`@value.to_s`), and there is
        // no escape syntax: the first matching quote ends the string.
        assert!(!eval(r#"$A == "$B""#, &[("A", "x"), ("B", "x")]));
        assert!(eval(r#"$A == "$B""#, &[("A", "$B")]));
        assert!(eval(r#"$A == 'say "hi"'"#, &[("A", r#"say "hi""#)]));
        assert!(eval(r#"$A == "it's""#, &[("A", "it's")]));
        assert!(eval(r#"$A == "a\b""#, &[("A", r"a\b")]));
        // `"a\"b"` is the string `a\` followed by a stray `b"`.
        assert_eq!(parse_err(r#"$A == "a\"b""#).column, 11);
    }

    #[test]
    fn variable_syntax() {
        // GitLab's Variable lexeme is `\$(?<name>\w+)`: no braces, names may start with a digit.
        let err = parse_err("${CI_COMMIT_TAG} == null");
        assert_eq!(err.column, 1);
        assert!(err.message.contains("$NAME"), "{err}");
        assert!(eval("$1ST == 'x'", &[("1ST", "x")]));
        assert_eq!(parse_err("$ == null").column, 1);
        assert!(
            parse_err("$[[ inputs.x ]] == 'a'")
                .message
                .contains("interpolation")
        );
        // `null` needs no word boundary in GitLab's lexer: `nullx` is `null` then `x`.
        assert_eq!(parse_err("$A == nullx").column, 11);
        // Booleans do: `$A == trueish` is an error at `trueish`.
        assert_eq!(parse_err("$A == trueish").column, 7);
    }

    #[test]
    fn syntax_errors_have_columns() {
        // spec statement_spec.rb lists these as invalid: '$VAR "text"', '== "123"',
        // '"some string"' (only in old versions), '$VAR ==', '12345' and ''.
        let err = parse_err(r#"$VAR "text""#);
        assert_eq!(
            (err.column, err.message.as_str()),
            (6, "missing operator before a string")
        );
        let err = parse_err(r#"== "123""#);
        assert_eq!(
            (err.column, err.message.as_str()),
            (1, "missing operand before `==`")
        );
        let err = parse_err("$VAR ==");
        assert_eq!(
            (err.column, err.message.as_str()),
            (8, "missing operand after `==`")
        );
        assert_eq!(parse_err("12345").column, 1);
        assert_eq!(parse_err("").message, "empty expression");
        assert_eq!(parse_err("  \t ").message, "empty expression");
        // Unbalanced parentheses.
        let err = parse_err("($A == 'x'");
        assert_eq!((err.column, err.message.as_str()), (1, "unclosed `(`"));
        let err = parse_err("$A == 'x')");
        assert_eq!((err.column, err.message.as_str()), (10, "unmatched `)`"));
        assert_eq!(parse_err("()").message, "missing operand before `)`");
        assert_eq!(parse_err("($A)($B)").column, 5);
        // Unterminated literals point at their opening character; columns count characters.
        let err = parse_err("$É == 'x'");
        assert_eq!(err.column, 1);
        let err = parse_err("$A == 'é' && $B == \"oops");
        assert_eq!(
            (err.column, err.message.as_str()),
            (20, "unterminated string literal")
        );
        assert_eq!(parse_err("$A == 'x\ny'").column, 7);
        // Single characters that only exist as part of operators.
        assert!(parse_err("$A = 'x'").message.contains("`==`"));
        assert!(parse_err("!$A").message.contains("no negation"));
        assert_eq!(parse_err("$A & $B").column, 4);
        assert_eq!(parse_err("$A | $B").column, 4);
        // The Display of an error names the place.
        assert_eq!(
            parse_err("$A ==").to_string(),
            "missing operand after `==` at column 6 of `$A ==`"
        );
    }

    #[test]
    fn shunting_yard_accidents_are_rejected() {
        // GitLab's shunting-yard parser does not check operator positions, so it happens to
        // accept `$A (== $B)` as `$A == $B`; nobody writes that on purpose, and a clear error
        // is more useful than reproducing the accident.
        assert_eq!(parse_err("$A (== $B)").column, 4);
        assert_eq!(parse_err("== $A $B").column, 1);
    }

    #[test]
    fn token_limit() {
        // GitLab's lexer: 99 tokens pass, the 100th raises "Too many tokens!".
        let ok = vec!["$A"; 50].join(" || ");
        assert_eq!(lex(&ok).unwrap().len(), 99);
        assert!(parse(&ok).is_ok());
        let too_long = format!("{ok} || $A");
        let err = parse_err(&too_long);
        assert!(err.message.contains("too many tokens"), "{err}");
        assert_eq!(err.column, ok.len() + 2);
    }

    #[test]
    fn precedence_and_associativity() {
        // docs: "`&&` evaluates before `||`"; parentheses group first.
        let only_a = [("A", "x")];
        assert!(eval("$A || $B && $C", &only_a));
        assert!(!eval("($A || $B) && $C", &only_a));
        assert!(eval("$C && $B || $A", &only_a));
        // Comparisons bind tighter than both.
        assert!(eval(r#"$A == "x" && $B == null"#, &only_a));
        // All comparisons share one level and associate left: `("a" == "a") == "a"` is
        // `true == "a"`, which is false.
        assert!(!eval(r#""a" == "a" == "a""#, &[]));
        assert!(eval(r#""a" == "a" != "a""#, &[]));
        // docs examples for parentheses.
        let vars_example = [("VARIABLE1", "content-x"), ("VARIABLE3", "something")];
        assert!(eval(
            "($VARIABLE1 =~ /^content.*/ || $VARIABLE2 =~ /thing$/) && $VARIABLE3",
            &vars_example
        ));
        assert!(eval(
            r#"$CI_COMMIT_BRANCH == "my-branch" || (($VARIABLE1 == "thing" || $VARIABLE2 == "thing") && $VARIABLE3)"#,
            &[("CI_COMMIT_BRANCH", "my-branch")]
        ));
    }

    #[test]
    fn runtime_errors() {
        // GitLab fails on these with internal errors (NoMethodError), so they are reported.
        let expr = parse("/ab/ == $A").unwrap();
        let err = expr.eval(&vars(&[("A", "x")])).unwrap_err();
        assert_eq!((err.column, err.source_text.as_str()), (6, "/ab/ == $A"));
        let expr = parse("$A =~ ($A == $A)").unwrap();
        assert_eq!(expr.eval(&vars(&[("A", "x")])).unwrap_err().column, 4);
        assert!(parse("/ab/ =~ /cd/").unwrap().eval(&vars(&[])).is_err());
        // Two regexes compare by source (UntrustedRegexp#==), and a false comparison on the
        // right of `=~` is `return false unless regexp`.
        assert!(eval("/ab/i == /ab/i", &[]));
        assert!(!eval("/ab/ == /ab/i", &[]));
        assert!(!eval("$A =~ ($A != $A)", &[("A", "x")]));
        // A regex on the right of `==` is merely unequal (String#== with a non-string).
        assert!(!eval("$A == /ab/", &[("A", "ab")]));
    }

    #[test]
    fn variables_in_order_of_first_use() {
        let expr = parse("($B == $A || $A =~ $C) && $B != null && \"$D\" == 'x'").unwrap();
        assert_eq!(expr.variables(), ["B", "A", "C"]);
        assert!(parse("null").unwrap().variables().is_empty());
    }

    #[test]
    fn display_normalises() {
        let cases = [
            ("$A==$B", "$A == $B"),
            ("  ( ( $A ) )\t", "$A"),
            ("'x' != $A", r#""x" != $A"#),
            (r#"$A == 'say "hi"'"#, r#"$A == 'say "hi"'"#),
            (r"$A =~ /a\/b/im", r"$A =~ /a\/b/im"),
            ("$A =~ /ab//", r"$A =~ /ab\//"),
            ("($A || $B) && $C", "($A || $B) && $C"),
            ("$A || ($B && $C)", "$A || $B && $C"),
            ("($A || $B) || $C", "$A || $B || $C"),
            ("$A || ($B || $C)", "$A || ($B || $C)"),
            ("($A == $B) == $C", "$A == $B == $C"),
            ("$A == ($B == $C)", "$A == ($B == $C)"),
            ("$A==null&&true", "$A == null && true"),
        ];
        for (src, expected) in cases {
            let expr = parse(src).unwrap();
            assert_eq!(expr.to_string(), expected, "{src}");
            // The normal form reads back as the same structure.
            let again = parse(&expr.to_string()).unwrap();
            assert_eq!(shape(&again.root), shape(&expr.root), "{src}");
        }
        // Equality includes the text as written.
        assert_ne!(parse("$A==$B").unwrap(), parse("$A == $B").unwrap());
        assert_eq!(parse("$A == $B").unwrap(), parse("$A == $B").unwrap());
    }

    /// Variables GitLab sets for the three kinds of Octez pipelines.
    const PUSH_TO_MASTER: &[(&str, &str)] = &[
        ("CI_PIPELINE_SOURCE", "push"),
        ("CI_PROJECT_NAMESPACE", "tezos"),
        ("CI_COMMIT_BRANCH", "master"),
        ("CI_COMMIT_REF_NAME", "master"),
        ("CI_DEFAULT_BRANCH", "master"),
        ("TEZOS_DEFAULT_BRANCH", "master"),
        ("TEZOS_DEFAULT_NAMESPACE", "tezos"),
    ];
    const MERGE_REQUEST: &[(&str, &str)] = &[
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_PROJECT_NAMESPACE", "tezos"),
        ("CI_COMMIT_REF_NAME", "alice@opam-v21-release"),
        ("CI_DEFAULT_BRANCH", "master"),
        ("CI_MERGE_REQUEST_ID", "987654"),
        ("CI_MERGE_REQUEST_IID", "12345"),
        ("CI_MERGE_REQUEST_EVENT_TYPE", "merged_result"),
        (
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
            "alice@opam-v21-release",
        ),
        ("CI_MERGE_REQUEST_LABELS", "ci--docs,ci--opam"),
        ("CI_MERGE_REQUEST_TITLE", "WIP: opam release"),
        ("TEZOS_DEFAULT_BRANCH", "master"),
        ("TEZOS_DEFAULT_NAMESPACE", "tezos"),
    ];
    const TAG: &[(&str, &str)] = &[
        ("CI_PIPELINE_SOURCE", "push"),
        ("CI_PROJECT_NAMESPACE", "tezos"),
        ("CI_COMMIT_TAG", "octez-v21.0-rc2"),
        ("CI_COMMIT_REF_NAME", "octez-v21.0-rc2"),
        ("CI_DEFAULT_BRANCH", "master"),
        ("TEZOS_DEFAULT_BRANCH", "master"),
        ("TEZOS_DEFAULT_NAMESPACE", "tezos"),
    ];

    #[test]
    fn octez_expressions() {
        // From the Octez `.gitlab-ci.yml` and `.gitlab/ci/**/*.yml` fixtures. Expected values:
        // docs "Run jobs only in specific pipeline types": branch pushes set CI_COMMIT_BRANCH,
        // tag pushes CI_COMMIT_TAG, merge request pipelines neither, and CI_PIPELINE_SOURCE is
        // `push` for branches and tags, `merge_request_event` for merge requests.
        let table: &[(&str, [bool; 3])] = &[
            // [push to master, merge request, tag]
            (
                r#"$CI_PROJECT_NAMESPACE == "tezos" && $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == "master""#,
                [true, false, false],
            ),
            (
                r#"$CI_PROJECT_NAMESPACE == "tezos" && $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_TAG =~ /^octez-v\d+\.0(?:\-rc\d+)?$/"#,
                [false, false, true],
            ),
            (
                r#"$CI_PROJECT_NAMESPACE == "tezos" && $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_TAG =~ /^octez-v\d+\.[1-9][0-9]*$/"#,
                [false, false, false],
            ),
            (
                r#"$CI_PROJECT_NAMESPACE != "tezos" && $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_TAG"#,
                [false, false, false],
            ),
            (
                r#"$CI_PROJECT_NAMESPACE == "tezos" && $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_TAG
      != null && $CI_COMMIT_TAG !~ /^octez-v\d+\.0(?:\-rc\d+)?$/ && $CI_COMMIT_TAG
      !~ /^octez-v\d+\.[1-9][0-9]*$/ && $CI_COMMIT_TAG !~ /^octez-v\d+\.\d+\-beta\d*$/
      && $CI_COMMIT_TAG !~ /^octez-v\d+\.\d+\-\d+$/ && $CI_COMMIT_TAG !~ /^grafazos-v\d+\.\d+$/
      && $CI_COMMIT_TAG !~ /^octez-evm-node-v\d+\.\d+$/ && $CI_COMMIT_TAG !~ /^octez-evm-node-v\d+\.\d+-(rc|pre)\d+$/
      && $CI_COMMIT_TAG !~ /^octez-smart-rollup-node-v\d+(\.\d+)?(?:\-(rc|beta)\d+)?$/
      && $CI_COMMIT_TAG !~ /^tezos-sdk-v\d+\.\d+\.\d+$/ && $CI_COMMIT_TAG !~ /^teztale-v\d+\.\d+$/"#,
                // octez-v21.0-rc2 is a release candidate, so not a "non-release tag".
                [false, false, false],
            ),
            (
                "$CI_MERGE_REQUEST_LABELS =~ /(?:^|,)ci--docs(?:$|,)/",
                [false, true, false],
            ),
            (
                "$CI_MERGE_REQUEST_LABELS =~ /(?:^|[,])ci--docker(?:$|[,])/",
                [false, false, false],
            ),
            (
                r#"$TZ_PIPELINE_KIND == "SCHEDULE" && $TZ_SCHEDULE_KIND == "EXTENDED_TESTS""#,
                [false, false, false],
            ),
            (
                "$CI_COMMIT_BRANCH == $TEZOS_DEFAULT_BRANCH && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
                [true, false, false],
            ),
            (
                "($CI_COMMIT_BRANCH =~ /-release$/ || $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME =~ /-release$/) && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
                [false, true, false],
            ),
            (
                "($CI_COMMIT_BRANCH =~ /v[0-9]{1,3}-release$/ || $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME =~ /v[0-9]{1,3}-release$/) && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
                [false, true, false],
            ),
            ("$CI_MERGE_REQUEST_ID", [false, true, false]),
            (
                "$CI_COMMIT_TAG && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
                [false, false, true],
            ),
            (
                "$CI_COMMIT_TAG != null && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
                [false, false, true],
            ),
            (
                r"$CI_COMMIT_TAG =~ /\A\d+\.\d+\.\d+\z/ && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
                [false, false, false],
            ),
            (
                "$CI_COMMIT_BRANCH =~ /opam/ || $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME =~ /opam/",
                [false, true, false],
            ),
            (
                "$CI_COMMIT_BRANCH || $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
                [true, true, false],
            ),
            (
                r#"$CI_PIPELINE_SOURCE == "merge_request_event" && $CI_MERGE_REQUEST_EVENT_TYPE"#,
                [false, true, false],
            ),
            ("$CI_MERGE_REQUEST_TITLE =~ /^wip:/i", [false, true, false]),
            (r#"$foo == "bar" && $foo != "bar""#, [false, false, false]),
        ];
        for (src, expected) in table {
            for (context, want) in [PUSH_TO_MASTER, MERGE_REQUEST, TAG].iter().zip(expected) {
                assert_eq!(eval(src, context), *want, "{src} with {context:?}");
            }
        }
        assert!(eval(
            r"$CI_COMMIT_TAG =~ /\A\d+\.\d+\.\d+\z/",
            &[("CI_COMMIT_TAG", "21.0.1")]
        ));
    }

    /// A small deterministic generator (xorshift64*), so the property tests need no crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }

        fn text(&mut self, fragments: &[&str], max_len: u64) -> String {
            let len = self.next() % (max_len + 1);
            (0..len).map(|_| self.pick(fragments)).collect()
        }
    }

    /// Pieces of expressions and of RE2 syntax, plus noise.
    const FRAGMENTS: &[&str] = &[
        "$A", "$B", "$P", "$", "{", "}", "\"", "'", "/", "\\", "\\/", "(", ")", "==", "=~", "!=",
        "!~", "&&", "||", "=", "!", "&", "|", "null", "true", "false", " ", "\t", "\n", "a", "é",
        "1", "[", "]", "^", "?", "*", "+", ".", ":", "-", "i", "m", "s", "U", "x", "(?", "\\d",
        "\\Q", "\\E", "\\p", "\\x", "\\0", "\\7", "[:", ":]", "{2}", "{1,", "~", "//", "/ab/",
        "\"s\"", "'t'",
    ];

    /// A random expression that is usually well formed: operands, operators and parentheses
    /// from the grammar, with regex literals made of random RE2 pieces.
    fn generate(rng: &mut Rng, depth: u32) -> String {
        if depth == 0 || rng.next() % 3 == 0 {
            return match rng.next() % 4 {
                0 => format!(
                    "/{}a/{}",
                    rng.text(REGEX_PIECES, 5),
                    rng.pick(&["", "i", "mU"])
                ),
                _ => rng
                    .pick(&[
                        "$A", "$B", "$P", "null", "true", "\"s\"", "'t'", "\"\"", "\"/ab/\"",
                    ])
                    .to_string(),
            };
        }
        let op = rng.pick(&["==", "!=", "=~", "!~", "&&", "||"]);
        let expr = format!(
            "{} {op} {}",
            generate(rng, depth - 1),
            generate(rng, depth - 1)
        );
        if rng.next() % 3 == 0 {
            format!("({expr})")
        } else {
            expr
        }
    }

    /// Pieces of RE2 syntax, valid and not.
    const REGEX_PIECES: &[&str] = &[
        "a",
        "é",
        ".",
        "*",
        "+",
        "?",
        "^",
        "$",
        "|",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "{2}",
        "{1,3}",
        "\\d",
        "\\w",
        "\\s",
        "\\b",
        "\\D",
        "\\Q",
        "\\E",
        "\\p{L}",
        "\\x{41}",
        "\\0",
        "\\17",
        "\\/",
        "[:alpha:]",
        "(?i)",
        "(?s-m:",
        "(?ii)",
        "(?x)",
        "&&",
        "--",
        "~~",
        "\\",
        "-",
        ":",
    ];

    #[test]
    fn garbage_never_panics() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut parsed = 0;
        for round in 0..20_000 {
            // Alternate pure noise with generated expressions, some of them damaged.
            let src = if round % 2 == 0 {
                rng.text(FRAGMENTS, 24)
            } else {
                let mut src = generate(&mut rng, 4);
                if rng.next() % 4 == 0 {
                    let at = src
                        .char_indices()
                        .map(|(i, _)| i)
                        .nth(rng.next() as usize % src.chars().count().max(1))
                        .unwrap_or(0);
                    src.insert_str(at, rng.pick(FRAGMENTS));
                }
                src
            };
            let Ok(expr) = parse(&src) else { continue };
            parsed += 1;
            // Evaluation may fail (runtime errors) but must not panic, whatever the variables
            // hold, including text that is tried as a regex.
            let pattern = format!(
                "/{}/{}",
                rng.text(REGEX_PIECES, 6),
                rng.pick(&["", "i", "ms", "U"])
            );
            let a = rng.text(FRAGMENTS, 6);
            let lookup = |name: &str| match name {
                "A" => Some(a.clone()),
                "P" => Some(pattern.clone()),
                _ => None,
            };
            let _ = expr.eval(&lookup);
            let _ = expr.variables();
            // The normal form parses back to the same structure and prints the same.
            let printed = expr.to_string();
            let again =
                parse(&printed).unwrap_or_else(|err| panic!("{src:?} -> {printed:?}: {err}"));
            assert_eq!(
                shape(&again.root),
                shape(&expr.root),
                "{src:?} -> {printed:?}"
            );
            assert_eq!(again.to_string(), printed);
        }
        // The generator must exercise the parser's success paths too.
        assert!(parsed > 3_000, "only {parsed} inputs parsed");
    }

    #[test]
    fn re2_translation_never_panics() {
        let mut rng = Rng(42);
        for _ in 0..20_000 {
            let pattern = if rng.next() % 2 == 0 {
                rng.text(FRAGMENTS, 16)
            } else {
                rng.text(REGEX_PIECES, 12)
            };
            if let Ok(translated) = re2_to_rust(&pattern) {
                let _ = Regex::new(&translated);
            }
        }
    }
}
