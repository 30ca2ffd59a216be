//! What a finished job leaves behind, taken out of its project directory: artifacts, report
//! files and cache contents, chosen by [`PathRules`] and copied into a host directory keeping
//! relative paths. Two sources: the job's overlay layers read on the host (local engine), or a
//! tar stream of the project directory from the engine (remote engine). Never reads or writes
//! outside the project or the destination: escaping paths and symlinks are refused with a
//! warning, and no symlink is ever followed.

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::Workspace;
use super::layers::{Entry, Layers};
use super::paths::{PathRules, safe_relative, symlink_escapes};

/// The most variables a dotenv report may set (GitLab's default plan limit).
pub const DOTENV_MAX_VARIABLES: usize = 150;
/// A dotenv report must be smaller than this (GitLab: 5 KB).
pub const DOTENV_MAX_BYTES: u64 = 5 * 1024;

/// One collection in progress: where it goes and what it found.
pub struct Collection {
    pub rules: PathRules,
    pub dest: PathBuf,
    /// Entries each pattern named, in pattern order (GitLab logs these counts).
    pub counts: Vec<usize>,
    pub untracked: usize,
    /// Entries each `exclude:` pattern left out.
    pub excluded: Vec<usize>,
    /// Files and symlinks written, relative to `dest`.
    pub files: Vec<PathBuf>,
    pub warnings: Vec<String>,
    /// Hard links in a tar stream whose target was not taken: (path, target). The caller fetches
    /// these paths on their own.
    pub pending_links: Vec<PathBuf>,
    written: HashSet<PathBuf>,
    excluded_seen: HashSet<PathBuf>,
}

impl Collection {
    pub fn new(rules: PathRules, dest: PathBuf) -> Self {
        Collection {
            counts: vec![0; rules.patterns.len()],
            excluded: vec![0; rules.exclude.len()],
            rules,
            dest,
            untracked: 0,
            files: Vec::new(),
            warnings: Vec::new(),
            pending_links: Vec::new(),
            written: HashSet::new(),
            excluded_seen: HashSet::new(),
        }
    }

    /// Whether anything at all was taken.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty()
    }

    /// GitLab's log lines for this collection.
    pub fn report(&self, project_dir: &str) -> Vec<String> {
        let mut out = self
            .warnings
            .iter()
            .map(|w| format!("WARNING: {w}"))
            .collect::<Vec<_>>();
        for (p, n) in self.rules.patterns.iter().zip(&self.counts) {
            out.push(if *n == 0 {
                format!(
                    "WARNING: {}: no matching files. Ensure that the artifact path is relative to the working directory ({project_dir})",
                    p.text
                )
            } else {
                format!("{}: found {n} matching artifact files and directories", p.text)
            });
        }
        if self.rules.untracked {
            out.push(format!("untracked: found {} files", self.untracked));
        }
        for ((p, _), n) in self.rules.exclude.iter().zip(&self.excluded) {
            if *n > 0 {
                out.push(format!("{p}: excluded {n} files"));
            }
        }
        out
    }
}

/// Collects from the merged view of a job's overlay. `fresh_lowers`: the lower layers (by index
/// in the lower list) that hold files the snapshot does not have, for `untracked`.
pub fn collect_from_layers(
    c: &mut Collection,
    layers: &Layers,
    fresh_lowers: &[usize],
    snapshot: &Workspace,
    project_dir: &str,
) -> io::Result<()> {
    let mut error = None;
    for i in 0..c.rules.patterns.len() {
        let base = c.rules.patterns[i].base.clone();
        layers.walk(&base, &mut |rel, entry| {
            if c.rules.names(i, rel) {
                c.counts[i] += 1;
                if let Err(e) = take(c, rel, entry, project_dir) {
                    error.get_or_insert(e);
                }
            }
            matches!(entry, Entry::Dir(_))
        });
    }
    if c.rules.untracked {
        layers.walk_layers(fresh_lowers, &mut |rel, entry| {
            if matches!(entry, Entry::Leaf { .. }) && !snapshot.contains(rel) {
                c.untracked += 1;
                if let Err(e) = take(c, rel, entry, project_dir) {
                    error.get_or_insert(e);
                }
            }
        });
    }
    error.map_or(Ok(()), Err)
}

/// Whether `rel` is left out by `exclude:`, counted once per path.
fn exclude(c: &mut Collection, rel: &Path) -> bool {
    match c.rules.excluded_by(rel) {
        Some(i) => {
            if c.excluded_seen.insert(rel.into()) {
                c.excluded[i] += 1;
            }
            true
        }
        None => false,
    }
}

fn take(c: &mut Collection, rel: &Path, entry: &Entry, project_dir: &str) -> io::Result<()> {
    if rel.as_os_str().is_empty() || exclude(c, rel) || !c.written.insert(rel.into()) {
        return Ok(());
    }
    // A failed write says where it was going (a full disk names the path).
    let dest = c.dest.join(rel);
    take_to(c, rel, entry, project_dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dest.display())))
}

fn take_to(c: &mut Collection, rel: &Path, entry: &Entry, project_dir: &str) -> io::Result<()> {
    match entry {
        Entry::Dir(_) => {
            ensure_dir(&c.dest, rel)?;
        }
        Entry::Leaf { path, meta } => {
            let ft = meta.file_type();
            if ft.is_symlink() {
                let target = std::fs::read_link(path)?;
                if symlink_escapes(rel, &target, project_dir) {
                    c.warnings.push(format!(
                        "{}: symlink to {} leads outside the project directory; skipped",
                        rel.display(),
                        target.display()
                    ));
                    return Ok(());
                }
                std::os::unix::fs::symlink(&target, place(&c.dest, rel)?)?;
            } else if ft.is_file() {
                std::fs::copy(path, place(&c.dest, rel)?)?;
            } else {
                return Ok(());
            }
            c.files.push(rel.to_path_buf());
        }
    }
    Ok(())
}

/// Collects from a tar stream of the project directory (as the engine sends it, every entry
/// under one top directory named after the project directory), for several collections at once.
pub fn collect_from_tar(
    reader: impl Read,
    cs: &mut [Collection],
    snapshot: &Workspace,
    project_dir: &str,
) -> io::Result<()> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = entry.path()?.into_owned();
        let Some(rel) = safe_relative(&raw).map(|p| p.components().skip(1).collect::<PathBuf>())
        else {
            continue;
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        let kind = entry.header().entry_type();
        let mut first: Option<PathBuf> = None;
        for c in cs.iter_mut() {
            let mut wanted = false;
            for i in 0..c.rules.patterns.len() {
                if c.rules.names(i, &rel) {
                    c.counts[i] += 1;
                    wanted = true;
                }
            }
            if !wanted && c.rules.untracked && !kind.is_dir() && !snapshot.contains(&rel) {
                c.untracked += 1;
                wanted = true;
            }
            if !wanted || exclude(c, &rel) || !c.written.insert(rel.clone()) {
                continue;
            }
            if kind.is_dir() {
                ensure_dir(&c.dest, &rel)?;
                continue;
            }
            if kind.is_symlink() {
                let Some(target) = entry.link_name()?.map(|t| t.into_owned()) else {
                    continue;
                };
                if symlink_escapes(&rel, &target, project_dir) {
                    c.warnings.push(format!(
                        "{}: symlink to {} leads outside the project directory; skipped",
                        rel.display(),
                        target.display()
                    ));
                    continue;
                }
                std::os::unix::fs::symlink(&target, place(&c.dest, &rel)?)?;
            } else if kind.is_hard_link() {
                let target = entry
                    .link_name()?
                    .and_then(|t| safe_relative(&t))
                    .map(|p| p.components().skip(1).collect::<PathBuf>());
                match target {
                    Some(t) if c.written.contains(&t) => {
                        std::fs::copy(c.dest.join(&t), place(&c.dest, &rel)?)?;
                    }
                    _ => {
                        c.written.remove(&rel);
                        c.pending_links.push(rel.clone());
                        continue;
                    }
                }
            } else if kind.is_file() {
                let to = place(&c.dest, &rel)?;
                match &first {
                    Some(src) => {
                        std::fs::copy(src, &to)?;
                    }
                    None => {
                        let mut f = std::fs::File::create(&to)?;
                        io::copy(&mut entry, &mut f)?;
                        use std::os::unix::fs::PermissionsExt;
                        let mode = entry.header().mode().unwrap_or(0o644) & 0o7777;
                        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
                        first = Some(to);
                    }
                }
            } else {
                continue;
            }
            c.files.push(rel.clone());
        }
    }
    Ok(())
}

/// Makes `dest/rel` a directory, through real directories only: anything else in the way (a
/// file or a symlink an earlier entry left) is replaced, never followed.
pub fn ensure_dir(dest: &Path, rel: &Path) -> io::Result<PathBuf> {
    let mut p = dest.to_path_buf();
    std::fs::create_dir_all(&p)?;
    for c in rel.components() {
        p.push(c);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                std::fs::remove_file(&p)?;
                std::fs::create_dir(&p)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::create_dir(&p)?,
            Err(e) => return Err(e),
        }
    }
    Ok(p)
}

/// Makes room for a file at `dest/rel` and returns its path.
pub fn place(dest: &Path, rel: &Path) -> io::Result<PathBuf> {
    let parent = ensure_dir(dest, rel.parent().unwrap_or(Path::new("")))?;
    let p = parent.join(rel.file_name().unwrap_or_default());
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(&p)?,
        Ok(_) => std::fs::remove_file(&p)?,
        Err(_) => {}
    }
    Ok(p)
}

/// Copies a host directory tree into `dest/rel_root` without following symlinks (restoring a
/// cache, laying artifacts into a job's upper directory).
pub fn copy_tree(from: &Path, dest: &Path) -> io::Result<usize> {
    let mut n = 0;
    for e in walkdir::WalkDir::new(from) {
        let e = e?;
        let rel = e.path().strip_prefix(from).map_err(io::Error::other)?;
        let ft = e.file_type();
        if ft.is_dir() {
            ensure_dir(dest, rel)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path())?, place(dest, rel)?)?;
            n += 1;
        } else if ft.is_file() {
            std::fs::copy(e.path(), place(dest, rel)?)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Parses a dotenv report as GitLab does: every line `KEY=VALUE` (split at the first `=`, both
/// sides trimmed, quotes kept, no expansion), keys of ASCII letters, digits and `_`; an empty
/// line, a comment line or a bad key rejects the whole report. A later duplicate wins.
pub fn parse_dotenv(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            return Err(format!("line {}: Invalid Format", n + 1));
        };
        let (k, v) = (ruby_strip(k), ruby_strip(v));
        if k.is_empty() {
            return Err(format!("line {}: Key can't be blank", n + 1));
        }
        if !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "line {}: Key can contain only letters, digits and '_'.",
                n + 1
            ));
        }
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    if vars.len() > DOTENV_MAX_VARIABLES {
        return Err(format!(
            "Dotenv files cannot have more than {DOTENV_MAX_VARIABLES} variables"
        ));
    }
    Ok(vars)
}

/// Ruby's `String#strip`: whitespace and NUL.
fn ruby_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0' || c == '\x0b')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_follows_gitlab() {
        assert_eq!(
            parse_dotenv("A=1\nB = two words \nC=\"q\"\nD=x=y\nE=\nA=3\r\n").unwrap(),
            [
                ("B".into(), "two words".into()),
                ("C".into(), "\"q\"".into()),
                ("D".into(), "x=y".into()),
                ("E".into(), String::new()),
                ("A".into(), "3".into()),
            ]
        );
        assert_eq!(parse_dotenv("").unwrap(), []);
        assert!(
            parse_dotenv("A=1\n\nB=2\n")
                .unwrap_err()
                .contains("line 2: Invalid Format")
        );
        assert!(
            parse_dotenv("# c\nA=1")
                .unwrap_err()
                .contains("Invalid Format")
        );
        assert!(
            parse_dotenv("K E Y=1")
                .unwrap_err()
                .contains("only letters")
        );
        assert!(parse_dotenv("=1").unwrap_err().contains("blank"));
        assert_eq!(
            parse_dotenv("A=1 # not a comment").unwrap(),
            [("A".into(), "1 # not a comment".into())]
        );
        let many: String = (0..=DOTENV_MAX_VARIABLES)
            .map(|i| format!("K{i}=v\n"))
            .collect();
        assert!(
            parse_dotenv(&many)
                .unwrap_err()
                .contains("cannot have more")
        );
    }

    fn snapshot(files: &[&str]) -> Workspace {
        Workspace {
            root: PathBuf::new(),
            files: files.iter().map(PathBuf::from).collect(),
        }
    }

    #[test]
    fn tar_collection_filters_and_refuses_escapes() {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |path: &str, kind: tar::EntryType, link: Option<&str>, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            if let Some(l) = link {
                h.set_link_name(l).unwrap();
            }
            b.append_data(&mut h, path, data).unwrap();
        };
        add("p/", tar::EntryType::Directory, None, b"");
        add("p/out/", tar::EntryType::Directory, None, b"");
        add("p/out/a.bin", tar::EntryType::Regular, None, b"A");
        add("p/out/a.o", tar::EntryType::Regular, None, b"O");
        add(
            "p/out/evil",
            tar::EntryType::Symlink,
            Some("../../etc/passwd"),
            b"",
        );
        add("p/out/ok", tar::EntryType::Symlink, Some("a.bin"), b"");
        add("p/out/hard", tar::EntryType::Link, Some("p/out/a.bin"), b"");
        add("p/src.c", tar::EntryType::Regular, None, b"tracked");
        add("p/new.txt", tar::EntryType::Regular, None, b"untracked");
        let data = b.into_inner().unwrap();

        let t = tempfile::tempdir().unwrap();
        let mut w = Vec::new();
        let arts = PathRules::new(&["out".into()], &["**/*.o".into()], false, "/b/p", &mut w);
        let untracked = PathRules::new(&[], &[], true, "/b/p", &mut w);
        let mut cs = [
            Collection::new(arts, t.path().join("a")),
            Collection::new(untracked, t.path().join("u")),
        ];
        collect_from_tar(&data[..], &mut cs, &snapshot(&["src.c"]), "/b/p").unwrap();
        let [a, u] = &cs;
        assert_eq!(a.counts, [6]);
        let mut files: Vec<_> = a.files.iter().map(|p| p.display().to_string()).collect();
        files.sort();
        assert_eq!(files, ["out/a.bin", "out/hard", "out/ok"]);
        assert_eq!(std::fs::read(t.path().join("a/out/hard")).unwrap(), b"A");
        assert!(a.warnings[0].contains("out/evil: symlink to ../../etc/passwd"));
        assert!(!t.path().join("a/out/evil").exists());
        let mode = std::fs::metadata(t.path().join("a/out/a.bin")).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o755
        );
        assert!(u.files.contains(&PathBuf::from("new.txt")));
        assert!(!u.files.contains(&PathBuf::from("src.c")));
    }

    #[test]
    fn writes_replace_symlinks_instead_of_following_them() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let dest = t.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        std::os::unix::fs::symlink(&outside, dest.join("d")).unwrap();
        let p = place(&dest, Path::new("d/file")).unwrap();
        std::fs::write(&p, "x").unwrap();
        assert!(dest.join("d").is_dir() && !dest.join("d").is_symlink());
        assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
    }
}
