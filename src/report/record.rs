//! What a reporter remembers of a run: the jobs announced at the start and the results as they
//! come, so the end-of-run reports (summary, JUnit, HTML) are built from one shared reading of
//! the events rather than three.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::event::{JobInfo, JobResult, JobStatus, PipelineStatus, RunEvent};

#[derive(Debug, Default)]
pub struct RunRecord {
    pub run_id: String,
    pub run_dir: PathBuf,
    /// In the order the pipeline announced them (stage order), then any job that reported a
    /// result without having been announced.
    jobs: Vec<JobInfo>,
    results: HashMap<String, JobResult>,
    pub started: bool,
    /// Set by PipelineFinished.
    pub finished: Option<(PipelineStatus, Duration)>,
}

impl RunRecord {
    pub fn observe(&mut self, event: &RunEvent) {
        match event {
            RunEvent::PipelineStarted {
                run_id,
                run_dir,
                jobs,
            } => {
                self.run_id = run_id.clone();
                self.run_dir = run_dir.clone();
                self.jobs = jobs.clone();
                self.results.clear();
                self.started = true;
                self.finished = None;
            }
            RunEvent::ChildPipelineStarted { trigger, jobs } => {
                // The child's jobs come right after their trigger job (and after the jobs of
                // children it announced before).
                let at = self
                    .jobs
                    .iter()
                    .rposition(|j| {
                        j.name == *trigger || j.name.starts_with(&format!("{trigger} » "))
                    })
                    .map_or(self.jobs.len(), |i| i + 1);
                let new: Vec<JobInfo> = jobs
                    .iter()
                    .filter(|j| !self.jobs.iter().any(|k| k.name == j.name))
                    .cloned()
                    .collect();
                self.jobs.splice(at..at, new);
            }
            RunEvent::JobFinished { job, result } => {
                if !self.jobs.iter().any(|j| &j.name == job) {
                    // A job nobody announced (a scheduler bug or a dynamic job): show it anyway,
                    // with what the result tells, rather than lose it.
                    self.jobs.push(JobInfo {
                        name: job.clone(),
                        stage: String::new(),
                        platform: result.platform.clone(),
                        when: String::new(),
                        allow_failure: false,
                        needs: Vec::new(),
                        uses_needs: false,
                    });
                }
                self.results.insert(job.clone(), result.clone());
            }
            RunEvent::PipelineFinished {
                status,
                duration,
                run_dir,
            } => {
                if self.run_dir.as_os_str().is_empty() {
                    self.run_dir = run_dir.clone();
                }
                self.finished = Some((*status, *duration));
            }
            RunEvent::JobQueued { .. } | RunEvent::JobStarted { .. } | RunEvent::JobLog { .. } => {}
        }
    }

    pub fn jobs(&self) -> &[JobInfo] {
        &self.jobs
    }

    /// The job's result, once it has one.
    pub fn result(&self, job: &str) -> Option<&JobResult> {
        self.results.get(job)
    }

    /// How many jobs have a result.
    pub fn done(&self) -> usize {
        self.results.len()
    }

    pub fn count(&self, status: JobStatus) -> usize {
        self.results.values().filter(|r| r.status == status).count()
    }

    /// Every job with its result, in pipeline order. A job that never reported one (the run was
    /// cut short) is shown as canceled and says so, rather than silently missing from a report.
    pub fn outcomes(&self) -> Vec<(JobInfo, JobResult)> {
        self.jobs
            .iter()
            .map(|info| {
                let result = self.results.get(&info.name).cloned().unwrap_or(JobResult {
                    status: JobStatus::Canceled,
                    exit_code: None,
                    duration: Duration::ZERO,
                    platform: info.platform.clone(),
                    attempts: 0,
                    reason: Some("no result reported".into()),
                    coverage: None,
                    log: None,
                    junit: Vec::new(),
                });
                (info.clone(), result)
            })
            .collect()
    }
}

#[cfg(test)]
mod child_tests {
    use super::*;

    fn info(name: &str) -> JobInfo {
        JobInfo {
            name: name.into(),
            stage: "test".into(),
            platform: "linux/amd64".into(),
            when: "on_success".into(),
            allow_failure: false,
            needs: Vec::new(),
            uses_needs: false,
        }
    }

    #[test]
    fn a_childs_jobs_come_right_after_their_trigger_job() {
        let mut r = RunRecord::default();
        r.observe(&RunEvent::PipelineStarted {
            run_id: "r".into(),
            run_dir: PathBuf::from("/r"),
            jobs: vec![info("a"), info("t"), info("z")],
        });
        let child = |trigger: &str, names: &[&str]| RunEvent::ChildPipelineStarted {
            trigger: trigger.into(),
            jobs: names.iter().map(|n| info(n)).collect(),
        };
        r.observe(&child("t", &["t » x", "t » y"]));
        // A grandchild, after its own trigger job (itself a child's job).
        r.observe(&child("t » x", &["t » x » g"]));
        let names: Vec<&str> = r.jobs().iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, ["a", "t", "t » x", "t » x » g", "t » y", "z"]);
    }
}
