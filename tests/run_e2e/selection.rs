//! Which jobs run: `rules`, manual jobs (reported, run only when named), names and globs,
//! `--stage`, `--needs`, and `--dry-run`, which creates nothing at all.

use crate::support::*;

const PIPELINE: &str = r#"
stages: [build, test, deploy]

default:
  image: tezos-ci-local/busybox:amd64

build:
  stage: build
  script:
    - echo built > built.txt
  artifacts:
    paths: [built.txt]

"unit:a":
  stage: test
  needs: []
  script: [echo unit a]

"unit:b":
  stage: test
  needs: []
  script: [echo unit b]

lint:
  stage: test
  needs: []
  script: [echo lint]

package:
  stage: deploy
  needs: [build]
  script:
    - test "$(cat built.txt)" = built

deploy:
  stage: deploy
  when: manual
  script: [echo deployed]

conditional:
  stage: test
  rules:
    - if: $RUN_CONDITIONAL == "yes"
  script: [echo conditional ran]
"#;

/// The names in `pipeline_started`'s job list.
fn listed(run: &Run) -> Vec<String> {
    let started = run
        .events
        .iter()
        .find(|e| e["event"] == "pipeline_started")
        .unwrap_or_else(|| panic!("no pipeline_started\n{run}"));
    let mut names: Vec<String> = started["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn rules_manual_jobs_and_job_selection() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(PIPELINE, &[]);

    // The whole pipeline: the manual job is reported, not run; the rule leaves `conditional` out.
    let run = p.run(&engine, &[]);
    run.expect(
        0,
        &[
            ("build", "success"),
            ("unit:a", "success"),
            ("unit:b", "success"),
            ("lint", "success"),
            ("package", "success"),
            ("deploy", "manual"),
        ],
    );
    assert_eq!(
        run.started_jobs(),
        ["build", "lint", "package", "unit:a", "unit:b"],
        "{run}"
    );
    assert_eq!(run.finished("deploy")["attempts"], 0);
    assert!(!listed(&run).contains(&"conditional".to_string()), "{run}");

    // Naming the manual job runs it.
    let run = p.run(&engine, &["deploy"]);
    run.expect(0, &[("deploy", "success")]);
    assert_eq!(run.started_jobs(), ["deploy"], "{run}");

    // A glob.
    let run = p.run(&engine, &["unit:*"]);
    run.expect(0, &[("unit:a", "success"), ("unit:b", "success")]);
    assert_eq!(run.started_jobs(), ["unit:a", "unit:b"], "{run}");
    assert_eq!(listed(&run), ["unit:a", "unit:b"], "{run}");

    // A stage.
    let run = p.run(&engine, &["--stage", "test"]);
    run.expect(0, &[]);
    assert_eq!(run.started_jobs(), ["lint", "unit:a", "unit:b"], "{run}");

    // A job and what it needs (its script checks that it got build's artifact).
    let run = p.run(&engine, &["package", "--needs"]);
    run.expect(0, &[("build", "success"), ("package", "success")]);
    assert_eq!(run.started_jobs(), ["build", "package"], "{run}");

    // The rule's variable brings the job in.
    let run = p.run(&engine, &["-e", "RUN_CONDITIONAL=yes", "conditional"]);
    run.expect(0, &[("conditional", "success")]);
    assert!(
        p.logs("conditional")
            .lines()
            .any(|l| l == "conditional ran")
    );

    // Naming a job the rules leave out is an error that says why.
    let run = p.run_args(&engine, &["run", "conditional"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("conditional"), "{run}");
}

#[test]
fn a_dry_run_creates_nothing() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    // A job name of its own, so the engine's events can be filtered on its label while other
    // tests run.
    let job = unique("dry");
    let ci = format!("{job}:\n  image: tezos-ci-local/busybox:amd64\n  script: [echo hello]\n");
    let p = Project::new(&ci, &[]);
    let label = format!("tezos-ci-local.job={job}");

    let since = engine.now();
    let run = p.run_args(&engine, &["run", "--dry-run", "--json", "--no-cache"]);
    let until = engine.now() + 1;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains(&job), "{run}");
    assert!(
        !run.events.iter().any(|e| e["event"] == "job_started"),
        "{run}"
    );
    let created = engine.containers_created(&label, since, until);
    assert!(created.is_empty(), "a dry run created {created:#?}");
    assert!(
        !p.state().join("runs").exists()
            || std::fs::read_dir(p.state().join("runs")).unwrap().count() == 0,
        "a dry run made a run directory"
    );

    // The same query sees the containers of a real run: the check above is not vacuous.
    let since = engine.now();
    let run = p.run(&engine, &[]);
    let until = engine.now() + 1;
    run.expect(0, &[(job.as_str(), "success")]);
    let created = engine.containers_created(&label, since, until);
    assert!(!created.is_empty(), "no container seen for a real run");
}

/// What a run works on: `--commit` runs a commit as committed, and `--clone URL --ref BRANCH`
/// clones into a temporary directory and runs the pipeline of that branch; neither touches the
/// checkout.
#[test]
fn commits_and_clones_are_run_as_committed() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
show:
  image: tezos-ci-local/busybox:amd64
  script:
    - echo "branch=${CI_COMMIT_BRANCH:-none} version=$(cat version.txt)"
"#;
    let p = Project::new(ci, &[("version.txt", "1\n")]);
    let first = p.head();
    let remote = p.add_bare_origin();
    git(&p.repo(), &["push", "-q", "origin", "main"]);
    git(&p.repo(), &["checkout", "-q", "-b", "feature"]);
    p.write("version.txt", "2\n");
    p.commit("version 2");
    git(&p.repo(), &["push", "-q", "origin", "feature"]);
    // Uncommitted: seen by a plain run, not by --commit or --clone.
    p.write("version.txt", "3\n");

    let line = |run: &Run| {
        run.expect(0, &[("show", "success")]);
        p.logs("show")
            .lines()
            .find(|l| l.starts_with("branch="))
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(line(&p.run(&engine, &[])), "branch=feature version=3");
    assert_eq!(
        line(&p.run(&engine, &["--commit", &first])),
        "branch=feature version=1"
    );
    let url = remote.to_str().unwrap();
    // A remote whose HEAD names no branch: nothing to check out unless --ref says what.
    git(&remote, &["symbolic-ref", "HEAD", "refs/heads/nothing"]);
    let unborn = p.run(&engine, &["--clone", url]);
    assert_eq!(unborn.code, 2, "{unborn}");
    assert!(unborn.stderr.contains("choose one with --ref"), "{unborn}");
    git(&remote, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    assert_eq!(
        line(&p.run(&engine, &["--clone", url, "--ref", "feature"])),
        "branch=feature version=2"
    );
    assert_eq!(
        line(&p.run(&engine, &["--clone", url])),
        "branch=main version=1"
    );
    assert_eq!(
        line(&p.run(&engine, &["--clone", url, "--ref", "main"])),
        "branch=main version=1"
    );
    // The checkout is as it was.
    assert_eq!(
        std::fs::read_to_string(p.repo().join("version.txt")).unwrap(),
        "3\n"
    );
    let bad = p.run(&engine, &["--clone", url, "--ref", "no-such-ref"]);
    assert_eq!(bad.code, 2, "{bad}");
    assert!(bad.stderr.contains("--ref no-such-ref"), "{bad}");
}
