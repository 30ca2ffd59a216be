//! GitLab's job lifecycle, written once for every backend: the first log lines, the cache
//! restored, scripts and file variables staged beside the project directory, `before_script` and
//! `script` in one session to the job's deadline, `after_script` in its own with `CI_JOB_STATUS`
//! and its own timeout, then caches saved, artifacts and reports collected, and the last line
//! (`Job succeeded` or `ERROR: Job failed: ...`). Where the job runs is the [`Backend`]'s.

pub mod backend;
pub mod gitlab_cache;
mod host_disk;
mod outputs;
pub mod script;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use backend::{Backend, Ended, Environment, ProjectFiles, StagedFile, Step};
use script::{INLINE_LIMIT, ScriptSource, shell_command, stage_script};

use super::{AttemptStatus, Executor, FailureReason, JobOutcome, JobSpec, LogSink};

/// How long past a step's deadline the lifecycle waits for the backend to report it killed,
/// before it gives up on the step itself: a timeout fires even when a backend wedges.
const KILL_GRACE: Duration = Duration::from_secs(15);

/// An [`Executor`] that runs GitLab's job lifecycle over a backend.
pub struct Lifecycle<B: Backend> {
    backend: Arc<B>,
    /// GitLab gives `after_script` its own five minutes.
    after_script_timeout: Duration,
}

impl<B: Backend> Lifecycle<B> {
    pub fn new(backend: B, after_script_timeout: Duration) -> Self {
        Lifecycle {
            backend: Arc::new(backend),
            after_script_timeout,
        }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }
}

impl<B: Backend> Executor for Lifecycle<B> {
    fn run(
        &self,
        spec: Arc<JobSpec>,
        log: LogSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, JobOutcome> {
        let backend = self.backend.clone();
        let after = self.after_script_timeout;
        Box::pin(async move { run_attempt(&*backend, after, spec, log, cancel).await })
    }

    fn image_ids(
        &self,
        images: Vec<String>,
    ) -> BoxFuture<'static, std::collections::HashMap<String, String>> {
        self.backend.image_ids(images)
    }

    fn cleanup(&self, run_id: &str) -> BoxFuture<'static, ()> {
        self.backend.cleanup(run_id)
    }
}

/// Go's duration format, as GitLab prints timeouts (`1h0m0s`).
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

async fn run_attempt(
    backend: &dyn Backend,
    after_script_timeout: Duration,
    spec: Arc<JobSpec>,
    mut log: LogSink,
    cancel: CancellationToken,
) -> JobOutcome {
    let outcome = match backend.attempt(spec.clone()) {
        Err(msg) => Err(msg),
        Ok(mut env) => {
            let job = Job {
                backend,
                spec: &spec,
                after_script_timeout,
            };
            let r = tokio::select! {
                biased;
                _ = cancel.cancelled() => Ok(None),
                r = job.run(&mut *env, &mut log) => r.map(Some),
            };
            let failed = matches!(
                &r,
                Ok(Some(JobOutcome {
                    status: AttemptStatus::Failed { .. },
                    ..
                }))
            );
            match spec.keep.as_ref().filter(|k| failed || k.always) {
                Some(k) => keep(env, &k.record, &spec.job, &mut log).await,
                None => {
                    log.line("Cleaning up project directory and file based variables")
                        .await;
                    // What the attempt created goes in the background: what follows this job
                    // need not wait for the engine to remove it (the run waits for it before it
                    // ends).
                    env.tear_down();
                }
            }
            r
        }
    };
    let outcome = match outcome {
        Ok(Some(o)) => o,
        Ok(None) => JobOutcome::status_only(AttemptStatus::Canceled),
        Err(msg) => {
            // A full disk on this host is no fault of the job, and no retry would fix it.
            let reason = match host_disk::full_disk(&spec) {
                Some(path) => {
                    host_disk::remove_partial_outputs(&spec);
                    FailureReason::HostFault(format!(
                        "this host's disk is full: no space left for the job's outputs in {} ({msg})",
                        path.display()
                    ))
                }
                None if !backend.answers().await => FailureReason::EngineLost(msg),
                None => FailureReason::SystemFailure(msg),
            };
            JobOutcome::status_only(AttemptStatus::Failed {
                exit_code: None,
                reason,
            })
        }
    };
    log.line(&last_line(&outcome.status, spec.timeout)).await;
    log.finish().await;
    outcome
}

/// Keeps a failed attempt's environment (`--keep-failed`) and records it for `shell
/// --after-failure`.
async fn keep(env: Box<dyn Environment>, record: &std::path::Path, job: &str, log: &mut LogSink) {
    match env.keep() {
        Some(kept) => match super::kept::write(record, &kept) {
            Ok(()) => {
                log.line(&format!(
                    "Keeping the job's containers, volume and services: `tezos-ci-local shell \
                     '{job}' --after-failure` opens a shell in them; `tezos-ci-local clean \
                     --containers` removes them"
                ))
                .await
            }
            Err(e) => {
                log.line(&format!(
                    "WARNING: the job's environment is kept but could not be recorded in {}: {e}",
                    record.display()
                ))
                .await
            }
        },
        None => {
            log.line("WARNING: this executor cannot keep a failed job's environment")
                .await
        }
    }
}

/// GitLab's last line of a job's log.
fn last_line(status: &AttemptStatus, timeout: Duration) -> String {
    match status {
        AttemptStatus::Success => "Job succeeded".to_string(),
        AttemptStatus::Canceled => "ERROR: Job failed: canceled".to_string(),
        AttemptStatus::Failed {
            reason: FailureReason::Timeout,
            ..
        } => format!(
            "ERROR: Job failed: execution took longer than {} seconds",
            go_duration(timeout)
        ),
        AttemptStatus::Failed {
            exit_code: Some(c), ..
        } => format!("ERROR: Job failed: exit code {c}"),
        AttemptStatus::Failed { reason, .. } => format!("ERROR: Job failed: {}", reason.describe()),
    }
}

struct Job<'a> {
    backend: &'a dyn Backend,
    spec: &'a JobSpec,
    after_script_timeout: Duration,
}

impl Job<'_> {
    async fn run(
        &self,
        env: &mut dyn Environment,
        log: &mut LogSink,
    ) -> Result<JobOutcome, String> {
        let spec = self.spec;
        let started = Instant::now();
        log.line(&format!(
            "Running with tezos-ci-local {} on {}",
            env!("CARGO_PKG_VERSION"),
            self.backend.describe()
        ))
        .await;
        log.line(&format!(
            "Preparing the \"{}\" executor",
            self.backend.name()
        ))
        .await;
        env.start(log).await?;

        log.line("Preparing environment").await;
        let mut files = ProjectFiles::default();
        for c in spec.caches.iter().filter(|c| gitlab_cache::pulls(c)) {
            log.line(&format!("Checking cache for {}...", c.key)).await;
            match gitlab_cache::find(c) {
                Some((key, dir)) => {
                    log.line(&format!("Successfully extracted cache {key}"))
                        .await;
                    files.caches.push(dir);
                }
                None => log.line("WARNING: Cache file does not exist").await,
            }
        }
        for i in spec.inputs.iter().filter(|i| i.dir.is_dir()) {
            log.line(&format!("Downloading artifacts for {} ...", i.job))
                .await;
            files.artifacts.push(i.dir.clone());
        }
        env.put_project(files, log).await?;

        let staging = Staging::new(spec);
        log.line("Executing \"step_script\" stage of the job script")
            .await;
        let step = staging.step("step", 0, staging.env.clone(), started + spec.timeout);
        let ended = run_step(env, step, log).await?;
        let succeeded = ended == Ended::Exited(0);

        if !spec.after_script.iter().all(|c| c.trim().is_empty()) {
            log.line("Running after_script").await;
            log.line("Running after script...").await;
            let mut vars = staging.env.clone();
            vars.push(format!(
                "CI_JOB_STATUS={}",
                if succeeded { "success" } else { "failed" }
            ));
            let limit = self.after_script_timeout;
            let after = staging.step("after", 1, vars, Instant::now() + limit);
            let warning = "WARNING: after_script failed, but job will continue unaffected";
            match run_step(env, after, log).await? {
                Ended::Exited(0) => {}
                Ended::Exited(c) => log.line(&format!("{warning}: exit code {c}")).await,
                Ended::TimedOut => {
                    log.line(&format!(
                        "{warning}: execution took longer than {}",
                        go_duration(limit)
                    ))
                    .await
                }
            }
        }

        let mut outcome = outputs::collect(env, spec, succeeded, log).await?;
        outcome.status = match ended {
            // Success, unless collecting found a fault (a bad dotenv report).
            Ended::Exited(0) => outcome.status,
            Ended::Exited(c) => AttemptStatus::Failed {
                exit_code: Some(c as i32),
                reason: FailureReason::ScriptFailure,
            },
            Ended::TimedOut => AttemptStatus::Failed {
                exit_code: None,
                reason: FailureReason::Timeout,
            },
        };
        Ok(outcome)
    }
}

/// Runs a step, and gives up on it a little after its deadline whatever the backend does.
async fn run_step(
    env: &mut dyn Environment,
    step: Step,
    log: &mut LogSink,
) -> Result<Ended, String> {
    let give_up = step.deadline + KILL_GRACE;
    match tokio::time::timeout_at(give_up, env.run_step(step, log)).await {
        Ok(r) => r,
        Err(_) => {
            log.line("WARNING: the executor did not stop the job at its deadline; abandoning it")
                .await;
            Ok(Ended::TimedOut)
        }
    }
}

/// The job's scripts and file variables, staged beside the project directory as GitLab's
/// `<project>.tmp`.
struct Staging {
    tmp: String,
    /// The job's variables, and the paths of its file variables.
    env: Vec<String>,
    /// `step_script` and `after_script`.
    scripts: [(&'static str, String); 2],
    files: Vec<StagedFile>,
}

impl Staging {
    fn new(spec: &JobSpec) -> Self {
        let tmp = format!("{}.tmp", spec.project_dir.trim_end_matches('/'));
        let mut env: Vec<String> = spec
            .variables
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let scripts = [
            ("step_script", stage_script(&spec.project_dir, &spec.script)),
            (
                "after_script",
                stage_script(&spec.project_dir, &spec.after_script),
            ),
        ];
        // Small scripts go in the command; large ones, and file variables, are staged as files.
        let mut files: Vec<StagedFile> = scripts
            .iter()
            .filter(|(_, text)| text.len() > INLINE_LIMIT)
            .map(|(name, text)| StagedFile {
                path: format!("{tmp}/{name}"),
                content: text.clone().into_bytes(),
                mode: 0o755,
            })
            .collect();
        for (name, content) in &spec.file_variables {
            env.push(format!("{name}={tmp}/{name}"));
            files.push(StagedFile {
                path: format!("{tmp}/{name}"),
                content: content.clone().into_bytes(),
                mode: 0o644,
            });
        }
        Staging {
            tmp,
            env,
            scripts,
            files,
        }
    }

    fn step(&self, name: &'static str, script: usize, env: Vec<String>, deadline: Instant) -> Step {
        let (file, text) = &self.scripts[script];
        let path = format!("{}/{file}", self.tmp);
        let source = if text.len() > INLINE_LIMIT {
            ScriptSource::File(&path)
        } else {
            ScriptSource::Inline(text)
        };
        Step {
            name,
            command: shell_command(&path, source),
            env,
            files: self.files.clone(),
            deadline,
        }
    }
}

#[cfg(test)]
mod tests;
