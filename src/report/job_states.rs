//! Renders each job's state into the run directory (`store::job_states`) as attempts start and
//! jobs end, for `logs JOB --follow` in another process.

use std::io;
use std::path::PathBuf;

use super::Reporter;
use crate::event::RunEvent;
use crate::store::job_states::{self, JobState};

#[derive(Default)]
pub struct JobStatesReporter {
    run_dir: Option<PathBuf>,
    /// The attempt each job is at.
    attempts: std::collections::HashMap<String, u32>,
}

impl Reporter for JobStatesReporter {
    fn report(&mut self, event: &RunEvent) -> io::Result<()> {
        let (job, status, attempt) = match event {
            RunEvent::PipelineStarted { run_dir, jobs, .. } => {
                // Every job of the run is known from the start: a follower told of a job the run
                // does not have says so at once rather than waiting for the run's end.
                self.run_dir = Some(run_dir.clone());
                let mut first = Ok(());
                for j in jobs {
                    let state = JobState {
                        job: j.name.clone(),
                        status: "created".into(),
                        attempt: 0,
                    };
                    let res = job_states::write(run_dir, &state);
                    if first.is_ok() {
                        first = res;
                    }
                }
                if first.is_ok() {
                    first = job_states::mark_listed(run_dir);
                }
                return first;
            }
            RunEvent::JobStarted { job, attempt, .. } => {
                self.attempts.insert(job.clone(), *attempt);
                (job, "running", *attempt)
            }
            RunEvent::JobFinished { job, result } => (
                job,
                result.status.as_str(),
                self.attempts.get(job).copied().unwrap_or(0),
            ),
            _ => return Ok(()),
        };
        let Some(dir) = &self.run_dir else {
            return Ok(());
        };
        job_states::write(
            dir,
            &JobState {
                job: job.clone(),
                status: status.to_string(),
                attempt,
            },
        )
    }
}
