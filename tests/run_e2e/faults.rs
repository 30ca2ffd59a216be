//! Faults around a run, found early or named clearly: an `--artifacts-dir` that cannot take the
//! export, a full disk under the state directory, and an engine that goes away mid-run.

use crate::support::*;

/// `run --json --no-cache ARGS`, which must stop before any pipeline starts, exit 2, and leave
/// no run directory behind. The engine is unreachable (port 1 on the loopback), so that a check
/// made only once an engine answered would show as another error.
fn refused_before_the_run(p: &Project, args: &[&str]) -> Run {
    let mut command = p.command();
    command
        .args(["run", "--json", "--no-cache"])
        .args(args)
        .env("DOCKER_HOST", "tcp://127.0.0.1:1");
    let run = Run::of(&mut command, RUN_LIMIT);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.events.is_empty(), "{run}");
    let kept: Vec<_> = std::fs::read_dir(p.state().join("runs"))
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(kept.is_empty(), "a run directory was made: {kept:?}");
    run
}

#[test]
fn an_artifacts_dir_that_is_a_file_is_refused_before_any_job_runs() {
    // No engine is needed: the check comes before the run.
    let ci = "job:\n  image: busybox:latest\n  script: [echo hi]\n  artifacts:\n    paths: [x]\n";
    let p = Project::new(ci, &[]);
    let file = p.scratch("export.txt");
    std::fs::write(&file, "the user's own file\n").unwrap();
    let mut args = vec!["--artifacts-dir", file.to_str().unwrap()];
    let run = refused_before_the_run(&p, &args);
    assert!(run.stderr.contains(file.to_str().unwrap()), "{run}");
    assert!(run.stderr.contains("is a file"), "{run}");
    assert!(!run.stderr.contains("Docker engine"), "{run}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "the user's own file\n"
    );

    // A directory to be made under that file cannot be made either.
    let under = file.join("out");
    args[1] = under.to_str().unwrap();
    let run = refused_before_the_run(&p, &args);
    assert!(
        run.stderr
            .contains(&format!("{} is a file", file.display())),
        "{run}"
    );
}

/// A tmpfs of `size` mounted on `path` for as long as it lives (root only).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(path: &std::path::Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(path).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mount: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(path.to_path_buf())
    }

    /// Gives it more room, keeping what it holds.
    fn grow(&self, size: &str) {
        let out = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Whether this test may mount file systems; outside CI, says SKIPPED when it may not.
fn root_or_skip() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true: mounting a small tmpfs needs root");
    }
    eprintln!("SKIPPED: mounting a small tmpfs needs root");
    false
}

#[test]
fn a_full_state_disk_names_the_path_is_not_retried_and_a_later_run_with_room_works() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    if !root_or_skip() {
        return;
    }
    let ci = r#"
default:
  image: busybox:latest
big:
  retry: 2
  script:
    - head -c 3000000 /dev/urandom > big.bin
  artifacts:
    paths: [big.bin]
small:
  script: [echo small > small.txt]
  artifacts:
    paths: [small.txt]
"#;
    let p = Project::new(ci, &[]);
    // The whole state directory (runs, logs, artifacts, the result cache) on 2 MB.
    let disk = Tmpfs::mount(&p.state(), "2m");
    let run = p.run_args(&engine, &["run", "--json"]);
    // The host's fault, not the job's: exit 2, as for any other fault of the environment.
    run.expect(2, &[("big", "failed"), ("small", "success")]);
    assert!(
        run.stderr.contains("job big: this host's disk is full"),
        "{run}"
    );
    let big = run.finished("big");
    let reason = big["reason"].as_str().unwrap_or_default();
    let artifacts = run.run_dir().join("artifacts").join("big");
    assert!(reason.contains("disk is full"), "{run}");
    assert!(reason.contains(artifacts.to_str().unwrap()), "{run}");
    // A full disk is the host's fault: another attempt would fill it again.
    assert_eq!(big["attempts"], 1, "{run}");
    assert_eq!(run.job_events("job_started", "big").len(), 1, "{run}");
    assert!(!artifacts.exists(), "the half-written artifacts were left");
    // The log was still written, and says why.
    let log = p.logs("big");
    assert!(
        log.contains("ERROR: Job failed: this host's disk is full"),
        "{log}"
    );

    // With room, the same state directory works: `small`'s entry was stored whole (it is
    // restored, so its manifest matched), and `big` runs and passes.
    disk.grow("64m");
    let again = p.run_args(&engine, &["run", "--json"]);
    again.expect(0, &[("big", "success"), ("small", "cached")]);
    let small = again.run_dir().join("artifacts/small/small.txt");
    assert_eq!(std::fs::read_to_string(&small).unwrap(), "small\n");
    assert!(again.run_dir().join("artifacts/big/big.bin").is_file());
    drop(disk);
}

/// `docker ARGS` on the engine the tests use; its output.
fn docker_cli(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("run the docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn containers_killed_or_removed_from_outside_fail_their_job_and_the_log_says_so() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
default:
  image: busybox:latest
killed:
  script: [echo started, sleep 120]
removed:
  script: [echo started, sleep 120]
"#;
    let p = Project::new(ci, &[]);
    let mut command = p.command();
    command.args(["run", "--json", "--verbose", "--no-cache", "-j", "2"]);
    let started = std::time::Instant::now();
    let deadline = started + std::time::Duration::from_secs(120);
    let mut child = Spawned::new(&mut command);
    let first = child.wait_for_event(deadline, |e| e["event"] == "pipeline_started");
    let run_id = first["run_id"].as_str().unwrap().to_string();
    // Both scripts are running (their lines come in either order).
    let seen = std::cell::RefCell::new(std::collections::BTreeSet::new());
    child.wait_for_event(deadline, |e| {
        if e["event"] == "job_log" && e["line"] == "started" {
            seen.borrow_mut()
                .insert(e["job"].as_str().unwrap_or_default().to_string());
        }
        seen.borrow().len() == 2
    });
    // Only this run's containers, found by its label.
    let container = |job: &str| {
        docker_cli(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=tezos-ci-local.run={run_id}"),
            "--filter",
            &format!("label=tezos-ci-local.job={job}"),
        ])
    };
    docker_cli(&["kill", &container("killed")]);
    docker_cli(&["rm", "-f", &container("removed")]);
    let status = child.wait(RUN_LIMIT);
    let (stdout, stderr) = child.output();
    let run = Run::from_output(status, stdout, stderr, started.elapsed());
    engine.assert_no_leftovers(&run_id);

    // As in GitLab: the job failed with the code of a SIGKILL.
    run.expect(1, &[("killed", "failed"), ("removed", "failed")]);
    for job in ["killed", "removed"] {
        assert_eq!(run.finished(job)["exit_code"], 137, "{run}");
    }
    assert!(run.elapsed < std::time::Duration::from_secs(100), "{run}");
    let killed = std::fs::read_to_string(run.run_dir().join("logs/killed.log")).unwrap();
    assert!(killed.contains("killed by SIGKILL"), "{killed}");
    let removed = std::fs::read_to_string(run.run_dir().join("logs/removed.log")).unwrap();
    assert!(
        removed.contains("removed from outside the job while it ran"),
        "{removed}"
    );
}

#[test]
fn an_image_that_does_not_exist_fails_its_job_naming_the_image_without_retries() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
ghost:
  image: tezos-ci-local-test/no-such-image:1
  retry:
    max: 2
    when: [script_failure]
  script: [echo never]
"#;
    let p = Project::new(ci, &[]);
    let run = p.run(&engine, &[]);
    run.expect(1, &[("ghost", "failed")]);
    let reason = run.finished("ghost")["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("image `tezos-ci-local-test/no-such-image:1` is not available locally"),
        "{run}"
    );
    // A runner system failure: `retry:when: script_failure` does not run it again.
    assert_eq!(run.finished("ghost")["attempts"], 1, "{run}");
    assert!(run.stderr.contains("job ghost failed"), "{run}");
}
