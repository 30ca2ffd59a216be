//! The job result cache, end to end with the built binary and the real Docker engine: an
//! unchanged pipeline is all `cached` and creates no container; a changed input reruns the job
//! that reads it and the jobs that take its artifacts, and no other; failures are never stored;
//! a damaged entry is ignored; `--no-cache` and `--rerun`. Each test has its own state directory,
//! and each run is checked to leave no labelled container, volume or network.

#[path = "run_e2e/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::*;

/// `compile`'s artifacts go to `unit`, whose artifacts go to `package`; `waits` needs `compile`
/// without its artifacts; `lint` and `docs` are on their own. Each job declares the files it
/// reads (`docs` through its `rules:changes`), except `everything`, whose key covers every file.
const CHAIN: &str = r#"
stages: [build, test, package]

default:
  image: busybox:latest

compile:
  stage: build
  script:
    - mkdir -p out
    - cp src/lib.txt out/lib.txt
  artifacts:
    paths: [out/]

lint:
  stage: build
  script:
    - cat lint.cfg

unit:
  stage: test
  needs: [compile]
  script:
    - cp out/lib.txt seen.txt
  artifacts:
    paths: [seen.txt]

waits:
  stage: test
  needs:
    - job: compile
      artifacts: false
  script:
    - test ! -e out/lib.txt

docs:
  stage: test
  needs: []
  rules:
    - changes: [docs/**/*]
  script:
    - cat docs/index.txt

everything:
  stage: test
  needs: []
  script:
    - echo reads the whole tree

package:
  stage: package
  needs: [unit]
  script:
    - cat seen.txt
"#;

const INPUTS: &str = r#"
jobs:
  compile: {inputs: ["src/**"]}
  lint: {inputs: [lint.cfg]}
  unit: {inputs: ["tests/**"]}
  waits: {inputs: [README]}
  package: {inputs: ["packaging/**"]}
"#;

const ALL_JOBS: [&str; 7] = [
    "compile",
    "docs",
    "everything",
    "lint",
    "package",
    "unit",
    "waits",
];

fn chain() -> Project {
    Project::new(
        CHAIN,
        &[
            (".tezos-ci-local.yml", INPUTS),
            ("src/lib.txt", "v1\n"),
            ("lint.cfg", "strict\n"),
            ("docs/index.txt", "the docs\n"),
            ("README", "a project\n"),
        ],
    )
}

/// The run with the result cache on (the support's `run` turns it off).
fn run_cached(p: &Project, engine: &Engine, args: &[&str]) -> Run {
    p.run_args(engine, &[&["run", "--json"], args].concat())
}

/// Asserts that exactly the jobs of `ran` ran (and passed) and those of `cached` were restored
/// from the cache without starting.
fn expect_ran_and_cached(run: &Run, ran: &[&str], cached: &[&str]) {
    assert_eq!(run.code, 0, "exit code\n{run}");
    let expected: BTreeMap<&str, &str> = ran
        .iter()
        .map(|j| (*j, "success"))
        .chain(cached.iter().map(|j| (*j, "cached")))
        .collect();
    assert_eq!(run.statuses(), expected, "statuses\n{run}");
    let mut started = ran.to_vec();
    started.sort();
    assert_eq!(run.started_jobs(), started, "started jobs\n{run}");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

#[test]
fn an_unchanged_pipeline_is_all_cached_and_creates_no_container() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::copy_of(&examples().join("octez-mini"));
    let created_by = |run: &Run, since: i64, until: i64| {
        engine.containers_created(
            &format!("tezos-ci-local.run={}", run.run_id()),
            since,
            until,
        )
    };

    let since = engine.now();
    let first = run_cached(&p, &engine, &[]);
    let until = engine.now() + 1;
    assert_eq!(first.code, 0, "{first}");
    let first_statuses = first.statuses();
    let ran: Vec<&str> = first_statuses
        .iter()
        .filter(|(_, s)| **s == "success")
        .map(|(j, _)| *j)
        .collect();
    // examples.rs checks each job; here, that most of them ran and none is cached yet.
    assert_eq!(ran.len(), 14, "{first}");
    assert!(
        first_statuses
            .values()
            .all(|s| *s == "success" || *s == "manual"),
        "{first}"
    );
    // The query below sees a run's containers: its emptiness for the second run means something.
    assert!(
        !created_by(&first, since, until).is_empty(),
        "no container seen for the first run"
    );

    let since = engine.now();
    let second = run_cached(&p, &engine, &[]);
    let until = engine.now() + 1;
    assert_eq!(second.code, 0, "{second}");
    assert_eq!(second.pipeline_status(), "success", "{second}");
    let expected: BTreeMap<&str, &str> = first_statuses
        .iter()
        .map(|(j, s)| (*j, if *s == "success" { "cached" } else { *s }))
        .collect();
    assert_eq!(second.statuses(), expected, "{second}");
    assert!(second.started_jobs().is_empty(), "{second}");
    let created = created_by(&second, since, until);
    assert!(
        created.is_empty(),
        "a run of cached jobs created {created:#?}"
    );

    // What the cached jobs hand on is restored: artifacts, JUnit reports, coverage.
    let client = "artifacts/build_x86_64/_bin/x86_64/bin/octez-mini-client";
    let bytes = |run: &Run| std::fs::read(run.run_dir().join(client)).expect("the client");
    assert_eq!(bytes(&second), bytes(&first));
    let coverage = |run: &Run| run.finished("test_coverage")["coverage"].clone();
    assert!(coverage(&first).is_number(), "{first}");
    assert_eq!(coverage(&second), coverage(&first));
    for job in ["tezt 1/3", "unit:cli"] {
        let junit = &second.finished(job)["junit"];
        let files = junit.as_array().unwrap_or_else(|| panic!("{job}: {junit}"));
        assert_eq!(files.len(), 1, "{job}: {junit}");
        assert!(
            read(Path::new(files[0].as_str().unwrap())).contains("<testsuite"),
            "{job}: {junit}"
        );
    }
}

#[test]
fn a_changed_input_reruns_its_job_and_the_jobs_that_take_its_artifacts() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = chain();
    let first = run_cached(&p, &engine, &[]);
    expect_ran_and_cached(&first, &ALL_JOBS, &[]);

    // compile's declared input, committed (a new commit alone changes no key).
    p.write("src/lib.txt", "v2\n");
    p.commit("v2");
    let second = run_cached(&p, &engine, &[]);
    // unit and package take compile's artifacts, directly or through unit; `everything` covers
    // every file. `waits` only waits for compile: what compile made does not reach it.
    expect_ran_and_cached(
        &second,
        &["compile", "everything", "package", "unit"],
        &["docs", "lint", "waits"],
    );
    assert_eq!(
        read(&second.run_dir().join("artifacts/unit/seen.txt")),
        "v2\n"
    );

    // docs' input through its rules:changes, left uncommitted: the working tree counts.
    p.write("docs/index.txt", "better docs\n");
    let third = run_cached(&p, &engine, &[]);
    expect_ran_and_cached(
        &third,
        &["docs", "everything"],
        &["compile", "lint", "package", "unit", "waits"],
    );
    // The cached unit hands on v2, the result of the second run.
    assert_eq!(
        read(&third.run_dir().join("artifacts/unit/seen.txt")),
        "v2\n"
    );

    // A file no declared input matches reruns only the job that covers every file.
    p.write("NOTES", "unrelated\n");
    let fourth = run_cached(&p, &engine, &[]);
    expect_ran_and_cached(
        &fourth,
        &["everything"],
        &["compile", "docs", "lint", "package", "unit", "waits"],
    );
}

/// The jobs whose results are stored in the state directory's result cache.
fn stored_jobs(state: &Path) -> Vec<String> {
    let mut jobs: Vec<String> = entries(state)
        .iter()
        .map(|dir| {
            let manifest: serde_json::Value =
                serde_json::from_str(&read(&dir.join("manifest.json"))).unwrap();
            manifest["job"].as_str().unwrap().to_string()
        })
        .collect();
    jobs.sort();
    jobs
}

/// The entry directories of the result cache (`<state>/results/<key>/`).
fn entries(state: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state.join("results"))
        .expect("a result cache")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect()
}

/// The entry directory of `job`'s result.
fn entry_of(state: &Path, job: &str) -> PathBuf {
    entries(state)
        .into_iter()
        .find(|dir| read(&dir.join("manifest.json")).contains(&format!("\"job\": \"{job}\"")))
        .unwrap_or_else(|| panic!("no result stored for {job}"))
}

#[test]
fn failed_jobs_are_never_cached() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
default:
  image: busybox:latest

passes:
  script: [echo fine]

fails:
  script:
    - echo broken
    - exit 1

fails_allowed:
  allow_failure: true
  script:
    - mkdir -p out
    - echo partial > out/partial.txt
    - exit 3
  artifacts:
    paths: [out/]
    when: always

# Takes the artifacts of a job that failed: cached by what it received, like any job.
takes_from_failed:
  stage: deploy
  needs: [fails_allowed]
  script:
    - cat out/partial.txt
"#;
    let p = Project::new(ci, &[]);
    for attempt in ["first", "second"] {
        let run = run_cached(&p, &engine, &[]);
        let passed = if attempt == "first" {
            "success"
        } else {
            "cached"
        };
        let expected = BTreeMap::from([
            ("passes", passed),
            ("fails", "failed"),
            ("fails_allowed", "allowed_failure"),
            ("takes_from_failed", passed),
        ]);
        assert_eq!(run.code, 1, "{attempt} run\n{run}");
        assert_eq!(run.statuses(), expected, "{attempt} run\n{run}");
        for job in ["fails", "fails_allowed"] {
            assert_eq!(
                run.job_events("job_started", job).len(),
                1,
                "{job} in the {attempt} run\n{run}"
            );
        }
        assert_eq!(run.finished("fails")["exit_code"], 1, "{run}");
    }
    assert_eq!(stored_jobs(&p.state()), ["passes", "takes_from_failed"]);
}

#[test]
fn an_identical_artifact_keeps_the_jobs_after_it_cached_and_reasons_say_why() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    // build strips comments: its artifact follows the code, not the comments.
    let ci = r#"
default:
  image: busybox:latest

stages: [build, test]

build:
  stage: build
  script:
    - mkdir -p out
    - grep -v '^#' src/app.txt > out/app.bin
  artifacts:
    paths: [out/]

test:
  stage: test
  script:
    - cat out/app.bin
"#;
    let inputs = "jobs:\n  build: {inputs: [\"src/**\"]}\n  test: {inputs: [\"tests/**\"]}\n";
    let p = Project::new(
        ci,
        &[
            (".tezos-ci-local.yml", inputs),
            ("src/app.txt", "# a comment\ncode\n"),
        ],
    );
    let first = run_cached(&p, &engine, &[]);
    expect_ran_and_cached(&first, &["build", "test"], &[]);
    assert_eq!(first.finished("test")["reason"], "ran: no result stored");

    p.write("src/app.txt", "# another comment\ncode\n");
    let comment = run_cached(&p, &engine, &[]);
    expect_ran_and_cached(&comment, &["build"], &["test"]);
    assert_eq!(
        comment.finished("build")["reason"],
        "ran: file `src/app.txt` changed"
    );
    let cached_why = comment.finished("test")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        cached_why.starts_with("inputs unchanged since it passed at "),
        "{cached_why}"
    );

    p.write("src/app.txt", "# another comment\nnew code\n");
    let code = run_cached(&p, &engine, &[]);
    expect_ran_and_cached(&code, &["build", "test"], &[]);
    assert_eq!(
        code.finished("test")["reason"],
        "ran: input `out/app.bin` changed"
    );
    // explain says the same before a run.
    p.write("src/app.txt", "# another comment\nnewer code\n");
    let explain = p
        .command()
        .args(["explain", "build"])
        .output()
        .expect("explain");
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(text.contains("file `src/app.txt` changed"), "{text}");
}

#[test]
fn cache_key_files_come_from_the_commit_a_run_is_on() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
default:
  image: busybox:latest

deps:
  cache:
    key:
      files: [deps.lock]
    paths: [vendor/]
  script:
    - mkdir -p vendor
    - cat deps.lock > vendor/from.txt
"#;
    let p = Project::new(ci, &[("deps.lock", "v1\n")]);
    let head = p.head();
    let first = run_cached(&p, &engine, &["--no-cache", "--commit", &head]);
    assert_eq!(first.code, 0, "{first}");
    let keys = |state: &Path| -> Vec<String> {
        let mut k: Vec<String> = std::fs::read_dir(state.join("cache"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        k.sort();
        k
    };
    let committed = keys(&p.state());
    assert_eq!(committed.len(), 1, "{committed:?}\n{first}");
    // The working tree's lock file changes; a run on the commit sees the committed one.
    p.write("deps.lock", "v2, not committed\n");
    let second = run_cached(&p, &engine, &["--no-cache", "--commit", &head]);
    assert_eq!(second.code, 0, "{second}");
    assert_eq!(keys(&p.state()), committed, "{second}");
    // On the working tree, the edit is what the job sees: another key.
    let third = run_cached(&p, &engine, &["--no-cache"]);
    assert_eq!(third.code, 0, "{third}");
    assert_eq!(keys(&p.state()).len(), 2, "{third}");
}

#[test]
fn two_worktrees_share_a_result_cache_written_by_two_processes_at_once() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = chain();
    let other = p.scratch("other-worktree");
    git(
        &p.repo(),
        &["worktree", "add", "-q", "--detach", other.to_str().unwrap()],
    );
    let shared = p.scratch("shared-results");
    // Each process with its own state directory; `--branch main` in both, as keys cover it.
    let command = |dir: &Path, state: &str| {
        let mut c = std::process::Command::new(BIN);
        c.arg("-C")
            .arg(dir)
            .arg("--state-dir")
            .arg(p.scratch(state))
            .args(["--branch", "main", "run", "--json", "--result-cache"])
            .arg(&shared)
            .env_remove("TEZOS_CI_LOCAL_STATE_DIR")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        c
    };
    let mut a = Spawned::new(&mut command(&p.repo(), "state-a"));
    let mut b = Spawned::new(&mut command(&other, "state-b"));
    let runs: Vec<Run> = [&mut a, &mut b]
        .into_iter()
        .map(|s| {
            let started = std::time::Instant::now();
            let status = s.wait(Duration::from_secs(300));
            let (out, err) = s.output();
            Run::from_output(status, out, err, started.elapsed())
        })
        .collect();
    for run in &runs {
        assert_eq!(run.code, 0, "{run}");
        engine.assert_no_leftovers(run.run_id());
    }
    // Every entry is whole; a third run, in either worktree, is all cached.
    for dir in std::fs::read_dir(&shared).unwrap().flatten() {
        let path = dir.path();
        if path.join("manifest.json").is_file() {
            let m: serde_json::Value =
                serde_json::from_str(&read(&path.join("manifest.json"))).unwrap();
            for f in m["files"].as_array().unwrap() {
                let (rel, size) = (f[0].as_str().unwrap(), f[1].as_u64().unwrap());
                assert_eq!(
                    std::fs::metadata(path.join(rel)).unwrap().len(),
                    size,
                    "{rel} in {}",
                    path.display()
                );
            }
        }
    }
    let third = Run::of(&mut command(&other, "state-c"), Duration::from_secs(300));
    expect_ran_and_cached(&third, &[], &ALL_JOBS);
}

#[test]
fn a_damaged_cache_entry_is_ignored() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
default:
  image: busybox:latest

numbers:
  script:
    - mkdir -p out
    - seq 1 1000 > out/numbers.txt
  artifacts:
    paths: [out/]

word:
  script:
    - echo made > made.txt
  artifacts:
    paths: [made.txt]
"#;
    let p = Project::new(ci, &[]);
    let numbers = (1..=1000).map(|n| format!("{n}\n")).collect::<String>();
    let first = run_cached(&p, &engine, &[]);
    expect_ran_and_cached(&first, &["numbers", "word"], &[]);

    // A file of one entry cut in half, the manifest of the other.
    let artifact = entry_of(&p.state(), "numbers").join("artifacts/out/numbers.txt");
    assert_eq!(read(&artifact), numbers);
    truncate_to_half(&artifact);
    truncate_to_half(&entry_of(&p.state(), "word").join("manifest.json"));

    let second = run_cached(&p, &engine, &[]);
    expect_ran_and_cached(&second, &["numbers", "word"], &[]);
    let restored = |run: &Run| read(&run.run_dir().join("artifacts/numbers/out/numbers.txt"));
    assert_eq!(restored(&second), numbers);

    // The runs stored whole entries again.
    let third = run_cached(&p, &engine, &[]);
    expect_ran_and_cached(&third, &[], &["numbers", "word"]);
    assert_eq!(restored(&third), numbers);
    assert_eq!(
        read(&third.run_dir().join("artifacts/word/made.txt")),
        "made\n"
    );
}

fn truncate_to_half(path: &Path) {
    let len = std::fs::metadata(path).unwrap().len();
    assert!(len > 1, "{} is too small to cut", path.display());
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len / 2))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[test]
fn no_cache_runs_everything_and_rerun_runs_a_job_and_its_artifact_takers() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = chain();
    let first = run_cached(&p, &engine, &[]);
    expect_ran_and_cached(&first, &ALL_JOBS, &[]);

    let no_cache = run_cached(&p, &engine, &["--no-cache"]);
    expect_ran_and_cached(&no_cache, &ALL_JOBS, &[]);

    // unit takes compile's artifacts, package takes unit's: they receive new ones and run.
    let rerun = run_cached(&p, &engine, &["--rerun", "compile"]);
    expect_ran_and_cached(
        &rerun,
        &["compile", "package", "unit"],
        &["docs", "everything", "lint", "waits"],
    );

    // Selected alone, it runs alone.
    let alone = run_cached(&p, &engine, &["compile", "--rerun", "compile"]);
    expect_ran_and_cached(&alone, &["compile"], &[]);

    // A glob, and a job at the end of the chain.
    let glob = run_cached(&p, &engine, &["--rerun", "pack*"]);
    expect_ran_and_cached(
        &glob,
        &["package"],
        &["compile", "docs", "everything", "lint", "unit", "waits"],
    );
}
