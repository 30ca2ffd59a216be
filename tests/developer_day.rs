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
    for (args, typed) in [
        (&["run", "build_x86"][..], "build_x86"),
        (&["explain", "build_x86"], "build_x86"),
        (&["run", "BUILD_X86_64"], "BUILD_X86_64"),
    ] {
        p.test(args)
            .status(2)
            .stderr(&format!(
                "error: no job `{typed}` in the pipeline (did you mean `build_x86_64`?); \
                 `tezos-ci-local list --all` shows them\n"
            ))
            .run();
    }
    // Nothing close: no suggestion.
    p.test(&["explain", "deploy"])
        .status(2)
        .stderr("error: no job `deploy` in the pipeline; `tezos-ci-local list --all` shows them\n")
        .run();
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
    let runs = p
        .test(&["runs", "--json", "--limit", "1"])
        .stdout_any()
        .run();
    let listed = runs.json();
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
    // Another directory, the same state directory: none of this checkout's runs.
    let elsewhere = tempfile::tempdir().unwrap();
    Test::in_project(&p)
        .directory(elsewhere.path())
        .args(&["runs", "--json"])
        .stdout_json(serde_json::json!([]))
        .run();
    p.test(&["logs", "unit_test"])
        .status(2)
        .stderr(&format!(
            "error: no log for job `unit_test` in run {id} (it did not run) \
             (did you mean `unit_tests`?)\n"
        ))
        .run();
}

/// `graph` draws every dependency the scheduler uses: `x` waits for `z` (an earlier stage, not
/// the adjacent one) and `y` does not, so the edge `z -> x` must be drawn.
#[test]
fn graph_draws_a_dependency_on_an_earlier_non_adjacent_stage() {
    let ci = "stages: [one, two, three]\n\
              z: {stage: one, script: [x]}\n\
              y: {stage: two, needs: [], script: [x]}\n\
              x: {stage: three, script: [x]}\n";
    Test::new()
        .ci(ci)
        .args(&["graph", "--format", "mermaid"])
        .stdout(
            "flowchart LR
  subgraph one[\"one\"]
    j0[\"z\"]
  end
  subgraph two[\"two\"]
    j1[\"y\"]
  end
  subgraph three[\"three\"]
    j2[\"x\"]
  end
  j0 --> j2
  j1 --> j2
",
        )
        .run();
}

/// A job with no image and no default is found before anything runs, with the fix.
#[test]
fn a_job_without_an_image_is_an_error_before_the_run() {
    let p = Project::new("build:\n  script: [make]\n", &[]);
    for args in [&["validate"][..], &["run"], &["run", "--dry-run"]] {
        p.test(args)
            .status(2)
            .stderr(
                "error: job `build` (.gitlab-ci.yml:2:9) names no `image:` and the pipeline has \
                 no `default: image:`; add one of them, or pass --default-image IMAGE\n",
            )
            .run();
    }
    p.test(&[
        "validate",
        "--default-image",
        "tezos-ci-local/busybox:amd64",
    ])
    .stdout(".gitlab-ci.yml: valid (1 jobs, 1 in this push pipeline)\n")
    .run();
}
