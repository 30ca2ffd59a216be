//! What the tests of the built binary share, in one place: a project in a temporary directory
//! ([`Project`]), the one builder that runs the binary in it and checks exit status, stdout and
//! stderr ([`Test`]), what an invocation did ([`Run`], [`Spawned`]), and the Docker engine seen
//! from the tests ([`Engine`], [`docker_or_skip`]).
//!
//! Test crates include it with `mod common;`; those that include `run_e2e/support.rs` get it
//! through that file, which re-exports it with the names its tests use. (The executor's own
//! tests in `docker_executor/support.rs` drive the library, not the binary: a library fixture,
//! not a harness of the binary.)

// Each test crate uses its own subset of these helpers.
#![allow(dead_code, unused_imports)]

mod builder;
mod engine;
mod project;
mod run;

use std::path::Path;
use std::process::Command as StdCommand;

pub use builder::{Test, diff};
pub use engine::{Engine, docker_or_skip, labelled_on};
pub use project::{Project, copy_tree};
pub use run::{
    BIN, RUN_LIMIT, Run, Spawned, exit_code, shared_machine, unique, wait_with_rusage,
    whole_machine,
};

/// Runs git in `dir` with a fixed identity and no user configuration; its stdout.
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = StdCommand::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts that `haystack` contains every one of `needles`, showing it all when not.
#[track_caller]
pub fn assert_contains(haystack: &str, needles: &[&str]) {
    for n in needles {
        assert!(haystack.contains(n), "expected {n:?} in:\n{haystack}");
    }
}

/// Removes the indentation common to all non-blank lines, and a first line that is empty, so
/// YAML can be written indented inside the tests.
pub fn dedent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line.get(indent..).unwrap_or(line.trim_start_matches(' ')));
        out.push('\n');
    }
    out
}
