//! A developer's day, through the built binary: a mistyped job name gets "did you mean" (run,
//! explain, logs), and a failed run ends with the next steps.

#[path = "run_e2e/support.rs"]
mod support;

use support::*;

const PIPELINE: &str = r#"
build_x86_64:
  image: tezos-ci-local/busybox:amd64
  script: ["true"]
unit_tests:
  image: tezos-ci-local/busybox:amd64
  script: [echo failing on purpose, exit 3]
"#;

#[test]
fn a_mistyped_job_name_gets_did_you_mean() {
    let p = Project::new(PIPELINE, &[]);
    for args in [
        &["run", "build_x86"][..],
        &["explain", "build_x86"],
        &["run", "BUILD_X86_64"],
    ] {
        let run = Run::of(p.command().args(args), RUN_LIMIT);
        assert_eq!(run.code, 2, "{args:?}: {run}");
        assert!(
            run.stderr
                .contains("(did you mean `build_x86_64`?); `tezos-ci-local list --all` shows them"),
            "{args:?}: {run}"
        );
    }
    // Nothing close: no suggestion.
    let run = Run::of(p.command().args(["explain", "deploy"]), RUN_LIMIT);
    assert_eq!(run.code, 2, "{run}");
    assert!(!run.stderr.contains("did you mean"), "{run}");
}

#[test]
fn a_failed_run_ends_with_the_next_steps_and_logs_suggests_names() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(PIPELINE, &[]);
    let run = p.run_args(&engine, &[]);
    assert_eq!(run.code, 1, "{run}");
    let c = format!("tezos-ci-local -C {}", p.repo().display());
    assert!(
        run.stderr.contains(&format!(
            "\nNext steps:\n  {c} logs unit_tests    # the failed job's log\n  \
             {c}    # run again: only the failed jobs and those whose inputs \
             changed run, the others are cached\n"
        )),
        "{run}"
    );
    assert!(p.logs("unit_tests").contains("failing on purpose"));
    // The run is recorded with its facts, and listed for this checkout only.
    let runs = Run::of(
        p.command().args(["runs", "--json", "--limit", "1"]),
        RUN_LIMIT,
    );
    assert_eq!(runs.code, 0, "{runs}");
    let listed: serde_json::Value = serde_json::from_str(&runs.stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{runs}");
    let id = listed[0]["id"].as_str().unwrap();
    assert!(
        run.stderr.contains(&format!("pipeline {id}: 2 jobs")),
        "{runs}"
    );
    assert_eq!(listed[0]["status"], "failed", "{runs}");
    assert_eq!(listed[0]["source"], "push", "{runs}");
    assert_eq!(listed[0]["branch"], "main", "{runs}");
    assert_eq!(listed[0]["commit"], p.head(), "{runs}");
    assert!(listed[0]["duration_ms"].as_u64().is_some(), "{runs}");
    let elsewhere = tempfile::tempdir().unwrap();
    let other = Run::of(
        std::process::Command::new(BIN)
            .args(["-C", elsewhere.path().to_str().unwrap(), "--state-dir"])
            .arg(p.state())
            .args(["runs", "--json"]),
        RUN_LIMIT,
    );
    assert_eq!(other.code, 0, "{other}");
    assert_eq!(
        other.stdout.trim(),
        "[]",
        "another directory's runs: {other}"
    );
    let logs = Run::of(p.command().args(["logs", "unit_test"]), RUN_LIMIT);
    assert_eq!(logs.code, 2, "{logs}");
    assert!(
        logs.stderr.contains("(did you mean `unit_tests`?)"),
        "{logs}"
    );
}

/// `graph` draws every dependency the scheduler uses: `x` waits for `z` (an earlier stage, not
/// the adjacent one) and `y` does not, so the edge `z -> x` must be drawn.
#[test]
fn graph_draws_a_dependency_on_an_earlier_non_adjacent_stage() {
    let ci = "stages: [one, two, three]\n\
              z: {stage: one, script: [x]}\n\
              y: {stage: two, needs: [], script: [x]}\n\
              x: {stage: three, script: [x]}\n";
    let p = Project::new(ci, &[]);
    let run = Run::of(
        p.command().args(["graph", "--format", "mermaid"]),
        RUN_LIMIT,
    );
    assert_eq!(run.code, 0, "{run}");
    let edges: Vec<&str> = run.stdout.lines().filter(|l| l.contains("-->")).collect();
    // z is j0, y is j1, x is j2.
    assert_eq!(edges, ["  j0 --> j2", "  j1 --> j2"], "{run}");
}

/// A job with no image and no default is found before anything runs, with the fix.
#[test]
fn a_job_without_an_image_is_an_error_before_the_run() {
    let p = Project::new("build:\n  script: [make]\n", &[]);
    for args in [&["validate"][..], &["run"], &["run", "--dry-run"]] {
        let run = Run::of(p.command().args(args), RUN_LIMIT);
        assert_eq!(run.code, 2, "{args:?}: {run}");
        assert_eq!(
            run.stderr,
            "error: job `build` (.gitlab-ci.yml:2:9) names no `image:` and the pipeline has no \
             `default: image:`; add one of them, or pass --default-image IMAGE\n",
            "{args:?}"
        );
    }
    let run = Run::of(
        p.command().args([
            "validate",
            "--default-image",
            "tezos-ci-local/busybox:amd64",
        ]),
        RUN_LIMIT,
    );
    assert_eq!(run.code, 0, "{run}");
}
