//! Interrupting a run: SIGINT or SIGTERM while a job runs ends the run with 130 in a few seconds,
//! reports the jobs `canceled` and leaves nothing on the engine; so does a second signal sent
//! while the first one's cleanup is under way.

use std::time::{Duration, Instant};

use crate::support::*;

const SLEEPER: &str = r#"
sleeper:
  image: tezos-ci-local/busybox:amd64
  script:
    - echo "sleeping now"
    - sleep 60
after_sleeper:
  image: tezos-ci-local/busybox:amd64
  needs: [sleeper]
  script: [echo never]
"#;

/// How long the run may take to end once signalled (the job would sleep for 60 s).
const STOP_LIMIT: Duration = Duration::from_secs(15);

enum WaitFor {
    /// `job_started`: the job is handed to the executor, its containers may not exist yet.
    Started,
    /// The script's first line in the log: its container is running.
    Running,
}

fn interrupt(signals: &[i32], wait_for: WaitFor) {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(SLEEPER, &[]);
    let mut command = p.command();
    command.args(["run", "--json", "--no-cache", "--verbose"]);
    let mut child = Spawned::new(&mut command);
    let deadline = Instant::now() + RUN_LIMIT;
    let started = child.wait_for_event(deadline, |e| e["event"] == "pipeline_started");
    let run_id = started["run_id"].as_str().unwrap().to_string();
    match wait_for {
        WaitFor::Started => {
            child.wait_for_event(deadline, |e| {
                e["event"] == "job_started" && e["job"] == "sleeper"
            });
        }
        WaitFor::Running => {
            child.wait_for_event(deadline, |e| {
                e["event"] == "job_log" && e["line"] == "sleeping now"
            });
        }
    }
    let signalled = Instant::now();
    for &s in signals {
        child.signal(s);
    }
    let status = child.wait(RUN_LIMIT);
    let took = signalled.elapsed();
    let (stdout, stderr) = child.output();
    let run = Run::from_output(status, stdout, stderr, took);
    assert_eq!(run.code, 130, "{run}");
    assert!(took < STOP_LIMIT, "took {took:?} to stop\n{run}");
    assert_eq!(run.status("sleeper"), "canceled", "{run}");
    assert_eq!(run.status("after_sleeper"), "canceled", "{run}");
    assert_eq!(run.pipeline_status(), "canceled", "{run}");
    engine.assert_no_leftovers(&run_id);
}

#[test]
fn sigint_cancels_a_job_just_started() {
    interrupt(&[libc::SIGINT], WaitFor::Started);
}

#[test]
fn sigint_cancels_a_running_job() {
    interrupt(&[libc::SIGINT], WaitFor::Running);
}

#[test]
fn sigterm_cancels_a_running_job() {
    interrupt(&[libc::SIGTERM], WaitFor::Running);
}

#[test]
fn a_second_sigint_during_cleanup_still_leaves_nothing() {
    interrupt(&[libc::SIGINT, libc::SIGINT], WaitFor::Running);
}

#[test]
fn a_second_signal_right_after_the_start_still_leaves_nothing() {
    interrupt(&[libc::SIGTERM, libc::SIGINT], WaitFor::Started);
}

#[test]
fn sighup_cancels_a_running_job() {
    // A closed terminal or a dropped ssh session: handled as SIGTERM.
    interrupt(&[libc::SIGHUP], WaitFor::Running);
}

#[test]
fn sigquit_cancels_a_job_just_started() {
    interrupt(&[libc::SIGQUIT], WaitFor::Started);
}
