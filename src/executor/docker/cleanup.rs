//! Removing what attempts and runs leave on the engine: everything is found by its labels, so
//! nothing is missed even when an attempt was dropped halfway through creating it.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::ContainerSummary;
use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions,
    RemoveVolumeOptions,
};
use tokio_util::task::TaskTracker;

use crate::store::liveness::Liveness;

use super::engine::CALL_LIMIT;

/// An engine call that gives up after [`CALL_LIMIT`]: a wedged engine must not hang a run's end.
async fn bounded<T, E>(call: impl std::future::Future<Output = Result<T, E>>) -> Option<T> {
    tokio::time::timeout(CALL_LIMIT, call).await.ok()?.ok()
}

/// Removes containers (forced), then networks, then volumes carrying `label=value`.
pub async fn remove_labelled(docker: &Docker, filter: &str) {
    sweep(docker, filter, |_| false, true).await;
}

/// Removes what carries `filter`, as [`remove_labelled`], but the objects of the attempts in
/// `kept` (`--keep-failed`).
pub async fn remove_labelled_except(docker: &Docker, filter: &str, kept: &[String]) {
    if kept.is_empty() {
        return remove_labelled(docker, filter).await;
    }
    let is_kept = |labels: Option<&HashMap<String, String>>| {
        labels
            .and_then(|l| l.get(super::LABEL_ATTEMPT))
            .is_some_and(|a| kept.contains(a))
    };
    let filters = HashMap::from([("label".to_string(), vec![filter.to_string()])]);
    let containers = labelled_containers(docker, &filters).await;
    for c in containers.iter().filter(|c| !is_kept(c.labels.as_ref())) {
        if let Some(id) = c.id.as_deref() {
            let opts = RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            };
            bounded(docker.remove_container(id, Some(opts))).await;
        }
    }
    let networks = bounded(docker.list_networks(Some(ListNetworksOptions {
        filters: Some(filters.clone()),
    })))
    .await
    .unwrap_or_default();
    for n in networks.iter().filter(|n| !is_kept(n.labels.as_ref())) {
        if let Some(id) = n.id.as_deref() {
            bounded(docker.remove_network(id)).await;
        }
    }
    let volumes = bounded(docker.list_volumes(Some(ListVolumesOptions {
        filters: Some(filters),
    })))
    .await
    .and_then(|v| v.volumes)
    .unwrap_or_default();
    for v in volumes.iter().filter(|v| !is_kept(Some(&v.labels))) {
        let opts = RemoveVolumeOptions { force: true };
        bounded(docker.remove_volume(&v.name, Some(opts))).await;
    }
}

/// What a sweep of dead runs' objects removed, and what it kept.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    /// Objects of runs still alive, kept.
    pub kept_alive: usize,
    /// Objects whose run's liveness is unknown (another host, an older version), kept.
    pub kept_unknown: usize,
}

/// Removes what runs that are dead left on the engine (a process killed with SIGKILL cannot
/// clean up): every object carrying `filter` (`tezos-ci-local` for all) that `liveness`, given
/// its labels, says is [`Liveness::Dead`], running containers included, at once. Networks and
/// volumes a kept container uses stay (the engine refuses to remove them).
pub async fn remove_dead(
    docker: &Docker,
    filter: &str,
    liveness: impl Fn(&HashMap<String, String>) -> Liveness,
) -> Swept {
    let mut swept = Swept::default();
    let mut judge = |labels: Option<&HashMap<String, String>>| {
        let empty = HashMap::new();
        match liveness(labels.unwrap_or(&empty)) {
            Liveness::Dead => true,
            Liveness::Alive => {
                swept.kept_alive += 1;
                false
            }
            Liveness::Unknown => {
                swept.kept_unknown += 1;
                false
            }
        }
    };
    let filters = HashMap::from([("label".to_string(), vec![filter.to_string()])]);
    let containers = labelled_containers(docker, &filters).await;
    let dead: Vec<String> = containers
        .into_iter()
        .filter(|c| judge(c.labels.as_ref()))
        .filter_map(|c| c.id)
        .collect();
    let networks = bounded(docker.list_networks(Some(ListNetworksOptions {
        filters: Some(filters.clone()),
    })))
    .await
    .unwrap_or_default();
    let dead_networks: Vec<String> = networks
        .into_iter()
        .filter(|n| judge(n.labels.as_ref()))
        .filter_map(|n| n.id)
        .collect();
    let volumes = bounded(docker.list_volumes(Some(ListVolumesOptions {
        filters: Some(filters),
    })))
    .await
    .and_then(|v| v.volumes)
    .unwrap_or_default();
    let dead_volumes: Vec<String> = volumes
        .into_iter()
        .filter(|v| judge(Some(&v.labels)))
        .map(|v| v.name)
        .collect();
    swept.containers = force_remove(docker, dead.iter().map(String::as_str)).await;
    for n in &dead_networks {
        if bounded(docker.remove_network(n)).await.is_some() {
            swept.networks += 1;
        }
    }
    // Their containers were just removed: the engine may still be releasing them.
    let removals = dead_volumes.iter().map(|v| remove_volume(docker, v, true));
    swept.volumes = futures_util::future::join_all(removals)
        .await
        .into_iter()
        .filter(|removed| *removed)
        .count();
    swept
}

/// How many objects carrying `filter` `liveness` says are of dead runs, without removing any:
/// what a run warns about when it starts.
pub async fn count_dead(
    docker: &Docker,
    filter: &str,
    liveness: impl Fn(&HashMap<String, String>) -> Liveness,
) -> Swept {
    let dead = |labels: Option<&HashMap<String, String>>| {
        labels.is_some_and(|l| liveness(l) == Liveness::Dead)
    };
    let filters = HashMap::from([("label".to_string(), vec![filter.to_string()])]);
    // The three lists at once: this runs beside a run that has just started.
    let (containers, networks, volumes) = futures_util::join!(
        bounded(docker.list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        }))),
        bounded(docker.list_networks(Some(ListNetworksOptions {
            filters: Some(filters.clone()),
        }))),
        bounded(docker.list_volumes(Some(ListVolumesOptions {
            filters: Some(filters.clone()),
        }))),
    );
    let mut swept = Swept::default();
    if let Some(c) = containers {
        swept.containers = c.iter().filter(|c| dead(c.labels.as_ref())).count();
    }
    if let Some(n) = networks {
        swept.networks = n.iter().filter(|n| dead(n.labels.as_ref())).count();
    }
    if let Some(v) = volumes.and_then(|v| v.volumes) {
        swept.volumes = v.iter().filter(|v| dead(Some(&v.labels))).count();
    }
    swept
}

/// Removes the containers carrying `filter` but those `keep` says, then its networks and
/// volumes (those in use by a kept container stay, unless `force_volumes`).
async fn sweep(
    docker: &Docker,
    filter: &str,
    keep: impl Fn(&ContainerSummary) -> bool,
    force_volumes: bool,
) -> Swept {
    let filters = HashMap::from([("label".to_string(), vec![filter.to_string()])]);
    let containers = labelled_containers(docker, &filters).await;
    let ids = containers
        .iter()
        .filter(|c| !keep(c))
        .filter_map(|c| c.id.as_deref());
    let mut swept = Swept {
        containers: force_remove(docker, ids).await,
        ..Swept::default()
    };
    let networks = bounded(docker.list_networks(Some(ListNetworksOptions {
        filters: Some(filters.clone()),
    })))
    .await
    .unwrap_or_default();
    for n in networks.iter().filter_map(|n| n.id.as_deref()) {
        if bounded(docker.remove_network(n)).await.is_some() {
            swept.networks += 1;
        }
    }
    let volumes = bounded(docker.list_volumes(Some(ListVolumesOptions {
        filters: Some(filters),
    })))
    .await
    .and_then(|v| v.volumes)
    .unwrap_or_default();
    for v in volumes {
        if remove_volume(docker, &v.name, force_volumes).await {
            swept.volumes += 1;
        }
    }
    swept
}

/// The file in an attempt's host directory (`tcl-job-*`) that names the process that made it.
pub(crate) const JOB_DIR_OWNER: &str = "tezos-ci-local.owner";

/// Removes the attempts' host directories (`tcl-job-*` in `work_dir`: overlay upper layers,
/// staged files) that dead processes of this host left; returns how many. Run after the engine
/// sweep: a directory an overlay volume still mounts is kept by the kernel anyway.
pub fn remove_dead_job_dirs(work_dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(work_dir) else {
        return 0;
    };
    let here = crate::store::liveness::Owner::current();
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("tcl-job-"))
        .filter(|e| {
            std::fs::read_to_string(e.path().join(JOB_DIR_OWNER))
                .ok()
                .and_then(|l| crate::store::liveness::Owner::parse(l.trim()))
                .is_some_and(|o| o.liveness(here) == Liveness::Dead)
        })
        .filter(|e| std::fs::remove_dir_all(e.path()).is_ok())
        .count()
}

/// Removes a volume. A container removed from outside the run (`docker rm -f` while its job
/// ran) leaves the engine releasing its volume for a moment after: "in use" (409) is asked
/// again a few times before the volume is left to `clean --containers`.
async fn remove_volume(docker: &Docker, name: &str, force: bool) -> bool {
    for _ in 0..10 {
        let call = docker.remove_volume(name, Some(RemoveVolumeOptions { force }));
        match tokio::time::timeout(CALL_LIMIT, call).await {
            Ok(Ok(())) => return true,
            Ok(Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            })) if force => tokio::time::sleep(std::time::Duration::from_millis(300)).await,
            _ => return false,
        }
    }
    false
}

/// What an attempt owns until it ends: its label and its directory on the host. Cleared, or
/// dropped (the attempt's future was dropped), it removes them in a task of `tasks`, so that the
/// job's result does not wait for the engine to remove its containers; the run waits for those
/// tasks before it ends (see [`Pending`]).
pub(crate) struct Leftovers {
    pub docker: Docker,
    pub filter: String,
    pub dir: Option<tempfile::TempDir>,
    pub tasks: TaskTracker,
}

impl Leftovers {
    /// Leaves the attempt's objects and directory in place (`--keep-failed`); returns the
    /// directory, now the kept record's to remove.
    pub fn keep(mut self) -> Option<std::path::PathBuf> {
        self.filter.clear();
        self.dir.take().map(tempfile::TempDir::keep)
    }

    /// Starts removing what the attempt left, in the background.
    pub fn clear(mut self) {
        self.spawn_removal(false);
    }

    /// `dropped`: the attempt's future was dropped, perhaps while the engine was still creating a
    /// container, network or volume for it. The engine finishes such a request even though nobody
    /// waits for its answer, so the object may appear after a first sweep: sweep again a few times
    /// (for about 3.5 s; the run waits for this before its own final sweep).
    fn spawn_removal(&mut self, dropped: bool) {
        let dir = self.dir.take();
        // Once: a cleared attempt is dropped too.
        let (docker, filter) = (self.docker.clone(), std::mem::take(&mut self.filter));
        if filter.is_empty() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            self.tasks.spawn_on(
                async move {
                    remove_labelled(&docker, &filter).await;
                    if dropped {
                        for wait_ms in [500, 1000, 2000] {
                            tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
                            remove_labelled(&docker, &filter).await;
                        }
                    }
                    let _ = tokio::task::spawn_blocking(move || drop(dir)).await;
                },
                &rt,
            );
        }
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        self.spawn_removal(true);
    }
}

/// The removals still under way; a run waits for them (up to a limit) before its own sweep.
#[derive(Clone, Default)]
pub(crate) struct Pending {
    tasks: TaskTracker,
}

impl Pending {
    pub fn tracker(&self) -> TaskTracker {
        self.tasks.clone()
    }

    /// Waits until every removal started so far has ended, or `limit` has passed.
    pub async fn wait(&self, limit: std::time::Duration) {
        self.tasks.close();
        let _ = tokio::time::timeout(limit, self.tasks.wait()).await;
        // Attempts of a later run on the same executor may start removals again.
        self.tasks.reopen();
    }
}

/// Removes these containers (running or not, with their anonymous volumes) at once; how many went.
async fn force_remove<'a>(docker: &Docker, ids: impl Iterator<Item = &'a str>) -> usize {
    let removals = ids.map(|id| {
        bounded(docker.remove_container(
            id,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            }),
        ))
    });
    futures_util::future::join_all(removals)
        .await
        .iter()
        .filter(|r| r.is_some())
        .count()
}

/// Every container (running or not) matching `filters`; none when the engine does not answer
/// in time.
async fn labelled_containers(
    docker: &Docker,
    filters: &HashMap<String, Vec<String>>,
) -> Vec<ContainerSummary> {
    bounded(docker.list_containers(Some(ListContainersOptions {
        all: true,
        filters: Some(filters.clone()),
        ..Default::default()
    })))
    .await
    .unwrap_or_default()
}
