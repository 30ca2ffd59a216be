//! `rules:changes` against git: what a pipeline changes compared with GitLab's base for its source.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use git2::Repository;

use super::{Checkout, PipelineOrigin};
use crate::pipeline::model::PipelineSource;
use crate::rules::ChangedFiles;

impl Checkout {
    /// What `rules:changes` compares with by default, as GitLab does for each source: a push
    /// compares with what the branch's upstream had (GitLab's `CI_COMMIT_BEFORE_SHA`), a merge
    /// request with the merge base of its target branch; with no such base, or for other sources,
    /// there is nothing to compare with and `changes` is true.
    pub fn default_changes_base(&self, origin: &PipelineOrigin) -> Option<String> {
        if let Some(b) = &origin.changes_base {
            return Some(b.clone());
        }
        match origin.source {
            PipelineSource::MergeRequestEvent => {
                let target = origin
                    .target_branch
                    .clone()
                    .unwrap_or_else(|| self.default_branch.clone());
                self.merge_base(&target)
            }
            PipelineSource::Push => self.upstream_sha(),
            _ => None,
        }
    }

    pub fn changes(&self, origin: &PipelineOrigin) -> GitChanges {
        GitChanges {
            checkout: self.clone(),
            base: self.default_changes_base(origin),
            cache: Mutex::new(HashMap::new()),
        }
    }
}

/// `rules:changes` against git: the diff from a base commit to the working tree (uncommitted
/// changes and untracked files included), or to the commit in `--commit` mode. Memoised per base.
pub struct GitChanges {
    checkout: Checkout,
    base: Option<String>,
    cache: Mutex<HashMap<String, Option<Arc<Vec<String>>>>>,
}

impl GitChanges {
    pub fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    fn compute(&self, base: &str) -> Result<Vec<String>, String> {
        let repo = self.checkout.open().ok_or("not a git repository")?;
        let base_tree = compare_base(&repo, base)
            .and_then(|o| o.peel_to_tree())
            .map_err(|e| format!("cannot compare with `{base}`: {}", e.message()))?;
        let mut opts = git2::DiffOptions::new();
        opts.include_untracked(true).recurse_untracked_dirs(true);
        let diff = if self.checkout.commit_mode {
            let tree = git2::Oid::from_str(&self.checkout.sha)
                .and_then(|id| repo.find_commit(id))
                .and_then(|c| c.tree())
                .map_err(|e| e.message().to_string())?;
            repo.diff_tree_to_tree(Some(&base_tree), Some(&tree), Some(&mut opts))
        } else {
            repo.diff_tree_to_workdir_with_index(Some(&base_tree), Some(&mut opts))
        }
        .map_err(|e| e.message().to_string())?;
        let prefix = self.checkout.subdir.to_string_lossy().replace('\\', "/");
        let mut out = Vec::new();
        for d in diff.deltas() {
            for f in [d.new_file().path(), d.old_file().path()]
                .into_iter()
                .flatten()
            {
                let p = f.to_string_lossy().replace('\\', "/");
                let rel = if prefix.is_empty() {
                    Some(p)
                } else {
                    p.strip_prefix(&prefix)
                        .and_then(|r| r.strip_prefix('/'))
                        .map(String::from)
                };
                if let Some(r) = rel {
                    out.push(r);
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

impl ChangedFiles for GitChanges {
    fn changed(&self, compare_to: Option<&str>) -> Result<Option<Arc<Vec<String>>>, String> {
        let Some(base) = compare_to.or(self.base.as_deref()) else {
            return Ok(None);
        };
        if let Some(hit) = self.cache.lock().expect("not poisoned").get(base) {
            return Ok(hit.clone());
        }
        let files = Some(Arc::new(self.compute(base)?));
        self.cache
            .lock()
            .expect("not poisoned")
            .insert(base.to_string(), files.clone());
        Ok(files)
    }
}

/// The commit `compare_to` names. GitLab reads branch names (`main`, `refs/heads/main`) in the
/// project on the server, which the `origin` remote mirrors, so `origin`'s branch comes first.
fn compare_base<'r>(repo: &'r Repository, base: &str) -> Result<git2::Object<'r>, git2::Error> {
    let branch = base.strip_prefix("refs/heads/").unwrap_or(base);
    if !branch.starts_with("refs/") {
        if let Ok(o) = repo.revparse_single(&format!("refs/remotes/origin/{branch}")) {
            return Ok(o);
        }
    }
    repo.revparse_single(base)
}
