//! A job that prints as fast as it can still ends at its deadline, and its log is capped as
//! GitLab caps one (4 MiB: the head and the tail kept, a line saying what was cut).

use std::time::{Duration, Instant};

use crate::support::*;

/// GitLab's default limit, and the runner's own lines and the cut notice around it.
const LOG_LIMIT: u64 = 4 * 1024 * 1024;

#[test]
fn jobs_that_flood_their_output_time_out_ten_times_out_of_ten() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
lines:
  image: busybox:latest
  timeout: 10s
  script:
    - yes
stream:
  image: busybox:latest
  timeout: 10s
  script:
    - cat /dev/zero | tr '\0' x
"#;
    let p = Project::new(ci, &[]);
    let mut took = Vec::new();
    for i in 0..10 {
        let job = if i % 2 == 0 { "lines" } else { "stream" };
        let started = Instant::now();
        // Checks that nothing is left on the engine.
        let run = p.run(&engine, &[job]);
        let elapsed = started.elapsed();
        took.push(elapsed);
        run.expect(1, &[(job, "failed")]);
        let reason = run.finished(job)["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("timed out"), "run {i}: {run}");
        assert!(
            elapsed < Duration::from_secs(20),
            "run {i} ({job}) took {elapsed:?}\n{run}"
        );
        let log = run.run_dir().join("logs").join(format!("{job}.log"));
        let size = std::fs::metadata(&log).unwrap().len();
        assert!(
            size <= LOG_LIMIT + 16 * 1024,
            "run {i}: {size} bytes of log"
        );
        let text = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
        // Whether the log reached its cap in 10 s depends on how fast the machine reads it;
        // when it did, it says so.
        if size > LOG_LIMIT / 2 + 4096 {
            assert!(
                text.contains("Job's log exceeded limit of 4194304 bytes"),
                "run {i}"
            );
        }
        assert!(
            text.ends_with("ERROR: Job failed: execution took longer than 10s seconds\n"),
            "run {i}: {}",
            &text[text.len().saturating_sub(300)..]
        );
    }
    eprintln!("10 flooding jobs with timeout: 10s ended after {took:?}");
}
