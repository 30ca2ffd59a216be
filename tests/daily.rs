//! A developer's day, through the built binary and real Docker: `--dry-run` says which jobs the
//! result cache answers, `logs JOB --follow` follows a job of a run under way.

#[path = "run_e2e/support.rs"]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::Instant;

use support::*;

const CACHED: &str = r#"
build:
  image: tezos-ci-local/busybox:amd64
  script: [mkdir -p out, cat src.txt > out/built]
  artifacts: {paths: [out/]}
test:
  image: tezos-ci-local/busybox:amd64
  needs: [build]
  script: [cat out/built]
lint:
  image: tezos-ci-local/busybox:amd64
  needs: []
  script: ["true"]
"#;

/// The `run`/`cached` column of each job in `run --dry-run`'s plan.
fn dry_run(p: &Project, args: &[&str]) -> (std::collections::BTreeMap<String, String>, String) {
    let mut c = p.command();
    c.args(["run", "--dry-run"]).args(args);
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let marks = stdout
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("  "))
        .map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next().unwrap().to_string();
            let _stage = w.next();
            (name, w.next().unwrap().to_string())
        })
        .collect();
    (marks, stdout)
}

#[test]
fn dry_run_marks_the_jobs_that_will_be_cached() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    // lint's key covers its declared inputs only, so that src.txt does not change it.
    let p = Project::new(
        CACHED,
        &[
            ("src.txt", "one\n"),
            (
                ".tezos-ci-local.yml",
                "jobs:\n  lint:\n    inputs: [lint.cfg]\n",
            ),
        ],
    );
    let marks = |args: &[&str]| dry_run(&p, args).0;
    let all = |m: &str| {
        [("build", m), ("lint", m), ("test", m)]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(marks(&[]), all("run"));
    let run = p.run_args(&engine, &["run", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let (m, stdout) = dry_run(&p, &[]);
    assert_eq!(m, all("cached"), "{stdout}");
    assert!(stdout.contains("3 jobs are cached"), "{stdout}");
    // The lookups were read only: the run that follows reports them cached, as announced.
    let run = p.run_args(&engine, &["run", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.status("build"), "cached", "{run}");
    // An input changes: the job runs, and so does the one that takes its artifacts.
    p.write("src.txt", "two\n");
    let mut expected = all("run");
    expected.insert("lint".into(), "cached".into());
    let (m, stdout) = dry_run(&p, &[]);
    assert_eq!(m, expected, "{stdout}");
    // --rerun and --no-cache are taken into account.
    p.write("src.txt", "one\n");
    let mut expected = all("cached");
    expected.insert("lint".into(), "run".into());
    assert_eq!(marks(&["--rerun", "lint"]), expected);
    assert_eq!(marks(&["--no-cache"]), all("run"));
}

const FOLLOW: &str = r#"
slow:
  image: tezos-ci-local/busybox:amd64
  script:
    - 'for i in 1 2 3 4 5 6; do echo "line $i"; sleep 0.5; done'
"#;

#[test]
fn logs_follow_prints_a_running_jobs_log_and_returns_when_it_ends() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(FOLLOW, &[]);
    let deadline = Instant::now() + RUN_LIMIT;
    let mut run = Spawned::new(p.command().args(["run", "--json", "--no-cache"]));
    let started = run.wait_for_event(deadline, |e| e["event"] == "pipeline_started");
    let run_dir = std::path::PathBuf::from(started["run_dir"].as_str().unwrap());
    let run_id = started["run_id"].as_str().unwrap().to_string();

    // A name the run does not have is an error at once, with a suggestion.
    let out = p
        .command()
        .args(["logs", "slwo", "--follow"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("did you mean `slow`"), "{stderr}");

    let mut follow = p
        .command()
        .args(["logs", "slow", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut job_state_at_first_line = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if line == "line 1" {
                    // The follower printed it while the job was still at work.
                    let state = std::fs::read_to_string(run_dir.join("jobs/slow.json")).unwrap();
                    job_state_at_first_line = Some(state);
                }
                seen.push(line);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(e) => {
                let _ = follow.kill();
                panic!(
                    "logs --follow did not end ({e:?}); so far:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    let status = follow.wait().unwrap();
    let mut stderr = String::new();
    follow
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("job `slow` ended: success"), "{stderr}");
    let state = job_state_at_first_line.expect("line 1 printed");
    assert!(state.contains(r#""status":"running""#), "{state}");
    let numbered: Vec<&String> = seen.iter().filter(|l| l.starts_with("line ")).collect();
    assert_eq!(
        numbered,
        (1..=6)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>(),
        "{}",
        seen.join("\n")
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("Job succeeded"),
        "{}",
        seen.join("\n")
    );
    // The whole log, as `logs` prints it after the run.
    let status = run.wait(RUN_LIMIT);
    assert!(status.success());
    engine.assert_no_leftovers(&run_id);
    let log = p.logs("slow");
    assert_eq!(log.lines().collect::<Vec<_>>(), seen);
}
