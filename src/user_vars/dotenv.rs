//! Variables files in the `.env` format: `KEY=VALUE` lines, as docker compose and the dotenv
//! libraries read them. A line that is none of the forms below is an error naming file and line.
//!
//! ```text
//! # a comment; blank lines are skipped
//! PLAIN=value with spaces   # an unquoted value ends before ` #`, and is trimmed
//! export EXPORTED=1         # `export ` is allowed, as in a shell script
//! SINGLE='kept as is: $HOME \n'
//! DOUBLE="escapes: \n \t \\ \" ; may span
//! several lines"
//! EMPTY=
//! ```
//!
//! Nothing is expanded here: a `$NAME` in a value is expanded where the job uses the variable,
//! as GitLab does with its CI/CD variables.

use std::path::Path;

use super::UserVar;
use crate::error::{ConfigError, Error};
use crate::yaml::Span;

/// Whether `path` names a `.env` file (`.env`, `x.env`), read with [`parse`].
pub fn is_env_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".env"))
}

/// The variables of a `.env` file, in file order.
pub fn parse(text: &str, path: &Path) -> Result<Vec<UserVar>, Error> {
    let file = std::sync::Arc::new(path.to_path_buf());
    let fail = |line: usize, message: String| -> Error {
        let span = Span {
            file: file.clone(),
            line,
            col: 1,
        };
        ConfigError::new(Some(&span), message).into()
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let line = lines[i].trim_start();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, rest)) = line.split_once('=') else {
            return Err(fail(number, format!("expected KEY=VALUE, found `{line}`")));
        };
        let key = key.trim_end();
        if key.is_empty()
            || key.starts_with(|c: char| c.is_ascii_digit())
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(fail(
                number,
                format!("`{key}` is not a variable name (letters, digits and _)"),
            ));
        }
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => {
                // A quoted value runs to its closing quote, on this line or a later one.
                let mut body = rest[1..].to_string();
                let (value, after) = loop {
                    if let Some(found) = closing(&body, q) {
                        break found;
                    }
                    let Some(next) = lines.get(i) else {
                        return Err(fail(
                            number,
                            format!("`{key}`: the value's {q} quote is never closed"),
                        ));
                    };
                    body.push('\n');
                    body.push_str(next);
                    i += 1;
                };
                let after = after.trim();
                if !after.is_empty() && !after.starts_with('#') {
                    return Err(fail(
                        number,
                        format!("`{key}`: unexpected `{after}` after the quoted value"),
                    ));
                }
                value
            }
            _ => rest.split(" #").next().unwrap_or("").trim_end().to_string(),
        };
        out.retain(|u: &UserVar| u.name != key);
        out.push(UserVar {
            name: key.to_string(),
            value,
            masked: false,
            file: false,
        });
    }
    Ok(out)
}

/// The value up to the closing `quote` in `body` (escapes applied inside double quotes) and the
/// text after it; `None` when `body` holds no closing quote.
fn closing(body: &str, quote: char) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        if c == quote {
            return Some((value, &body[at + 1..]));
        }
        if c == '\\' && quote == '"' {
            match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, e @ ('"' | '\\' | '$'))) => value.push(e),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            }
            continue;
        }
        value.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, String)> {
        parse(text, Path::new("v.env"))
            .unwrap()
            .into_iter()
            .map(|u| (u.name, u.value))
            .collect()
    }

    #[test]
    fn forms_of_a_line() {
        let v = values(
            "# c\n\nA=plain value  # comment\nexport B=2\nC='lit $X \\n'\nD=\"x\\ny \\\"q\\\"\" # c\nE=\nF=\"two\nlines\"\nA=again\nG=a#b\n",
        );
        let get = |k: &str| v.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("A"), Some("again"));
        assert_eq!(get("B"), Some("2"));
        assert_eq!(get("C"), Some("lit $X \\n"));
        assert_eq!(get("D"), Some("x\ny \"q\""));
        assert_eq!(get("E"), Some(""));
        assert_eq!(get("F"), Some("two\nlines"));
        assert_eq!(get("G"), Some("a#b"));
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        for (text, line, what) in [
            ("A=1\nnot a pair\n", 2, "expected KEY=VALUE"),
            ("A=1\n\nB-C=2\n", 3, "not a variable name"),
            ("A=\"open\nB=2\n", 1, "never closed"),
            ("A='x' y\n", 1, "unexpected `y`"),
        ] {
            let e = parse(text, Path::new("v.env")).unwrap_err().to_string();
            assert!(
                e.contains(&format!("v.env:{line}")) && e.contains(what),
                "{e}"
            );
        }
        assert!(is_env_file(Path::new("dir/ci.env")) && is_env_file(Path::new(".env")));
        assert!(!is_env_file(Path::new("vars.yml")));
    }
}
