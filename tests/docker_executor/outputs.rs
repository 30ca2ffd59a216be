//! Docker executor tests of what jobs leave and pass on: artifacts (globs, exclude, reports,
//! inputs of the next job), escaping paths, caches across runs, and the upload path.

use super::support::*;
use tezos_ci_local::executor::{ArtifactInput, AttemptStatus, DockerOptions, WorkspaceMode};
use tezos_ci_local::pipeline::model::CachePolicy;

#[tokio::test(flavor = "multi_thread")]
async fn artifacts_follow_globs_and_reach_the_next_job() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let fx = Fixture::new("artifacts");
    let mut build = fx.spec(
        "build",
        &[
            "mkdir -p out/sub logs",
            "echo a > out/a.bin; echo b > out/b.o; echo c > out/sub/c.bin; echo l > logs/x.log",
            "echo edited > src/main.c",
            "printf 'VERSION=1.2\\nNAME = x y \\n' > build.env",
            "printf '<testsuites/>' > report.xml",
        ],
    );
    let mut a = artifacts(
        &["out/", "**/*.log", "src/*.c", "missing/"],
        &["out/**/*.o"],
    );
    a.reports.junit = vec!["report.xml".into()];
    a.reports.dotenv = vec!["build.env".into()];
    build.artifacts = Some(a);
    let (outcome, log) = run(&exec, build).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    let dir = outcome.artifacts.clone().expect("artifacts");
    let mut files = Vec::new();
    collect_files(&dir, &dir, &mut files);
    files.sort();
    assert_eq!(
        files,
        ["logs/x.log", "out/a.bin", "out/sub/c.bin", "src/main.c"],
        "{log}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("src/main.c")).unwrap(),
        "edited\n"
    );
    assert!(
        log.contains("out/: found 5 matching artifact files and directories"),
        "{log}"
    );
    assert!(log.contains("out/**/*.o: excluded 1 files"), "{log}");
    assert!(
        log.contains("WARNING: missing/: no matching files"),
        "{log}"
    );
    assert_eq!(
        outcome.dotenv,
        [
            ("VERSION".into(), "1.2".into()),
            ("NAME".into(), "x y".into())
        ]
    );
    assert_eq!(outcome.junit.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&outcome.junit[0]).unwrap(),
        "<testsuites/>"
    );

    let mut test = fx.spec(
        "test",
        &[
            "cat out/a.bin out/sub/c.bin logs/x.log src/main.c",
            "test ! -e out/b.o",
            "cat tracked.txt",
        ],
    );
    test.inputs = vec![ArtifactInput {
        job: "build".into(),
        dir,
    }];
    let (outcome, log) = run(&exec, test).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    assert!(log.contains("\na\nc\nl\nedited\n"), "{log}");
    assert_no_leftovers(&exec, &fx.run_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn paths_leaving_the_project_are_refused() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let fx = Fixture::new("escape");
    let mut spec = fx.spec(
        "escape",
        &[
            "ln -s /etc/passwd abs-link",
            "ln -s ../../../etc up-link",
            "mkdir -p d && ln -s ../tracked.txt d/ok-link",
        ],
    );
    spec.artifacts = Some(artifacts(
        &[
            "../outside",
            "/etc/passwd",
            "abs-link",
            "up-link",
            "up-link/passwd",
            "d/",
        ],
        &[],
    ));
    let (outcome, log) = run(&exec, spec).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    assert!(
        log.contains("WARNING: ../outside: leaves the project directory"),
        "{log}"
    );
    assert!(
        log.contains("WARNING: /etc/passwd: outside the project directory"),
        "{log}"
    );
    assert!(
        log.contains("abs-link: symlink to /etc/passwd leads outside"),
        "{log}"
    );
    assert!(
        log.contains("up-link: symlink to ../../../etc leads outside"),
        "{log}"
    );
    let dir = outcome.artifacts.expect("d/ok-link is kept");
    let mut files = Vec::new();
    collect_files(&dir, &dir, &mut files);
    assert_eq!(files, ["d/ok-link"]);
    assert!(
        std::fs::symlink_metadata(dir.join("d/ok-link"))
            .unwrap()
            .is_symlink()
    );
    assert!(!fx.dir.path().join("jobs/outside").exists());
    assert_no_leftovers(&exec, &fx.run_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cache_saved_by_one_run_is_restored_in_another() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let fx = Fixture::new("cache1");
    let store = fx.dir.path().join("cache-store");
    let mut first = fx.spec("fill", &["mkdir -p .cache", "echo v1 > .cache/f", "ls -a"]);
    first.caches = vec![cache(&store, "deps", CachePolicy::PullPush)];
    let (outcome, log) = run(&exec, first).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    assert!(log.contains("Created cache"), "{log}");
    assert_eq!(
        std::fs::read_to_string(store.join("deps/.cache/f")).unwrap(),
        "v1\n"
    );

    let mut fx2 = Fixture::new("cache2");
    fx2.run_id = format!("{}-second", fx2.run_id);
    let mut second = fx2.spec("use", &["cat .cache/f", "echo v2 > .cache/f"]);
    second.caches = vec![cache(&store, "deps", CachePolicy::Pull)];
    let (outcome, log) = run(&exec, second).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    assert!(log.contains("\nv1\n"), "{log}");
    assert_eq!(
        std::fs::read_to_string(store.join("deps/.cache/f")).unwrap(),
        "v1\n",
        "policy pull does not save"
    );
    assert_no_leftovers(&exec, &fx.run_id).await;
    assert_no_leftovers(&exec, &fx2.run_id).await;
}

/// The path for engines on another host: the snapshot and inputs go through the API, and
/// artifacts come back as a tar.
#[tokio::test(flavor = "multi_thread")]
async fn upload_mode_runs_the_same_jobs() {
    let options = DockerOptions {
        workspace: WorkspaceMode::Upload,
        ..Default::default()
    };
    let Some(exec) = docker_or_skip_with(options).await else {
        return;
    };
    assert!(exec.overlay().is_err());
    let fx = Fixture::new("upload");
    let store = fx.dir.path().join("cache-store");
    let mut build = fx.spec(
        "build",
        &[
            "cat tracked.txt",
            "mkdir -p out && echo a > out/a && ln out/a out/hard && ln -s hard out/soft",
            "echo x > untracked.txt && echo changed > tracked.txt",
        ],
    );
    // `out/hard` comes as a hard link to `out/a`, which no artifact pattern takes.
    build.artifacts = Some(artifacts(&["out/hard", "out/soft"], &[]));
    let mut untracked = cache(&store, "untracked", CachePolicy::Push);
    untracked.paths.clear();
    untracked.untracked = true;
    build.caches = vec![untracked];
    let (outcome, log) = run(&exec, build).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    let dir = outcome.artifacts.expect("artifacts");
    let mut files = Vec::new();
    collect_files(&dir, &dir, &mut files);
    files.sort();
    assert_eq!(files, ["out/hard", "out/soft"], "{log}");
    assert_eq!(
        std::fs::read_to_string(dir.join("out/hard")).unwrap(),
        "a\n"
    );
    let mut cached = Vec::new();
    let cache_dir = store.join("untracked");
    collect_files(&cache_dir, &cache_dir, &mut cached);
    cached.sort();
    assert_eq!(
        cached,
        ["out/a", "out/hard", "out/soft", "untracked.txt"],
        "{log}"
    );

    let mut next = fx.spec("next", &["cat out/soft tracked.txt"]);
    next.inputs = vec![ArtifactInput {
        job: "build".into(),
        dir,
    }];
    let (outcome, log) = run(&exec, next).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    assert!(log.contains("\na\noriginal\n"), "{log}");
    assert_eq!(
        std::fs::read_to_string(fx.workspace.root.join("tracked.txt")).unwrap(),
        "original\n"
    );
    assert_no_leftovers(&exec, &fx.run_id).await;
}
