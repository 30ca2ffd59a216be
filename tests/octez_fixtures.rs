//! The three real Octez pipelines of `../shared/fixtures/octez`, read at test time (not copied
//! into the repository): each loads, and `list` gives the job set worked out by reading the YAML,
//! for push and merge request pipelines.
//!
//! Every scenario runs on a copy of the fixture made a git repository the way a developer's
//! checkout is: `master` pushed to an `origin` remote (a local bare repository, whose HEAD is
//! `master`), a branch `feature` pushed too, then one more local commit that changes
//! `src/lib_base/base.ml`. The namespace is given as GitLab's would be, with
//! `--variable CI_PROJECT_NAMESPACE=tezos` (the `origin` here is a local path).
//!
//! The peer, gitlab-ci-local 4.70.1, was run on the same checkouts (`--list-json`, with
//! `--variable CI_PIPELINE_SOURCE=...` and the same namespace); what it said is recorded next to
//! each scenario. Where it disagrees, the comment says which side GitLab's documentation supports.

mod common;

use std::path::{Path, PathBuf};

use common::{Project, assert_contains};
use serde_json::Value;

const TEZOS: [&str; 2] = ["--variable", "CI_PROJECT_NAMESPACE=tezos"];

/// `../shared/fixtures/octez` beside the repository, or `$TCL_OCTEZ_FIXTURES`.
fn fixture_dir(name: &str) -> PathBuf {
    match std::env::var_os("TCL_OCTEZ_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/octez"),
    }
    .join(name)
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("fixture readable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            // Written rather than copied: the fixture's files are read-only.
            std::fs::write(&target, std::fs::read(entry.path()).expect("read")).expect("write");
        }
    }
}

/// The fixture in a git repository: `master` and `feature` pushed to `origin`, then a local
/// commit on `feature` changing `src/lib_base/base.ml`.
///
/// The fixtures sit beside the repository, not in it: on a clone of the repository alone they
/// are missing, and the test is not run (it says so; `scripts/test.sh` lists what was not run).
/// With `CI=true` a missing fixture fails the test, so CI never passes by skipping.
fn octez(name: &str) -> Option<Project> {
    let dir = fixture_dir(name);
    if !dir.join(".gitlab-ci.yml").exists() {
        let why = format!("the Octez fixture {} is missing", dir.display());
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but {why}");
        }
        eprintln!("SKIPPED: {why}");
        return None;
    }
    let mut p = Project::new();
    copy_tree(&dir, p.path());
    p.write("src/lib_base/base.ml", "let x = 1\n");
    p.git(&["init", "-q", "-b", "master"]);
    p.commit_all("the Octez pipeline");
    p.push_to_new_origin("master");
    p.git(&["remote", "set-head", "origin", "master"]);
    p.git(&["checkout", "-q", "-b", "feature"]);
    p.git(&["push", "-q", "-u", "origin", "feature"]);
    p.write("src/lib_base/base.ml", "let x = 2\n");
    p.commit_all("change a source file");
    Some(p)
}

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = TEZOS.to_vec();
    v.extend_from_slice(extra);
    v
}

/// `(included, excluded)` entries of `list --json --all`.
/// The jobs, included and excluded; a dynamic child pipeline's row (`TRIGGER » *`, known only at
/// run time) is not a job.
fn split(p: &Project, extra: &[&str]) -> (Vec<Value>, Vec<Value>) {
    p.list_all(&args(extra))
        .into_iter()
        .filter(|j| j.get("generated_by").is_none())
        .partition(|j| j["included"] == true)
}

fn names(jobs: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = jobs
        .iter()
        .map(|j| j["name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn count_when(jobs: &[Value], when: &str) -> usize {
    jobs.iter().filter(|j| j["when"] == when).count()
}

fn find<'a>(jobs: &'a [Value], name: &str) -> &'a Value {
    jobs.iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job `{name}` in {:?}", names(jobs)))
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// 2021-11-15, commit 47a6f478: 15 files, 53 job definitions (79 jobs once `integration:pytest`'s
// `parallel: 25` and `test_coverage`'s 3-value matrix are expanded), heavy `extends`.
// ---------------------------------------------------------------------------------------------

const Y2021: &str = "2021-11-15-47a6f478";

/// What no feature-branch pipeline of 2021 has, read from `.gitlab/ci/templates.yml`:
/// `.rules_template__trigger_opam_pipeline` ends in `when: never` unless the branch is master, a
/// schedule, an `opam` branch or label, or a merge request changing dune/opam files;
/// `.rules_template__master_and_releases`, `__master` and `__release_tag` only match master,
/// `-release` branches and tags.
const EXCLUDED_2021_FEATURE: [&str; 11] = [
    "opam:create_pipeline",
    "opam:trigger",
    "build_release:docker_amd64",
    "build_release:docker_arm64",
    "build_release:static-x86_64-linux-binaries",
    "build_release:static-arm64-linux-binaries",
    "release-static-x86_64-binaries",
    "release-static-arm64-binaries",
    "release-on-gitlab",
    "merge-manifest",
    "publish:documentation",
];

#[test]
fn octez_2021_loads() {
    let Some(p) = octez(Y2021) else {
        return;
    };
    let out = p.cmd(&args(&["validate"])).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        &["valid (79 jobs, 68 in this push pipeline)"],
    );
}

// Push on `feature` (tezos namespace): the workflow's `$CI_PIPELINE_SOURCE == "push"` rule makes
// the pipeline. 68 of the 79 jobs: the 11 of EXCLUDED_2021_FEATURE are out. Read from the YAML:
// - `.rules_template__development` (sanity_ci, build_x86_64, every `.test_template` job, tezt,
//   documentation:build) ends in `when: on_success`;
// - `build_arm64` (`.rules_template__development_arm64`), `test_coverage` (3 matrix jobs) and
//   `publish:docker_manual` end in `when: manual, allow_failure: true`, and
//   `documentation:build_all` and `:linkcheck` (`__development_manual`) in `when: manual`;
// - the 7 install/compile doc jobs: `changes: docs/introduction/*.sh` is false (only
//   src/lib_base/base.ml is new since the upstream), so the final `when: manual` applies;
// - `docker-hadolint`, `misc_checks` and `check_precommit_hook` have no rules: with
//   `workflow:rules`, GitLab gives them no default `only` and they run.
// Peer: the same 68 jobs, with the same `when`.
#[test]
fn octez_2021_push_on_a_feature_branch() {
    let Some(p) = octez(Y2021) else {
        return;
    };
    let (inc, exc) = split(&p, &[]);
    assert_eq!(inc.len(), 68);
    assert_eq!(names(&exc), sorted(&EXCLUDED_2021_FEATURE));
    for e in &exc {
        assert_contains(e["excluded_because"].as_str().unwrap(), &["when: never"]);
    }
    // 1 + 3 + 1 + 2 above, and the 7 doc jobs.
    assert_eq!(count_when(&inc, "manual"), 14);
    assert_eq!(find(&inc, "build_arm64")["when"], "manual");
    assert_eq!(find(&inc, "build_arm64")["allow_failure"], true);
    assert_eq!(find(&inc, "install_bin_focal")["when"], "manual");
    assert_eq!(
        find(&inc, "test_coverage: [test-tezt-coverage]")["when"],
        "manual"
    );
    assert_eq!(find(&inc, "docker-hadolint")["when"], "on_success");
    assert_eq!(find(&inc, "coq:lint")["allow_failure"], true);
    for i in 1..=25 {
        find(&inc, &format!("integration:pytest {i}/25"));
    }
    assert_eq!(
        find(&inc, "integration:pytest 7/25")["needs"],
        serde_json::json!(["build_x86_64"])
    );
}

// A branch not pushed yet is a new branch for GitLab: "For new branch pipelines [...]
// rules: changes always evaluates to true" (https://docs.gitlab.com/ci/yaml/#ruleschanges), so the
// 7 doc jobs take their `changes: docs/introduction/*.sh` rule: `when: always`.
// Peer: `manual` for these 7 -- it diffs the working tree with origin/master whatever the pipeline
// is. GitLab's documentation supports `always`.
#[test]
fn octez_2021_push_on_a_new_branch() {
    let Some(p) = octez(Y2021) else {
        return;
    };
    p.git(&["checkout", "-q", "-b", "new-branch"]);
    let (inc, _) = split(&p, &[]);
    assert_eq!(inc.len(), 68);
    for job in [
        "install_bin_bionic",
        "install_bin_focal",
        "install_bin_fedora_33",
        "install_bin_fedora_34",
        "install_opam_bionic",
        "install_opam_focal",
        "compile_sources_buster",
    ] {
        assert_eq!(find(&inc, job)["when"], "always", "{job}");
    }
}

// Merge request from `feature` to `master`: the workflow's `merge_request_event` rule. The same
// 68 jobs: the development rules see no CI_COMMIT_BRANCH and a source branch that is not
// `-release`; the opam rule's `$CI_MERGE_REQUEST_ID` + `changes: [**/dune, ...]` does not match a
// change to base.ml.
// Peer: the same 68 jobs.
#[test]
fn octez_2021_merge_request() {
    let Some(p) = octez(Y2021) else {
        return;
    };
    let (inc, exc) = split(&p, &["--source", "merge_request_event"]);
    assert_eq!(inc.len(), 68);
    assert_eq!(names(&exc), sorted(&EXCLUDED_2021_FEATURE));
    assert_eq!(find(&inc, "publish:docker_manual")["when"], "manual");
}

// A merge request that changes a `dune` file: the opam rule `if: $CI_MERGE_REQUEST_ID` with
// `changes: ["**/dune", ...]` matches, `when: always`: opam:create_pipeline and the trigger job
// join (70 jobs).
// Peer: 68 -- it sets no CI_MERGE_REQUEST_* variable. GitLab sets CI_MERGE_REQUEST_ID in merge
// request pipelines (https://docs.gitlab.com/ci/variables/predefined_variables/#predefined-variables-for-merge-request-pipelines),
// so GitLab's documentation supports 70.
#[test]
fn octez_2021_merge_request_changing_a_dune_file() {
    let Some(p) = octez(Y2021) else {
        return;
    };
    p.write("src/lib_base/dune", "(library (name base))\n");
    p.commit_all("a dune file");
    let (inc, _) = split(&p, &["--source", "merge_request_event"]);
    assert_eq!(inc.len(), 70);
    assert_eq!(find(&inc, "opam:create_pipeline")["when"], "always");
    assert_eq!(find(&inc, "opam:trigger")["when"], "always");
}

// When master moved on after the branch was made (here: a docs script changed on master), a
// merge request still has only its own changes: GitLab computes merge request changes from the
// merge base ("git diff target...source", gitlab-org/gitlab#27008, #413597), and "Merge request
// pipelines, rules:changes compares the changes with the target MR branch"
// (https://docs.gitlab.com/ci/yaml/#ruleschanges). So the doc jobs stay manual.
// Peer: `always` for the 7 doc jobs, because master's new docs change shows in its
// `git diff origin/master`. GitLab supports `manual`.
#[test]
fn octez_2021_merge_request_after_master_moved() {
    let Some(p) = octez(Y2021) else {
        return;
    };
    p.git(&["checkout", "-q", "master"]);
    p.write("docs/introduction/install-bin-ubuntu.sh", "echo install\n");
    p.commit_all("docs on master");
    p.git(&["push", "-q", "origin", "master"]);
    p.git(&["checkout", "-q", "feature"]);
    let (inc, _) = split(&p, &["--source", "merge_request_event"]);
    assert_eq!(find(&inc, "install_bin_bionic")["when"], "manual");
}

// Push on master in the tezos namespace: the development rules say `never` for
// `$CI_COMMIT_BRANCH == $TEZOS_DEFAULT_BRANCH && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE`,
// the master-and-releases ones `on_success`, the opam trigger `always`. 16 jobs.
// Peer (with `--variable CI_COMMIT_BRANCH=master`): not compared; the branch is what differs.
#[test]
fn octez_2021_push_on_master() {
    let Some(p) = octez(Y2021) else {
        return;
    };
    let (inc, _) = split(&p, &["--branch", "master"]);
    // The opam child pipeline is generated by `opam:create_pipeline`: listed as such.
    let all = p.list_all(&args(&["--branch", "master"]));
    let child = all
        .iter()
        .find(|j| j["name"] == "opam:trigger » *")
        .expect("the dynamic child's row");
    assert_eq!(
        child["generated_by"],
        serde_json::json!(["opam:create_pipeline"])
    );
    assert_eq!(
        names(&inc),
        sorted(&[
            "build_arm64",
            "build_release:docker_amd64",
            "build_release:docker_arm64",
            "build_release:static-arm64-linux-binaries",
            "build_release:static-x86_64-linux-binaries",
            "check_precommit_hook",
            "docker-hadolint",
            "merge-manifest",
            "misc_checks",
            "opam:create_pipeline",
            "opam:trigger",
            "publish:docker_manual",
            "publish:documentation",
            "test_coverage: [test-python-alpha]",
            "test_coverage: [test-tezt-coverage]",
            "test_coverage: [test-unit]",
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// 2022-06-08, commit 187b5382: 18 files; 279 jobs for a feature-branch push, 280 when one of the
// two conditional includes of `unified_coverage` applies; 178 generated opam jobs.
// ---------------------------------------------------------------------------------------------

const Y2022: &str = "2022-06-08-187b5382";

/// Non-opam jobs that no feature-branch pipeline has, from `.gitlab/ci/templates.yml`:
/// `docker:hadolint` (`__development_dockerfile`: merge request changing a Dockerfile),
/// `ometrics-code-quality-default` (`__tezos_default_branch_only`), `publish:documentation`
/// (`__master`), `gitlab:release` (`__release_tag`), `docker:promote_to_latest`
/// (`__latest_release`), and the four `__master_and_releases` jobs.
const EXCLUDED_2022_FEATURE: [&str; 9] = [
    "build:static-arm64-linux-binaries",
    "docker:build_amd64",
    "docker:build_arm64",
    "docker:hadolint",
    "docker:merge_manifests",
    "docker:promote_to_latest",
    "gitlab:release",
    "ometrics-code-quality-default",
    "publish:documentation",
];

fn opam_jobs(jobs: &[Value]) -> Vec<&Value> {
    jobs.iter()
        .filter(|j| j["name"].as_str().unwrap().starts_with("opam:"))
        .collect()
}

#[test]
fn octez_2022_loads() {
    let Some(p) = octez(Y2022) else {
        return;
    };
    let out = p.cmd(&args(&["validate"])).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        &["valid (279 jobs, 91 in this push pipeline)"],
    );
}

// Push on `feature`: 91 jobs, 17 of them manual (build_arm64, documentation:linkcheck, the 13
// doc-script jobs, the two docker:manual_build jobs). Out: the 178 opam jobs (their batch rules
// end in `when: never`: no schedule, no label, no merge request), `ometrics-code-quality`
// (`__merge_request_only`), and EXCLUDED_2022_FEATURE. Neither `unified_coverage` include
// applies (not a merge request, not the default branch).
// Peer: the same 91 jobs with the same `when` and `allow_failure`.
#[test]
fn octez_2022_push_on_a_feature_branch() {
    let Some(p) = octez(Y2022) else {
        return;
    };
    let (inc, exc) = split(&p, &[]);
    assert_eq!(inc.len(), 91);
    assert_eq!(count_when(&inc, "manual"), 17);
    assert_eq!(opam_jobs(&exc).len(), 178);
    let mut others: Vec<&str> = EXCLUDED_2022_FEATURE.to_vec();
    others.push("ometrics-code-quality");
    let non_opam: Vec<Value> = exc
        .iter()
        .filter(|j| !j["name"].as_str().unwrap().starts_with("opam:"))
        .cloned()
        .collect();
    assert_eq!(names(&non_opam), sorted(&others));
    assert!(!names(&inc).contains(&"unified_coverage".to_string()));
    assert_eq!(
        find(&inc, "unit:alpha: [proto_alpha__lib_protocol__2]")["when"],
        "on_success"
    );
    assert_eq!(
        find(&inc, "tezt 9/9")["needs"],
        serde_json::json!(["build_x86_64"])
    );
}

// Merge request: 93 jobs: the 91 above plus `ometrics-code-quality` (`__merge_request_only`) and
// `unified_coverage`, included by `include: local: .gitlab/ci/test_coverage.yml` with
// `rules: [if: $CI_PIPELINE_SOURCE == "merge_request_event"]`. Its `dependencies` name parallel
// instances the GitLab way, "integration:pytest 1/25" ... "tezt 9/9" and matrix instances
// "unit:alpha: [proto_alpha]": all exist.
// Peer: fails ("dependencies: [integration:pytest 1/25] for unified_coverage could not be found")
// because it names parallel jobs `integration:pytest: [1/25]`. GitLab names them "job_name 1/N"
// (https://docs.gitlab.com/ci/yaml/#parallel) and `dependencies` takes job names
// (https://docs.gitlab.com/ci/yaml/#dependencies): GitLab's documentation supports this pipeline.
#[test]
fn octez_2022_merge_request() {
    let Some(p) = octez(Y2022) else {
        return;
    };
    let (inc, exc) = split(&p, &["--source", "merge_request_event"]);
    assert_eq!(inc.len(), 93);
    assert_eq!(exc.len(), 187);
    find(&inc, "ometrics-code-quality");
    let v = p.explain(
        "unified_coverage",
        &args(&["--source", "merge_request_event"]),
    );
    let deps = v["job"]["dependencies"].as_array().unwrap();
    assert_eq!(deps.len(), 51, "the file says: Total: 51");
    assert_eq!(deps[0], "integration:pytest 1/25");
}

// A merge request changing a `dune` file: every opam batch rule matches
// (`if: $CI_MERGE_REQUEST_ID` + `changes: ["**/dune", ...]`) with `when: delayed` and its
// `start_in`: 178 delayed jobs more, 271 in all; `opam:prepare` starts in 1 minute.
#[test]
fn octez_2022_merge_request_changing_a_dune_file() {
    let Some(p) = octez(Y2022) else {
        return;
    };
    p.write("src/lib_base/dune", "(library (name base))\n");
    p.commit_all("a dune file");
    let mr = args(&["--source", "merge_request_event"]);
    let (inc, _) = split(&p, &["--source", "merge_request_event"]);
    assert_eq!(inc.len(), 271);
    assert_eq!(opam_jobs(&inc).len(), 178);
    assert!(opam_jobs(&inc).iter().all(|j| j["when"] == "delayed"));
    assert_eq!(p.explain("opam:prepare", &mr)["planned"]["start_in"], 60);
}

// Push on master (the default branch): the other conditional include,
// `test_coverage_default.yml` (`if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH`), brings its own
// `unified_coverage`, with `dependencies: []`.
#[test]
fn octez_2022_push_on_master_includes_the_default_branch_coverage() {
    let Some(p) = octez(Y2022) else {
        return;
    };
    let master = args(&["--branch", "master"]);
    let v = p.explain("unified_coverage", &master);
    assert_eq!(v["job"]["dependencies"], serde_json::json!([]));
    assert!(v["planned"].is_object(), "in the pipeline: {v}");
}

// ---------------------------------------------------------------------------------------------
// 2026-08-21, commit d26a8bef: 49 files, generated and flat; one local include per pipeline type,
// chosen by `include:rules` that repeat the `workflow:rules`.
// ---------------------------------------------------------------------------------------------

const Y2026: &str = "2026-08-21-d26a8bef";

#[test]
fn octez_2026_loads() {
    let Some(p) = octez(Y2026) else {
        return;
    };
    let out = p
        .cmd(&args(&["validate", "--source", "merge_request_event"]))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        &["valid (236 jobs, 142 in this merge_request_event pipeline)"],
    );
}

// Push on a feature branch: no `workflow:rules` entry matches (push pipelines are only for master,
// latest-release branches and tags), so GitLab creates no pipeline.
// Peer: no job either.
#[test]
fn octez_2026_push_on_a_feature_branch_makes_no_pipeline() {
    let Some(p) = octez(Y2026) else {
        return;
    };
    assert_eq!(p.jobs(&TEZOS), Vec::<String>::new());
    let out = p.cmd(&args(&["list"])).output().unwrap();
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        &["No pipeline", "workflow:rules"],
    );
}

// Push on master: `master_branch.yml` is included (its include rule needs the tezos namespace);
// its 11 jobs, 3 of them `rules: [when: manual, allow_failure: true]`, the others without rules;
// `dummy_job` (`.pre`, rule `$foo == "bar" && $foo != "bar"`) never matches.
// Peer (`--variable CI_COMMIT_BRANCH=master`): the same 11 jobs, same `when`, same
// `allow_failure`.
#[test]
fn octez_2026_push_on_master() {
    let Some(p) = octez(Y2026) else {
        return;
    };
    let (inc, exc) = split(&p, &["--branch", "master"]);
    assert_eq!(
        names(&inc),
        sorted(&[
            "datadog_pipeline_trace",
            "docker:merge_manifests",
            "oc.build:static-arm64-linux-experimental-binaries",
            "oc.build:static-arm64-linux-released-binaries",
            "oc.build:static-x86_64-linux-experimental-binaries",
            "oc.build:static-x86_64-linux-released-binaries",
            "oc.build_arm64-exp",
            "oc.build_arm64-extra-dev",
            "oc.build_arm64-released",
            "oc.docker:amd64",
            "oc.docker:arm64",
        ])
    );
    assert_eq!(count_when(&inc, "manual"), 3);
    assert_eq!(names(&exc), ["dummy_job"]);
    // Outside the tezos namespace there is no such pipeline (the rule wants "tezos").
    let fork = p
        .cmd(&["list", "--json", "--branch", "master"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&fork.stdout).trim(), "[]");
}

// Merge request: `before_merging.yml` (235 jobs) plus `dummy_job`. Reading each job's rules
// against the one changed file, src/lib_base/base.ml: 142 jobs are in --
// the 18 definitions (88 jobs with parallel) whose `changes` list has `src/**/*` and `when:
// on_success`, the 12 (38 jobs) with the same list and `when: manual`, the 4 documentation jobs
// and the 2 `oc.build_x86_64-*` jobs matching `src/**/*.ml*` or `src/**/*`, `documentation.linkcheck`
// (manual), `build_octez_source` and `trigger` (rules without condition, manual), `commit_titles`
// (no rules), and `oc.build_kernels`, `oc.misc_checks`, `oc.ocaml_fmt`, `oc.semgrep`,
// `oc.test-liquidity-baking-scripts`, `ocaml-check` -- 41 of them manual. The other 94
// (`check_rust_fmt`, the image builds, ...) have only `changes` rules that no changed file meets.
// Peer: the same 142 jobs with the same `when`; it writes `allow_failure: {exit_codes: N}` where
// we say `true` (commit_titles, select_tezts).
#[test]
fn octez_2026_merge_request() {
    let Some(p) = octez(Y2026) else {
        return;
    };
    let (inc, exc) = split(&p, &["--source", "merge_request_event"]);
    assert_eq!(inc.len(), 142);
    assert_eq!(count_when(&inc, "manual"), 41);
    assert_eq!(exc.len(), 94);
    assert!(
        exc.iter()
            .all(|j| j["excluded_because"] == "no rule matches")
    );
    assert_eq!(find(&exc, "check_rust_fmt")["included"], false);
    assert_eq!(find(&inc, "oc.ocaml_fmt")["when"], "on_success");
    assert_eq!(find(&inc, "commit_titles")["when"], "on_success");
    // `trigger`'s rule says `allow_failure: false`, which beats the default of rules' manual jobs.
    assert_eq!(find(&inc, "trigger")["when"], "manual");
    assert_eq!(find(&inc, "trigger")["allow_failure"], false);
    assert_eq!(find(&inc, "build_octez_source")["allow_failure"], true);
    find(&inc, "etherlink.tezt 36/36");
    find(&exc, "images.debian-build: [trixie, gcp_arm64]");
}

// The merge request pipeline's name comes from `workflow:name: '[$PIPELINE_TYPE] $CI_COMMIT_TITLE'`
// with the variable the matching workflow rule sets.
#[test]
fn octez_2026_pipeline_name() {
    let Some(p) = octez(Y2026) else {
        return;
    };
    let v = p.vars("oc.ocaml_fmt", &args(&["--source", "merge_request_event"]));
    assert_eq!(
        v["CI_PIPELINE_NAME"],
        "[before_merging] change a source file"
    );
    assert_eq!(v["PIPELINE_TYPE"], "before_merging");
}
