//! The project's files as a job sees them (the working tree, or a commit's tree), and their git
//! blob ids for the job result cache.

use std::path::Path;

use git2::StatusOptions;

use super::Checkout;

impl Checkout {
    /// The project's files (relative to the project directory, `/`-separated, sorted): tracked
    /// files that still exist plus untracked ones git does not ignore; or a commit's files.
    pub fn project_files(&self) -> Vec<String> {
        let Some(repo) = self.open() else {
            let mut out = Vec::new();
            walk(&self.project_dir, &self.project_dir, &mut out);
            out.sort();
            return out;
        };
        let prefix = self.subdir.to_string_lossy().replace('\\', "/");
        let strip = |p: &str| -> Option<String> {
            if prefix.is_empty() {
                Some(p.to_string())
            } else {
                p.strip_prefix(&prefix)
                    .and_then(|r| r.strip_prefix('/'))
                    .map(String::from)
            }
        };
        let mut out = Vec::new();
        if self.commit_mode {
            if let Ok(tree) = git2::Oid::from_str(&self.sha)
                .and_then(|id| repo.find_commit(id))
                .and_then(|c| c.tree())
            {
                let _ = tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                    if entry.kind() == Some(git2::ObjectType::Blob) {
                        if let Some(p) = strip(&format!("{dir}{}", entry.name().unwrap_or(""))) {
                            out.push(p);
                        }
                    }
                    git2::TreeWalkResult::Ok
                });
            }
        } else {
            if let Ok(index) = repo.index() {
                for e in index.iter() {
                    let p = String::from_utf8_lossy(&e.path).into_owned();
                    if let Some(rel) = strip(&p) {
                        if self.project_dir.join(&rel).symlink_metadata().is_ok() {
                            out.push(rel);
                        }
                    }
                }
            }
            let mut opts = StatusOptions::new();
            opts.include_untracked(true)
                .recurse_untracked_dirs(true)
                .include_ignored(false);
            if !prefix.is_empty() {
                opts.pathspec(&prefix);
            }
            if let Ok(statuses) = repo.statuses(Some(&mut opts)) {
                for s in statuses.iter().filter(|s| s.status().is_wt_new()) {
                    if let Some(rel) = s.path().ok().and_then(strip) {
                        out.push(rel);
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Each project file's git blob id (the same for a file in a commit and on disk), for the
    /// job result cache: a key then matches whether the job ran on the working tree or `--commit`.
    pub fn file_digests(&self) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        if self.commit_mode {
            if let Some(repo) = self.open() {
                let prefix = self.subdir.to_string_lossy().replace('\\', "/");
                if let Ok(tree) = git2::Oid::from_str(&self.sha)
                    .and_then(|id| repo.find_commit(id))
                    .and_then(|c| c.tree())
                {
                    let _ = tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                        if entry.kind() == Some(git2::ObjectType::Blob) {
                            let full = format!("{dir}{}", entry.name().unwrap_or(""));
                            let rel = if prefix.is_empty() {
                                Some(full)
                            } else {
                                full.strip_prefix(&format!("{prefix}/")).map(String::from)
                            };
                            if let Some(rel) = rel {
                                out.insert(rel, format!("{}:{:o}", entry.id(), entry.filemode()));
                            }
                        }
                        git2::TreeWalkResult::Ok
                    });
                }
            }
            return out;
        }
        for f in self.project_files() {
            let path = self.project_dir.join(&f);
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let (id, mode) = if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path)
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (
                    git2::Oid::hash_object(git2::ObjectType::Blob, target.as_bytes()),
                    0o120000,
                )
            } else {
                use std::os::unix::fs::PermissionsExt;
                let exec = meta.permissions().mode() & 0o111 != 0;
                (
                    git2::Oid::hash_file(git2::ObjectType::Blob, &path),
                    if exec { 0o100755 } else { 0o100644 },
                )
            };
            if let Ok(id) = id {
                out.insert(f, format!("{id}:{mode:o}"));
            }
        }
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => {
                if e.file_name() != ".git" {
                    walk(root, &p, out)
                }
            }
            Ok(_) => {
                if let Ok(r) = p.strip_prefix(root) {
                    out.push(r.to_string_lossy().replace('\\', "/"));
                }
            }
            Err(_) => {}
        }
    }
}
