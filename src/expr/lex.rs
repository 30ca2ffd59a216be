//! The lexer: GitLab's tokens, with their columns.

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokenKind {
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
    pub(super) fn describe(&self) -> String {
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
pub(super) struct Token {
    pub(super) kind: TokenKind,
    /// 1-based character column of the token's first character.
    pub(super) column: usize,
}

pub(super) fn lex(src: &str) -> Result<Vec<Token>, ExprError> {
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
pub(super) fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads the token starting at `pos`; returns it with the index just past it.
pub(super) fn lex_token(chars: &[char], pos: usize) -> Result<(TokenKind, usize), String> {
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

pub(super) fn lex_variable(chars: &[char], pos: usize) -> Result<(TokenKind, usize), String> {
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

pub(super) fn lex_string(
    chars: &[char],
    pos: usize,
    quote: char,
) -> Result<(TokenKind, usize), String> {
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

pub(super) fn lex_regex(chars: &[char], pos: usize) -> Result<(TokenKind, usize), String> {
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
pub(super) fn find_regex_close(chars: &[char], open: usize) -> Option<usize> {
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

pub(super) fn regex_literal_problem(chars: &[char], open: usize) -> String {
    match chars[open + 1..].iter().position(|&c| c == '/') {
        None => "unterminated regular expression".into(),
        Some(0 | 1) => {
            "empty and one-character regular expressions such as `/./` are rejected by GitLab"
                .into()
        }
        Some(_) => "unterminated regular expression (`\\/` is an escaped slash)".into(),
    }
}
