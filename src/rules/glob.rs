//! Path patterns for `rules:changes`, `rules:exists`, `only:changes` and `include:local`, with
//! GitLab's semantics (Ruby's `File.fnmatch?` with PATHNAME | EXTGLOB | DOTMATCH): `*` stays
//! within a directory, `**/` crosses any number of them, `{a,b}` alternates, dotfiles match.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use globset::{Glob, GlobBuilder, GlobMatcher};

#[derive(Debug, Clone)]
pub struct PathPattern {
    pattern: String,
    matcher: GlobMatcher,
}

impl PathPattern {
    pub fn new(pattern: &str) -> Result<Self, String> {
        let trimmed = pattern.trim_start_matches("./").trim_start_matches('/');
        let glob: Glob = GlobBuilder::new(trimmed)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("bad path pattern `{pattern}`: {e}"))?;
        Ok(PathPattern {
            pattern: pattern.to_string(),
            matcher: glob.compile_matcher(),
        })
    }

    /// As [`PathPattern::new`], compiled once per pattern text: generated pipelines repeat the
    /// same `changes:` lists in hundreds of jobs, and compiling them dominated `list`.
    pub fn cached(pattern: &str) -> Result<Self, String> {
        static CACHE: OnceLock<Mutex<HashMap<String, PathPattern>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(p) = cache.lock().expect("not poisoned").get(pattern) {
            return Ok(p.clone());
        }
        let p = PathPattern::new(pattern)?;
        cache
            .lock()
            .expect("not poisoned")
            .insert(pattern.to_string(), p.clone());
        Ok(p)
    }

    pub fn is_match(&self, path: &str) -> bool {
        self.matcher.is_match(path)
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

/// Whether any of `paths` matches any of `patterns`; returns the first match for `explain`.
pub fn first_match<'a>(
    patterns: &[PathPattern],
    paths: impl IntoIterator<Item = &'a str>,
) -> Option<(&'a str, String)> {
    for p in paths {
        if let Some(pat) = patterns.iter().find(|pat| pat.is_match(p)) {
            return Some((p, pat.as_str().to_string()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pat: &str, path: &str) -> bool {
        PathPattern::new(pat).unwrap().is_match(path)
    }

    #[test]
    fn fnmatch_pathname_semantics() {
        assert!(m("*.md", "README.md"));
        assert!(!m("*.md", "docs/README.md"), "* does not cross /");
        assert!(m("**/*.md", "docs/a/README.md"));
        assert!(m("**/*.md", "README.md"), "**/ matches zero directories");
        assert!(m("docs/**/*", "docs/a/b.txt"));
        assert!(m("src/{lib,bin}/*.ml", "src/bin/main.ml"));
        assert!(
            m(".gitlab/ci/*.yml", ".gitlab/ci/build.yml"),
            "dotfiles match"
        );
        assert!(m("*", ".hidden"));
        assert!(
            m("/Makefile", "Makefile"),
            "a leading slash means the project root"
        );
        assert!(!m("src/*.ml", "src/a/b.ml"));
    }
}
