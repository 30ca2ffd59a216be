//! The pool executor over fake engines: placement across a pool, the default pool, and failover
//! when an engine stops answering. No Docker, no sleeps.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::executor::fake::FakeExecutor;

fn spec(job: &str, platform: &str, attempt: u32) -> Arc<JobSpec> {
    Arc::new(JobSpec {
        stage: "build".into(),
        platform: platform.into(),
        script: vec!["true".into()],
        ..crate::executor::fake::test_spec(job, attempt)
    })
}

/// An engine whose answer to pings the test sets.
struct Fake {
    executor: FakeExecutor,
    up: Arc<AtomicBool>,
}

impl Fake {
    fn new(executor: FakeExecutor) -> Self {
        Fake {
            executor,
            up: Arc::new(AtomicBool::new(true)),
        }
    }

    fn member(&self, name: &str, platform: Option<&str>, capacity: usize) -> Member {
        let up = self.up.clone();
        Member {
            name: name.into(),
            platform: platform.map(String::from),
            capacity,
            executor: Ok(Arc::new(self.executor.clone())),
            alive: Arc::new(move || {
                let up = up.load(Ordering::SeqCst);
                Box::pin(async move {
                    if up {
                        Ok(())
                    } else {
                        Err("connection refused".into())
                    }
                })
            }),
        }
    }

    fn jobs(&self) -> Vec<String> {
        self.executor
            .started()
            .into_iter()
            .map(|(j, a)| format!("{j}#{a}"))
            .collect()
    }
}

fn system_failure_status() -> AttemptStatus {
    AttemptStatus::Failed {
        exit_code: None,
        reason: FailureReason::SystemFailure("the engine's stream broke".into()),
    }
}

async fn run(pool: &PoolExecutor, job: &str, platform: &str, attempt: u32) -> JobOutcome {
    pool.run(
        spec(job, platform, attempt),
        LogSink::discard(job),
        CancellationToken::new(),
    )
    .await
}

#[tokio::test]
async fn jobs_of_a_pool_fill_every_engine_and_others_go_to_the_default_engine() {
    let hang = ["a1", "a2", "a3", "x"];
    let local = Fake::new(FakeExecutor::default().hanging(&hang));
    let arm0 = Fake::new(FakeExecutor::default().hanging(&hang));
    let arm1 = Fake::new(FakeExecutor::default().hanging(&hang));
    let pool = Arc::new(PoolExecutor::new(vec![
        local.member("local", None, 8),
        arm0.member("arm0", Some("arm64"), 1),
        arm1.member("arm1", Some("linux/arm64"), 1),
    ]));
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    for (job, platform) in [
        ("a1", "linux/arm64"),
        ("a2", "linux/arm64"),
        ("x", "linux/amd64"),
    ] {
        let f = pool.run(
            spec(job, platform, 1),
            LogSink::discard(job),
            cancel.clone(),
        );
        tasks.push(tokio::spawn(f));
    }
    // Each job is on an engine of its own pool before the third arm64 job asks for one.
    while arm0.jobs().len() + arm1.jobs().len() + local.jobs().len() < 3 {
        tokio::task::yield_now().await;
    }
    assert_eq!(arm0.jobs().len(), 1, "{:?}", arm0.jobs());
    assert_eq!(arm1.jobs().len(), 1, "{:?}", arm1.jobs());
    assert_eq!(local.jobs(), vec!["x#1"]);
    // Both arm64 engines are full: the third waits (never on the default engine), until canceled.
    let third = tokio::spawn(pool.run(
        spec("a3", "linux/arm64", 1),
        LogSink::discard("a3"),
        cancel.clone(),
    ));
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        local.jobs().len() + arm0.jobs().len() + arm1.jobs().len(),
        3
    );
    cancel.cancel();
    for t in tasks {
        assert_eq!(t.await.unwrap().status, AttemptStatus::Canceled);
    }
    assert_eq!(third.await.unwrap().status, AttemptStatus::Canceled);
    assert!(pool.engines().iter().all(|(_, down)| down.is_none()));
}

#[tokio::test]
async fn a_job_whose_engine_stops_answering_is_retried_once_on_another() {
    let failing = HashMap::from([("build".to_string(), vec![system_failure_status()])]);
    let arm0 = Fake::new(FakeExecutor::new(failing.clone()));
    let arm1 = Fake::new(FakeExecutor::new(HashMap::new()));
    let local = Fake::new(FakeExecutor::default());
    let pool = PoolExecutor::new(vec![
        local.member("local", None, 4),
        arm0.member("tcp://arm0:2375", Some("linux/arm64"), 2),
        arm1.member("tcp://arm1:2375", Some("linux/arm64"), 1),
    ]);
    // arm0 has the most free capacity; the job fails there and arm0 no longer answers.
    arm0.up.store(false, Ordering::SeqCst);
    let first = run(&pool, "build", "linux/arm64", 1).await;
    let why = first.engine_failed.expect("a retry elsewhere");
    assert!(
        why.contains("engine tcp://arm0:2375 failed (connection refused)"),
        "{why}"
    );
    assert_eq!(arm0.jobs(), vec!["build#1"]);
    // The dispatcher's second attempt goes to arm1, and passes.
    let second = run(&pool, "build", "linux/arm64", 2).await;
    assert_eq!(second.status, AttemptStatus::Success);
    assert_eq!(arm1.jobs(), vec!["build#2"]);
    let down = pool.engines();
    assert_eq!(down[1].1.as_deref(), Some("connection refused"));
    assert!(down[2].1.is_none());
}

#[tokio::test]
async fn a_failure_on_an_engine_that_answers_is_the_job_s_own() {
    let failing = HashMap::from([(
        "test".to_string(),
        vec![AttemptStatus::Failed {
            exit_code: Some(1),
            reason: FailureReason::ScriptFailure,
        }],
    )]);
    let arm0 = Fake::new(FakeExecutor::new(failing));
    let pool = PoolExecutor::new(vec![arm0.member("arm0", Some("linux/arm64"), 1)]);
    let outcome = run(&pool, "test", "linux/arm64", 1).await;
    assert!(outcome.engine_failed.is_none());
    assert!(matches!(
        outcome.status,
        AttemptStatus::Failed {
            exit_code: Some(1),
            ..
        }
    ));
    assert!(pool.engines()[0].1.is_none());
}

#[tokio::test]
async fn a_pool_with_no_engine_left_fails_its_jobs_with_the_reason() {
    let failing = HashMap::from([("build".to_string(), vec![system_failure_status()])]);
    let arm0 = Fake::new(FakeExecutor::new(failing));
    let local = Fake::new(FakeExecutor::default());
    let pool = PoolExecutor::new(vec![
        local.member("local", None, 4),
        arm0.member("arm0", Some("linux/arm64"), 1),
        Member {
            name: "arm1".into(),
            platform: Some("linux/arm64".into()),
            capacity: 1,
            executor: Err("no answer in 15 s".into()),
            alive: Arc::new(|| Box::pin(async { Err("not connected".into()) })),
        },
    ]);
    arm0.up.store(false, Ordering::SeqCst);
    let outcome = run(&pool, "build", "linux/arm64", 1).await;
    assert!(outcome.engine_failed.is_none());
    // The environment's fault, not the job's (the run exits 2).
    let AttemptStatus::Failed {
        reason: FailureReason::EngineLost(why),
        ..
    } = outcome.status
    else {
        panic!("{:?}", outcome.status)
    };
    assert!(
        why.ends_with(
            "no engine of linux/arm64 is left: arm0 (connection refused), arm1 (no answer in 15 s)"
        ),
        "{why}"
    );
    // The next arm64 job fails at once; other platforms still run on the default engine.
    let next = run(&pool, "lint", "arm64", 1).await;
    assert!(matches!(
        next.status,
        AttemptStatus::Failed {
            reason: FailureReason::EngineLost(_),
            ..
        }
    ));
    assert_eq!(
        run(&pool, "x", "linux/amd64", 1).await.status,
        AttemptStatus::Success
    );
}
