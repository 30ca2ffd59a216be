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
