//! GitLab CI semantics, one feature per test, checked through the built binary.
//!
//! Every expected result comes from GitLab's documentation (docs.gitlab.com), cited above each
//! test; where the documentation is silent or ambiguous, the comment says what GitLab does and
//! why. The pipelines are tiny and written in temporary directories, git repositories when the
//! feature reads git.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use common::{Project, assert_contains};

fn set(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn edge(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

// ---------------------------------------------------------------------------------------------
// include
// ---------------------------------------------------------------------------------------------

// https://docs.gitlab.com/ci/yaml/includes/#include-a-single-configuration-file
// "include: 'my-config.yml'" on the same line is `include:local`.
#[test]
fn include_a_local_file_given_as_a_string() {
    let p = Project::with_ci(
        "
        include: 'ci/build.yml'
        main-job:
          script: echo main
        ",
    );
    p.write(
        "ci/build.yml",
        "build-job:\n  stage: build\n  script: make\n",
    );
    assert_eq!(p.jobs(&[]), set(&["build-job", "main-job"]));
}

// https://docs.gitlab.com/ci/yaml/includes/#include-an-array-of-configuration-files
#[test]
fn include_a_list_of_local_files() {
    let p = Project::with_ci(
        "
        include:
          - ci/a.yml
          - /ci/b.yml
        ",
    );
    p.write("ci/a.yml", "a:\n  script: echo a\n");
    p.write("ci/b.yml", "b:\n  script: echo b\n");
    assert_eq!(p.jobs(&[]), set(&["a", "b"]));
}

// https://docs.gitlab.com/ci/yaml/#includelocal
// "A full path relative to the root directory (/)", as `local:` in a map.
#[test]
fn include_local_map() {
    let p = Project::with_ci(
        "
        include:
          - local: '/templates/.gitlab-ci-template.yml'
        ",
    );
    p.write(
        "templates/.gitlab-ci-template.yml",
        "from-template:\n  script: echo t\n",
    );
    assert_eq!(p.jobs(&[]), set(&["from-template"]));
}

// https://docs.gitlab.com/ci/yaml/includes/#use-includelocal-with-wildcard-file-paths
// `*` matches files in one directory only; `**` crosses directories. GitLab's own end-to-end test
// (gitlab-org/quality/testcases#1757) checks that `configs/*.yml` does not pick up `.yaml` files.
#[test]
fn include_local_with_a_wildcard() {
    let p = Project::with_ci("include: 'configs/*.yml'\n");
    p.write("configs/build.yml", "build:\n  script: echo\n");
    p.write("configs/test.yml", "test:\n  script: echo\n");
    p.write("configs/deploy.yaml", "deploy:\n  script: echo\n");
    p.write("configs/sub/nested.yml", "nested:\n  script: echo\n");
    assert_eq!(p.jobs(&[]), set(&["build", "test"]));

    let p = Project::with_ci("include: 'configs/**/*.yml'\n");
    p.write("configs/build.yml", "build:\n  script: echo\n");
    p.write("configs/sub/nested.yml", "nested:\n  script: echo\n");
    assert_eq!(p.jobs(&[]), set(&["build", "nested"]));
}

// https://docs.gitlab.com/ci/yaml/includes/#use-nested-includes
#[test]
fn nested_includes() {
    let p = Project::with_ci(
        "
        include:
          - local: /.gitlab-ci/another-config.yml
        job:
          script: echo
        ",
    );
    p.write(
        ".gitlab-ci/another-config.yml",
        "include:\n  - local: /.gitlab-ci/config-defaults.yml\n",
    );
    p.write(
        ".gitlab-ci/config-defaults.yml",
        "default:\n  after_script:\n    - echo \"Job complete.\"\n",
    );
    let v = p.explain("job", &[]);
    assert_eq!(v["job"]["after_script"][0], "echo \"Job complete.\"");
}

// https://docs.gitlab.com/ci/yaml/includes/#include-with-rulesif
// The file is included when the rule matches, and not when it does not (or says `when: never`).
#[test]
fn include_with_rules() {
    let p = Project::with_ci(
        r#"
        include:
          - local: builds.yml
            rules:
              - if: $INCLUDE_BUILDS == "true"
          - local: deploys.yml
            rules:
              - if: $CI_COMMIT_BRANCH == "main"
          - local: never.yml
            rules:
              - if: $CI_COMMIT_BRANCH == "main"
                when: never
        test:
          script: exit 0
        "#,
    );
    p.write("builds.yml", "build:\n  script: make\n");
    p.write("deploys.yml", "deploy:\n  script: ship\n");
    p.write("never.yml", "never:\n  script: nope\n");
    assert_eq!(p.jobs(&["--branch", "main"]), set(&["deploy", "test"]));
    assert_eq!(
        p.jobs(&["--branch", "main", "--variable", "INCLUDE_BUILDS=true"]),
        set(&["build", "deploy", "test"])
    );
    assert_eq!(p.jobs(&["--branch", "other"]), set(&["test"]));
}

// https://docs.gitlab.com/ci/yaml/includes/#use-variables-with-include
// "You cannot use variables defined in jobs, or in a global variables section [...]. Includes are
// evaluated before jobs, so these variables cannot be used with include."
#[test]
fn include_rules_do_not_see_global_yaml_variables() {
    let p = Project::with_ci(
        r#"
        variables:
          INCLUDE_EXTRA: "true"
        include:
          - local: extra.yml
            rules:
              - if: $INCLUDE_EXTRA == "true"
        main:
          script: echo
        "#,
    );
    p.write("extra.yml", "extra:\n  script: echo\n");
    assert_eq!(p.jobs(&[]), set(&["main"]));
    // A pipeline (command-line) variable is visible to include rules.
    assert_eq!(
        p.jobs(&["--variable", "INCLUDE_EXTRA=true"]),
        set(&["extra", "main"])
    );
}

// https://docs.gitlab.com/ci/yaml/#includelocal: the file must exist in the repository. The error
// names the including file, the line of the `include` entry, and the missing path.
#[test]
fn include_of_a_missing_file_is_an_error_naming_file_and_line() {
    let p = Project::with_ci(
        "
        stages: [test]
        include:
          - local: ci/present.yml
          - local: ci/missing.yml
        ",
    );
    p.write("ci/present.yml", "a:\n  script: echo\n");
    p.refuses(
        &["validate"],
        &format!(
            "error: .gitlab-ci.yml:4:10: key `include:local`: included file \
        `ci/missing.yml` does not exist (local includes are relative to the project \
        directory {})\n",
            p.path().display()
        ),
    );
}

// include:template and include:project: tests/includes.rs, with servers of their own.

/// Serves `body` over HTTP on 127.0.0.1 to every request, from a thread, until the test ends.
fn serve(body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            // Read the request head up to the blank line.
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if line == "\r\n" || line == "\n" {
                    break;
                }
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/yaml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

// https://docs.gitlab.com/ci/yaml/#includeremote: "A public URL accessible by an HTTP/HTTPS GET
// request"; a string that is a URL is `include:remote` too
// (https://docs.gitlab.com/ci/yaml/includes/#include-a-single-configuration-file).
#[test]
fn include_remote_over_http() {
    let base = serve(".remote-template:\n  image: alpine\nremote-job:\n  script: echo remote\n");
    let p = Project::with_ci(&format!(
        "
        include:
          - remote: '{base}/ci/remote.yml'
        local-job:
          extends: .remote-template
          script: echo local
        "
    ));
    assert_eq!(p.jobs(&[]), set(&["local-job", "remote-job"]));
    assert_eq!(
        p.explain("local-job", &[])["job"]["image"]["name"],
        "alpine"
    );

    let p = Project::with_ci(&format!("include: '{base}/ci/remote.yml'\n"));
    assert_eq!(p.jobs(&[]), set(&["remote-job"]));
}

// GitLab stops a pipeline whose includes recurse (https://docs.gitlab.com/ci/yaml/#include:
// at most 150 includes, "including nested"); a file that includes itself, directly or not, can
// only end in an error, and the error names the chain.
#[test]
fn include_cycle_is_an_error() {
    let p = Project::with_ci("include: a.yml\njob:\n  script: echo\n");
    p.write("a.yml", "include: b.yml\n");
    p.write("b.yml", "include: a.yml\n");
    p.refuses(
        &["validate"],
        "error: b.yml:1:10: key `include`: include cycle: .gitlab-ci.yml -> a.yml -> \
        b.yml -> a.yml\n",
    );
}

// https://docs.gitlab.com/ci/yaml/includes/#merge-method-for-include: a deep merge where the
// main file wins per key, maps merge and lists are replaced. This is the documented example.
#[test]
fn included_configuration_is_deep_merged_and_the_main_file_wins() {
    let p = Project::with_ci(
        r#"
        include: 'common.yml'
        variables:
          POSTGRES_USER: username
        test:
          rules:
            - if: $CI_PIPELINE_SOURCE == "merge_request_event"
              when: manual
          artifacts:
            reports:
              junit: rspec.xml
        "#,
    );
    p.write(
        "common.yml",
        "
        variables:
          POSTGRES_USER: common_username
          POSTGRES_PASSWORD: testing_password
        test:
          rules:
            - when: never
          script:
            - echo LOGIN=${POSTGRES_USER} > deploy.env
            - rake spec
          artifacts:
            reports:
              dotenv: deploy.env
        ",
    );
    // The main file's rules replace the included ones: a manual job in merge request pipelines,
    // absent from push pipelines (its only rule does not match).
    assert_eq!(p.jobs(&[]), Vec::<String>::new());
    let mr = ["--source", "merge_request_event"];
    assert_eq!(p.job("test", &mr)["when"], "manual");
    let v = p.explain("test", &mr);
    assert_eq!(
        v["job"]["script"][1], "rake spec",
        "script comes from common.yml"
    );
    let reports = &v["job"]["artifacts"]["reports"];
    assert_eq!(reports["junit"][0], "rspec.xml");
    assert_eq!(
        reports["dotenv"][0], "deploy.env",
        "artifacts is a map: merged"
    );
    let vars = p.vars("test", &mr);
    assert_eq!(vars["POSTGRES_USER"], "username");
    assert_eq!(vars["POSTGRES_PASSWORD"], "testing_password");
}

// https://docs.gitlab.com/ci/yaml/includes/#merge-method-for-include: "If parameters overlap,
// the last included file takes precedence".
#[test]
fn the_last_included_file_wins_over_earlier_ones() {
    let p = Project::with_ci("include: [one.yml, two.yml]\n");
    p.write("one.yml", "job:\n  image: one\n  script: echo one\n");
    p.write("two.yml", "job:\n  image: two\n");
    let v = p.explain("job", &[]);
    assert_eq!(v["job"]["image"]["name"], "two");
    assert_eq!(v["job"]["script"][0], "echo one");
}

// https://docs.gitlab.com/ci/yaml/#includelocal: "The YAML file must have the extension .yml or
// .yaml."
#[test]
fn included_files_must_be_yaml_files() {
    let p = Project::with_ci("include: ci/jobs.txt\n");
    p.write("ci/jobs.txt", "job:\n  script: echo\n");
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:1:10: key `include:local`: included file `ci/jobs.txt` \
        must end in .yml or .yaml\n",
    );
}

// ---------------------------------------------------------------------------------------------
// YAML anchors, merge keys, !reference
// ---------------------------------------------------------------------------------------------

// https://docs.gitlab.com/ci/yaml/yaml_optimization/#anchors: the documented `test:postgres` /
// `test:mysql` example: `<<: *anchor` merges, keys written in the job win.
#[test]
fn anchors_aliases_and_merge_keys() {
    let p = Project::with_ci(
        "
        .job_template: &job_configuration
          script:
            - test project
          tags:
            - dev
        .postgres_services:
          services: &postgres_configuration
            - postgres
            - ruby
        .mysql_services:
          services: &mysql_configuration
            - mysql
            - ruby
        test:postgres:
          <<: *job_configuration
          services: *postgres_configuration
          tags:
            - postgres
        test:mysql:
          <<: *job_configuration
          services: *mysql_configuration
        ",
    );
    assert_eq!(p.jobs(&[]), set(&["test:mysql", "test:postgres"]));
    let pg = p.explain("test:postgres", &[]);
    assert_eq!(pg["job"]["tags"], serde_json::json!(["postgres"]));
    assert_eq!(pg["job"]["services"][0]["name"], "postgres");
    assert_eq!(pg["job"]["script"][0], "test project");
    let my = p.explain("test:mysql", &[]);
    assert_eq!(my["job"]["tags"], serde_json::json!(["dev"]));
    assert_eq!(my["job"]["services"][0]["name"], "mysql");
}

// https://docs.gitlab.com/ci/yaml/yaml_optimization/#yaml-anchors-for-scripts: an alias to a list
// inside `script` is flattened into it.
#[test]
fn anchors_for_scripts_are_flattened() {
    let p = Project::with_ci(
        r#"
        .some-script-before: &some-script-before
          - echo "Execute this script first"
        .some-script: &some-script
          - echo "Execute this script second"
          - echo "Execute this script too"
        job2:
          script:
            - *some-script-before
            - *some-script
            - echo "Execute something else, for this job only"
        "#,
    );
    let v = p.explain("job2", &[]);
    assert_eq!(
        v["job"]["script"],
        serde_json::json!([
            "echo \"Execute this script first\"",
            "echo \"Execute this script second\"",
            "echo \"Execute this script too\"",
            "echo \"Execute something else, for this job only\""
        ])
    );
}

// https://docs.gitlab.com/ci/yaml/yaml_optimization/#reference-tags: `!reference` reuses a
// keyword from another (here: included) job, and a list splices into a script.
#[test]
fn reference_tags_splice_scripts_across_files() {
    let p = Project::with_ci(
        "
        include:
          - local: configs.yml
        .teardown:
          after_script:
            - echo deleting environment
        test:
          script:
            - !reference [.setup, script]
            - echo running my own command
          after_script:
            - !reference [.teardown, after_script]
        ",
    );
    p.write(
        "configs.yml",
        ".setup:\n  script:\n    - echo creating environment\n",
    );
    let v = p.explain("test", &[]);
    assert_eq!(
        v["job"]["script"],
        serde_json::json!(["echo creating environment", "echo running my own command"])
    );
    assert_eq!(
        v["job"]["after_script"],
        serde_json::json!(["echo deleting environment"])
    );
}

// https://docs.gitlab.com/ci/yaml/yaml_optimization/#reference-tags: a whole `variables` map, or
// one variable of it under a new name.
#[test]
fn reference_tags_in_variables() {
    let p = Project::with_ci(
        r#"
        .vars:
          variables:
            URL: "http://my-url.internal"
            IMPORTANT_VAR: "the details"
        test-vars-1:
          variables: !reference [.vars, variables]
          script:
            - printenv
        test-vars-2:
          variables:
            MY_VAR: !reference [.vars, variables, IMPORTANT_VAR]
          script:
            - printenv
        "#,
    );
    let v1 = p.vars("test-vars-1", &[]);
    assert_eq!(v1["URL"], "http://my-url.internal");
    assert_eq!(v1["IMPORTANT_VAR"], "the details");
    let v2 = p.vars("test-vars-2", &[]);
    assert_eq!(v2["MY_VAR"], "the details");
    assert!(!v2.contains_key("URL"));
}

// https://docs.gitlab.com/ci/yaml/yaml_optimization/#nest-reference-tags-in-script-before_script-and-after_script
#[test]
fn nested_reference_tags() {
    let p = Project::with_ci(
        r#"
        .snippets:
          one:
            - echo "ONE!"
          two:
            - !reference [.snippets, one]
            - echo "TWO!"
          three:
            - !reference [.snippets, two]
            - echo "THREE!"
        nested-references:
          script:
            - !reference [.snippets, three]
        "#,
    );
    let v = p.explain("nested-references", &[]);
    assert_eq!(
        v["job"]["script"],
        serde_json::json!(["echo \"ONE!\"", "echo \"TWO!\"", "echo \"THREE!\""])
    );
}

// A `!reference` to something that does not exist cannot be resolved; GitLab rejects the
// configuration (https://docs.gitlab.com/ci/yaml/yaml_optimization/#reference-tags). The error
// names the file, line and job.
#[test]
fn reference_to_an_unknown_target_is_an_error() {
    let p = Project::with_ci(
        "
        .setup:
          script: [echo]
        job:
          script:
            - !reference [.setup, before_script]
        ",
    );
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:5:18: job `job`: `!reference [.setup, before_script]` \
        points at nothing\n",
    );
}

// ---------------------------------------------------------------------------------------------
// extends
// ---------------------------------------------------------------------------------------------

// https://docs.gitlab.com/ci/yaml/#extends: the documented `.tests` / `rspec` example.
#[test]
fn extends_a_single_template() {
    let p = Project::with_ci(
        "
        .tests:
          stage: test
          image: ruby:3.0
        rspec:
          extends: .tests
          script: rake rspec
        rubocop:
          extends: .tests
          script: bundle exec rubocop
        ",
    );
    assert_eq!(p.jobs(&[]), set(&["rspec", "rubocop"]));
    let v = p.explain("rspec", &[]);
    assert_eq!(v["job"]["image"]["name"], "ruby:3.0");
    assert_eq!(v["job"]["stage"], "test");
    assert_eq!(v["job"]["script"][0], "rake rspec");
}

// https://docs.gitlab.com/ci/yaml/yaml_optimization/#merge-details: the documented `rspec`
// example: later parents win, `variables` merge, `tags` and `script` (lists) are replaced.
#[test]
fn extends_several_parents_later_wins_maps_merge_lists_replace() {
    let p = Project::with_ci(
        r#"
        .only-important:
          variables:
            URL: "http://my-url.internal"
            IMPORTANT_VAR: "the details"
          rules:
            - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
            - if: $CI_COMMIT_BRANCH == "stable"
          tags:
            - production
          script:
            - echo "Hello world!"
        .in-docker:
          variables:
            URL: "http://docker-url.internal"
          tags:
            - docker
          image: alpine
        rspec:
          variables:
            GITLAB: "is-awesome"
          extends:
            - .only-important
            - .in-docker
          script:
            - rake rspec
        "#,
    );
    let v = p.explain("rspec", &["--branch", "main"]);
    assert_eq!(v["job"]["tags"], serde_json::json!(["docker"]));
    assert_eq!(v["job"]["image"]["name"], "alpine");
    assert_eq!(v["job"]["script"], serde_json::json!(["rake rspec"]));
    assert_eq!(v["job"]["rules"].as_array().map(Vec::len), Some(2));
    let vars = p.vars("rspec", &["--branch", "main"]);
    assert_eq!(vars["URL"], "http://docker-url.internal");
    assert_eq!(vars["IMPORTANT_VAR"], "the details");
    assert_eq!(vars["GITLAB"], "is-awesome");
    // The rules came from `.only-important`: not on other branches.
    assert_eq!(p.jobs(&["--branch", "feature"]), Vec::<String>::new());
}

// https://docs.gitlab.com/ci/yaml/yaml_optimization/#exclude-a-key-from-extends: `null` removes
// what the parent set; `{}` merges into it (and so keeps it).
#[test]
fn extends_null_excludes_a_key() {
    let p = Project::with_ci(
        "
        .base:
          script: test
          image: base-image
          variables:
            VAR1: base var 1
        test3:
          extends: .base
          variables: {}
        test4:
          extends: .base
          variables: null
          image: null
        ",
    );
    assert_eq!(p.vars("test3", &[])["VAR1"], "base var 1");
    let v4 = p.vars("test4", &[]);
    assert!(!v4.contains_key("VAR1"), "{v4:?}");
    assert!(p.explain("test4", &[])["job"]["image"].is_null());

    // For GitLab a keyword set to `null` is "unspecified" (Gitlab::Config::Entry::Unspecified),
    // and an unspecified inheritable keyword takes the `default:` value
    // (Gitlab::Config::Entry::Inheritable#inherit!).
    let p = Project::with_ci(
        "
        default:
          image: default-image
        .base:
          image: base-image
          script: test
        test5:
          extends: .base
          image: null
        ",
    );
    assert_eq!(
        p.explain("test5", &[])["job"]["image"]["name"],
        "default-image"
    );
}

// https://docs.gitlab.com/ci/yaml/#extends: GitLab reports a circular dependency.
#[test]
fn extends_cycle_is_an_error() {
    let p = Project::with_ci(
        "
        .a:
          extends: .b
        .b:
          extends: .a
        job:
          extends: .a
          script: echo
        ",
    );
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:2:10: job `job`, key `extends`: `extends` cycle: job -> \
        .a -> .b -> .a\n",
    );
}

// https://docs.gitlab.com/ci/yaml/#extends: "The name of another job in the pipeline".
#[test]
fn extends_an_unknown_job_is_an_error() {
    let p = Project::with_ci(
        "
        job:
          script: echo
          extends: .does-not-exist
        ",
    );
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:3:12: job `job`, key `extends`: unknown job or template \
        `.does-not-exist` in `extends`\n",
    );
}

// https://docs.gitlab.com/ci/yaml/#extends: "supports up to eleven levels of inheritance". GitLab
// counts the job itself (Gitlab::Ci::Config::Extendable::Entry: an entry with more than 10
// ancestors is "nesting too deep"), so a job and ten templates above it is the limit.
#[test]
fn extends_depth_limit() {
    fn chain(templates: usize) -> String {
        let mut y = String::from(".t0:\n  script: echo\n");
        for i in 1..templates {
            y.push_str(&format!(".t{i}:\n  extends: .t{}\n", i - 1));
        }
        y.push_str(&format!("job:\n  extends: .t{}\n", templates - 1));
        y
    }
    assert_eq!(Project::with_ci(&chain(10)).jobs(&[]), set(&["job"]));
    Project::with_ci(&chain(11)).refuses(
        &["validate"],
        "error: .gitlab-ci.yml:2:9: job `job`, key `extends`: `extends` nests more \
        than 11 levels\n",
    );
}

// ---------------------------------------------------------------------------------------------
// default, inherit, hidden jobs
// ---------------------------------------------------------------------------------------------

// https://docs.gitlab.com/ci/yaml/#default: the documented `rspec` / `rspec 2.7` example.
#[test]
fn default_keywords_fill_what_a_job_does_not_set() {
    let p = Project::with_ci(
        "
        default:
          image: ruby:3.0
          retry: 2
          before_script:
            - bundle install
        rspec:
          script: bundle exec rspec
        rspec 2.7:
          image: ruby:2.7
          script: bundle exec rspec
        ",
    );
    let a = p.explain("rspec", &[]);
    assert_eq!(a["job"]["image"]["name"], "ruby:3.0");
    assert_eq!(a["job"]["retry"]["max"], 2);
    assert_eq!(a["job"]["before_script"][0], "bundle install");
    let b = p.explain("rspec 2.7", &[]);
    assert_eq!(b["job"]["image"]["name"], "ruby:2.7");
    assert_eq!(b["job"]["retry"]["max"], 2);
}

// https://docs.gitlab.com/ci/yaml/#default lists the keywords `default` may hold; `variables` is
// not one of them (global `variables:` is its own keyword).
#[test]
fn default_rejects_keywords_it_cannot_hold() {
    let p = Project::with_ci(
        "
        default:
          image: alpine
          variables:
            A: b
        job:
          script: echo
        ",
    );
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:3:3: key `default`: unknown key `variables`; expected \
        one of: after_script, artifacts, before_script, cache, hooks, id_tokens, \
        image, interruptible, retry, services, tags, timeout\n",
    );
}

// https://docs.gitlab.com/ci/yaml/#inheritdefault: the documented `job1` / `job2` example.
#[test]
fn inherit_default_false_or_a_list() {
    let p = Project::with_ci(
        "
        default:
          retry: 2
          image: ruby:3.0
          interruptible: true
        job1:
          script: echo
          inherit:
            default: false
        job2:
          script: echo
          inherit:
            default:
              - retry
              - image
        ",
    );
    let j1 = p.explain("job1", &[]);
    assert!(j1["job"]["image"].is_null());
    assert_eq!(j1["job"]["retry"]["max"], 0);
    assert_eq!(j1["job"]["interruptible"], false);
    let j2 = p.explain("job2", &[]);
    assert_eq!(j2["job"]["image"]["name"], "ruby:3.0");
    assert_eq!(j2["job"]["retry"]["max"], 2);
    assert_eq!(j2["job"]["interruptible"], false);
}

// https://docs.gitlab.com/ci/yaml/#inheritvariables: the documented example.
#[test]
fn inherit_variables_false_or_a_list() {
    let p = Project::with_ci(
        r#"
        variables:
          VARIABLE1: "This is default variable 1"
          VARIABLE2: "This is default variable 2"
          VARIABLE3: "This is default variable 3"
        job1:
          script: echo
          inherit:
            variables: false
        job2:
          script: echo
          inherit:
            variables:
              - VARIABLE1
              - VARIABLE2
        "#,
    );
    let v1 = p.vars("job1", &[]);
    assert!(!v1.contains_key("VARIABLE1") && !v1.contains_key("VARIABLE3"));
    let v2 = p.vars("job2", &[]);
    assert_eq!(v2["VARIABLE1"], "This is default variable 1");
    assert_eq!(v2["VARIABLE2"], "This is default variable 2");
    assert!(!v2.contains_key("VARIABLE3"));
}

// https://docs.gitlab.com/ci/jobs/#hide-a-job: a job whose name starts with `.` is not processed
// (and can still be extended).
#[test]
fn hidden_jobs_are_not_jobs() {
    let p = Project::with_ci(
        "
        .hidden_job:
          script:
            - run test
        visible:
          extends: .hidden_job
        ",
    );
    assert_eq!(p.jobs(&[]), set(&["visible"]));
    assert!(p.list_all(&[]).iter().all(|j| j["name"] != ".hidden_job"));
}

// ---------------------------------------------------------------------------------------------
// variables
// ---------------------------------------------------------------------------------------------

// https://docs.gitlab.com/ci/yaml/#variablesexpand and #variablesdescription: the documented
// VAR1/VAR2/VAR3 example; a variable with only a `description` is an empty string; a job
// variable overrides the default one (https://docs.gitlab.com/ci/yaml/#default-variables).
#[test]
fn variables_forms_value_description_expand() {
    let p = Project::with_ci(
        r#"
        variables:
          VAR1: value1
          VAR2: value2 $VAR1
          VAR3:
            value: value3 $VAR1
            expand: false
          DEPLOY_NOTE:
            description: "The deployment note."
          DEPLOY_ENVIRONMENT:
            value: "staging"
            description: "The deployment target."
          DEPLOY_SITE: "https://example.com/"
        deploy_review_job:
          variables:
            DEPLOY_SITE: "https://dev.example.com/"
          script: echo
        "#,
    );
    let v = p.vars("deploy_review_job", &[]);
    assert_eq!(v["VAR2"], "value2 value1");
    assert_eq!(v["VAR3"], "value3 $VAR1");
    assert_eq!(v["DEPLOY_NOTE"], "");
    assert_eq!(v["DEPLOY_ENVIRONMENT"], "staging");
    assert_eq!(v["DEPLOY_SITE"], "https://dev.example.com/");
}

// https://docs.gitlab.com/ci/yaml/#variablesdescription: "You can only use this keyword with
// default variables, not job variables."
#[test]
fn job_variables_cannot_have_a_description() {
    let p = Project::with_ci(
        "
        job:
          script: echo
          variables:
            X:
              value: x
              description: not here
        ",
    );
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:6:7: job `job`, key `variables:X`: unknown key \
        `description`; expected one of: value, expand\n",
    );
}

// https://docs.gitlab.com/ci/variables/#cicd-variable-precedence: pipeline variables (here
// `--variable`) beat project variables (the variables file), which beat job variables, which
// beat default variables, which beat predefined ones.
#[test]
fn variable_precedence_command_line_then_file_then_job_then_default() {
    let p = Project::with_ci(
        "
        variables:
          A: default
          B: default
          C: default
          D: default
        job:
          variables:
            A: job
            B: job
            C: job
          script: echo
        ",
    );
    p.write(
        ".tezos-ci-local-variables.yml",
        "
        A: file
        B: file
        CI_COMMIT_REF_NAME: overridden-by-project
        ",
    );
    let v = p.vars("job", &["--variable", "A=cli"]);
    assert_eq!(v["A"], "cli");
    assert_eq!(v["B"], "file");
    assert_eq!(v["C"], "job");
    assert_eq!(v["D"], "default");
    assert_eq!(v["CI_COMMIT_REF_NAME"], "overridden-by-project");
}

// https://docs.gitlab.com/ci/variables/#cicd-variable-precedence: project variables are higher
// than YAML variables also when rules read them.
#[test]
fn variables_file_is_seen_by_rules() {
    let p = Project::with_ci(
        r#"
        variables:
          DEPLOY: "no"
        deploy:
          script: echo
          rules:
            - if: $DEPLOY == "yes"
        "#,
    );
    assert_eq!(p.jobs(&[]), Vec::<String>::new());
    p.write(".tezos-ci-local-variables.yml", "DEPLOY: 'yes'\n");
    assert_eq!(p.jobs(&[]), set(&["deploy"]));
}

// ---------------------------------------------------------------------------------------------
// stages
// ---------------------------------------------------------------------------------------------

// https://docs.gitlab.com/ci/yaml/#stages: without `stages`, the stages are .pre, build, test,
// deploy, .post; https://docs.gitlab.com/ci/yaml/#stage: a job without `stage` is in `test`.
#[test]
fn default_stages_and_default_stage() {
    let p = Project::with_ci(
        "
        b:
          stage: build
          script: echo
        t:
          script: echo
        d:
          stage: deploy
          script: echo
        ",
    );
    assert_eq!(p.job("t", &[])["stage"], "test");
    assert_eq!(p.job("d", &[])["stage"], "deploy");
    // Stage order: `t` waits for `b`, `d` for `t`.
    let edges = p.edges(&[]);
    assert!(
        edges.contains(&edge("b", "t")) && edges.contains(&edge("t", "d")),
        "{edges:?}"
    );
}

// https://docs.gitlab.com/ci/yaml/#stage-pre and #stage-post: always first and last, without
// being declared in `stages`.
#[test]
fn pre_and_post_stages() {
    let p = Project::with_ci(
        "
        stages: [build, test]
        job1:
          stage: build
          script: echo
        first-job:
          stage: .pre
          script: echo
        last-job:
          stage: .post
          script: echo
        ",
    );
    let edges = p.edges(&[]);
    assert!(edges.contains(&edge("first-job", "job1")), "{edges:?}");
    assert!(edges.contains(&edge("job1", "last-job")), "{edges:?}");
}

// https://docs.gitlab.com/ci/yaml/#stage-pre: "If a pipeline contains only jobs in the .pre or
// .post stages, it does not run."
#[test]
fn a_pipeline_of_only_pre_and_post_jobs_does_not_run() {
    let p = Project::with_ci(
        "
        first:
          stage: .pre
          script: echo
        build:
          stage: build
          script: echo
          rules:
            - if: $BUILD
        last:
          stage: .post
          script: echo
        ",
    );
    assert_eq!(p.jobs(&[]), Vec::<String>::new());
    assert_eq!(
        p.jobs(&["--variable", "BUILD=1"]),
        set(&["build", "first", "last"])
    );
}

// https://docs.gitlab.com/ci/yaml/#stage: the stage must be a default stage or a user-defined one.
#[test]
fn unknown_stage_is_an_error() {
    let p = Project::with_ci(
        "
        stages: [build, test]
        job:
          stage: deploy
          script: echo
        ",
    );
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:3:10: job `job`, key `stage`: stage `deploy` is not \
        among the pipeline's stages: .pre, build, test, .post\n",
    );
}

// ---------------------------------------------------------------------------------------------
// workflow
// ---------------------------------------------------------------------------------------------

// https://docs.gitlab.com/ci/yaml/#workflowrules: "When no rules evaluate to true, the pipeline
// does not run." A `when: never` rule stops it too.
#[test]
fn workflow_rules_decide_whether_there_is_a_pipeline() {
    let p = Project::with_ci(
        r#"
        workflow:
          rules:
            - if: $CI_COMMIT_TITLE =~ /-draft$/
              when: never
            - if: $CI_PIPELINE_SOURCE == "merge_request_event"
            - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
        job:
          script: echo
          rules:
            - when: always
        "#,
    );
    assert_eq!(p.jobs(&["--branch", "main"]), set(&["job"]));
    assert_eq!(p.jobs(&["--branch", "feature"]), Vec::<String>::new());
    assert_eq!(
        p.jobs(&["--branch", "feature", "--source", "merge_request_event"]),
        set(&["job"])
    );
    let out = p.cmd(&["list", "--branch", "feature"]).output().unwrap();
    assert!(out.status.success());
    assert_contains(&String::from_utf8_lossy(&out.stdout), &["No pipeline"]);
}

// https://docs.gitlab.com/ci/yaml/#workflowrulesvariables: the documented DEPLOY_VARIABLE example,
// for the default branch, a feature branch and another branch.
#[test]
fn workflow_rules_variables_reach_jobs() {
    let p = Project::with_ci(
        r#"
        variables:
          DEPLOY_VARIABLE: "default-deploy"
        workflow:
          rules:
            - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
              variables:
                DEPLOY_VARIABLE: "deploy-production"
            - if: $CI_COMMIT_BRANCH =~ /feature/
              variables:
                IS_A_FEATURE: "true"
            - if: $CI_COMMIT_BRANCH
        job1:
          variables:
            DEPLOY_VARIABLE: "job1-default-deploy"
          rules:
            - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
              variables:
                DEPLOY_VARIABLE: "job1-deploy-production"
            - when: on_success
          script: echo
        job2:
          script: echo
        "#,
    );
    let main = ["--branch", "main"];
    assert_eq!(
        p.vars("job1", &main)["DEPLOY_VARIABLE"],
        "job1-deploy-production"
    );
    assert_eq!(
        p.vars("job2", &main)["DEPLOY_VARIABLE"],
        "deploy-production"
    );
    let feature = ["--branch", "feature"];
    let j1 = p.vars("job1", &feature);
    assert_eq!(j1["DEPLOY_VARIABLE"], "job1-default-deploy");
    assert_eq!(j1["IS_A_FEATURE"], "true");
    let j2 = p.vars("job2", &feature);
    assert_eq!(j2["DEPLOY_VARIABLE"], "default-deploy");
    assert_eq!(j2["IS_A_FEATURE"], "true");
    let other = ["--branch", "other"];
    assert_eq!(
        p.vars("job1", &other)["DEPLOY_VARIABLE"],
        "job1-default-deploy"
    );
    assert_eq!(p.vars("job2", &other)["DEPLOY_VARIABLE"], "default-deploy");
    assert!(!p.vars("job2", &other).contains_key("IS_A_FEATURE"));
}

// https://docs.gitlab.com/ci/yaml/#workflowname: the documented example with names chosen by
// workflow rules; the name is GitLab's predefined `CI_PIPELINE_NAME`
// (https://docs.gitlab.com/ci/variables/predefined_variables/).
#[test]
fn workflow_name_with_rules_variables() {
    let p = Project::with_ci(
        r#"
        variables:
          PROJECT1_PIPELINE_NAME: 'Default pipeline name'
        workflow:
          name: '$PROJECT1_PIPELINE_NAME'
          rules:
            - if: '$CI_PIPELINE_SOURCE == "merge_request_event"'
              variables:
                PROJECT1_PIPELINE_NAME: 'MR pipeline: $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME'
            - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
        job:
          script: echo
          rules:
            - when: always
        "#,
    );
    assert_eq!(
        p.vars("job", &["--branch", "main"])["CI_PIPELINE_NAME"],
        "Default pipeline name"
    );
    assert_eq!(
        p.vars(
            "job",
            &["--branch", "topic", "--source", "merge_request_event"]
        )["CI_PIPELINE_NAME"],
        "MR pipeline: topic"
    );
}

// ---------------------------------------------------------------------------------------------
// rules
// ---------------------------------------------------------------------------------------------

// https://docs.gitlab.com/ci/jobs/job_rules/#cicd-variable-expressions: ==, !=, =~, !~ (RE2,
// `/i` flag), null, "", a bare variable (defined and not empty), && before ||, parentheses, and
// a regular expression stored in a variable
// (https://docs.gitlab.com/ci/jobs/job_rules/#store-a-regular-expression-in-a-variable).
#[test]
fn rules_if_operators() {
    let p = Project::with_ci(
        r#"
        variables:
          EMPTY: ""
          pattern: '/^ab.*/'
        .j: &j
          script: echo
        eq:
          <<: *j
          rules: [{if: '$CI_COMMIT_BRANCH == "main"'}]
        ne:
          <<: *j
          rules: [{if: '$CI_COMMIT_BRANCH != "main"'}]
        single-quotes:
          <<: *j
          rules: [{if: "$CI_COMMIT_BRANCH == 'main'"}]
        two-variables:
          <<: *j
          rules: [{if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH'}]
        match:
          <<: *j
          rules: [{if: '$CI_COMMIT_BRANCH =~ /^ma/'}]
        no-match:
          <<: *j
          rules: [{if: '$CI_COMMIT_BRANCH !~ /^ma/'}]
        case-sensitive:
          <<: *j
          rules: [{if: '$CI_COMMIT_BRANCH =~ /^MAIN$/'}]
        case-insensitive:
          <<: *j
          rules: [{if: '$CI_COMMIT_BRANCH =~ /^MAIN$/i'}]
        undefined-is-null:
          <<: *j
          rules: [{if: '$UNDEFINED == null'}]
        empty-is-not-null:
          <<: *j
          rules: [{if: '$EMPTY != null'}]
        empty-string:
          <<: *j
          rules: [{if: '$EMPTY == ""'}]
        bare-empty:
          <<: *j
          rules: [{if: '$EMPTY'}]
        bare-set:
          <<: *j
          rules: [{if: '$CI_COMMIT_BRANCH'}]
        and-before-or:
          <<: *j
          rules: [{if: '$UNDEFINED || $CI_COMMIT_BRANCH == "main" && $EMPTY == ""'}]
        parentheses:
          <<: *j
          rules: [{if: '($UNDEFINED || $CI_COMMIT_BRANCH == "main") && $UNDEFINED'}]
        regex-in-variable:
          <<: *j
          variables:
            teststring: 'abcde'
          rules: [{if: '$teststring =~ $pattern'}]
        regex-in-variable-no-match:
          <<: *j
          variables:
            teststring: 'fghij'
          rules: [{if: '$teststring =~ $pattern'}]
        "#,
    );
    assert_eq!(
        p.jobs(&["--branch", "main"]),
        set(&[
            "and-before-or",
            "bare-set",
            "case-insensitive",
            "empty-is-not-null",
            "empty-string",
            "eq",
            "match",
            "regex-in-variable",
            "single-quotes",
            "two-variables",
            "undefined-is-null",
        ])
    );
}

// https://docs.gitlab.com/ci/yaml/#rules: "If no rules match, the job is not added to the
// pipeline." `list --all` says why.
#[test]
fn rules_no_match_excludes_the_job_and_says_why() {
    let p = Project::with_ci(
        r#"
        job:
          script: echo
          rules:
            - if: $CI_PIPELINE_SOURCE == "schedule"
        "#,
    );
    assert_eq!(p.jobs(&[]), Vec::<String>::new());
    assert_contains(&p.excluded_because("job", &[]).unwrap(), &["no rule"]);
    assert_eq!(p.jobs(&["--source", "schedule"]), set(&["job"]));
}

// https://docs.gitlab.com/ci/yaml/#ruleswhen: on_success (default), on_failure, never, always,
// manual, delayed (with start_in).
#[test]
fn rules_when_values() {
    let p = Project::with_ci(
        "
        .j: &j
          script: echo
        default-when:
          <<: *j
          rules: [{if: $CI}]
        manual:
          <<: *j
          rules: [{when: manual}]
        delayed:
          <<: *j
          rules: [{when: delayed, start_in: 5 minutes}]
        never:
          <<: *j
          rules: [{when: never}]
        always:
          <<: *j
          rules: [{when: always}]
        on-failure:
          <<: *j
          rules: [{when: on_failure}]
        ",
    );
    let when = |name: &str| p.job(name, &[])["when"].as_str().unwrap().to_string();
    assert_eq!(when("default-when"), "on_success");
    assert_eq!(when("manual"), "manual");
    assert_eq!(when("delayed"), "delayed");
    assert_eq!(when("always"), "always");
    assert_eq!(when("on-failure"), "on_failure");
    assert_eq!(p.job("never", &[])["included"], false);
    assert_eq!(p.explain("delayed", &[])["planned"]["start_in"], 300);
}

// https://docs.gitlab.com/ci/yaml/#rulesif: "If a rule matches and has no when defined, the rule
// uses the when defined for the job" (GitLab issue 219437, resolved); `when` in rules wins over
// the job's.
#[test]
fn rules_without_when_take_the_jobs_when() {
    let p = Project::with_ci(
        "
        job-manual:
          script: echo
          when: manual
          rules:
            - if: $CI
        rule-wins:
          script: echo
          when: manual
          rules:
            - if: $CI
              when: always
        ",
    );
    assert_eq!(p.job("job-manual", &[])["when"], "manual");
    assert_eq!(p.job("rule-wins", &[])["when"], "always");
}

// https://docs.gitlab.com/ci/yaml/#allow_failure: the default is true for manual jobs, false for
// `when: manual` inside rules; https://docs.gitlab.com/ci/yaml/#rulesallow_failure: the rule's
// value overrides the job's.
#[test]
fn allow_failure_defaults_for_manual_jobs() {
    let p = Project::with_ci(
        "
        .j: &j
          script: echo
        job-manual:
          <<: *j
          when: manual
        job-manual-with-rules:
          <<: *j
          when: manual
          rules: [{if: $CI}]
        rules-manual:
          <<: *j
          rules: [{when: manual}]
        rules-manual-allowed:
          <<: *j
          rules: [{when: manual, allow_failure: true}]
        job-allowed:
          <<: *j
          allow_failure: true
          rules: [{if: $CI}]
        rule-overrides-job:
          <<: *j
          allow_failure: true
          rules: [{if: $CI, allow_failure: false}]
        plain:
          <<: *j
        ",
    );
    let af = |name: &str| p.job(name, &[])["allow_failure"].as_bool().unwrap();
    assert!(af("job-manual"));
    assert!(
        af("job-manual-with-rules"),
        "the job's own `when: manual` makes it allowed to fail"
    );
    assert!(!af("rules-manual"));
    assert!(af("rules-manual-allowed"));
    assert!(af("job-allowed"));
    assert!(!af("rule-overrides-job"));
    assert!(!af("plain"));
}

// https://docs.gitlab.com/ci/yaml/#rulesvariables: the documented example.
#[test]
fn rules_variables_override_job_variables() {
    let p = Project::with_ci(
        r#"
        job:
          variables:
            DEPLOY_VARIABLE: "default-deploy"
          rules:
            - if: $CI_COMMIT_REF_NAME == $CI_DEFAULT_BRANCH
              variables:
                DEPLOY_VARIABLE: "deploy-production"
            - if: $CI_COMMIT_REF_NAME =~ /feature/
              variables:
                IS_A_FEATURE: "true"
          script: echo
        "#,
    );
    assert_eq!(
        p.vars("job", &["--branch", "main"])["DEPLOY_VARIABLE"],
        "deploy-production"
    );
    let f = p.vars("job", &["--branch", "feature-1"]);
    assert_eq!(f["DEPLOY_VARIABLE"], "default-deploy");
    assert_eq!(f["IS_A_FEATURE"], "true");
}

// https://docs.gitlab.com/ci/yaml/#rulesneeds: the documented build-dev / build-prod example:
// the matching rule's `needs` replaces the job's.
#[test]
fn rules_needs_replace_the_jobs_needs() {
    let p = Project::with_ci(
        r#"
        build-dev:
          stage: build
          rules:
            - if: $CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH
          script: echo
        build-prod:
          stage: build
          rules:
            - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
          script: echo
        tests:
          stage: test
          needs: ['build-dev', 'build-prod']
          rules:
            - if: $CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH
              needs: ['build-dev']
            - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
              needs: ['build-prod']
          script: echo
        "#,
    );
    assert_eq!(
        p.job("tests", &["--branch", "main"])["needs"],
        serde_json::json!(["build-prod"])
    );
    assert_eq!(
        p.job("tests", &["--branch", "feature"])["needs"],
        serde_json::json!(["build-dev"])
    );
}

// https://docs.gitlab.com/ci/yaml/#rulesexists: the documented example, including a glob held in
// a variable (`$DOCKERPATH`); `exists:paths` is the same as a list
// (https://docs.gitlab.com/ci/yaml/#rulesexistspaths).
#[test]
fn rules_exists() {
    let p = Project::with_ci(
        r#"
        job1:
          script: docker build .
          rules:
            - exists:
                - Dockerfile
        job2:
          variables:
            DOCKERPATH: "**/Dockerfile"
          script: docker build .
          rules:
            - exists:
                - $DOCKERPATH
        job3:
          script: echo
          rules:
            - exists:
                paths:
                  - docker/*
        "#,
    );
    p.write("docker/Dockerfile", "FROM alpine\n");
    assert_eq!(p.jobs(&[]), set(&["job2", "job3"]));
    p.write("Dockerfile", "FROM alpine\n");
    assert_eq!(p.jobs(&[]), set(&["job1", "job2", "job3"]));
}

/// A repository on `main` with `src/a.ml` and `docs/a.md`, pushed to `origin` with upstream, and
/// jobs that look at each directory.
fn changes_repo() -> Project {
    let mut p = Project::git_with_ci(
        "
        src-job:
          script: echo
          rules:
            - changes:
                - src/**/*
        docs-job:
          script: echo
          rules:
            - changes:
                paths:
                  - docs/*.md
        ",
    );
    p.write("src/a.ml", "let x = 1\n");
    p.write("docs/a.md", "# doc\n");
    p.commit_all("sources and docs");
    p.push_to_new_origin("main");
    p
}

// https://docs.gitlab.com/ci/yaml/#ruleschanges: "Branch pipelines, rules:changes compares the
// changes with the previous commit on the branch" -- what the push brings: here, the commits not
// yet on the upstream branch.
#[test]
fn rules_changes_in_a_push_pipeline_with_an_upstream() {
    let p = changes_repo();
    assert_eq!(p.jobs(&[]), Vec::<String>::new(), "nothing pushed yet");
    p.write("src/a.ml", "let x = 2\n");
    p.commit_all("change a source");
    assert_eq!(p.jobs(&[]), set(&["src-job"]));
}

// https://docs.gitlab.com/ci/yaml/#ruleschanges: "For new branch pipelines or when there is no
// Git push event, rules: changes always evaluates to true". A branch with no upstream is new.
#[test]
fn rules_changes_in_a_push_pipeline_without_an_upstream_are_true() {
    let p = changes_repo();
    p.git(&["checkout", "-q", "-b", "feature"]);
    assert_eq!(p.jobs(&[]), set(&["docs-job", "src-job"]));
}

// https://docs.gitlab.com/ci/yaml/#ruleschanges: tag (and scheduled, manual) pipelines have no
// push event: `changes` is true.
#[test]
fn rules_changes_in_a_tag_pipeline_are_true() {
    let p = changes_repo();
    p.git(&["tag", "v1.0"]);
    assert_eq!(p.jobs(&["--tag", "v1.0"]), set(&["docs-job", "src-job"]));
    assert_eq!(
        p.jobs(&["--source", "schedule"]),
        set(&["docs-job", "src-job"])
    );
}

// https://docs.gitlab.com/ci/yaml/#ruleschanges: "Merge request pipelines, rules:changes compares
// the changes with the target MR branch" -- even when the source branch is pushed and has no
// new commit.
#[test]
fn rules_changes_in_a_merge_request_pipeline_compare_with_the_target_branch() {
    let p = changes_repo();
    p.git(&["checkout", "-q", "-b", "feature"]);
    p.write("src/b.ml", "let y = 1\n");
    p.commit_all("feature work");
    p.git(&["push", "-q", "-u", "origin", "feature"]);
    let mr = ["--source", "merge_request_event"];
    assert_eq!(p.jobs(&mr), set(&["src-job"]));
    assert_eq!(
        p.jobs(&[]),
        Vec::<String>::new(),
        "the push brings nothing new"
    );
    // A target branch that also lacks the docs change: still only the source change counts.
    p.git(&["branch", "old", "HEAD~2"]);
    assert_eq!(
        p.jobs(&["--source", "merge_request_event", "--target-branch", "old"]),
        set(&["docs-job", "src-job"])
    );
}

// https://docs.gitlab.com/ci/jobs/job_rules/#skip-jobs-if-the-branch-is-empty: `compare_to`
// compares with the named ref instead; an empty branch has no changes.
#[test]
fn rules_changes_compare_to() {
    let p = Project::git_with_ci(
        "
        job:
          script: echo
          rules:
            - if: $CI_COMMIT_BRANCH
              changes:
                compare_to: 'refs/heads/main'
                paths:
                  - '**/*'
        ",
    );
    p.git(&["checkout", "-q", "-b", "empty-branch"]);
    assert_eq!(p.jobs(&[]), Vec::<String>::new());
    p.write("new-file.txt", "x\n");
    p.commit_all("not empty any more");
    assert_eq!(p.jobs(&[]), set(&["job"]));
}

// https://docs.gitlab.com/ci/yaml/#ruleschanges: "The file paths can include CI/CD variables"
// (the documented `$DOCKERFILES_DIR/**/*`), and compare_to too
// (https://docs.gitlab.com/ci/yaml/#ruleschangescompare_to, GitLab 17.2).
#[test]
fn rules_changes_paths_and_compare_to_expand_variables() {
    let p = Project::git_with_ci(
        "
        variables:
          BASE: main
        docker build alternative:
          variables:
            DOCKERFILES_DIR: 'path/to/dockerfiles'
          script: echo
          rules:
            - changes:
                paths:
                  - $DOCKERFILES_DIR/**/*
                compare_to: $BASE
        ",
    );
    p.git(&["checkout", "-q", "-b", "topic"]);
    p.write("elsewhere/x", "x\n");
    p.commit_all("unrelated");
    assert_eq!(p.jobs(&[]), Vec::<String>::new());
    p.write("path/to/dockerfiles/app/Dockerfile", "FROM alpine\n");
    p.commit_all("docker");
    assert_eq!(p.jobs(&[]), set(&["docker build alternative"]));
}

// https://docs.gitlab.com/ci/jobs/job_rules/#complex-rules: `if` and `changes` in one rule must
// both hold.
#[test]
fn rules_if_and_changes_together() {
    let p = changes_repo();
    p.write(
        ".gitlab-ci.yml",
        r#"
        docker build:
          script: echo
          rules:
            - if: $VAR == "string value"
              changes:
                - src/**/*
              when: manual
              allow_failure: true
        "#,
    );
    p.write("src/a.ml", "let x = 3\n");
    p.commit_all("change");
    assert_eq!(p.jobs(&[]), Vec::<String>::new());
    let with = ["--variable", "VAR=string value"];
    assert_eq!(p.job("docker build", &with)["when"], "manual");
    assert_eq!(p.job("docker build", &with)["allow_failure"], true);
}

// ---------------------------------------------------------------------------------------------
// only / except
// ---------------------------------------------------------------------------------------------

// https://docs.gitlab.com/ci/yaml/#onlyrefs--exceptrefs: "If a job does not use only, except, or
// rules, then only is set to branches and tags by default" -- so such a job is not in merge
// request pipelines (https://docs.gitlab.com/ci/jobs/job_rules/#avoid-duplicate-pipelines:
// "Jobs with no rules default to except: merge_requests").
#[test]
fn jobs_without_rules_are_in_branch_and_tag_pipelines_only() {
    let p = Project::with_ci(
        r#"
        job-with-no-rules:
          script: echo
        job-with-rules:
          script: echo
          rules:
            - if: $CI_PIPELINE_SOURCE == "merge_request_event"
        "#,
    );
    assert_eq!(p.jobs(&[]), set(&["job-with-no-rules"]));
    assert_eq!(p.jobs(&["--tag", "v1"]), set(&["job-with-no-rules"]));
    assert_eq!(
        p.jobs(&["--source", "merge_request_event"]),
        set(&["job-with-rules"])
    );
}

// https://docs.gitlab.com/ci/yaml/#onlyrefs--exceptrefs: the documented job1/job2 example: branch
// names, regular expressions, `merge_requests`, `schedules`.
#[test]
fn only_and_except_refs() {
    let p = Project::with_ci(
        "
        job1:
          script: echo
          only:
            - main
            - /^issue-.*$/
            - merge_requests
        job2:
          script: echo
          except:
            - main
            - /^stable-branch.*$/
            - schedules
        tags-only:
          script: echo
          only:
            refs: [tags]
        ",
    );
    assert_eq!(p.jobs(&["--branch", "main"]), set(&["job1"]));
    assert_eq!(p.jobs(&["--branch", "issue-42"]), set(&["job1", "job2"]));
    assert_eq!(
        p.jobs(&["--branch", "stable-branch-1"]),
        Vec::<String>::new()
    );
    assert_eq!(p.jobs(&["--branch", "other"]), set(&["job2"]));
    assert_eq!(
        p.jobs(&["--branch", "other", "--source", "schedule"]),
        Vec::<String>::new()
    );
    assert_eq!(
        p.jobs(&["--branch", "other", "--source", "merge_request_event"]),
        set(&["job1"])
    );
    assert_eq!(p.jobs(&["--tag", "v1"]), set(&["job2", "tags-only"]));
}

// https://docs.gitlab.com/ci/yaml/#onlyrefs--exceptrefs: "Scheduled pipelines run on specific
// branches, so jobs configured with only: branches run on scheduled pipelines too."
#[test]
fn only_branches_includes_scheduled_pipelines() {
    let p = Project::with_ci("job:\n  script: echo\n  only: [branches]\n");
    assert_eq!(p.jobs(&["--source", "schedule"]), set(&["job"]));
    assert_eq!(p.jobs(&["--tag", "v1"]), Vec::<String>::new());
}

// https://docs.gitlab.com/ci/yaml/#onlyvariables--exceptvariables: the documented example; any
// expression may match.
#[test]
fn only_and_except_variables() {
    let p = Project::with_ci(
        r#"
        deploy:
          script: cap staging deploy
          only:
            variables:
              - $RELEASE == "staging"
              - $STAGING
        not-on-dry-run:
          script: echo
          except:
            variables:
              - $DRY_RUN
        "#,
    );
    assert_eq!(p.jobs(&[]), set(&["not-on-dry-run"]));
    assert_eq!(
        p.jobs(&["--variable", "RELEASE=staging", "--variable", "DRY_RUN=1"]),
        set(&["deploy"])
    );
    assert_eq!(
        p.jobs(&["--variable", "STAGING=yes"]),
        set(&["deploy", "not-on-dry-run"])
    );
}

// https://docs.gitlab.com/ci/yaml/#onlychanges--exceptchanges: with a branch that has a base to
// compare with, `only:changes` includes the job when a listed file changed and `except:changes`
// excludes it.
#[test]
fn only_and_except_changes() {
    let p = changes_repo();
    p.write(
        ".gitlab-ci.yml",
        "
        docker build:
          script: echo
          only:
            refs:
              - branches
            changes:
              - src/**/*
        skip-on-docs:
          script: echo
          except:
            changes:
              - docs/*
        ",
    );
    p.commit_all("only/except");
    p.git(&["push", "-q"]);
    assert_eq!(p.jobs(&[]), set(&["skip-on-docs"]));
    p.write("src/a.ml", "let x = 9\n");
    p.write("docs/a.md", "# changed\n");
    p.commit_all("both");
    assert_eq!(p.jobs(&[]), set(&["docker build"]));
}

// ---------------------------------------------------------------------------------------------
// parallel, needs, dependencies
// ---------------------------------------------------------------------------------------------

// https://docs.gitlab.com/ci/yaml/#parallel: "named sequentially from job_name 1/N to job_name
// N/N", each with CI_NODE_INDEX and CI_NODE_TOTAL.
#[test]
fn parallel_n_names_and_node_variables() {
    let p = Project::with_ci("test:\n  script: rspec\n  parallel: 3\n");
    assert_eq!(p.jobs(&[]), set(&["test 1/3", "test 2/3", "test 3/3"]));
    let v = p.vars("test 2/3", &[]);
    assert_eq!(v["CI_NODE_INDEX"], "2");
    assert_eq!(v["CI_NODE_TOTAL"], "3");
    assert_eq!(v["CI_JOB_NAME"], "test 2/3");
}

// https://docs.gitlab.com/ci/yaml/#parallelmatrix: the documented `deploystacks` example: ten
// jobs named `deploystacks: [aws, monitoring]`..., each with its values as variables.
#[test]
fn parallel_matrix_names_and_variables() {
    let p = Project::with_ci(
        "
        deploystacks:
          stage: deploy
          script:
            - bin/deploy
          parallel:
            matrix:
              - PROVIDER: aws
                STACK:
                  - monitoring
                  - app1
                  - app2
              - PROVIDER: ovh
                STACK: [monitoring, backup, app]
              - PROVIDER: [gcp, vultr]
                STACK: [data, processing]
        ",
    );
    assert_eq!(
        p.jobs(&[]),
        set(&[
            "deploystacks: [aws, monitoring]",
            "deploystacks: [aws, app1]",
            "deploystacks: [aws, app2]",
            "deploystacks: [ovh, monitoring]",
            "deploystacks: [ovh, backup]",
            "deploystacks: [ovh, app]",
            "deploystacks: [gcp, data]",
            "deploystacks: [gcp, processing]",
            "deploystacks: [vultr, data]",
            "deploystacks: [vultr, processing]",
        ])
    );
    let v = p.vars("deploystacks: [vultr, data]", &[]);
    assert_eq!(v["PROVIDER"], "vultr");
    assert_eq!(v["STACK"], "data");
}

// https://docs.gitlab.com/ci/yaml/#needs: "If needs refers to a job that uses the parallel
// keyword, it depends on all jobs created in parallel, not just one job."
#[test]
fn needs_on_a_parallel_job_waits_for_every_instance() {
    let p = Project::with_ci(
        "
        build:
          stage: build
          script: make
          parallel: 2
        test:
          stage: test
          needs: [build]
          script: make test
        ",
    );
    let edges = p.edges(&[]);
    assert_eq!(
        edges,
        BTreeSet::from([edge("build 1/2", "test"), edge("build 2/2", "test")])
    );
}

// https://docs.gitlab.com/ci/yaml/#needsparallelmatrix: the documented linux:build example; the
// values must be given in the order of the needed job's matrix ("reversing the order [...] would
// be invalid").
#[test]
fn needs_parallel_matrix_picks_instances() {
    let yaml = |needs_matrix: &str| {
        format!(
            "
            linux:build:
              stage: build
              script: echo
              parallel:
                matrix:
                  - PROVIDER: aws
                    STACK:
                      - monitoring
                      - app1
                      - app2
            linux:rspec:
              stage: test
              needs:
                - job: linux:build
                  parallel:
                    matrix:
                      - {needs_matrix}
              script: echo
            "
        )
    };
    let p = Project::with_ci(&yaml("{PROVIDER: aws, STACK: app1}"));
    assert_eq!(
        p.edges(&[]),
        BTreeSet::from([edge("linux:build: [aws, app1]", "linux:rspec")])
    );
    let p = Project::with_ci(&yaml("{STACK: app1, PROVIDER: aws}"));
    p.refuses(
        &["validate"],
        "error: planning the push pipeline: .gitlab-ci.yml:14:10: job `linux:rspec`, \
        key `needs`: needs `linux:build: [app1, aws]`, which is not a job of this \
        pipeline (`needs:parallel:matrix` names an instance by its values, in the \
        order of `linux:build`'s matrix)\n",
    );
}

// https://docs.gitlab.com/ci/yaml/#needsoptional: the documented example: an optional need that
// is absent is ignored; a job whose only (optional) need is absent starts at once.
#[test]
fn needs_optional() {
    let p = Project::with_ci(
        "
        build-job:
          stage: build
          script: echo
        test-job1:
          stage: test
          script: echo
        test-job2:
          stage: test
          script: echo
          rules:
            - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
        deploy-job:
          stage: deploy
          script: echo
          needs:
            - job: test-job2
              optional: true
            - job: test-job1
        review-job:
          stage: deploy
          script: echo
          needs:
            - job: test-job2
              optional: true
        ",
    );
    let main = p.edges(&["--branch", "main"]);
    assert!(main.contains(&edge("test-job2", "deploy-job")));
    assert!(main.contains(&edge("test-job1", "deploy-job")));
    assert!(main.contains(&edge("test-job2", "review-job")));
    let other = p.edges(&["--branch", "other"]);
    assert!(other.contains(&edge("test-job1", "deploy-job")));
    assert!(!other.iter().any(|(_, b)| b == "review-job"), "{other:?}");
}

// https://docs.gitlab.com/ci/yaml/#needsoptional: "If a needed job has optional: false, but it was
// not added to the pipeline, the pipeline fails to start".
#[test]
fn needs_on_an_excluded_job_is_an_error() {
    let p = Project::with_ci(
        "
        build:
          stage: build
          script: echo
          rules:
            - if: $BUILD
        test:
          needs: [build]
          script: echo
        ",
    );
    assert_eq!(p.jobs(&["--variable", "BUILD=1"]), set(&["build", "test"]));
    p.refuses(
        &["list"],
        "error: planning the push pipeline: .gitlab-ci.yml:7:11: job `test`, key \
        `needs`: needs `build`, which is not in this pipeline (its rules exclude it); \
        mark the need `optional: true` or fix the rules\n",
    );
}

// https://docs.gitlab.com/ci/yaml/#needs: needs name jobs of the pipeline; a job that does not
// exist is an error.
#[test]
fn needs_on_an_unknown_job_is_an_error() {
    let p = Project::with_ci("test:\n  needs: [nope]\n  script: echo\n");
    p.refuses(
        &["validate"],
        "error: planning the push pipeline: .gitlab-ci.yml:2:11: job `test`, key \
        `needs`: needs `nope`, which is not a job of this pipeline\n",
    );
}

// https://docs.gitlab.com/ci/yaml/needs/: needs form a directed acyclic graph; a cycle cannot run.
#[test]
fn needs_cycle_is_an_error() {
    let p = Project::with_ci(
        "
        a:
          needs: [b]
          script: echo
        b:
          needs: [a]
          script: echo
        ",
    );
    p.refuses(
        &["validate"],
        "error: planning the push pipeline: .gitlab-ci.yml:2:8: job `a`, key `needs`: \
        `needs` cycle: a -> b -> a\n",
    );
}

// https://docs.gitlab.com/ci/yaml/#dependencies: the documented build osx / build linux example;
// a job in a later stage cannot be a dependency.
#[test]
fn dependencies() {
    let p = Project::with_ci(
        "
        build osx:
          stage: build
          script: make build:osx
        build linux:
          stage: build
          script: make build:linux
        test osx:
          stage: test
          script: make test:osx
          dependencies:
            - build osx
        deploy:
          stage: deploy
          script: make deploy
        ",
    );
    assert_eq!(p.jobs(&[]).len(), 4);
    let v = p.explain("test osx", &[]);
    assert_eq!(v["job"]["dependencies"], serde_json::json!(["build osx"]));
    let p = Project::with_ci(
        "
        test:
          stage: test
          script: echo
          dependencies: [deploy]
        deploy:
          stage: deploy
          script: echo
        ",
    );
    p.refuses(
        &["validate"],
        "error: planning the push pipeline: .gitlab-ci.yml:2:8: job `test`, key \
        `dependencies`: `dependencies` names `deploy`, which is in a later stage \
        (GitLab: only jobs of the current or prior stages)\n",
    );
}

// ---------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------

// GitLab's lint rejects keys a job cannot have ("jobs:job config contains unknown keys"), so
// typos do not pass silently (https://docs.gitlab.com/ci/yaml/#job-keywords lists the keys).
#[test]
fn unknown_keys_are_errors() {
    let p = Project::with_ci("job:\n  scirpt: echo\n  script: echo\n");
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:2:3: job `job`, key `job`: unknown key `scirpt`; \
        expected one of: after_script, allow_failure, artifacts, before_script, \
        cache, coverage, dast_configuration, dependencies, environment, except, \
        hooks, id_tokens, identity, image, inherit, interruptible, \
        manual_confirmation, needs, only, pages, parallel, publish, release, \
        resource_group, retry, rules, run, script, secrets, services, stage, \
        start_in, tags, timeout, trigger, type, variables, when\n",
    );
    let p =
        Project::with_ci("job:\n  script: echo\n  rules:\n    - if: $CI\n      whenn: manual\n");
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:5:7: job `job`, key `rules`: unknown key `whenn`; \
        expected one of: if, changes, exists, when, start_in, allow_failure, \
        variables, needs, interruptible, auto_cancel\n",
    );
}

// https://docs.gitlab.com/ci/yaml/#when: `never` "Can only be used in a rules section or
// workflow: rules" (GitLab's Entry::Job allows on_success, on_failure, always, manual, delayed).
#[test]
fn job_level_when_never_is_an_error() {
    let p = Project::with_ci("job:\n  script: echo\n  when: never\n");
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:3:9: job `job`, key `when`: unknown value `never`; \
        expected one of: on_success, on_failure, always, manual, delayed\n",
    );
}

// `validate` reports every problem it finds, not only the first.
#[test]
fn validate_prints_every_problem() {
    let p = Project::with_ci(
        "
        stages: [build, test]
        a:
          script: echo
          imgae: alpine
        b:
          stage: deploy
          script: echo
        c:
          script: echo
          when: sometimes
        d:
          extends: .missing
          script: echo
        ",
    );
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:4:3: job `a`, key `job`: unknown key `imgae`; expected \
        one of: after_script, allow_failure, artifacts, before_script, cache, \
        coverage, dast_configuration, dependencies, environment, except, hooks, \
        id_tokens, identity, image, inherit, interruptible, manual_confirmation, \
        needs, only, pages, parallel, publish, release, resource_group, retry, rules, \
        run, script, secrets, services, stage, start_in, tags, timeout, trigger, \
        type, variables, when\n.gitlab-ci.yml:6:10: job `b`, key `stage`: stage \
        `deploy` is not among the pipeline's stages: .pre, build, test, \
        .post\n.gitlab-ci.yml:10:9: job `c`, key `when`: unknown value `sometimes`; \
        expected one of: on_success, on_failure, always, manual, \
        delayed\n.gitlab-ci.yml:12:12: job `d`, key `extends`: unknown job or \
        template `.missing` in `extends`\n(4 problems)\n",
    );
}

// Malformed pipelines of every kind are bad input (exit code 2) with a message naming the file
// and line; never a panic.
#[test]
fn malformed_pipelines_fail_cleanly_with_file_and_line() {
    let cases: &[&str] = &[
        "job: [a, b]\n",
        "job: just a string\n",
        "job:\n  script: {a: b}\n",
        "job:\n  script: echo\n  stage: [a]\n",
        "job:\n  script: echo\n  image: [a]\n",
        "job:\n  script: echo\n  variables: [a]\n",
        "job:\n  script: echo\n  variables: {A: [1]}\n",
        "job:\n  script: echo\n  rules: {if: x}\n",
        "job:\n  script: echo\n  rules: [a]\n",
        "job:\n  script: echo\n  rules: [{if: [a]}]\n",
        "job:\n  script: echo\n  rules: [{when: sometimes}]\n",
        "job:\n  script: echo\n  rules: [{if: '$A ==='}]\n",
        "job:\n  script: echo\n  needs: [{artifacts: true}]\n",
        "job:\n  script: echo\n  when: 5\n",
        "job:\n  script: echo\n  allow_failure: maybe\n",
        "job:\n  script: echo\n  parallel: 0\n",
        "job:\n  script: echo\n  parallel: {matrix: a}\n",
        "job:\n  script: echo\n  retry: 5\n",
        "job:\n  script: echo\n  timeout: soon\n",
        "job:\n  script: echo\n  tags: {a: b}\n",
        "job:\n  script: echo\n  artifacts: [a]\n",
        "job:\n  script: echo\n  cache: [a]\n",
        "job:\n  script: echo\n  services: {a: b}\n",
        "job:\n  script: echo\n  extends: {a: b}\n",
        "job:\n  script: echo\n  inherit: [a]\n",
        "job:\n  script: echo\n  only: {refs: {a: b}}\n",
        "job:\n  script: echo\n  dependencies: {a: b}\n",
        "job:\n  script: echo\n  environment: [a]\n",
        "job:\n  script: echo\n  coverage: [a]\n",
        "stages: {a: b}\njob:\n  script: echo\n",
        "variables: [a]\njob:\n  script: echo\n",
        "workflow: [a]\njob:\n  script: echo\n",
        "workflow:\n  rules: {if: x}\njob:\n  script: echo\n",
        "default: [a]\njob:\n  script: echo\n",
        "include: {local: [a]}\njob:\n  script: echo\n",
        "job:\n  script: [echo\n",
        "job:\n  script: *nope\n",
        "job:\n  script: !reference .x\n",
        "- a\n- b\n",
        "job:\n  script: echo\n  rules:\n    - changes: {paths: [a], nope: b}\n",
    ];
    let mut failures = Vec::new();
    for (i, yaml) in cases.iter().enumerate() {
        let p = Project::with_ci(yaml);
        let out = p.cmd(&["validate"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let names_a_line = stderr
            .split(".gitlab-ci.yml:")
            .skip(1)
            .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
        if out.status.code() != Some(2) || !names_a_line || stderr.contains("panicked") {
            failures.push(format!(
                "case {i} {yaml:?}: exit {:?}\n{stderr}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// predefined variables
// ---------------------------------------------------------------------------------------------

// https://docs.gitlab.com/ci/variables/predefined_variables/: CI_COMMIT_BRANCH is "Available in
// branch pipelines [...] Not available in merge request pipelines or tag pipelines";
// CI_COMMIT_REF_NAME is the branch or tag; CI_PIPELINE_SOURCE the source.
#[test]
fn commit_branch_is_set_on_push_not_on_merge_requests() {
    let p = Project::git_with_ci("job:\n  script: echo\n  rules: [{when: always}]\n");
    p.git(&["checkout", "-q", "-b", "feature/Add-Thing_2"]);
    let push = p.vars("job", &[]);
    assert_eq!(push["CI_COMMIT_BRANCH"], "feature/Add-Thing_2");
    assert_eq!(push["CI_COMMIT_REF_NAME"], "feature/Add-Thing_2");
    assert_eq!(push["CI_PIPELINE_SOURCE"], "push");
    assert!(!push.contains_key("CI_COMMIT_TAG"));
    let mr = p.vars("job", &["--source", "merge_request_event"]);
    assert!(!mr.contains_key("CI_COMMIT_BRANCH"), "{mr:?}");
    assert_eq!(mr["CI_PIPELINE_SOURCE"], "merge_request_event");
    assert_eq!(
        mr["CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"],
        "feature/Add-Thing_2"
    );
}

// https://docs.gitlab.com/ci/variables/predefined_variables/: CI_COMMIT_TAG "Available only in
// pipelines for tags", and then there is no CI_COMMIT_BRANCH.
#[test]
fn commit_tag_in_tag_pipelines() {
    let p = Project::git_with_ci("job:\n  script: echo\n");
    p.git(&["tag", "v1.2.3"]);
    let v = p.vars("job", &["--tag", "v1.2.3"]);
    assert_eq!(v["CI_COMMIT_TAG"], "v1.2.3");
    assert_eq!(v["CI_COMMIT_REF_NAME"], "v1.2.3");
    assert!(!v.contains_key("CI_COMMIT_BRANCH"));
}

// https://docs.gitlab.com/ci/variables/predefined_variables/: CI_COMMIT_REF_SLUG is
// CI_COMMIT_REF_NAME "in lowercase, shortened to 63 bytes, and with everything except 0-9 and a-z
// replaced with -. No leading / trailing -."
#[test]
fn commit_ref_slug() {
    let p = Project::with_ci("job:\n  script: echo\n");
    let v = p.vars("job", &["--branch=-Feature/Add_Thing.2-"]);
    assert_eq!(v["CI_COMMIT_REF_SLUG"], "feature-add-thing-2");
    let long = "a".repeat(70);
    let v = p.vars("job", &["--branch", &long]);
    assert_eq!(v["CI_COMMIT_REF_SLUG"], "a".repeat(63));
}

// https://docs.gitlab.com/ci/variables/predefined_variables/#predefined-variables-for-merge-request-pipelines:
// CI_MERGE_REQUEST_TARGET_BRANCH_NAME is the target branch (by default here: the default branch).
#[test]
fn merge_request_target_branch_name() {
    let p = Project::git_with_ci("job:\n  script: echo\n  rules: [{if: $CI_MERGE_REQUEST_IID}]\n");
    p.git(&["checkout", "-q", "-b", "topic"]);
    let mr = ["--source", "merge_request_event"];
    assert_eq!(
        p.vars("job", &mr)["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"],
        "main"
    );
    let to_release = [
        "--source",
        "merge_request_event",
        "--target-branch",
        "release",
    ];
    assert_eq!(
        p.vars("job", &to_release)["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"],
        "release"
    );
    assert_eq!(
        p.jobs(&[]),
        Vec::<String>::new(),
        "no CI_MERGE_REQUEST_IID on push"
    );
}

// https://docs.gitlab.com/ci/variables/predefined_variables/: CI_PROJECT_NAMESPACE is "The
// project namespace (username or group name)", CI_PROJECT_PATH the namespace and name, taken here
// from the `origin` remote.
#[test]
fn project_namespace_from_the_origin_remote() {
    let p = Project::git_with_ci("job:\n  script: echo\n");
    p.git(&["remote", "add", "origin", "git@gitlab.com:tezos/tezos.git"]);
    let v = p.vars("job", &[]);
    assert_eq!(v["CI_PROJECT_NAMESPACE"], "tezos");
    assert_eq!(v["CI_PROJECT_NAME"], "tezos");
    assert_eq!(v["CI_PROJECT_PATH"], "tezos/tezos");
    assert_eq!(v["CI_PROJECT_DIR"], "/builds/tezos/tezos");
    let p = Project::git_with_ci("job:\n  script: echo\n");
    p.git(&[
        "remote",
        "add",
        "origin",
        "https://gitlab.com/nomadic-labs/sub/proj.git",
    ]);
    let v = p.vars("job", &[]);
    assert_eq!(v["CI_PROJECT_NAMESPACE"], "nomadic-labs/sub");
    assert_eq!(v["CI_PROJECT_ROOT_NAMESPACE"], "nomadic-labs");
}

// https://docs.gitlab.com/ci/variables/#cicd-variable-precedence: pipeline variables "can
// override other defined variables, including predefined variables" -- and rules see the result.
#[test]
fn command_line_variables_override_yaml_and_predefined_variables() {
    let p = Project::with_ci(
        r#"
        variables:
          GREETING: hello
        job:
          variables:
            GREETING: job-hello
          script: echo
          rules:
            - if: $CI_PROJECT_NAMESPACE == "tezos" && $GREETING == "cli"
        "#,
    );
    assert_eq!(p.jobs(&[]), Vec::<String>::new());
    let args = [
        "--variable",
        "CI_PROJECT_NAMESPACE=tezos",
        "--variable",
        "GREETING=cli",
    ];
    assert_eq!(p.jobs(&args), set(&["job"]));
    assert_eq!(p.vars("job", &args)["GREETING"], "cli");
}

// ---------------------------------------------------------------------------------------------
// More rules of GitLab's configuration checker (Gitlab::Ci::Config::Entry::Processable and Job)
// ---------------------------------------------------------------------------------------------

// With `workflow:rules`, a job without `rules`, `only` or `except` has no default
// `only: [branches, tags]`: GitLab's Entry::Processable#compose! removes the only/except defaults
// "if workflow:rules: or rules: are used" (gitlab-org/gitlab!21742). That is how the documented
// workflow "Switch between branch pipelines and merge request pipelines" and "Skip pipelines for
// draft merge requests" run their rule-less jobs in merge request pipelines
// (https://docs.gitlab.com/ci/yaml/workflow/).
#[test]
fn workflow_rules_remove_the_default_only_of_jobs_without_rules() {
    let p = Project::with_ci(
        r#"
        workflow:
          rules:
            - if: $CI_PIPELINE_SOURCE == "merge_request_event" && $CI_MERGE_REQUEST_TITLE =~ /^(\[Draft\]|\(Draft\)|Draft:)/
              when: never
            - when: always
        build-job:
          stage: build
          script: echo "Testing"
        branches-only:
          script: echo
          only: [branches]
        "#,
    );
    let mr = ["--source", "merge_request_event"];
    assert_eq!(p.jobs(&mr), set(&["build-job"]));
    assert_eq!(p.jobs(&[]), set(&["branches-only", "build-job"]));
}

// GitLab rejects `only`, `except` and `start_in` next to `rules` ("config key may not be used
// with `rules`", Entry::Processable); https://docs.gitlab.com/ci/yaml/#rules documents
// `rules:start_in` instead.
#[test]
fn only_except_and_start_in_may_not_be_used_with_rules() {
    for (key, name) in [
        ("only: [main]", "only"),
        ("except: [main]", "except"),
        ("start_in: 1 minute", "start_in"),
    ] {
        let p = Project::with_ci(&format!(
            "job:\n  script: echo\n  rules:\n    - when: delayed\n      start_in: 1 minute\n  {key}\n"
        ));
        p.refuses(
            &["validate"],
            &format!(
                "error: .gitlab-ci.yml:6:3: job `job`, key `rules`: `{name}` may not be used with \
                 `rules` (use `rules:if`, `rules:when`, `rules:start_in`)\n"
            ),
        );
    }
}

// https://docs.gitlab.com/ci/yaml/#when: `delayed` goes with `start_in`, and GitLab checks it when
// the configuration is read (Entry::Rules::Rule: start_in is required with `when: delayed` and
// disallowed without it; Entry::Job the same for a job's own `start_in`), up to one week.
#[test]
fn start_in_goes_with_when_delayed() {
    let cases = [
        (
            "job:\n  script: echo\n  rules:\n    - if: $NEVER_SET\n      when: delayed\n",
            "4:9: job `job`, key `rules:start_in`: `when: delayed` needs a `start_in`",
        ),
        (
            "job:\n  script: echo\n  rules:\n    - if: $NEVER_SET\n      start_in: 1 minute\n",
            "4:9: job `job`, key `rules:start_in`: `start_in` goes with `when: delayed` only",
        ),
        (
            "job:\n  script: echo\n  start_in: 1 minute\n",
            "2:9: job `job`, key `start_in`: `start_in` goes with `when: delayed` only",
        ),
        (
            "job:\n  script: echo\n  when: delayed\n  start_in: 2 weeks\n",
            "2:9: job `job`, key `start_in`: `start_in` is at most one week",
        ),
    ];
    for (yaml, error) in cases {
        Project::with_ci(yaml).refuses(&["validate"], &format!("error: .gitlab-ci.yml:{error}\n"));
    }
    let ok = Project::with_ci("job:\n  script: echo\n  when: delayed\n  start_in: 1 week\n");
    assert_eq!(ok.job("job", &[])["when"], "delayed");
}

// https://docs.gitlab.com/ci/yaml/#dependencies: "You should not combine dependencies with needs";
// GitLab's Entry::Job rejects a job whose `dependencies` are not all in its `needs` ("the X should
// be part of needs").
#[test]
fn dependencies_must_be_part_of_needs() {
    let p = Project::with_ci(
        "
        build-a:
          stage: build
          script: echo
        build-b:
          stage: build
          script: echo
        test:
          needs: [build-a]
          dependencies: [build-a, build-b]
          script: echo
        ",
    );
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:9:3: job `test`, key `dependencies`: `build-b` should \
        be part of `needs` (with `needs`, artifacts come only from the jobs it \
        names)\n",
    );
}

// https://docs.gitlab.com/ci/yaml/#needs: "You can refer to jobs in the same stage"; a job in a
// later stage cannot be needed (GitLab: "is not defined in current or prior stages").
#[test]
fn needs_on_a_later_stage_is_an_error() {
    let p = Project::with_ci(
        "
        build:
          stage: build
          needs: [deploy]
          script: echo
        deploy:
          stage: deploy
          script: echo
        ",
    );
    p.refuses(
        &["validate"],
        "error: planning the push pipeline: .gitlab-ci.yml:2:8: job `build`, key \
        `needs`: needs `deploy`, which is in a later stage (deploy)\n",
    );
    let same = Project::with_ci(
        "
        a:
          script: echo
        b:
          needs: [a]
          script: echo
        ",
    );
    assert_eq!(same.edges(&[]), BTreeSet::from([edge("a", "b")]));
}

// https://docs.gitlab.com/ci/jobs/job_rules/#compare-a-variable-to-a-regular-expression: "The
// `@` symbol denotes the beginning of a ref's repository path", matched literally; in
// `only`/`except` a `ref@namespace/project` entry holds only in that project.
#[test]
fn only_refs_with_a_project_path() {
    let p = Project::git_with_ci(
        "
        upstream-only:
          script: echo
          only:
            - main@tezos/tezos
        regex-upstream-only:
          script: echo
          only:
            - /^ma/@tezos/tezos
        ",
    );
    p.git(&["remote", "add", "origin", "git@gitlab.com:tezos/tezos.git"]);
    assert_eq!(p.jobs(&[]), set(&["regex-upstream-only", "upstream-only"]));
    p.git(&[
        "remote",
        "set-url",
        "origin",
        "git@gitlab.com:someone/tezos.git",
    ]);
    assert_eq!(p.jobs(&[]), Vec::<String>::new());
}

// https://docs.gitlab.com/ci/yaml/#includelocal: "You can use certain CI/CD variables"
// (https://docs.gitlab.com/ci/yaml/includes/#use-variables-with-include: predefined project
// variables, CI_PIPELINE_SOURCE, CI_COMMIT_REF_NAME, and pipeline variables).
#[test]
fn include_paths_expand_variables() {
    let p = Project::with_ci(
        "
        include:
          - local: 'ci/$CI_PIPELINE_SOURCE.yml'
          - 'ci/${EXTRA}.yml'
        ",
    );
    p.write("ci/push.yml", "on-push:\n  script: echo\n");
    p.write("ci/schedule.yml", "on-schedule:\n  script: echo\n");
    p.write("ci/more.yml", "more:\n  script: echo\n");
    assert_eq!(
        p.jobs(&["--variable", "EXTRA=more"]),
        set(&["more", "on-push"])
    );
    assert_eq!(
        p.jobs(&["--source", "schedule", "--variable", "EXTRA=more"]),
        set(&["more", "on-schedule"])
    );
}

// https://docs.gitlab.com/ci/variables/predefined_variables/: CI_COMMIT_BEFORE_SHA is "The
// previous latest commit present on a branch or tag", all zeros for merge request pipelines and
// for the first commit of a branch.
#[test]
fn commit_before_sha_is_the_upstream_commit_of_a_push() {
    let mut p = Project::git_with_ci("job:\n  script: echo\n  rules: [{when: always}]\n");
    let zeros = "0".repeat(40);
    assert_eq!(p.vars("job", &[])["CI_COMMIT_BEFORE_SHA"], zeros);
    p.push_to_new_origin("main");
    let pushed = p.git(&["rev-parse", "HEAD"]).trim().to_string();
    p.write("x.txt", "x\n");
    p.commit_all("next");
    assert_eq!(p.vars("job", &[])["CI_COMMIT_BEFORE_SHA"], pushed);
    let mr = p.vars("job", &["--source", "merge_request_event"]);
    assert_eq!(mr["CI_COMMIT_BEFORE_SHA"], zeros);
}

// https://docs.gitlab.com/ci/yaml/#onlychanges--exceptchanges: "If you use except: changes with
// other refs [than branches, external_pull_requests, merge_requests], jobs ignore the changes and
// never run", and `only: changes` always run.
#[test]
fn only_and_except_changes_in_tag_pipelines() {
    let p = changes_repo();
    p.write(
        ".gitlab-ci.yml",
        "
        only-changes:
          script: echo
          only:
            changes: [src/**/*]
        except-changes:
          script: echo
          except:
            changes: [src/**/*]
        ",
    );
    p.commit_all("only/except changes");
    p.git(&["tag", "v2"]);
    assert_eq!(p.jobs(&["--tag", "v2"]), set(&["only-changes"]));
}

// https://docs.gitlab.com/ci/yaml/#rules: "If a rule is reached that is only when: on_success,
// when: delayed, or when: always" the job is added; a rule with only `variables` or
// `allow_failure` also always matches, but an empty rule is not a rule (Entry::Rules::Rule:
// "config can't be blank").
#[test]
fn rules_without_conditions_always_match_and_empty_rules_are_errors() {
    let p = Project::with_ci(
        "
        job:
          script: echo
          rules:
            - allow_failure: true
        ",
    );
    assert_eq!(p.job("job", &[])["allow_failure"], true);
    let p = Project::with_ci("job:\n  script: echo\n  rules:\n    - {}\n");
    p.refuses(
        &["validate"],
        "error: .gitlab-ci.yml:4:7: job `job`, key `rules`: a rule is empty; give it \
        `if`, `changes`, `exists` or `when`\n",
    );
}

// https://docs.gitlab.com/ci/yaml/includes/#use-nested-includes-with-duplicate-include-entries:
// "You can include the same configuration file multiple times"; the last inclusion wins. Only a
// file that includes itself again is a cycle.
#[test]
fn the_same_file_may_be_included_twice() {
    let p = Project::with_ci("include: [unit-tests.yml, smoke-tests.yml]\n");
    p.write(
        "defaults.yml",
        "default:\n  before_script: [echo default]\n",
    );
    p.write(
        "unit-tests.yml",
        "include: [defaults.yml]\ndefault:\n  before_script: [echo unit]\nunit-test-job:\n  script: unit\n",
    );
    p.write(
        "smoke-tests.yml",
        "include: [defaults.yml]\ndefault:\n  before_script: [echo smoke]\nsmoke-test-job:\n  script: smoke\n",
    );
    let v = p.explain("unit-test-job", &[]);
    assert_eq!(v["job"]["before_script"], serde_json::json!(["echo smoke"]));
}

// https://docs.gitlab.com/ci/yaml/#default: "Each default keyword is copied to every job that
// doesn't already have it defined" -- and a keyword a job gets through `extends` is defined.
#[test]
fn defaults_do_not_override_what_extends_brings() {
    let p = Project::with_ci(
        "
        default:
          image: default-image
          tags: [default-runner]
        .template:
          image: template-image
        job:
          extends: .template
          script: echo
        ",
    );
    let v = p.explain("job", &[]);
    assert_eq!(v["job"]["image"]["name"], "template-image");
    assert_eq!(v["job"]["tags"], serde_json::json!(["default-runner"]));
}
