//! Runner options (`--volume`, `--network`, `--extra-host`, `--shm-size`, `--ssh-agent`), end
//! to end: a job sees each of them, and bad values are refused with exit code 2.

#[path = "run_e2e/support.rs"]
mod support;

use support::*;

#[test]
fn a_job_sees_the_runner_options() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
job:
  image: busybox:latest
  script:
    - cat /data/in.txt
    - touch /data/new 2>/dev/null && echo writable || echo read-only-volume
    - grep mydb /etc/hosts
    - df -k /dev/shm | tail -n 1
    - echo "host=$(hostname)"
    - test -S "$SSH_AUTH_SOCK" && echo agent-socket-$((6*7))
"#;
    let p = Project::new(ci, &[]);
    let data = p.scratch("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("in.txt"), "from-the-host\n").unwrap();
    let agent_dir = p.scratch("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let agent = agent_dir.join("agent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&agent).unwrap();
    let volume = format!("{}:/data:ro", data.display());
    let mut c = p.command();
    c.env("SSH_AUTH_SOCK", &agent).args([
        "run",
        "--json",
        "--no-cache",
        "--volume",
        &volume,
        "--extra-host",
        "mydb:10.1.2.3",
        "--shm-size",
        "64m",
        "--network",
        "host",
        "--ssh-agent",
    ]);
    let run = Run::of(&mut c, RUN_LIMIT);
    assert_eq!(run.code, 0, "{run}");
    engine.assert_no_leftovers(run.run_id());
    let log = p.logs("job");
    assert!(log.contains("from-the-host"), "{log}");
    assert!(log.contains("read-only-volume"), "{log}");
    assert!(log.contains("10.1.2.3"), "{log}");
    assert!(log.contains("65536"), "{log}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(log.contains(&format!("host={}", host.trim())), "{log}");
    assert!(log.contains("agent-socket-42"), "{log}");
    assert!(!data.join("new").exists());
}

#[test]
fn bad_runner_options_are_refused() {
    let p = Project::new(
        "job:\n  image: tezos-ci-local/busybox:amd64\n  script: [\"true\"]\n",
        &[],
    );
    for args in [
        &["run", "--volume", "relative"][..],
        &["run", "--extra-host", "nohost"],
        &["run", "--shm-size", "lots"],
    ] {
        let out = p.command().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(args[1]), "{args:?}: {err}");
    }
}

#[test]
fn timestamps_start_every_log_line() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(
        "job:\n  image: busybox:latest\n  script: [echo stamped-line]\n",
        &[],
    );
    let run = p.run(&engine, &["--timestamps"]);
    assert_eq!(run.code, 0, "{run}");
    let log = p.logs("job");
    let line = log
        .lines()
        .find(|l| l.ends_with(" stamped-line"))
        .unwrap_or_else(|| panic!("{log}"));
    let (time, _) = line.split_once(' ').unwrap();
    assert!(time.len() == 27 && time.ends_with('Z'), "{line}");
    assert!(
        log.lines().all(|l| l.as_bytes().get(4) == Some(&b'-')),
        "{log}"
    );
}
