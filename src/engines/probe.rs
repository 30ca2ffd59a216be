//! What an engine is: its architecture, kernel, Docker version, CPUs, and the foreign
//! architectures qemu lets it run (the `qemu-*` entries of binfmt_misc on the engine's machine).
//!
//! On this machine binfmt_misc is read directly. On another machine it is read through the API:
//! a container is created (never started) from any image the engine has, with the engine host's
//! `/proc/sys/fs/binfmt_misc` bound in, and the directory's listing is downloaded from it; the
//! container is labelled and removed at once.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, DownloadFromContainerOptions, ListImagesOptions, RemoveContainerOptions,
};
use futures_util::StreamExt;

use super::connect::{Connection, PROBE};
use crate::plan::platform::normalize;

const BINFMT: &str = "/proc/sys/fs/binfmt_misc";

/// The facts `tezos-ci-local engines` shows about one engine that answered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Facts {
    /// Normalized, as in `linux/arm64`.
    pub architecture: String,
    pub kernel: String,
    pub docker_version: String,
    /// The engine's name for its product (`Docker Engine - Community`, `podman`...).
    pub product: String,
    pub cpus: usize,
    /// The platforms it runs through qemu (`linux/s390x`...), or why that is unknown.
    pub emulation: Result<Vec<String>, String>,
    /// Its machine is this one (a unix socket to an engine with this host's name).
    pub local: bool,
}

/// Asks the engine what it is.
pub async fn facts(conn: &Connection) -> Result<Facts, String> {
    let docker = &conn.docker;
    let info = tokio::time::timeout(PROBE, docker.info())
        .await
        .map_err(|_| format!("no answer in {} s", PROBE.as_secs()))?
        .map_err(|e| e.to_string())?;
    let version = tokio::time::timeout(PROBE, docker.version())
        .await
        .map_err(|_| format!("no answer in {} s", PROBE.as_secs()))?
        .map_err(|e| e.to_string())?;
    let arch = info.architecture.clone().unwrap_or_default();
    let architecture = normalize(&arch).unwrap_or_else(|| format!("linux/{arch}"));
    let local = conn.tunnel.is_none()
        && conn.socket.is_some()
        && info.name.as_deref() == Some(hostname().as_str());
    let product = version
        .components
        .as_ref()
        .and_then(|c| c.first())
        .map(|c| c.name.clone())
        .or(version.platform.as_ref().map(|p| p.name.clone()))
        .unwrap_or_else(|| "Docker".into());
    let emulation = if local {
        Ok(qemu_platforms(
            std::fs::read_dir(BINFMT)
                .map_err(|e| format!("{BINFMT}: {e}"))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned()),
            &architecture,
        ))
    } else {
        remote_binfmt(docker)
            .await
            .map(|names| qemu_platforms(names.into_iter(), &architecture))
    };
    Ok(Facts {
        architecture,
        kernel: info.kernel_version.unwrap_or_default(),
        docker_version: version.version.or(info.server_version).unwrap_or_default(),
        product,
        cpus: info.ncpu.unwrap_or(1).max(1) as usize,
        emulation,
        local,
    })
}

/// The platforms of the `qemu-*` binfmt entries, other than the engine's own.
fn qemu_platforms(names: impl Iterator<Item = String>, own: &str) -> Vec<String> {
    let mut out: Vec<String> = names
        .filter_map(|n| n.strip_prefix("qemu-").map(String::from))
        .filter_map(|arch| normalize(&arch))
        .filter(|p| p != own)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The names in binfmt_misc on the engine's machine, through a created container.
async fn remote_binfmt(docker: &Docker) -> Result<Vec<String>, String> {
    let images = docker
        .list_images(Some(ListImagesOptions::default()))
        .await
        .map_err(|e| format!("unknown (listing images: {e})"))?;
    let Some(image) = images.iter().find_map(|i| i.repo_tags.first().cloned()) else {
        return Err("unknown (the engine has no image to look with)".into());
    };
    let labels = HashMap::from([
        ("tezos-ci-local".to_string(), "engines-probe".to_string()),
        (
            "tezos-ci-local.run".to_string(),
            "engines-probe".to_string(),
        ),
        // Alive while this process is: `clean --containers` elsewhere leaves it be.
        (
            "tezos-ci-local.owner".to_string(),
            crate::store::liveness::Owner::current().label(),
        ),
    ]);
    let body = ContainerCreateBody {
        image: Some(image),
        cmd: Some(vec!["true".into()]),
        labels: Some(labels),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{BINFMT}:/binfmt:ro")]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(None::<CreateContainerOptions>, body)
        .await
        .map_err(|e| format!("unknown ({e})"))?;
    let listing = async {
        let mut stream = docker.download_from_container(
            &created.id,
            Some(DownloadFromContainerOptions {
                path: "/binfmt/".into(),
            }),
        );
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk.map_err(|e| format!("unknown ({e})"))?);
            if bytes.len() > 1 << 20 {
                return Err("unknown (binfmt_misc listing too large)".to_string());
            }
        }
        let mut names = Vec::new();
        let mut archive = tar::Archive::new(bytes.as_slice());
        for entry in archive.entries().map_err(|e| e.to_string())? {
            let entry = entry.map_err(|e| e.to_string())?;
            let path = entry.path().map_err(|e| e.to_string())?.into_owned();
            if let Some(name) = path.file_name() {
                names.push(name.to_string_lossy().into_owned());
            }
        }
        Ok(names)
    }
    .await;
    let _ = docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            }),
        )
        .await;
    listing
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer's length is passed with it; the result is NUL-terminated on success.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn qemu_entries_name_the_platforms_emulated() {
        let names = [
            "register",
            "status",
            "qemu-aarch64",
            "qemu-s390x",
            "qemu-x86_64",
            "qemu-mipsel",
        ];
        assert_eq!(
            super::qemu_platforms(names.iter().map(|s| s.to_string()), "linux/amd64"),
            vec!["linux/arm64", "linux/s390x"]
        );
    }
}
