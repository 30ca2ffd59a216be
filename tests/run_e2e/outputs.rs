//! What jobs pass on: artifacts down `needs` and stages (and where they are not passed), their
//! export with `--artifacts-dir`, and `cache:` kept between runs.

use std::path::Path;

use crate::support::*;

const CHAIN: &str = r#"
stages: [one, two, three, four]

default:
  image: tezos-ci-local/busybox:amd64

a:
  stage: one
  script:
    - mkdir -p out
    - echo from-a > out/a.txt
  artifacts:
    paths: [out/]

b:
  stage: two
  needs: [a]
  script:
    - test "$(cat out/a.txt)" = from-a
    - echo from-b > b.txt
  artifacts:
    paths: [b.txt]

c:
  stage: three
  needs: [b]
  script:
    - test "$(cat b.txt)" = from-b
    # needs are not transitive: a's files do not come with b's.
    - test ! -e out/a.txt
    - echo from-c > c.txt
  artifacts:
    paths: [c.txt]

# No needs, no dependencies: the artifacts of every job of earlier stages.
everything:
  stage: four
  script:
    - test "$(cat out/a.txt)" = from-a
    - test "$(cat b.txt)" = from-b
    - test "$(cat c.txt)" = from-c

no_dependencies:
  stage: four
  dependencies: []
  script:
    - test ! -e out/a.txt && test ! -e b.txt && test ! -e c.txt

needs_without_artifacts:
  stage: four
  needs:
    - job: c
      artifacts: false
  script:
    - test ! -e c.txt && test ! -e b.txt && test ! -e out/a.txt
"#;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn artifacts_follow_needs_and_dependencies_and_are_exported() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(CHAIN, &[]);
    let export = p.scratch("exported");
    let export_arg = export.to_str().unwrap();
    let run = p.run(&engine, &["--artifacts-dir", export_arg]);
    // Each job checks what it got in its script: success means it got exactly that.
    run.expect(
        0,
        &[
            ("a", "success"),
            ("b", "success"),
            ("c", "success"),
            ("everything", "success"),
            ("no_dependencies", "success"),
            ("needs_without_artifacts", "success"),
        ],
    );
    // The chain ran in order: each job started after the one it needs had finished.
    let position = |kind: &str, job: &str| {
        run.events
            .iter()
            .position(|e| e["event"] == kind && e["job"] == job)
            .unwrap_or_else(|| panic!("no {kind} for {job}\n{run}"))
    };
    assert!(position("job_finished", "a") < position("job_started", "b"));
    assert!(position("job_finished", "b") < position("job_started", "c"));

    for dir in [run.run_dir().join("artifacts"), export.clone()] {
        assert_eq!(read(&dir.join("a/out/a.txt")), "from-a\n");
        assert_eq!(read(&dir.join("b/b.txt")), "from-b\n");
        assert_eq!(read(&dir.join("c/c.txt")), "from-c\n");
        // Jobs without `artifacts:` export nothing.
        for job in ["everything", "no_dependencies", "needs_without_artifacts"] {
            assert!(!dir.join(job).exists(), "{}/{job}", dir.display());
        }
    }

    // Exporting again to the same directory replaces what the first export left.
    std::fs::write(export.join("a/out/stale.txt"), "old\n").unwrap();
    let again = p.run(&engine, &["--artifacts-dir", export_arg, "a"]);
    again.expect(0, &[("a", "success")]);
    assert_eq!(read(&export.join("a/out/a.txt")), "from-a\n");
    assert!(!export.join("a/out/stale.txt").exists());
    assert_eq!(read(&export.join("b/b.txt")), "from-b\n");

    // A directory holding the user's own files is refused before anything runs, and untouched.
    let mine = p.scratch("mine");
    std::fs::create_dir_all(mine.join("a")).unwrap();
    std::fs::write(mine.join("a/notes.txt"), "mine\n").unwrap();
    let refused = p.run(&engine, &["--artifacts-dir", mine.to_str().unwrap()]);
    assert_eq!(refused.code, 2, "{refused}");
    assert!(refused.stderr.contains("did not put there"), "{refused}");
    assert!(refused.events.is_empty(), "{refused}");
    assert_eq!(read(&mine.join("a/notes.txt")), "mine\n");
    assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1);
}

#[test]
fn cache_is_kept_between_runs() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
remember:
  image: tezos-ci-local/busybox:amd64
  cache:
    key: visits
    paths: [.visits/]
  script:
    - mkdir -p .visits
    - echo "visit $VISIT" >> .visits/log.txt
    - cp .visits/log.txt seen.txt
  artifacts:
    paths: [seen.txt]
"#;
    let p = Project::new(ci, &[]);
    let seen = |run: &Run| read(&run.run_dir().join("artifacts/remember/seen.txt"));

    let first = p.run(&engine, &["-e", "VISIT=one"]);
    first.expect(0, &[("remember", "success")]);
    assert_eq!(seen(&first), "visit one\n");

    // The same state directory: the second run finds what the first one left in the cache.
    let second = p.run(&engine, &["-e", "VISIT=two"]);
    second.expect(0, &[("remember", "success")]);
    assert_eq!(seen(&second), "visit one\nvisit two\n");

    // With the job result cache on, the same job and inputs runs once, then is `cached` with
    // its artifacts restored (and the `cache:` untouched).
    let args = ["run", "--json", "-e", "VISIT=three"];
    let third = p.run_args(&engine, &args);
    third.expect(0, &[("remember", "success")]);
    assert_eq!(seen(&third), "visit one\nvisit two\nvisit three\n");
    let export = p.scratch("exported");
    let fourth = p.run_args(
        &engine,
        &[&args[..], &["--artifacts-dir", export.to_str().unwrap()]].concat(),
    );
    fourth.expect(0, &[("remember", "cached")]);
    assert!(fourth.job_events("job_started", "remember").is_empty());
    assert_eq!(seen(&fourth), "visit one\nvisit two\nvisit three\n");
    assert_eq!(
        read(&export.join("remember/seen.txt")),
        "visit one\nvisit two\nvisit three\n"
    );
    let fifth = p.run(&engine, &["-e", "VISIT=five"]);
    fifth.expect(0, &[("remember", "success")]);
    assert_eq!(
        seen(&fifth),
        "visit one\nvisit two\nvisit three\nvisit five\n"
    );
}
