//! The dispatcher never blocks: preparations and stores that take long (parked on channels the
//! tests control) hold up neither log lines nor Ctrl-C. These run on real time: the blocking part
//! is real. Only the dispatcher's answer is bounded, never the slow work.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc as std_mpsc};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::event::{JobStatus, PipelineStatus, RunEvent};
use crate::executor::fake::FakeExecutor;
use crate::executor::{AttemptStatus, Executor, JobOutcome, JobSpec, LogSink};
use crate::plan::select::{Selection, select};
use crate::scheduler::tests::plan_in;
use crate::scheduler::{Dispatcher, Finished, Prepare, Prepared, RunSummary, SchedulerOptions};

fn spec(job: &str, attempt: u32) -> JobSpec {
    crate::executor::fake::test_spec(job, attempt)
}

/// A gate a blocking call parks on: it says when it got there, then waits to be released.
struct Gate {
    reached: Arc<AtomicBool>,
    release: std_mpsc::Receiver<()>,
}

impl Gate {
    fn new() -> (Gate, Arc<AtomicBool>, std_mpsc::Sender<()>) {
        let reached = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std_mpsc::channel();
        (
            Gate {
                reached: reached.clone(),
                release: rx,
            },
            reached,
            tx,
        )
    }

    fn park(&self) {
        self.reached.store(true, Ordering::SeqCst);
        let _ = self.release.recv();
    }
}

/// Prepares every job at once, except that preparing `slow_prepare` and storing `slow_store`
/// park on their gates.
struct Parking {
    names: Vec<String>,
    slow_prepare: Option<(String, Gate)>,
    slow_store: Option<(String, Gate)>,
    stored: Vec<String>,
}

impl Prepare for Parking {
    fn prepare(&mut self, index: usize, attempt: u32, _: &[&Finished]) -> Prepared {
        let name = &self.names[index];
        if let Some((_, gate)) = self.slow_prepare.as_ref().filter(|(n, _)| n == name) {
            gate.park();
        }
        Prepared::Run {
            spec: Box::new(spec(name, attempt)),
            key: None,
            masks: Vec::new(),
        }
    }

    fn finished(&mut self, index: usize, _: &JobOutcome, finished: &mut Finished) {
        let name = &self.names[index];
        if let Some((_, gate)) = self.slow_store.as_ref().filter(|(n, _)| n == name) {
            gate.park();
        }
        self.stored.push(name.clone());
        finished.result.reason = Some("stored".into());
    }

    fn log_path(&self, _: usize, _: u32) -> Option<PathBuf> {
        None
    }
}

/// An executor whose jobs print numbered lines until they are canceled (the bounded log channel
/// paces them), except those in `quick`, which pass at once.
#[derive(Clone, Default)]
struct Talker {
    quick: Vec<String>,
}

impl Executor for Talker {
    fn run(
        &self,
        spec: Arc<JobSpec>,
        mut log: LogSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, JobOutcome> {
        let quick = self.quick.contains(&spec.job);
        Box::pin(async move {
            if quick {
                log.finish().await;
                return JobOutcome::status_only(AttemptStatus::Success);
            }
            let mut n = 0u64;
            while !cancel.is_cancelled() {
                let line = format!("line {n}");
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = log.line(&line) => {}
                }
                n += 1;
            }
            log.finish().await;
            JobOutcome::status_only(AttemptStatus::Canceled)
        })
    }

    fn cleanup(&self, _run_id: &str) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// What the emit hook saw, with the time of each event.
#[derive(Default)]
struct Seen {
    events: Vec<(Instant, RunEvent)>,
}

impl Seen {
    fn finished(&self, job: &str) -> Option<(Instant, crate::event::JobResult)> {
        self.events.iter().find_map(|(t, e)| match e {
            RunEvent::JobFinished { job: j, result } if j == job => Some((*t, result.clone())),
            _ => None,
        })
    }

    fn started(&self, job: &str) -> bool {
        self.events
            .iter()
            .any(|(_, e)| matches!(e, RunEvent::JobStarted { job: j, .. } if j == job))
    }
}

/// Runs `yaml` with `prepare` and `executor`; `hook` sees every event as it is emitted and may
/// send interrupts (each `true` it returns is one Ctrl-C).
async fn run(
    yaml: &str,
    prepare: Arc<Mutex<Parking>>,
    executor: Arc<dyn Executor>,
    max_parallel: usize,
    mut hook: impl FnMut(&RunEvent) -> bool,
) -> (RunSummary, Seen) {
    let dir = tempfile::tempdir().unwrap();
    let (plan, graph) = plan_in(dir.path(), yaml);
    let picks = select(&plan, &graph, &Selection::default()).unwrap();
    let (tx, rx) = mpsc::channel(4);
    let mut seen = Seen::default();
    let mut emit = |e: &RunEvent| {
        seen.events.push((Instant::now(), e.clone()));
        if hook(e) {
            let _ = tx.try_send(());
        }
    };
    let options = SchedulerOptions {
        max_parallel,
        no_delay: false,
        run_id: "test".into(),
        run_dir: PathBuf::from("/tmp/x"),
        cancel_grace: Duration::from_secs(30),
        timestamps: false,
    };
    let summary = Dispatcher::new(&plan, &graph, picks, options, executor, prepare, &mut emit)
        .run(rx)
        .await;
    (summary, seen)
}

fn names(yaml_jobs: &[&str]) -> Vec<String> {
    yaml_jobs.iter().map(|s| s.to_string()).collect()
}

/// The test: while a preparation is parked (as a 20,000-file snapshot being hashed
/// would be), another job's log lines still arrive, and Ctrl-C is answered at once: the parked
/// job is reported canceled without waiting for its preparation, which the run abandons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_preparation_holds_up_neither_log_lines_nor_ctrl_c() {
    let yaml = "talk: {script: [x]}\nslow: {script: [x]}\n";
    let (gate, reached, release) = Gate::new();
    let prepare = Arc::new(Mutex::new(Parking {
        names: names(&["talk", "slow"]),
        slow_prepare: Some(("slow".into(), gate)),
        slow_store: None,
        stored: Vec::new(),
    }));
    const LINES: usize = 200;
    let mut lines_while_parked = 0;
    let mut asked = None;
    let (summary, seen) = run(yaml, prepare.clone(), Arc::new(Talker::default()), 2, |e| {
        if let RunEvent::JobLog { job, .. } = e {
            if job == "talk" && reached.load(Ordering::SeqCst) {
                lines_while_parked += 1;
                if lines_while_parked == LINES {
                    asked = Some(Instant::now());
                    return true;
                }
            }
        }
        false
    })
    .await;
    // The run is over and the preparation is still parked: only now is it let go.
    assert!(
        prepare.try_lock().is_err(),
        "the preparation is still under way"
    );
    release.send(()).unwrap();

    assert!(lines_while_parked >= LINES, "{lines_while_parked} lines");
    let asked = asked.expect("Ctrl-C was sent");
    let (answered, result) = seen.finished("slow").expect("slow has a result");
    assert_eq!(result.status, JobStatus::Canceled);
    assert_eq!(
        result.reason.as_deref(),
        Some("interrupted while it was being prepared")
    );
    let took = answered.duration_since(asked);
    assert!(
        took < Duration::from_millis(100),
        "Ctrl-C answered after {took:?}"
    );
    assert!(!seen.started("slow"), "a canceled preparation never starts");
    assert_eq!(summary.status, PipelineStatus::Canceled);
    assert_eq!(
        seen.finished("talk").map(|(_, r)| r.status),
        Some(JobStatus::Canceled)
    );
}

/// A store under way when Ctrl-C comes is waited for (it is bounded work, and the result of a
/// job that passed is worth keeping), while the loop goes on answering: jobs still running are
/// canceled at once, and the stored job ends `success` once its store is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_under_way_finishes_while_ctrl_c_cancels_the_rest() {
    let yaml = "done: {script: [x]}\ntalk: {script: [x]}\n";
    let (gate, reached, release) = Gate::new();
    let prepare = Arc::new(Mutex::new(Parking {
        names: names(&["done", "talk"]),
        slow_prepare: None,
        slow_store: Some(("done".into(), gate)),
        stored: Vec::new(),
    }));
    let executor = Talker {
        quick: vec!["done".into()],
    };
    let mut sent = false;
    let mut release = Some(release);
    let (summary, seen) = run(yaml, prepare.clone(), Arc::new(executor), 2, |e| {
        match e {
            // Lines flow while the store is parked: Ctrl-C then.
            RunEvent::JobLog { job, .. }
                if job == "talk" && reached.load(Ordering::SeqCst) && !sent =>
            {
                sent = true;
                return true;
            }
            // `talk` was canceled while `done` was still being stored: let the store end.
            RunEvent::JobFinished { job, .. } if job == "talk" => {
                if let Some(r) = release.take() {
                    r.send(()).unwrap();
                }
            }
            _ => {}
        }
        false
    })
    .await;
    assert!(sent);
    let (talk_end, talk) = seen.finished("talk").unwrap();
    let (done_end, done) = seen.finished("done").unwrap();
    assert_eq!(talk.status, JobStatus::Canceled);
    assert!(
        talk_end <= done_end,
        "talk was answered before the store ended"
    );
    assert_eq!(done.status, JobStatus::Success);
    assert_eq!(done.reason.as_deref(), Some("stored"));
    assert_eq!(prepare.lock().unwrap().stored, ["done"]);
    assert_eq!(summary.status, PipelineStatus::Canceled);
}

/// The concurrency limit is reached, never passed: the jobs hang until Ctrl-C, sent once the
/// second has printed (so both run at once, whatever the preparations' timing).
#[tokio::test]
async fn concurrency_reaches_its_limit_and_no_more() {
    let yaml = (0..6)
        .map(|i| format!("j{i}: {{script: [x]}}\n"))
        .collect::<String>();
    let jobs: Vec<String> = (0..6).map(|i| format!("j{i}")).collect();
    let refs: Vec<&str> = jobs.iter().map(String::as_str).collect();
    let exec = FakeExecutor::new(HashMap::new())
        .hanging(&refs)
        .printing("j1", &["hello"]);
    let prepare = Arc::new(Mutex::new(Parking {
        names: jobs.clone(),
        slow_prepare: None,
        slow_store: None,
        stored: Vec::new(),
    }));
    let (_, seen) = run(
        &yaml,
        prepare,
        Arc::new(exec.clone()),
        2,
        |e| matches!(e, RunEvent::JobLog { job, .. } if job == "j1"),
    )
    .await;
    assert_eq!(exec.max_running(), 2);
    assert!(seen.started("j0") && seen.started("j1"));
    assert!(!seen.started("j2"), "no third job while two hang");
}
