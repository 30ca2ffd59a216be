//! Report files on disk: written atomically, so a reader (a CI dashboard, a browser reloading)
//! never sees half a report, and linked to each other by relative paths, so a run directory can
//! be moved or archived whole and its links still work.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// Writes `contents` to `path` through a temporary file in the same directory, renamed into place.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tezos-ci-local-")
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A URL path from a page in `from_dir` to `target`, percent-encoded. Relative when the two share
/// a root; absolute `file://` otherwise (another drive, say), which still opens locally.
pub fn relative_href(from_dir: &Path, target: &Path) -> String {
    let (Ok(from), Ok(to)) = (std::path::absolute(from_dir), std::path::absolute(target)) else {
        return encode_path(target);
    };
    let from: Vec<Component> = normal(&from);
    let to: Vec<Component> = normal(&to);
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return format!("file://{}", encode_path(&PathBuf::from_iter(&to)));
    }
    let mut rel = PathBuf::new();
    for _ in common..from.len() {
        rel.push("..");
    }
    for c in &to[common..] {
        rel.push(c);
    }
    encode_path(&rel)
}

/// Components with `.` and `..` resolved lexically; symlinks are not followed, which matches how
/// the run directory's own paths were built.
fn normal(p: &Path) -> Vec<Component<'_>> {
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.last(), Some(Component::Normal(_))) {
                    out.pop();
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path for an `href`, segment by segment, keeping `/` as the separator.
fn encode_path(p: &Path) -> String {
    let mut out = String::new();
    for (i, c) in p.components().enumerate() {
        match c {
            Component::RootDir => {
                out.push('/');
                continue;
            }
            Component::Prefix(prefix) => {
                out.push_str(&encode_segment(&prefix.as_os_str().to_string_lossy()));
                continue;
            }
            _ => {}
        }
        if i > 0 && !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(&encode_segment(&c.as_os_str().to_string_lossy()));
    }
    out
}

fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_are_relative_and_encoded() {
        assert_eq!(
            relative_href(Path::new("/run/1"), Path::new("/run/1/logs/build.log")),
            "logs/build.log"
        );
        assert_eq!(
            relative_href(
                Path::new("/home/me/out"),
                Path::new("/run/1/logs/a b#1.log")
            ),
            "../../../run/1/logs/a%20b%231.log"
        );
        assert_eq!(
            relative_href(Path::new("/run/1/./x/.."), Path::new("/run/1/logs/é.log")),
            "logs/%C3%A9.log"
        );
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/report.xml");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}
