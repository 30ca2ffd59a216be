//! Helpers for the end-to-end tests: a project in a temporary directory (a git repository when
//! the feature needs one), and the built binary run against it with `list --json`,
//! `explain --json` and `validate`.

#![allow(dead_code)] // each test binary uses its own subset of these helpers

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// A project checkout in a temporary directory.
pub struct Project {
    dir: TempDir,
    /// The run store, kept out of the user's home.
    state: TempDir,
    /// Bare repositories made for `origin` remotes, kept alive with the project.
    remotes: Vec<TempDir>,
}

impl Project {
    /// An empty directory, not a git repository.
    pub fn new() -> Project {
        Project {
            dir: tempfile::tempdir().expect("temp dir"),
            state: tempfile::tempdir().expect("temp dir"),
            remotes: Vec::new(),
        }
    }

    /// A directory holding `.gitlab-ci.yml` with `yaml`.
    pub fn with_ci(yaml: &str) -> Project {
        let p = Project::new();
        p.write(".gitlab-ci.yml", yaml);
        p
    }

    /// A git repository on branch `main` with one commit holding `.gitlab-ci.yml`.
    pub fn git_with_ci(yaml: &str) -> Project {
        let p = Project::with_ci(yaml);
        p.git(&["init", "-q", "-b", "main"]);
        p.commit_all("initial commit");
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` (dedented, see [`dedent`]) to `rel`, creating directories.
    pub fn write(&self, rel: &str, content: &str) -> &Project {
        let full = self.dir.path().join(rel);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(full, dedent(content)).expect("write file");
        self
    }

    /// Runs git in the project with a fixed identity and no user configuration; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(self.dir.path(), args)
    }

    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// Adds an `origin` remote pointing to a new local bare repository and pushes `branch` to it
    /// with upstream tracking, as `git push -u origin BRANCH` does.
    pub fn push_to_new_origin(&mut self, branch: &str) -> PathBuf {
        let bare = tempfile::tempdir().expect("temp dir");
        git_in(bare.path(), &["init", "-q", "--bare"]);
        let url = bare.path().to_string_lossy().into_owned();
        self.git(&["remote", "add", "origin", &url]);
        self.git(&["push", "-q", "-u", "origin", branch]);
        let path = bare.path().to_path_buf();
        self.remotes.push(bare);
        path
    }

    /// The binary, run in the project (`-C DIR`) with `args`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("tezos-ci-local").expect("binary built");
        c.arg("-C").arg(self.dir.path());
        c.args(args);
        c.env("TEZOS_CI_LOCAL_STATE_DIR", self.state.path());
        c.env("GIT_CONFIG_GLOBAL", "/dev/null");
        c.env("GIT_CONFIG_NOSYSTEM", "1");
        c.env_remove("CI_PIPELINE_SOURCE");
        c
    }

    /// `list --json --all` followed by `args`: every job, included or not.
    pub fn list_all(&self, args: &[&str]) -> Vec<Value> {
        let mut full = vec!["list", "--json", "--all"];
        full.extend_from_slice(args);
        let out = self.cmd(&full).output().expect("run");
        assert!(
            out.status.success(),
            "list failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("list --json prints JSON");
        v.as_array().expect("a JSON array").clone()
    }

    /// The names of the jobs `list` includes, sorted (GitLab shows them by stage; the order is
    /// not what these tests check).
    pub fn jobs(&self, args: &[&str]) -> Vec<String> {
        let mut full = vec!["list", "--json"];
        full.extend_from_slice(args);
        let out = self.cmd(&full).output().expect("run");
        assert!(
            out.status.success(),
            "list failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("list --json prints JSON");
        let mut names: Vec<String> = v
            .as_array()
            .expect("a JSON array")
            .iter()
            .map(|j| j["name"].as_str().expect("a name").to_string())
            .collect();
        names.sort();
        names
    }

    /// The edges of the job graph (`graph --format mermaid`), as (needed, needing) job names.
    pub fn edges(&self, args: &[&str]) -> std::collections::BTreeSet<(String, String)> {
        let mut full = vec!["graph", "--format", "mermaid"];
        full.extend_from_slice(args);
        let out = self.cmd(&full).output().expect("run");
        assert!(
            out.status.success(),
            "graph failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut names = BTreeMap::new();
        let mut edges = Vec::new();
        for line in text.lines().map(str::trim) {
            if let Some((id, rest)) = line.split_once("[\"") {
                if id.starts_with('j') {
                    names.insert(id.to_string(), rest.trim_end_matches("\"]").to_string());
                }
            } else if let Some((a, b)) = line.split_once(" --> ") {
                edges.push((a.to_string(), b.to_string()));
            }
        }
        edges
            .into_iter()
            .map(|(a, b)| (names[&a].clone(), names[&b].clone()))
            .collect()
    }

    /// One job's entry in `list --json --all` (panics when absent).
    pub fn job(&self, name: &str, args: &[&str]) -> Value {
        self.list_all(args)
            .into_iter()
            .find(|j| j["name"] == name)
            .unwrap_or_else(|| panic!("no job `{name}` in the listing"))
    }

    /// Why `list --all` says a job is excluded (`None` when it is included).
    pub fn excluded_because(&self, name: &str, args: &[&str]) -> Option<String> {
        let j = self.job(name, args);
        if j["included"].as_bool() == Some(true) {
            None
        } else {
            Some(j["excluded_because"].as_str().unwrap_or("").to_string())
        }
    }

    /// `explain JOB --json`.
    pub fn explain(&self, job: &str, args: &[&str]) -> Value {
        let mut full = vec!["explain", job, "--json"];
        full.extend_from_slice(args);
        let out = self.cmd(&full).output().expect("run");
        assert!(
            out.status.success(),
            "explain failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("explain --json prints JSON")
    }

    /// The final variables of an included job, as `explain --json` reports them.
    pub fn vars(&self, job: &str, args: &[&str]) -> BTreeMap<String, String> {
        let v = self.explain(job, args);
        let pairs = v["variables"]
            .as_array()
            .unwrap_or_else(|| panic!("job `{job}` is not in this pipeline: {v}"));
        pairs
            .iter()
            .map(|p| {
                (
                    p[0].as_str().expect("name").to_string(),
                    p[1].as_str().expect("value").to_string(),
                )
            })
            .collect()
    }

    /// Runs `args`, expects exit code 2 (bad input), and returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(2),
            "expected exit code 2 for {args:?}; stdout:\n{}\nstderr:\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            !stderr.contains("panicked"),
            "the binary panicked:\n{stderr}"
        );
        stderr
    }

    /// `validate`, expected to fail: its stderr.
    pub fn invalid(&self) -> String {
        self.fails(&["validate"])
    }
}

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
        "git {args:?} failed: {}",
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
