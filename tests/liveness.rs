//! Live runs and dead runs on one shared engine: a run killed outright (SIGKILL) leaves its
//! objects, and `clean --containers` removes exactly those, at once (its container still
//! running), while the objects of runs still alive (in the same state directory or another) stay;
//! the next run says what dead runs left. Two runs of one checkout and state directory at once do
//! not corrupt each other. Every signal a run handles, at a random moment of a real run, ends it
//! with 130 and nothing left on the engine. Without an engine each test prints SKIPPED, unless
//! `CI=true`, where it fails.

#[path = "run_e2e/support.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{Engine, Project, Run, Spawned, docker_or_skip, shared_machine};

/// A job that says when its container runs, then waits to be stopped; and a quick one.
const SLEEPER: &str = r#"
default:
  image: busybox:latest
sleeper:
  script:
    - echo ready
    - sleep 300
quick:
  script: [echo quick]
"#;

/// `run sleeper` started; returns the process and its run id once the job's container runs
/// (its script printed `ready`).
fn start_sleeper(p: &Project) -> (Spawned, String) {
    let mut command = p.command();
    command.args(["run", "--json", "--verbose", "--no-cache", "sleeper"]);
    let mut child = Spawned::new(&mut command);
    let deadline = Instant::now() + support::RUN_LIMIT;
    let started = child.wait_for_event(deadline, |e| e["event"] == "pipeline_started");
    let id = started["run_id"].as_str().expect("a run id").to_string();
    child.wait_for_event(deadline, |e| {
        e["event"] == "job_log" && e["job"] == "sleeper" && e["line"] == "ready"
    });
    (child, id)
}

/// Interrupts a live run and checks that it ends as interrupted runs do, leaving nothing.
fn stop(engine: &Engine, mut child: Spawned, id: &str) {
    let signalled = Instant::now();
    child.signal(libc::SIGINT);
    let status = child.wait(support::RUN_LIMIT);
    let (stdout, stderr) = child.output();
    let run = Run::from_output(status, stdout, stderr, signalled.elapsed());
    assert_eq!(run.code, 130, "{run}");
    engine.assert_no_leftovers(id);
}

fn containers(left: &[String]) -> usize {
    left.iter().filter(|l| l.starts_with("container")).count()
}

#[test]
fn clean_removes_a_killed_runs_objects_at_once_and_keeps_those_of_live_runs() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(SLEEPER, &[]);
    // Another user's checkout with its own state directory.
    let other = Project::new(SLEEPER, &[]);
    let (killed, killed_id) = start_sleeper(&p);
    // A second run of the same checkout and state directory, alive.
    let (alive, alive_id) = start_sleeper(&p);
    let (elsewhere, elsewhere_id) = start_sleeper(&other);

    // The killed run's job directory on the host (the overlay's upper layer), named by owner.
    let killed_pid = killed.pid();
    let job_dirs_of = |pid: i32| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("tcl-job-"))
            .filter(|e| {
                std::fs::read_to_string(e.path().join("tezos-ci-local.owner"))
                    .is_ok_and(|o| o.split('/').nth(1) == Some(&pid.to_string()))
            })
            .map(|e| e.path())
            .collect()
    };
    assert_eq!(job_dirs_of(killed_pid).len(), 1, "the job's directory");
    killed.signal(libc::SIGKILL);
    let mut killed = killed;
    killed.wait(support::RUN_LIMIT);
    let left = engine.leftovers(&killed_id);
    assert!(
        containers(&left) == 1 && left.len() >= 2,
        "a run killed outright leaves its container (still running) and volume: {left:#?}"
    );

    // `runs` tells the killed run from the live one.
    let mut c = p.command();
    c.args(["runs", "--json"]);
    let runs = Run::of(&mut c, support::RUN_LIMIT);
    let listed: Vec<serde_json::Value> = serde_json::from_str(&runs.stdout).expect("runs --json");
    let status_of = |id: &str| {
        listed
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["status"].clone())
    };
    assert_eq!(status_of(&killed_id), Some("killed".into()), "{runs}");
    assert_eq!(status_of(&alive_id), Some("running".into()), "{runs}");
    let workspaces = p.state().join("workspaces");
    assert!(
        workspaces.join(&killed_id).is_dir(),
        "the killed run's snapshot"
    );

    // The next run says what was left, and how to remove it.
    let next = p.run_args(&engine, &["run", "--json", "--no-cache", "quick"]);
    next.expect(0, &[("quick", "success")]);
    assert!(
        next.stderr
            .contains("left on the Docker engine by runs that are no longer alive")
            && next
                .stderr
                .contains("`tezos-ci-local clean --containers` removes them"),
        "{next}"
    );

    let mut c = p.command();
    c.args(["clean", "--containers"]);
    let clean = Run::of(&mut c, support::RUN_LIMIT);
    assert_eq!(clean.code, 0, "{clean}");
    // At once: the container was running and made moments ago.
    engine.assert_no_leftovers(&killed_id);
    assert!(
        clean.stdout.contains("by runs that are no longer alive"),
        "{clean}"
    );
    assert!(
        clean.stdout.contains("of runs still alive there"),
        "{clean}"
    );
    // Its job directory and snapshot too; the live runs' stay.
    assert_eq!(
        job_dirs_of(killed_pid),
        Vec::<std::path::PathBuf>::new(),
        "{clean}"
    );
    assert_eq!(job_dirs_of(alive.pid()).len(), 1, "{clean}");
    assert!(!workspaces.join(&killed_id).exists(), "{clean}");
    assert!(workspaces.join(&alive_id).is_dir(), "{clean}");
    for id in [&alive_id, &elsewhere_id] {
        let left = engine.leftovers(id);
        assert_eq!(
            containers(&left),
            1,
            "live run {id} lost objects: {left:#?}"
        );
        assert!(left.len() >= 2, "live run {id} lost objects: {left:#?}");
    }
    // `clean --all` deletes past runs, not those still going.
    let mut c = p.command();
    c.args(["clean", "--all"]);
    let all = Run::of(&mut c, support::RUN_LIMIT);
    assert_eq!(all.code, 0, "{all}");
    let runs = p.state().join("runs");
    assert!(!runs.join(&killed_id).exists(), "{all}");
    assert!(runs.join(&alive_id).join("lock").is_file(), "{all}");
    assert!(workspaces.join(&alive_id).is_dir(), "{all}");
    // The live runs go on, and end cleanly.
    stop(&engine, alive, &alive_id);
    stop(&engine, elsewhere, &elsewhere_id);
}

#[test]
fn objects_of_another_host_are_kept_unless_their_run_is_named_or_forced() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(SLEEPER, &[]);
    let me = tezos_ci_local::store::liveness::Owner::current();
    let elsewhere = tezos_ci_local::store::liveness::Owner {
        host: "another-host".into(),
        ..me.clone()
    };
    // Two runs of another host, a volume each.
    let make = |run: &str| {
        let out = Command::new("docker")
            .args(["volume", "create", "--label", "tezos-ci-local", "--label"])
            .arg(format!("tezos-ci-local.run={run}"))
            .arg("--label")
            .arg(format!("tezos-ci-local.owner={}", elsewhere.label()))
            .arg(format!("tcl-test-{run}"))
            .output()
            .expect("docker volume create");
        assert!(out.status.success(), "{out:?}");
    };
    let (run, other) = (support::unique("elsewhere"), support::unique("elsewhere2"));
    make(&run);
    make(&other);
    let mut c = p.command();
    c.args(["clean", "--containers"]);
    let kept = Run::of(&mut c, support::RUN_LIMIT);
    assert_eq!(kept.code, 0, "{kept}");
    assert_eq!(engine.leftovers(&run).len(), 1, "{kept}");
    assert!(
        kept.stdout.contains("of runs of another host")
            && kept.stdout.contains("--force")
            && kept.stdout.contains("--run ID"),
        "{kept}"
    );
    // A run id that could be a path is refused.
    let mut c = p.command();
    c.args(["clean", "--containers", "--run", "../x"]);
    assert_eq!(Run::of(&mut c, support::RUN_LIMIT).code, 2);
    // Named, it goes (only it: `--force` would take every other host's objects on the engine).
    let mut c = p.command();
    c.args(["clean", "--containers", "--run", &run]);
    let named = Run::of(&mut c, support::RUN_LIMIT);
    assert_eq!(named.code, 0, "{named}");
    assert!(
        named
            .stdout
            .contains("Removed 0 containers, 0 networks and 1 volumes left on the Docker engine"),
        "{named}"
    );
    engine.assert_no_leftovers(&run);
    // The other run's volume was not touched: a named run is that run alone.
    assert_eq!(engine.leftovers(&other).len(), 1, "{named}");
    let mut c = p.command();
    c.args(["clean", "--containers", "--run", &other]);
    assert_eq!(Run::of(&mut c, support::RUN_LIMIT).code, 0);
    engine.assert_no_leftovers(&other);
}

/// A job that passes artifacts to the next, both using a `cache:` key.
const CHAIN: &str = r#"
default:
  image: busybox:latest
  cache:
    key: shared
    paths: [cache/]
build:
  stage: build
  script:
    - mkdir -p out cache
    - cat src/input.txt > out/a.txt
    - echo "$CI_JOB_NAME" >> cache/seen.txt
  artifacts:
    paths: [out/]
test:
  stage: test
  script:
    - test "$(cat out/a.txt)" = "input"
    - mkdir -p cache && echo "$CI_JOB_NAME" >> cache/seen.txt
    - echo tested > tested.txt
  artifacts:
    paths: [tested.txt]
"#;

#[test]
fn two_runs_of_one_checkout_and_state_directory_at_once_both_pass_apart() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(CHAIN, &[("src/input.txt", "input\n")]);
    let start = || {
        let mut c = p.command();
        c.args(["run", "--json"]);
        Spawned::new(&mut c)
    };
    // Both started before either has done anything.
    let (mut a, mut b) = (start(), start());
    let finish = |child: &mut Spawned| {
        let started = Instant::now();
        let status = child.wait(support::RUN_LIMIT);
        let (stdout, stderr) = child.output();
        Run::from_output(status, stdout, stderr, started.elapsed())
    };
    let (a, b) = (finish(&mut a), finish(&mut b));
    for run in [&a, &b] {
        run.expect(0, &[("build", "success"), ("test", "success")]);
        engine.assert_no_leftovers(run.run_id());
        let dir = run.run_dir();
        for file in [
            "logs/build.log",
            "logs/test.log",
            "artifacts/build/out/a.txt",
            "artifacts/test/tested.txt",
            "summary.json",
            "run.json",
            "report.html",
        ] {
            assert!(
                dir.join(file).is_file(),
                "{} has no {file}\n{run}",
                dir.display()
            );
        }
        for job in ["build", "test"] {
            let log = std::fs::read_to_string(dir.join(format!("logs/{job}.log"))).unwrap();
            assert!(log.contains("Job succeeded"), "{log}");
        }
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
        assert_eq!(record["status"], "passed", "{record}");
        assert_eq!(
            std::fs::read_to_string(dir.join("artifacts/build/out/a.txt")).unwrap(),
            "input\n"
        );
    }
    assert_ne!(a.run_id(), b.run_id());
    assert_ne!(a.run_dir(), b.run_dir());
    // Each run's snapshot is its own, and gone with its run.
    let workspaces = p.state().join("workspaces");
    for run in [&a, &b] {
        assert!(!workspaces.join(run.run_id()).exists(), "{run}");
    }
    // What both stored verifies: a third run is wholly cached.
    let third = p.run_args(&engine, &["run", "--json"]);
    third.expect(0, &[("build", "cached"), ("test", "cached")]);
    assert_eq!(
        std::fs::read_to_string(third.run_dir().join("artifacts/build/out/a.txt")).unwrap(),
        "input\n"
    );
    let mut c = p.command();
    c.args(["runs", "--json"]);
    let runs = Run::of(&mut c, support::RUN_LIMIT);
    for run in [&a, &b, &third] {
        assert!(runs.stdout.contains(run.run_id()), "{runs}");
    }
}

/// splitmix64: a seeded sequence, so a failing draw can be replayed (`TCL_SIGNAL_SEED`).
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Two short jobs, the second taking the first's artifacts: a signal may come while a job is
/// prepared, runs, is stored, or while its objects are removed.
const SHORT: &str = r#"
default:
  image: busybox:latest
first:
  stage: build
  script: [echo first > first.txt, sleep 1]
  artifacts:
    paths: [first.txt]
second:
  stage: test
  script: [cat first.txt, sleep 1.5]
"#;

/// SIGINT, SIGTERM, SIGHUP and SIGQUIT at seeded random moments of real runs: each ends the run
/// with 130 (the project's one code for an interrupted run, whichever signal), its pipeline
/// `canceled`, nothing left on the engine; a signal that comes before the run listens (while the
/// pipeline is read) ends the process by the signal, before anything was made.
#[test]
fn every_handled_signal_at_a_random_moment_ends_the_run_with_130_and_leaves_nothing() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let seed = std::env::var("TCL_SIGNAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("signal moments drawn with TCL_SIGNAL_SEED={seed}");
    let mut draws = Draws(seed);
    let signals = [
        (libc::SIGINT, "SIGINT"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGQUIT, "SIGQUIT"),
    ];
    // Every signal twice at a moment of the pipeline, then four drawn at a moment counted from
    // the process's start (reading the pipeline, reaching the engine, or the pipeline): 12 runs.
    let mut plan: Vec<(usize, bool)> = (0..8).map(|i| (i % 4, false)).collect();
    plan.extend((0..4).map(|_| ((draws.next() % 4) as usize, true)));
    for (n, (which, from_spawn)) in plan.into_iter().enumerate() {
        let (signal, name) = signals[which];
        // From the pipeline's start: within its first 1.8 s, and it takes longer than that
        // (2.5 s of sleeps alone), so the run is always under way when the signal comes.
        let after = Duration::from_millis(draws.next() % if from_spawn { 600 } else { 1800 });
        let origin = if from_spawn {
            "the process started"
        } else {
            "the pipeline started"
        };
        let p = Project::new(SHORT, &[]);
        let mut command = p.command();
        command.args(["run", "--json"]);
        let mut child = Spawned::new(&mut command);
        if !from_spawn {
            child.wait_for_event(Instant::now() + support::RUN_LIMIT, |e| {
                e["event"] == "pipeline_started"
            });
        }
        // The moment is what is drawn; nothing is ordered by this sleep.
        std::thread::sleep(after);
        child.signal(signal);
        let signalled = Instant::now();
        let status = child.wait(support::RUN_LIMIT);
        let (stdout, stderr) = child.output();
        let died = std::os::unix::process::ExitStatusExt::signal(&status);
        let run = Run::from_output(status, stdout, stderr, signalled.elapsed());
        let what = format!("run {n}: {name} {after:?} after {origin} (TCL_SIGNAL_SEED={seed})");
        let run_dirs = std::fs::read_dir(p.state().join("runs"))
            .map(|d| d.flatten().filter(|e| e.path().is_dir()).count())
            .unwrap_or(0);
        if died == Some(signal) {
            // Before the run listened (the pipeline being read), the signal ends the process
            // as it ends any program: nothing was made yet.
            println!("{what}: ended by the signal before the run began");
            assert_eq!(run_dirs, 0, "{what}: a run was begun\n{run}");
            continue;
        }
        assert_eq!(run.code, 130, "{what}\n{run}");
        let Some(id) = run
            .events
            .iter()
            .find(|e| e["event"] == "pipeline_started")
            .and_then(|e| e["run_id"].as_str())
        else {
            println!("{what}: interrupted while reaching the engine");
            assert_eq!(run_dirs, 0, "{what}: a run was begun\n{run}");
            continue;
        };
        println!("{what}: the pipeline was canceled");
        assert_eq!(run.pipeline_status(), "canceled", "{what}\n{run}");
        engine.assert_no_leftovers(id);
        let record = std::fs::read_to_string(run.run_dir().join("run.json")).unwrap();
        assert!(
            record.contains(r#""status":"canceled""#),
            "{what}\n{record}"
        );
    }
}
