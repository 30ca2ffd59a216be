//! Job output with its colours, as HTML: SGR escape codes (`ESC[...m`) become `<span>`s with
//! classes for the 16 standard colours and inline styles for 256-colour and true-colour codes;
//! every other control sequence is dropped and all text is escaped. The colour state carries from
//! one line to the next, as it does on a terminal.

use std::fmt::Write as _;

use super::html::esc;

/// Longest line shown in full: a report is for reading, not for a 64 KiB line of minified JSON.
const MAX_LINE_CHARS: usize = 2000;

#[derive(Debug, Clone, Default, PartialEq)]
struct Style {
    fg: Option<Colour>,
    bg: Option<Colour>,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Colour {
    /// 0..16: the standard and bright colours, drawn by the page's palette.
    Indexed(u8),
    Rgb(u8, u8, u8),
}

/// Turns lines of job output into HTML, remembering the colour between lines.
#[derive(Debug, Default)]
pub struct AnsiToHtml {
    style: Style,
}

impl AnsiToHtml {
    /// One line (without its line ending) as HTML, with its spans closed at the end.
    pub fn line(&mut self, raw: &str) -> String {
        // A line redrawn with carriage returns shows what the terminal finally showed.
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let raw = match raw.rfind('\r') {
            Some(p) => {
                // What was overwritten is not shown, but its colour codes still count.
                let _ = self.line(&raw[..p].replace('\r', ""));
                &raw[p + 1..]
            }
            None => raw,
        };
        let mut out = String::new();
        let mut text = String::new();
        let mut open = false;
        let mut shown = 0usize;
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    let mut params = String::new();
                    let mut last = None;
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            last = Some(c);
                            break;
                        }
                        params.push(c);
                    }
                    if last == Some('m') {
                        flush(&mut out, &mut text, &mut open, &self.style);
                        self.apply(&params);
                    }
                } else if chars.peek() == Some(&']') {
                    // An operating system command (a window title, a hyperlink): up to BEL or ST.
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                } else {
                    // Another escape (ESC c, ESC 7, ...): the escape and the one char after it.
                    chars.next();
                }
                continue;
            }
            if c != '\t' && c.is_control() {
                continue;
            }
            if shown == MAX_LINE_CHARS {
                text.push('…');
                break;
            }
            shown += 1;
            text.push(c);
        }
        flush(&mut out, &mut text, &mut open, &self.style);
        if open {
            out.push_str("</span>");
        }
        out
    }

    fn apply(&mut self, params: &str) {
        let codes: Vec<u32> = if params.is_empty() {
            vec![0]
        } else {
            params
                .split([';', ':'])
                .map(|p| p.parse().unwrap_or(0))
                .collect()
        };
        let mut i = 0;
        while i < codes.len() {
            let s = &mut self.style;
            match codes[i] {
                0 => *s = Style::default(),
                1 => s.bold = true,
                2 => s.dim = true,
                3 => s.italic = true,
                4 => s.underline = true,
                22 => {
                    s.bold = false;
                    s.dim = false;
                }
                23 => s.italic = false,
                24 => s.underline = false,
                c @ 30..=37 => s.fg = Some(Colour::Indexed((c - 30) as u8)),
                c @ 90..=97 => s.fg = Some(Colour::Indexed((c - 90 + 8) as u8)),
                39 => s.fg = None,
                c @ 40..=47 => s.bg = Some(Colour::Indexed((c - 40) as u8)),
                c @ 100..=107 => s.bg = Some(Colour::Indexed((c - 100 + 8) as u8)),
                49 => s.bg = None,
                c @ (38 | 48) => {
                    let (colour, used) = extended(&codes[i + 1..]);
                    i += used;
                    if c == 38 {
                        s.fg = colour;
                    } else {
                        s.bg = colour;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// `5;N` or `2;R;G;B` after a 38 or 48: the colour and how many codes it took.
fn extended(rest: &[u32]) -> (Option<Colour>, usize) {
    match rest {
        [5, n, ..] => {
            let n = (*n).min(255) as u8;
            let colour = if n < 16 {
                Colour::Indexed(n)
            } else {
                let (r, g, b) = xterm_256(n);
                Colour::Rgb(r, g, b)
            };
            (Some(colour), 2)
        }
        [2, r, g, b, ..] => (
            Some(Colour::Rgb(
                (*r).min(255) as u8,
                (*g).min(255) as u8,
                (*b).min(255) as u8,
            )),
            4,
        ),
        _ => (None, rest.len()),
    }
}

/// The xterm palette above the first 16: a 6x6x6 cube, then 24 greys.
fn xterm_256(n: u8) -> (u8, u8, u8) {
    if n >= 232 {
        let v = 8 + (n - 232) * 10;
        return (v, v, v);
    }
    let n = n - 16;
    let level = |x: u8| if x == 0 { 0 } else { 55 + x * 40 };
    (level(n / 36), level(n / 6 % 6), level(n % 6))
}

fn flush(out: &mut String, text: &mut String, open: &mut bool, style: &Style) {
    if text.is_empty() {
        return;
    }
    if *open {
        out.push_str("</span>");
        *open = false;
    }
    if *style != Style::default() {
        let mut classes = Vec::new();
        let mut css = String::new();
        match style.fg {
            Some(Colour::Indexed(n)) => classes.push(format!("f{n}")),
            Some(Colour::Rgb(r, g, b)) => {
                let _ = write!(css, "color:#{r:02x}{g:02x}{b:02x};");
            }
            None => {}
        }
        match style.bg {
            Some(Colour::Indexed(n)) => classes.push(format!("b{n}")),
            Some(Colour::Rgb(r, g, b)) => {
                let _ = write!(css, "background:#{r:02x}{g:02x}{b:02x};");
            }
            None => {}
        }
        for (on, class) in [
            (style.bold, "bo"),
            (style.dim, "di"),
            (style.italic, "it"),
            (style.underline, "un"),
        ] {
            if on {
                classes.push(class.to_string());
            }
        }
        out.push_str("<span");
        if !classes.is_empty() {
            let _ = write!(out, " class=\"{}\"", classes.join(" "));
        }
        if !css.is_empty() {
            let _ = write!(out, " style=\"{css}\"");
        }
        out.push('>');
        *open = true;
    }
    out.push_str(&esc(text));
    text.clear();
}

/// The palette for the classes above, in the page's CSS.
pub const ANSI_CSS: &str = "
.f0{color:#3b3b3b}.f1{color:#cd3131}.f2{color:#0dbc79}.f3{color:#b58900}.f4{color:#2472c8}
.f5{color:#bc3fbc}.f6{color:#11a8cd}.f7{color:#a0a0a0}.f8{color:#666}.f9{color:#f14c4c}
.f10{color:#23d18b}.f11{color:#d5a700}.f12{color:#3b8eea}.f13{color:#d670d6}.f14{color:#29b8db}
.f15{color:#e5e5e5}.b0{background:#3b3b3b}.b1{background:#cd3131}.b2{background:#0dbc79}
.b3{background:#e5e510}.b4{background:#2472c8}.b5{background:#bc3fbc}.b6{background:#11a8cd}
.b7{background:#e5e5e5}.b8{background:#666}.b9{background:#f14c4c}.b10{background:#23d18b}
.b11{background:#f5f543}.b12{background:#3b8eea}.b13{background:#d670d6}.b14{background:#29b8db}
.b15{background:#fff}.bo{font-weight:bold}.di{opacity:.7}.it{font-style:italic}.un{text-decoration:underline}
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_become_spans_and_text_is_escaped() {
        let mut a = AnsiToHtml::default();
        assert_eq!(
            a.line("\x1b[31mError:\x1b[0m <b> & \"x\""),
            "<span class=\"f1\">Error:</span> &lt;b&gt; &amp; &quot;x&quot;"
        );
        assert_eq!(
            a.line("\x1b[1;38;5;196mred\x1b[m"),
            "<span class=\"bo\" style=\"color:#ff0000;\">red</span>"
        );
        assert_eq!(
            a.line("\x1b[38;2;1;2;3mrgb"),
            "<span style=\"color:#010203;\">rgb</span>"
        );
        // The colour carries to the next line until reset.
        assert_eq!(
            a.line("still"),
            "<span style=\"color:#010203;\">still</span>"
        );
        assert_eq!(a.line("\x1b[0m10%\r100%\x1b[2K\x07"), "100%");
        assert_eq!(a.line("\x1b]0;title\x07plain\x1b]8;;x\x1b\\"), "plain");
    }
}
