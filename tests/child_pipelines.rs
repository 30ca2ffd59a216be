//! Child pipelines (`trigger:include`) end to end, on the real Docker engine: a static child,
//! `strategy: depend` with a failing child and without it, a dynamic child from an artifact a
//! job generates, forwarded variables, errors in a child's YAML (at load time and at run time),
//! GitLab's nesting limit, and Ctrl-C while a child's job runs.

#[path = "run_e2e/support.rs"]
mod support;

use std::time::{Duration, Instant};

use support::*;

const IMAGE: &str = "tezos-ci-local/busybox:amd64";

fn child_names(run: &Run, trigger: &str) -> Vec<String> {
    run.events
        .iter()
        .filter(|e| e["event"] == "child_pipeline_started" && e["trigger"] == trigger)
        .flat_map(|e| e["jobs"].as_array().cloned().unwrap_or_default())
        .map(|j| j["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_static_child_runs_under_its_trigger_jobs_name() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = format!(
        r#"
default:
  image: {IMAGE}
stages: [build, deploy]
build:
  stage: build
  script: [echo built]
children:
  stage: deploy
  trigger:
    include: ci/child.yml
    strategy: depend
"#
    );
    let child = r#"
default:
  image: tezos-ci-local/busybox:amd64
first:
  script:
    - echo "source=$CI_PIPELINE_SOURCE name=$CI_JOB_NAME"
    - echo made > made.txt
  artifacts:
    paths: [made.txt]
second:
  needs: [first]
  script: [cat made.txt]
"#;
    let p = Project::new(&ci, &[("ci/child.yml", child)]);
    let junit = p.scratch("junit.xml");
    let run = p.run(&engine, &["--verbose", "--junit", junit.to_str().unwrap()]);
    run.expect(
        0,
        &[
            ("build", "success"),
            ("children", "success"),
            ("children » first", "success"),
            ("children » second", "success"),
        ],
    );
    assert_eq!(
        child_names(&run, "children"),
        ["children » first", "children » second"],
        "{run}"
    );
    // The trigger job starts after the earlier stage, and ends after its child's jobs.
    let at = |kind: &str, job: &str| {
        run.events
            .iter()
            .position(|e| e["event"] == kind && e["job"] == job)
            .unwrap_or_else(|| panic!("no {kind} for {job}\n{run}"))
    };
    assert!(at("job_finished", "build") < at("job_started", "children"));
    assert!(at("job_finished", "children » second") < at("job_finished", "children"));
    let log = p.logs("children » first");
    assert!(
        log.contains("source=parent_pipeline name=first"),
        "the child's job sees its own name and the child's source:\n{log}"
    );
    assert!(
        p.logs("children » second").contains("\nmade"),
        "artifacts pass inside the child"
    );
}

#[test]
fn with_depend_a_failing_child_fails_the_trigger_job_and_the_run() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = format!(
        r#"
stages: [deploy, after]
children:
  stage: deploy
  trigger:
    include: child.yml
    strategy: depend
next:
  stage: after
  image: {IMAGE}
  script: [echo never]
"#
    );
    let child = format!("broken:\n  image: {IMAGE}\n  script: [exit 3]\n");
    let p = Project::new(&ci, &[("child.yml", &child)]);
    let run = p.run(&engine, &[]);
    run.expect(
        1,
        &[
            ("children » broken", "failed"),
            ("children", "failed"),
            ("next", "skipped"),
        ],
    );
    let reason = run.finished("children")["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("child pipeline failed") && reason.contains("children » broken"),
        "{run}"
    );
    assert_eq!(run.pipeline_status(), "failed");
}

#[test]
fn without_depend_the_trigger_job_passes_once_the_child_is_created() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = format!(
        r#"
stages: [deploy, after]
children:
  stage: deploy
  trigger:
    include: child.yml
next:
  stage: after
  image: {IMAGE}
  script: [echo runs]
"#
    );
    let child = format!("broken:\n  image: {IMAGE}\n  script: [exit 3]\n");
    let p = Project::new(&ci, &[("child.yml", &child)]);
    let run = p.run(&engine, &[]);
    // As on GitLab: the parent pipeline does not wait for the child's result.
    run.expect(
        0,
        &[
            ("children", "success"),
            ("next", "success"),
            ("children » broken", "failed"),
        ],
    );
    assert_eq!(run.pipeline_status(), "success");
}

#[test]
fn a_dynamic_child_comes_from_an_artifact_of_an_earlier_job() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    // The shape of Octez's 2021 opam pipeline: a job writes the child's YAML, a trigger job
    // that needs it includes the artifact with `strategy: depend`.
    let ci = format!(
        r#"
stages: [build, packaging]
create_pipeline:
  stage: build
  image: {IMAGE}
  script:
    - |
      for p in alpha beta; do
        printf 'opam:%s:\n  image: {IMAGE}\n  script: [echo package %s]\n' $p $p >> generated.yml
      done
  artifacts:
    paths: [generated.yml]
opam:trigger:
  stage: packaging
  needs: [create_pipeline]
  trigger:
    include:
      - artifact: generated.yml
        job: create_pipeline
    strategy: depend
"#
    );
    let p = Project::new(&ci, &[]);
    let run = p.run(&engine, &[]);
    run.expect(
        0,
        &[
            ("create_pipeline", "success"),
            ("opam:trigger", "success"),
            ("opam:trigger » opam:alpha", "success"),
            ("opam:trigger » opam:beta", "success"),
        ],
    );
    assert!(p.logs("opam:trigger » opam:beta").contains("package beta"));
}

#[test]
fn the_trigger_job_forwards_its_variables_as_gitlab_does() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
variables:
  GLOBAL: global-value
by_default:
  variables:
    OWN: own-value
  trigger:
    include: child.yml
    strategy: depend
no_yaml:
  variables:
    OWN: own-value
  trigger:
    include: child.yml
    strategy: depend
    forward:
      yaml_variables: false
with_pipeline_variables:
  trigger:
    include: child.yml
    strategy: depend
    forward:
      pipeline_variables: true
"#;
    let child = format!(
        "show:\n  image: {IMAGE}\n  script:\n    - echo \"own=${{OWN:-unset}} global=${{GLOBAL:-unset}} cli=${{CLI:-unset}}\"\n"
    );
    let p = Project::new(ci, &[("child.yml", &child)]);
    let run = p.run(&engine, &["--variable", "CLI=from-cli"]);
    run.expect(0, &[("by_default", "success"), ("no_yaml", "success")]);
    let line = |job: &str| {
        let log = p.logs(&format!("{job} » show"));
        log.lines()
            .find(|l| l.starts_with("own="))
            .unwrap_or_else(|| panic!("no output line in\n{log}"))
            .to_string()
    };
    assert_eq!(
        line("by_default"),
        "own=own-value global=global-value cli=unset"
    );
    assert_eq!(line("no_yaml"), "own=unset global=unset cli=unset");
    assert_eq!(
        line("with_pipeline_variables"),
        "own=unset global=global-value cli=from-cli"
    );
}

#[test]
fn an_error_in_a_static_childs_yaml_is_reported_before_anything_runs() {
    let _machine = shared_machine();
    let ci = "children:\n  trigger:\n    include: child.yml\n";
    let child = "bad:\n  image: busybox\n  script: [echo]\n  when: sometimes\n";
    let p = Project::new(ci, &[("child.yml", child)]);
    let out = p.command().arg("validate").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("child.yml:4")
            && stderr.contains("job `bad`")
            && stderr.contains("key `when`")
            && stderr.contains("child pipeline of `children`"),
        "{stderr}"
    );
}

#[test]
fn an_error_in_a_dynamic_childs_yaml_fails_the_trigger_job() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = format!(
        r#"
stages: [build, deploy]
gen:
  stage: build
  image: {IMAGE}
  script:
    - |
      printf 'bad:\n  image: x\n  script: [echo]\n  when: sometimes\n' > gen.yml
  artifacts:
    paths: [gen.yml]
children:
  stage: deploy
  needs: [gen]
  trigger:
    include:
      - artifact: gen.yml
        job: gen
    strategy: depend
"#
    );
    let p = Project::new(&ci, &[]);
    let run = p.run(&engine, &[]);
    run.expect(1, &[("gen", "success"), ("children", "failed")]);
    let reason = run.finished("children")["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("gen.yml (artifact of gen):4")
            && reason.contains("job `bad`")
            && reason.contains("key `when`"),
        "{run}"
    );
}

#[test]
fn child_pipelines_nest_at_most_two_levels() {
    let _machine = shared_machine();
    let ci = "one:\n  trigger:\n    include: one.yml\n";
    let one = "two:\n  trigger:\n    include: two.yml\n";
    let two = "three:\n  trigger:\n    include: three.yml\n";
    let three = "leaf:\n  image: busybox\n  script: [echo]\n";
    let p = Project::new(
        ci,
        &[("one.yml", one), ("two.yml", two), ("three.yml", three)],
    );
    let out = p.command().arg("validate").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("two.yml:3")
            && stderr.contains("job `three`, key `trigger`")
            && stderr.contains("at most 2 levels"),
        "{stderr}"
    );
}

fn interrupt_a_childs_job(signals: &[i32]) {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = "children:\n  trigger:\n    include: child.yml\n    strategy: depend\n";
    let child =
        format!("sleeper:\n  image: {IMAGE}\n  script:\n    - echo sleeping now\n    - sleep 60\n");
    let p = Project::new(ci, &[("child.yml", &child)]);
    let mut command = p.command();
    command.args(["run", "--json", "--no-cache", "--verbose"]);
    let mut spawned = Spawned::new(&mut command);
    let deadline = Instant::now() + RUN_LIMIT;
    let started = spawned.wait_for_event(deadline, |e| e["event"] == "pipeline_started");
    let run_id = started["run_id"].as_str().unwrap().to_string();
    spawned.wait_for_event(deadline, |e| {
        e["event"] == "job_log" && e["line"] == "sleeping now"
    });
    let signalled = Instant::now();
    for &signal in signals {
        spawned.signal(signal);
    }
    let status = spawned.wait(RUN_LIMIT);
    let took = signalled.elapsed();
    let (stdout, stderr) = spawned.output();
    let run = Run::from_output(status, stdout, stderr, took);
    assert_eq!(run.code, 130, "{run}");
    assert!(took < Duration::from_secs(15), "took {took:?}\n{run}");
    assert_eq!(run.status("children » sleeper"), "canceled", "{run}");
    assert_eq!(run.status("children"), "canceled", "{run}");
    engine.assert_no_leftovers(&run_id);
}

#[test]
fn sigint_while_a_childs_job_runs_cancels_everything_and_leaves_nothing() {
    interrupt_a_childs_job(&[libc::SIGINT]);
}

#[test]
fn a_second_sigint_while_a_childs_job_runs_still_leaves_nothing() {
    interrupt_a_childs_job(&[libc::SIGINT, libc::SIGINT]);
}

#[test]
fn a_child_merges_its_files_from_the_include_machinery() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    // Another project's file (through --project-source, as any `include:project`) and a local
    // one, merged in order: the local file's `default:` gives the other's job its image.
    let lib = Project::new(
        "placeholder:\n  script: [echo]\n",
        &[(
            "ci/child.yml",
            "from_project:\n  script: [echo from the project]\n",
        )],
    );
    let ci = r#"
children:
  trigger:
    include:
      - project: group/lib
        ref: main
        file: ci/child.yml
      - local: ci/local.yml
    strategy: depend
"#;
    let local =
        format!("default:\n  image: {IMAGE}\nfrom_local:\n  script: [echo from the checkout]\n");
    let p = Project::new(ci, &[("ci/local.yml", &local)]);
    let source = format!("group/lib={}", lib.repo().display());
    let run = p.run(&engine, &["--project-source", &source]);
    run.expect(
        0,
        &[
            ("children", "success"),
            ("children » from_project", "success"),
            ("children » from_local", "success"),
        ],
    );
    assert!(
        p.logs("children » from_project")
            .contains("from the project")
    );
}

#[test]
fn a_multi_project_trigger_is_listed_not_run_and_says_why() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = "other:\n  trigger:\n    project: group/other\n    strategy: depend\n";
    let p = Project::new(ci, &[]);
    let run = p.run(&engine, &[]);
    run.expect(1, &[("other", "failed")]);
    let reason = run.finished("other")["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("multi-project pipeline") && reason.contains("group/other"),
        "{run}"
    );
    assert!(child_names(&run, "other").is_empty(), "{run}");
}

#[test]
fn validate_plans_a_static_child_and_reports_its_planning_errors() {
    let _machine = shared_machine();
    // `second` needs a job that the child's rules leave out: only planning sees it, with the
    // variable the trigger job forwards.
    let ci = "variables:\n  FLAVOUR: plain\nchildren:\n  trigger:\n    include: ci/child.yml\n";
    let child = r#"
first:
  image: busybox
  rules:
    - if: $FLAVOUR == "fancy"
  script: [echo]
second:
  image: busybox
  needs: [first]
  script: [echo]
"#;
    let p = Project::new(ci, &[("ci/child.yml", child)]);
    let out = p.command().arg("validate").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ci/child.yml:9")
            && stderr.contains("job `second`")
            && stderr.contains("key `needs`")
            && stderr.contains("child pipeline of `children`"),
        "{stderr}"
    );
    // With the forwarded value that keeps `first`, the same child is valid.
    let fancy = ci.replace("plain", "fancy");
    let p = Project::new(&fancy, &[("ci/child.yml", child)]);
    let out = p.command().arg("validate").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn list_json(p: &Project) -> Vec<serde_json::Value> {
    let out = p.command().args(["list", "--json"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A parent with a static child (`children`, from `ci/child.yml`) and a dynamic one (`dyn`, from
/// the artifact `made.yml` of `gen`).
const STATIC_AND_DYNAMIC: &str = r#"
gen:
  image: busybox
  script: [echo]
children:
  trigger:
    include: ci/child.yml
dyn:
  needs: [gen]
  trigger:
    include:
      - artifact: made.yml
        job: gen
"#;

#[test]
fn list_shows_static_childrens_jobs_under_their_trigger_and_dynamic_ones_as_generated() {
    let _machine = shared_machine();
    let ci = STATIC_AND_DYNAMIC;
    let child = "first:\n  image: busybox\n  script: [echo]\nsecond:\n  image: busybox\n  needs: [first]\n  script: [echo]\n";
    let p = Project::new(ci, &[("ci/child.yml", child)]);
    let jobs = list_json(&p);
    let names: Vec<&str> = jobs.iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "gen",
            "children",
            "dyn",
            "children » first",
            "children » second",
            "dyn » *"
        ]
    );
    let second = &jobs[4];
    assert_eq!(second["trigger"], "children");
    assert_eq!(second["needs"], serde_json::json!(["children » first"]));
    assert!(jobs[0].get("trigger").is_none());
    assert_eq!(jobs[5]["generated_by"], serde_json::json!(["gen"]));
    assert_eq!(jobs[5]["trigger"], "dyn");

    let out = p.command().arg("list").output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    let header = table.lines().next().unwrap();
    assert!(header.ends_with("TRIGGER"), "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("children » second"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.trim_end().ends_with("children"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("dyn » *") && l.contains("generated at run time by gen")),
        "{table}"
    );
}

#[test]
fn explain_shows_a_childs_job_with_the_workflow_variables_its_trigger_forwards() {
    let _machine = shared_machine();
    // GitLab gives jobs the matching `workflow:rules:variables` as YAML variables, and a
    // trigger job forwards its YAML variables (`forward:yaml_variables`), unless it does not
    // inherit them.
    let ci = r#"
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
      variables:
        FROM_WORKFLOW: wf
variables:
  GLOBAL: g
children:
  trigger:
    include: ci/child.yml
isolated:
  inherit:
    variables: false
  trigger:
    include: ci/child.yml
gen:
  image: busybox
  script: [echo]
dyn:
  needs: [gen]
  trigger:
    include:
      - artifact: made.yml
        job: gen
"#;
    let child = "first:\n  image: busybox\n  script: [echo]\n";
    let p = Project::new(ci, &[("ci/child.yml", child)]);
    let explain = |job: &str| {
        let out = p.command().args(["explain", job]).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, text, err) = explain("children » first");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        text.contains("in the child pipeline of `children`")
            && text.contains("in this parent_pipeline pipeline: yes")
            && text.contains("FROM_WORKFLOW=wf")
            && text.contains("GLOBAL=g"),
        "{text}"
    );
    let (code, text, err) = explain("isolated » first");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !text.contains("FROM_WORKFLOW") && !text.contains("GLOBAL"),
        "{text}"
    );
    let (code, _, err) = explain("dyn » anything");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("generated at run time by gen"), "{err}");
}

#[test]
fn run_trigger_job_name_selects_a_childs_job_with_its_trigger_and_its_needs_in_the_child() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = format!(
        r#"
default:
  image: {IMAGE}
stages: [build, deploy]
build:
  stage: build
  script: [echo built]
children:
  stage: deploy
  trigger:
    include: ci/child.yml
    strategy: depend
"#
    );
    let child = format!(
        "default:\n  image: {IMAGE}\nfirst:\n  script: [echo one > one.txt]\n  artifacts:\n    paths: [one.txt]\nsecond:\n  needs: [first]\n  script: [cat one.txt]\nother:\n  script: [echo other]\n"
    );
    let p = Project::new(&ci, &[("ci/child.yml", &child)]);
    let run = p.run(&engine, &["children » second"]);
    run.expect(
        0,
        &[
            ("children", "success"),
            ("children » first", "success"),
            ("children » second", "success"),
        ],
    );
    assert_eq!(
        child_names(&run, "children"),
        ["children » first", "children » second"],
        "{run}"
    );
    let ran = |job: &str| {
        run.events
            .iter()
            .any(|e| e["event"] == "job_finished" && e["job"] == job)
    };
    assert!(!ran("build") && !ran("children » other"), "{run}");
}

#[test]
fn run_of_a_job_of_a_dynamic_or_unknown_child_says_what_to_run_instead() {
    let _machine = shared_machine();
    let ci = STATIC_AND_DYNAMIC;
    let child = "first:\n  image: busybox\n  script: [echo]\n";
    let p = Project::new(ci, &[("ci/child.yml", child)]);
    let run = |job: &str| {
        let out = p.command().args(["run", job]).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run("dyn » first");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("generated at run time by gen") && err.contains("run `dyn`"),
        "{err}"
    );
    let (code, err) = run("children » nope");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("no job `nope` in the child pipeline of `children`"),
        "{err}"
    );
}

#[test]
fn a_childs_jobs_are_cached_like_any_job_under_their_own_names() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = format!(
        "default:\n  image: {IMAGE}\nchildren:\n  trigger:\n    include: ci/child.yml\n    strategy: depend\n"
    );
    let child = format!(
        "default:\n  image: {IMAGE}\nfirst:\n  script: [echo one > one.txt]\n  artifacts:\n    paths: [one.txt]\nsecond:\n  needs: [first]\n  script: [cat one.txt]\n"
    );
    let p = Project::new(&ci, &[("ci/child.yml", &child)]);
    let first = p.run_args(&engine, &["run", "--json"]);
    first.expect(
        0,
        &[
            ("children", "success"),
            ("children » first", "success"),
            ("children » second", "success"),
        ],
    );
    let again = p.run_args(&engine, &["run", "--json"]);
    again.expect(
        0,
        &[
            ("children", "success"),
            ("children » first", "cached"),
            ("children » second", "cached"),
        ],
    );
    // `--rerun` names a child's job as the run does: it runs, and so does the job it feeds.
    let rerun = p.run_args(&engine, &["run", "--json", "--rerun", "children » first"]);
    rerun.expect(
        0,
        &[
            ("children » first", "success"),
            ("children » second", "success"),
        ],
    );
}
