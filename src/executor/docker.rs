//! The Docker executor: one attempt of a job in containers on a Docker engine, as GitLab's
//! Docker runner does it: image, services, the project, the cache, the artifacts of needed jobs,
//! the script in one shell session, `after_script` in another, then cache, artifacts and
//! reports. Everything an attempt creates carries its labels and is removed when it ends, however
//! it ends.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::Docker;
use futures_util::future::BoxFuture;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cache;
use super::cleanup::{Leftovers, Pending};
pub use super::cleanup::{Swept, remove_labelled, remove_stale};
use super::container::{self, Ended, Stage};
use super::engine::{self, DockerOptions, Engine};
use super::script::{INLINE_LIMIT, ScriptSource, shell_command, stage_script};
use super::tarball::Part;
use super::{AttemptStatus, Executor, FailureReason, JobOutcome, JobSpec, LogSink};
use super::{outputs, services, volume};
use crate::error::Error;

/// Every object this program creates carries this label (value `1`)...
pub const LABEL: &str = "tezos-ci-local";
/// ...and these, with the run id, the job name and an id of the attempt.
pub const LABEL_RUN: &str = "tezos-ci-local.run";
pub const LABEL_JOB: &str = "tezos-ci-local.job";
pub const LABEL_ATTEMPT: &str = "tezos-ci-local.attempt";

/// How long the end of a run waits for attempts' removals before sweeping by the run's label.
const REMOVAL_LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct DockerExecutor {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    options: DockerOptions,
    /// Attempts' removals, which go on after their results are reported.
    pending: Pending,
}

impl DockerExecutor {
    /// Connects to the engine (`options.host`, else `DOCKER_HOST`, else the local socket) and
    /// learns what it is. Fails with [`Error::Environment`] when no engine answers.
    pub async fn connect(options: DockerOptions) -> Result<Self, Error> {
        let engine = engine::connect(&options).await?;
        Ok(DockerExecutor {
            inner: Arc::new(Inner {
                engine,
                options,
                pending: Pending::default(),
            }),
        })
    }

    /// The engine's own platform, such as `linux/amd64`.
    pub fn engine_platform(&self) -> &str {
        &self.inner.engine.platform
    }

    /// Whether jobs get the project through an overlay (no copy per job), or why not.
    pub fn overlay(&self) -> Result<(), &str> {
        self.inner
            .engine
            .overlay
            .as_ref()
            .map(|_| ())
            .map_err(|s| s.as_str())
    }

    /// Waits until the attempts that ended have removed what they created (they do it in the
    /// background, after their result is reported).
    pub async fn settle(&self) {
        self.inner.pending.wait(REMOVAL_LIMIT).await
    }

    /// The engine client, for callers that need more than jobs (tests, diagnostics).
    pub fn docker(&self) -> &Docker {
        &self.inner.engine.docker
    }
}

impl Executor for DockerExecutor {
    fn run(
        &self,
        spec: Arc<JobSpec>,
        log: LogSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, JobOutcome> {
        let inner = self.inner.clone();
        Box::pin(async move { run_attempt(inner, spec, log, cancel).await })
    }

    fn image_ids(
        &self,
        images: Vec<String>,
    ) -> BoxFuture<'static, std::collections::HashMap<String, String>> {
        let docker = self.inner.engine.docker.clone();
        Box::pin(async move {
            let mut ids = std::collections::HashMap::new();
            for image in images {
                if ids.contains_key(&image) {
                    continue;
                }
                if let Ok(info) = docker.inspect_image(&image).await {
                    if let Some(id) = info.id {
                        ids.insert(image, id);
                    }
                }
            }
            ids
        })
    }

    fn cleanup(&self, run_id: &str) -> BoxFuture<'static, ()> {
        let docker = self.inner.engine.docker.clone();
        let filter = format!("{LABEL_RUN}={run_id}");
        let pending = self.inner.pending.clone();
        Box::pin(async move {
            pending.wait(REMOVAL_LIMIT).await;
            remove_labelled(&docker, &filter).await
        })
    }
}

/// A name part Docker accepts (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), short enough to read.
fn slug(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    out.truncate(max);
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "x".into() } else { out }
}

fn unique_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{:x}{n:x}{:06x}", std::process::id(), t & 0xff_ffff)
}

/// Go's duration format, as GitLab prints timeouts (`1h0m0s`).
fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

async fn run_attempt(
    inner: Arc<Inner>,
    spec: Arc<JobSpec>,
    mut log: LogSink,
    cancel: CancellationToken,
) -> JobOutcome {
    let id = unique_id();
    let prefix = format!(
        "tcl-{}-{}-{id}",
        slug(&spec.run_id, 24),
        slug(&spec.job, 40)
    );
    let labels = HashMap::from([
        (LABEL.to_string(), "1".to_string()),
        (LABEL_RUN.to_string(), spec.run_id.clone()),
        (LABEL_JOB.to_string(), spec.job.clone()),
        (LABEL_ATTEMPT.to_string(), id.clone()),
    ]);
    let dir = tempfile::Builder::new()
        .prefix("tcl-job-")
        .tempdir_in(&inner.options.work_dir);
    let dir_error = dir.as_ref().err().map(|e| e.to_string());
    let leftovers = Leftovers {
        docker: inner.engine.docker.clone(),
        filter: format!("{LABEL_ATTEMPT}={id}"),
        dir: dir.ok(),
        tasks: inner.pending.tracker(),
    };
    let outcome = match leftovers.dir.as_ref().map(|d| d.path().to_path_buf()) {
        None => Err(format!(
            "cannot make a job directory in {}: {}",
            inner.options.work_dir.display(),
            dir_error.unwrap_or_default()
        )),
        Some(job_dir) => {
            let job = Job {
                inner: &inner,
                spec: &spec,
                prefix,
                labels,
                job_dir,
            };
            tokio::select! {
                biased;
                _ = cancel.cancelled() => Ok(None),
                r = job.run(&mut log) => r.map(Some),
            }
        }
    };
    log.line("Cleaning up project directory and file based variables")
        .await;
    // The containers, volume and directory go in the background: what follows this job need
    // not wait for the engine to remove them (the run waits for it before it ends).
    leftovers.clear();
    let outcome = match outcome {
        Ok(Some(o)) => o,
        Ok(None) => JobOutcome::status_only(AttemptStatus::Canceled),
        Err(msg) => JobOutcome::status_only(AttemptStatus::Failed {
            exit_code: None,
            reason: FailureReason::SystemFailure(msg),
        }),
    };
    let last = match &outcome.status {
        AttemptStatus::Success => "Job succeeded".to_string(),
        AttemptStatus::Canceled => "ERROR: Job failed: canceled".to_string(),
        AttemptStatus::Failed {
            reason: FailureReason::Timeout,
            ..
        } => format!(
            "ERROR: Job failed: execution took longer than {} seconds",
            go_duration(spec.timeout)
        ),
        AttemptStatus::Failed {
            exit_code: Some(c), ..
        } => format!("ERROR: Job failed: exit code {c}"),
        AttemptStatus::Failed { reason, .. } => format!("ERROR: Job failed: {}", reason.describe()),
    };
    log.line(&last).await;
    log.finish().await;
    outcome
}

struct Job<'a> {
    inner: &'a Inner,
    spec: &'a JobSpec,
    prefix: String,
    labels: HashMap<String, String>,
    job_dir: PathBuf,
}

impl Job<'_> {
    async fn run(&self, log: &mut LogSink) -> Result<JobOutcome, String> {
        let (engine, spec) = (&self.inner.engine, self.spec);
        let started = Instant::now();
        log.line(&format!(
            "Running with tezos-ci-local {} on the Docker engine at {}",
            env!("CARGO_PKG_VERSION"),
            engine.address
        ))
        .await;
        log.line("Preparing the \"docker\" executor").await;
        log.line(&format!(
            "Using Docker executor with image {} ...",
            spec.image
        ))
        .await;
        engine
            .ensure_image(&spec.image, &spec.platform, spec.pull, log)
            .await?;
        engine.check_emulation(&spec.platform)?;
        let network = if spec.services.is_empty() {
            None
        } else {
            let wait = self.inner.options.service_wait;
            Some(services::start(engine, spec, &self.prefix, &self.labels, log, wait).await?)
        };

        log.line("Preparing environment").await;
        let mut restore = Vec::new();
        for c in spec.caches.iter().filter(|c| cache::pulls(c)) {
            log.line(&format!("Checking cache for {}...", c.key)).await;
            match cache::find(c) {
                Some((key, dir)) => {
                    log.line(&format!("Successfully extracted cache {key}"))
                        .await;
                    restore.push(dir);
                }
                None => log.line("WARNING: Cache file does not exist").await,
            }
        }
        let vol = volume::prepare(
            engine,
            spec,
            &self.job_dir,
            format!("{}-vol", self.prefix),
            &self.labels,
            restore,
            log,
        )
        .await?;

        // Stage files live beside the project directory, as GitLab's `<project>.tmp`.
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
        // Small scripts go in the command; large ones, and file variables, are copied in.
        let mut files: Vec<(String, String, u32)> = scripts
            .iter()
            .filter(|(_, text)| text.len() > INLINE_LIMIT)
            .map(|(name, text)| (name.to_string(), text.clone(), 0o755))
            .collect();
        for (name, content) in &spec.file_variables {
            env.push(format!("{name}={tmp}/{name}"));
            files.push((name.clone(), content.clone(), 0o644));
        }
        let stage_parts = || -> Vec<Part> {
            files
                .iter()
                .map(|(n, c, m)| {
                    Part::File(
                        format!("{}/{n}", tmp.trim_start_matches('/')),
                        c.clone().into_bytes(),
                        *m,
                    )
                })
                .collect()
        };
        let stage = |name: &str, script: usize, env: Vec<String>| {
            let (file, text) = &scripts[script];
            let path = format!("{tmp}/{file}");
            let source = if text.len() > INLINE_LIMIT {
                ScriptSource::File(&path)
            } else {
                ScriptSource::Inline(text)
            };
            Stage {
                name: format!("{}-{name}", self.prefix),
                image: spec.image.clone(),
                platform: spec.platform.clone(),
                entrypoint: spec.entrypoint.clone(),
                cmd: shell_command(&path, source),
                env,
                working_dir: spec.project_dir.clone(),
                user: spec.user.clone(),
                labels: self.labels.clone(),
                volume: vol.name().to_string(),
                network: network.clone(),
                privileged: spec.privileged,
                docker_socket: spec.mount_docker_socket.then(|| engine.socket_path.clone()),
            }
        };
        let docker = &engine.docker;
        // A failed overlay mount shows only when a container starts: say where it came from.
        let hint = match &vol {
            volume::JobVolume::Overlay { .. } => format!(
                " (the job's files are an overlay mount of directories in {}; a work directory \
                 on another file system, or the upload mode, avoids it)",
                self.inner.options.work_dir.display()
            ),
            volume::JobVolume::Upload { .. } => String::new(),
        };
        let err = |what: &str| {
            let what = what.to_string();
            let hint = hint.clone();
            move |e: bollard::errors::Error| {
                let e = e.to_string();
                let hint = if e.contains("overlay") {
                    hint.as_str()
                } else {
                    ""
                };
                format!("{what}: {e}{hint}")
            }
        };

        let step = stage("step", 0, env.clone());
        let step_id = container::create(docker, &step)
            .await
            .map_err(err("cannot create the job's container"))?;
        let parts = vol.upload_parts();
        if !parts.is_empty() {
            container::upload(docker, &step_id, &spec.project_dir, parts)
                .await
                .map_err(err("cannot copy the project into the job's volume"))?;
        }
        if !files.is_empty() {
            container::upload(docker, &step_id, "/", stage_parts())
                .await
                .map_err(err("cannot copy the job's script into its container"))?;
        }
        log.line("Executing \"step_script\" stage of the job script")
            .await;
        let ended = container::run(docker, &step_id, log, started + spec.timeout)
            .await
            .map_err(err("the job's container failed"))?;
        let succeeded = ended == Ended::Exited(0);

        let mut last_id = step_id;
        if !spec.after_script.iter().all(|c| c.trim().is_empty()) {
            log.line("Running after_script").await;
            log.line("Running after script...").await;
            let mut env = env.clone();
            env.push(format!(
                "CI_JOB_STATUS={}",
                if succeeded { "success" } else { "failed" }
            ));
            let after = stage("after", 1, env);
            let id = container::create(docker, &after)
                .await
                .map_err(err("cannot create the after_script container"))?;
            if !files.is_empty() {
                container::upload(docker, &id, "/", stage_parts())
                    .await
                    .map_err(err("cannot copy after_script into its container"))?;
            }
            let limit = self.inner.options.after_script_timeout;
            match container::run(docker, &id, log, Instant::now() + limit)
                .await
                .map_err(err("the after_script container failed"))?
            {
                Ended::Exited(0) => {}
                Ended::Exited(c) => {
                    log.line(&format!("WARNING: after_script failed, but job will continue unaffected: exit code {c}")).await
                }
                Ended::TimedOut => {
                    log.line(&format!("WARNING: after_script failed, but job will continue unaffected: execution took longer than {}", go_duration(limit))).await
                }
            }
            last_id = id;
        }

        let mut outcome = outputs::collect(engine, spec, &vol, &last_id, succeeded, log).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_durations() {
        assert_eq!(slug("build: [arm64, 1/3]", 40), "build---arm64--1-3");
        assert_eq!(slug("???", 5), "x");
        assert_eq!(go_duration(Duration::from_secs(1)), "1s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_secs(125)), "2m5s");
        assert_ne!(unique_id(), unique_id());
    }
}
