//! The Docker engine a run talks to: connecting (`DOCKER_HOST` honoured, unix or tcp), what the
//! engine is (its architecture, whether it runs on this host so that host directories can be
//! mounted), images (pull policy, platform check) and the emulation a foreign platform needs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use bollard::Docker;
use bollard::models::ImageInspect;
use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt;

use crate::error::Error;
use crate::executor::{LogSink, PullPolicy};
use crate::plan::platform::normalize;

/// How long a short engine call (inspect, kill, remove, list) may take before the run gives up on
/// it: a wedged engine must not hang a run.
pub(crate) const CALL_LIMIT: Duration = Duration::from_secs(30);

/// How jobs get the project files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceMode {
    /// An overlay volume when the engine is on this host, else `Upload`.
    Auto,
    /// A local-driver overlay volume over the snapshot: no copy per job. Needs the engine on
    /// this host, and root (or a rootless engine) to remove what the job wrote.
    Overlay,
    /// The snapshot sent through the API into a volume for each job: works with any engine.
    Upload,
}

#[derive(Debug, Clone)]
pub struct DockerOptions {
    /// The engine's address; `None`: `DOCKER_HOST`, else the local socket.
    pub host: Option<String>,
    pub workspace: WorkspaceMode,
    /// Where per-job directories go (overlay upper and work directories): on this host, on a
    /// file system that supports overlay upper directories (not an overlay itself).
    pub work_dir: PathBuf,
    /// GitLab gives `after_script` its own five minutes.
    pub after_script_timeout: Duration,
    /// How long to wait for a service's exposed ports to accept connections.
    pub service_wait: Duration,
    /// `--volume`, `--network`, `--extra-host`, `--shm-size`, `--ssh-agent`.
    pub runner: super::runner_options::RunnerOptions,
}

impl Default for DockerOptions {
    fn default() -> Self {
        DockerOptions {
            host: None,
            workspace: WorkspaceMode::Auto,
            work_dir: std::env::temp_dir(),
            after_script_timeout: Duration::from_secs(300),
            service_wait: Duration::from_secs(10),
            runner: Default::default(),
        }
    }
}

pub(crate) struct Engine {
    pub docker: Docker,
    pub address: String,
    /// Normalized, as in `linux/amd64`.
    pub platform: String,
    /// Ok with extra mount options when jobs get their files through an overlay volume; else
    /// why they get them uploaded.
    pub overlay: Result<String, String>,
    /// Where the engine's socket is, on the engine's host, for `mount_docker_socket`.
    pub socket_path: String,
    pub local: bool,
    emulation: Mutex<HashMap<String, Result<(), String>>>,
    /// The ssh tunnel an `ssh://` engine is reached through, closed with the engine.
    _tunnel: Option<crate::engines::connect::Tunnel>,
}

fn unreachable(address: &str, e: impl std::fmt::Display) -> Error {
    let env = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unset".into());
    Error::Environment(format!(
        "cannot reach the Docker engine at {address} (DOCKER_HOST={env}): {e}\n\
         Start one (`sudo scripts/setup.sh` installs and starts one offline, or \
         `sudo systemctl start docker`), or set DOCKER_HOST to a running engine \
         (unix:///path/to/docker.sock or tcp://host:2375)."
    ))
}

pub(crate) async fn connect(options: &DockerOptions) -> Result<Engine, Error> {
    let host = options
        .host
        .clone()
        .or_else(|| std::env::var("DOCKER_HOST").ok())
        .filter(|h| !h.is_empty());
    // tcp:// (in clear, or TLS from `?cert_path=`, `https://` or Docker's variables), ssh:// (a
    // tunnel that lives as long as the engine) and context:NAME go through `crate::engines`;
    // the engine is then never taken for a local one.
    let mut tunnel = None;
    let (docker, address, socket) = match &host {
        Some(h) if !h.starts_with("unix://") => {
            let addr =
                crate::engines::Address::parse(h, &crate::engines::AddressEnv::from_process())
                    .map_err(Error::Usage)?;
            let conn = crate::engines::connect::connect(&addr)
                .await
                .map_err(|e| unreachable(h, e))?;
            tunnel = conn.tunnel;
            (Ok(conn.docker), h.clone(), None)
        }
        Some(h) => {
            let path = h.trim_start_matches("unix://").to_string();
            let d = Docker::connect_with_unix(h, 120, bollard::API_DEFAULT_VERSION);
            (d, h.clone(), Some(path))
        }
        None => (
            Docker::connect_with_local_defaults(),
            "unix:///var/run/docker.sock".to_string(),
            Some("/var/run/docker.sock".to_string()),
        ),
    };
    let docker = docker.map_err(|e| unreachable(&address, e))?;
    // Uploads of large trees and long pulls must not hit bollard's two-minute default; a dead
    // engine is caught by the bounded calls below.
    let docker = docker.with_timeout(Duration::from_secs(24 * 3600));
    let probe = Duration::from_secs(15);
    let docker = tokio::time::timeout(probe, docker.negotiate_version())
        .await
        .map_err(|_| unreachable(&address, "no answer in 15 s"))?
        .map_err(|e| unreachable(&address, e))?;
    let info = tokio::time::timeout(probe, docker.info())
        .await
        .map_err(|_| unreachable(&address, "no answer in 15 s"))?
        .map_err(|e| unreachable(&address, e))?;
    let arch = info.architecture.clone().unwrap_or_default();
    let platform = normalize(&arch).unwrap_or_else(|| format!("linux/{arch}"));
    // The engine shares this host's files only when it is on this host: a unix socket to an
    // engine with this host's name (Docker Desktop's VM and an engine reached from inside a
    // container have other names).
    let local = socket.is_some() && info.name.as_deref() == Some(hostname().as_str());
    let rootless = info
        .security_options
        .unwrap_or_default()
        .iter()
        .any(|o| o.contains("rootless"));
    let root = rustix::process::geteuid().is_root();
    let overlay = match options.workspace {
        WorkspaceMode::Upload => Err("upload requested".to_string()),
        _ if !local => Err(format!("the engine at {address} is not on this host")),
        _ if !(root || rootless) => Err(
            "files a job writes through an overlay belong to the engine's root, which this user \
             could not remove"
                .to_string(),
        ),
        _ => Ok(overlay_options()),
    };
    if options.workspace == WorkspaceMode::Overlay {
        if let Err(why) = &overlay {
            return Err(Error::Usage(format!(
                "cannot give jobs the project through an overlay: {why}"
            )));
        }
    }
    Ok(Engine {
        docker,
        address,
        platform,
        overlay,
        socket_path: socket.unwrap_or_else(|| "/var/run/docker.sock".into()),
        local,
        emulation: Mutex::new(HashMap::new()),
        _tunnel: tunnel,
    })
}

fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// Mount options that keep the upper directory readable by `layers.rs`: no redirects, no
/// metadata-only copies. Given only where the kernel knows them (older kernels refuse unknown
/// options).
fn overlay_options() -> String {
    let mut opts = String::new();
    for (param, opt) in [
        ("redirect_dir", "redirect_dir=off"),
        ("metacopy", "metacopy=off"),
    ] {
        if std::path::Path::new("/sys/module/overlay/parameters")
            .join(param)
            .exists()
        {
            opts.push(',');
            opts.push_str(opt);
        }
    }
    opts
}

/// Whether an engine call failed because the engine itself is gone (connection refused, reset
/// or silent), rather than because it answered with a refusal.
pub(crate) fn engine_gone(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        e,
        E::RequestTimeoutError
            | E::IOError { .. }
            | E::HyperResponseError { .. }
            | E::HyperLegacyError { .. }
            | E::SocketNotFoundError(_)
    )
}

/// `image is not available` messages end with this advice.
const IMAGE_ADVICE: &str = "build or load it, or pick another with --default-image";

impl Engine {
    /// Makes `image` available as the pull policy says, and checks it is for `platform`.
    pub async fn ensure_image(
        &self,
        image: &str,
        platform: &str,
        pull: PullPolicy,
        log: &mut LogSink,
    ) -> Result<ImageInspect, String> {
        // Only "no such image" means it is missing: an engine that does not answer is lost, and
        // saying the image is missing would send the user looking in the wrong place.
        let local = match self.docker.inspect_image(image).await {
            Ok(i) => Some(i),
            Err(e) if engine_gone(&e) => return Err(self.lost(&e)),
            Err(_) => None,
        };
        let inspect = match (pull, local) {
            (PullPolicy::Never, None) => {
                return Err(format!(
                    "image `{image}` is not available locally and the pull policy is `never`; {IMAGE_ADVICE}"
                ));
            }
            (PullPolicy::Never | PullPolicy::IfNotPresent, Some(i)) => i,
            (_, local) => {
                log.line(&format!("Pulling docker image {image} ...")).await;
                match self.pull(image, platform).await {
                    Ok(()) => self
                        .docker
                        .inspect_image(image)
                        .await
                        .map_err(|e| format!("image `{image}`: {e}"))?,
                    Err(e) => match local {
                        // Offline with `always`: the local copy is the best there is.
                        Some(i) => {
                            log.line(&format!(
                                "WARNING: pulling {image} failed ({e}); using the local image"
                            ))
                            .await;
                            i
                        }
                        None => {
                            return Err(format!(
                                "image `{image}` is not available locally and could not be pulled: {e}; {IMAGE_ADVICE}"
                            ));
                        }
                    },
                }
            }
        };
        let os = inspect.os.clone().unwrap_or_else(|| "linux".into());
        let arch = inspect.architecture.clone().unwrap_or_default();
        let have = normalize(&format!("{os}/{arch}")).unwrap_or(format!("{os}/{arch}"));
        let want = normalize(platform).unwrap_or_else(|| platform.to_string());
        if !platform.is_empty() && have != want {
            return Err(format!(
                "image `{image}` is for {have} but the job runs on {want}; use an image built for \
                 {want} (or a multi-platform one), or run the job on {have}"
            ));
        }
        let id = inspect.id.clone().unwrap_or_default();
        log.line(&format!("Using docker image {id} for {image} ({have}) ..."))
            .await;
        Ok(inspect)
    }

    /// What a call that found the engine gone says: which engine, and that the job's failure is
    /// the runner's, not the script's.
    pub fn lost(&self, e: &bollard::errors::Error) -> String {
        format!(
            "lost the Docker engine at {} (it stopped answering: {e}); the job did not fail by \
             itself: restart the engine and run again",
            self.address
        )
    }

    async fn pull(&self, image: &str, platform: &str) -> Result<(), String> {
        let opts = CreateImageOptions {
            from_image: Some(image.to_string()),
            platform: platform.to_string(),
            ..Default::default()
        };
        let mut stream = self.docker.create_image(Some(opts), None, None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| e.to_string())?;
            if let Some(err) = info.error_detail.and_then(|d| d.message) {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Checks a job or service on `platform` can run here: natively, or through qemu registered
    /// in binfmt_misc (checked on this host when the engine is on it). Checked once per platform.
    pub fn check_emulation(&self, platform: &str) -> Result<(), String> {
        let want = normalize(platform).unwrap_or_else(|| platform.to_string());
        if platform.is_empty() || want == self.platform || !self.local {
            return Ok(());
        }
        let mut cache = self.emulation.lock().expect("emulation cache poisoned");
        cache
            .entry(want.clone())
            .or_insert_with(|| binfmt_check(&want, &self.platform))
            .clone()
    }
}

/// The binfmt_misc entry qemu-user-static registers for an architecture.
fn qemu_name(platform: &str) -> Option<&'static str> {
    Some(match platform.split('/').nth(1)? {
        "arm64" => "qemu-aarch64",
        "s390x" => "qemu-s390x",
        "amd64" => "qemu-x86_64",
        "arm" => "qemu-arm",
        "ppc64le" => "qemu-ppc64le",
        "riscv64" => "qemu-riscv64",
        "386" => "qemu-i386",
        _ => return None,
    })
}

fn binfmt_check(want: &str, engine: &str) -> Result<(), String> {
    let advice = "Register qemu: `sudo apt-get install qemu-user-static` (or `sudo scripts/setup.sh`), \
                  or `docker run --privileged --rm tonistiigi/binfmt --install all` where a \
                  registry is reachable";
    let Some(name) = qemu_name(want) else {
        return Err(format!(
            "the engine runs {engine} and cannot emulate {want}"
        ));
    };
    let path = format!("/proc/sys/fs/binfmt_misc/{name}");
    match std::fs::read_to_string(&path) {
        Ok(s) if s.lines().next() == Some("enabled") => {
            let flags = s
                .lines()
                .find_map(|l| l.strip_prefix("flags: "))
                .unwrap_or("");
            if flags.contains('F') {
                Ok(())
            } else {
                Err(format!(
                    "{path} lacks the F flag, so containers cannot use the emulator; {advice}."
                ))
            }
        }
        Ok(_) => Err(format!("{path} is disabled; {advice}.")),
        Err(_) => Err(format!(
            "running {want} on this {engine} engine needs qemu in binfmt_misc, and {path} is \
             missing. {advice}."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_names() {
        assert_eq!(qemu_name("linux/arm64"), Some("qemu-aarch64"));
        assert_eq!(qemu_name("linux/s390x"), Some("qemu-s390x"));
        assert_eq!(qemu_name("linux/mips"), None);
        let e = binfmt_check("linux/riscv64", "linux/amd64");
        if let Err(m) = e {
            assert!(m.contains("qemu-user-static"), "{m}");
        }
    }
}
