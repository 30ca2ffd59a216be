//! The lifecycle over the fake backend: GitLab's order of things, `CI_JOB_STATUS`, staging, the
//! deadline and cancellation, with no Docker (tokio's paused clock for deadlines).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::executor::fake::{FakeBackend, FakeStep};

fn spec() -> JobSpec {
    JobSpec {
        stage: "build".into(),
        script: vec!["make".into()],
        after_script: vec!["echo bye".into()],
        variables: vec![("A".into(), "1".into())],
        file_variables: vec![("KEY".into(), "secret".into())],
        ..crate::executor::fake::test_spec("build", 1)
    }
}

async fn run(backend: &FakeBackend, cancel: CancellationToken) -> (JobOutcome, Vec<String>) {
    let lifecycle = Lifecycle::new(backend.clone(), Duration::from_secs(300));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.log");
    let sink = LogSink::new("build", Some(&path), None, Vec::new(), None).unwrap();
    let outcome = lifecycle.run(Arc::new(spec()), sink, cancel).await;
    let log = std::fs::read_to_string(&path).unwrap();
    (outcome, log.lines().map(String::from).collect())
}

fn env_of(step: &Step, name: &str) -> Option<String> {
    step.env
        .iter()
        .find_map(|e| e.strip_prefix(&format!("{name}=")).map(String::from))
}

#[tokio::test]
async fn a_job_that_passes_runs_both_steps_in_gitlab_order() {
    let backend = FakeBackend::new(&[("step", FakeStep::Exits(vec!["built".into()], 0))]);
    let (outcome, log) = run(&backend, CancellationToken::new()).await;
    assert_eq!(outcome.status, AttemptStatus::Success);
    assert_eq!(
        backend.calls(),
        [
            "start",
            "put_project 0 caches 0 artifacts",
            "step step",
            "step after",
            "tear_down",
            "dropped"
        ]
    );
    let steps = backend.steps();
    assert_eq!(env_of(&steps[0], "CI_JOB_STATUS"), None);
    assert_eq!(
        env_of(&steps[1], "CI_JOB_STATUS").as_deref(),
        Some("success")
    );
    // The file variable is staged beside the project directory and named by its variable.
    assert_eq!(
        env_of(&steps[0], "KEY").as_deref(),
        Some("/builds/p.tmp/KEY")
    );
    assert!(
        steps[0]
            .files
            .iter()
            .any(|f| f.path == "/builds/p.tmp/KEY" && f.content == b"secret")
    );
    assert!(log[0].starts_with("Running with tezos-ci-local"), "{log:?}");
    assert_eq!(log[1], "Preparing the \"fake\" executor");
    assert!(log.contains(&"built".to_string()));
    assert_eq!(log.last().unwrap(), "Job succeeded");
}

#[tokio::test]
async fn after_script_sees_a_failure_and_cannot_change_it() {
    let backend = FakeBackend::new(&[
        ("step", FakeStep::Exits(Vec::new(), 3)),
        ("after", FakeStep::Exits(Vec::new(), 7)),
    ]);
    let (outcome, log) = run(&backend, CancellationToken::new()).await;
    assert_eq!(
        outcome.status,
        AttemptStatus::Failed {
            exit_code: Some(3),
            reason: FailureReason::ScriptFailure
        }
    );
    let steps = backend.steps();
    assert_eq!(
        env_of(&steps[1], "CI_JOB_STATUS").as_deref(),
        Some("failed")
    );
    assert!(log.iter().any(
        |l| l == "WARNING: after_script failed, but job will continue unaffected: exit code 7"
    ));
    assert_eq!(log.last().unwrap(), "ERROR: Job failed: exit code 3");
}

#[tokio::test(start_paused = true)]
async fn a_step_past_its_deadline_times_out_and_after_script_still_runs() {
    let backend = FakeBackend::new(&[("step", FakeStep::RunsPastDeadline)]);
    let (outcome, log) = run(&backend, CancellationToken::new()).await;
    assert_eq!(
        outcome.status,
        AttemptStatus::Failed {
            exit_code: None,
            reason: FailureReason::Timeout
        }
    );
    assert_eq!(
        env_of(&backend.steps()[1], "CI_JOB_STATUS").as_deref(),
        Some("failed")
    );
    assert_eq!(
        log.last().unwrap(),
        "ERROR: Job failed: execution took longer than 5s seconds"
    );
}

#[tokio::test(start_paused = true)]
async fn a_wedged_backend_cannot_stop_the_deadline() {
    let backend = FakeBackend::new(&[("step", FakeStep::Wedged), ("after", FakeStep::Wedged)]);
    let started = tokio::time::Instant::now();
    let (outcome, log) = run(&backend, CancellationToken::new()).await;
    assert!(matches!(
        outcome.status,
        AttemptStatus::Failed {
            reason: FailureReason::Timeout,
            ..
        }
    ));
    assert!(log.iter().any(|l| l.contains("abandoning it")), "{log:?}");
    // The step's deadline plus the grace, then after_script's five minutes plus the grace.
    assert!(started.elapsed() <= Duration::from_secs(5 + 15 + 300 + 15));
    assert!(backend.calls().contains(&"tear_down".to_string()));
}

#[tokio::test(start_paused = true)]
async fn a_canceled_attempt_tears_its_environment_down() {
    let backend = FakeBackend::new(&[("step", FakeStep::Wedged)]);
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        c.cancel();
    });
    let (outcome, log) = run(&backend, cancel).await;
    assert_eq!(outcome.status, AttemptStatus::Canceled);
    assert_eq!(log.last().unwrap(), "ERROR: Job failed: canceled");
    assert!(backend.calls().contains(&"tear_down".to_string()));
}

#[test]
fn go_durations() {
    assert_eq!(go_duration(Duration::from_secs(1)), "1s");
    assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    assert_eq!(go_duration(Duration::from_secs(125)), "2m5s");
}

#[tokio::test]
async fn a_failure_is_the_engine_lost_only_when_the_engine_then_does_not_answer() {
    let backend = FakeBackend::new(&[("step", FakeStep::LosesEngine("stream broke".into()))]);
    let (outcome, _) = run(&backend, CancellationToken::new()).await;
    assert_eq!(
        outcome.status,
        AttemptStatus::Failed {
            exit_code: None,
            reason: FailureReason::EngineLost("stream broke".into()),
        }
    );
    assert!(FailureReason::EngineLost(String::new()).is_environment());
    let backend = FakeBackend::new(&[("step", FakeStep::Errs("no such image".into()))]);
    let (outcome, _) = run(&backend, CancellationToken::new()).await;
    assert_eq!(
        outcome.status,
        AttemptStatus::Failed {
            exit_code: None,
            reason: FailureReason::SystemFailure("no such image".into()),
        }
    );
    assert!(!FailureReason::SystemFailure(String::new()).is_environment());
}
