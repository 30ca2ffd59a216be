//! A job's project directory, as a Docker volume: an overlay of the run's snapshot when the
//! engine is on this host (nothing copied: the job's writes land in a directory of its own), or a
//! plain volume filled through the API otherwise. Caches and the artifacts of needed jobs are laid
//! on top in GitLab's order (cache, then artifacts). After the job, what it leaves is collected
//! from the same place.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::DownloadFromContainerOptions;

use super::engine::Engine;
use crate::executor::artifacts::{
    Collection, collect_from_layers, collect_from_tar, copy_tree, place,
};
use crate::executor::layers::Layers;
use crate::executor::lifecycle::ProjectFiles;
use crate::executor::tarball::{Part, consume_stream};
use crate::executor::{JobSpec, LogSink, Workspace};

/// The kernel takes mount options up to a page; past this, artifacts are copied, not stacked.
const MAX_MOUNT_OPTIONS: usize = 3500;

pub(crate) enum JobVolume {
    Overlay {
        name: String,
        layers: Layers,
        /// Lower layers (by index in the lower list) holding artifacts of needed jobs.
        fresh_lowers: Vec<usize>,
    },
    Upload {
        name: String,
        /// Host directories to send into the volume, bottom first.
        trees: Vec<PathBuf>,
    },
}

impl JobVolume {
    pub fn name(&self) -> &str {
        match self {
            JobVolume::Overlay { name, .. } | JobVolume::Upload { name, .. } => name,
        }
    }

    /// What must be uploaded into the volume before the first stage starts.
    pub fn upload_parts(&self) -> Vec<Part> {
        match self {
            JobVolume::Overlay { .. } => Vec::new(),
            JobVolume::Upload { trees, .. } => trees.iter().cloned().map(Part::Tree).collect(),
        }
    }
}

/// Mount options need plain absolute paths: `,` and `:` separate options and layers.
fn mountable(p: &Path) -> Option<String> {
    let p = p.canonicalize().ok()?;
    let s = p.to_str()?;
    (!s.contains([',', ':', '\\'])).then(|| s.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Creates the job's volume with `files` laid over the snapshot.
pub(crate) async fn prepare(
    engine: &Engine,
    spec: &JobSpec,
    job_dir: &Path,
    name: String,
    labels: &HashMap<String, String>,
    files: ProjectFiles,
    log: &mut LogSink,
) -> Result<JobVolume, String> {
    let ProjectFiles {
        caches,
        artifacts: inputs,
    } = files;
    let snapshot = match (&engine.overlay, mountable(&spec.workspace.root)) {
        (Ok(extra), Some(snapshot)) => Some((extra.clone(), snapshot)),
        (Ok(_), None) => {
            log.line(&format!(
                "Copying the project into the job: {} cannot be an overlay layer",
                spec.workspace.root.display()
            ))
            .await;
            None
        }
        (Err(_), _) => None,
    };
    let docker = &engine.docker;
    let Some((extra, snapshot)) = snapshot else {
        let mut trees = vec![spec.workspace.root.clone()];
        trees.extend(caches);
        trees.extend(inputs.iter().cloned());
        docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.clone()),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("cannot create the job's volume: {e}"))?;
        return Ok(JobVolume::Upload { name, trees });
    };

    let upper = job_dir.join("upper");
    let work = job_dir.join("work");
    {
        let (upper, work) = (upper.clone(), work.clone());
        blocking(move || {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir_all(&upper)?;
            std::fs::create_dir_all(&work)?;
            // The project root is the upper directory's: writable by any user the image runs
            // as, as GitLab's runner leaves it (it clones with umask 0000).
            std::fs::set_permissions(&upper, std::fs::Permissions::from_mode(0o777))
        })
        .await?;
    }
    let upper_s = mountable(&upper).ok_or("the job directory cannot hold an overlay")?;
    let work_s = mountable(&work).ok_or("the job directory cannot hold an overlay")?;
    // Caches are copied into the upper directory (a cache may be replaced while the job runs, so
    // it cannot be a layer). Artifacts must then be copied too, to stay above the cache;
    // otherwise they are stacked as layers, leftmost on top, the last input winning.
    // From the bottom: stack while the paths allow it, copy the rest (which must all sit above).
    let caches_len = caches.len();
    let mut stacked: Vec<String> = Vec::new();
    let mut copied: Vec<PathBuf> = caches.clone();
    for dir in &inputs {
        match mountable(dir) {
            Some(p) if copied.is_empty() => stacked.push(p),
            _ => copied.push(dir.clone()),
        }
    }
    stacked.reverse();
    let options = |stacked: &[String]| {
        let mut lower = stacked.to_vec();
        lower.push(snapshot.clone());
        format!(
            "lowerdir={},upperdir={upper_s},workdir={work_s}{extra}",
            lower.join(":")
        )
    };
    if options(&stacked).len() > MAX_MOUNT_OPTIONS {
        // Too many layers for one mount: copy them all, bottom first.
        copied = caches;
        copied.extend(inputs.iter().cloned());
        stacked.clear();
    }
    if !copied.is_empty() {
        let dest = upper.clone();
        let n_caches = caches_len;
        let warnings = blocking(move || {
            let mut warnings = Vec::new();
            for (i, dir) in copied.iter().enumerate() {
                match copy_tree(dir, &dest) {
                    Ok(_) => {}
                    // A cache that cannot be restored (say, replaced meanwhile) is a warning, as
                    // in GitLab; artifacts of needed jobs must be there.
                    Err(e) if i < n_caches => {
                        warnings.push(format!("WARNING: cache {}: {e}", dir.display()))
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(warnings)
        })
        .await?;
        for w in warnings {
            log.line(&w).await;
        }
    }
    let o = options(&stacked);
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(name.clone()),
            driver: Some("local".into()),
            driver_opts: Some(HashMap::from([
                ("type".to_string(), "overlay".to_string()),
                ("device".to_string(), "overlay".to_string()),
                ("o".to_string(), o),
            ])),
            labels: Some(labels.clone()),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot create the job's overlay volume: {e}"))?;
    let mut lowers: Vec<PathBuf> = stacked.iter().map(PathBuf::from).collect();
    let fresh_lowers = (0..lowers.len()).collect();
    lowers.push(PathBuf::from(snapshot));
    Ok(JobVolume::Overlay {
        name,
        layers: Layers::new(upper, lowers),
        fresh_lowers,
    })
}

/// Fills the collections from what the job left: from the layers on this host, or from a tar of
/// the project directory of `container` (a stopped stage container on the volume).
pub(crate) async fn collect(
    engine: &Engine,
    vol: &JobVolume,
    container: &str,
    project_dir: &str,
    snapshot: Arc<Workspace>,
    collections: Vec<Collection>,
) -> Result<Vec<Collection>, String> {
    let pd = project_dir.to_string();
    match vol {
        JobVolume::Overlay {
            layers,
            fresh_lowers,
            ..
        } => {
            let (layers, fresh) = (layers.clone(), fresh_lowers.clone());
            blocking(move || {
                let mut collections = collections;
                for c in collections.iter_mut() {
                    collect_from_layers(c, &layers, &fresh, &snapshot, &pd)?;
                }
                Ok(collections)
            })
            .await
        }
        JobVolume::Upload { .. } => {
            let opts = DownloadFromContainerOptions {
                path: project_dir.to_string(),
            };
            let stream = engine.docker.download_from_container(container, Some(opts));
            let mut collections = consume_stream(stream, move |r| {
                let mut collections = collections;
                collect_from_tar(r, &mut collections, &snapshot, &pd)?;
                Ok(collections)
            })
            .await
            .map_err(|e| format!("cannot read the job's files: {e}"))?;
            // Hard links to files no pattern took: fetch each on its own.
            for c in collections.iter_mut() {
                for rel in std::mem::take(&mut c.pending_links) {
                    let path = format!("{}/{}", project_dir.trim_end_matches('/'), rel.display());
                    let stream = engine.docker.download_from_container(
                        container,
                        Some(DownloadFromContainerOptions { path }),
                    );
                    let (dest, r2) = (c.dest.clone(), rel.clone());
                    consume_stream(stream, move |r| {
                        let mut a = tar::Archive::new(r);
                        if let Some(entry) = a.entries()?.next() {
                            let mut entry = entry?;
                            let mut f = std::fs::File::create(place(&dest, &r2)?)?;
                            std::io::copy(&mut entry, &mut f)?;
                        }
                        Ok(())
                    })
                    .await
                    .map_err(|e| format!("cannot read {}: {e}", rel.display()))?;
                    c.files.push(rel);
                }
            }
            Ok(collections)
        }
    }
}
