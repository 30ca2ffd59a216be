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
