//! The Octez pipeline shipped in `pipelines/` (embedded in the binary): it loads in any checkout,
//! and has the groups the old tezos-ci ran, with the shape of Octez's own CI.

use std::process::Command;

fn list(dir: &std::path::Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_tezos-ci-local"))
        .args([
            "-C",
            dir.to_str().unwrap(),
            "--pipeline",
            "octez",
            "list",
            "--json",
            "--all",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn names(jobs: &[serde_json::Value], included: bool) -> Vec<String> {
    jobs.iter()
        .filter(|j| j["included"] == included)
        .map(|j| j["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn octez_pipeline_has_the_groups_tezos_ci_ran() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = list(dir.path(), &[]);
    let included = names(&jobs, true);
    for must in [
        "build_x86_64",
        "build_arm64",
        "documentation:build",
        "documentation:build_all",
        "documentation:linkcheck",
        "publish:docker_manual",
    ] {
        assert!(
            included.iter().any(|n| n == must),
            "{must} missing from {included:?}"
        );
    }
    let count = |prefix: &str| included.iter().filter(|n| n.starts_with(prefix)).count();
    assert!(count("unit:") >= 5, "unit jobs: {included:?}");
    assert!(count("integration:") >= 5, "integration jobs: {included:?}");
    assert!(count("test_coverage") >= 1, "coverage: {included:?}");
    // Tezt runs in parallel, with GitLab's instance names.
    let tezt: Vec<&String> = included.iter().filter(|n| n.starts_with("tezt ")).collect();
    assert!(tezt.len() >= 2, "tezt is parallel: {tezt:?}");
    let total = tezt.len();
    assert!(
        tezt.iter().all(|n| n.ends_with(&format!("/{total}"))),
        "{tezt:?}"
    );

    let by_name = |n: &str| jobs.iter().find(|j| j["name"] == n).unwrap().clone();
    assert_eq!(
        by_name("build_arm64")["platform"],
        "linux/arm64",
        "arm64 jobs run under emulation"
    );
    assert_eq!(by_name("build_x86_64")["platform"], "linux/amd64");
    for manual in [
        "documentation:build_all",
        "documentation:linkcheck",
        "publish:docker_manual",
    ] {
        assert_eq!(by_name(manual)["when"], "manual", "{manual}");
    }
    let image = by_name("build_x86_64")["image"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        image.contains("runtime-build-test-dependencies--"),
        "{image}"
    );
}

#[test]
fn octez_images_can_be_overridden_with_variables() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = list(
        dir.path(),
        &[
            "--variable",
            "build_deps_image_name=mirror.local/opam",
            "--variable",
            "build_deps_image_version=abc",
        ],
    );
    let build = jobs.iter().find(|j| j["name"] == "build_x86_64").unwrap();
    assert_eq!(
        build["image"],
        "mirror.local/opam:runtime-build-test-dependencies--abc"
    );
}

#[test]
fn octez_pipeline_for_other_sources() {
    let dir = tempfile::tempdir().unwrap();
    let mr = list(dir.path(), &["--source", "merge_request_event"]);
    assert!(
        names(&mr, true).iter().any(|n| n == "build_x86_64"),
        "merge requests build too"
    );
    let web = list(dir.path(), &["--source", "web"]);
    assert!(
        names(&web, true).is_empty(),
        "workflow:rules create no pipeline for a web source"
    );
}
