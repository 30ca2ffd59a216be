//! RunEvent: the only link between the scheduler and the reporters. The scheduler and executors
//! never print; they send these, and each reporter renders them its own way.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// How a job ended, as reported to the user (`--json` uses these names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Success,
    Failed,
    AllowedFailure,
    Skipped,
    Manual,
    Cached,
    Canceled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Success => "success",
            JobStatus::Failed => "failed",
            JobStatus::AllowedFailure => "allowed_failure",
            JobStatus::Skipped => "skipped",
            JobStatus::Manual => "manual",
            JobStatus::Cached => "cached",
            JobStatus::Canceled => "canceled",
        }
    }

    /// Whether dependents may go on as if the job passed (GitLab: an allowed failure counts as passed).
    pub fn counts_as_passed(self) -> bool {
        matches!(
            self,
            JobStatus::Success | JobStatus::AllowedFailure | JobStatus::Cached
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineStatus {
    Success,
    Failed,
    Canceled,
}

/// What the reporters know of a job before it runs.
#[derive(Debug, Clone, Serialize)]
pub struct JobInfo {
    pub name: String,
    pub stage: String,
    pub platform: String,
    pub when: String,
    pub allow_failure: bool,
    pub needs: Vec<String>,
    /// Whether `needs` comes from the job's own `needs:` rather than from stage order (where
    /// it lists every job of the earlier stages). Graphs draw only these edges.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub uses_needs: bool,
}

/// What the reporters know of a job once it has ended.
#[derive(Debug, Clone, Serialize)]
pub struct JobResult {
    pub status: JobStatus,
    pub exit_code: Option<i32>,
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    pub platform: String,
    pub attempts: u32,
    /// Why it failed, was skipped or canceled, in a few words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
    /// The job's own `artifacts:reports:junit` files, as kept in the run directory.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub junit: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    PipelineStarted {
        run_id: String,
        run_dir: PathBuf,
        jobs: Vec<JobInfo>,
    },
    /// A trigger job created its child pipeline: these jobs (named `TRIGGER » JOB`) follow.
    ChildPipelineStarted {
        trigger: String,
        jobs: Vec<JobInfo>,
    },
    JobQueued {
        job: String,
    },
    JobStarted {
        job: String,
        platform: String,
        attempt: u32,
    },
    JobLog {
        job: String,
        line: String,
    },
    JobFinished {
        job: String,
        #[serde(flatten)]
        result: JobResult,
    },
    PipelineFinished {
        status: PipelineStatus,
        #[serde(rename = "duration_ms", serialize_with = "as_millis")]
        duration: Duration,
        run_dir: PathBuf,
    },
}

impl RunEvent {
    /// The event with `masker`'s values replaced in everything it says in words (a failure
    /// reason quoting an image name built from a masked variable, a log line): what every
    /// reporter is given. Borrowed when there was nothing to mask.
    pub fn masked(&self, masker: &crate::mask::Masker) -> std::borrow::Cow<'_, RunEvent> {
        use std::borrow::Cow;
        match self {
            RunEvent::JobLog { job, line } if masker.reveals(line) => {
                Cow::Owned(RunEvent::JobLog {
                    job: job.clone(),
                    line: masker.masked(line),
                })
            }
            RunEvent::JobFinished { job, result }
                if result.reason.as_deref().is_some_and(|r| masker.reveals(r)) =>
            {
                let mut result = result.clone();
                result.reason = result.reason.map(|r| masker.masked(&r));
                Cow::Owned(RunEvent::JobFinished {
                    job: job.clone(),
                    result,
                })
            }
            _ => Cow::Borrowed(self),
        }
    }
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_events_say_nothing_of_the_value() {
        let m = crate::mask::Masker::new(["s3cr3t-value"]);
        let result = JobResult {
            status: JobStatus::Failed,
            exit_code: None,
            duration: Duration::ZERO,
            platform: "linux/amd64".into(),
            attempts: 1,
            reason: Some("image registry/s3cr3t-value:1 is not available".into()),
            coverage: None,
            log: None,
            junit: Vec::new(),
        };
        let finished = RunEvent::JobFinished {
            job: "j".into(),
            result,
        };
        let json = serde_json::to_string(&finished.masked(&m)).unwrap();
        assert!(json.contains("registry/[MASKED]:1"), "{json}");
        let line = RunEvent::JobLog {
            job: "j".into(),
            line: "token s3cr3t-value".into(),
        };
        let json = serde_json::to_string(&line.masked(&m)).unwrap();
        assert!(
            json.contains("token [MASKED]") && !json.contains("s3cr3t"),
            "{json}"
        );
        let queued = RunEvent::JobQueued { job: "j".into() };
        assert!(matches!(queued.masked(&m), std::borrow::Cow::Borrowed(_)));
    }
}
