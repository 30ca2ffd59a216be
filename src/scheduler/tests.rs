//! Scheduler tests with the fake executor: ordering, concurrency, GitLab's status rules,
//! selection, retries, delays and cancellation. No Docker, no sleeps.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::checkout::{Checkout, PipelineOrigin};
use crate::event::{JobStatus, PipelineStatus, RunEvent};
use crate::executor::fake::FakeExecutor;
use crate::executor::{AttemptStatus, FailureReason};
use crate::pipeline::Source;
use crate::plan::select::{Selection, select};
use crate::plan::{JobGraph, Plan, PlanInput, PlatformMap};
use crate::rules::ChangedFiles;
use crate::scheduler::{Dispatcher, Finished, Prepare, Prepared, RunSummary, SchedulerOptions};

struct NoChanges;
impl ChangedFiles for NoChanges {
    fn changed(&self, _: Option<&str>) -> Result<Option<Arc<Vec<String>>>, String> {
        Ok(None)
    }
}

struct AllIncluded;
impl crate::pipeline::IncludeContext for AllIncluded {
    fn included(
        &self,
        _: &[crate::pipeline::model::Rule],
    ) -> Result<bool, crate::error::ConfigError> {
        Ok(true)
    }
}

fn plan(yaml: &str) -> (Plan, JobGraph) {
    let dir = tempfile::tempdir().unwrap();
    plan_in(dir.path(), yaml)
}

/// The plan of `yaml` for a project in `dir`, with every include taken and no changes.
pub(super) fn plan_in(dir: &std::path::Path, yaml: &str) -> (Plan, JobGraph) {
    let origin = PipelineOrigin::default();
    let checkout = Checkout::discover(dir, &origin).unwrap();
    let pipeline = crate::pipeline::load_pipeline(
        dir,
        &Source::Embedded {
            name: "t.yml".into(),
            text: yaml.into(),
        },
        &AllIncluded,
    )
    .unwrap();
    let files: Vec<String> = Vec::new();
    let plan = crate::plan::plan(&PlanInput {
        pipeline: &pipeline,
        checkout: &checkout,
        origin: &origin,
        changes: &NoChanges,
        files: &files,
        user_vars: &[],
        project_dir_in_job: "/builds/p",
        platform_map: &PlatformMap::default(),
    })
    .unwrap();
    let graph = JobGraph::build(&plan).unwrap();
    (plan, graph)
}

struct FakePrepare {
    /// The plan's job names, by index.
    names: Vec<String>,
    /// Artifact inputs each job received, by name.
    seen_inputs: HashMap<String, Vec<String>>,
}

impl Prepare for FakePrepare {
    fn prepare(&mut self, index: usize, attempt: u32, inputs: &[&Finished]) -> Prepared {
        let name = self.names[index].clone();
        self.seen_inputs
            .insert(name.clone(), inputs.iter().map(|f| f.job.clone()).collect());
        let spec = crate::executor::fake::test_spec(&name, attempt);
        Prepared::Run {
            spec: Box::new(spec),
            key: None,
            masks: Vec::new(),
        }
    }

    fn log_path(&self, _: usize, _: u32) -> Option<PathBuf> {
        None
    }
}

struct Outcome {
    summary: RunSummary,
    events: Vec<RunEvent>,
    exec: FakeExecutor,
    inputs: HashMap<String, Vec<String>>,
}

impl Outcome {
    fn status(&self, job: &str) -> JobStatus {
        self.summary
            .jobs
            .iter()
            .find(|(i, _)| i.name == job)
            .unwrap_or_else(|| panic!("no result for {job}"))
            .1
            .status
    }

    fn started(&self) -> Vec<String> {
        self.exec.started().into_iter().map(|(n, _)| n).collect()
    }
}

async fn run_with(
    yaml: &str,
    exec: FakeExecutor,
    sel: Selection,
    jobs: usize,
    interrupt_after_start: Option<&str>,
) -> Outcome {
    let (plan, graph) = plan(yaml);
    let picks = select(&plan, &graph, &sel).unwrap();
    let prep = Arc::new(std::sync::Mutex::new(FakePrepare {
        names: plan.jobs.iter().map(|pj| pj.job.name.clone()).collect(),
        seen_inputs: HashMap::new(),
    }));
    let mut events = Vec::new();
    let (tx, rx) = mpsc::channel(4);
    let trigger = interrupt_after_start.map(String::from);
    let mut emit = |e: &RunEvent| {
        if let (Some(t), RunEvent::JobStarted { job, .. }) = (&trigger, e) {
            if job == t {
                let _ = tx.try_send(());
            }
        }
        events.push(e.clone());
    };
    let options = SchedulerOptions {
        max_parallel: jobs,
        no_delay: false,
        run_id: "test".into(),
        run_dir: PathBuf::from("/tmp/x"),
        cancel_grace: Duration::from_secs(1),
        timestamps: false,
    };
    let summary = Dispatcher::new(
        &plan,
        &graph,
        picks,
        options,
        Arc::new(exec.clone()),
        prep.clone(),
        &mut emit,
    )
    .run(rx)
    .await;
    let inputs = std::mem::take(&mut prep.lock().unwrap().seen_inputs);
    Outcome {
        summary,
        events,
        exec,
        inputs,
    }
}

async fn run(yaml: &str, exec: FakeExecutor) -> Outcome {
    run_with(yaml, exec, Selection::default(), 4, None).await
}

pub(super) fn fail(code: i32) -> AttemptStatus {
    AttemptStatus::Failed {
        exit_code: Some(code),
        reason: FailureReason::ScriptFailure,
    }
}

pub(super) fn script(entries: &[(&str, Vec<AttemptStatus>)]) -> FakeExecutor {
    FakeExecutor::new(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

const DAG: &str = "
stages: [build, test, deploy]
build_a: {stage: build, script: [x]}
build_b: {stage: build, script: [x]}
unit: {stage: test, needs: [build_a], script: [x]}
lint: {stage: test, needs: [], script: [x]}
integration: {stage: test, script: [x]}
deploy: {stage: deploy, script: [x]}
";

#[tokio::test]
async fn needs_start_early_and_stages_wait() {
    let o = run(DAG, FakeExecutor::default()).await;
    let order = o.started();
    let pos = |j: &str| order.iter().position(|n| n == j).unwrap();
    assert!(
        pos("lint") < pos("unit"),
        "needs: [] starts with the first stage: {order:?}"
    );
    assert!(pos("build_a") < pos("unit"));
    assert!(pos("build_a") < pos("integration") && pos("build_b") < pos("integration"));
    assert!(pos("integration") < pos("deploy") && pos("unit") < pos("deploy"));
    assert_eq!(o.summary.status, PipelineStatus::Success);
    assert_eq!(
        o.inputs["unit"],
        ["build_a"],
        "needs pass only the needed jobs' artifacts"
    );
    assert_eq!(
        o.inputs["integration"],
        ["build_a", "build_b"],
        "stage ordering passes every earlier job's artifacts"
    );
}

#[tokio::test]
async fn concurrency_is_limited() {
    let yaml = (0..6)
        .map(|i| format!("j{i}: {{script: [x]}}\n"))
        .collect::<String>();
    // That two run at once is `nonblocking_tests::concurrency_reaches_its_limit_and_no_more`:
    // preparing a job takes a trip to a blocking thread, longer than a fake job lasts.
    let o = run_with(
        &yaml,
        FakeExecutor::default(),
        Selection::default(),
        2,
        None,
    )
    .await;
    assert!(o.exec.max_running() <= 2);
    assert_eq!(o.started().len(), 6);
    let o = run_with(
        &yaml,
        FakeExecutor::default(),
        Selection::default(),
        1,
        None,
    )
    .await;
    assert_eq!(o.exec.max_running(), 1);
}

#[tokio::test]
async fn failure_skips_dependents_but_not_on_failure_or_always() {
    let yaml = "
stages: [build, test, cleanup]
build: {stage: build, script: [x]}
unit: {stage: test, script: [x]}
notify: {stage: cleanup, when: on_failure, script: [x]}
tidy: {stage: cleanup, when: always, script: [x]}
";
    let o = run(yaml, script(&[("build", vec![fail(1)])])).await;
    assert_eq!(o.status("build"), JobStatus::Failed);
    assert_eq!(o.status("unit"), JobStatus::Skipped);
    assert_eq!(o.status("notify"), JobStatus::Success);
    assert_eq!(o.status("tidy"), JobStatus::Success);
    assert_eq!(o.summary.status, PipelineStatus::Failed);
    let o = run(yaml, FakeExecutor::default()).await;
    assert_eq!(
        o.status("notify"),
        JobStatus::Skipped,
        "on_failure does not run when all passed"
    );
}

#[tokio::test]
async fn allowed_failures_count_as_passed() {
    let yaml = "
stages: [build, test]
flaky: {stage: build, allow_failure: true, script: [x]}
picky: {stage: build, allow_failure: {exit_codes: [42]}, script: [x]}
unit: {stage: test, needs: [flaky], script: [x]}
";
    let o = run(
        yaml,
        script(&[("flaky", vec![fail(1)]), ("picky", vec![fail(42)])]),
    )
    .await;
    assert_eq!(o.status("flaky"), JobStatus::AllowedFailure);
    assert_eq!(o.status("picky"), JobStatus::AllowedFailure);
    assert_eq!(o.status("unit"), JobStatus::Success);
    assert_eq!(o.summary.status, PipelineStatus::Success);
    let o = run(yaml, script(&[("picky", vec![fail(1)])])).await;
    assert_eq!(
        o.status("picky"),
        JobStatus::Failed,
        "exit code 1 is not among exit_codes"
    );
}

#[tokio::test]
async fn manual_jobs_wait_unless_asked() {
    let yaml = "
stages: [build, deploy, after]
build: {stage: build, script: [x]}
deploy: {stage: deploy, when: manual, script: [x]}
strict: {stage: deploy, when: manual, allow_failure: false, script: [x]}
smoke: {stage: after, needs: [deploy], script: [x]}
report: {stage: after, needs: [build], script: [x]}
";
    let o = run(yaml, FakeExecutor::default()).await;
    assert_eq!(o.status("deploy"), JobStatus::Manual);
    assert_eq!(
        o.status("smoke"),
        JobStatus::Skipped,
        "a job that needs a manual job waits for it"
    );
    assert_eq!(o.status("report"), JobStatus::Success);
    assert!(!o.started().contains(&"deploy".to_string()));
    let sel = Selection {
        patterns: vec!["deploy".into()],
        ..Selection::default()
    };
    let o = run_with(yaml, FakeExecutor::default(), sel, 4, None).await;
    assert_eq!(
        o.status("deploy"),
        JobStatus::Success,
        "naming a manual job runs it"
    );
    assert_eq!(o.started(), ["deploy"]);
    let o = run_with(
        yaml,
        FakeExecutor::default(),
        Selection {
            manual: true,
            ..Selection::default()
        },
        4,
        None,
    )
    .await;
    assert_eq!(o.status("smoke"), JobStatus::Success);
}

#[tokio::test]
async fn manual_not_allowed_to_fail_blocks_later_stages() {
    let yaml = "
stages: [a, b]
gate: {stage: a, script: [x], rules: [{when: manual}]}
after: {stage: b, script: [x]}
";
    let o = run(yaml, FakeExecutor::default()).await;
    assert_eq!(o.status("gate"), JobStatus::Manual);
    assert_eq!(
        o.status("after"),
        JobStatus::Skipped,
        "rules: when: manual is not allowed to fail, so it blocks"
    );
}

#[tokio::test]
async fn retries_follow_retry_when() {
    let yaml = "
a: {script: [x], retry: 2}
b: {script: [x], retry: {max: 2, when: [runner_system_failure]}}
";
    let o = run(
        yaml,
        script(&[
            ("a", vec![fail(1), fail(1), AttemptStatus::Success]),
            ("b", vec![fail(1), AttemptStatus::Success]),
        ]),
    )
    .await;
    assert_eq!(o.status("a"), JobStatus::Success);
    assert_eq!(
        o.summary
            .jobs
            .iter()
            .find(|(i, _)| i.name == "a")
            .unwrap()
            .1
            .attempts,
        3
    );
    assert_eq!(
        o.status("b"),
        JobStatus::Failed,
        "a script failure is not a runner_system_failure"
    );
}

#[tokio::test]
async fn a_job_whose_engine_failed_runs_once_more_whatever_its_retry() {
    let yaml = "
a: {script: [x]}
b: {script: [x], needs: [a]}
";
    let exec = FakeExecutor::default().engine_failing("a", 1);
    let o = run(yaml, exec).await;
    assert_eq!(o.status("a"), JobStatus::Success);
    assert_eq!(o.status("b"), JobStatus::Success);
    let (_, a) = o.summary.jobs.iter().find(|(i, _)| i.name == "a").unwrap();
    assert_eq!(a.attempts, 2);
    assert!(
        a.reason
            .as_deref()
            .is_some_and(|r| r.contains("engine fake0 failed (killed)")),
        "{:?}",
        a.reason
    );
    assert!(o.events.iter().any(|e| matches!(
        e,
        RunEvent::JobLog { job, line } if job == "a" && line.starts_with("WARNING: runner system failure")
    )));
}

#[tokio::test]
async fn selection_with_needs_runs_the_closure() {
    let sel = Selection {
        patterns: vec!["unit".into()],
        with_needs: true,
        ..Selection::default()
    };
    let o = run_with(DAG, FakeExecutor::default(), sel, 4, None).await;
    let mut started = o.started();
    started.sort();
    assert_eq!(started, ["build_a", "unit"]);
    let sel = Selection {
        patterns: vec!["build_*".into()],
        ..Selection::default()
    };
    let o = run_with(DAG, FakeExecutor::default(), sel, 4, None).await;
    assert_eq!(o.summary.jobs.len(), 2, "globs select jobs");
}

#[tokio::test]
async fn interrupt_cancels_running_and_waiting_jobs() {
    let yaml = "
stages: [a, b]
long: {stage: a, script: [x]}
later: {stage: b, script: [x]}
";
    let exec = FakeExecutor::default().hanging(&["long"]);
    let o = run_with(yaml, exec, Selection::default(), 4, Some("long")).await;
    assert_eq!(o.status("long"), JobStatus::Canceled);
    assert_eq!(o.status("later"), JobStatus::Canceled);
    assert_eq!(o.summary.status, PipelineStatus::Canceled);
    assert!(matches!(
        o.events.last(),
        Some(RunEvent::PipelineFinished {
            status: PipelineStatus::Canceled,
            ..
        })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_job_that_ignores_cancellation_is_given_up_after_the_grace() {
    let exec = FakeExecutor::default().stubborn(&["stuck"]);
    let o = run_with(
        "stuck: {script: [x]}\n",
        exec,
        Selection::default(),
        4,
        Some("stuck"),
    )
    .await;
    assert_eq!(o.status("stuck"), JobStatus::Canceled);
    assert_eq!(o.summary.status, PipelineStatus::Canceled);
}

#[tokio::test(start_paused = true)]
async fn delayed_jobs_wait_for_start_in() {
    let yaml = "
stages: [a, b]
first: {stage: a, script: [x]}
later: {stage: b, when: delayed, start_in: 30 minutes, script: [x]}
";
    let before = tokio::time::Instant::now();
    let o = run(yaml, FakeExecutor::default()).await;
    assert_eq!(o.status("later"), JobStatus::Success);
    assert!(
        before.elapsed() >= Duration::from_secs(1800),
        "the paused clock moved by start_in"
    );
}

#[tokio::test]
async fn events_come_in_order_with_logs() {
    let exec = FakeExecutor::default().printing("only", &["hello", "world"]);
    let o = run("only: {script: [x]}\n", exec).await;
    let kinds: Vec<String> = o
        .events
        .iter()
        .map(|e| match e {
            RunEvent::PipelineStarted { .. } => "pipeline_started".into(),
            RunEvent::ChildPipelineStarted { trigger, .. } => format!("child of {trigger}"),
            RunEvent::JobQueued { job } => format!("queued {job}"),
            RunEvent::JobStarted { job, .. } => format!("started {job}"),
            RunEvent::JobLog { line, .. } => format!("log {line}"),
            RunEvent::JobFinished { job, result } => {
                format!("finished {job} {}", result.status.as_str())
            }
            RunEvent::PipelineFinished { .. } => "pipeline_finished".into(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "pipeline_started",
            "queued only",
            "started only",
            "log hello",
            "log world",
            "finished only success",
            "pipeline_finished"
        ]
    );
}

#[tokio::test]
async fn jobs_the_environment_failed_under_are_told_apart_from_jobs_that_failed() {
    let yaml = "
lost: {script: [x]}
full: {script: [x]}
broken: {script: [x]}
allowed: {script: [x], allow_failure: true}
";
    let failed = |reason: FailureReason| AttemptStatus::Failed {
        exit_code: None,
        reason,
    };
    let exec = script(&[
        (
            "lost",
            vec![failed(FailureReason::EngineLost("lost the engine".into()))],
        ),
        (
            "full",
            vec![failed(FailureReason::HostFault("the disk is full".into()))],
        ),
        ("broken", vec![fail(1)]),
        (
            "allowed",
            vec![failed(FailureReason::EngineLost("lost it too".into()))],
        ),
    ]);
    let o = run(yaml, exec).await;
    assert_eq!(o.summary.status, PipelineStatus::Failed);
    let mut faults = o.summary.environment_faults.clone();
    faults.sort();
    // A job allowed to fail does not fail the run, whatever failed it.
    assert_eq!(
        faults,
        [
            ("full".to_string(), "the disk is full".to_string()),
            ("lost".to_string(), "lost the engine".to_string()),
        ]
    );
    assert_eq!(o.status("broken"), JobStatus::Failed);
    assert_eq!(o.status("allowed"), JobStatus::AllowedFailure);
}
