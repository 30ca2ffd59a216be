//! The narrow interface between GitLab's job lifecycle and the place a job runs. A backend knows
//! how to make an environment for one attempt (image, platform, services, the project directory),
//! run a step in it (a shell command with its environment, to a deadline, output to the log),
//! get files out of it, and tear it down. It knows nothing of caches, `after_script`,
//! `CI_JOB_STATUS`, artifacts or the job's final lines: those are the lifecycle's
//! ([`super::Lifecycle`]), written once for every backend.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::time::Instant;

use crate::executor::artifacts::Collection;
use crate::executor::kept::Kept;
use crate::executor::{JobSpec, LogSink};

/// Where jobs run: a Docker engine, a fake for tests, and (see ARCHITECTURE.md) a Kubernetes
/// pod or this host's shell.
pub trait Backend: Send + Sync + 'static {
    /// The executor's name in GitLab's log lines (`Preparing the "docker" executor`).
    fn name(&self) -> &'static str;

    /// Where it runs, for the first log line (`the Docker engine at unix:///...`).
    fn describe(&self) -> String;

    /// The handle of one attempt. Nothing is created yet; whatever the attempt creates from now
    /// on is removed when the handle is torn down or dropped (the attempt was canceled).
    fn attempt(&self, spec: Arc<JobSpec>) -> Result<Box<dyn Environment>, String>;

    /// The IDs of these images where they are present (the job result cache keys on them).
    fn image_ids(&self, _images: Vec<String>) -> BoxFuture<'static, HashMap<String, String>> {
        Box::pin(async { HashMap::new() })
    }

    /// Removes anything the run `run_id` may have left (idempotent).
    fn cleanup(&self, run_id: &str) -> BoxFuture<'static, ()>;

    /// Whether the place jobs run still answers, asked after an attempt failed outside its
    /// script: one that does not lost the job (an environment fault, not the job's).
    fn answers(&self) -> BoxFuture<'static, bool> {
        Box::pin(async { true })
    }
}

/// What the project directory starts with, bottom first: the run's snapshot
/// (`JobSpec::workspace`), then restored caches, then the artifacts of needed jobs (later ones
/// overwrite earlier ones). All are host directories; a backend that shares no files with this
/// host sends them (the Docker backend's upload mode does).
#[derive(Debug, Clone, Default)]
pub struct ProjectFiles {
    pub caches: Vec<PathBuf>,
    pub artifacts: Vec<PathBuf>,
}

/// A file the lifecycle stages beside the project directory before a step (a long script, a
/// file-type variable).
#[derive(Debug, Clone)]
pub struct StagedFile {
    /// Absolute path in the job's environment.
    pub path: String,
    pub content: Vec<u8>,
    pub mode: u32,
}

/// One step of a job: `step_script` (before_script and script in one session) or
/// `after_script`.
#[derive(Debug, Clone)]
pub struct Step {
    /// `step` or `after`.
    pub name: &'static str,
    /// The command that runs the step's shell script (see `script::shell_command`).
    pub command: Vec<String>,
    /// `NAME=value`, in export order.
    pub env: Vec<String>,
    /// Put in place before the step starts.
    pub files: Vec<StagedFile>,
    /// The backend kills the step at this instant and reports [`Ended::TimedOut`].
    pub deadline: Instant,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i64),
    TimedOut,
}

/// One attempt's environment. Every method may be interrupted by dropping its future (the job
/// was canceled); dropping the environment removes what it created.
pub trait Environment: Send {
    /// Makes the job's image and services ready (pulling per the job's policy, checking the
    /// platform), with GitLab's log lines for them.
    fn start<'a>(&'a mut self, log: &'a mut LogSink) -> BoxFuture<'a, Result<(), String>>;

    /// Lays out the project directory from the snapshot, caches and artifacts.
    fn put_project<'a>(
        &'a mut self,
        files: ProjectFiles,
        log: &'a mut LogSink,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Runs one step, its output streamed to `log`, until it exits or its deadline passes (then
    /// it is killed; a flood of output must not delay that).
    fn run_step<'a>(
        &'a mut self,
        step: Step,
        log: &'a mut LogSink,
    ) -> BoxFuture<'a, Result<Ended, String>>;

    /// Fills `collections` from the project directory as the last step left it.
    fn collect(
        &mut self,
        collections: Vec<Collection>,
    ) -> BoxFuture<'_, Result<Vec<Collection>, String>>;

    /// Starts removing what the attempt created, without waiting for it (the run waits for
    /// removals before it ends).
    fn tear_down(self: Box<Self>);

    /// Keeps what the attempt created (`--keep-failed`), services running, and says what it is;
    /// a backend that cannot keep an attempt tears it down.
    fn keep(self: Box<Self>) -> Option<Kept> {
        self.tear_down();
        None
    }
}
