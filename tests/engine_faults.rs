//! An engine that dies mid-run: a `dockerd` of this test's own (`scripts/engines.sh`, in its own
//! network namespace, never the host's engine) is killed while a job runs on it. The job fails as
//! a runner system failure naming the job and the engine, not as a missing image, and the run
//! ends at once with exit code 2 (the environment's fault, not the job's). Needs root and dockerd; without them the test prints SKIPPED,
//! unless `CI=true`, where it fails.

#[path = "run_e2e/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Project, Run, Spawned, shared_machine};

/// Apart from `scripts/engines.sh`'s defaults and from `tests/engines.rs`'s engines.
const PREFIX: &str = "tclfault";
const SUBNET: &str = "10.216";

fn engines_sh(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/engines.sh"))
        .args(args)
        .env("TCL_ENGINES_PREFIX", PREFIX)
        .env("TCL_ENGINES_SUBNET", SUBNET)
        .env("TCL_ENGINES_IMAGES", "busybox:latest")
        .output()
        .expect("run scripts/engines.sh")
}

/// The engine, stopped (all trace of it removed) when dropped.
struct OwnEngine(String);

impl OwnEngine {
    fn start() -> Option<OwnEngine> {
        let why = if unsafe { libc::geteuid() } != 0 {
            "an engine of the test's own needs root".to_string()
        } else {
            let out = engines_sh(&["start", "1"]);
            if out.status.success() {
                let address = String::from_utf8_lossy(&out.stdout).trim().to_string();
                return Some(OwnEngine(address));
            }
            let _ = engines_sh(&["stop"]);
            format!(
                "scripts/engines.sh start 1 failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        };
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true: {why}");
        }
        eprintln!("SKIPPED: {why}");
        None
    }
}

impl Drop for OwnEngine {
    fn drop(&mut self) {
        let _ = engines_sh(&["stop"]);
    }
}

#[test]
fn an_engine_killed_mid_job_is_a_system_failure_naming_the_job_and_the_engine() {
    let _machine = shared_machine();
    let Some(engine) = OwnEngine::start() else {
        return;
    };
    let ci = r#"
stages: [a, b]
slow:
  stage: a
  image: busybox:latest
  script:
    - echo started
    - sleep 120
later:
  stage: b
  image: busybox:latest
  script: [echo later]
"#;
    let p = Project::new(ci, &[]);
    let mut command = p.command();
    command
        .args(["run", "--json", "--verbose", "--no-cache"])
        .env("DOCKER_HOST", &engine.0);
    let started = Instant::now();
    let mut child = Spawned::new(&mut command);
    child.wait_for_event(started + Duration::from_secs(120), |e| {
        e["event"] == "job_log" && e["job"] == "slow" && e["line"] == "started"
    });
    let out = engines_sh(&["kill", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = child.wait(support::RUN_LIMIT);
    let (stdout, stderr) = child.output();
    let run = Run::from_output(status, stdout, stderr, started.elapsed());

    run.expect(2, &[("slow", "failed"), ("later", "skipped")]);
    let reason = run.finished("slow")["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("lost the Docker engine at {}", engine.0)),
        "{run}"
    );
    assert!(!reason.contains("not available locally"), "{run}");
    assert!(
        run.stderr
            .contains("the environment failed under the run, not the jobs"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("job slow: the job's container failed: lost the Docker engine"),
        "{run}"
    );
    // Well before the job's `sleep 120` would have ended.
    assert!(run.elapsed < Duration::from_secs(100), "{run}");
    let log: PathBuf = run.run_dir().join("logs/slow.log");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("ERROR: Job failed: the job's container failed: lost the Docker engine"),
        "{log}"
    );
}
