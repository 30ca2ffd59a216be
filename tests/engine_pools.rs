//! End-to-end tests of engine pools with real extra engines (`scripts/engines.sh`, under a prefix
//! and subnet of this binary's own): arm64 jobs spread over a pool of two engines with artifacts
//! crossing between them and to the local engine, and an engine whose daemon is killed in the
//! middle of a job, which then runs again on the other engine. Needs root and dockerd; without
//! them each test prints SKIPPED, unless `CI=true`, where it fails.

#[path = "run_e2e/support.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use support::{Project, RUN_LIMIT, Run, Spawned, docker_or_skip, labelled_on, shared_machine};

const PREFIX: &str = "tclpool";
const SUBNET: &str = "10.237";

/// The tests here kill and restart these engines: one at a time.
static ENGINES_IN_USE: Mutex<()> = Mutex::new(());

fn engines_sh(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/engines.sh"))
        .args(args)
        .env("TCL_ENGINES_PREFIX", PREFIX)
        .env("TCL_ENGINES_SUBNET", SUBNET)
        .output()
        .expect("run scripts/engines.sh")
}

extern "C" fn stop_engines() {
    let _ = engines_sh(&["stop"]);
}

/// Starts (or restarts, after a kill) the two engines; their addresses, or `None` after
/// SKIPPED where they cannot be started outside CI.
fn two_engines() -> Option<Vec<String>> {
    static REGISTERED: OnceLock<()> = OnceLock::new();
    // SAFETY: geteuid has no preconditions.
    let why = if unsafe { libc::geteuid() } != 0 {
        "extra engines need root".to_string()
    } else {
        REGISTERED.get_or_init(|| {
            // SAFETY: registers a function without arguments that only runs a child process.
            unsafe { libc::atexit(stop_engines) };
        });
        let out = engines_sh(&["start", "2"]);
        if out.status.success() {
            return Some(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(String::from)
                    .collect(),
            );
        }
        format!(
            "scripts/engines.sh start 2 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true: {why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// The engine a job's log says it ran on.
fn engine_of(log: &str) -> String {
    let at = log
        .find("on the Docker engine at ")
        .unwrap_or_else(|| panic!("no engine in the log:\n{log}"));
    log[at + "on the Docker engine at ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn arm64_jobs_spread_over_a_pool_of_two_engines_and_artifacts_cross_them() {
    let _machine = shared_machine();
    let _engines = ENGINES_IN_USE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(local) = docker_or_skip() else {
        return;
    };
    let Some(extra) = two_engines() else {
        return;
    };
    let ci = r#"
build_a:
  image: arm64v8/busybox:latest
  tags: [arm64]
  script:
    - echo "a $(uname -m)" > a.txt
  artifacts: {paths: [a.txt]}
build_b:
  image: arm64v8/busybox:latest
  tags: [arm64]
  script:
    - echo "b $(uname -m)" > b.txt
    - cat src/input.txt >> b.txt
  artifacts: {paths: [b.txt]}
join_arm64:
  image: arm64v8/busybox:latest
  tags: [arm64]
  needs: [build_a, build_b]
  script:
    - cat a.txt b.txt > both.txt
    - test "$(cat both.txt | tr '\n' ' ')" = "a aarch64 b aarch64 from the checkout "
  artifacts: {paths: [both.txt]}
check:
  image: busybox:latest
  needs: [join_arm64]
  script:
    - test "$(uname -m)" = x86_64
    - test "$(cat both.txt | tr '\n' ' ')" = "a aarch64 b aarch64 from the checkout "
"#;
    let p = Project::new(ci, &[("src/input.txt", "from the checkout\n")]);
    // One job at a time on each engine: the two builds start together, so each has its own.
    let pool = format!("arm64={}?capacity=1,{}?capacity=1", extra[0], extra[1]);
    let run = p.run_args(&local, &["run", "--json", "--no-cache", "--engine", &pool]);
    run.expect(
        0,
        &[
            ("build_a", "success"),
            ("build_b", "success"),
            ("join_arm64", "success"),
            ("check", "success"),
        ],
    );
    let (a, b) = (engine_of(&p.logs("build_a")), engine_of(&p.logs("build_b")));
    assert_ne!(a, b, "both builds ran on {a}");
    for e in [&a, &b] {
        assert!(extra.contains(e), "{e} is not one of {extra:?}");
    }
    // At least one of the builds' artifacts came from the other engine than the join's.
    assert!(extra.contains(&engine_of(&p.logs("join_arm64"))));
    assert!(!p.logs("check").contains(&extra[0]) && !p.logs("check").contains(&extra[1]));
    for e in &extra {
        let left = labelled_on(e);
        assert!(left.is_empty(), "left on {e}: {left:?}");
    }
}

/// Restarts the engines whatever the test did, for the next test.
struct Restart;

impl Drop for Restart {
    fn drop(&mut self) {
        let _ = engines_sh(&["start", "2"]);
    }
}

#[test]
fn killing_an_engine_s_daemon_mid_job_reruns_the_job_on_the_other_engine() {
    let _machine = shared_machine();
    let _engines = ENGINES_IN_USE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(local) = docker_or_skip() else {
        return;
    };
    let Some(extra) = two_engines() else {
        return;
    };
    let _restart = Restart;
    let ci = r#"
long:
  image: arm64v8/busybox:latest
  tags: [arm64]
  variables: {MARK: READY}
  script:
    - echo "$MARK"
    - sleep 5
    - uname -m > out.txt
  artifacts: {paths: [out.txt]}
after:
  image: busybox:latest
  needs: [long]
  script:
    - test "$(cat out.txt)" = aarch64
"#;
    let p = Project::new(ci, &[]);
    let pool = format!("arm64={},{}", extra[0], extra[1]);
    let mut c = p.command();
    c.args([
        "run",
        "--json",
        "--verbose",
        "--no-cache",
        "--engine",
        &pool,
    ]);
    let started = Instant::now();
    let mut child = Spawned::new(&mut c);
    let deadline = started + RUN_LIMIT;
    let first = child.wait_for_event(deadline, |e| {
        e["event"] == "job_log"
            && e["job"] == "long"
            && e["line"]
                .as_str()
                .is_some_and(|l| l.contains("on the Docker engine at "))
    });
    let victim = engine_of(first["line"].as_str().unwrap());
    let index = extra
        .iter()
        .position(|e| *e == victim)
        .unwrap_or_else(|| panic!("{victim} is not one of {extra:?}"));
    // The job is running on the victim (its script printed), when its daemon is killed.
    child.wait_for_event(deadline, |e| {
        e["event"] == "job_log" && e["job"] == "long" && e["line"] == "READY"
    });
    let killed = engines_sh(&["kill", &(index + 1).to_string()]);
    assert!(killed.status.success(), "{killed:?}");
    let status = child.wait(RUN_LIMIT);
    let (stdout, stderr) = child.output();
    let run = Run::from_output(status, stdout, stderr, started.elapsed());
    run.expect(0, &[("long", "success"), ("after", "success")]);
    let starts: Vec<u64> = run
        .job_events("job_started", "long")
        .iter()
        .map(|e| e["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, vec![1, 2], "{run}");
    let reason = run.finished("long")["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("engine {victim} failed")) && reason.contains("retrying once"),
        "{reason}"
    );
    assert!(
        run.job_events("job_log", "long").iter().any(|e| e["line"]
            .as_str()
            .is_some_and(|l| l.starts_with("WARNING: runner system failure: engine "))),
        "{run}"
    );
    let survivor = &extra[1 - index];
    assert_eq!(&engine_of(&p.logs("long")), survivor);
    local.assert_no_leftovers(run.run_id());
    let left = labelled_on(survivor);
    assert!(left.is_empty(), "left on {survivor}: {left:?}");
}
