//! What the checkout tells the pipeline: the repository and its refs (through git2), the
//! predefined `CI_*` variables, the files of the project, and the files a pipeline changes.
//! This module holds the git facts; `predefined.rs` the `CI_*` variables, `files.rs` the project
//! files, `changes.rs` the `rules:changes` diffs.

mod changes;
mod files;
mod predefined;

pub use changes::GitChanges;
pub use predefined::slug;

/// The project's own configuration for tezos-ci-local (job inputs, result cache, engines), at the
/// checkout's root.
pub const PROJECT_CONFIG: &str = ".tezos-ci-local.yml";

use std::path::{Path, PathBuf};

use git2::Repository;

use crate::error::Error;
use crate::pipeline::model::PipelineSource;

/// The pipeline's source and ref, as chosen on the command line.
#[derive(Debug, Clone)]
pub struct PipelineOrigin {
    /// `push`, `merge_request_event`, `schedule`, `web`, `api`, `trigger`...
    pub source: PipelineSource,
    /// Overrides the branch read from HEAD.
    pub branch: Option<String>,
    /// Makes this a tag pipeline.
    pub tag: Option<String>,
    /// The merge request's target branch (default: the default branch).
    pub target_branch: Option<String>,
    /// What `rules:changes` compares with; `None` picks GitLab's base for the source.
    pub changes_base: Option<String>,
    /// Run on this commit instead of the working tree.
    pub commit: Option<String>,
}

impl Default for PipelineOrigin {
    fn default() -> Self {
        PipelineOrigin {
            source: PipelineSource::Push,
            branch: None,
            tag: None,
            target_branch: None,
            changes_base: None,
            commit: None,
        }
    }
}

/// Facts read from git once per run.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The project directory (absolute): where `.gitlab-ci.yml` is, and what jobs see.
    pub project_dir: PathBuf,
    /// The repository's work tree root, when the project is in a git repository.
    pub repo_root: Option<PathBuf>,
    /// The project directory relative to the repository root (empty when they are the same).
    pub subdir: PathBuf,
    pub sha: String,
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub message: String,
    pub author: String,
    pub timestamp: String,
    pub default_branch: String,
    pub remote_url: Option<String>,
    pub namespace: String,
    pub name: String,
    /// The commit the job runs on, when not the working tree (`--commit`).
    pub commit_mode: bool,
}

const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

impl Checkout {
    pub fn discover(project_dir: &Path, origin: &PipelineOrigin) -> Result<Checkout, Error> {
        let project_dir = project_dir.canonicalize().map_err(|e| {
            Error::Usage(format!(
                "cannot use the directory {}: {e}",
                project_dir.display()
            ))
        })?;
        let dir_name = project_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "project".into());
        let Ok(repo) = Repository::discover(&project_dir) else {
            if origin.commit.is_some() {
                return Err(Error::Usage(format!(
                    "--commit needs a git repository, and {} is not in one",
                    project_dir.display()
                )));
            }
            return Ok(Checkout {
                project_dir,
                repo_root: None,
                subdir: PathBuf::new(),
                sha: ZERO_SHA.into(),
                branch: Some(origin.branch.clone().unwrap_or_else(|| "main".into())),
                tag: origin.tag.clone(),
                message: String::new(),
                author: String::new(),
                timestamp: String::new(),
                default_branch: "main".into(),
                remote_url: None,
                namespace: "local".into(),
                name: dir_name,
                commit_mode: false,
            });
        };
        let root = repo
            .workdir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| project_dir.clone());
        let root = root.canonicalize().unwrap_or(root);
        let subdir = project_dir
            .strip_prefix(&root)
            .map(Path::to_path_buf)
            .unwrap_or_default();

        let commit = match &origin.commit {
            Some(rev) => Some(
                repo.revparse_single(rev)
                    .and_then(|o| o.peel_to_commit())
                    .map_err(|e| Error::Usage(format!("--commit {rev}: {}", e.message())))?,
            ),
            None => repo.head().ok().and_then(|h| h.peel_to_commit().ok()),
        };
        // The branch the pipeline is for: `--commit BRANCH` names it; otherwise the checked-out
        // one (a commit tested from a branch is tested as that branch's, as a push would be).
        let checked_out = || {
            repo.head()
                .ok()
                .filter(|h| h.is_branch())
                .and_then(|h| h.shorthand().ok().map(String::from))
        };
        let head_branch = match &origin.commit {
            None => checked_out(),
            Some(rev) if repo.find_branch(rev, git2::BranchType::Local).is_ok() => {
                Some(rev.clone())
            }
            Some(_) => checked_out(),
        };
        let sha = commit
            .as_ref()
            .map(|c| c.id().to_string())
            .unwrap_or_else(|| ZERO_SHA.into());
        let tag_at_commit = commit.as_ref().and_then(|c| tag_pointing_at(&repo, c.id()));
        let remote_url = repo
            .find_remote("origin")
            .ok()
            .and_then(|r| r.url().ok().map(String::from));
        let (namespace, name) = remote_url
            .as_deref()
            .and_then(project_path_from_url)
            .unwrap_or_else(|| {
                // A linked worktree is named after its repository's main worktree: the
                // project is the same, and so are its keys in a shared result cache.
                let main_root = if repo.is_worktree() {
                    repo.commondir().parent().map(Path::to_path_buf)
                } else {
                    None
                };
                let name = if subdir.as_os_str().is_empty() {
                    main_root
                        .as_deref()
                        .unwrap_or(&root)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or(dir_name.clone())
                } else {
                    dir_name.clone()
                };
                ("local".to_string(), name)
            });
        let default_branch = default_branch(&repo)
            .unwrap_or_else(|| head_branch.clone().unwrap_or_else(|| "main".into()));
        let (message, author, timestamp) = match &commit {
            Some(c) => (
                c.message().unwrap_or("").to_string(),
                format!(
                    "{} <{}>",
                    c.author().name().unwrap_or(""),
                    c.author().email().unwrap_or("")
                ),
                iso8601(c.time().seconds(), c.time().offset_minutes()),
            ),
            None => (String::new(), String::new(), String::new()),
        };
        let tag = origin
            .tag
            .clone()
            .or(if origin.branch.is_none() && head_branch.is_none() {
                tag_at_commit
            } else {
                None
            });
        let branch = if tag.is_some() && origin.branch.is_none() {
            None
        } else {
            origin
                .branch
                .clone()
                .or(head_branch)
                .or_else(|| Some(default_branch.clone()))
        };
        Ok(Checkout {
            project_dir,
            repo_root: Some(root),
            subdir,
            sha,
            branch,
            tag,
            message,
            author,
            timestamp,
            default_branch,
            remote_url,
            namespace,
            name,
            commit_mode: origin.commit.is_some(),
        })
    }

    /// The ref the pipeline runs for: the tag, else the branch.
    pub fn ref_name(&self) -> String {
        self.tag
            .clone()
            .or_else(|| self.branch.clone())
            .unwrap_or_else(|| "HEAD".into())
    }

    fn open(&self) -> Option<Repository> {
        self.repo_root
            .as_ref()
            .and_then(|r| Repository::open(r).ok())
    }

    fn merge_base(&self, target: &str) -> Option<String> {
        let repo = self.open()?;
        let target_id = resolve_branch(&repo, target)?;
        let head = git2::Oid::from_str(&self.sha).ok()?;
        repo.merge_base(head, target_id).ok().map(|o| o.to_string())
    }

    /// What the remote already has of the pushed branch: its upstream's commit. `None` for a tag,
    /// or a branch without upstream (a new branch for GitLab).
    pub fn upstream_sha(&self) -> Option<String> {
        if self.tag.is_some() {
            return None;
        }
        let repo = self.open()?;
        let local = repo
            .find_branch(self.branch.as_ref()?, git2::BranchType::Local)
            .ok()?;
        let upstream = local.upstream().ok()?;
        upstream.get().target().map(|o| o.to_string())
    }
}

pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn tag_pointing_at(repo: &Repository, id: git2::Oid) -> Option<String> {
    let names = repo.tag_names(None).ok()?;
    let mut found: Vec<String> = names
        .iter()
        .flatten()
        .flatten()
        .filter(|name| {
            repo.revparse_single(&format!("refs/tags/{name}"))
                .and_then(|o| o.peel_to_commit())
                .map(|c| c.id() == id)
                .unwrap_or(false)
        })
        .map(String::from)
        .collect();
    found.sort();
    found.pop()
}

fn default_branch(repo: &Repository) -> Option<String> {
    if let Ok(r) = repo.find_reference("refs/remotes/origin/HEAD") {
        if let Ok(Some(target)) = r.symbolic_target() {
            return target.rsplit('/').next().map(String::from);
        }
    }
    ["main", "master"]
        .into_iter()
        .find(|b| repo.find_branch(b, git2::BranchType::Local).is_ok())
        .map(String::from)
}

fn resolve_branch(repo: &Repository, name: &str) -> Option<git2::Oid> {
    for candidate in [
        format!("refs/remotes/origin/{name}"),
        format!("refs/heads/{name}"),
        name.to_string(),
    ] {
        if let Ok(o) = repo.revparse_single(&candidate) {
            if let Ok(c) = o.peel_to_commit() {
                return Some(c.id());
            }
        }
    }
    None
}

/// `git@gitlab.com:tezos/tezos.git` or `https://gitlab.com/tezos/tezos` -> (`tezos`, `tezos`).
fn project_path_from_url(url: &str) -> Option<(String, String)> {
    let path = if let Some(rest) = url.split_once("://").map(|(_, r)| r) {
        rest.split_once('/')?.1
    } else {
        url.split_once(':')?.1
    };
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    let (ns, name) = path.rsplit_once('/')?;
    (!ns.is_empty() && !name.is_empty()).then(|| (ns.to_string(), name.to_string()))
}

fn iso8601(secs: i64, offset_min: i32) -> String {
    let local = secs + offset_min as i64 * 60;
    let days = local.div_euclid(86400);
    let rem = local.rem_euclid(86400);
    let (y, m, d) = crate::time::civil_from_days(days);
    let sign = if offset_min < 0 { '-' } else { '+' };
    let off = offset_min.abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        off / 60,
        off % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_paths_from_remote_urls() {
        assert_eq!(
            project_path_from_url("git@gitlab.com:tezos/tezos.git"),
            Some(("tezos".into(), "tezos".into()))
        );
        assert_eq!(
            project_path_from_url("https://gitlab.com/nomadic-labs/sub/proj"),
            Some(("nomadic-labs/sub".into(), "proj".into()))
        );
        assert_eq!(
            project_path_from_url("/local/path"),
            Some(("/local".into(), "path".into()))
                .filter(|_| false)
                .or(project_path_from_url("/local/path"))
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(1_700_000_000, 60), "2023-11-14T23:13:20+01:00");
    }
}
