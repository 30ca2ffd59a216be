//! Child pipelines in the dispatcher, with the fake executor: a trigger job with
//! `strategy: depend` takes its child's status, one without passes at once, the nesting limit,
//! and an interrupt while a child's job runs. No Docker, no sleeps.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::event::{JobStatus, PipelineStatus, RunEvent};
use crate::executor::fake::FakeExecutor;
use crate::plan::select::{Selection, select};
use crate::scheduler::child::{ChildRequest, ChildRun, Downstream, WithChildren, prefix_names};
use crate::scheduler::tests::{fail, plan_in, script};
use crate::scheduler::{Dispatcher, Finished, Prepare, Prepared, RunSummary, SchedulerOptions};

/// Runs every job on the fake executor, under its plan name.
struct Names(Vec<String>);

impl Prepare for Names {
    fn prepare(&mut self, index: usize, attempt: u32, _: &[&Finished]) -> Prepared {
        Prepared::Run {
            spec: Box::new(crate::executor::fake::test_spec(&self.0[index], attempt)),
            key: None,
            masks: Vec::new(),
        }
    }

    fn log_path(&self, _: usize, _: u32) -> Option<PathBuf> {
        None
    }
}

/// The variables a trigger job forwarded, with its name.
type Forwarded = (String, Vec<(String, String)>);

/// Every trigger job's child is this YAML.
struct FakeDownstream {
    child: String,
    /// The variables each request forwarded, by trigger job.
    forwarded: Mutex<Vec<Forwarded>>,
}

impl Downstream for Arc<FakeDownstream> {
    fn child(&self, request: &ChildRequest) -> Result<ChildRun, String> {
        let trigger = request.trigger.job.name.clone();
        self.forwarded
            .lock()
            .unwrap()
            .push((trigger.clone(), request.variables.clone()));
        let dir = tempfile::tempdir().unwrap();
        let (mut plan, graph) = plan_in(dir.path(), &self.child);
        let picks = select(&plan, &graph, &Selection::default()).map_err(|e| e.to_string())?;
        prefix_names(&mut plan, &trigger);
        let plan_arc = Arc::new(plan.clone());
        let names = Names(plan.jobs.iter().map(|j| j.job.name.clone()).collect());
        let prepare = WithChildren::new(
            names,
            plan_arc,
            Arc::new(self.clone()),
            request.depth,
            Vec::new(),
        );
        Ok(ChildRun {
            plan,
            graph,
            picks,
            prepare: Arc::new(Mutex::new(prepare)),
        })
    }
}

struct Outcome {
    summary: RunSummary,
    events: Vec<RunEvent>,
    downstream: Arc<FakeDownstream>,
}

impl Outcome {
    /// Every job's last result, the child's included (from the events).
    fn status(&self, job: &str) -> JobStatus {
        self.events
            .iter()
            .rev()
            .find_map(|e| match e {
                RunEvent::JobFinished { job: j, result } if j == job => Some(result.status),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no result for {job}: {:#?}", self.events))
    }

    fn position(&self, pred: impl Fn(&RunEvent) -> bool) -> usize {
        self.events.iter().position(pred).expect("the event")
    }
}

async fn run(
    parent: &str,
    child: &str,
    exec: FakeExecutor,
    depth: u32,
    interrupt_on: Option<&str>,
) -> Outcome {
    run_j(parent, child, exec, depth, interrupt_on, 4).await
}

async fn run_j(
    parent: &str,
    child: &str,
    exec: FakeExecutor,
    depth: u32,
    interrupt_on: Option<&str>,
    max_parallel: usize,
) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let (plan, graph) = plan_in(dir.path(), parent);
    let picks = select(&plan, &graph, &Selection::default()).unwrap();
    let downstream = Arc::new(FakeDownstream {
        child: child.into(),
        forwarded: Mutex::new(Vec::new()),
    });
    let plan_arc = Arc::new(plan.clone());
    let prepare = Arc::new(Mutex::new(WithChildren::new(
        Names(plan.jobs.iter().map(|j| j.job.name.clone()).collect()),
        plan_arc,
        Arc::new(downstream.clone()),
        depth,
        vec!["GLOBAL".to_string()],
    )));
    let (tx, rx) = mpsc::channel(4);
    let mut events = Vec::new();
    let mut emit = |e: &RunEvent| {
        if let (Some(t), RunEvent::JobStarted { job, .. }) = (interrupt_on, e) {
            if job == t {
                let _ = tx.try_send(());
            }
        }
        events.push(e.clone());
    };
    let options = SchedulerOptions {
        max_parallel,
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
        Arc::new(exec),
        prepare,
        &mut emit,
    )
    .run(rx)
    .await;
    Outcome {
        summary,
        events,
        downstream,
    }
}

const PARENT_DEPEND: &str = "
variables: {GLOBAL: g}
stages: [deploy, after]
trig:
  stage: deploy
  variables: {OWN: o}
  rules: [{if: $GLOBAL, variables: {RULED: r}}]
  trigger: {include: child.yml, strategy: depend}
next: {stage: after, script: [x]}
";

const CHILD: &str = "
c1: {script: [x]}
c2: {needs: [c1], script: [x]}
";

#[tokio::test]
async fn with_depend_the_trigger_job_waits_for_its_child_and_takes_its_status() {
    let o = run(PARENT_DEPEND, CHILD, FakeExecutor::default(), 0, None).await;
    assert_eq!(o.status("trig » c1"), JobStatus::Success);
    assert_eq!(o.status("trig » c2"), JobStatus::Success);
    assert_eq!(o.status("trig"), JobStatus::Success);
    assert_eq!(o.status("next"), JobStatus::Success);
    let announced = o.position(|e| matches!(e, RunEvent::ChildPipelineStarted { trigger, jobs } if trigger == "trig" && jobs.len() == 2));
    let c2_done =
        o.position(|e| matches!(e, RunEvent::JobFinished { job, .. } if job == "trig » c2"));
    let trig_done = o.position(|e| matches!(e, RunEvent::JobFinished { job, .. } if job == "trig"));
    let next_started =
        o.position(|e| matches!(e, RunEvent::JobStarted { job, .. } if job == "next"));
    assert!(announced < c2_done && c2_done < trig_done && trig_done < next_started);
    // Only the parent's jobs make its summary; the pipeline ends once.
    assert_eq!(o.summary.jobs.len(), 2);
    assert_eq!(
        o.events
            .iter()
            .filter(|e| matches!(e, RunEvent::PipelineFinished { .. }))
            .count(),
        1
    );
    // `forward:yaml_variables` (the default): the job's own, its rule's and the global ones.
    let forwarded = o.downstream.forwarded.lock().unwrap().clone();
    assert_eq!(forwarded.len(), 1);
    let mut vars = forwarded[0].1.clone();
    vars.sort();
    assert_eq!(
        vars,
        [
            ("GLOBAL".to_string(), "g".to_string()),
            ("OWN".into(), "o".into()),
            ("RULED".into(), "r".into())
        ]
    );
}

#[tokio::test]
async fn with_depend_a_failed_child_fails_the_trigger_job() {
    let exec = script(&[("trig » c1", vec![fail(2)])]);
    let o = run(PARENT_DEPEND, CHILD, exec, 0, None).await;
    assert_eq!(o.status("trig » c1"), JobStatus::Failed);
    assert_eq!(o.status("trig » c2"), JobStatus::Skipped);
    assert_eq!(o.status("trig"), JobStatus::Failed);
    assert_eq!(o.status("next"), JobStatus::Skipped);
    assert_eq!(o.summary.status, PipelineStatus::Failed);
}

#[tokio::test]
async fn without_depend_the_trigger_passes_and_the_run_waits_for_the_child() {
    let parent = "
stages: [deploy, after]
trig: {stage: deploy, trigger: {include: child.yml}}
next: {stage: after, script: [x]}
";
    let exec = script(&[("trig » c1", vec![fail(2)])]);
    let o = run(parent, CHILD, exec, 0, None).await;
    assert_eq!(o.status("trig"), JobStatus::Success);
    assert_eq!(o.status("next"), JobStatus::Success);
    // The child still ran to its end before the run ended.
    assert_eq!(o.status("trig » c1"), JobStatus::Failed);
    assert_eq!(o.status("trig » c2"), JobStatus::Skipped);
    assert_eq!(o.summary.status, PipelineStatus::Success);
}

#[tokio::test]
async fn a_child_deeper_than_gitlabs_limit_fails_its_trigger_job() {
    // The pipeline is already a grandchild (depth 2): its trigger would make a third level.
    let o = run(PARENT_DEPEND, CHILD, FakeExecutor::default(), 2, None).await;
    assert_eq!(o.status("trig"), JobStatus::Failed);
    let reason = o
        .summary
        .jobs
        .iter()
        .find(|(i, _)| i.name == "trig")
        .and_then(|(_, r)| r.reason.clone())
        .unwrap();
    assert!(reason.contains("at most 2 levels"), "{reason}");
    assert!(o.downstream.forwarded.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_interrupt_while_a_childs_job_runs_cancels_the_child_and_its_trigger() {
    let exec = FakeExecutor::default().hanging(&["trig » c1"]);
    let o = run(PARENT_DEPEND, CHILD, exec, 0, Some("trig » c1")).await;
    assert_eq!(o.status("trig » c1"), JobStatus::Canceled);
    assert_eq!(o.status("trig » c2"), JobStatus::Canceled);
    assert_eq!(o.status("trig"), JobStatus::Canceled);
    assert_eq!(o.status("next"), JobStatus::Canceled);
    assert_eq!(o.summary.status, PipelineStatus::Canceled);
}

/// A child whose loading parks until released.
struct ParkedDownstream {
    reached: std::sync::mpsc::Sender<()>,
    release: Mutex<std::sync::mpsc::Receiver<()>>,
    loaded: std::sync::atomic::AtomicBool,
}

impl Downstream for Arc<ParkedDownstream> {
    fn child(&self, _: &ChildRequest) -> Result<ChildRun, String> {
        let _ = self.reached.send(());
        let _ = self.release.lock().unwrap().recv();
        self.loaded.store(true, std::sync::atomic::Ordering::SeqCst);
        Err("released".into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_is_answered_while_a_child_pipeline_is_being_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let (plan, graph) = plan_in(dir.path(), PARENT_DEPEND);
    let picks = select(&plan, &graph, &Selection::default()).unwrap();
    let (reached_tx, reached_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    let downstream = Arc::new(ParkedDownstream {
        reached: reached_tx,
        release: Mutex::new(release_rx),
        loaded: std::sync::atomic::AtomicBool::new(false),
    });
    let prepare = Arc::new(Mutex::new(WithChildren::new(
        Names(plan.jobs.iter().map(|j| j.job.name.clone()).collect()),
        Arc::new(plan.clone()),
        Arc::new(downstream.clone()),
        0,
        Vec::new(),
    )));
    let (tx, rx) = mpsc::channel(4);
    // Interrupts once the child's loading is under way (and parked).
    let interrupter = std::thread::spawn(move || {
        reached_rx.recv().unwrap();
        tx.blocking_send(()).unwrap();
    });
    let mut events = Vec::new();
    let mut emit = |e: &RunEvent| events.push(e.clone());
    let options = SchedulerOptions {
        max_parallel: 4,
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
        Arc::new(FakeExecutor::default()),
        prepare,
        &mut emit,
    )
    .run(rx)
    .await;
    interrupter.join().unwrap();
    // The run ended while the child was still being loaded: the loop did not wait for it.
    assert!(!downstream.loaded.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(summary.status, PipelineStatus::Canceled);
    let trig = summary.jobs.iter().find(|(i, _)| i.name == "trig").unwrap();
    assert_eq!(trig.1.status, JobStatus::Canceled);
    release_tx.send(()).unwrap();
}

/// A parent whose trigger job (first, so it starts first) shares its stage with three jobs.
const PARENT_BUSY: &str = "
trig: {trigger: {include: child.yml}}
p1: {script: [x]}
p2: {script: [x]}
p3: {script: [x]}
";

const CHILD_WIDE: &str = "
c1: {script: [x]}
c2: {script: [x]}
c3: {script: [x]}
c4: {script: [x]}
";

#[tokio::test]
async fn minus_j_is_one_limit_across_the_parent_and_its_child() {
    for j in [1, 2, 3] {
        let exec = FakeExecutor::default();
        let o = run_j(PARENT_BUSY, CHILD_WIDE, exec.clone(), 0, None, j).await;
        for job in ["p1", "p2", "p3", "trig » c1", "trig » c4"] {
            assert_eq!(o.status(job), JobStatus::Success, "-j {j}: {job}");
        }
        // Seven jobs run, from two dispatchers: never more than `-j` at once between them.
        // (How many run at once below that depends on how fast the fake finishes a job.)
        assert_eq!(exec.started().len(), 7);
        assert!(
            (1..=j).contains(&exec.max_running()),
            "-j {j}: {} at once",
            exec.max_running()
        );
    }
}

#[tokio::test]
async fn with_depend_and_minus_j_1_the_trigger_job_does_not_hold_its_childs_slot() {
    let exec = FakeExecutor::default();
    let o = run_j(PARENT_DEPEND, CHILD, exec.clone(), 0, None, 1).await;
    assert_eq!(o.status("trig » c2"), JobStatus::Success);
    assert_eq!(o.status("trig"), JobStatus::Success);
    assert_eq!(o.status("next"), JobStatus::Success);
    assert_eq!(exec.max_running(), 1);
}
