//! Executors run one job attempt each, behind the [`Executor`] trait. GitLab's job lifecycle is
//! written once ([`lifecycle`]) over a narrow [`Backend`](lifecycle::Backend): Docker
//! ([`docker`]) for real runs. [`fake`] is an executor for scheduler tests. They never print:
//! output goes to the job's [`LogSink`]. `artifacts`, `paths`, `layers`, `tarball` and
//! `workspace` are the file handling both sides share.

pub mod artifacts;
pub mod docker;
pub mod fake;
pub mod kept;
pub mod layers;
pub mod lifecycle;
pub mod log;
pub mod paths;
pub mod pool_executor;
pub mod routing;
pub mod tarball;
pub mod workspace;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

pub use crate::pipeline::model::PullPolicy;
use crate::pipeline::model::{Artifacts, ArtifactsWhen, CachePolicy, RetryWhen};
pub use docker::DockerExecutor;
pub use docker::engine::{DockerOptions, WorkspaceMode};
pub use lifecycle::Lifecycle;
pub use log::LogSink;
pub use pool_executor::PoolExecutor;
pub use routing::{Route, RoutingExecutor};

/// Everything an executor needs to run one attempt of one job, fully resolved: names and
/// variables expanded, platform chosen, inputs located on the host.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub run_id: String,
    pub job: String,
    pub stage: String,
    pub attempt: u32,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub user: Option<String>,
    /// `os/arch`, such as `linux/arm64`.
    pub platform: String,
    pub pull: PullPolicy,
    pub services: Vec<ServiceSpec>,
    /// `before_script` then `script`, run in one shell session.
    pub script: Vec<String>,
    /// Run in a separate shell session, even after a failure or timeout.
    pub after_script: Vec<String>,
    /// Final variables, in the order they are exported.
    pub variables: Vec<(String, String)>,
    /// File-type variables: the variable holds the path of a file with this content.
    pub file_variables: Vec<(String, String)>,
    pub timeout: Duration,
    /// The project's files as they were when the run started.
    pub workspace: Arc<Workspace>,
    /// Where the project is mounted in the container (`CI_PROJECT_DIR`).
    pub project_dir: String,
    /// Artifacts of the jobs this one depends on, in order (later ones overwrite earlier ones).
    pub inputs: Vec<ArtifactInput>,
    pub artifacts: Option<Artifacts>,
    /// Where this attempt's artifacts go on the host (created by the executor when there are any).
    pub artifacts_dir: PathBuf,
    /// Where this attempt's `artifacts:reports` files (junit, dotenv) are copied on the host. Kept
    /// apart from `artifacts_dir`: as in GitLab, reports are not passed to later jobs.
    pub reports_dir: PathBuf,
    pub caches: Vec<CacheSpec>,
    pub privileged: bool,
    pub mount_docker_socket: bool,
    /// With `--keep-failed` (and for `shell JOB`): when the attempt's environment is kept and
    /// where it is recorded (its objects are then left on the engine rather than removed).
    pub keep: Option<kept::Keep>,
}

#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub image: String,
    pub aliases: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub variables: Vec<(String, String)>,
    pub platform: String,
}

/// A snapshot of the project, made once per run.
#[derive(Debug)]
pub struct Workspace {
    /// A host directory holding exactly the project's files (never the user's checkout itself).
    pub root: PathBuf,
    /// The files in it, relative to `root`, sorted; for tarballs and `artifacts:untracked`.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ArtifactInput {
    pub job: String,
    /// A host directory whose contents are laid over the project directory.
    pub dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct CacheSpec {
    /// The resolved key (after `files:`/`prefix:`), safe as a directory name.
    pub key: String,
    pub fallback_keys: Vec<String>,
    pub paths: Vec<String>,
    pub untracked: bool,
    pub policy: CachePolicy,
    pub when: ArtifactsWhen,
    /// The host directory that holds every cache key (`<dir>/<key>/...`).
    pub store: PathBuf,
}

/// Why an attempt failed; the names follow GitLab's `retry:when` reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    ScriptFailure,
    Timeout,
    /// The runner could not run the job: no image, no emulation, Docker errors.
    SystemFailure(String),
    /// The engine stopped answering under the job (a runner system failure that is this
    /// environment's, not the pipeline's: the run exits 2).
    EngineLost(String),
    /// This host cannot take what the job leaves: the disk under the run's data is full. Another
    /// attempt on the same host cannot help, so it is never retried (not even `when: always`).
    HostFault(String),
}

impl FailureReason {
    /// The `retry:when` reasons that match this one.
    pub fn retry_names(&self) -> &'static [RetryWhen] {
        match self {
            FailureReason::ScriptFailure => &[RetryWhen::ScriptFailure, RetryWhen::UnknownFailure],
            FailureReason::Timeout => &[
                RetryWhen::JobExecutionTimeout,
                RetryWhen::StuckOrTimeoutFailure,
            ],
            FailureReason::SystemFailure(_) | FailureReason::EngineLost(_) => &[
                RetryWhen::RunnerSystemFailure,
                RetryWhen::SchedulerFailure,
                RetryWhen::ApiFailure,
            ],
            FailureReason::HostFault(_) => &[],
        }
    }

    /// Whether `retry:when: [w]` takes this failure (`always` takes any).
    pub fn retried_by(&self, w: RetryWhen) -> bool {
        w == RetryWhen::Always || self.retry_names().contains(&w)
    }

    /// Whether `retry:` may run the job again after this failure.
    pub fn retryable(&self) -> bool {
        !matches!(self, FailureReason::HostFault(_))
    }

    pub fn describe(&self) -> String {
        match self {
            FailureReason::ScriptFailure => "script failed".into(),
            FailureReason::Timeout => "timed out".into(),
            FailureReason::SystemFailure(m)
            | FailureReason::EngineLost(m)
            | FailureReason::HostFault(m) => m.clone(),
        }
    }

    /// Whether the failure is this host's or its engine's rather than the job's: the run then
    /// exits 2, as for any other fault of the environment.
    pub fn is_environment(&self) -> bool {
        matches!(
            self,
            FailureReason::EngineLost(_) | FailureReason::HostFault(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptStatus {
    Success,
    Failed {
        exit_code: Option<i32>,
        reason: FailureReason,
    },
    Canceled,
}

/// How an attempt ended, and what it left for later jobs.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    pub status: AttemptStatus,
    /// The artifacts directory, when the job uploaded any.
    pub artifacts: Option<PathBuf>,
    /// Variables from `artifacts:reports:dotenv`, passed to later jobs.
    pub dotenv: Vec<(String, String)>,
    /// `artifacts:reports:junit` files, copied to the host.
    pub junit: Vec<PathBuf>,
    /// Set when the engine the attempt ran on failed under it and the job gets its one retry on
    /// another engine of its pool (a runner system failure): says which engine and why.
    pub engine_failed: Option<String>,
}

impl JobOutcome {
    pub fn status_only(status: AttemptStatus) -> Self {
        JobOutcome {
            status,
            artifacts: None,
            dotenv: Vec::new(),
            junit: Vec::new(),
            engine_failed: None,
        }
    }
}

pub trait Executor: Send + Sync {
    /// Runs one attempt. Must stop promptly and clean up when `cancel` fires, returning `Canceled`.
    /// A failing job is an `Ok` outcome; this never returns a Rust error.
    fn run(
        &self,
        spec: Arc<JobSpec>,
        log: LogSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, JobOutcome>;

    /// The IDs of these images where they are present locally (the job result cache keys on them).
    fn image_ids(
        &self,
        _images: Vec<String>,
    ) -> BoxFuture<'static, std::collections::HashMap<String, String>> {
        Box::pin(async { std::collections::HashMap::new() })
    }

    /// Removes anything this run may have left behind (called at the end of every run, and after a
    /// second Ctrl-C). Idempotent.
    fn cleanup(&self, run_id: &str) -> BoxFuture<'static, ()>;
}
