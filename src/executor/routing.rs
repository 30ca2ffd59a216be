//! Jobs spread over several executors by platform, for when one machine is not enough:
//! `--engine linux/arm64=tcp://arm-box:2376` sends the arm64 jobs to that engine (natively
//! there, instead of under qemu here), and every other job to the default one. Routing knows
//! nothing of Docker: any [`Executor`] can be a route (`RoutingExecutor::new`); `connect` makes
//! Docker ones. An engine on another machine shares no files with this one: its jobs get the
//! project, caches and artifacts through the API (the Docker backend's upload mode), which it
//! picks by itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::{DockerExecutor, DockerOptions, Executor, JobOutcome, JobSpec, LogSink};
use crate::error::Error;
use crate::plan::platform::normalize;

/// One `--engine PLATFORM=ADDRESS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Normalized, as in `linux/arm64`.
    pub platform: String,
    /// A Docker address: `tcp://host:port`, `unix:///path`, as `DOCKER_HOST` takes.
    pub host: String,
}

impl Route {
    /// Reads `PLATFORM=ADDRESS` (`arm64=tcp://arm-box:2376`, `linux/s390x=tcp://z:2375`).
    pub fn parse(s: &str) -> Result<Route, String> {
        let (platform, host) = s.split_once('=').ok_or_else(|| {
            format!("--engine `{s}`: expected PLATFORM=ADDRESS, such as arm64=tcp://arm-box:2376")
        })?;
        let normalized = normalize(platform).ok_or_else(|| {
            format!("--engine `{s}`: `{platform}` is not a platform (try linux/arm64 or s390x)")
        })?;
        let host = host.trim();
        if !["tcp://", "unix://", "http", "ssh://", "context:"]
            .iter()
            .any(|p| host.starts_with(p))
        {
            return Err(format!(
                "--engine `{s}`: `{host}` is not a Docker address (tcp://HOST:PORT, unix:///PATH, ssh://[USER@]HOST or context:NAME)"
            ));
        }
        if host.contains(',') {
            return Err(format!(
                "--engine `{s}`: a run takes one engine a platform for now (`tezos-ci-local engines` lists pools)"
            ));
        }
        Ok(Route {
            platform: normalized,
            host: host.to_string(),
        })
    }
}

/// The default executor, and the executors of the platforms routed elsewhere.
pub struct RoutingExecutor {
    default: Arc<dyn Executor>,
    routes: Vec<(String, Arc<dyn Executor>)>,
}

impl RoutingExecutor {
    /// Routes jobs of each platform in `routes` (normalized, as in `linux/arm64`) to its
    /// executor, and every other job to `default`.
    pub fn new(default: Arc<dyn Executor>, routes: Vec<(String, Arc<dyn Executor>)>) -> Self {
        let routes = routes
            .into_iter()
            .map(|(p, e)| (normalize(&p).unwrap_or(p), e))
            .collect();
        RoutingExecutor { default, routes }
    }

    /// Connects to every engine at once; an engine that does not answer fails the run before it
    /// starts ([`Error::Environment`], naming the route).
    pub async fn connect(default: DockerOptions, routes: &[Route]) -> Result<Self, Error> {
        let mut seen = BTreeMap::new();
        for r in routes {
            if let Some(first) = seen.insert(r.platform.clone(), r.host.clone()) {
                return Err(Error::Usage(format!(
                    "--engine: {} is routed twice ({first} and {})",
                    r.platform, r.host
                )));
            }
        }
        let connects = routes.iter().map(|r| {
            let options = DockerOptions {
                host: Some(r.host.clone()),
                ..default.clone()
            };
            async move {
                DockerExecutor::connect(options)
                    .await
                    .map(|e| (r.platform.clone(), Arc::new(e) as Arc<dyn Executor>))
                    .map_err(|e| {
                        Error::Environment(format!("the engine for {} jobs: {e}", r.platform))
                    })
            }
        });
        let (first, rest) = tokio::join!(
            DockerExecutor::connect(default.clone()),
            futures_util::future::join_all(connects)
        );
        Ok(RoutingExecutor::new(
            Arc::new(first?),
            rest.into_iter().collect::<Result<_, _>>()?,
        ))
    }

    /// The executor that runs jobs of `platform`.
    pub fn executor_for(&self, platform: &str) -> &Arc<dyn Executor> {
        let platform = normalize(platform).unwrap_or_else(|| platform.to_string());
        self.routes
            .iter()
            .find(|(p, _)| *p == platform)
            .map_or(&self.default, |(_, e)| e)
    }

    fn all(&self) -> impl Iterator<Item = &Arc<dyn Executor>> {
        std::iter::once(&self.default).chain(self.routes.iter().map(|(_, e)| e))
    }
}

impl Executor for RoutingExecutor {
    fn run(
        &self,
        spec: Arc<JobSpec>,
        log: LogSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, JobOutcome> {
        self.executor_for(&spec.platform).run(spec, log, cancel)
    }

    /// An image's ID on every engine that has it, joined: which engine runs a job can change
    /// with `--engine`, and a result must never be reused for an image that changed on any of
    /// them (a change anywhere only costs one run again).
    fn image_ids(&self, images: Vec<String>) -> BoxFuture<'static, HashMap<String, String>> {
        let asks: Vec<_> = self.all().map(|e| e.image_ids(images.clone())).collect();
        Box::pin(async move {
            let per_engine = futures_util::future::join_all(asks).await;
            let mut joined: HashMap<String, String> = HashMap::new();
            for ids in per_engine {
                for (image, id) in ids {
                    joined
                        .entry(image)
                        .and_modify(|all| {
                            all.push('+');
                            all.push_str(&id)
                        })
                        .or_insert(id);
                }
            }
            joined
        })
    }

    fn cleanup(&self, run_id: &str) -> BoxFuture<'static, ()> {
        let sweeps: Vec<_> = self.all().map(|e| e.cleanup(run_id)).collect();
        Box::pin(async move {
            futures_util::future::join_all(sweeps).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_a_platform_and_a_docker_address() {
        assert_eq!(
            Route::parse("arm64=tcp://arm-box:2376"),
            Ok(Route {
                platform: "linux/arm64".into(),
                host: "tcp://arm-box:2376".into()
            })
        );
        assert_eq!(
            Route::parse("linux/s390x=unix:///run/z.sock")
                .unwrap()
                .platform,
            "linux/s390x"
        );
        for bad in [
            "arm64",
            "sparc=tcp://x:1",
            "arm64=arm-box:2376",
            "arm64=tcp://a:1,tcp://b:1",
        ] {
            let e = Route::parse(bad).unwrap_err();
            assert!(e.starts_with(&format!("--engine `{bad}`")), "{e}");
        }
    }
}
