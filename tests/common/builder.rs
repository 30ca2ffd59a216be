//! The one builder for running the built binary in a test, on the model of just's `Test`: a
//! project (files, git), the arguments and environment, a deadline, and what must come out.
//! Exit status, stdout and stderr are checked exactly (0, empty, empty) unless the test says
//! otherwise; on a mismatch the panic shows each difference as a diff, then the whole run.
//!
//! ```ignore
//! Test::new()
//!     .ci("build:\n  script: [make]\n")
//!     .args(&["validate"])
//!     .status(2)
//!     .stderr("error: job `build` (.gitlab-ci.yml:2:9) names no `image:` ...\n")
//!     .run();
//! ```

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::engine::Engine;
use super::project::Project;
use super::run::{RUN_LIMIT, Run};

/// What a stream of the binary must hold.
#[derive(Debug, Clone)]
enum Expect {
    /// Exactly this text.
    Exact(String),
    /// Each of these pieces, in any order and place ("not exact": the test says why).
    Contains(Vec<String>),
    /// This JSON document (compared as values, not as text).
    Json(Value),
    /// Anything: the test checks it itself.
    Any,
}

/// The project a test runs in: its own, or one the test keeps for several invocations.
enum Held<'p> {
    Owned(Box<Project>),
    Borrowed(&'p Project),
}

/// One invocation of the binary and what it must do.
#[must_use = "a Test does nothing until `.run()`"]
pub struct Test<'p> {
    project: Held<'p>,
    directory: Option<PathBuf>,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    limit: Duration,
    engine: Option<&'p Engine>,
    status: i32,
    stdout: Expect,
    stderr: Expect,
    stderr_lacks: Vec<String>,
}

impl Default for Test<'_> {
    fn default() -> Self {
        Test::new()
    }
}

impl<'p> Test<'p> {
    /// A fresh project of the test's own: an empty checkout, not yet a git repository.
    pub fn new() -> Test<'static> {
        Test::with_project(Held::Owned(Box::new(Project::new())))
    }

    /// An invocation in `project`, which outlives it (for tests that run the binary more than
    /// once, or look at the checkout afterwards).
    pub fn in_project(project: &'p Project) -> Test<'p> {
        Test::with_project(Held::Borrowed(project))
    }

    fn with_project(project: Held<'p>) -> Test<'p> {
        Test {
            project,
            directory: None,
            args: Vec::new(),
            env: Vec::new(),
            limit: RUN_LIMIT,
            engine: None,
            status: 0,
            stdout: Expect::Exact(String::new()),
            stderr: Expect::Exact(String::new()),
            stderr_lacks: Vec::new(),
        }
    }

    pub fn project(&self) -> &Project {
        match &self.project {
            Held::Owned(p) => p,
            Held::Borrowed(p) => p,
        }
    }

    /// `.gitlab-ci.yml`, written as given (line numbers in messages are those of this text).
    pub fn ci(self, yaml: &str) -> Self {
        self.file(".gitlab-ci.yml", yaml)
    }

    /// A file of the checkout, written as given.
    pub fn file(self, path: &str, content: &str) -> Self {
        self.project().write_raw(path, content);
        self
    }

    /// Makes the checkout a git repository on `main` and commits everything in it.
    pub fn git(self) -> Self {
        let p = self.project();
        if !p.path().join(".git").exists() {
            p.git(&["init", "-q", "-b", "main"]);
        }
        p.commit_all("commit");
        self
    }

    /// Gives the repository an `origin` (a bare repository beside it) holding its `main`.
    pub fn origin(self) -> Self {
        let p = self.project();
        p.add_bare_origin();
        p.git(&["push", "-q", "-u", "origin", "main"]);
        self
    }

    /// Runs in `dir` (`-C DIR`) instead of the checkout, with the project's state directory.
    pub fn directory(mut self, dir: &Path) -> Self {
        self.directory = Some(dir.to_path_buf());
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.env.push((key.into(), None));
        self
    }

    /// How long the invocation may take before it is killed and the test fails (default
    /// [`RUN_LIMIT`]).
    pub fn limit(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    /// Checks, once the binary has ended, that the run it started left nothing labelled on
    /// `engine`.
    pub fn engine(mut self, engine: &'p Engine) -> Self {
        self.engine = Some(engine);
        self
    }

    /// The exit status it must end with (default 0).
    pub fn status(mut self, code: i32) -> Self {
        self.status = code;
        self
    }

    /// Exactly what stdout must be (default: empty).
    pub fn stdout(mut self, text: &str) -> Self {
        self.stdout = Expect::Exact(text.to_string());
        self
    }

    /// Exactly what stderr must be (default: empty).
    pub fn stderr(mut self, text: &str) -> Self {
        self.stderr = Expect::Exact(text.to_string());
        self
    }

    /// Not exact: stdout must hold `piece` (with any others asked for).
    pub fn stdout_contains(mut self, piece: &str) -> Self {
        self.stdout = contains(self.stdout, piece);
        self
    }

    /// Not exact: stderr must hold `piece` (with any others asked for).
    pub fn stderr_contains(mut self, piece: &str) -> Self {
        self.stderr = contains(self.stderr, piece);
        self
    }

    /// Stderr must not hold `piece` (whatever else is expected of it).
    pub fn stderr_lacks(mut self, piece: &str) -> Self {
        self.stderr_lacks.push(piece.to_string());
        self
    }

    /// Stdout must be this JSON document.
    pub fn stdout_json(mut self, value: Value) -> Self {
        self.stdout = Expect::Json(value);
        self
    }

    /// Stdout is not checked here (the test reads it from the returned [`Run`]).
    pub fn stdout_any(mut self) -> Self {
        self.stdout = Expect::Any;
        self
    }

    /// Stderr is not checked here (the test reads it from the returned [`Run`]); a panic in it
    /// still fails the test.
    pub fn stderr_any(mut self) -> Self {
        self.stderr = Expect::Any;
        self
    }

    /// Runs the binary to its end (killed, and the test failed, at the deadline), checks every
    /// expectation, and returns what it did.
    #[track_caller]
    pub fn run(self) -> Run {
        let mut c = match &self.directory {
            Some(dir) => self.project().command_in(dir),
            None => self.project().command(),
        };
        c.args(&self.args);
        for (key, value) in &self.env {
            match value {
                Some(v) => c.env(key, v),
                None => c.env_remove(key),
            };
        }
        let run = capture(&mut c, self.limit);
        if let (Some(engine), Some(id)) = (self.engine, run.run_id_opt()) {
            engine.assert_no_leftovers(id);
        }
        let mut problems = Vec::new();
        if run.code != self.status {
            problems.push(format!(
                "exit status: expected {}, got {}",
                self.status, run.code
            ));
        }
        check("stdout", &self.stdout, &run.stdout, &mut problems);
        check("stderr", &self.stderr, &run.stderr, &mut problems);
        for piece in &self.stderr_lacks {
            if run.stderr.contains(piece.as_str()) {
                problems.push(format!("stderr: holds {piece:?}, which it must not"));
            }
        }
        if run.stderr.contains("panicked") {
            problems.push("stderr: the binary panicked".to_string());
        }
        if !problems.is_empty() {
            let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy()).collect();
            panic!(
                "tezos-ci-local {}: not what was expected\n{}\n=== the whole run\n{run}",
                args.join(" "),
                problems.join("\n")
            );
        }
        run
    }
}

fn contains(before: Expect, piece: &str) -> Expect {
    match before {
        Expect::Contains(mut pieces) => {
            pieces.push(piece.to_string());
            Expect::Contains(pieces)
        }
        _ => Expect::Contains(vec![piece.to_string()]),
    }
}

/// Adds to `problems` how `actual` differs from `expected`.
fn check(stream: &str, expected: &Expect, actual: &str, problems: &mut Vec<String>) {
    match expected {
        Expect::Any => {}
        Expect::Exact(text) => {
            if text != actual {
                problems.push(format!(
                    "{stream} differs (- expected, + got):\n{}",
                    diff(text, actual)
                ));
            }
        }
        Expect::Contains(pieces) => {
            for piece in pieces {
                if !actual.contains(piece.as_str()) {
                    problems.push(format!("{stream}: no {piece:?} in it"));
                }
            }
        }
        Expect::Json(value) => match serde_json::from_str::<Value>(actual) {
            Ok(got) if &got == value => {}
            Ok(got) => problems.push(format!(
                "{stream} JSON differs (- expected, + got):\n{}",
                diff(&pretty(value), &pretty(&got))
            )),
            Err(e) => problems.push(format!("{stream} is not JSON ({e})")),
        },
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("a JSON value prints") + "\n"
}

/// A line diff of two texts; a line's end shown as `⏎` when the texts differ only there.
pub fn diff(expected: &str, actual: &str) -> String {
    let text = similar::TextDiff::from_lines(expected, actual);
    let mut out = String::new();
    for change in text.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        let line = change.value();
        let shown = match line.strip_suffix('\n') {
            Some(l) => l.to_string(),
            None => format!("{line}[no newline at the end]"),
        };
        out.push_str(&format!("{sign} {shown}\n"));
    }
    out
}

/// Runs `command` to its end with stdout and stderr captured byte for byte; kills it and panics
/// after `limit`.
fn capture(command: &mut std::process::Command, limit: Duration) -> Run {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tezos-ci-local");
    let (tx, done) = mpsc::channel();
    let readers: Vec<_> = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .into_iter()
    .map(|mut stream| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            let _ = tx.send(());
            String::from_utf8_lossy(&bytes).into_owned()
        })
    })
    .collect();
    drop(tx);
    // Both streams at their end is how we learn the process is gone (or closed them), without
    // polling; then the exit status is at most a moment away.
    let deadline = started + limit;
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        if done.recv_timeout(left).is_err() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tezos-ci-local still running after {limit:?}: killed");
        }
    }
    let status = child.wait().expect("wait for tezos-ci-local");
    let mut texts = readers.into_iter().map(|r| r.join().unwrap_or_default());
    let (stdout, stderr) = (texts.next().unwrap(), texts.next().unwrap());
    // Any command's output: only the lines that are JSON objects are events (`explain --json`
    // prints one document over many lines).
    let events = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Run {
        code: super::run::exit_code(status),
        stdout,
        stderr,
        events,
        elapsed: started.elapsed(),
    }
}
