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

const LONG_NAME: &str = "integration-tests-of-the-protocol-on-a-runner-with-a-long-name 3/4";

#[test]
fn the_live_view_fits_an_80_column_terminal_and_the_summary_times_stages() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = format!(
        r#"
build:
  stage: build
  image: tezos-ci-local/busybox:amd64
  script: ["true"]
"{LONG_NAME}":
  stage: test
  image: tezos-ci-local/busybox:amd64
  script:
    - 'echo "$(printf "%0200d" 7)"'
    - sleep 2
    - echo done
"#
    );
    let p = Project::new(&ci, &[]);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/daily/pty_capture.py");
    let mut c = std::process::Command::new("python3");
    c.arg(script)
        .arg("80")
        .arg(BIN)
        .arg("-C")
        .arg(p.repo())
        .arg("--state-dir")
        .arg(p.state())
        .args(["run", "--no-cache"])
        .env_remove("TEZOS_CI_LOCAL_STATE_DIR")
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    let run = Run::of(&mut c, RUN_LIMIT);
    assert_eq!(run.code, 0, "{run}");
    let id = std::fs::read_to_string(p.state().join("runs/last")).unwrap();
    engine.assert_no_leftovers(id.trim());
    let (raw_live, _) = run
        .stdout
        .split_once("  JOB ")
        .unwrap_or_else(|| panic!("no summary:\n{}", run.stdout));
    // What is written between two cursor moves, line ends or carriage returns lies on one line
    // of the terminal.
    let pieces = drawn_pieces(raw_live);
    // The progress bars fill each line with spaces to the width and let the terminal wrap to
    // the next one: a piece is cut into rows of 80 columns, and each row must start as a line
    // of the live view does (a spinner, the overall bar's clock, a status symbol). A line wider
    // than 80 would wrap into a row starting in the middle of its text.
    let line_start = |row: &str| {
        let clock = row.len() > 3
            && row.as_bytes()[..2].iter().all(u8::is_ascii_digit)
            && row.as_bytes()[2] == b':';
        clock
            || row.starts_with(|c: char| {
                ('\u{2800}'..='\u{28FF}').contains(&c) || "✓✗!-▷↺⊘".contains(c)
            })
    };
    for piece in &pieces {
        let chars: Vec<char> = piece.chars().collect();
        for row in chars.chunks(80).map(|r| r.iter().collect::<String>()) {
            assert!(
                line_start(&row) || row.trim().is_empty(),
                "a row that does not start a line (an overlong line wrapped): {row:?} in {piece:?}"
            );
        }
    }
    assert!(
        pieces
            .iter()
            .any(|p| p.contains("integration-test…a-long-name 3/4 linux/amd64")),
        "the long name is shortened in the live view:\n{pieces:#?}"
    );
    let shown = console::strip_ansi_codes(&run.stdout).into_owned();
    let (_, summary) = shown.split_once("  JOB ").unwrap();
    assert!(summary.contains(LONG_NAME), "{summary}");
    let stages: Vec<&str> = summary
        .lines()
        .skip_while(|l| !l.starts_with("Stages (wall time):"))
        .skip(1)
        .take(2)
        .collect();
    assert!(
        stages[0].starts_with("  build  1 job ") && stages[1].starts_with("  test   1 job "),
        "{summary}"
    );
    // The test stage took the job's two seconds of sleep at least.
    let wall = stages[1].split_whitespace().last().unwrap();
    let secs: f64 = wall.trim_end_matches('s').parse().unwrap_or(0.0);
    assert!(secs >= 2.0, "{summary}");
}

/// The runs of text a terminal output writes between escape sequences (cursor moves, line
/// clears, colours), carriage returns and line ends.
fn drawn_pieces(raw: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    // Parameters, then one final byte in @..~.
                    for f in chars.by_ref() {
                        if ('@'..='~').contains(&f) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
                pieces.push(String::new());
            }
            '\r' | '\n' => pieces.push(String::new()),
            c => pieces.last_mut().unwrap().push(c),
        }
    }
    pieces.retain(|p| !p.is_empty());
    pieces
}
