//! A fake executor for scheduler tests: each job's attempts end as scripted, instantly, with no
//! Docker and no sleeps. It records the order jobs start in and the most that ran at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::executor::{AttemptStatus, Executor, JobOutcome, JobSpec, LogSink};

#[derive(Default)]
struct Record {
    started: Vec<(String, u32)>,
    running: usize,
    max_running: usize,
}

/// Scripted outcomes per job name; a job with no script succeeds. A job listed in `hang` waits
/// until it is canceled.
#[derive(Clone, Default)]
pub struct FakeExecutor {
    script: Arc<HashMap<String, Vec<AttemptStatus>>>,
    hang: Arc<Vec<String>>,
    /// Jobs that ignore cancellation and never end.
    stubborn: Arc<Vec<String>>,
    record: Arc<Mutex<Record>>,
    /// Lines each job prints.
    lines: Arc<HashMap<String, Vec<String>>>,
    /// Artifact files each job leaves (path, content), whatever its status.
    outputs: Arc<HashMap<String, Vec<(String, String)>>>,
    /// Job and attempt whose engine fails under it (the outcome asks for a retry elsewhere).
    engine_fails: Arc<Vec<(String, u32)>>,
}

impl FakeExecutor {
    pub fn new(script: HashMap<String, Vec<AttemptStatus>>) -> Self {
        FakeExecutor {
            script: Arc::new(script),
            ..Default::default()
        }
    }

    pub fn hanging(mut self, jobs: &[&str]) -> Self {
        self.hang = Arc::new(jobs.iter().map(|s| s.to_string()).collect());
        self
    }

    pub fn stubborn(mut self, jobs: &[&str]) -> Self {
        self.stubborn = Arc::new(jobs.iter().map(|s| s.to_string()).collect());
        self
    }

    pub fn printing(mut self, job: &str, lines: &[&str]) -> Self {
        let mut m = (*self.lines).clone();
        m.insert(
            job.to_string(),
            lines.iter().map(|s| s.to_string()).collect(),
        );
        self.lines = Arc::new(m);
        self
    }

    /// `job` leaves these artifact files (path, content), passed or failed.
    pub fn writing(mut self, job: &str, files: &[(&str, &str)]) -> Self {
        let mut m = (*self.outputs).clone();
        m.insert(
            job.to_string(),
            files
                .iter()
                .map(|(p, c)| (p.to_string(), c.to_string()))
                .collect(),
        );
        self.outputs = Arc::new(m);
        self
    }

    /// `job`'s `attempt` ends as if its engine failed under it, as the pool executor reports it.
    pub fn engine_failing(mut self, job: &str, attempt: u32) -> Self {
        let mut v = (*self.engine_fails).clone();
        v.push((job.to_string(), attempt));
        self.engine_fails = Arc::new(v);
        self
    }

    /// Job names (with attempt numbers) in the order they started.
    pub fn started(&self) -> Vec<(String, u32)> {
        self.record.lock().expect("not poisoned").started.clone()
    }

    pub fn max_running(&self) -> usize {
        self.record.lock().expect("not poisoned").max_running
    }
}

impl Executor for FakeExecutor {
    fn run(
        &self,
        spec: Arc<JobSpec>,
        mut log: LogSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, JobOutcome> {
        let this = self.clone();
        Box::pin(async move {
            {
                let mut r = this.record.lock().expect("not poisoned");
                r.started.push((spec.job.clone(), spec.attempt));
                r.running += 1;
                r.max_running = r.max_running.max(r.running);
            }
            for l in this.lines.get(&spec.job).into_iter().flatten() {
                log.line(l).await;
            }
            // Let other jobs start, so the concurrency limit is exercised without sleeping.
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
            if this.stubborn.contains(&spec.job) {
                std::future::pending::<()>().await;
            }
            let status = if this.hang.contains(&spec.job) {
                cancel.cancelled().await;
                AttemptStatus::Canceled
            } else {
                this.script
                    .get(&spec.job)
                    .and_then(|v| v.get(spec.attempt as usize - 1))
                    .cloned()
                    .unwrap_or(AttemptStatus::Success)
            };
            log.finish().await;
            this.record.lock().expect("not poisoned").running -= 1;
            let mut outcome = JobOutcome::status_only(status);
            if this
                .engine_fails
                .contains(&(spec.job.clone(), spec.attempt))
            {
                let why = "runner system failure: engine fake0 failed (killed); retrying once on another engine";
                outcome = JobOutcome::status_only(AttemptStatus::Failed {
                    exit_code: None,
                    reason: crate::executor::FailureReason::SystemFailure(why.into()),
                });
                outcome.engine_failed = Some(why.into());
            }
            if let Some(files) = this.outputs.get(&spec.job) {
                let dir = spec.artifacts_dir.clone();
                for (p, c) in files {
                    let path = dir.join(p);
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent).expect("a fake artifacts directory");
                    }
                    std::fs::write(&path, c).expect("a fake artifact");
                }
                outcome.artifacts = Some(dir);
            }
            outcome
        })
    }

    fn cleanup(&self, _run_id: &str) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// How a [`FakeBackend`] step ends.
#[derive(Debug, Clone)]
pub enum FakeStep {
    /// Prints these lines, then exits with this code.
    Exits(Vec<String>, i64),
    /// Runs until killed at its deadline.
    RunsPastDeadline,
    /// Never returns, whatever its deadline: a wedged backend.
    Wedged,
    /// Fails with this message, and the backend answers no more (an engine that died).
    LosesEngine(String),
    /// Fails with this message; the backend still answers.
    Errs(String),
}

/// A backend that runs nothing: each step ends as scripted (by step name, `step` or `after`;
/// unscripted steps exit 0). It records what the lifecycle asked of it, for tests of the
/// lifecycle without Docker.
#[derive(Clone, Default)]
pub struct FakeBackend {
    steps: Arc<HashMap<&'static str, FakeStep>>,
    /// What happened, in order: `start`, `put_project`, `step NAME`, `collect`, `tear_down`.
    calls: Arc<Mutex<Vec<String>>>,
    /// The steps the lifecycle asked for.
    seen: Arc<Mutex<Vec<crate::executor::lifecycle::Step>>>,
    /// Set by [`FakeStep::LosesEngine`]: `answers` says no.
    gone: Arc<std::sync::atomic::AtomicBool>,
}

impl FakeBackend {
    pub fn new(steps: &[(&'static str, FakeStep)]) -> Self {
        FakeBackend {
            steps: Arc::new(steps.iter().cloned().collect()),
            ..Default::default()
        }
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("not poisoned").clone()
    }

    pub fn steps(&self) -> Vec<crate::executor::lifecycle::Step> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

struct FakeEnv {
    backend: FakeBackend,
}

impl Drop for FakeEnv {
    fn drop(&mut self) {
        self.backend.record("dropped");
    }
}

impl FakeBackend {
    fn record(&self, call: &str) {
        self.calls
            .lock()
            .expect("not poisoned")
            .push(call.to_string());
    }
}

mod backend_impl {
    use super::*;
    use crate::executor::artifacts::Collection;
    use crate::executor::lifecycle::{Backend, Ended, Environment, ProjectFiles, Step};

    impl Backend for FakeBackend {
        fn name(&self) -> &'static str {
            "fake"
        }

        fn describe(&self) -> String {
            "a fake backend".into()
        }

        fn attempt(&self, _spec: Arc<JobSpec>) -> Result<Box<dyn Environment>, String> {
            Ok(Box::new(FakeEnv {
                backend: self.clone(),
            }))
        }

        fn cleanup(&self, _run_id: &str) -> BoxFuture<'static, ()> {
            Box::pin(async {})
        }

        fn answers(&self) -> BoxFuture<'static, bool> {
            let gone = self.gone.load(std::sync::atomic::Ordering::SeqCst);
            Box::pin(async move { !gone })
        }
    }

    impl Environment for FakeEnv {
        fn start<'a>(&'a mut self, _log: &'a mut LogSink) -> BoxFuture<'a, Result<(), String>> {
            self.backend.record("start");
            Box::pin(async { Ok(()) })
        }

        fn put_project<'a>(
            &'a mut self,
            files: ProjectFiles,
            _log: &'a mut LogSink,
        ) -> BoxFuture<'a, Result<(), String>> {
            self.backend.record(&format!(
                "put_project {} caches {} artifacts",
                files.caches.len(),
                files.artifacts.len()
            ));
            Box::pin(async { Ok(()) })
        }

        fn run_step<'a>(
            &'a mut self,
            step: Step,
            log: &'a mut LogSink,
        ) -> BoxFuture<'a, Result<Ended, String>> {
            self.backend.record(&format!("step {}", step.name));
            self.backend
                .seen
                .lock()
                .expect("not poisoned")
                .push(step.clone());
            let how = self.backend.steps.get(step.name).cloned();
            let gone = self.backend.gone.clone();
            Box::pin(async move {
                match how {
                    None => Ok(Ended::Exited(0)),
                    Some(FakeStep::Exits(lines, code)) => {
                        for l in lines {
                            log.line(&l).await;
                        }
                        Ok(Ended::Exited(code))
                    }
                    Some(FakeStep::RunsPastDeadline) => {
                        tokio::time::sleep_until(step.deadline).await;
                        Ok(Ended::TimedOut)
                    }
                    Some(FakeStep::Wedged) => std::future::pending().await,
                    Some(FakeStep::LosesEngine(why)) => {
                        gone.store(true, std::sync::atomic::Ordering::SeqCst);
                        Err(why)
                    }
                    Some(FakeStep::Errs(why)) => Err(why),
                }
            })
        }

        fn collect(
            &mut self,
            collections: Vec<Collection>,
        ) -> BoxFuture<'_, Result<Vec<Collection>, String>> {
            self.backend.record("collect");
            Box::pin(async { Ok(collections) })
        }

        fn tear_down(self: Box<Self>) {
            self.backend.record("tear_down");
        }
    }
}

/// A job spec with only its name and attempt set (image `busybox`, `linux/amd64`, no script, an
/// empty workspace), for tests of what runs specs; a test sets the fields it cares about with
/// `JobSpec { field, ..test_spec(job, attempt) }`.
pub fn test_spec(job: &str, attempt: u32) -> super::JobSpec {
    super::JobSpec {
        run_id: "test".into(),
        job: job.into(),
        stage: String::new(),
        attempt,
        image: "busybox".into(),
        entrypoint: None,
        user: None,
        platform: "linux/amd64".into(),
        pull: super::PullPolicy::Never,
        services: Vec::new(),
        script: Vec::new(),
        after_script: Vec::new(),
        variables: Vec::new(),
        file_variables: Vec::new(),
        timeout: std::time::Duration::from_secs(5),
        workspace: std::sync::Arc::new(super::Workspace {
            root: std::path::PathBuf::new(),
            files: Vec::new(),
        }),
        project_dir: "/builds/p".into(),
        inputs: Vec::new(),
        artifacts: None,
        artifacts_dir: std::path::PathBuf::new(),
        reports_dir: std::path::PathBuf::new(),
        caches: Vec::new(),
        privileged: false,
        mount_docker_socket: false,
        keep: None,
    }
}
