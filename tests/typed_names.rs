//! GitLab's closed sets of names (`retry:when`, `image:pull_policy`, `--source`, `--pull`) are
//! checked where they are read: a bad value is exit code 2 with file, line, job and key.

mod common;

use common::{Project, assert_contains};

#[test]
fn a_bad_retry_when_names_file_line_job_and_key() {
    let p = Project::with_ci(
        "
        a:
          script: echo
          retry:
            max: 1
            when: [script_failure, runner_failure]
        ",
    );
    assert_contains(
        &p.invalid(),
        &[
            ".gitlab-ci.yml:5:",
            "job `a`, key `retry:when`: unknown value `runner_failure`; expected one of: always,",
        ],
    );
}

#[test]
fn a_bad_pull_policy_names_file_line_job_and_key() {
    let p = Project::with_ci(
        "
        b:
          image:
            name: busybox
            pull_policy: [always, if_not_present]
          script: echo
        c:
          services:
            - name: busybox
              pull_policy: sometimes
          script: echo
        ",
    );
    assert_contains(
        &p.invalid(),
        &[
            ".gitlab-ci.yml:4:",
            "job `b`, key `image:pull_policy`: unknown pull policy `if_not_present`; expected one \
             of: always, if-not-present, never",
            ".gitlab-ci.yml:9:",
            "job `c`, key `services:pull_policy`: unknown pull policy `sometimes`",
        ],
    );
}

#[test]
fn pull_policies_and_retry_reasons_are_shown_in_gitlab_spelling() {
    let p = Project::with_ci(
        "
        b:
          image:
            name: busybox
            pull_policy: [always, if-not-present]
          retry:
            max: 2
            when: [job_execution_timeout, stuck_or_timeout_failure]
          script: echo
        ",
    );
    let v = p.explain("b", &[]);
    assert_eq!(
        v["job"]["image"]["pull_policy"],
        serde_json::json!(["always", "if-not-present"])
    );
    assert_eq!(
        v["job"]["retry"]["when"],
        serde_json::json!(["job_execution_timeout", "stuck_or_timeout_failure"])
    );
}

#[test]
fn a_bad_source_or_pull_option_is_a_usage_error() {
    let p = Project::with_ci("a:\n  script: echo\n");
    assert_contains(
        &p.fails(&["--source", "merge_request", "list"]),
        &[
            "invalid value 'merge_request' for '--source <SOURCE>'",
            "merge_request_event",
        ],
    );
    assert_contains(
        &p.fails(&["--pull", "if_not_present", "list"]),
        &[
            "invalid value 'if_not_present' for '--pull <POLICY>'",
            "if-not-present",
        ],
    );
    assert_eq!(
        p.vars("a", &["--source", "web"])["CI_PIPELINE_SOURCE"],
        "web"
    );
}
