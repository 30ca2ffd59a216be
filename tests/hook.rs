//! `tezos-ci-local hook install|uninstall` with the built binary: the pre-push hook it writes,
//! the user's hook it keeps and gives back, and real `git push`es to a bare repository that the
//! hook lets through when the pipeline passes and blocks when a job fails (those need Docker).

#[path = "run_e2e/support.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::*;

const MARKER: &str = "# installed by tezos-ci-local hook install";
const SAVED: &str = "pre-push.before-tezos-ci-local";

const PIPELINE: &str = r#"
check:
  image: tezos-ci-local/busybox:amd64
  script:
    - test "$(cat verdict.txt)" = pass
"#;

/// git push's exit status when a pre-push hook refuses the push.
const GIT_PUSH_REFUSED: i32 = 1;

const USER_HOOK: &str = "#!/bin/sh\n# the user's own hook\nexit 0\n";

/// `tezos-ci-local -C REPO hook ARGS`, expected to succeed and print `stdout`.
fn hook(p: &Project, args: &[&str], stdout: &str) -> Run {
    Test::in_project(p)
        .arg("hook")
        .args(args)
        .stdout(stdout)
        .run()
}

/// `hook ARGS`, expected to fail (exit 2) with `stderr` and print nothing.
fn hook_refused(p: &Project, args: &[&str], stderr: &str) -> Run {
    Test::in_project(p)
        .arg("hook")
        .args(args)
        .status(2)
        .stderr(stderr)
        .run()
}

/// What `hook install` says when it installed `hook` (a path) to run `what`.
fn installed(hook: &Path, what: &str) -> String {
    format!(
        "Installed {}: pushes now run {what} first.\n",
        hook.display()
    )
}

fn hooks_dir(p: &Project) -> PathBuf {
    p.repo().join(".git/hooks")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o111
        == 0o111
}

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn install_writes_an_executable_hook_and_uninstall_removes_it() {
    let p = Project::new(PIPELINE, &[("verdict.txt", "pass\n")]);
    let pre_push = hooks_dir(&p).join("pre-push");

    hook(&p, &["install"], &installed(&pre_push, "the pipeline"));
    assert!(read(&pre_push).contains(MARKER));
    assert!(read(&pre_push).starts_with("#!/bin/sh\n"));
    assert!(is_executable(&pre_push));
    assert!(!hooks_dir(&p).join(SAVED).exists(), "nothing to keep");

    // Installing again replaces ours and keeps nothing (ours is not a user's hook).
    hook(&p, &["install", "check"], &installed(&pre_push, "check"));
    // The jobs and options are stored as data, not as a command line written by hand.
    assert!(read(&pre_push).contains(r#""jobs":["check"]"#));
    assert!(!hooks_dir(&p).join(SAVED).exists());

    let removed = format!("Removed {}.\n", pre_push.display());
    hook(&p, &["uninstall"], &removed);
    assert!(!pre_push.exists());
    hook(&p, &["uninstall"], "No pre-push hook to remove.\n");
}

#[test]
fn a_users_hook_is_kept_and_given_back() {
    let p = Project::new(PIPELINE, &[("verdict.txt", "pass\n")]);
    let pre_push = hooks_dir(&p).join("pre-push");
    let saved = hooks_dir(&p).join(SAVED);
    write_executable(&pre_push, USER_HOOK);

    let kept = format!(
        "Kept the existing hook as {}; it runs first.\n{}",
        saved.display(),
        installed(&pre_push, "the pipeline")
    );
    hook(&p, &["install"], &kept);
    assert!(read(&pre_push).contains(MARKER));
    assert_eq!(read(&saved), USER_HOOK);
    assert!(is_executable(&saved));

    // A second install does not put our hook in the place of the user's.
    hook(&p, &["install"], &installed(&pre_push, "the pipeline"));
    assert_eq!(read(&saved), USER_HOOK);

    hook(
        &p,
        &["uninstall"],
        "Removed the tezos-ci-local hook and restored the previous one.\n",
    );
    assert_eq!(read(&pre_push), USER_HOOK);
    assert!(is_executable(&pre_push));
    assert!(!saved.exists());

    // Uninstall does not remove a hook it did not write.
    hook_refused(
        &p,
        &["uninstall"],
        &format!(
            "error: {} was not written by tezos-ci-local; left as it is\n",
            pre_push.display()
        ),
    );
    assert_eq!(read(&pre_push), USER_HOOK);
}

#[test]
fn install_refuses_when_both_a_users_hook_and_a_kept_one_are_there() {
    let p = Project::new(PIPELINE, &[("verdict.txt", "pass\n")]);
    let pre_push = hooks_dir(&p).join("pre-push");
    let saved = hooks_dir(&p).join(SAVED);
    write_executable(&pre_push, USER_HOOK);
    let older = "#!/bin/sh\n# an older hook, kept by hand\nexit 0\n";
    write_executable(&saved, older);

    hook_refused(
        &p,
        &["install"],
        &format!(
            "error: {} exists and so does {}; move one of them away, then install again\n",
            pre_push.display(),
            saved.display()
        ),
    );
    assert_eq!(read(&pre_push), USER_HOOK);
    assert_eq!(read(&saved), older);
}

#[test]
fn install_writes_where_core_hooks_path_says() {
    let p = Project::new(PIPELINE, &[("verdict.txt", "pass\n")]);
    git(&p.repo(), &["config", "core.hooksPath", "githooks"]);

    let pre_push = p.repo().join("githooks/pre-push");
    hook(&p, &["install"], &installed(&pre_push, "the pipeline"));
    assert!(read(&pre_push).contains(MARKER));
    assert!(is_executable(&pre_push));
    assert!(!hooks_dir(&p).join("pre-push").exists());

    hook(
        &p,
        &["uninstall"],
        &format!("Removed {}.\n", pre_push.display()),
    );
    assert!(!pre_push.exists());
}

/// A project whose `origin` is an empty bare repository beside it.
fn pushing_project() -> Project {
    let p = Project::new(PIPELINE, &[("verdict.txt", "pass\n")]);
    p.add_bare_origin();
    p
}

/// PATH with the built binary's directory first: the hook finds the program on PATH, as it
/// would an installed one.
fn path_with_binary() -> String {
    let dir = Path::new(BIN).parent().unwrap().display().to_string();
    match std::env::var("PATH") {
        Ok(path) => format!("{dir}:{path}"),
        Err(_) => dir,
    }
}

/// `git push origin BRANCH` from the project, the binary on PATH; the hook keeps its runs in
/// the project's state directory.
fn push_branch(p: &Project, branch: &str) -> Run {
    let mut c = Command::new("git");
    c.args(["push", "origin", branch])
        .current_dir(p.repo())
        .env("TEZOS_CI_LOCAL_STATE_DIR", p.state())
        .env("PATH", path_with_binary())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    Run::of(&mut c, RUN_LIMIT)
}

fn push(p: &Project) -> Run {
    push_branch(p, "main")
}

/// What the remote's `main` points at, if anything.
fn remote_main(p: &Project) -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--verify", "-q", "refs/heads/main"])
        .current_dir(p.scratch("remote.git"))
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap().trim().to_string())
}

/// The ids of the runs in the project's state directory.
fn run_ids(p: &Project) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(p.state().join("runs")) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = dir
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_push_is_let_through_when_the_pipeline_passes_and_blocked_when_a_job_fails() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = pushing_project();
    hook(
        &p,
        &["install"],
        &installed(&hooks_dir(&p).join("pre-push"), "the pipeline"),
    );

    let passing = p.head();
    let pushed = push(&p);
    assert_eq!(pushed.code, 0, "{pushed}");
    let testing = format!(
        "tezos-ci-local: testing {} (refs/heads/main)",
        &passing[..8]
    );
    let line = format!("tezos-ci-local: {} passed (refs/heads/main)", &passing[..8]);
    let output = format!("{}{}", pushed.stdout, pushed.stderr);
    assert_eq!(
        output
            .lines()
            .filter(|l| l.starts_with("tezos-ci-local:"))
            .collect::<Vec<_>>(),
        [testing.as_str(), line.as_str()],
        "{pushed}"
    );
    assert_eq!(remote_main(&p).as_deref(), Some(passing.as_str()));
    let runs = run_ids(&p);
    assert_eq!(runs.len(), 1, "one run for one pushed commit: {runs:?}");

    // The commit is what is tested: the working tree, put back to passing, does not count.
    p.write("verdict.txt", "fail\n");
    p.commit("break it");
    let failing = p.head();
    p.write("verdict.txt", "pass\n");
    let pushed = push(&p);
    assert_eq!(pushed.code, GIT_PUSH_REFUSED, "{pushed}");
    let blocked = format!("tezos-ci-local: {} FAILED (refs/heads/main)", &failing[..8]);
    assert!(pushed.stderr.contains(&blocked), "{pushed}");
    assert!(!pushed.stdout.contains(" passed ("), "{pushed}");
    assert_eq!(remote_main(&p).as_deref(), Some(passing.as_str()));

    // The message names the failing job, and the run's summary above it shows why.
    assert!(
        pushed.stderr.contains(&blocked) && pushed.stderr.contains("job check failed"),
        "{pushed}"
    );
    assert!(pushed.stderr.contains(": 1 failed"), "{pushed}");

    let runs = run_ids(&p);
    assert_eq!(runs.len(), 2, "{runs:?}");
    for id in &runs {
        engine.assert_no_leftovers(id);
    }
}

/// The hook names no path of its own: without the program on PATH it blocks the push and says
/// how to install it.
#[test]
fn without_the_program_on_path_the_hook_blocks_the_push_and_says_why() {
    let p = pushing_project();
    hook(
        &p,
        &["install"],
        &installed(&hooks_dir(&p).join("pre-push"), "the pipeline"),
    );
    assert!(
        !read(&hooks_dir(&p).join("pre-push")).contains(BIN),
        "a hard-coded path"
    );
    let mut c = Command::new("git");
    c.args(["push", "origin", "main"])
        .current_dir(p.repo())
        .env("PATH", "/usr/bin:/bin")
        .env("TEZOS_CI_LOCAL_STATE_DIR", p.state())
        .stdin(Stdio::null());
    let pushed = Run::of(&mut c, RUN_LIMIT);
    assert_eq!(pushed.code, GIT_PUSH_REFUSED, "{pushed}");
    assert!(
        pushed.stderr.contains(
            "'tezos-ci-local' is not on PATH; install it (cargo install --locked --path .)"
        ),
        "{pushed}"
    );
    assert_eq!(remote_main(&p), None);
}

#[test]
fn a_failing_user_hook_blocks_the_push_before_the_pipeline_runs() {
    let p = pushing_project();
    let pre_push = hooks_dir(&p).join("pre-push");
    let record = p.scratch("user-hook-ran");
    write_executable(
        &pre_push,
        &format!(
            "#!/bin/sh\necho \"$1\" > '{}'\necho 'user hook says no' >&2\nexit 7\n",
            record.display()
        ),
    );
    let kept = format!(
        "Kept the existing hook as {}; it runs first.\n{}",
        hooks_dir(&p).join(SAVED).display(),
        installed(&pre_push, "the pipeline")
    );
    hook(&p, &["install"], &kept);

    let pushed = push(&p);
    assert_eq!(pushed.code, GIT_PUSH_REFUSED, "{pushed}");
    assert!(pushed.stderr.contains("user hook says no"), "{pushed}");
    // It was called as git calls a pre-push hook: the remote's name first.
    assert_eq!(read(&record), "origin\n");
    assert_eq!(remote_main(&p), None);
    assert_eq!(run_ids(&p), Vec::<String>::new(), "the pipeline ran");
}

/// The jobs that ran in each run of the project's state directory, oldest run first.
fn jobs_run(p: &Project) -> Vec<Vec<String>> {
    run_ids(p)
        .iter()
        .map(|id| {
            let mut jobs: Vec<String> =
                std::fs::read_dir(p.state().join("runs").join(id).join("logs"))
                    .map(|d| {
                        d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                            .filter_map(|f| f.strip_suffix(".log").map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
            jobs.sort();
            jobs
        })
        .collect()
}

/// A push runs the pipeline GitLab would: for the pushed branch, with the variables given to
/// `hook install`, and `rules:changes` compared with what the remote had before the push.
#[test]
fn a_push_runs_the_pushed_branch_with_the_installed_options_and_changes_since_the_remote() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
branch:
  image: tezos-ci-local/busybox:amd64
  rules:
    - if: $CI_COMMIT_BRANCH == "feature"
  script:
    - test "$GREETING" = hi
docs:
  image: tezos-ci-local/busybox:amd64
  rules:
    - changes: [docs/**]
  script:
    - "true"
"#;
    let p = Project::new(ci, &[("docs/index.md", "# docs\n"), ("src/a.ml", "1\n")]);
    p.add_bare_origin();
    // Installed from `main`, with a variable; pushes come from `feature`.
    hook(
        &p,
        &["install", "--variable", "GREETING=hi"],
        &installed(&hooks_dir(&p).join("pre-push"), "the pipeline"),
    );
    git(&p.repo(), &["checkout", "-q", "-b", "feature"]);
    let push = |p: &Project| push_branch(p, "feature");

    // A new branch: nothing to compare with, so `changes` holds, as on GitLab. It is pushed
    // from `main`: the pipeline is the pushed branch's, not the checked-out one's.
    git(&p.repo(), &["checkout", "-q", "main"]);
    let pushed = push(&p);
    assert_eq!(pushed.code, 0, "{pushed}");
    // Then a commit that leaves docs/ alone: compared with the remote's `feature`, no change.
    git(&p.repo(), &["checkout", "-q", "feature"]);
    p.write("src/a.ml", "2\n");
    p.commit("code only");
    git(&p.repo(), &["checkout", "-q", "main"]);
    let pushed = push(&p);
    assert_eq!(pushed.code, 0, "{pushed}");
    assert_eq!(
        jobs_run(&p),
        [
            vec!["branch".to_string(), "docs".to_string()],
            vec!["branch".to_string()]
        ]
    );
    for id in run_ids(&p) {
        engine.assert_no_leftovers(&id);
    }
}
