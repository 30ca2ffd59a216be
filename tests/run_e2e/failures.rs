//! Jobs that fail: what follows them (skipped, `when: on_failure`), failures that are allowed
//! (always, or for some exit codes), timeouts with their `after_script`, and retries.

use std::time::Instant;

use crate::support::*;

#[test]
fn a_failed_job_fails_the_pipeline_and_skips_what_follows() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
stages: [build, test, cleanup]
default:
  image: tezos-ci-local/busybox:amd64
broken:
  stage: build
  script:
    - echo about to fail
    - exit 1
    - echo not reached
dependent:
  stage: test
  needs: [broken]
  script: [echo never]
later_stage:
  stage: test
  script: [echo never]
tidy_up:
  stage: cleanup
  when: on_failure
  script: [echo tidying up after the failure]
"#;
    let p = Project::new(ci, &[]);
    let run = p.run(&engine, &[]);
    run.expect(
        1,
        &[
            ("broken", "failed"),
            ("dependent", "skipped"),
            ("later_stage", "skipped"),
            ("tidy_up", "success"),
        ],
    );
    assert_eq!(run.pipeline_status(), "failed");
    let broken = run.finished("broken");
    assert_eq!(broken["exit_code"], 1, "{run}");
    assert_eq!(broken["attempts"], 1, "{run}");
    assert!(
        broken["reason"]
            .as_str()
            .is_some_and(|r| r.contains("exit code 1")),
        "{run}"
    );
    assert_eq!(
        run.finished("dependent")["exit_code"],
        serde_json::Value::Null
    );
    assert_eq!(run.started_jobs(), ["broken", "tidy_up"], "{run}");
    assert!(run.stderr.contains("broken"), "{run}");
    let log = p.logs("broken");
    assert!(log.lines().any(|l| l == "about to fail"), "{log}");
    assert!(!log.lines().any(|l| l == "not reached"), "{log}");
}

#[test]
fn allowed_failures_let_the_pipeline_pass() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
default:
  image: tezos-ci-local/busybox:amd64
flaky:
  allow_failure: true
  script: [exit 1]
after_flaky:
  needs: [flaky]
  script: [echo an allowed failure counts as passed]
exit_three:
  allow_failure:
    exit_codes: [3]
  script: [exit 3]
exit_four:
  allow_failure:
    exit_codes: [3]
  script: [exit 4]
"#;
    let p = Project::new(ci, &[]);
    // Without the job that exits 4, the only failures are allowed ones.
    let run = p.run(&engine, &["flaky", "after_flaky", "exit_three"]);
    run.expect(
        0,
        &[
            ("flaky", "allowed_failure"),
            ("after_flaky", "success"),
            ("exit_three", "allowed_failure"),
        ],
    );
    assert_eq!(run.pipeline_status(), "success");
    assert_eq!(run.finished("flaky")["exit_code"], 1);
    assert_eq!(run.finished("exit_three")["exit_code"], 3);

    // Exit 4 is not among the allowed codes.
    let run = p.run(&engine, &[]);
    run.expect(
        1,
        &[
            ("flaky", "allowed_failure"),
            ("exit_three", "allowed_failure"),
            ("exit_four", "failed"),
        ],
    );
    assert_eq!(run.finished("exit_four")["exit_code"], 4);
    assert!(run.stderr.contains("exit_four"), "{run}");
}

#[test]
fn a_job_that_times_out_fails_fast_and_runs_its_after_script() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
slow:
  image: tezos-ci-local/busybox:amd64
  timeout: 2s
  script:
    - echo going to sleep
    - sleep 60
  after_script:
    - echo "after_script ran with status $CI_JOB_STATUS"
"#;
    let p = Project::new(ci, &[]);
    let started = Instant::now();
    let run = p.run(&engine, &[]);
    let took = started.elapsed();
    run.expect(1, &[("slow", "failed")]);
    let reason = run.finished("slow")["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("timed out"), "{run}");
    assert!(took.as_secs() < 30, "took {took:?}\n{run}");
    let log = p.logs("slow");
    assert!(log.lines().any(|l| l == "going to sleep"), "{log}");
    assert!(
        log.lines().any(|l| l.starts_with("after_script ran")),
        "{log}"
    );
    assert!(
        log.contains("execution took longer than 2s seconds"),
        "{log}"
    );
}

#[test]
fn a_job_passes_on_its_retry() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    // The first attempt leaves a marker in a `cache:` saved even on failure (`when: always`);
    // the retry restores it and passes. Nothing else carries state between attempts.
    let ci = r#"
flaky:
  image: tezos-ci-local/busybox:amd64
  retry: 1
  cache:
    key: retry-marker
    paths: [.marker/]
    when: always
  script:
    - |
      if [ -f .marker/failed-once ]; then
        echo "second attempt passes"
      else
        mkdir -p .marker && touch .marker/failed-once
        echo "first attempt fails"
        exit 1
      fi
"#;
    let p = Project::new(ci, &[]);
    let run = p.run(&engine, &[]);
    run.expect(0, &[("flaky", "success")]);
    let finished = run.finished("flaky");
    assert_eq!(finished["attempts"], 2, "{run}");
    assert_eq!(finished["exit_code"], 0, "{run}");
    let attempts: Vec<_> = run
        .job_events("job_started", "flaky")
        .iter()
        .map(|e| e["attempt"].clone())
        .collect();
    assert_eq!(attempts, [1, 2], "{run}");
    assert_eq!(run.job_events("job_finished", "flaky").len(), 1, "{run}");
    let logs = run.run_dir().join("logs");
    let first = std::fs::read_to_string(logs.join("flaky.log")).unwrap();
    let second = std::fs::read_to_string(logs.join("flaky.attempt-2.log")).unwrap();
    assert!(first.lines().any(|l| l == "first attempt fails"), "{first}");
    assert!(
        second.lines().any(|l| l == "second attempt passes"),
        "{second}"
    );
    assert!(p.logs("flaky").contains("second attempt passes"));
}

#[test]
fn a_job_that_always_fails_is_retried_then_fails() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
hopeless:
  image: tezos-ci-local/busybox:amd64
  retry: 2
  script:
    - echo "trying"
    - exit 7
"#;
    let p = Project::new(ci, &[]);
    let run = p.run(&engine, &[]);
    run.expect(1, &[("hopeless", "failed")]);
    let finished = run.finished("hopeless");
    assert_eq!(finished["attempts"], 3, "{run}");
    assert_eq!(finished["exit_code"], 7, "{run}");
    assert_eq!(run.job_events("job_started", "hopeless").len(), 3, "{run}");
    let mut logs: Vec<String> = std::fs::read_dir(run.run_dir().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    logs.sort();
    assert_eq!(
        logs,
        [
            "hopeless.attempt-2.log",
            "hopeless.attempt-3.log",
            "hopeless.log"
        ]
    );
}
