//! `--keep-failed` on a routed engine, end to end: an arm64 job sent to an extra engine
//! (`--engine arm64=...`, `scripts/engines.sh` under a prefix and subnet of this binary's own)
//! fails and is kept there; `shell JOB --after-failure`, given no `--engine`, opens its shell on
//! that engine (the record names it); `clean --containers` removes it from that engine. Needs
//! root and dockerd; without them the test prints SKIPPED, unless `CI=true`, where it fails.

#[path = "run_e2e/support.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use support::*;

const PREFIX: &str = "tclkept";
const SUBNET: &str = "10.238";

fn engines_sh(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/engines.sh"))
        .args(args)
        .env("TCL_ENGINES_PREFIX", PREFIX)
        .env("TCL_ENGINES_SUBNET", SUBNET)
        .env("TCL_ENGINES_IMAGES", "arm64v8/busybox:latest")
        .output()
        .expect("run scripts/engines.sh")
}

extern "C" fn stop_engines() {
    let _ = engines_sh(&["stop"]);
}

/// Starts one extra engine; its address, or `None` after SKIPPED where it cannot be started
/// outside CI.
fn extra_engine() -> Option<String> {
    static REGISTERED: OnceLock<()> = OnceLock::new();
    // SAFETY: geteuid has no preconditions.
    let why = if unsafe { libc::geteuid() } != 0 {
        "an extra engine needs root".to_string()
    } else {
        REGISTERED.get_or_init(|| {
            // SAFETY: registers a function without arguments that only runs a child process.
            unsafe { libc::atexit(stop_engines) };
        });
        let out = engines_sh(&["start", "1"]);
        match String::from_utf8_lossy(&out.stdout).lines().next() {
            Some(a) if out.status.success() => return Some(a.to_string()),
            _ => format!(
                "scripts/engines.sh start 1 failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true: {why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// Runs `tezos-ci-local ARGS` in `p` through a pseudo terminal (`tests/debug_shell/
/// pty_session.py`), typing each step's line once its expected text showed.
fn in_terminal(p: &Project, steps: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/debug_shell/pty_session.py");
    let steps = serde_json::to_string(steps).unwrap();
    let mut c = Command::new("python3");
    c.arg(script)
        .arg(steps)
        .arg(BIN)
        .arg("-C")
        .arg(p.repo())
        .arg("--state-dir")
        .arg(p.state())
        .args(args)
        .env_remove("TEZOS_CI_LOCAL_STATE_DIR")
        .env("NO_COLOR", "1");
    let run = Run::of(&mut c, RUN_LIMIT);
    assert!(
        !run.stderr.contains("TIMEOUT") && !run.stderr.contains("closed while"),
        "the terminal session did not go as typed:\n{run}"
    );
    (run.code, format!("{}{}", run.stdout, run.stderr))
}

const BROKEN_ARM64: &str = r#"
broken_arm64:
  image: arm64v8/busybox:latest
  tags: [arm64]
  script:
    - echo "kept-on-$(uname -m)" > left-behind.txt
    - exit 3
"#;

#[test]
fn a_job_kept_on_a_routed_engine_gets_a_shell_there_and_clean_removes_it() {
    let _machine = shared_machine();
    let Some(local) = docker_or_skip() else {
        return;
    };
    let Some(extra) = extra_engine() else {
        return;
    };
    let p = Project::new(BROKEN_ARM64, &[]);
    let route = format!("arm64={extra}");
    let run = p.run_args(
        &local,
        &[
            "run",
            "--json",
            "--no-cache",
            "--keep-failed",
            "--engine",
            &route,
        ],
    );
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(run.status("broken_arm64"), "failed", "{run}");
    let record = run.run_dir().join("kept/broken_arm64.json");
    let kept: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).expect("a kept record")).unwrap();
    assert_eq!(kept["engine"].as_str(), Some(extra.as_str()), "{kept}");
    let left = labelled_on(&extra);
    assert!(
        left.iter().any(|o| o.starts_with("volume")),
        "the job's volume is kept on {extra}: {left:?}"
    );

    // No --engine: the record says where the job is.
    let (code, shown) = in_terminal(
        &p,
        &[("# ", "cat left-behind.txt"), ("kept-on-aarch64", "exit")],
        &["shell", "broken_arm64", "--after-failure"],
    );
    assert_eq!(code, 0, "{shown}");
    assert_eq!(
        labelled_on(&extra).len(),
        left.len(),
        "the shell's container is gone"
    );

    let out = p
        .command()
        .args(["clean", "--containers"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Removed 1 kept jobs."),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let left = labelled_on(&extra);
    assert!(left.is_empty(), "left on {extra}: {left:?}");
    assert!(!record.exists(), "clean removes the record");
}
