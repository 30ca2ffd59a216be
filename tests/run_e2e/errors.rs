//! Runs that cannot start exit 2 with a message that says where the problem is: the file and
//! line of a pipeline error, or how to get a Docker engine. None of these needs an engine.

use crate::support::*;

/// Runs `run --json --no-cache` and checks that it stopped before starting a pipeline.
fn refused(p: &Project, env: &[(&str, &str)]) -> Run {
    let mut command = p.command();
    command.args(["run", "--json", "--no-cache"]);
    for (k, v) in env {
        command.env(k, v);
    }
    let run = Run::of(&mut command, RUN_LIMIT);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.events.is_empty(), "{run}");
    run
}

#[test]
fn bad_yaml_names_file_and_line() {
    let ci =
        "job:\n  image: tezos-ci-local/busybox:amd64\n  script:\n    - echo hi\n   bad: indent\n";
    let run = refused(&Project::new(ci, &[]), &[]);
    assert!(run.stderr.contains(".gitlab-ci.yml:5:"), "{run}");
}

#[test]
fn bad_yaml_in_an_included_file_names_that_file() {
    let ci = "include:\n  - local: ci/jobs.yml\n";
    let jobs = "job:\n  image: tezos-ci-local/busybox:amd64\n  script: echo: hi\n";
    let run = refused(&Project::new(ci, &[("ci/jobs.yml", jobs)]), &[]);
    assert!(run.stderr.contains("ci/jobs.yml:3:"), "{run}");
}

#[test]
fn an_unknown_need_names_file_line_and_job() {
    let ci = "\
build:
  image: tezos-ci-local/busybox:amd64
  script: [echo build]
test:
  image: tezos-ci-local/busybox:amd64
  script: [echo test]
  needs:
    - build
    - nope
";
    let run = refused(&Project::new(ci, &[]), &[]);
    assert!(run.stderr.contains(".gitlab-ci.yml:9:"), "{run}");
    assert!(run.stderr.contains("`nope`"), "{run}");
    assert!(run.stderr.contains("`test`"), "{run}");
}

#[test]
fn no_docker_engine_says_how_to_get_one() {
    let ci = "job:\n  image: tezos-ci-local/busybox:amd64\n  script: [echo hi]\n";
    let p = Project::new(ci, &[]);
    // Port 1 on the loopback: nothing listens there.
    let run = refused(&p, &[("DOCKER_HOST", "tcp://127.0.0.1:1")]);
    assert!(run.stderr.contains("DOCKER_HOST"), "{run}");
    assert!(run.stderr.contains("scripts/setup.sh"), "{run}");
    // A run that never started leaves no run directory behind (`logs` and `runs` would show it).
    let runs = p.state().join("runs");
    let kept: Vec<_> = std::fs::read_dir(&runs)
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(kept.is_empty(), "{}: {kept:?}", runs.display());
}
