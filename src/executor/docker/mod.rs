//! The Docker backend: one attempt of a job in containers on a Docker engine, as GitLab's
//! Docker runner does it: the image, services on a network of the job's own, the project in a
//! volume (an overlay of the run's snapshot when the engine is on this host, else uploaded), each
//! step in its own container on that volume. Everything an attempt creates carries its labels
//! and is removed when it ends, however it ends. GitLab's lifecycle around it is
//! [`Lifecycle`](crate::executor::lifecycle::Lifecycle)'s.

mod cleanup;
mod container;
pub mod engine;
pub mod kept;
pub mod runner_options;
pub mod services;
mod volume;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::Docker;
use futures_util::future::BoxFuture;

use crate::error::Error;
use crate::executor::JobSpec;
use crate::executor::LogSink;
use crate::executor::artifacts::Collection;
use crate::executor::kept::Kept;
use crate::executor::lifecycle::{Backend, Ended, Environment, Lifecycle, ProjectFiles, Step};
use crate::executor::tarball::Part;
use crate::store::liveness::Owner;
use cleanup::{Leftovers, Pending};
pub use cleanup::{Swept, count_dead, remove_dead, remove_dead_job_dirs, remove_labelled};
use container::Stage;
use engine::{DockerOptions, Engine};
use volume::JobVolume;

/// Every object this program creates carries this label (value `1`)...
pub const LABEL: &str = "tezos-ci-local";
/// ...and these, with the run id, the job name and an id of the attempt.
pub const LABEL_RUN: &str = "tezos-ci-local.run";
pub const LABEL_JOB: &str = "tezos-ci-local.job";
pub const LABEL_ATTEMPT: &str = "tezos-ci-local.attempt";
/// ...and the process that made it (`store::liveness::Owner`): whether its run is alive.
pub const LABEL_OWNER: &str = "tezos-ci-local.owner";
/// On the objects of attempts that `--keep-failed` may keep: what a dead run left on purpose
/// is no leftover to warn about (`clean --containers` still removes it).
pub const LABEL_KEEP: &str = "tezos-ci-local.keep";

/// How long the end of a run waits for attempts' removals before sweeping by the run's label.
const REMOVAL_LIMIT: Duration = Duration::from_secs(60);

/// How long an engine has to answer a ping after an attempt failed on it before it is taken
/// for lost.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);

/// GitLab's lifecycle on a Docker engine.
pub type DockerExecutor = Lifecycle<DockerBackend>;

pub struct DockerBackend {
    engine: Arc<Engine>,
    options: Arc<DockerOptions>,
    /// Attempts' removals, which go on after their results are reported.
    pending: Pending,
    /// Attempts kept by `--keep-failed`: the run's sweep leaves their objects.
    kept: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Lifecycle<DockerBackend> {
    /// Connects to the engine (`options.host`, else `DOCKER_HOST`, else the local socket) and
    /// learns what it is. Fails with [`Error::Environment`] when no engine answers.
    pub async fn connect(options: DockerOptions) -> Result<Self, Error> {
        let engine = engine::connect(&options).await?;
        let after_script_timeout = options.after_script_timeout;
        let backend = DockerBackend {
            engine: Arc::new(engine),
            options: Arc::new(options),
            pending: Pending::default(),
            kept: Arc::default(),
        };
        Ok(Lifecycle::new(backend, after_script_timeout))
    }

    /// The engine's own platform, such as `linux/amd64`.
    pub fn engine_platform(&self) -> &str {
        &self.backend().engine.platform
    }

    /// Whether jobs get the project through an overlay (no copy per job), or why not.
    pub fn overlay(&self) -> Result<(), &str> {
        self.backend()
            .engine
            .overlay
            .as_ref()
            .map(|_| ())
            .map_err(|s| s.as_str())
    }

    /// Waits until the attempts that ended have removed what they created (they do it in the
    /// background, after their result is reported).
    pub async fn settle(&self) {
        self.backend().pending.wait(REMOVAL_LIMIT).await
    }

    /// Removes what dead runs left on the engine: the objects carrying `filter` (`LABEL` for
    /// all, `LABEL_RUN=ID` for one run) that `liveness` says are of dead runs (see
    /// [`remove_dead`]).
    pub async fn remove_dead(
        &self,
        filter: &str,
        liveness: impl Fn(&HashMap<String, String>) -> crate::store::liveness::Liveness,
    ) -> Swept {
        remove_dead(&self.backend().engine.docker, filter, liveness).await
    }

    /// The engine client, for callers that need more than jobs (tests, diagnostics).
    pub fn docker(&self) -> &Docker {
        &self.backend().engine.docker
    }
}

impl Backend for DockerBackend {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn describe(&self) -> String {
        format!("the Docker engine at {}", self.engine.address)
    }

    fn attempt(&self, spec: Arc<JobSpec>) -> Result<Box<dyn Environment>, String> {
        let id = unique_id();
        let prefix = format!(
            "tcl-{}-{}-{id}",
            slug(&spec.run_id, 24),
            slug(&spec.job, 40)
        );
        let mut labels = HashMap::from([
            (LABEL.to_string(), "1".to_string()),
            (LABEL_RUN.to_string(), spec.run_id.clone()),
            (LABEL_JOB.to_string(), spec.job.clone()),
            (LABEL_ATTEMPT.to_string(), id.clone()),
            (LABEL_OWNER.to_string(), Owner::current().label()),
        ]);
        if spec.keep.is_some() {
            labels.insert(LABEL_KEEP.to_string(), "1".to_string());
        }
        let dir = tempfile::Builder::new()
            .prefix("tcl-job-")
            .tempdir_in(&self.options.work_dir)
            .map_err(|e| {
                format!(
                    "cannot make a job directory in {}: {e}",
                    self.options.work_dir.display()
                )
            })?;
        let job_dir = dir.path().to_path_buf();
        // Whose it is: a run killed outright cannot remove it, `clean --containers` then does.
        let _ = std::fs::write(
            job_dir.join(cleanup::JOB_DIR_OWNER),
            Owner::current().label(),
        );
        Ok(Box::new(DockerEnv {
            engine: self.engine.clone(),
            options: self.options.clone(),
            spec,
            prefix,
            labels,
            job_dir,
            leftovers: Leftovers {
                docker: self.engine.docker.clone(),
                filter: format!("{LABEL_ATTEMPT}={id}"),
                dir: Some(dir),
                tasks: self.pending.tracker(),
            },
            network: None,
            volume: None,
            project_uploaded: false,
            last_container: None,
            image_id: None,
            kept: self.kept.clone(),
        }))
    }

    fn image_ids(&self, images: Vec<String>) -> BoxFuture<'static, HashMap<String, String>> {
        let docker = self.engine.docker.clone();
        Box::pin(async move {
            let mut ids = HashMap::new();
            for image in images {
                if ids.contains_key(&image) {
                    continue;
                }
                if let Ok(Ok(info)) =
                    tokio::time::timeout(engine::CALL_LIMIT, docker.inspect_image(&image)).await
                {
                    if let Some(id) = info.id {
                        ids.insert(image, id);
                    }
                }
            }
            ids
        })
    }

    fn cleanup(&self, run_id: &str) -> BoxFuture<'static, ()> {
        let docker = self.engine.docker.clone();
        let filter = format!("{LABEL_RUN}={run_id}");
        let pending = self.pending.clone();
        let kept = self.kept.lock().map(|k| k.clone()).unwrap_or_default();
        Box::pin(async move {
            pending.wait(REMOVAL_LIMIT).await;
            cleanup::remove_labelled_except(&docker, &filter, &kept).await
        })
    }

    fn answers(&self) -> BoxFuture<'static, bool> {
        let docker = self.engine.docker.clone();
        Box::pin(async move {
            matches!(
                tokio::time::timeout(ANSWER_LIMIT, docker.ping()).await,
                Ok(Ok(_))
            )
        })
    }
}

/// One attempt on the engine: what it created so far, all of it removed with it.
struct DockerEnv {
    engine: Arc<Engine>,
    options: Arc<DockerOptions>,
    spec: Arc<JobSpec>,
    prefix: String,
    labels: HashMap<String, String>,
    job_dir: PathBuf,
    /// Removes the attempt's objects and directory when cleared or dropped.
    leftovers: Leftovers,
    network: Option<String>,
    volume: Option<JobVolume>,
    project_uploaded: bool,
    /// The last step's container: what the job left is read through it.
    last_container: Option<String>,
    /// The backend's list of kept attempts.
    kept: Arc<std::sync::Mutex<Vec<String>>>,
    /// The job image's ID, once it is present: what a kept attempt records rather than the
    /// name, which may be built from a masked variable.
    image_id: Option<String>,
}

impl DockerEnv {
    /// A failed overlay mount shows only when a container starts: say where it came from.
    fn explain(&self, what: &str, e: bollard::errors::Error) -> String {
        if engine::engine_gone(&e) {
            return format!("{what}: {}", self.engine.lost(&e));
        }
        let e = e.to_string();
        let hint = match &self.volume {
            Some(JobVolume::Overlay { .. }) if e.contains("overlay") => format!(
                " (the job's files are an overlay mount of directories in {}; a work directory \
                 on another file system, or the upload mode, avoids it)",
                self.options.work_dir.display()
            ),
            _ => String::new(),
        };
        format!("{what}: {e}{hint}")
    }

    async fn start(&mut self, log: &mut LogSink) -> Result<(), String> {
        let spec = self.spec.clone();
        log.line(&format!(
            "Using Docker executor with image {} ...",
            spec.image
        ))
        .await;
        let engine = &self.engine;
        let image = engine
            .ensure_image(&spec.image, &spec.platform, spec.pull, log)
            .await?;
        self.image_id = image.id;
        engine.check_emulation(&spec.platform)?;
        if !spec.services.is_empty() {
            let wait = self.options.service_wait;
            self.network =
                Some(services::start(engine, &spec, &self.prefix, &self.labels, log, wait).await?);
        }
        Ok(())
    }

    async fn put_project(&mut self, files: ProjectFiles, log: &mut LogSink) -> Result<(), String> {
        let vol = volume::prepare(
            &self.engine,
            &self.spec,
            &self.job_dir,
            format!("{}-vol", self.prefix),
            &self.labels,
            files,
            log,
        )
        .await?;
        self.volume = Some(vol);
        Ok(())
    }

    async fn run_step(&mut self, step: Step, log: &mut LogSink) -> Result<Ended, String> {
        let spec = self.spec.clone();
        let vol = self
            .volume
            .as_ref()
            .ok_or("the job's volume was not prepared")?;
        let what = if step.name == "step" {
            "the job's container"
        } else {
            "the after_script container"
        };
        let stage = Stage {
            name: format!("{}-{}", self.prefix, step.name),
            image: spec.image.clone(),
            platform: spec.platform.clone(),
            entrypoint: spec.entrypoint.clone(),
            cmd: step.command,
            env: step
                .env
                .into_iter()
                .chain(self.options.runner.env())
                .collect(),
            working_dir: spec.project_dir.clone(),
            user: spec.user.clone(),
            labels: self.labels.clone(),
            volume: vol.name().to_string(),
            network: self.network.clone(),
            privileged: spec.privileged,
            docker_socket: spec
                .mount_docker_socket
                .then(|| self.engine.socket_path.clone()),
            runner: self.options.runner.clone(),
        };
        let docker = &self.engine.docker;
        let id = container::create(docker, &stage)
            .await
            .map_err(|e| self.explain(&format!("cannot create {what}"), e))?;
        self.last_container = Some(id.clone());
        if !self.project_uploaded {
            let parts = vol.upload_parts();
            if !parts.is_empty() {
                container::upload(docker, &id, &spec.project_dir, parts)
                    .await
                    .map_err(|e| {
                        self.explain("cannot copy the project into the job's volume", e)
                    })?;
            }
            self.project_uploaded = true;
        }
        if !step.files.is_empty() {
            let parts = step
                .files
                .into_iter()
                .map(|f| {
                    Part::File(
                        f.path.trim_start_matches('/').to_string(),
                        f.content,
                        f.mode,
                    )
                })
                .collect();
            container::upload(docker, &id, "/", parts)
                .await
                .map_err(|e| self.explain(&format!("cannot copy files into {what}"), e))?;
        }
        container::run(docker, &id, log, step.deadline)
            .await
            .map_err(|e| self.explain(&format!("{what} failed"), e))
    }

    async fn collect(&mut self, collections: Vec<Collection>) -> Result<Vec<Collection>, String> {
        let (Some(vol), Some(container)) = (&self.volume, &self.last_container) else {
            return Err("the job left nothing to collect from".into());
        };
        volume::collect(
            &self.engine,
            vol,
            container,
            &self.spec.project_dir,
            self.spec.workspace.clone(),
            collections,
        )
        .await
    }
}

impl Environment for DockerEnv {
    fn start<'a>(&'a mut self, log: &'a mut LogSink) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(DockerEnv::start(self, log))
    }

    fn put_project<'a>(
        &'a mut self,
        files: ProjectFiles,
        log: &'a mut LogSink,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(DockerEnv::put_project(self, files, log))
    }

    fn run_step<'a>(
        &'a mut self,
        step: Step,
        log: &'a mut LogSink,
    ) -> BoxFuture<'a, Result<Ended, String>> {
        Box::pin(DockerEnv::run_step(self, step, log))
    }

    fn collect(
        &mut self,
        collections: Vec<Collection>,
    ) -> BoxFuture<'_, Result<Vec<Collection>, String>> {
        Box::pin(DockerEnv::collect(self, collections))
    }

    fn tear_down(self: Box<Self>) {
        let this = *self;
        this.leftovers.clear();
    }

    fn keep(self: Box<Self>) -> Option<Kept> {
        let this = *self;
        // Nothing to shell into when the job failed before its project was laid out.
        let (Some(volume), Some(container)) = (&this.volume, &this.last_container) else {
            this.leftovers.clear();
            return None;
        };
        let attempt = this.labels.get(LABEL_ATTEMPT).cloned().unwrap_or_default();
        if let Ok(mut kept) = this.kept.lock() {
            kept.push(attempt.clone());
        }
        let mut host_dirs: Vec<PathBuf> = this.leftovers.keep().into_iter().collect();
        // The run keeps its snapshot while it has kept attempts (an overlay reads it).
        host_dirs.push(this.spec.workspace.root.clone());
        let spec = &this.spec;
        Some(Kept {
            run_id: spec.run_id.clone(),
            job: spec.job.clone(),
            attempt,
            container: container.clone(),
            image: this.image_id.clone().unwrap_or_else(|| spec.image.clone()),
            platform: spec.platform.clone(),
            entrypoint: spec.entrypoint.clone(),
            user: spec.user.clone(),
            volume: volume.name().to_string(),
            project_dir: spec.project_dir.clone(),
            network: this.network.clone(),
            privileged: spec.privileged,
            host_dirs,
            engine: this.options.host.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(slug("build: [arm64, 1/3]", 40), "build---arm64--1-3");
        assert_eq!(slug("???", 5), "x");
    }

    /// Names made of the id must not collide with another process's (the pid comes first) and
    /// must be a valid Docker name part (hex digits only).
    #[test]
    fn unique_ids_name_the_process() {
        let id = unique_id();
        let pid = format!("{:x}", std::process::id());
        assert!(id.starts_with(&pid), "{id} does not start with {pid}");
        assert!(id.len() > pid.len() + 6, "{id}: no counter or clock");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
}
