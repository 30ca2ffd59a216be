//! The job result cache in front of the dispatcher, with the fake executor and a real cache in
//! a temporary state directory: what is cached, what runs again, and what a key depends on.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::event::{JobStatus, RunEvent};
use crate::executor::fake::FakeExecutor;
use crate::executor::{AttemptStatus, PullPolicy, Workspace};
use crate::plan::select::{Selection, select};
use crate::plan::{JobGraph, Plan};
use crate::scheduler::result_keys::{
    CachingPrepare, FileDigests, KeyContext, ProjectConfig, Rerun, plan_keys,
};
use crate::scheduler::spec::{LazyWorkspace, SpecFactory, SpecSettings};
use crate::scheduler::{Dispatcher, SchedulerOptions};
use crate::store::result_cache::{DEFAULT_LIMIT, ResultCache};
use crate::store::runs::RunDir;

/// The plan of `yaml` for a project in `state/project` (the same name in every run of a test,
/// as `CI_PROJECT_NAME` and the like are part of keys).
fn plan(state: &Path, yaml: &str) -> (Plan, JobGraph) {
    let dir = state.join("project");
    std::fs::create_dir_all(&dir).unwrap();
    super::tests::plan_in(&dir, yaml)
}

/// One run's options.
struct Run<'a> {
    yaml: &'a str,
    files: &'a [(&'a str, &'a str)],
    /// Image name -> ID known to the engine.
    images: &'a [(&'a str, &'a str)],
    exec: FakeExecutor,
    rerun: &'a [&'a str],
    config: ProjectConfig,
    /// `--cache-size`.
    limit: u64,
}

impl<'a> Run<'a> {
    fn new(yaml: &'a str) -> Self {
        Run {
            yaml,
            files: &[("src/main.c", "blob1:100644")],
            images: &[("busybox", "sha256:b1")],
            exec: FakeExecutor::default(),
            rerun: &[],
            config: ProjectConfig::default(),
            limit: DEFAULT_LIMIT,
        }
    }
}

/// What a run did: each job's status, and the jobs the executor started.
struct Ran {
    status: HashMap<String, JobStatus>,
    /// Each job's `reason` (why it ran, was cached, failed...).
    reason: HashMap<String, String>,
    started: Vec<String>,
    /// The keys `explain` computes (`plan_keys`), by job name.
    planned: HashMap<String, Result<String, String>>,
}

impl Ran {
    fn status(&self, job: &str) -> JobStatus {
        *self
            .status
            .get(job)
            .unwrap_or_else(|| panic!("no result for {job}"))
    }
}

async fn run(state: &Path, r: Run<'_>) -> Ran {
    let (plan, graph) = plan(state, r.yaml);
    let picks = select(&plan, &graph, &Selection::default()).unwrap();
    let run_picks = picks.clone();
    let run_dir = RunDir::create(state).unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    let files: BTreeMap<String, String> = r
        .files
        .iter()
        .map(|(p, d)| (p.to_string(), d.to_string()))
        .collect();
    let file_digests = Arc::new(FileDigests::new(move || files.clone()));
    let prepare = Arc::new(std::sync::Mutex::new(CachingPrepare::new(
        SpecFactory {
            plan: Arc::new(plan.clone()),
            run_dir: RunDir {
                id: run_dir.id.clone(),
                path: run_dir.path.clone(),
            },
            settings: SpecSettings {
                run_id: run_dir.id.clone(),
                workspace: LazyWorkspace::ready(Workspace {
                    root: snapshot.path().to_path_buf(),
                    files: Vec::new(),
                }),
                project_root: snapshot.path().to_path_buf(),
                file_digests: file_digests.clone(),
                project_dir_in_job: "/builds/p".into(),
                default_image: None,
                pull: PullPolicy::Never,
                default_timeout: Duration::from_secs(60),
                user_vars: Vec::new(),
                privileged: false,
                mount_docker_socket: false,
                keep_failed: false,
                for_shell: false,
                cache_store: state.join("cache"),
            },
        },
        Some(ResultCache::new(state, r.limit)),
        Rerun::new(r.rerun.iter().map(|s| s.to_string()).collect()),
        KeyContext {
            image_ids: Some(
                r.images
                    .iter()
                    .map(|(n, id)| (n.to_string(), id.to_string()))
                    .collect(),
            ),
            config: r.config,
            files: file_digests,
            masked: Default::default(),
        },
    )));
    let mut status = HashMap::new();
    let mut reason = HashMap::new();
    let mut emit = |e: &RunEvent| {
        if let RunEvent::JobFinished { job, result } = e {
            status.insert(job.clone(), result.status);
            reason.insert(job.clone(), result.reason.clone().unwrap_or_default());
        }
    };
    let options = SchedulerOptions {
        max_parallel: 4,
        no_delay: true,
        run_id: run_dir.id.clone(),
        run_dir: run_dir.path.clone(),
        cancel_grace: Duration::from_secs(1),
        timestamps: false,
    };
    let (_tx, rx) = mpsc::channel(1);
    Dispatcher::new(
        &plan,
        &graph,
        run_picks,
        options,
        Arc::new(r.exec.clone()),
        prepare.clone(),
        &mut emit,
    )
    .run(rx)
    .await;
    let prepare = prepare.lock().unwrap();
    prepare.evict();
    assert!(prepare.warnings.is_empty(), "{:?}", prepare.warnings);
    let planned = plan_keys(
        &prepare.inner,
        &graph,
        &picks,
        &prepare.keys,
        prepare.cache.as_ref(),
    )
    .into_iter()
    .zip(&plan.jobs)
    .map(|(k, pj)| (pj.job.name.clone(), k.map(|k| k.key)))
    .collect();
    let mut started: Vec<String> = r.exec.started().into_iter().map(|(n, _)| n).collect();
    started.sort();
    started.dedup();
    Ran {
        status,
        reason,
        started,
        planned,
    }
}

use super::tests::{fail, script};

const CHAIN: &str = "
stages: [build, test]
build: {stage: build, image: busybox, script: [make]}
test: {stage: test, image: busybox, needs: [build], script: [make test]}
lint: {stage: test, image: busybox, needs: [], script: [lint]}
";

#[tokio::test]
async fn a_second_run_of_the_same_inputs_runs_nothing() {
    let state = tempfile::tempdir().unwrap();
    let first = run(state.path(), Run::new(CHAIN)).await;
    assert_eq!(first.started, ["build", "lint", "test"]);
    let second = run(state.path(), Run::new(CHAIN)).await;
    assert!(second.started.is_empty(), "{:?}", second.started);
    for job in ["build", "test", "lint"] {
        assert_eq!(second.status(job), JobStatus::Cached, "{job}");
    }
}

#[tokio::test]
async fn a_changed_file_or_image_runs_the_jobs_again() {
    let state = tempfile::tempdir().unwrap();
    run(state.path(), Run::new(CHAIN)).await;
    let edited = Run {
        files: &[("src/main.c", "blob2:100644")],
        ..Run::new(CHAIN)
    };
    assert_eq!(
        run(state.path(), edited).await.started,
        ["build", "lint", "test"]
    );
    let rebuilt = Run {
        files: &[("src/main.c", "blob2:100644")],
        images: &[("busybox", "sha256:b2")],
        ..Run::new(CHAIN)
    };
    assert_eq!(
        run(state.path(), rebuilt).await.started,
        ["build", "lint", "test"]
    );
}

#[tokio::test]
async fn failed_jobs_are_not_cached() {
    let state = tempfile::tempdir().unwrap();
    let yaml = "
broken: {image: busybox, script: [x]}
flaky: {image: busybox, script: [x], allow_failure: true}
";
    let exec = || script(&[("broken", vec![fail(1)]), ("flaky", vec![fail(1)])]);
    for _ in 0..2 {
        let ran = run(
            state.path(),
            Run {
                exec: exec(),
                ..Run::new(yaml)
            },
        )
        .await;
        assert_eq!(ran.started, ["broken", "flaky"]);
        assert_eq!(ran.status("broken"), JobStatus::Failed);
        assert_eq!(ran.status("flaky"), JobStatus::AllowedFailure);
    }
}

const RETRIED: &str = "
stages: [build, test]
flaky: {stage: build, image: busybox, script: [make], retry: 1}
after: {stage: test, image: busybox, needs: [flaky], script: [check]}
";

/// `after` reads only `tests/`: its key follows `flaky`'s outputs through `flaky`'s key.
fn narrow() -> ProjectConfig {
    ProjectConfig {
        inputs: vec![("after".into(), vec!["tests/**".into()])],
        ..Default::default()
    }
}

#[tokio::test]
async fn a_job_that_passes_on_retry_is_cached() {
    let state = tempfile::tempdir().unwrap();
    let first = run(
        state.path(),
        Run {
            exec: script(&[("flaky", vec![fail(1), AttemptStatus::Success])]),
            ..Run::new(RETRIED)
        },
    )
    .await;
    assert_eq!(first.status("flaky"), JobStatus::Success);
    let second = run(state.path(), Run::new(RETRIED)).await;
    assert_eq!(second.status("flaky"), JobStatus::Cached);
    assert_eq!(second.status("after"), JobStatus::Cached);
}

#[tokio::test]
async fn a_retried_job_gives_its_dependents_what_its_last_attempt_left() {
    let state = tempfile::tempdir().unwrap();
    let retried = |out: &str| {
        script(&[("flaky", vec![fail(1), AttemptStatus::Success])])
            .writing("flaky", &[("out/bin", out)])
    };
    run(
        state.path(),
        Run {
            exec: retried("v1"),
            config: narrow(),
            ..Run::new(RETRIED)
        },
    )
    .await;
    // flaky's source changed, and it is retried again: `after` gets other artifacts.
    let second = run(
        state.path(),
        Run {
            exec: retried("v2"),
            config: narrow(),
            files: &[("src/main.c", "blob2:100644")],
            ..Run::new(RETRIED)
        },
    )
    .await;
    assert_eq!(second.started, ["after", "flaky"]);
    assert_eq!(second.reason["after"], "ran: input `out/bin` changed");
}

#[tokio::test]
async fn dependents_of_a_failed_job_are_cached_by_what_they_received() {
    let state = tempfile::tempdir().unwrap();
    let yaml = "
stages: [build, test]
tool: {stage: build, image: busybox, script: [x], allow_failure: true}
use_tool: {stage: test, image: busybox, needs: [tool], script: [x]}
later: {stage: test, image: busybox, script: [x]}
";
    let exec = || script(&[("tool", vec![fail(1)])]).writing("tool", &[("partial.log", "x")]);
    let first = run(
        state.path(),
        Run {
            exec: exec(),
            ..Run::new(yaml)
        },
    )
    .await;
    assert_eq!(first.status("tool"), JobStatus::AllowedFailure);
    assert_eq!(first.started, ["later", "tool", "use_tool"]);
    let second = run(
        state.path(),
        Run {
            exec: exec(),
            ..Run::new(yaml)
        },
    )
    .await;
    assert_eq!(second.started, ["tool"], "failed jobs are never stored");
    assert_eq!(second.status("use_tool"), JobStatus::Cached);
    assert_eq!(second.status("later"), JobStatus::Cached);
    // What the failed job leaves changes: its consumers run again, and say why.
    let third = run(
        state.path(),
        Run {
            exec: script(&[("tool", vec![fail(1)])]).writing("tool", &[("partial.log", "y")]),
            ..Run::new(yaml)
        },
    )
    .await;
    assert_eq!(third.started, ["later", "tool", "use_tool"]);
    assert_eq!(third.reason["use_tool"], "ran: input `partial.log` changed");
}

/// Nine jobs in four stages, none with `needs`: every job takes artifacts from every job of the
/// stages before it, two of them fail (allowed to), and `deploy` is last.
const NINE: &str = "
stages: [build, test, package, deploy]
build_a: {stage: build, image: busybox, script: [x]}
build_b: {stage: build, image: busybox, script: [x]}
lint: {stage: build, image: busybox, script: [x], allow_failure: true}
unit: {stage: test, image: busybox, script: [x]}
integration: {stage: test, image: busybox, script: [x]}
flaky_bench: {stage: test, image: busybox, script: [x], allow_failure: true}
tarball: {stage: package, image: busybox, script: [x]}
docker_image: {stage: package, image: busybox, script: [x]}
deploy: {stage: deploy, image: busybox, script: [x]}
";

#[tokio::test]
async fn a_second_unchanged_run_with_allowed_failures_caches_every_passed_job() {
    let state = tempfile::tempdir().unwrap();
    let exec = || {
        script(&[("lint", vec![fail(1)]), ("flaky_bench", vec![fail(2)])])
            .writing("build_a", &[("out/a.bin", "a")])
            .writing("lint", &[("lint-report.txt", "3 warnings")])
            .writing("tarball", &[("app.tar", "tar")])
    };
    let first = run(
        state.path(),
        Run {
            exec: exec(),
            ..Run::new(NINE)
        },
    )
    .await;
    assert_eq!(first.started.len(), 9);
    assert_eq!(first.reason["deploy"], "ran: no result stored");
    let second = run(
        state.path(),
        Run {
            exec: exec(),
            ..Run::new(NINE)
        },
    )
    .await;
    assert_eq!(second.started, ["flaky_bench", "lint"]);
    for job in [
        "build_a",
        "build_b",
        "unit",
        "integration",
        "tarball",
        "docker_image",
        "deploy",
    ] {
        assert_eq!(second.status(job), JobStatus::Cached, "{job}");
        assert!(
            second.reason[job].starts_with("inputs unchanged since it passed at "),
            "{job}: {}",
            second.reason[job]
        );
    }
}

/// `build` strips comments: an edit to one changes its source but not its artifact.
const CUTOFF: &str = "
stages: [build, test]
build: {stage: build, image: busybox, script: [make], artifacts: {paths: [out/]}}
test: {stage: test, image: busybox, needs: [build], script: [make test]}
";

fn cutoff_inputs() -> ProjectConfig {
    ProjectConfig {
        inputs: vec![
            ("build".into(), vec!["src/**".into()]),
            ("test".into(), vec!["tests/**".into()]),
        ],
        ..Default::default()
    }
}

#[tokio::test]
async fn early_cutoff_an_identical_artifact_keeps_its_consumers_cached() {
    let state = tempfile::tempdir().unwrap();
    let build = |out: &str| FakeExecutor::default().writing("build", &[("out/app.bin", out)]);
    run(
        state.path(),
        Run {
            exec: build("binary 1"),
            config: cutoff_inputs(),
            ..Run::new(CUTOFF)
        },
    )
    .await;
    // A comment changed: build runs, leaves the same bytes, and test stays cached.
    let comment = run(
        state.path(),
        Run {
            exec: build("binary 1"),
            config: cutoff_inputs(),
            files: &[("src/main.c", "blob-with-comment:100644")],
            ..Run::new(CUTOFF)
        },
    )
    .await;
    assert_eq!(comment.started, ["build"]);
    assert_eq!(comment.reason["build"], "ran: file `src/main.c` changed");
    assert_eq!(comment.status("test"), JobStatus::Cached);
    // Code changed: the artifact differs, and test runs, saying why.
    let code = run(
        state.path(),
        Run {
            exec: build("binary 2"),
            config: cutoff_inputs(),
            files: &[("src/main.c", "blob-with-code:100644")],
            ..Run::new(CUTOFF)
        },
    )
    .await;
    assert_eq!(code.started, ["build", "test"]);
    assert_eq!(code.reason["test"], "ran: input `out/app.bin` changed");
    // The script changed.
    let script_changed = run(
        state.path(),
        Run {
            exec: build("binary 2"),
            config: cutoff_inputs(),
            files: &[("src/main.c", "blob-with-code:100644")],
            ..Run::new(&CUTOFF.replace("make test", "make check"))
        },
    )
    .await;
    assert_eq!(script_changed.started, ["test"]);
    assert_eq!(script_changed.reason["test"], "ran: script changed");
    let image_changed = run(
        state.path(),
        Run {
            exec: build("binary 2"),
            config: cutoff_inputs(),
            files: &[("src/main.c", "blob-with-code:100644")],
            images: &[("busybox", "sha256:other")],
            ..Run::new(&CUTOFF.replace("make test", "make check"))
        },
    )
    .await;
    assert_eq!(image_changed.reason["test"], "ran: image changed");
}

#[tokio::test]
async fn dependents_of_a_manual_job_that_did_not_run_are_cached() {
    let state = tempfile::tempdir().unwrap();
    let yaml = "
stages: [build, test]
build: {stage: build, image: busybox, script: [x]}
deploy: {stage: build, image: busybox, script: [x], when: manual}
later: {stage: test, image: busybox, script: [x]}
";
    run(state.path(), Run::new(yaml)).await;
    let second = run(state.path(), Run::new(yaml)).await;
    assert_eq!(second.status("deploy"), JobStatus::Manual);
    assert_eq!(second.status("later"), JobStatus::Cached);
}

#[tokio::test]
async fn a_job_whose_image_has_no_id_yet_is_not_cached() {
    // The image is pulled by the first run: its key would have said "unknown", which no later
    // run (knowing the ID) would match.
    let state = tempfile::tempdir().unwrap();
    let not_pulled = || Run {
        images: &[],
        ..Run::new(CHAIN)
    };
    run(state.path(), not_pulled()).await;
    assert_eq!(
        run(state.path(), not_pulled()).await.started,
        ["build", "lint", "test"]
    );
    assert!(
        std::fs::read_dir(state.path().join("results"))
            .map(|d| d.flatten().all(|e| e.file_name() == "locks"))
            .unwrap_or(true),
        "nothing stored under a key that says `unknown`"
    );
}

#[tokio::test]
async fn a_smaller_size_limit_evicts_even_when_every_job_was_cached() {
    let state = tempfile::tempdir().unwrap();
    run(state.path(), Run::new(CHAIN)).await;
    let small = run(
        state.path(),
        Run {
            limit: 1,
            ..Run::new(CHAIN)
        },
    )
    .await;
    assert_eq!(small.status("build"), JobStatus::Cached);
    assert_eq!(
        run(state.path(), Run::new(CHAIN)).await.started,
        ["build", "lint", "test"],
        "the 1-byte limit emptied the cache at the end of the run before"
    );
}

#[tokio::test]
async fn rerun_runs_the_job_and_the_jobs_that_take_its_artifacts() {
    let state = tempfile::tempdir().unwrap();
    let yaml = "
stages: [build, test, report]
build: {stage: build, image: busybox, script: [make]}
test: {stage: test, image: busybox, needs: [build], script: [make test]}
lint: {stage: test, image: busybox, needs: [], script: [lint]}
order_only: {stage: test, image: busybox, needs: [{job: build, artifacts: false}], script: [x]}
report: {stage: report, image: busybox, needs: [test], script: [x]}
";
    run(state.path(), Run::new(yaml)).await;
    let rerun = run(
        state.path(),
        Run {
            rerun: &["build"],
            ..Run::new(yaml)
        },
    )
    .await;
    assert_eq!(
        rerun.started,
        ["build", "report", "test"],
        "test receives the rerun's artifacts, and report test's"
    );
    assert_eq!(rerun.status("lint"), JobStatus::Cached);
    assert_eq!(
        rerun.status("order_only"),
        JobStatus::Cached,
        "takes nothing from build"
    );
    let leaf = run(
        state.path(),
        Run {
            rerun: &["te*"],
            ..Run::new(yaml)
        },
    )
    .await;
    assert_eq!(leaf.started, ["report", "test"], "globs name jobs too");
}

#[tokio::test]
async fn explain_computes_the_keys_a_run_stores_results_under() {
    let state = tempfile::tempdir().unwrap();
    let yaml = "
stages: [build, test, deploy]
build: {stage: build, image: busybox, script: [make]}
deploy_early: {stage: build, image: busybox, script: [x], when: manual}
test: {stage: test, image: busybox, needs: [build], script: [make test]}
docs: {stage: test, image: busybox, script: [x], rules: [{changes: [docs/**]}]}
deploy: {stage: deploy, image: busybox, script: [x]}
";
    let ran = run(
        state.path(),
        Run {
            config: narrow(),
            ..Run::new(yaml)
        },
    )
    .await;
    for job in ["build", "test", "docs", "deploy"] {
        assert_eq!(ran.status(job), JobStatus::Success, "{job}");
        let key = ran.planned[job].as_ref().unwrap();
        let manifest = state.path().join("results").join(key).join("manifest.json");
        let text = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("{job}: no entry under the planned key: {e}"));
        assert!(text.contains(&format!("\"job\": \"{job}\"")), "{text}");
    }
}
