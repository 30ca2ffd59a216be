//! Regular expressions: regex literals and regex-valued variables, RE2 translated for the
//! `regex` crate.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct Pattern {
    /// The RE2 pattern between the slashes, with `\/` already turned into `/` as GitLab does.
    pub(super) source: String,
    /// The flags as written after the closing slash: a subset of `ismU`, possibly repeated.
    pub(super) flags: String,
    pub(super) regex: Regex,
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
    pub(super) fn from_slashed(text: &str) -> Result<Pattern, String> {
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
pub(super) fn split_slashed(value: &str) -> Option<(&str, &str)> {
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
pub(super) fn re2_to_rust(re2: &str) -> Result<String, String> {
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
pub(super) fn repetition_end(chars: &[char], open: usize) -> Option<usize> {
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

pub(super) fn check_repetition(repetition: &str) -> Result<(), String> {
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
pub(super) fn translate_group_flags(
    chars: &[char],
    open: usize,
    out: &mut String,
) -> Result<usize, String> {
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
pub(super) fn translate_escape(
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
pub(super) fn translate_class(
    chars: &[char],
    open: usize,
    out: &mut String,
) -> Result<usize, String> {
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
pub(super) fn posix_class_end(chars: &[char], open: usize) -> Option<usize> {
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
