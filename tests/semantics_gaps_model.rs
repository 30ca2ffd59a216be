//! Issue 12's last semantic gaps that the model carries: variables in `cache:policy`, and
//! `dependencies` naming a job of the same stage when `needs` names it too. Checked through the
//! built binary, as tests/semantics_gaps.rs does.

mod common;

use common::{Project, assert_contains};

// docs.gitlab.com/ci/yaml/#cachepolicy: "use a variable to control a job's cache policy", the
// example setting it from `rules:variables` by branch (gitlab-ci-local's
// `cache-conditional-policy` case is the same pipeline).
const CONDITIONAL_POLICY: &str = "
    conditional-policy:
      rules:
        - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
          variables:
            POLICY: pull-push
        - if: $CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH
          variables:
            POLICY: pull
      cache:
        key: gems
        policy: $POLICY
        paths: [vendor/bundle]
      script: echo
    ";

fn policy(p: &Project, args: &[&str]) -> String {
    let v = p.explain("conditional-policy", args);
    v["planned"]["cache"][0]["policy"]
        .as_str()
        .expect("a policy")
        .to_string()
}

#[test]
fn a_cache_policy_variable_is_expanded_with_the_job_s_rule_variables() {
    let p = Project::git_with_ci(CONDITIONAL_POLICY);
    assert_eq!(policy(&p, &[]), "pull-push");
    assert_eq!(policy(&p, &["--branch", "feature"]), "pull");
}

#[test]
fn a_cache_policy_variable_takes_job_global_and_user_variables() {
    let p = Project::with_ci(
        "
        variables: {GLOBAL_POLICY: push}
        from-global:
          cache: {key: k, policy: $GLOBAL_POLICY, paths: [a]}
          script: echo
        from-job:
          variables: {MINE: pull}
          cache: {key: k, policy: '${MINE}', paths: [a]}
          script: echo
        ",
    );
    let of = |job: &str, args: &[&str]| {
        p.explain(job, args)["planned"]["cache"][0]["policy"]
            .as_str()
            .expect("a policy")
            .to_string()
    };
    assert_eq!(of("from-global", &[]), "push");
    assert_eq!(of("from-job", &[]), "pull");
    assert_eq!(of("from-global", &["-e", "GLOBAL_POLICY=pull"]), "pull");
    // Unset, the policy is empty, which the runner reads as the default.
    assert_eq!(of("from-job", &["-e", "MINE="]), "pull-push");
}

#[test]
fn a_cache_policy_variable_with_a_bad_value_is_an_error_naming_the_job() {
    let p = Project::with_ci(
        "
        ok:
          script: echo
        bad:
          cache: {key: k, policy: $POLICY, paths: [a]}
          script: echo
        ",
    );
    let err = p.fails(&["-e", "POLICY=pull-only", "list"]);
    assert_contains(
        &err,
        &[
            ".gitlab-ci.yml:",
            "job `bad`, key `cache:policy`: `$POLICY` expands to a value that is not a cache \
             policy; expected one of: pull, push, pull-push",
        ],
    );
    assert!(
        !err.contains("pull-only"),
        "the value may be a masked variable's: {err}"
    );
    // A literal policy is checked where it is written.
    let p = Project::with_ci("a:\n  cache: {key: k, policy: pul}\n  script: echo\n");
    assert_contains(
        &p.invalid(),
        &[
            ".gitlab-ci.yml:2:",
            "job `a`, key `cache:policy`: unknown cache policy `pul`",
        ],
    );
}

/// The jobs whose artifacts `job` receives, as `explain --json` reports them.
fn artifacts_from(p: &Project, job: &str) -> Vec<String> {
    let v = p.explain(job, &[]);
    v["artifacts_from"]
        .as_array()
        .expect("a planned job has artifacts_from")
        .iter()
        .map(|n| n.as_str().expect("a name").to_string())
        .collect()
}

fn edge(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

// GitLab's YamlProcessor#validate_job_dependency! takes a dependency "defined in current or prior
// stages", and Entry::Job wants every dependency in `needs` when there are `needs`
// (docs.gitlab.com/ci/yaml/#needs: "you can refer to jobs in the same stage"). A job of the same
// stage in both `needs` and `dependencies` is waited for and its artifacts are passed.
#[test]
fn dependencies_may_name_a_job_of_the_same_stage_that_needs_names() {
    let p = Project::with_ci(
        "
        stages: [build, test]
        prepare:
          stage: build
          script: echo
        compile:
          stage: build
          needs: [prepare]
          script: echo
        lint:
          stage: build
          needs: [prepare, compile]
          dependencies: [compile]
          script: echo
        ",
    );
    assert!(p.edges(&[]).contains(&edge("compile", "lint")));
    assert_eq!(artifacts_from(&p, "lint"), ["compile"]);
    assert_eq!(artifacts_from(&p, "compile"), ["prepare"]);
}

// Without `needs`, GitLab accepts a same-stage dependency (current or prior stages) but a
// stage-ordered job takes artifacts from earlier stages only (Ci::BuildDependencies
// `before_stage`): it neither waits for the job nor receives its artifacts.
#[test]
fn a_same_stage_dependency_without_needs_is_accepted_and_passes_nothing() {
    let p = Project::with_ci(
        "
        stages: [build, test]
        setup:
          stage: build
          script: echo
        unit:
          stage: test
          script: echo
        report:
          stage: test
          dependencies: [setup, unit]
          script: echo
        ",
    );
    let edges = p.edges(&[]);
    assert!(!edges.contains(&edge("unit", "report")), "{edges:?}");
    assert!(edges.contains(&edge("setup", "report")), "{edges:?}");
    assert_eq!(artifacts_from(&p, "report"), ["setup"]);
}

// With `needs`, artifacts come from the needed jobs only (and only those needed with artifacts),
// `dependencies` choosing among them; `needs: []` receives none.
#[test]
fn with_needs_dependencies_choose_among_the_needed_jobs_artifacts() {
    let p = Project::with_ci(
        "
        stages: [build, test]
        a:
          stage: build
          script: echo
        b:
          stage: build
          script: echo
        pick:
          stage: test
          needs: [a, {job: b, artifacts: false}]
          dependencies: [a, b]
          script: echo
        alone:
          stage: test
          needs: []
          dependencies: [a]
          script: echo
        ",
    );
    assert_eq!(artifacts_from(&p, "pick"), ["a"]);
    assert!(artifacts_from(&p, "alone").is_empty());
}

#[test]
fn a_dependency_in_a_later_stage_is_still_an_error() {
    let p = Project::with_ci(
        "
        stages: [build, test]
        early:
          stage: build
          needs: []
          dependencies: [late]
          script: echo
        late:
          stage: test
          script: echo
        ",
    );
    assert_contains(
        &p.invalid(),
        &[
            "job `early`",
            "key `dependencies`",
            "`late`, which is in a later stage",
        ],
    );
}
