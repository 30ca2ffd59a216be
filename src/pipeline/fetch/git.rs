//! Another project's repository: a local clone read in place, or a bare copy under the cache
//! fetched with git2 (credentials as git would use them: a token, the ssh agent, git's
//! credential helpers). Refs resolve as GitLab resolves `include:project:ref` and component
//! versions.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use git2::{Oid, Repository};

use super::{FetchError, MAX_FILE_BYTES};

/// An opened repository and the source it came from (for messages).
pub struct ProjectRepo {
    repo: Repository,
    pub source: String,
    /// Branches live under `refs/heads/` in the cache; a local clone also has `refs/remotes/origin/`.
    local: bool,
}

impl ProjectRepo {
    pub fn open_local(dir: &Path, source: &str) -> Result<Self, String> {
        let repo = Repository::open(dir).map_err(|e| format!("{source}: {}", e.message()))?;
        Ok(ProjectRepo {
            repo,
            source: source.to_string(),
            local: true,
        })
    }

    pub fn open_cache(dir: &Path, source: &str) -> Result<Self, String> {
        let repo = Repository::open_bare(dir).map_err(|e| format!("{source}: {}", e.message()))?;
        Ok(ProjectRepo {
            repo,
            source: source.to_string(),
            local: false,
        })
    }

    /// The commit a ref names: a branch, a tag or a SHA; `None` for the project's default branch.
    pub fn resolve(&self, reference: Option<&str>) -> Result<Oid, String> {
        let Some(r) = reference else {
            for head in ["HEAD", "refs/remotes/origin/HEAD"] {
                if let Ok(c) = self
                    .repo
                    .revparse_single(head)
                    .and_then(|o| o.peel_to_commit())
                {
                    return Ok(c.id());
                }
            }
            return Err(format!("{} has no default branch", self.source));
        };
        let mut candidates = vec![format!("refs/heads/{r}"), format!("refs/tags/{r}")];
        if self.local {
            candidates.push(format!("refs/remotes/origin/{r}"));
        }
        for name in &candidates {
            if let Ok(reference) = self.repo.find_reference(name) {
                if let Ok(c) = reference.peel_to_commit() {
                    return Ok(c.id());
                }
            }
        }
        if r.len() >= 7 && r.chars().all(|c| c.is_ascii_hexdigit()) {
            if let Ok(c) = self
                .repo
                .revparse_single(r)
                .and_then(|o| o.peel_to_commit())
            {
                return Ok(c.id());
            }
        }
        Err(format!("no branch, tag or commit `{r}` in {}", self.source))
    }

    /// The tags, for component versions.
    pub fn tags(&self) -> Vec<String> {
        self.repo
            .tag_names(None)
            .map(|names| {
                (0..names.len())
                    .filter_map(|i| names.get(i).ok().flatten().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The text of `path` at `commit`, or `None` when there is no such file.
    pub fn read(&self, commit: Oid, path: &str) -> Result<Option<String>, String> {
        let c = self
            .repo
            .find_commit(commit)
            .map_err(|e| e.message().to_string())?;
        let tree = c.tree().map_err(|e| e.message().to_string())?;
        let Ok(entry) = tree.get_path(Path::new(path.trim_start_matches('/'))) else {
            return Ok(None);
        };
        if entry.kind() != Some(git2::ObjectType::Blob) || entry.filemode() == 0o120000 {
            return Ok(None);
        }
        let blob = self
            .repo
            .find_blob(entry.id())
            .map_err(|e| e.message().to_string())?;
        if blob.size() as u64 > MAX_FILE_BYTES {
            return Err(format!(
                "`{path}` is larger than {} MiB",
                MAX_FILE_BYTES >> 20
            ));
        }
        String::from_utf8(blob.content().to_vec())
            .map(Some)
            .map_err(|_| format!("`{path}` is not UTF-8 text"))
    }
}

/// Whether the cache holds a fetched copy.
pub fn has_refs(dir: &Path) -> bool {
    Repository::open_bare(dir)
        .ok()
        .and_then(|r| r.references().ok().map(|mut refs| refs.next().is_some()))
        .unwrap_or(false)
}

/// Brings the bare copy at `dir` up to date with `url`'s branches and tags. Runs on a thread so
/// that a server that accepts and never answers costs `timeout`, not forever: past it, the
/// thread is left to die with the process.
pub fn fetch(
    url: &str,
    dir: &Path,
    timeout: Duration,
    token: Option<&str>,
) -> Result<(), FetchError> {
    let (tx, rx) = mpsc::channel();
    let (url_owned, dir_owned, token) =
        (url.to_string(), dir.to_path_buf(), token.map(String::from));
    let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    std::thread::spawn(move || {
        // SAFETY: libgit2's global options; set before any connection of this fetch.
        unsafe {
            let _ = git2::opts::set_server_connect_timeout_in_milliseconds(millis);
            let _ = git2::opts::set_server_timeout_in_milliseconds(millis);
        }
        let _ = tx.send(fetch_now(&url_owned, &dir_owned, token.as_deref()));
    });
    match rx.recv_timeout(timeout + Duration::from_millis(500)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            let timed_out = e.class() == git2::ErrorClass::Net
                && e.message().to_lowercase().contains("timed out");
            Err(FetchError {
                message: e.message().to_string(),
                timed_out,
            })
        }
        Err(_) => Err(FetchError {
            message: format!("no answer within {} s", timeout.as_secs_f64()),
            timed_out: true,
        }),
    }
}

fn fetch_now(url: &str, dir: &Path, token: Option<&str>) -> Result<(), git2::Error> {
    std::fs::create_dir_all(dir).map_err(|e| git2::Error::from_str(&e.to_string()))?;
    let repo = match Repository::open_bare(dir) {
        Ok(r) => r,
        Err(_) => Repository::init_bare(dir)?,
    };
    let mut remote = repo.remote_anonymous(url)?;
    let config = git2::Config::open_default().ok();
    let mut attempts = 0;
    let mut callbacks = git2::RemoteCallbacks::new();
    callbacks.credentials(move |url, username, allowed| {
        attempts += 1;
        if attempts > 4 {
            return Err(git2::Error::from_str("authentication failed"));
        }
        if let Some(token) = token.filter(|_| attempts == 1) {
            if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
                return git2::Cred::userpass_plaintext("gitlab-ci-token", token);
            }
        }
        if allowed.contains(git2::CredentialType::SSH_KEY) {
            return git2::Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
            if let Some(config) = &config {
                return git2::Cred::credential_helper(config, url, username);
            }
        }
        git2::Cred::default()
    });
    let mut options = git2::FetchOptions::new();
    options.remote_callbacks(callbacks);
    options.download_tags(git2::AutotagOption::All);
    remote.fetch(
        &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
        Some(&mut options),
        None,
    )?;
    // The default branch, for includes without `ref:`.
    if let Ok(Ok(branch)) = remote
        .default_branch()
        .map(|b| b.as_str().map(String::from))
    {
        let _ = repo.set_head(&branch);
    }
    Ok(())
}
