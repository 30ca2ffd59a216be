//! Text from a pipeline made safe to print on a terminal: control characters (escape sequences
//! that set the window title or clear the screen, carriage returns that overwrite a line) are
//! shown as `\u{1b}`-style escapes instead of being obeyed. Line breaks and tabs stay.

use std::borrow::Cow;

/// `text` with every control character but `\n` and `\t` written as a visible escape.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_hidden(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        assert_eq!(
            visible("job\u{1b}]0;pwned\u{7}"),
            "job\\u{1b}]0;pwned\\u{7}"
        );
        assert_eq!(visible("a\rb\u{9b}2J"), "a\\u{d}b\\u{9b}2J");
        assert_eq!(visible("line\n\tnext"), "line\n\tnext");
    }
}
