//! The last lines of a job's log, for the reports of failed jobs, and log text made safe to show.
//!
//! Logs can be gigabytes, so the tail is read backwards from the end in small chunks and never
//! more than [`MAX_TAIL_BYTES`]; job output can hold colour codes and cursor movements, which
//! would garble the terminal's progress bars and are not even legal in XML, so lines are cleaned.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// Read backwards this much at a time: a few typical lines per read.
const CHUNK: u64 = 8 * 1024;
/// Never read more than this from the end, whatever the lines look like. Lines in a log are at
/// most 64 KiB (the LogSink cuts longer ones), so this still holds a few whole lines.
const MAX_TAIL_BYTES: u64 = 256 * 1024;
/// A line longer than this is cut when shown: a report is for finding the error, not for a
/// 64 KiB line of minified JSON.
const MAX_SHOWN_CHARS: usize = 500;

/// The last `n` lines of the file at `path`, cleaned with [`clean_line`].
pub fn read_tail(path: &Path, n: usize) -> io::Result<Vec<String>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut file = File::open(path)?;
    let len = file.seek(SeekFrom::End(0))?;
    let mut pos = len;
    let mut buf: Vec<u8> = Vec::new();
    // A final newline ends the last line rather than starting an empty one, so it does not count.
    let mut newlines = 0usize;
    while pos > 0 && len - pos < MAX_TAIL_BYTES {
        let step = CHUNK.min(pos).min(MAX_TAIL_BYTES - (len - pos));
        pos -= step;
        file.seek(SeekFrom::Start(pos))?;
        let mut chunk = vec![0u8; step as usize];
        file.read_exact(&mut chunk)?;
        let at_end = buf.is_empty();
        newlines += chunk.iter().filter(|&&b| b == b'\n').count();
        if at_end && chunk.last() == Some(&b'\n') {
            newlines -= 1;
        }
        chunk.extend_from_slice(&buf);
        buf = chunk;
        // n lines need n newlines before the last one: the one that ends the line before them.
        if newlines >= n {
            break;
        }
    }
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    let text = String::from_utf8_lossy(&buf);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let mut lines: Vec<&str> = text.split('\n').collect();
    // Unless we reached the start of the file, the first piece is the end of a longer line.
    if pos > 0 && lines.len() > 1 {
        lines.remove(0);
    }
    let skip = lines.len().saturating_sub(n);
    Ok(lines[skip..].iter().map(|l| clean_line(l)).collect())
}

/// A line of job output as text that is safe to print, put in XML or in HTML: colour and cursor
/// codes removed, a carriage-return-redrawn line reduced to what a terminal would finally show,
/// other control characters dropped, tabs kept, and very long lines cut.
pub fn clean_line(line: &str) -> String {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let line = match line.rfind('\r') {
        Some(p) => &line[p + 1..],
        None => line,
    };
    let stripped = console::strip_ansi_codes(line);
    let mut out = String::with_capacity(stripped.len());
    for (count, c) in stripped
        .chars()
        .filter(|&c| c == '\t' || !(c.is_control() || is_xml_noncharacter(c)))
        .enumerate()
    {
        if count == MAX_SHOWN_CHARS {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

/// U+FFFE and U+FFFF are valid Rust chars but not XML characters; nothing legitimate prints them.
fn is_xml_noncharacter(c: char) -> bool {
    matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(content: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        f
    }

    #[test]
    fn tail_of_short_and_long_files() {
        let f = file_with(b"one\ntwo\nthree\n");
        assert_eq!(read_tail(f.path(), 2).unwrap(), ["two", "three"]);
        assert_eq!(read_tail(f.path(), 10).unwrap(), ["one", "two", "three"]);
        let f = file_with(b"no final newline\nlast");
        assert_eq!(read_tail(f.path(), 1).unwrap(), ["last"]);
        let f = file_with(b"");
        assert!(read_tail(f.path(), 3).unwrap().is_empty());

        // Many chunks: the tail must line up exactly even when a line straddles chunk edges.
        let mut big = Vec::new();
        for i in 0..100_000 {
            writeln!(big, "line {i} {}", "x".repeat(i % 37)).unwrap();
        }
        let f = file_with(&big);
        let tail = read_tail(f.path(), 15).unwrap();
        assert_eq!(tail.len(), 15);
        assert!(tail[0].starts_with("line 99985 "));
        assert!(tail[14].starts_with("line 99999 "));
    }

    #[test]
    fn tail_reads_a_bounded_amount() {
        // Three lines of 200 KiB: only the last fits in the bound, and it comes back cut for show.
        let mut big = Vec::new();
        for c in [b'a', b'b', b'c'] {
            big.extend(std::iter::repeat_n(c, 200 * 1024));
            big.push(b'\n');
        }
        let f = file_with(&big);
        let tail = read_tail(f.path(), 3).unwrap();
        assert_eq!(tail.len(), 1);
        assert!(tail[0].starts_with("ccc"));
        assert_eq!(tail[0].chars().count(), MAX_SHOWN_CHARS + 1);
    }

    #[test]
    fn lines_are_cleaned() {
        assert_eq!(clean_line("\x1b[31mred\x1b[0m text\r"), "red text");
        assert_eq!(clean_line("10%\r50%\r100%"), "100%");
        assert_eq!(clean_line("bell\x07 and\ttab \u{FFFE}"), "bell and\ttab ");
    }
}
