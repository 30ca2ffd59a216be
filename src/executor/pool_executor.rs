//! Pools of engines behind one [`Executor`]: every platform named in `engines:` or `--engine`
//! has its pool, the default engine is the pool of every other platform. Placement and failover
//! are [`Pools`]' (pure): a job takes a slot on the engine of its pool with the most free
//! capacity, waiting (here, in the job's task, never in the dispatcher) only while every engine
//! of the pool is full. The dispatcher's `-j` stays the limit over all of them.
//!
//! An attempt that fails on an engine that then does not answer a ping (connection refused,
//! no answer in [`PING_LIMIT`], a daemon killed mid-job) marks that engine down; the attempt
//! comes back with [`JobOutcome::engine_failed`] set, which makes the dispatcher run the job
//! once more, elsewhere in its pool, as GitLab's `retry: when: runner_system_failure` does. A
//! pool with no engine left fails its jobs with a reason naming each engine and why it is down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{
    AttemptStatus, DockerExecutor, DockerOptions, Executor, FailureReason, JobOutcome, JobSpec,
    LogSink,
};
use crate::engines::pool::{EngineId, Placement, Pools, Recovery};
use crate::engines::{EngineSpec, PoolsSpec};
use crate::error::Error;
use crate::plan::platform::normalize;

/// How long an engine has to answer a ping after an attempt failed on it.
pub const PING_LIMIT: Duration = Duration::from_secs(10);

/// Whether an engine answers: `Err(why)` when it does not.
pub type Alive = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// One engine of a pool.
pub struct Member {
    /// Its address as written: what messages and the summary call it.
    pub name: String,
    /// The platform whose pool it is in; `None`: the default pool.
    pub platform: Option<String>,
    /// Jobs it runs at once.
    pub capacity: usize,
    /// Its executor, or why it could not be reached when the run started (it starts down).
    pub executor: Result<Arc<dyn Executor>, String>,
    pub alive: Alive,
}

struct Engine {
    executor: Option<Arc<dyn Executor>>,
    alive: Alive,
}

pub struct PoolExecutor {
    engines: Arc<Vec<Engine>>,
    state: Arc<Mutex<Pools>>,
    /// Woken whenever a slot frees or an engine goes down: waiting jobs place themselves again.
    changed: Arc<Notify>,
}

impl PoolExecutor {
    pub fn new(members: Vec<Member>) -> Self {
        let mut pools = Pools::default();
        let mut engines = Vec::new();
        for m in members {
            let platform = m.platform.map(|p| normalize(&p).unwrap_or(p));
            let id = pools.add(platform.as_deref(), &m.name, m.capacity);
            let executor = match m.executor {
                Ok(e) => Some(e),
                Err(why) => {
                    pools.mark_down(id, &why);
                    None
                }
            };
            engines.push(Engine {
                executor,
                alive: m.alive,
            });
        }
        PoolExecutor {
            engines: Arc::new(engines),
            state: Arc::new(Mutex::new(pools)),
            changed: Arc::new(Notify::new()),
        }
    }

    /// Each engine's name and why it is down (`None`: up), in the order given.
    pub fn engines(&self) -> Vec<(String, Option<String>)> {
        let pools = self.state.lock().expect("not poisoned");
        pools
            .engines
            .iter()
            .map(|e| (e.name.clone(), e.down.clone()))
            .collect()
    }

    fn up(&self) -> Vec<Arc<dyn Executor>> {
        let pools = self.state.lock().expect("not poisoned");
        self.engines
            .iter()
            .enumerate()
            .filter(|(id, _)| !pools.is_down(*id))
            .filter_map(|(_, e)| e.executor.clone())
            .collect()
    }
}

/// A slot on an engine of `platform`'s pool: `Ok(None)` when canceled while waiting,
/// `Err(why)` when the pool has no engine left.
async fn place(
    state: &Mutex<Pools>,
    changed: &Notify,
    platform: &str,
    cancel: &CancellationToken,
) -> Result<Option<EngineId>, String> {
    loop {
        let notified = changed.notified();
        tokio::pin!(notified);
        // Registered before looking, so that a slot freed in between is not missed.
        notified.as_mut().enable();
        let placement = state.lock().expect("not poisoned").place(platform);
        match placement {
            Placement::Engine(id) => return Ok(Some(id)),
            Placement::NoEngine(why) => return Err(why),
            Placement::Wait => tokio::select! {
                _ = &mut notified => {}
                _ = cancel.cancelled() => return Ok(None),
            },
        }
    }
}

fn system_failure(why: String) -> JobOutcome {
    JobOutcome::status_only(AttemptStatus::Failed {
        exit_code: None,
        reason: FailureReason::SystemFailure(why),
    })
}

impl Executor for PoolExecutor {
    fn run(
        &self,
        spec: Arc<JobSpec>,
        log: LogSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, JobOutcome> {
        let (engines, state, changed) = (
            self.engines.clone(),
            self.state.clone(),
            self.changed.clone(),
        );
        Box::pin(async move {
            let platform = normalize(&spec.platform).unwrap_or_else(|| spec.platform.clone());
            let id = match place(&state, &changed, &platform, &cancel).await {
                Ok(Some(id)) => id,
                Ok(None) => return JobOutcome::status_only(AttemptStatus::Canceled),
                // Every engine of the platform is down: the environment's fault.
                Err(why) => {
                    return JobOutcome::status_only(AttemptStatus::Failed {
                        exit_code: None,
                        reason: FailureReason::EngineLost(format!("runner system failure: {why}")),
                    });
                }
            };
            let engine = &engines[id];
            let Some(executor) = engine.executor.clone() else {
                // Never placed: an engine without an executor starts down.
                state.lock().expect("not poisoned").release(id);
                return system_failure("runner system failure: engine not connected".into());
            };
            let mut outcome = executor.run(spec.clone(), log, cancel.clone()).await;
            let failed = matches!(outcome.status, AttemptStatus::Failed { .. });
            let down = if failed && !cancel.is_cancelled() {
                (engine.alive)().await.err()
            } else {
                None
            };
            {
                let mut pools = state.lock().expect("not poisoned");
                match down {
                    None => pools.release(id),
                    Some(why) => {
                        pools.mark_down(id, &why);
                        match pools.engine_failed(&spec.job, &platform, id) {
                            Recovery::Retry { reason } => {
                                outcome = system_failure(reason.clone());
                                outcome.engine_failed = Some(reason);
                            }
                            Recovery::Fail(why) => {
                                outcome = JobOutcome::status_only(AttemptStatus::Failed {
                                    exit_code: None,
                                    reason: FailureReason::EngineLost(why),
                                })
                            }
                        }
                    }
                }
            }
            changed.notify_waiters();
            outcome
        })
    }

    /// An image's IDs on every engine that is up and has it, joined (as `RoutingExecutor`).
    fn image_ids(&self, images: Vec<String>) -> BoxFuture<'static, HashMap<String, String>> {
        let asks: Vec<_> = self
            .up()
            .iter()
            .map(|e| e.image_ids(images.clone()))
            .collect();
        Box::pin(async move {
            let mut joined: HashMap<String, String> = HashMap::new();
            for ids in futures_util::future::join_all(asks).await {
                for (image, id) in ids {
                    joined
                        .entry(image)
                        .and_modify(|all| {
                            if !all.split('+').any(|x| x == id) {
                                all.push('+');
                                all.push_str(&id)
                            }
                        })
                        .or_insert(id);
                }
            }
            joined
        })
    }

    /// Sweeps every engine that is up; one that went down cannot be reached (`clean --containers`
    /// sweeps it once it is back).
    fn cleanup(&self, run_id: &str) -> BoxFuture<'static, ()> {
        let sweeps: Vec<_> = self.up().iter().map(|e| e.cleanup(run_id)).collect();
        Box::pin(async move {
            futures_util::future::join_all(sweeps).await;
        })
    }
}

/// A Docker engine's [`Alive`]: a ping, bounded by [`PING_LIMIT`].
pub fn docker_alive(docker: bollard::Docker) -> Alive {
    Arc::new(move || {
        let docker = docker.clone();
        Box::pin(async move {
            match tokio::time::timeout(PING_LIMIT, docker.ping()).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer in {} s", PING_LIMIT.as_secs())),
            }
        })
    })
}

/// Connects to the default engine and to every engine of `spec`'s pools at once. The default
/// engine must answer ([`Error::Environment`]); so must at least one engine of each pool (an
/// engine that does not starts down, and `warnings` says so). An engine's capacity is its
/// configured one, else its CPU count; the default engine's is `default_capacity` (the `-j`
/// limit: it serves every platform without a pool).
pub async fn connect(
    default: DockerOptions,
    spec: &PoolsSpec,
    default_capacity: usize,
    warnings: &mut Vec<String>,
) -> Result<PoolExecutor, Error> {
    let one = |platform: Option<String>, e: Option<EngineSpec>| {
        let options = DockerOptions {
            host: e.as_ref().map(|e| e.address.written.clone()),
            ..default.clone()
        };
        async move {
            let connected = DockerExecutor::connect(options).await;
            let (executor, alive, cpus) = match connected {
                Ok(x) => {
                    let docker = x.docker().clone();
                    let cpus = tokio::time::timeout(PING_LIMIT, docker.info())
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .and_then(|i| i.ncpu)
                        .map_or(1, |n| n.max(1) as usize);
                    (
                        Ok(Arc::new(x) as Arc<dyn Executor>),
                        docker_alive(docker),
                        cpus,
                    )
                }
                Err(err) => {
                    let why = err.to_string();
                    let first = why.lines().next().unwrap_or_default().to_string();
                    let alive: Alive = Arc::new(|| Box::pin(async { Err("not connected".into()) }));
                    (Err((first, err)), alive, 1)
                }
            };
            (platform, e, executor, alive, cpus)
        }
    };
    let mut asks = vec![one(None, None)];
    for pool in &spec.pools {
        for e in &pool.engines {
            asks.push(one(Some(pool.platform.clone()), Some(e.clone())));
        }
    }
    let mut members = Vec::new();
    for (platform, e, executor, alive, cpus) in futures_util::future::join_all(asks).await {
        let executor = match (executor, &e) {
            (Ok(x), _) => Ok(x),
            (Err((_, err)), None) => return Err(err),
            (Err((first, _)), Some(_)) => Err(first),
        };
        let (name, capacity) = match &e {
            None => ("the default engine".to_string(), default_capacity),
            Some(e) => (e.address.written.clone(), e.capacity.unwrap_or(cpus)),
        };
        members.push(Member {
            name,
            platform,
            capacity,
            executor,
            alive,
        });
    }
    for pool in &spec.pools {
        let of_pool: Vec<&Member> = members
            .iter()
            .filter(|m| m.platform.as_deref() == Some(pool.platform.as_str()))
            .collect();
        let silent: Vec<String> = of_pool
            .iter()
            .filter_map(|m| {
                m.executor
                    .as_ref()
                    .err()
                    .map(|w| format!("{}: {w}", m.name))
            })
            .collect();
        if silent.len() == of_pool.len() {
            return Err(Error::Environment(format!(
                "the engine for {} jobs: no engine of its pool answers:\n  {}",
                pool.platform,
                silent.join("\n  ")
            )));
        }
        for s in silent {
            warnings.push(format!(
                "engine {s}; the {} pool runs without it",
                pool.platform
            ));
        }
    }
    Ok(PoolExecutor::new(members))
}

#[cfg(test)]
#[path = "pool_executor_tests.rs"]
mod tests;
