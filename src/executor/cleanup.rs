//! Removing what attempts and runs leave on the engine: everything is found by its labels, so
//! nothing is missed even when an attempt was dropped halfway through creating it.

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions,
    RemoveVolumeOptions,
};

/// Removes containers (forced), then networks, then volumes carrying `label=value`.
pub async fn remove_labelled(docker: &Docker, filter: &str) {
    let filters = HashMap::from([("label".to_string(), vec![filter.to_string()])]);
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        }))
        .await
        .unwrap_or_default();
    let removals = containers.iter().filter_map(|c| c.id.as_deref()).map(|id| {
        docker.remove_container(
            id,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            }),
        )
    });
    futures_util::future::join_all(removals).await;
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters.clone()),
        }))
        .await
        .unwrap_or_default();
    for n in networks.iter().filter_map(|n| n.id.as_deref()) {
        let _ = docker.remove_network(n).await;
    }
    let volumes = docker
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(filters),
        }))
        .await
        .ok()
        .and_then(|v| v.volumes)
        .unwrap_or_default();
    for v in volumes {
        let _ = docker
            .remove_volume(&v.name, Some(RemoveVolumeOptions { force: true }))
            .await;
    }
}

/// What an attempt owns until it ends: its label and its directory on the host. Dropped
/// without [`Leftovers::clear`] (the attempt's future was dropped), it removes them anyway.
pub(crate) struct Leftovers {
    pub docker: Docker,
    pub filter: String,
    pub dir: Option<tempfile::TempDir>,
}

impl Leftovers {
    pub async fn clear(mut self) {
        remove_labelled(&self.docker, &self.filter).await;
        if let Some(dir) = self.dir.take() {
            let _ = tokio::task::spawn_blocking(move || drop(dir)).await;
        }
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        let Some(dir) = self.dir.take() else { return };
        let (docker, filter) = (self.docker.clone(), self.filter.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                remove_labelled(&docker, &filter).await;
                let _ = tokio::task::spawn_blocking(move || drop(dir)).await;
            });
        }
    }
}
