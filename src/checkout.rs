//! What the checkout tells the pipeline: the repository and its refs (through git2), the
//! predefined `CI_*` variables, the files of the project, and the files a pipeline changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use git2::{Repository, StatusOptions};

use crate::error::Error;
use crate::rules::ChangedFiles;

/// The pipeline's source and ref, as chosen on the command line.
#[derive(Debug, Clone)]
pub struct PipelineOrigin {
    /// `push`, `merge_request_event`, `schedule`, `web`, `api`, `trigger`...
    pub source: String,
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
            source: "push".into(),
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
                let name = if subdir.as_os_str().is_empty() {
                    root.file_name()
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

    /// GitLab's predefined variables for a pipeline of `origin.source` on this checkout. Job-level
    /// ones (`CI_JOB_NAME`...) are added per job by the planner.
    pub fn predefined(
        &self,
        origin: &PipelineOrigin,
        project_dir_in_job: &str,
    ) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, val: String| v.push((k.to_string(), val));
        let ref_name = self.ref_name();
        let is_mr = origin.source == "merge_request_event";
        let title = self.message.lines().next().unwrap_or("").to_string();
        let description = self
            .message
            .split_once('\n')
            .map(|(_, d)| d.trim_start_matches('\n').to_string())
            .unwrap_or_default();
        let path = format!("{}/{}", self.namespace, self.name);
        set("CI", "true".into());
        set("GITLAB_CI", "true".into());
        set("TEZOS_CI_LOCAL", "true".into());
        set("CI_SERVER", "yes".into());
        set("CI_SERVER_HOST", "gitlab.com".into());
        set("CI_SERVER_URL", "https://gitlab.com".into());
        set("CI_SERVER_NAME", "GitLab".into());
        set("CI_PIPELINE_SOURCE", origin.source.clone());
        set("CI_PIPELINE_ID", "1".into());
        set("CI_PIPELINE_IID", "1".into());
        set(
            "CI_PIPELINE_URL",
            format!("https://gitlab.com/{path}/-/pipelines/1"),
        );
        set("CI_COMMIT_SHA", self.sha.clone());
        set(
            "CI_COMMIT_SHORT_SHA",
            self.sha[..8.min(self.sha.len())].to_string(),
        );
        // "The previous latest commit present on a branch or tag", zeros for merge requests,
        // schedules and a branch's first push (docs.gitlab.com/ci/variables/predefined_variables/).
        let before = match origin.source.as_str() {
            "push" => self.upstream_sha(),
            _ => None,
        };
        set(
            "CI_COMMIT_BEFORE_SHA",
            before.unwrap_or_else(|| ZERO_SHA.into()),
        );
        set("CI_COMMIT_REF_NAME", ref_name.clone());
        set("CI_COMMIT_REF_SLUG", slug(&ref_name));
        set("CI_COMMIT_REF_PROTECTED", "false".into());
        if let Some(tag) = &self.tag {
            set("CI_COMMIT_TAG", tag.clone());
            set("CI_COMMIT_TAG_MESSAGE", String::new());
        } else if let (Some(b), false) = (&self.branch, is_mr) {
            set("CI_COMMIT_BRANCH", b.clone());
        }
        set("CI_COMMIT_TITLE", title.clone());
        set("CI_COMMIT_MESSAGE", self.message.clone());
        set("CI_COMMIT_DESCRIPTION", description);
        set("CI_COMMIT_AUTHOR", self.author.clone());
        set("CI_COMMIT_TIMESTAMP", self.timestamp.clone());
        set("CI_DEFAULT_BRANCH", self.default_branch.clone());
        set("CI_PROJECT_DIR", project_dir_in_job.to_string());
        set("CI_BUILDS_DIR", "/builds".into());
        set("CI_PROJECT_NAME", self.name.clone());
        set("CI_PROJECT_TITLE", self.name.clone());
        set("CI_PROJECT_NAMESPACE", self.namespace.clone());
        set(
            "CI_PROJECT_ROOT_NAMESPACE",
            self.namespace.split('/').next().unwrap_or("").to_string(),
        );
        set("CI_PROJECT_PATH", path.clone());
        set("CI_PROJECT_PATH_SLUG", slug(&path));
        set("CI_PROJECT_URL", format!("https://gitlab.com/{path}"));
        set("CI_PROJECT_ID", "1".into());
        set("CI_PROJECT_VISIBILITY", "private".into());
        set(
            "CI_REPOSITORY_URL",
            self.remote_url
                .clone()
                .unwrap_or_else(|| format!("https://gitlab.com/{path}.git")),
        );
        set("CI_REGISTRY", "registry.gitlab.com".into());
        set("CI_REGISTRY_IMAGE", format!("registry.gitlab.com/{path}"));
        set("CI_CONFIG_PATH", ".gitlab-ci.yml".into());
        set("CI_RUNNER_DESCRIPTION", "tezos-ci-local".into());
        set("CI_RUNNER_TAGS", "[]".into());
        set(
            "CI_RUNNER_EXECUTABLE_ARCH",
            format!("linux/{}", host_arch()),
        );
        set(
            "GITLAB_USER_LOGIN",
            std::env::var("USER").unwrap_or_else(|_| "local".into()),
        );
        set(
            "GITLAB_USER_NAME",
            self.author.split(" <").next().unwrap_or("").to_string(),
        );
        if is_mr {
            let target = origin
                .target_branch
                .clone()
                .unwrap_or_else(|| self.default_branch.clone());
            let source = self.branch.clone().unwrap_or_else(|| ref_name.clone());
            set("CI_MERGE_REQUEST_ID", "1".into());
            set("CI_MERGE_REQUEST_IID", "1".into());
            set("CI_MERGE_REQUEST_TITLE", title);
            set("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", source);
            set("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", String::new());
            set("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", target.clone());
            set("CI_MERGE_REQUEST_TARGET_BRANCH_SHA", String::new());
            set("CI_MERGE_REQUEST_EVENT_TYPE", "detached".into());
            set("CI_MERGE_REQUEST_PROJECT_PATH", path.clone());
            set("CI_MERGE_REQUEST_SOURCE_PROJECT_PATH", path.clone());
            set(
                "CI_MERGE_REQUEST_PROJECT_URL",
                format!("https://gitlab.com/{path}"),
            );
            set(
                "CI_MERGE_REQUEST_REF_PATH",
                "refs/merge-requests/1/head".into(),
            );
            set("CI_MERGE_REQUEST_LABELS", String::new());
            set("CI_MERGE_REQUEST_APPROVED", "false".into());
            set("CI_MERGE_REQUEST_DRAFT", "false".into());
            if let Some(base) = self.merge_base(&target) {
                set("CI_MERGE_REQUEST_DIFF_BASE_SHA", base);
            }
        }
        v
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

    /// What `rules:changes` compares with by default, as GitLab does for each source: a push
    /// compares with what the branch's upstream had (GitLab's `CI_COMMIT_BEFORE_SHA`), a merge
    /// request with the merge base of its target branch; with no such base, or for other sources,
    /// there is nothing to compare with and `changes` is true.
    pub fn default_changes_base(&self, origin: &PipelineOrigin) -> Option<String> {
        if let Some(b) = &origin.changes_base {
            return Some(b.clone());
        }
        match origin.source.as_str() {
            "merge_request_event" => {
                let target = origin
                    .target_branch
                    .clone()
                    .unwrap_or_else(|| self.default_branch.clone());
                self.merge_base(&target)
            }
            "push" => self.upstream_sha(),
            _ => None,
        }
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

/// GitLab's `CI_COMMIT_REF_SLUG`: lowercased, anything but `0-9a-z` replaced by `-`, at most 63
/// bytes, no leading or trailing `-`.
pub fn slug(s: &str) -> String {
    let mut out: String = s
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(63);
    out.trim_matches('-').to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_like_gitlab() {
        assert_eq!(slug("feature/Add-Thing_2"), "feature-add-thing-2");
        assert_eq!(slug("-x-"), "x");
        assert_eq!(slug(&"a".repeat(80)).len(), 63);
    }

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
