//! The Docker engine the binary will use, seen from the tests: the guard that skips (or, with
//! `CI=true`, fails) without one, and the checks the binary cannot make about itself (what a run
//! left labelled, what the engine created).

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::{
    EventsOptions, ListContainersOptions, ListNetworksOptions, ListVolumesOptions,
};
use futures_util::StreamExt;
use serde_json::Value;

/// The engine the binary will use, for checks the binary cannot make about itself.
pub struct Engine {
    rt: tokio::runtime::Runtime,
    docker: Docker,
}

/// The engine, or `None` after printing SKIPPED when there is none; with `CI=true` a missing
/// engine fails the test instead, so CI never passes by skipping everything.
pub fn docker_or_skip() -> Option<Engine> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let connected = rt.block_on(async {
        let docker = Docker::connect_with_defaults().map_err(|e| e.to_string())?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| e.to_string())?;
        docker.ping().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(docker)
    });
    match connected {
        Ok(docker) => Some(Engine { rt, docker }),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but no Docker engine answers ({e}); run scripts/setup.sh")
        }
        Err(e) => {
            eprintln!("SKIPPED: no Docker engine answers ({e}); run scripts/setup.sh");
            None
        }
    }
}

impl Engine {
    /// Containers, volumes and networks labelled with this run id, described for a message.
    pub fn leftovers(&self, run_id: &str) -> Vec<String> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("tezos-ci-local.run={run_id}")],
        )]);
        self.rt.block_on(async {
            let mut left = Vec::new();
            let containers = self
                .docker
                .list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(filters.clone()),
                    ..Default::default()
                }))
                .await
                .expect("list containers");
            for c in containers {
                left.push(format!("container {:?} ({:?})", c.names, c.state));
            }
            let volumes = self
                .docker
                .list_volumes(Some(ListVolumesOptions {
                    filters: Some(filters.clone()),
                }))
                .await
                .expect("list volumes");
            for v in volumes.volumes.unwrap_or_default() {
                left.push(format!("volume {}", v.name));
            }
            let networks = self
                .docker
                .list_networks(Some(ListNetworksOptions {
                    filters: Some(filters),
                }))
                .await
                .expect("list networks");
            for n in networks {
                left.push(format!("network {:?}", n.name));
            }
            left
        })
    }

    pub fn assert_no_leftovers(&self, run_id: &str) {
        assert!(!run_id.is_empty(), "no run id to check");
        let left = self.leftovers(run_id);
        assert!(
            left.is_empty(),
            "run {run_id} left labelled objects: {left:#?}"
        );
    }

    /// The engine's clock, as Unix seconds (the bound for an event query).
    pub fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64
    }

    /// Every container the engine created between `since` and `until` (Unix seconds, inclusive)
    /// with the label `label` (`key=value`): what happened, not what is left.
    pub fn containers_created(&self, label: &str, since: i64, until: i64) -> Vec<Value> {
        let filters = HashMap::from([
            ("label".to_string(), vec![label.to_string()]),
            ("type".to_string(), vec!["container".to_string()]),
            ("event".to_string(), vec!["create".to_string()]),
        ]);
        self.rt.block_on(async {
            let mut stream = self.docker.events(Some(EventsOptions {
                since: Some(since.to_string()),
                until: Some(until.to_string()),
                filters: Some(filters),
            }));
            let mut seen = Vec::new();
            while let Some(e) = stream.next().await {
                let e = e.expect("engine events");
                seen.push(serde_json::to_value(&e).expect("an event as JSON"));
            }
            seen
        })
    }
}

/// Every container, volume and network labelled `tezos-ci-local` on the engine at `address`
/// (an extra engine a test started), described for a message.
pub fn labelled_on(address: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let docker = bollard::Docker::connect_with_http(address, 30, bollard::API_DEFAULT_VERSION)
            .unwrap()
            .negotiate_version()
            .await
            .unwrap();
        let filters = std::collections::HashMap::from([(
            "label".to_string(),
            vec!["tezos-ci-local".to_string()],
        )]);
        let mut left = Vec::new();
        for c in docker
            .list_containers(Some(bollard::query_parameters::ListContainersOptions {
                all: true,
                filters: Some(filters.clone()),
                ..Default::default()
            }))
            .await
            .unwrap()
        {
            left.push(format!("container {:?}", c.names));
        }
        for v in docker
            .list_volumes(Some(bollard::query_parameters::ListVolumesOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .unwrap()
            .volumes
            .unwrap_or_default()
        {
            left.push(format!("volume {}", v.name));
        }
        for n in docker
            .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
                filters: Some(filters),
            }))
            .await
            .unwrap()
        {
            left.push(format!("network {:?}", n.name));
        }
        left
    })
}
