//! The last GitLab CI semantic gaps (issue 12), one documented behaviour per test, checked
//! through the built binary with the helpers of tests/semantics.rs.

mod common;

use common::{Project, assert_contains};

fn set(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

// `Gitlab::Ci::Config#build_config` runs `Config::Extendable` before
// `Config::Yaml::Tags::Resolver`: a `!reference` sees what a job has through `extends`
// (docs.gitlab.com/ci/yaml/yaml_optimization/#reference-tags).
#[test]
fn reference_points_at_keys_a_job_has_through_extends() {
    let p = Project::with_ci(
        "
        .base:
          script: [echo from-base]
          variables: {FROM: base}
        a:
          extends: .base
        .t:
          extends: .base
        b:
          script:
            - !reference [a, script]
            - echo own
          variables: !reference [.t, variables]
        ",
    );
    let v = p.explain("b", &[]);
    assert_eq!(v["job"]["script"][0], "echo from-base");
    assert_eq!(v["job"]["script"][1], "echo own");
    assert_eq!(p.vars("b", &[])["FROM"], "base");
}

// A reference a job overrides through `extends` is never resolved, so it cannot fail.
#[test]
fn an_overridden_reference_is_not_resolved() {
    let p = Project::with_ci(
        "
        .t:
          script: !reference [.nowhere, script]
        a:
          extends: .t
          script: [echo mine]
        ",
    );
    assert_eq!(p.explain("a", &[])["job"]["script"][0], "echo mine");
}

// docs.gitlab.com/ci/yaml/yaml_optimization/#reference-tags: rules from anchors or references
// nest lists; GitLab's `Entry::Rules` flattens them, here two levels deep.
#[test]
fn rules_nested_twice_are_flattened() {
    let p = Project::with_ci(
        r#"
        .never-on-x: &never-on-x
          - - if: $X == "1"
              when: never
        j:
          rules:
            - *never-on-x
            - when: always
          script: echo
        "#,
    );
    assert_eq!(p.jobs(&[]), set(&["j"]));
    assert_eq!(p.jobs(&["--variable", "X=1"]), Vec::<String>::new());
}

// docs.gitlab.com/ci/yaml/#cache: "a list of caches" may hold anchors of cache lists, flattened.
#[test]
fn a_list_of_cache_lists_is_flattened() {
    let p = Project::with_ci(
        "
        .caches: &caches
          - key: a
            paths: [a]
          - key: b
            paths: [b]
        j:
          cache:
            - *caches
            - key: c
              paths: [c]
          script: echo
        ",
    );
    let caches = p.explain("j", &[])["job"]["cache"].clone();
    let keys: Vec<&str> = caches
        .as_array()
        .expect("a list of caches")
        .iter()
        .map(|c| c["key"]["value"].as_str().expect("a literal key"))
        .collect();
    assert_eq!(keys, ["a", "b", "c"]);
}

// libyaml (GitLab parses with Psych) does not check indentation inside a flow collection: a
// `]` on its own line at the parent key's indentation, or items less indented than the key.
#[test]
fn a_flow_sequence_closed_at_the_parent_indentation_is_valid() {
    let p = Project::with_ci(
        "
        j:
          script: [
            echo a,
            echo b
          ]
          tags: [
          one
        ]
          variables: {
            A: x
          }
        ",
    );
    let v = p.explain("j", &[]);
    assert_eq!(v["job"]["script"][1], "echo b");
    assert_eq!(v["job"]["tags"][0], "one");
    assert_eq!(p.vars("j", &[])["A"], "x");
    // Bad indentation outside a flow collection is still an error, on its line.
    let p = Project::with_ci("j:\n  script: echo\n stage: test\n");
    assert_contains(&p.invalid(), &[".gitlab-ci.yml:3:"]);
}

// docs.gitlab.com/ci/yaml/#onlyrefs--exceptrefs: "pattern matching does not work for merge
// request pipelines"; a branch name or regular expression matches branch and tag pipelines only.
#[test]
fn ref_patterns_do_not_match_in_merge_request_pipelines() {
    let p = Project::with_ci(
        "
        by-regex:
          only: [/^feat/]
          script: echo
        by-name:
          only: [feature]
          script: echo
        mr:
          only: [merge_requests]
          script: echo
        ",
    );
    assert_eq!(
        p.jobs(&["--branch", "feature"]),
        set(&["by-name", "by-regex"])
    );
    assert_eq!(
        p.jobs(&["--branch", "feature", "--source", "merge_request_event"]),
        set(&["mr"])
    );
}

// docs.gitlab.com/ci/yaml/#onlyrefs--exceptrefs: `branches@gitlab-org/gitlab` — the keywords take
// a project path too, and hold only in that project.
#[test]
fn keyword_refs_with_a_project_path() {
    let p = Project::with_ci(
        "
        here:
          only: [branches@group/project]
          script: echo
        tags-here:
          only: [tags@group/project]
          script: echo
        ",
    );
    let ours = [
        "--branch",
        "x",
        "--variable",
        "CI_PROJECT_PATH=group/project",
    ];
    assert_eq!(p.jobs(&ours), set(&["here"]));
    let theirs = ["--branch", "x", "--variable", "CI_PROJECT_PATH=group/other"];
    assert_eq!(p.jobs(&theirs), Vec::<String>::new());
}

// GitLab checks `needs` on the YAML, before rules ("undefined need: NAME"): a job that rules
// exclude still may not need a job that does not exist. An optional need is exempt.
#[test]
fn needs_naming_an_undefined_job_is_an_error_even_when_rules_exclude_the_job() {
    let p = Project::with_ci(
        "
        a:
          rules: [{when: never}]
          needs: [nothere]
          script: echo
        b:
          script: echo
        ",
    );
    assert_contains(
        &p.invalid(),
        &[".gitlab-ci.yml:3:", "job `a`", "needs", "nothere"],
    );
    let p = Project::with_ci(
        "
        a:
          rules: [{when: never}]
          needs: [{job: nothere, optional: true}]
          script: echo
        b:
          script: echo
        ",
    );
    assert_eq!(p.jobs(&[]), set(&["b"]));
}

// gitlab-ci-local's README ("Project file variables"): `.gitlab-ci-local-variables.yml` holds
// `KEY: value` and `KEY: {values: {SCOPE: value}}`; its `.gitlab-ci-local-env` holds options,
// `VARIABLE="K=V K2=V2"` among them. Both are read when the project has no
// `.tezos-ci-local-variables.yml`; the command line still wins.
#[test]
fn gitlab_ci_local_variables_files_are_read_when_there_is_no_own_file() {
    let p = Project::with_ci("j:\n  script: echo\n");
    p.write(
        ".gitlab-ci-local-variables.yml",
        "
        PLAIN: one
        SCOPED:
          values:
            '*': everywhere
            production: prod-only
        ",
    );
    p.write(
        ".gitlab-ci-local-env",
        "NEEDS=true\nVARIABLE=\"FROM_ENV=e OVER=env\"\n",
    );
    let v = p.vars("j", &["--variable", "OVER=cli"]);
    assert_eq!(v["PLAIN"], "one");
    assert_eq!(v["SCOPED"], "everywhere");
    assert_eq!(v["FROM_ENV"], "e");
    assert_eq!(v["OVER"], "cli");
    assert!(!v.contains_key("NEEDS"), "options are not variables");

    // `run --verbose` says which file it read (here the pipeline is empty: no Docker needed).
    p.write(
        ".gitlab-ci.yml",
        "workflow:\n  rules: [{when: never}]\nj:\n  script: echo\n",
    );
    let out = p.cmd(&["run", "--verbose"]).output().expect("run");
    assert_contains(
        &String::from_utf8_lossy(&out.stderr),
        &[
            "Variables read from",
            ".gitlab-ci-local-variables.yml",
            ".gitlab-ci-local-env",
        ],
    );

    // The project's own file, when present, is the only one read.
    p.write(".gitlab-ci.yml", "j:\n  script: echo\n");
    p.write(".tezos-ci-local-variables.yml", "OWN: yes-own\n");
    let v = p.vars("j", &[]);
    assert_eq!(v["OWN"], "yes-own");
    assert!(!v.contains_key("PLAIN"));
}

// gitlab-ci-local reads `.gitlab-ci-local-variables.yml` as dotenv when it is not a YAML map.
#[test]
fn a_gitlab_ci_local_variables_file_in_dotenv_form() {
    let p = Project::with_ci("j:\n  script: echo\n");
    p.write(
        ".gitlab-ci-local-variables.yml",
        "# dotenv\nTOKEN=abc\nQUOTED='two words'\n",
    );
    let v = p.vars("j", &[]);
    assert_eq!(v["TOKEN"], "abc");
    assert_eq!(v["QUOTED"], "two words");
}

// docs.gitlab.com/ci/yaml/#needs: "A single job can need a maximum of 50 jobs" (the
// `ci_needs_size_limit` of GitLab.com and self-managed by default).
#[test]
fn a_job_may_need_at_most_fifty_jobs() {
    let mut yaml = String::new();
    for i in 0..51 {
        yaml.push_str(&format!("j{i}:\n  stage: build\n  script: echo\n"));
    }
    let names = |n: usize| {
        (0..n)
            .map(|i| format!("j{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let p = Project::with_ci(&format!(
        "{yaml}t:\n  script: echo\n  needs: [{}]\n",
        names(50)
    ));
    assert!(p.jobs(&[]).contains(&"t".to_string()));
    let p = Project::with_ci(&format!(
        "{yaml}t:\n  script: echo\n  needs: [{}]\n",
        names(51)
    ));
    assert_contains(&p.invalid(), &["job `t`", "needs", "50", "51"]);
}

// GitLab's `Entry::Rules::Rule::Changes` and `Exists`: an array of strings, at most 50 entries.
#[test]
fn rules_changes_and_exists_are_lists_of_at_most_fifty_strings() {
    let paths = |n: usize| {
        (0..n)
            .map(|i| format!("f{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for key in ["changes", "exists"] {
        let p = Project::with_ci(&format!(
            "a:\n  rules:\n    - {key}: [{}]\n  script: echo\nb:\n  script: echo\n",
            paths(51)
        ));
        assert_contains(
            &p.invalid(),
            &[".gitlab-ci.yml:3:", &format!("rules:{key}"), "50"],
        );
        let p = Project::with_ci(&format!(
            "a:\n  rules:\n    - {key}: [{}]\n  script: echo\nb:\n  script: echo\n",
            paths(50)
        ));
        p.jobs(&[]);
        let p = Project::with_ci(&format!(
            "a:\n  rules:\n    - {key}: [{{x: y}}]\n  script: echo\n"
        ));
        assert_contains(
            &p.invalid(),
            &[".gitlab-ci.yml:3:", &format!("rules:{key}")],
        );
    }
}

// docs.gitlab.com/ci/yaml/#pages: `publish` (job level, GitLab 16.1) names the pages folder.
#[test]
fn publish_in_a_pages_job_is_accepted() {
    let p = Project::with_ci("pages:\n  script: mkdir dist\n  publish: dist\n");
    assert_eq!(p.jobs(&[]), set(&["pages"]));
}

// docs.gitlab.com/ci/variables/predefined_variables/: `CI_ENVIRONMENT_NAME`, `_ACTION`, `_TIER`,
// `_URL` come from the job's `environment:` and can be read in `rules:if`.
#[test]
fn environment_variables_are_usable_in_rules_if() {
    let p = Project::git_with_ci(
        r#"
        deploy:
          environment: {name: production, action: prepare, deployment_tier: production, url: "https://example.com"}
          rules:
            - if: $CI_ENVIRONMENT_NAME == "production" && $CI_ENVIRONMENT_ACTION == "prepare" && $CI_ENVIRONMENT_TIER == "production" && $CI_ENVIRONMENT_URL == "https://example.com"
          script: echo
        review:
          environment: review/$CI_COMMIT_REF_NAME
          rules:
            - if: $CI_ENVIRONMENT_NAME == "review/main" && $CI_ENVIRONMENT_ACTION == "start"
          script: echo
        none:
          rules:
            - if: $CI_ENVIRONMENT_NAME
          script: echo
        "#,
    );
    assert_eq!(p.jobs(&["--branch", "main"]), set(&["deploy", "review"]));
}

// docs.gitlab.com/ci/yaml/#needsparallelmatrix: `$[[ matrix.IDENTIFIER ]]` in a need's matrix
// is the needing instance's own value, so each instance needs its counterpart only.
#[test]
fn needs_parallel_matrix_with_matrix_expressions() {
    let p = Project::with_ci(
        "
        build:
          stage: build
          parallel:
            matrix:
              - ARCH: [amd64, arm64]
                OS: [linux]
          script: echo
        test:
          stage: test
          parallel:
            matrix:
              - ARCH: [amd64, arm64]
          needs:
            - job: build
              parallel:
                matrix:
                  - ARCH: $[[ matrix.ARCH ]]
                    OS: linux
          script: echo
        ",
    );
    let edges: Vec<(String, String)> = p.edges(&[]).into_iter().collect();
    let e = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        edges,
        [
            e("build: [amd64, linux]", "test: [amd64]"),
            e("build: [arm64, linux]", "test: [arm64]"),
        ]
    );
    // An identifier the needing job's matrix does not have is an error naming it.
    p.write(
        ".gitlab-ci.yml",
        "build:\n  stage: build\n  parallel:\n    matrix:\n      - ARCH: [a, b]\n  script: echo\ntest:\n  needs:\n    - job: build\n      parallel:\n        matrix:\n          - ARCH: $[[ matrix.NOPE ]]\n  script: echo\n",
    );
    assert_contains(&p.invalid(), &["job `test`", "NOPE"]);
}

// docs.gitlab.com/ci/yaml/#inheritvariables: `inherit:variables` controls the inheritance of
// global variables and of `workflow:rules:variables`.
#[test]
fn workflow_rules_variables_respect_inherit_variables() {
    let p = Project::with_ci(
        "
        variables: {G: g}
        workflow:
          rules:
            - variables: {W: w, W2: w2}
        all:
          script: echo
        none:
          inherit: {variables: false}
          script: echo
        some:
          inherit: {variables: [W]}
          script: echo
        ",
    );
    let all = p.vars("all", &[]);
    assert_eq!((all["G"].as_str(), all["W"].as_str()), ("g", "w"));
    let none = p.vars("none", &[]);
    assert!(
        !none.contains_key("W") && !none.contains_key("G"),
        "{none:?}"
    );
    let some = p.vars("some", &[]);
    assert_eq!(some["W"], "w");
    assert!(
        !some.contains_key("W2") && !some.contains_key("G"),
        "{some:?}"
    );
}

// docs.gitlab.com/ci/variables/#prevent-cicd-variable-expansion: a variable with
// `expand: false` is used as written, also inside another variable that refers to it.
#[test]
fn an_unexpanded_variable_is_inserted_as_written() {
    let p = Project::with_ci(
        r#"
        variables:
          C: cval
          RAW: {value: "x$C", expand: false}
          USES: "b-$RAW"
        j:
          script: echo
        "#,
    );
    let v = p.vars("j", &[]);
    assert_eq!(v["RAW"], "x$C");
    assert_eq!(v["USES"], "b-x$C");
}

// docs.gitlab.com/ci/yaml/#allow_failureexit_codes with a manual rule: the job's exit codes are
// kept (a manual job from `rules` is not allowed to fail by default).
#[test]
fn allow_failure_exit_codes_with_a_manual_rule() {
    let p = Project::with_ci(
        "
        codes:
          allow_failure: {exit_codes: [3]}
          rules:
            - when: manual
          script: exit 3
        plain:
          rules:
            - when: manual
          script: echo
        ",
    );
    let codes = p.explain("codes", &[]);
    assert_eq!(codes["planned"]["allow_failure"]["kind"], "exit_codes");
    assert_eq!(codes["planned"]["allow_failure"]["exit_codes"][0], 3);
    assert_eq!(
        p.explain("plain", &[])["planned"]["allow_failure"]["kind"],
        "no"
    );
}

// docs.gitlab.com/ci/yaml/#rulesexists: paths are relative to the project directory; a
// leading `/` is that directory too.
#[test]
fn a_leading_slash_in_exists_is_the_project_root() {
    let p = Project::with_ci(
        "
        docker:
          rules:
            - exists: [/Dockerfile]
          script: echo
        ",
    );
    assert_eq!(p.jobs(&[]), Vec::<String>::new());
    p.write("Dockerfile", "FROM busybox\n");
    assert_eq!(p.jobs(&[]), set(&["docker"]));
}
