//! Which project files `artifacts:paths`, `exclude`, `untracked`, `cache:paths` and
//! `artifacts:reports` name, with GitLab's rules: paths relative to the project directory, globs
//! with `**`, a matched directory taken whole, `exclude` matched entry by entry (not recursive).
//! Also the rules that keep everything inside the project: no `..` out of it, no absolute path
//! elsewhere, no symlink pointing out of it.

use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

/// One entry of `paths:`.
#[derive(Debug)]
pub struct Pattern {
    /// As written, for log lines.
    pub text: String,
    /// `None` matches the whole project (`.`).
    glob: Option<GlobMatcher>,
    /// The directory before the first wildcard: only it needs walking.
    pub base: PathBuf,
}

/// What one collection (artifacts, a cache, reports) takes from the project.
#[derive(Debug, Default)]
pub struct PathRules {
    pub patterns: Vec<Pattern>,
    /// `exclude:` as written, with its matcher.
    pub exclude: Vec<(String, GlobMatcher)>,
    pub untracked: bool,
}

impl PathRules {
    /// Patterns that leave the project or do not parse are dropped, each with a warning.
    pub fn new(
        paths: &[String],
        exclude: &[String],
        untracked: bool,
        project_dir: &str,
        warnings: &mut Vec<String>,
    ) -> PathRules {
        let mut rules = PathRules {
            untracked,
            ..PathRules::default()
        };
        for p in paths {
            match normalize_pattern(p, project_dir).and_then(|n| compile(&n).map(|g| (n, g))) {
                Ok((norm, glob)) => rules.patterns.push(Pattern {
                    text: p.clone(),
                    base: literal_base(&norm),
                    glob,
                }),
                Err(why) => warnings.push(format!("{p}: {why}; skipped")),
            }
        }
        for p in exclude {
            match normalize_pattern(p, project_dir).and_then(|n| compile(&n)) {
                Ok(Some(g)) => rules.exclude.push((p.clone(), g)),
                // Excluding the whole project would exclude everything: GitLab matches entries,
                // and the project directory itself is never an entry.
                Ok(None) => {}
                Err(why) => warnings.push(format!("exclude {p}: {why}; skipped")),
            }
        }
        rules
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && !self.untracked
    }

    /// The first pattern that names `rel` or one of its parent directories.
    pub fn matching_pattern(&self, rel: &Path) -> Option<usize> {
        (0..self.patterns.len()).find(|&i| self.names(i, rel))
    }

    /// Whether pattern `i` names `rel` or one of its parent directories.
    pub fn names(&self, i: usize, rel: &Path) -> bool {
        match &self.patterns[i].glob {
            None => true,
            Some(g) => rel
                .ancestors()
                .any(|a| !a.as_os_str().is_empty() && g.is_match(a)),
        }
    }

    pub fn excluded(&self, rel: &Path) -> bool {
        self.excluded_by(rel).is_some()
    }

    /// The first `exclude:` pattern matching `rel`.
    pub fn excluded_by(&self, rel: &Path) -> Option<usize> {
        self.exclude.iter().position(|(_, g)| g.is_match(rel))
    }

    /// Whether walking into directory `rel` can find anything for the patterns.
    pub fn worth_walking(&self, rel: &Path) -> bool {
        self.untracked
            || self
                .patterns
                .iter()
                .any(|p| rel.starts_with(&p.base) || p.base.starts_with(rel))
    }
}

fn compile(norm: &str) -> Result<Option<GlobMatcher>, String> {
    if norm.is_empty() {
        return Ok(None);
    }
    GlobBuilder::new(norm)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| Some(g.compile_matcher()))
        .map_err(|e| format!("not a valid glob ({e})"))
}

/// A pattern relative to the project directory, `.` and `..` resolved, trailing `/` dropped.
/// Absolute paths are accepted only inside `project_dir`.
pub fn normalize_pattern(p: &str, project_dir: &str) -> Result<String, String> {
    let p = p.trim();
    let rel = if p.starts_with('/') {
        let root = project_dir.trim_end_matches('/');
        match p.strip_prefix(root) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.trim_start_matches('/'),
            _ => return Err(format!("outside the project directory {project_dir}")),
        }
    } else {
        p
    };
    let mut out: Vec<&str> = Vec::new();
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(format!("leaves the project directory {project_dir}"));
                }
            }
            c => out.push(c),
        }
    }
    Ok(out.join("/"))
}

fn literal_base(norm: &str) -> PathBuf {
    norm.split('/')
        .take_while(|c| !c.contains(['*', '?', '[', '{', '\\']))
        .collect()
}

/// A path from an archive made relative and checked: `None` when it is absolute or climbs out.
pub fn safe_relative(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Whether a symlink at `link` (relative to the project) pointing at `target` leads outside the
/// project directory, judged on the text of the target: an absolute target must lie in
/// `project_dir`, a relative one must not climb above the project root.
pub fn symlink_escapes(link: &Path, target: &Path, project_dir: &str) -> bool {
    let rel_target = if target.is_absolute() {
        match target.strip_prefix(project_dir) {
            Ok(rest) => return safe_relative(rest).is_none(),
            Err(_) => return true,
        }
    } else {
        target
    };
    let start = link.parent().unwrap_or(Path::new(""));
    safe_relative(&start.join(rel_target)).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(paths: &[&str], exclude: &[&str]) -> (PathRules, Vec<String>) {
        let mut w = Vec::new();
        let r = PathRules::new(
            &paths.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &exclude.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            false,
            "/builds/p",
            &mut w,
        );
        (r, w)
    }

    #[test]
    fn globs_directories_and_exclude() {
        let (r, w) = rules(
            &["out/", "**/*.log", "bin/*.exe", "."],
            &["out/**/*.o", "out/keep"],
        );
        assert!(w.is_empty());
        let m = |p: &str| r.matching_pattern(Path::new(p));
        assert_eq!(m("out"), Some(0));
        assert_eq!(
            m("out/a/b.o"),
            Some(0),
            "a matched directory is taken whole"
        );
        assert_eq!(m("x.log"), Some(1), "** matches no directory too");
        assert_eq!(m("a/b/c.log"), Some(1));
        assert_eq!(m("bin/a.exe"), Some(2));
        assert_eq!(
            m("bin/sub/a.exe"),
            Some(3),
            "* stops at /, only `.` takes it"
        );
        assert!(r.excluded(Path::new("out/a/b.o")));
        assert!(r.excluded(Path::new("out/b.o")));
        assert!(r.excluded(Path::new("out/keep")));
        assert!(
            !r.excluded(Path::new("out/keep/inner")),
            "exclude is not recursive"
        );
        assert_eq!(r.patterns[2].base, Path::new("bin"));
        assert_eq!(r.patterns[3].base, Path::new(""));
    }

    #[test]
    fn walking_is_limited_to_pattern_bases() {
        let (r, _) = rules(&["a/b/**/*.txt", "c"], &[]);
        assert!(r.worth_walking(Path::new("a")));
        assert!(r.worth_walking(Path::new("a/b/x")));
        assert!(r.worth_walking(Path::new("c")));
        assert!(!r.worth_walking(Path::new("d")));
        assert!(!r.worth_walking(Path::new("a/c")));
    }

    #[test]
    fn escapes_are_refused() {
        let (r, w) = rules(
            &["../x", "/etc/passwd", "a/../../x", "/builds/p/ok", "a/../b"],
            &[],
        );
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("leaves the project"));
        assert!(w[1].contains("outside the project"));
        let texts: Vec<_> = r.patterns.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, ["/builds/p/ok", "a/../b"]);
        assert_eq!(r.matching_pattern(Path::new("ok")), Some(0));
        assert_eq!(r.matching_pattern(Path::new("b")), Some(1));
        assert_eq!(
            normalize_pattern("/builds/pother", "/builds/p").unwrap_err(),
            "outside the project directory /builds/p"
        );
    }

    #[test]
    fn archive_paths_and_symlinks() {
        assert_eq!(
            safe_relative(Path::new("./a/./b")).unwrap(),
            Path::new("a/b")
        );
        assert!(safe_relative(Path::new("a/../../b")).is_none());
        assert!(safe_relative(Path::new("/etc")).is_none());
        let p = "/builds/p";
        let esc = |l: &str, t: &str| symlink_escapes(Path::new(l), Path::new(t), p);
        assert!(!esc("a/link", "../b"));
        assert!(esc("a/link", "../../b"));
        assert!(esc("link", "/etc/passwd"));
        assert!(!esc("link", "/builds/p/x"));
        assert!(esc("link", "/builds/p/../q"));
        assert!(!esc("link", "."));
    }
}
