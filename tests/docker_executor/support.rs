//! What the Docker executor tests share: connecting (or skipping without an engine), a project
//! in a git repository with its run snapshot, job specs, and the check that nothing is left.
//! A fixture of the library (it drives `DockerExecutor` directly), not a harness of the binary:
//! tests that run the binary use the `Test` builder of `tests/common/`.
// Two test crates include this file and each uses a part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tezos_ci_local::executor::docker::LABEL_RUN;
use tezos_ci_local::executor::{
    AttemptStatus, CacheSpec, DockerExecutor, DockerOptions, Executor, FailureReason, JobOutcome,
    JobSpec, LogSink, PullPolicy, Workspace,
};
use tezos_ci_local::pipeline::model::{Artifacts, ArtifactsWhen, CachePolicy, Reports};
use tokio_util::sync::CancellationToken;

pub const PROJECT_DIR: &str = "/builds/project";

pub async fn docker_or_skip_with(options: DockerOptions) -> Option<DockerExecutor> {
    match DockerExecutor::connect(options).await {
        Ok(d) => Some(d),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but no Docker engine: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: no usable Docker engine ({e})");
            None
        }
    }
}

pub async fn docker_or_skip() -> Option<DockerExecutor> {
    docker_or_skip_with(DockerOptions::default()).await
}

/// A project in a git repository, its run snapshot, and directories for what jobs leave.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub workspace: Arc<Workspace>,
    pub run_id: String,
}

impl Fixture {
    pub fn new(name: &str) -> Fixture {
        Fixture::with_files(name, 0)
    }

    /// The small project every test uses, plus `extra` files of 1 KB in directories of 100.
    pub fn with_files(name: &str, extra: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("checkout");
        std::fs::create_dir_all(project.join("src")).unwrap();
        std::fs::write(project.join("tracked.txt"), "original\n").unwrap();
        std::fs::write(project.join("other.txt"), "other\n").unwrap();
        std::fs::write(project.join("src/main.c"), "int main;\n").unwrap();
        let filler = vec![b'x'; 1024];
        for i in 0..extra {
            let d = project.join(format!("gen/d{:03}", i / 100));
            if i % 100 == 0 {
                std::fs::create_dir_all(&d).unwrap();
            }
            std::fs::write(d.join(format!("f{i}.txt")), &filler).unwrap();
        }
        git(&project, &["init", "-q"]);
        git(&project, &["add", "-A"]);
        git(&project, &["commit", "-qm", "init"]);
        let workspace =
            Arc::new(Workspace::from_working_tree(&project, &dir.path().join("snapshot")).unwrap());
        Fixture {
            dir,
            workspace,
            run_id: format!("test-{name}-{}", std::process::id()),
        }
    }

    pub fn checkout(&self) -> PathBuf {
        self.dir.path().join("checkout")
    }

    pub fn spec(&self, job: &str, script: &[&str]) -> JobSpec {
        let jobs = self.dir.path().join("jobs").join(job);
        JobSpec {
            run_id: self.run_id.clone(),
            job: job.into(),
            stage: "test".into(),
            attempt: 1,
            image: "busybox:latest".into(),
            entrypoint: None,
            user: None,
            platform: "linux/amd64".into(),
            pull: PullPolicy::IfNotPresent,
            services: vec![],
            script: script.iter().map(|s| s.to_string()).collect(),
            after_script: vec![],
            variables: vec![("CI_PROJECT_DIR".into(), PROJECT_DIR.into())],
            file_variables: vec![],
            timeout: Duration::from_secs(120),
            workspace: self.workspace.clone(),
            project_dir: PROJECT_DIR.into(),
            inputs: vec![],
            artifacts: None,
            artifacts_dir: jobs.join("artifacts"),
            reports_dir: jobs.join("reports"),
            caches: vec![],
            privileged: false,
            mount_docker_socket: false,
            keep: None,
        }
    }
}

pub fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

pub fn artifacts(paths: &[&str], exclude: &[&str]) -> Artifacts {
    Artifacts {
        paths: paths.iter().map(|s| s.to_string()).collect(),
        exclude: exclude.iter().map(|s| s.to_string()).collect(),
        untracked: false,
        when: ArtifactsWhen::OnSuccess,
        name: None,
        expire_in: None,
        expose_as: None,
        reports: Reports::default(),
    }
}

/// Runs one attempt and returns its outcome and log.
pub async fn run_with(
    exec: &DockerExecutor,
    spec: JobSpec,
    masks: Vec<String>,
    cancel: CancellationToken,
) -> (JobOutcome, String) {
    let log_path = spec.artifacts_dir.with_file_name("job.log");
    let sink = LogSink::new(&spec.job, Some(&log_path), None, masks, None).unwrap();
    let outcome = exec.run(Arc::new(spec), sink, cancel).await;
    (outcome, std::fs::read_to_string(&log_path).unwrap())
}

pub async fn run(exec: &DockerExecutor, spec: JobSpec) -> (JobOutcome, String) {
    run_with(exec, spec, vec![], CancellationToken::new()).await
}

/// Nothing labelled with the run is left once the attempts' background removals are over: each
/// attempt cleans up after itself. Then the run's own cleanup, which must be harmless.
pub async fn assert_no_leftovers(exec: &DockerExecutor, run_id: &str) {
    exec.settle().await;
    let docker = exec.docker();
    let filters = HashMap::from([("label".to_string(), vec![format!("{LABEL_RUN}={run_id}")])]);
    let containers = docker
        .list_containers(Some(bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        }))
        .await
        .unwrap();
    let volumes = docker
        .list_volumes(Some(bollard::query_parameters::ListVolumesOptions {
            filters: Some(filters.clone()),
        }))
        .await
        .unwrap()
        .volumes
        .unwrap_or_default();
    let networks = docker
        .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
            filters: Some(filters),
        }))
        .await
        .unwrap();
    assert!(containers.is_empty(), "containers left: {containers:?}");
    assert!(volumes.is_empty(), "volumes left: {volumes:?}");
    assert!(networks.is_empty(), "networks left: {networks:?}");
    exec.cleanup(run_id).await;
}

pub fn failed(exit_code: Option<i32>, reason: FailureReason) -> AttemptStatus {
    AttemptStatus::Failed { exit_code, reason }
}

pub fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            collect_files(root, &e.path(), out);
        } else {
            out.push(e.path().strip_prefix(root).unwrap().display().to_string());
        }
    }
}

pub fn cache(store: &Path, key: &str, policy: CachePolicy) -> CacheSpec {
    CacheSpec {
        key: key.into(),
        fallback_keys: vec!["fallback".into()],
        paths: vec![".cache/".into()],
        untracked: false,
        policy,
        when: ArtifactsWhen::OnSuccess,
        store: store.to_path_buf(),
    }
}
