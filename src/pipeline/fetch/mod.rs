//! Fetches the files that includes name outside the checkout: another project's files
//! (`include:project`, `include:component`) through git, GitLab's templates and `include:remote`
//! through HTTP. Everything fetched is kept under the state directory, so that `--offline` works
//! from what an earlier load fetched, and a fetch that fails falls back to it with a warning.
//!
//! One TLS stack for the whole program: OpenSSL. git2 needs it for https remotes (libgit2 has no
//! rustls backend), so ureq uses it too (through native-tls) instead of bringing rustls as a second.

mod git;
mod http;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use git::ProjectRepo;

/// The largest file an include may bring (GitLab's own limit on a CI file is in this range).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Where and how to fetch.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// The cache: `<state>/includes`.
    pub cache_dir: PathBuf,
    /// Use only the cache.
    pub offline: bool,
    /// The longest one fetch may take.
    pub timeout: Duration,
    /// `CI_SERVER_URL`: where projects and templates are, such as `https://gitlab.com`.
    pub server_url: String,
    /// `--project-source PROJECT=URL_OR_DIR`.
    pub project_sources: Vec<(String, String)>,
    /// `--templates-url`: the folder holding GitLab's templates.
    pub templates_url: Option<String>,
    /// A token for private projects (`CI_JOB_TOKEN`, `--gitlab-token-file`).
    pub token: Option<String>,
}

impl FetchConfig {
    /// `https://host` from a remote such as `https://host/group/project.git` or
    /// `git@host:group/project.git`; gitlab.com when there is none.
    pub fn server_url_from_remote(remote: Option<&str>) -> String {
        let default = "https://gitlab.com".to_string();
        let Some(remote) = remote else {
            return default;
        };
        if let Some((scheme, rest)) = remote.split_once("://") {
            let host = rest.split('/').next().unwrap_or("");
            let host = host.rsplit('@').next().unwrap_or(host);
            if host.is_empty() || scheme == "file" {
                return default;
            }
            let host = if scheme == "ssh" || scheme == "git" {
                host.split(':').next().unwrap_or(host)
            } else {
                host
            };
            return format!("https://{host}");
        }
        if let Some((user_host, _)) = remote.split_once(':') {
            let host = user_host.rsplit('@').next().unwrap_or(user_host);
            if !host.is_empty() && !host.contains('/') {
                return format!("https://{host}");
            }
        }
        default
    }

    /// The host of `server_url` (`CI_SERVER_FQDN`).
    pub fn server_fqdn(&self) -> String {
        let rest = self
            .server_url
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(&self.server_url);
        rest.split('/').next().unwrap_or(rest).to_string()
    }
}

/// A file fetched, with what names it in errors and `explain` (`project@commit:path`, a URL).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub text: String,
    pub display: String,
}

/// Fetches and caches; remembers warnings for the caller to show.
pub struct Fetcher {
    pub config: FetchConfig,
    warnings: RefCell<Vec<String>>,
    /// Sources already brought up to date in this load (each is fetched once).
    fetched: RefCell<HashSet<String>>,
    /// Hosts that did not answer in time: later includes from them use the cache at once
    /// instead of waiting again.
    dead_hosts: RefCell<HashSet<String>>,
    repos: RefCell<HashMap<String, std::rc::Rc<ProjectRepo>>>,
}

impl Fetcher {
    pub fn new(config: FetchConfig) -> Self {
        Fetcher {
            config,
            warnings: RefCell::default(),
            fetched: RefCell::default(),
            dead_hosts: RefCell::default(),
            repos: RefCell::default(),
        }
    }

    /// The warnings given so far (fetches that fell back to the cache), emptied.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut self.warnings.borrow_mut())
    }

    fn warn(&self, w: String) {
        self.warnings.borrow_mut().push(w);
    }

    /// `include:remote`: an http(s) URL.
    pub fn remote(&self, url: &str) -> Result<Fetched, String> {
        let text = self.http_cached(url)?;
        Ok(Fetched {
            text,
            display: url.to_string(),
        })
    }

    /// `include:template`: a file of GitLab's `lib/gitlab/ci/templates/`.
    pub fn template(&self, name: &str) -> Result<Fetched, String> {
        if name.contains("..") || name.starts_with('/') {
            return Err(format!("`{name}` is not a template name"));
        }
        let base = self.config.templates_url.clone().unwrap_or_else(|| {
            format!(
                "{}/gitlab-org/gitlab/-/raw/master/lib/gitlab/ci/templates",
                self.config.server_url.trim_end_matches('/')
            )
        });
        let url = format!("{}/{name}", base.trim_end_matches('/'));
        if let Some(path) = url.strip_prefix("file://") {
            let text = read_bounded(Path::new(path)).map_err(|e| format!("{url}: {e}"))?;
            return Ok(Fetched { text, display: url });
        }
        let text = self.http_cached(&url)?;
        Ok(Fetched { text, display: url })
    }

    /// Where a project's repository is: `--project-source`, else `CI_SERVER_URL/PROJECT.git`.
    pub fn project_source(&self, project: &str) -> String {
        let project = project.trim_matches('/');
        for (p, source) in &self.config.project_sources {
            if p.trim_matches('/') == project {
                return source.clone();
            }
        }
        format!(
            "{}/{project}.git",
            self.config.server_url.trim_end_matches('/')
        )
    }

    /// The repository of `project`, fetched (once per load) into the cache unless offline or
    /// a local clone.
    pub fn project(&self, project: &str) -> Result<std::rc::Rc<ProjectRepo>, String> {
        let source = self.project_source(project);
        if let Some(repo) = self.repos.borrow().get(&source) {
            return Ok(repo.clone());
        }
        let repo = std::rc::Rc::new(self.open_project(&source)?);
        self.repos.borrow_mut().insert(source, repo.clone());
        Ok(repo)
    }

    fn open_project(&self, source: &str) -> Result<ProjectRepo, String> {
        let dir = Path::new(source);
        if !source.contains("://") && dir.is_dir() {
            return ProjectRepo::open_local(dir, source);
        }
        let cache = self.config.cache_dir.join("git").join(short_digest(source));
        let host = host_of(source);
        let skip = self.config.offline || self.dead_hosts.borrow().contains(&host);
        if !skip && self.fetched.borrow_mut().insert(source.to_string()) {
            match git::fetch(
                source,
                &cache,
                self.config.timeout,
                self.config.token.as_deref(),
            ) {
                Ok(()) => {}
                Err(e) => {
                    if e.timed_out {
                        self.dead_hosts.borrow_mut().insert(host);
                    }
                    if !git::has_refs(&cache) {
                        return Err(format!("fetching {source}: {}", e.message));
                    }
                    self.warn(format!(
                        "fetching {source} failed ({}); using the copy fetched earlier",
                        e.message
                    ));
                }
            }
        } else if !git::has_refs(&cache) {
            return Err(if self.config.offline {
                format!("{source} is not in the include cache (--offline): run once online")
            } else {
                format!("{source} did not answer earlier in this load and is not in the cache")
            });
        }
        ProjectRepo::open_cache(&cache, source)
    }

    fn http_cached(&self, url: &str) -> Result<String, String> {
        let cache = self.config.cache_dir.join("http").join(short_digest(url));
        let cached = || read_bounded(&cache).ok();
        if self.config.offline {
            return cached().ok_or_else(|| {
                format!("{url} is not in the include cache (--offline): run once online")
            });
        }
        let host = host_of(url);
        if self.dead_hosts.borrow().contains(&host) {
            return match cached() {
                Some(text) => {
                    self.warn(format!(
                        "{host} did not answer; using the copy of {url} fetched earlier"
                    ));
                    Ok(text)
                }
                None => Err(format!(
                    "{host} did not answer earlier in this load and {url} is not in the cache"
                )),
            };
        }
        match http::get(url, self.config.timeout, MAX_FILE_BYTES) {
            Ok(text) => {
                if let Some(parent) = cache.parent() {
                    let _ = std::fs::create_dir_all(parent);
                    let tmp = cache.with_extension("tmp");
                    if std::fs::write(&tmp, &text).is_ok() {
                        let _ = std::fs::rename(&tmp, &cache);
                    }
                }
                Ok(text)
            }
            Err(e) => {
                if e.timed_out {
                    self.dead_hosts.borrow_mut().insert(host);
                }
                match cached() {
                    Some(text) => {
                        self.warn(format!(
                            "fetching {url} failed ({}); using the copy fetched earlier",
                            e.message
                        ));
                        Ok(text)
                    }
                    None => Err(format!("fetching {url}: {}", e.message)),
                }
            }
        }
    }
}

/// Why a fetch failed, and whether it was for want of an answer.
#[derive(Debug)]
pub struct FetchError {
    pub message: String,
    pub timed_out: bool,
}

fn host_of(url: &str) -> String {
    url.split_once("://")
        .map(|(_, r)| r.split('/').next().unwrap_or(r).to_string())
        .unwrap_or_else(|| url.to_string())
}

fn short_digest(s: &str) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(s.as_bytes());
    d.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Reads a regular file of at most [`MAX_FILE_BYTES`] as UTF-8: never a FIFO, a device or a
/// file that would fill memory.
pub fn read_bounded(path: &Path) -> Result<String, String> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!("is larger than {} MiB", MAX_FILE_BYTES >> 20));
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("is larger than {} MiB", MAX_FILE_BYTES >> 20));
    }
    String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_url_comes_from_the_origin_remote() {
        let s = |r| FetchConfig::server_url_from_remote(r);
        assert_eq!(s(None), "https://gitlab.com");
        assert_eq!(
            s(Some("https://gitlab.example.org/a/b.git")),
            "https://gitlab.example.org"
        );
        assert_eq!(
            s(Some("https://user:pw@gitlab.example.org/a/b.git")),
            "https://gitlab.example.org"
        );
        assert_eq!(
            s(Some("git@gitlab.example.org:a/b.git")),
            "https://gitlab.example.org"
        );
        assert_eq!(
            s(Some("ssh://git@gitlab.example.org:2222/a/b.git")),
            "https://gitlab.example.org"
        );
        assert_eq!(s(Some("/srv/repos/b.git")), "https://gitlab.com");
    }
}
