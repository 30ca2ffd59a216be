//! A project in a temporary directory: the checkout (`repo/`, a git repository when the test
//! makes it one), the run store (`state/`), bare remotes and the test's own files beside it; and
//! the built binary run in it, with nothing inherited that would change what it does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::builder::Test;
use super::engine::Engine;
use super::run::{BIN, RUN_LIMIT, Run};
use super::{dedent, git_in};

/// A checkout in a temporary directory, with a state directory of its own beside it.
pub struct Project {
    dir: tempfile::TempDir,
    repo: PathBuf,
}

impl Project {
    /// An empty checkout, not a git repository.
    pub fn new() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("tcl-test-")
            .tempdir()
            .expect("a temporary directory");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).expect("create the checkout");
        Project { dir, repo }
    }

    /// A checkout holding `.gitlab-ci.yml` with `yaml` (dedented, see [`dedent`]).
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

    /// A git repository on `main` holding `.gitlab-ci.yml` and `files`, written as given (not
    /// dedented: line numbers in messages are those of the text), all committed.
    pub fn committed(ci: &str, files: &[(&str, &str)]) -> Project {
        let p = Project::new();
        p.git(&["init", "-q", "-b", "main"]);
        p.write_raw(".gitlab-ci.yml", ci);
        for (path, content) in files {
            p.write_raw(path, content);
        }
        p.commit("init");
        p
    }

    /// A git repository holding a copy of the directory `source` (modes kept), all committed:
    /// runs of a pipeline of the source tree that write nothing into it.
    pub fn copy_of(source: &Path) -> Project {
        let p = Project::new();
        p.git(&["init", "-q", "-b", "main"]);
        copy_tree(source, &p.repo());
        p.commit("init");
        p
    }

    /// The checkout.
    pub fn path(&self) -> &Path {
        &self.repo
    }

    /// The checkout, owned.
    pub fn repo(&self) -> PathBuf {
        self.repo.clone()
    }

    /// The run store given with `--state-dir`.
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// A path beside the checkout for the test's own files.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `content` (dedented, see [`dedent`]) to `rel` in the checkout, making directories.
    pub fn write(&self, rel: &str, content: &str) -> &Project {
        self.write_raw(rel, &dedent(content))
    }

    /// Writes `content` as given to `rel` in the checkout, making directories.
    pub fn write_raw(&self, rel: &str, content: &str) -> &Project {
        let full = self.repo().join(rel);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&full, content).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
        self
    }

    /// Runs git in the checkout with a fixed identity and no user configuration; its stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(&self.repo(), args)
    }

    /// Commits every change of the working tree (nothing to commit is no error).
    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// Commits every change of the working tree.
    pub fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-qm", message]);
    }

    /// The commit HEAD points at.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// Adds an empty bare repository beside the checkout (`remote.git`) as its `origin`; its
    /// path.
    pub fn add_bare_origin(&self) -> PathBuf {
        let remote = self.scratch("remote.git");
        git_in(
            self.dir.path(),
            &[
                "init",
                "-q",
                "--bare",
                remote.to_str().expect("a UTF-8 path"),
            ],
        );
        self.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
        remote
    }

    /// Adds an `origin` (a new bare repository beside the checkout) and pushes `branch` to it
    /// with upstream tracking, as `git push -u origin BRANCH` does; the remote's path.
    // `&mut`, as callers have always held it: a `&self` would leave their `mut` unused.
    pub fn push_to_new_origin(&mut self, branch: &str) -> PathBuf {
        let remote = self.add_bare_origin();
        self.git(&["push", "-q", "-u", "origin", branch]);
        remote
    }

    /// The binary in this checkout (`-C`) with this state directory (`--state-dir`); nothing
    /// inherited that would change what it does (colour, git configuration, a pipeline source,
    /// a state directory), and no standard input.
    pub fn command(&self) -> Command {
        self.command_in(&self.repo)
    }

    /// [`Project::command`] with another directory given to `-C`: this project's state
    /// directory seen from elsewhere.
    pub fn command_in(&self, dir: &Path) -> Command {
        let mut c = Command::new(BIN);
        c.arg("-C")
            .arg(dir)
            .arg("--state-dir")
            .arg(self.state())
            .env_remove("TEZOS_CI_LOCAL_STATE_DIR")
            .env_remove("CI_PIPELINE_SOURCE")
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null());
        c
    }

    /// The builder for one invocation of the binary in this project with `args`: expects exit 0
    /// and empty stdout and stderr unless told otherwise.
    pub fn test(&self, args: &[&str]) -> Test<'_> {
        Test::in_project(self).args(args)
    }

    /// The binary with `args`, as an `assert_cmd` command.
    pub fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::from_std(self.command());
        c.args(args);
        c
    }

    /// `run --json --no-cache ARGS`; checks that the run left nothing on the engine.
    pub fn run(&self, engine: &Engine, args: &[&str]) -> Run {
        let mut full = vec!["run", "--json", "--no-cache"];
        full.extend_from_slice(args);
        self.run_args(engine, &full)
    }

    /// The binary with exactly these arguments (after `-C` and `--state-dir`); when it printed a
    /// `pipeline_started` event, checks that the run left nothing on the engine.
    pub fn run_args(&self, engine: &Engine, args: &[&str]) -> Run {
        let mut c = self.command();
        c.args(args);
        let run = Run::of(&mut c, RUN_LIMIT);
        if let Some(id) = run.run_id_opt() {
            engine.assert_no_leftovers(id);
        }
        run
    }

    /// `logs JOB`: the last attempt's log of the last run.
    pub fn logs(&self, job: &str) -> String {
        // Status 0 checked, stderr left as the helper always left it (notes about the attempt).
        self.test(&["logs", job])
            .stdout_any()
            .stderr_any()
            .run()
            .stdout
    }

    /// The binary with `args`, expected to succeed; its stdout as one JSON document.
    fn json_of(&self, args: &[&str]) -> Value {
        self.test(args).stdout_any().stderr_any().run().json()
    }

    /// `list --json --all` followed by `args`: every job, included or not.
    pub fn list_all(&self, args: &[&str]) -> Vec<Value> {
        let full = [&["list", "--json", "--all"][..], args].concat();
        match self.json_of(&full) {
            Value::Array(jobs) => jobs,
            other => panic!("list --json printed no array: {other}"),
        }
    }

    /// The names of the jobs `list` includes, sorted (GitLab shows them by stage; the order is
    /// not what these tests check).
    pub fn jobs(&self, args: &[&str]) -> Vec<String> {
        let full = [&["list", "--json"][..], args].concat();
        let Value::Array(jobs) = self.json_of(&full) else {
            panic!("list --json printed no array");
        };
        let mut names: Vec<String> = jobs
            .iter()
            .map(|j| j["name"].as_str().expect("a name").to_string())
            .collect();
        names.sort();
        names
    }

    /// The edges of the job graph (`graph --format mermaid`), as (needed, needing) job names.
    pub fn edges(&self, args: &[&str]) -> BTreeSet<(String, String)> {
        let full = [&["graph", "--format", "mermaid"][..], args].concat();
        let text = self.test(&full).stdout_any().stderr_any().run().stdout;
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
        let full = [&["explain", job, "--json"][..], args].concat();
        self.json_of(&full)
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

    /// Runs `args`, expects exit code 2 (bad input) and no panic, and returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        self.test(args)
            .status(2)
            .stdout_any()
            .stderr_any()
            .run()
            .stderr
    }

    /// Runs `args`, expects exit code 2, nothing on stdout and exactly `stderr`.
    pub fn refuses(&self, args: &[&str], stderr: &str) -> Run {
        self.test(args).status(2).stderr(stderr).run()
    }

    /// `validate`, expected to fail: its stderr.
    pub fn invalid(&self) -> String {
        self.fails(&["validate"])
    }
}

/// Copies files and directories (with their permissions, so scripts stay executable).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let (src, dest) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&src, &dest);
        } else if kind.is_file() {
            std::fs::copy(&src, &dest).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        } else {
            panic!("{}: only files and directories are copied", src.display());
        }
    }
}
