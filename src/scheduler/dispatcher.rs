//! The one dispatcher loop: it owns every job's state, starts jobs the moment their needs are met
//! (up to the concurrency limit), applies GitLab's status rules, retries, delays and cancellation,
//! and turns what executors send into `RunEvent`s. Executors and reporters only talk to it by
//! messages; nothing else holds mutable state.
//!
//! The loop never blocks: what touches files or hashes (preparing a job: the project snapshot, the
//! project files' digests, the digests of received artifacts, result-cache lookups and restores;
//! storing a passed job's result) runs on a blocking thread, one piece of work at a time in the
//! order the loop queued it, and reports back by message. Meanwhile log lines flow, running jobs
//! end and Ctrl-C is answered.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::event::{JobInfo, JobResult, JobStatus, PipelineStatus, RunEvent};
use crate::executor::log::{LogLine, LogSink};
use crate::executor::{AttemptStatus, Executor, JobOutcome};
use crate::pipeline::model::When;
use crate::plan::select::Pick;
use crate::plan::{JobGraph, Plan};
use crate::scheduler::child::ChildRun;
use crate::scheduler::slots::Slots;
use crate::scheduler::{Finished, Prepared, SchedulerOptions, SharedPrepare};

/// Messages from running jobs and from the preparation worker.
enum Msg {
    Done {
        index: usize,
        attempt: u32,
        outcome: JobOutcome,
        coverage: Option<f64>,
        log: Option<std::path::PathBuf>,
    },
    /// A job's preparation is over.
    Prepared {
        index: usize,
        attempt: u32,
        ready: Ready,
    },
    /// A job's result went through `Prepare::finished` (stored in the result cache if it passed).
    Stored { index: usize, finished: Finished },
}

/// A prepared job, with its log opened (off the loop too: it creates a file).
enum Ready {
    Run {
        spec: Box<crate::executor::JobSpec>,
        key: Option<String>,
        sink: LogSink,
        log: Option<std::path::PathBuf>,
    },
    Cached(Finished),
    Fail(String),
    Child(Box<ChildRun>),
}

/// A child pipeline's dispatcher has returned.
struct ChildDone {
    index: usize,
    attempt: u32,
    summary: RunSummary,
}

/// Work for the preparation worker, done in the order queued.
enum Work {
    Prepare {
        index: usize,
        attempt: u32,
        inputs: Vec<Finished>,
    },
    Store {
        index: usize,
        outcome: Box<JobOutcome>,
        finished: Box<Finished>,
    },
}

#[derive(Debug, Clone)]
enum State {
    Waiting,
    /// Delayed until this instant.
    Delayed(tokio::time::Instant),
    /// Its preparation is queued or under way (it holds a slot, as a running job does).
    Preparing,
    Running {
        started: Instant,
        key: Option<String>,
    },
    /// Ended; its result is being stored. What it would be reported as if the store is given up.
    Storing(Box<Finished>),
    Done(Box<Finished>),
}

/// The outcome of a whole run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub status: PipelineStatus,
    pub duration: Duration,
    pub jobs: Vec<(JobInfo, JobResult)>,
    /// The failed jobs that failed through no fault of their own (the engine lost, this host's
    /// disk full: [`crate::executor::FailureReason::is_environment`]), each with why: the run exits 2.
    pub environment_faults: Vec<(String, String)>,
}

pub struct Dispatcher<'a> {
    plan: &'a Plan,
    graph: &'a JobGraph,
    picks: Vec<Pick>,
    options: SchedulerOptions,
    executor: Arc<dyn Executor>,
    prepare: SharedPrepare,
    /// Work queued for the preparation worker, and whether a piece of it is under way.
    work: VecDeque<Work>,
    working: bool,
    emit: &'a mut dyn FnMut(&RunEvent),
    states: Vec<State>,
    running: usize,
    cancel: CancellationToken,
    job_tokens: HashMap<usize, CancellationToken>,
    canceling: bool,
    /// Whether a delayed job's `start_in` has elapsed.
    delay_over: Vec<bool>,
    /// The attempt a waiting job starts with (above 1 after a retry).
    next_attempt: Vec<u32>,
    /// Engines that failed under a job (its retry elsewhere), for its summary line.
    engine_failures: Vec<Option<String>>,
    environment_faults: Vec<(String, String)>,
    /// After an interrupt: when to stop waiting for running jobs to stop.
    cancel_deadline: Option<tokio::time::Instant>,
    /// Child pipelines under way, each a dispatcher of its own, polled by this loop (their jobs
    /// run in tasks, like this one's; their preparations on the blocking thread).
    children: FuturesUnordered<LocalBoxFuture<'static, ChildDone>>,
    /// Where the children's dispatchers send their events, with their trigger job's name.
    child_tx: Option<mpsc::UnboundedSender<(String, RunEvent)>>,
    /// Each child's interrupts: this loop passes every interrupt on.
    child_interrupts: Vec<mpsc::Sender<()>>,
    /// A child pipeline's dispatcher: its parent's run sweeps the engine at the end.
    nested: bool,
    /// Trigger jobs without `strategy: depend` whose child has not announced itself yet.
    undepending: HashMap<String, (usize, u32)>,
    /// The run's `-j` slots, shared with its children's dispatchers.
    slots: Slots,
    /// Changes when any dispatcher sharing the slots frees one.
    freed: watch::Receiver<u64>,
    /// Trigger jobs whose child runs: their slot is already given back.
    slot_given_back: Vec<bool>,
}

impl<'a> Dispatcher<'a> {
    pub fn new(
        plan: &'a Plan,
        graph: &'a JobGraph,
        picks: Vec<Pick>,
        options: SchedulerOptions,
        executor: Arc<dyn Executor>,
        prepare: SharedPrepare,
        emit: &'a mut dyn FnMut(&RunEvent),
    ) -> Self {
        let n = plan.jobs.len();
        let slots = Slots::new(options.max_parallel);
        Dispatcher {
            freed: slots.watch(),
            slots,
            slot_given_back: vec![false; n],
            plan,
            graph,
            picks,
            options,
            executor,
            prepare,
            work: VecDeque::new(),
            working: false,
            emit,
            states: vec![State::Waiting; n],
            running: 0,
            cancel: CancellationToken::new(),
            job_tokens: HashMap::new(),
            canceling: false,
            delay_over: vec![false; n],
            next_attempt: vec![1; n],
            engine_failures: vec![None; n],
            environment_faults: Vec::new(),
            cancel_deadline: None,
            children: FuturesUnordered::new(),
            child_tx: None,
            child_interrupts: Vec::new(),
            nested: false,
            undepending: HashMap::new(),
        }
    }

    /// A child pipeline's dispatcher: canceled with its parent's, and leaving the engine's
    /// sweep to the parent's run (the jobs of both carry the same run id).
    /// It takes its slots from its parent's: `-j` is one limit for the run.
    pub fn nested(mut self, parent: &CancellationToken, slots: Slots) -> Self {
        self.cancel = parent.child_token();
        self.nested = true;
        self.freed = slots.watch();
        self.slots = slots;
        self
    }

    /// A job's slot is free (it ended, or will be tried again).
    fn free_slot(&mut self, i: usize) {
        self.running -= 1;
        if !std::mem::take(&mut self.slot_given_back[i]) {
            self.slots.give_back();
        }
    }

    /// What unselected jobs left in past runs (`run JOB` without `--needs`): the selected jobs
    /// that take their artifacts receive these, as if those jobs had run.
    pub fn with_received(mut self, received: Vec<(usize, Finished)>) -> Self {
        for (i, f) in received {
            if self.picks.get(i) == Some(&Pick::Unselected) {
                self.states[i] = State::Done(Box::new(f));
            }
        }
        self
    }

    fn shown(&self) -> Vec<usize> {
        (0..self.plan.jobs.len())
            .filter(|&i| self.picks[i] != Pick::Unselected)
            .collect()
    }

    fn info(&self, i: usize) -> JobInfo {
        let pj = &self.plan.jobs[i];
        JobInfo {
            name: pj.job.name.clone(),
            stage: pj.job.stage.clone(),
            platform: pj.platform.clone(),
            when: pj.when.to_string(),
            allow_failure: pj.allow_failure.is_allowed(),
            needs: self.graph.deps[i]
                .iter()
                .filter(|&&d| self.picks[d] != Pick::Unselected)
                .map(|&d| self.plan.jobs[d].job.name.clone())
                .collect(),
            uses_needs: self.graph.uses_needs[i],
        }
    }

    /// Runs until every selected job has a result. `interrupts` yields once per Ctrl-C/SIGTERM.
    pub async fn run(mut self, mut interrupts: mpsc::Receiver<()>) -> RunSummary {
        let started = Instant::now();
        let shown = self.shown();
        let infos: Vec<JobInfo> = shown.iter().map(|&i| self.info(i)).collect();
        (self.emit)(&RunEvent::PipelineStarted {
            run_id: self.options.run_id.clone(),
            run_dir: self.options.run_dir.clone(),
            jobs: infos,
        });
        for &i in &shown {
            if self.picks[i] == Pick::Manual {
                self.finish_without_running(
                    i,
                    JobStatus::Manual,
                    Some("manual job: run it with `tezos-ci-local run JOB` or --manual".into()),
                );
            } else {
                (self.emit)(&RunEvent::JobQueued {
                    job: self.plan.jobs[i].job.name.clone(),
                });
            }
        }
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Msg>();
        // Bounded: a job that prints faster than the reporters render waits, so memory stays flat.
        let (log_tx, mut log_rx) = mpsc::channel::<LogLine>(1024);
        // Unbounded, but only filled while this loop polls a child's dispatcher, which yields
        // after a bounded number of lines (tokio's cooperative budget).
        let (child_tx, mut child_rx) = mpsc::unbounded_channel::<(String, RunEvent)>();
        self.child_tx = Some(child_tx);
        let mut forced = false;
        loop {
            self.advance();
            self.pump(&done_tx, &log_tx);
            if self.all_done() && self.children.is_empty() {
                break;
            }
            let next_delay = self
                .states
                .iter()
                .filter_map(|s| {
                    if let State::Delayed(t) = s {
                        Some(*t)
                    } else {
                        None
                    }
                })
                .min();
            tokio::select! {
                biased;
                Some(()) = interrupts.recv() => {
                    if self.canceling {
                        forced = true;
                        break;
                    }
                    self.start_canceling();
                }
                // Log lines before completions: a job's last lines are sent before it reports done.
                Some(line) = log_rx.recv() => (self.emit)(&RunEvent::JobLog { job: line.job, line: line.line }),
                // A slot freed, here or in a child (or a parent): waiting jobs look again.
                Ok(()) = self.freed.changed() => {}
                Some((trigger, event)) = child_rx.recv() => self.child_event(&trigger, event),
                Some(done) = self.children.next(), if !self.children.is_empty() => {
                    // The child's last events were sent while it was polled: they come first.
                    while let Ok((trigger, event)) = child_rx.try_recv() {
                        self.child_event(&trigger, event);
                    }
                    self.on_child_done(done);
                }
                Some(msg) = done_rx.recv() => match msg {
                    Msg::Done { .. } => self.on_done(msg),
                    Msg::Prepared { index, attempt, ready } => {
                        self.working = false;
                        self.on_prepared(index, attempt, ready, &done_tx);
                    }
                    Msg::Stored { index, finished } => {
                        self.working = false;
                        if matches!(self.states[index], State::Storing(_)) {
                            self.complete(index, finished);
                        }
                    }
                },
                // Executors stop promptly when canceled; one that does not is given up on.
                _ = sleep_until_opt(self.cancel_deadline) => {
                    forced = true;
                    break;
                }
                _ = sleep_until_opt(next_delay) => {
                    let now = tokio::time::Instant::now();
                    for (i, s) in self.states.iter_mut().enumerate() {
                        if matches!(s, State::Delayed(t) if *t <= now) {
                            *s = State::Waiting;
                            self.delay_over[i] = true;
                        }
                    }
                }
            }
        }
        // Drain log lines that arrived before the last job ended.
        while let Ok(line) = log_rx.try_recv() {
            (self.emit)(&RunEvent::JobLog {
                job: line.job,
                line: line.line,
            });
        }
        if forced {
            self.cancel.cancel();
            // Children stop at once on a second interrupt (they only leave their loop); their
            // last events are still reported.
            for tx in &self.child_interrupts {
                let _ = tx.try_send(());
                let _ = tx.try_send(());
            }
            while let Some(done) = self.children.next().await {
                while let Ok((trigger, event)) = child_rx.try_recv() {
                    self.child_event(&trigger, event);
                }
                self.on_child_done(done);
            }
            for i in 0..self.states.len() {
                match &self.states[i] {
                    State::Running { .. } => self.finish_without_running(
                        i,
                        JobStatus::Canceled,
                        Some("killed by a second interrupt".into()),
                    ),
                    // Its store is abandoned (an entry is written aside and renamed into place,
                    // so none is left half written); its result stands.
                    State::Storing(f) => {
                        let f = (**f).clone();
                        self.complete(i, f);
                    }
                    _ => {}
                }
            }
        }
        // Whatever happened, nothing labelled with this run outlives it.
        if !self.nested {
            self.executor.cleanup(&self.options.run_id).await;
        }
        let jobs: Vec<(JobInfo, JobResult)> = shown
            .iter()
            .filter_map(|&i| match &self.states[i] {
                State::Done(f) => Some((self.info(i), f.result.clone())),
                _ => None,
            })
            .collect();
        let status = if self.canceling {
            PipelineStatus::Canceled
        } else if jobs.iter().any(|(_, r)| r.status == JobStatus::Failed) {
            PipelineStatus::Failed
        } else {
            PipelineStatus::Success
        };
        let duration = started.elapsed();
        (self.emit)(&RunEvent::PipelineFinished {
            status,
            duration,
            run_dir: self.options.run_dir.clone(),
        });
        RunSummary {
            status,
            duration,
            jobs,
            environment_faults: std::mem::take(&mut self.environment_faults),
        }
    }

    fn all_done(&self) -> bool {
        (0..self.states.len())
            .all(|i| self.picks[i] == Pick::Unselected || matches!(self.states[i], State::Done(_)))
    }

    fn start_canceling(&mut self) {
        self.canceling = true;
        self.cancel_deadline = Some(tokio::time::Instant::now() + self.options.cancel_grace);
        self.cancel.cancel();
        for tx in &self.child_interrupts {
            let _ = tx.try_send(());
        }
        // Queued preparations are dropped; the one under way, if any, is abandoned (what it
        // reports is ignored). Stores of jobs that passed still go on, until the grace ends.
        self.work.retain(|w| matches!(w, Work::Store { .. }));
        for i in 0..self.states.len() {
            if matches!(self.states[i], State::Preparing) {
                self.finish_without_running(
                    i,
                    JobStatus::Canceled,
                    Some("interrupted while it was being prepared".into()),
                );
            }
        }
        for i in 0..self.states.len() {
            if self.picks[i] != Pick::Unselected
                && matches!(self.states[i], State::Waiting | State::Delayed(_))
            {
                self.finish_without_running(
                    i,
                    JobStatus::Canceled,
                    Some("interrupted before it started".into()),
                );
            }
        }
    }

    fn finish_without_running(&mut self, i: usize, status: JobStatus, reason: Option<String>) {
        self.finish_empty(i, status, 0, reason);
    }

    /// Completes job `i` with a result that has no output: no exit code, log or artifacts.
    fn finish_empty(&mut self, i: usize, status: JobStatus, attempts: u32, reason: Option<String>) {
        let result = JobResult {
            status,
            exit_code: None,
            duration: Duration::ZERO,
            platform: self.plan.jobs[i].platform.clone(),
            attempts,
            reason,
            coverage: None,
            log: None,
            junit: Vec::new(),
        };
        self.complete(
            i,
            Finished {
                job: self.plan.jobs[i].job.name.clone(),
                result,
                artifacts: None,
                dotenv: Vec::new(),
                key: None,
            },
        );
    }

    fn complete(&mut self, i: usize, finished: Finished) {
        if matches!(self.states[i], State::Running { .. } | State::Preparing) {
            self.free_slot(i);
        }
        (self.emit)(&RunEvent::JobFinished {
            job: self.plan.jobs[i].job.name.clone(),
            result: finished.result.clone(),
        });
        self.states[i] = State::Done(Box::new(finished));
        self.job_tokens.remove(&i);
    }

    /// Moves every job whose dependencies are settled: to a result (skipped...), to a delay, or
    /// to running, while there is room. Jobs start in plan order, which is stage then file order.
    fn advance(&mut self) {
        if self.canceling {
            return;
        }
        loop {
            let mut progressed = false;
            for i in 0..self.states.len() {
                if self.picks[i] != Pick::Run || !matches!(self.states[i], State::Waiting) {
                    continue;
                }
                match self.decide(i) {
                    Decision::Wait => {}
                    Decision::Finish(status, reason) => {
                        self.finish_without_running(i, status, Some(reason));
                        progressed = true;
                    }
                    Decision::Start => {
                        let pj = &self.plan.jobs[i];
                        if pj.when == When::Delayed && !self.options.no_delay && !self.delay_over[i]
                        {
                            if let Some(d) = pj.start_in.filter(|d| !d.is_zero()) {
                                self.states[i] = State::Delayed(tokio::time::Instant::now() + d);
                                continue;
                            }
                        }
                        if !self.slots.has_room() {
                            continue;
                        }
                        self.start(i, self.next_attempt[i]);
                        progressed = true;
                    }
                }
            }
            if !progressed {
                break;
            }
        }
    }

    /// GitLab's status rules: what a job does once what it depends on has settled.
    fn decide(&self, i: usize) -> Decision {
        let pj = &self.plan.jobs[i];
        let mut failed = None;
        let mut blocked = None;
        let mut canceled = false;
        for &d in &self.graph.deps[i] {
            if self.picks[d] == Pick::Unselected {
                continue; // not part of this run: its absence does not hold anyone back
            }
            let State::Done(f) = &self.states[d] else {
                return Decision::Wait;
            };
            let name = &self.plan.jobs[d].job.name;
            match f.result.status {
                JobStatus::Success | JobStatus::AllowedFailure | JobStatus::Cached => {}
                JobStatus::Failed => failed = Some(name.clone()),
                JobStatus::Canceled => canceled = true,
                // A manual job that is allowed to fail does not hold later stages back; one that is
                // needed, or not allowed to fail, blocks them as in GitLab.
                JobStatus::Manual
                    if !self.graph.uses_needs[i]
                        && self.plan.jobs[d].allow_failure.is_allowed() => {}
                JobStatus::Manual => blocked = Some(format!("waits for manual job `{name}`")),
                JobStatus::Skipped => blocked = Some(format!("`{name}` was skipped")),
            }
        }
        if canceled {
            return Decision::Finish(
                JobStatus::Canceled,
                "a job it depends on was canceled".into(),
            );
        }
        match pj.when {
            When::Always => Decision::Start,
            When::OnFailure => match failed {
                Some(_) => Decision::Start,
                None => Decision::Finish(
                    JobStatus::Skipped,
                    "`when: on_failure` and nothing before it failed".into(),
                ),
            },
            _ => match (failed, blocked) {
                (Some(name), _) => Decision::Finish(JobStatus::Skipped, format!("`{name}` failed")),
                (None, Some(why)) => Decision::Finish(JobStatus::Skipped, why),
                (None, None) => Decision::Start,
            },
        }
    }

    /// Queues job `i`'s preparation; it holds a slot from now on.
    fn start(&mut self, i: usize, attempt: u32) {
        let inputs: Vec<Finished> = self.graph.artifacts_from[i]
            .iter()
            .filter_map(|&d| match &self.states[d] {
                State::Done(f) => Some((**f).clone()),
                _ => None,
            })
            .collect();
        self.running += 1;
        self.slots.take();
        self.states[i] = State::Preparing;
        self.work.push_back(Work::Prepare {
            index: i,
            attempt,
            inputs,
        });
    }

    /// Hands the next piece of queued work to a blocking thread, unless one is under way. One at
    /// a time, in order: jobs start in the order they became ready, and `Prepare` needs no lock
    /// of its own.
    fn pump(&mut self, done_tx: &mpsc::UnboundedSender<Msg>, log_tx: &mpsc::Sender<LogLine>) {
        if self.working {
            return;
        }
        let Some(work) = self.work.pop_front() else {
            return;
        };
        self.working = true;
        let prepare = self.prepare.clone();
        let tx = done_tx.clone();
        match work {
            Work::Prepare {
                index,
                attempt,
                inputs,
            } => {
                let job = self.plan.jobs[index].job.name.clone();
                let coverage = self.plan.jobs[index].job.coverage.clone();
                let log_tx = log_tx.clone();
                let timestamps = self.options.timestamps;
                tokio::task::spawn_blocking(move || {
                    // A panic must still report back, or the job would wait forever.
                    let ready = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        let mut p = prepare.lock().unwrap_or_else(PoisonError::into_inner);
                        let refs: Vec<&Finished> = inputs.iter().collect();
                        match p.prepare(index, attempt, &refs) {
                            Prepared::Cached(f) => Ready::Cached(f),
                            Prepared::Fail(reason) => Ready::Fail(reason),
                            Prepared::Child(child) => Ready::Child(child),
                            Prepared::Run { spec, key, masks } => {
                                let log = p.log_path(index, attempt);
                                let coverage = coverage
                                    .as_ref()
                                    .and_then(|c| regex::Regex::new(&c[1..c.len() - 1]).ok());
                                match LogSink::new(
                                    &job,
                                    log.as_deref(),
                                    Some(log_tx),
                                    masks,
                                    coverage,
                                ) {
                                    Ok(sink) => Ready::Run {
                                        spec,
                                        key,
                                        sink: if timestamps {
                                            sink.with_timestamps()
                                        } else {
                                            sink
                                        },
                                        log,
                                    },
                                    Err(e) => {
                                        Ready::Fail(format!("cannot write the job's log: {e}"))
                                    }
                                }
                            }
                        }
                    }))
                    .unwrap_or_else(|_| Ready::Fail("preparing the job panicked".into()));
                    let _ = tx.send(Msg::Prepared {
                        index,
                        attempt,
                        ready,
                    });
                });
            }
            Work::Store {
                index,
                outcome,
                finished,
            } => {
                tokio::task::spawn_blocking(move || {
                    let mut stored = (*finished).clone();
                    let ok = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        let mut p = prepare.lock().unwrap_or_else(PoisonError::into_inner);
                        p.finished(index, &outcome, &mut stored);
                    }));
                    let finished = if ok.is_ok() { stored } else { *finished };
                    let _ = tx.send(Msg::Stored { index, finished });
                });
            }
        }
    }

    /// A preparation reported back: the job is cached, fails, or starts on its executor.
    fn on_prepared(
        &mut self,
        i: usize,
        attempt: u32,
        ready: Ready,
        done_tx: &mpsc::UnboundedSender<Msg>,
    ) {
        if !matches!(self.states[i], State::Preparing) {
            return; // canceled while it was prepared
        }
        let pj = &self.plan.jobs[i];
        match ready {
            Ready::Cached(mut f) => {
                f.result.status = JobStatus::Cached;
                self.complete(i, f);
            }
            Ready::Fail(reason) => self.prepare_failed(i, attempt, reason),
            Ready::Child(child) => self.start_child(i, attempt, *child),
            Ready::Run {
                spec,
                key,
                sink,
                log,
            } => {
                let token = self.cancel.child_token();
                self.job_tokens.insert(i, token.clone());
                self.states[i] = State::Running {
                    started: Instant::now(),
                    key,
                };
                (self.emit)(&RunEvent::JobStarted {
                    job: pj.job.name.clone(),
                    platform: pj.platform.clone(),
                    attempt,
                });
                let executor = self.executor.clone();
                let tx = done_tx.clone();
                tokio::spawn(async move {
                    let (outcome, coverage) = run_attempt(executor, spec, sink, token).await;
                    let _ = tx.send(Msg::Done {
                        index: i,
                        attempt,
                        outcome,
                        coverage,
                        log,
                    });
                });
            }
        }
    }

    /// A trigger job's child pipeline is planned: it runs under a dispatcher of its own, polled
    /// by this loop. With `strategy: depend` the trigger job waits for it and takes its status;
    /// without, it passes now (GitLab: once the downstream pipeline is created).
    fn start_child(&mut self, i: usize, attempt: u32, child: ChildRun) {
        let pj = &self.plan.jobs[i];
        let trigger = pj.job.name.clone();
        let depend = pj.job.downstream.as_ref().is_some_and(|d| d.depend);
        (self.emit)(&RunEvent::JobStarted {
            job: trigger.clone(),
            platform: pj.platform.clone(),
            attempt,
        });
        self.states[i] = State::Running {
            started: Instant::now(),
            key: None,
        };
        // The trigger job runs nothing: its slot goes to the jobs (its child's among them).
        self.slots.give_back();
        self.slot_given_back[i] = true;
        let (int_tx, int_rx) = mpsc::channel(2);
        self.child_interrupts.push(int_tx);
        let tx = self
            .child_tx
            .clone()
            .expect("set when the run starts, before any job is prepared");
        let executor = self.executor.clone();
        let options = self.options.clone();
        let cancel = self.cancel.clone();
        let slots = self.slots.clone();
        let name = trigger.clone();
        self.children.push(Box::pin(async move {
            let ChildRun {
                plan,
                graph,
                picks,
                prepare,
            } = child;
            let mut emit = move |e: &RunEvent| {
                let _ = tx.send((name.clone(), e.clone()));
            };
            let summary =
                Dispatcher::new(&plan, &graph, picks, options, executor, prepare, &mut emit)
                    .nested(&cancel, slots)
                    .run(int_rx)
                    .await;
            ChildDone {
                index: i,
                attempt,
                summary,
            }
        }));
        if !depend {
            // It passes once the child is announced (its first event).
            self.undepending.insert(trigger, (i, attempt));
        }
    }

    /// A child's event, reported in this run: its start names its trigger job, its end is
    /// the trigger job's (with `strategy: depend`).
    fn child_event(&mut self, trigger: &str, event: RunEvent) {
        match event {
            RunEvent::PipelineStarted { jobs, .. } => {
                (self.emit)(&RunEvent::ChildPipelineStarted {
                    trigger: trigger.to_string(),
                    jobs,
                });
                if let Some((i, attempt)) = self.undepending.remove(trigger) {
                    self.finish_child(
                        i,
                        attempt,
                        JobStatus::Success,
                        "created its child pipeline (without `strategy: depend`, the child's \
                         result is not this job's)"
                            .into(),
                    );
                }
            }
            RunEvent::PipelineFinished { .. } => {}
            other => (self.emit)(&other),
        }
    }

    fn on_child_done(&mut self, done: ChildDone) {
        let ChildDone {
            index: i,
            attempt,
            summary,
        } = done;
        if !matches!(self.states[i], State::Running { .. }) {
            return; // without `strategy: depend`, or settled by a second interrupt
        }
        let failed: Vec<&str> = summary
            .jobs
            .iter()
            .filter(|(_, r)| r.status == JobStatus::Failed)
            .map(|(j, _)| j.name.as_str())
            .collect();
        let (status, reason) = match summary.status {
            PipelineStatus::Success => {
                (JobStatus::Success, "its child pipeline passed".to_string())
            }
            PipelineStatus::Canceled => (
                JobStatus::Canceled,
                "its child pipeline was canceled".into(),
            ),
            PipelineStatus::Failed => {
                let status = if self.plan.jobs[i].allow_failure.is_allowed() {
                    JobStatus::AllowedFailure
                } else {
                    JobStatus::Failed
                };
                (
                    status,
                    format!("its child pipeline failed: {}", failed.join(", ")),
                )
            }
        };
        self.finish_child(i, attempt, status, reason);
    }

    fn finish_child(&mut self, i: usize, attempt: u32, status: JobStatus, reason: String) {
        let duration = match &self.states[i] {
            State::Running { started, .. } => started.elapsed(),
            _ => Duration::ZERO,
        };
        let pj = &self.plan.jobs[i];
        let result = JobResult {
            status,
            exit_code: None,
            duration,
            platform: pj.platform.clone(),
            attempts: attempt,
            reason: Some(reason),
            coverage: None,
            log: None,
            junit: Vec::new(),
        };
        let finished = Finished {
            job: pj.job.name.clone(),
            result,
            artifacts: None,
            dotenv: Vec::new(),
            key: None,
        };
        self.complete(i, finished);
    }

    fn prepare_failed(&mut self, i: usize, attempt: u32, reason: String) {
        let status = if self.plan.jobs[i].allow_failure.is_allowed() {
            JobStatus::AllowedFailure
        } else {
            JobStatus::Failed
        };
        self.finish_empty(i, status, attempt, Some(reason));
    }

    fn on_done(&mut self, msg: Msg) {
        let Msg::Done {
            index: i,
            attempt,
            outcome,
            coverage,
            log,
        } = msg
        else {
            return;
        };
        let State::Running { started, key, .. } = &self.states[i] else {
            return; // already settled (a second interrupt gave up on it)
        };
        let (started, key) = (*started, key.clone());
        let pj = &self.plan.jobs[i];
        let (status, exit_code, reason) = match &outcome.status {
            AttemptStatus::Success => (JobStatus::Success, Some(0), None),
            AttemptStatus::Canceled => (JobStatus::Canceled, None, Some("canceled".to_string())),
            AttemptStatus::Failed { .. } if outcome.engine_failed.is_some() && !self.canceling => {
                // The engine failed under the job: one more attempt on another engine of its
                // pool, whatever `retry:` says (GitLab's runner system failure).
                let why = outcome.engine_failed.clone().unwrap_or_default();
                (self.emit)(&RunEvent::JobLog {
                    job: pj.job.name.clone(),
                    line: format!("WARNING: {why}"),
                });
                self.engine_failures[i] = Some(why);
                self.free_slot(i);
                self.states[i] = State::Waiting;
                self.next_attempt[i] = attempt + 1;
                return;
            }
            AttemptStatus::Failed { exit_code, reason } => {
                let retry = &pj.job.retry;
                let retry_when_ok = reason.retryable()
                    && (retry.when.is_empty() || retry.when.iter().any(|w| reason.retried_by(*w)));
                let retry_code_ok = retry.exit_codes.is_empty()
                    || exit_code.is_some_and(|c| retry.exit_codes.contains(&c));
                if attempt <= retry.max && retry_when_ok && retry_code_ok && !self.canceling {
                    // The attempt failed but the job will run again: it is not finished.
                    self.free_slot(i);
                    self.states[i] = State::Waiting;
                    self.next_attempt[i] = attempt + 1;
                    return;
                }
                let status = if pj.allow_failure.allows(*exit_code) {
                    JobStatus::AllowedFailure
                } else {
                    JobStatus::Failed
                };
                let what = match exit_code {
                    Some(c) => format!("{} (exit code {c})", reason.describe()),
                    None => reason.describe(),
                };
                if status == JobStatus::Failed && reason.is_environment() {
                    self.environment_faults
                        .push((pj.job.name.clone(), reason.describe()));
                }
                (status, *exit_code, Some(what))
            }
        };
        let reason = match (reason, self.engine_failures[i].take()) {
            (Some(r), Some(e)) => Some(format!("{r}; earlier: {e}")),
            (r, e) => r.or(e),
        };
        let result = JobResult {
            status,
            exit_code,
            duration: started.elapsed(),
            platform: pj.platform.clone(),
            attempts: attempt,
            reason,
            coverage,
            log,
            junit: outcome.junit.clone(),
        };
        let finished = Finished {
            job: pj.job.name.clone(),
            result,
            artifacts: outcome.artifacts.clone(),
            dotenv: outcome.dotenv.clone(),
            key,
        };
        if outcome.status == AttemptStatus::Canceled {
            // Nothing to store, and Ctrl-C's answer must not wait behind a store under way.
            self.complete(i, finished);
            return;
        }
        // The job is over: its slot is free while its result is stored.
        self.free_slot(i);
        self.states[i] = State::Storing(Box::new(finished.clone()));
        self.job_tokens.remove(&i);
        self.work.push_back(Work::Store {
            index: i,
            outcome: Box::new(outcome),
            finished: Box::new(finished),
        });
    }
}

enum Decision {
    Wait,
    Start,
    Finish(JobStatus, String),
}

async fn run_attempt(
    executor: Arc<dyn Executor>,
    spec: Box<crate::executor::JobSpec>,
    sink: LogSink,
    token: CancellationToken,
) -> (JobOutcome, Option<f64>) {
    let coverage = sink.coverage_cell();
    let outcome = executor.run(Arc::from(spec), sink, token).await;
    let value = *coverage.lock().expect("not poisoned");
    (outcome, value)
}

async fn sleep_until_opt(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
