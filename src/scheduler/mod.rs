//! Runs the job graph: a ready queue in one dispatcher loop (`dispatcher`), fed by the plan and
//! the selection, starting each job through a [`Prepare`] (which builds its spec or finds its
//! cached result, off the loop) and an executor, and reporting everything as `RunEvent`s.

pub mod child;
pub mod dispatcher;
pub mod key_encoding;
pub mod result_keys;
pub mod signals;
pub mod slots;
pub mod spec;

use std::path::PathBuf;
use std::time::Duration;

use crate::event::JobResult;
use crate::executor::{JobOutcome, JobSpec};

pub use dispatcher::{Dispatcher, RunSummary};

/// What a finished job leaves for the jobs after it.
#[derive(Debug, Clone)]
pub struct Finished {
    pub job: String,
    pub result: JobResult,
    pub artifacts: Option<PathBuf>,
    pub dotenv: Vec<(String, String)>,
    /// The job's key in the result cache, when it has one (dependents' keys include it).
    pub key: Option<String>,
}

/// What the dispatcher should do to start a job.
pub enum Prepared {
    Run {
        spec: Box<JobSpec>,
        key: Option<String>,
        /// Values replaced by `[MASKED]` in the log.
        masks: Vec<String>,
    },
    /// The job's inputs have not changed since it last passed: reuse that result.
    Cached(Finished),
    /// The job cannot start (a bad image name, an unreadable cache key file...): it fails.
    Fail(String),
    /// A trigger job's child pipeline, loaded and planned: the dispatcher runs it.
    Child(Box<child::ChildRun>),
}

/// Builds what a job needs to start. The dispatcher owns the state; this only computes. Its
/// calls touch files (the project snapshot, hashing, the result cache), so the dispatcher makes
/// them on a blocking thread, one at a time and in the order it asks, never on its loop: see
/// [`SharedPrepare`].
pub trait Prepare: Send {
    /// `inputs`: the finished jobs whose artifacts this one receives, in order.
    fn prepare(&mut self, index: usize, attempt: u32, inputs: &[&Finished]) -> Prepared;
    /// Called once a job has a final result (not on attempts that will be retried, nor on
    /// canceled ones: they have nothing to store); may add to the result's `reason` (why a job
    /// ran).
    fn finished(&mut self, _index: usize, _outcome: &JobOutcome, _finished: &mut Finished) {}
    /// Where the log of an attempt goes.
    fn log_path(&self, index: usize, attempt: u32) -> Option<PathBuf>;
}

/// A boxed `Prepare` (a child pipeline's: caching or not) prepares as the one inside.
impl<P: Prepare + ?Sized> Prepare for Box<P> {
    fn prepare(&mut self, index: usize, attempt: u32, inputs: &[&Finished]) -> Prepared {
        (**self).prepare(index, attempt, inputs)
    }

    fn finished(&mut self, index: usize, outcome: &JobOutcome, finished: &mut Finished) {
        (**self).finished(index, outcome, finished)
    }

    fn log_path(&self, index: usize, attempt: u32) -> Option<PathBuf> {
        (**self).log_path(index, attempt)
    }
}

/// How the dispatcher holds a [`Prepare`]: shared with its blocking calls, and given back to the
/// caller after the run (warnings, eviction). A call the run gave up on (a preparation canceled by
/// Ctrl-C) may still hold the lock when the run returns: use `try_lock` there.
pub type SharedPrepare = std::sync::Arc<std::sync::Mutex<dyn Prepare>>;

#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub max_parallel: usize,
    /// Start delayed jobs at once.
    pub no_delay: bool,
    pub run_id: String,
    pub run_dir: PathBuf,
    /// How long a canceled job may take to stop before the run stops waiting for it.
    pub cancel_grace: Duration,
    /// `--timestamps`: every log line starts with the time it was written.
    pub timestamps: bool,
}

#[cfg(test)]
mod child_tests;
#[cfg(test)]
mod nonblocking_tests;
#[cfg(test)]
mod result_keys_tests;
#[cfg(test)]
mod tests;
