//! `--keep-failed` and `tezos-ci-local shell`, end to end against the real engine: a failed job
//! is kept (containers, volume, services, still labelled) and `shell JOB --after-failure` opens
//! a shell in it; `shell JOB` opens one in a fresh environment of the job, removed when the shell
//! exits; `clean --containers` removes what was kept. The shells are driven through a pseudo
//! terminal (`tests/debug_shell/pty_session.py`): a command is typed, its output read, `exit`
//! typed.

#[path = "run_e2e/support.rs"]
mod support;

use std::path::Path;
use std::process::Command;

use support::*;

/// Runs `tezos-ci-local ARGS` in `p` through a pseudo terminal, typing each step's line once its
/// expected text showed; returns the exit code and what the terminal showed.
fn in_terminal(p: &Project, steps: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/debug_shell/pty_session.py");
    let steps = serde_json::to_string(steps).unwrap();
    let repo = p.repo();
    let state = p.state();
    let mut c = Command::new("python3");
    c.arg(script)
        .arg(steps)
        .arg(BIN)
        .arg("-C")
        .arg(&repo)
        .arg("--state-dir")
        .arg(&state)
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

const SERVICE_AND_VARIABLE: &str = r#"
variables:
  GREETING: hello-from-the-job
broken:
  image: busybox:latest
  services:
    - name: busybox:latest
      alias: web
      command: ["httpd", "-f", "-p", "8080", "-h", "/etc"]
  script:
    - echo kept-content-$((7*11)) > left-behind.txt
    - exit 3
"#;

#[test]
fn keep_failed_keeps_the_job_and_shell_after_failure_opens_in_it() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(SERVICE_AND_VARIABLE, &[]);
    let mut c = p.command();
    c.args(["run", "--json", "--no-cache", "--keep-failed"]);
    let run = Run::of(&mut c, RUN_LIMIT);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(run.status("broken"), "failed", "{run}");
    let id = run.run_id().to_string();
    let kept = engine.leftovers(&id);
    assert!(
        kept.iter().any(|o| o.starts_with("volume"))
            && kept.iter().any(|o| o.to_lowercase().contains("running")),
        "the job's volume and its running service are kept: {kept:#?}"
    );
    assert!(
        p.logs("broken").contains("--after-failure"),
        "the log says how to get a shell"
    );

    // The shell sees what the job left, its variables and its service.
    let (code, shown) = in_terminal(
        &p,
        &[
            ("# ", "cat left-behind.txt; echo \"v=$GREETING\""),
            (
                "v=hello-from-the-job",
                "wget -q -O /dev/null http://web:8080/hostname && echo svc-$((40+2))",
            ),
            ("svc-42", "exit"),
        ],
        &["shell", "broken", "--after-failure"],
    );
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("kept-content-77"), "{shown}");
    // The shell's own container is gone; what was kept stays for another session.
    assert_eq!(engine.leftovers(&id).len(), kept.len(), "{shown}");

    // A job that was not kept says so, and how to keep it.
    let out = p
        .command()
        .args(["shell", "other", "--after-failure"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--keep-failed"));

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
    engine.assert_no_leftovers(&id);
    assert!(
        !run.run_dir().join("kept").join("broken.json").exists(),
        "clean removes the record"
    );
    assert!(
        !p.state().join("workspaces").join(&id).exists(),
        "clean removes the kept snapshot"
    );
}

#[test]
fn without_keep_failed_a_failed_job_leaves_nothing() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(SERVICE_AND_VARIABLE, &[]);
    let run = p.run(&engine, &[]);
    assert_eq!(run.code, 1, "{run}");
    assert!(!run.run_dir().join("kept").exists());
}

#[test]
fn shell_job_opens_a_fresh_environment_of_the_job_and_removes_it() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(SERVICE_AND_VARIABLE, &[("notes.txt", "a-project-file\n")]);
    let (code, shown) = in_terminal(
        &p,
        &[
            ("# ", "ls; cat notes.txt; echo \"v=$GREETING\""),
            (
                "v=hello-from-the-job",
                "wget -q -O /dev/null http://web:8080/hostname && echo svc-$((40+2))",
            ),
            ("svc-42", "exit"),
        ],
        &["shell", "broken"],
    );
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("a-project-file"), "{shown}");
    // The script did not run: the environment is the job's before its script.
    assert!(!shown.contains("left-behind.txt"), "{shown}");
    let id = std::fs::read_to_string(p.state().join("runs/last")).unwrap();
    engine.assert_no_leftovers(id.trim());
    assert!(!p.state().join("workspaces").join(id.trim()).exists());
}

/// `run JOB` without `--needs`: the job receives the artifacts its needs left in the last run
/// where they passed; with none, the run says which are missing and suggests `--needs`.
#[test]
fn one_job_receives_the_artifacts_of_its_needs_from_the_last_run() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
default:
  image: busybox:latest
producer:
  stage: build
  script: [echo made-by-producer > out.txt]
  artifacts:
    paths: [out.txt]
consumer:
  stage: test
  needs: [producer]
  script: [cat out.txt]
"#;
    let p = Project::new(ci, &[]);
    let alone = p.run(&engine, &["consumer"]);
    assert_eq!(alone.code, 1, "{alone}");
    assert!(
        alone
            .stderr
            .contains("`consumer` needs the artifacts of `producer`")
            && alone.stderr.contains("--needs"),
        "{alone}"
    );
    let whole = p.run(&engine, &[]);
    assert_eq!(whole.code, 0, "{whole}");
    let again = p.run(&engine, &["consumer"]);
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(again.status("consumer"), "success", "{again}");
    assert!(
        again.stderr.contains(&format!(
            "artifacts of `producer` from run {}",
            whole.run_id()
        )),
        "{again}"
    );
    assert!(p.logs("consumer").contains("made-by-producer"));
}
