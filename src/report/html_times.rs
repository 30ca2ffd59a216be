//! What the HTML report knows of a run as it goes: the record of jobs and results, plus when each
//! event arrived, so the timeline can draw every attempt from queued to started to finished.
//! Times are offsets from the pipeline's start, as the reporter observed them.

use std::collections::HashMap;
use std::time::Duration;

use super::record::RunRecord;
use crate::event::{JobInfo, JobResult, JobStatus, RunEvent};

/// One attempt of a job: it started at `start` and ended at `end` (none while it runs).
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub number: u32,
    pub platform: String,
    /// When it was queued (its needs met), or when the attempt before it ended.
    pub queued: Duration,
    pub start: Duration,
    pub end: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobTimes {
    pub queued: Option<Duration>,
    pub attempts: Vec<Attempt>,
    pub finished: Option<Duration>,
}

/// Where a job is, for the page: its final status, or how far it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Pending,
    Queued,
    Running,
    Done(JobStatus),
}

impl Shown {
    /// The CSS class (and the word) for the state.
    pub fn class(self) -> &'static str {
        match self {
            Shown::Pending => "pending",
            Shown::Queued => "queued",
            Shown::Running => "running",
            Shown::Done(s) => s.as_str(),
        }
    }
}

#[derive(Debug, Default)]
pub struct RunTimes {
    pub record: RunRecord,
    pub times: HashMap<String, JobTimes>,
    /// The latest event's time: how far the run has got.
    pub now: Duration,
}

impl RunTimes {
    /// Takes `event`, which arrived `at` after the pipeline started.
    pub fn observe(&mut self, event: &RunEvent, at: Duration) {
        self.record.observe(event);
        self.now = self.now.max(at);
        match event {
            RunEvent::PipelineStarted { .. } => {
                self.times.clear();
                self.now = at;
            }
            RunEvent::JobQueued { job } => {
                self.times.entry(job.clone()).or_default().queued = Some(at);
            }
            RunEvent::JobStarted {
                job,
                platform,
                attempt,
            } => {
                let t = self.times.entry(job.clone()).or_default();
                let mut queued = t.queued.unwrap_or(at);
                if let Some(last) = t.attempts.last_mut() {
                    // The attempt before ended when this one was decided on, at the latest.
                    let end = *last.end.get_or_insert(at);
                    queued = end;
                }
                t.attempts.push(Attempt {
                    number: *attempt,
                    platform: platform.clone(),
                    queued,
                    start: at,
                    end: None,
                });
            }
            RunEvent::JobFinished { job, .. } => {
                let t = self.times.entry(job.clone()).or_default();
                if let Some(last) = t.attempts.last_mut() {
                    last.end.get_or_insert(at);
                }
                t.finished = Some(at);
            }
            RunEvent::JobLog { .. }
            | RunEvent::PipelineFinished { .. }
            | RunEvent::ChildPipelineStarted { .. } => {}
        }
    }

    pub fn jobs(&self) -> &[JobInfo] {
        self.record.jobs()
    }

    pub fn result(&self, job: &str) -> Option<&JobResult> {
        self.record.result(job)
    }

    pub fn finished(&self) -> bool {
        self.record.finished.is_some()
    }

    pub fn shown(&self, job: &str) -> Shown {
        if let Some(r) = self.result(job) {
            return Shown::Done(r.status);
        }
        match self.times.get(job) {
            Some(t) if !t.attempts.is_empty() => Shown::Running,
            Some(t) if t.queued.is_some() => Shown::Queued,
            _ => Shown::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn attempts_are_timed_from_queued_to_finished() {
        let mut t = RunTimes::default();
        let started = |attempt| RunEvent::JobStarted {
            job: "a".into(),
            platform: "linux/amd64".into(),
            attempt,
        };
        t.observe(&RunEvent::JobQueued { job: "a".into() }, secs(1));
        assert_eq!(t.shown("a"), Shown::Queued);
        t.observe(&started(1), secs(2));
        assert_eq!(t.shown("a"), Shown::Running);
        t.observe(&started(2), secs(5));
        let a = &t.times["a"];
        assert_eq!(a.attempts[0].queued, secs(1));
        assert_eq!(a.attempts[0].end, Some(secs(5)));
        assert_eq!(a.attempts[1].queued, secs(5));
        assert_eq!(a.attempts[1].end, None);
        assert_eq!(t.now, secs(5));
        assert_eq!(t.shown("b"), Shown::Pending);
    }
}
