//! What the end-to-end tests share: the engine guard, a project in a temporary git repository,
//! running the built binary with a deadline, reading its JSON events, and the check that a run
//! left nothing labelled on the engine.
// Several test crates include this file and each uses a part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{
    EventsOptions, ListContainersOptions, ListNetworksOptions, ListVolumesOptions,
};
use futures_util::StreamExt;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_tezos-ci-local");

/// How long any one run may take before the test gives up on it (a loaded 2-core machine is slow,
/// but a run that hangs must fail the test, not the suite).
pub const RUN_LIMIT: Duration = Duration::from_secs(240);

/// Tests measure time and memory; the one that prints 1 GiB takes the machine for itself (write
/// lock) while the others share it (read lock).
static MACHINE: RwLock<()> = RwLock::new(());

pub fn shared_machine() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(|e| e.into_inner())
}

pub fn whole_machine() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(|e| e.into_inner())
}

/// The engine the binary will use, for checks the binary cannot make about itself.
pub struct Engine {
    rt: tokio::runtime::Runtime,
    docker: Docker,
}

/// The engine, or `None` after printing SKIPPED when there is none; with `CI=true` a missing
/// engine fails the test instead, so CI never passes by skipping everything.
pub fn docker_or_skip() -> Option<Engine> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let connected = rt.block_on(async {
        let docker = Docker::connect_with_defaults().map_err(|e| e.to_string())?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| e.to_string())?;
        docker.ping().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(docker)
    });
    match connected {
        Ok(docker) => Some(Engine { rt, docker }),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but no Docker engine answers ({e}); run scripts/setup.sh")
        }
        Err(e) => {
            eprintln!("SKIPPED: no Docker engine answers ({e}); run scripts/setup.sh");
            None
        }
    }
}

impl Engine {
    /// Containers, volumes and networks labelled with this run id, described for a message.
    pub fn leftovers(&self, run_id: &str) -> Vec<String> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("tezos-ci-local.run={run_id}")],
        )]);
        self.rt.block_on(async {
            let mut left = Vec::new();
            let containers = self
                .docker
                .list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(filters.clone()),
                    ..Default::default()
                }))
                .await
                .expect("list containers");
            for c in containers {
                left.push(format!("container {:?} ({:?})", c.names, c.state));
            }
            let volumes = self
                .docker
                .list_volumes(Some(ListVolumesOptions {
                    filters: Some(filters.clone()),
                }))
                .await
                .expect("list volumes");
            for v in volumes.volumes.unwrap_or_default() {
                left.push(format!("volume {}", v.name));
            }
            let networks = self
                .docker
                .list_networks(Some(ListNetworksOptions {
                    filters: Some(filters),
                }))
                .await
                .expect("list networks");
            for n in networks {
                left.push(format!("network {:?}", n.name));
            }
            left
        })
    }

    pub fn assert_no_leftovers(&self, run_id: &str) {
        assert!(!run_id.is_empty(), "no run id to check");
        let left = self.leftovers(run_id);
        assert!(
            left.is_empty(),
            "run {run_id} left labelled objects: {left:#?}"
        );
    }

    /// The engine's clock, as Unix seconds (the bound for an event query).
    pub fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64
    }

    /// Every container the engine created between `since` and `until` (Unix seconds, inclusive)
    /// with the label `label` (`key=value`): what happened, not what is left.
    pub fn containers_created(&self, label: &str, since: i64, until: i64) -> Vec<Value> {
        let filters = HashMap::from([
            ("label".to_string(), vec![label.to_string()]),
            ("type".to_string(), vec!["container".to_string()]),
            ("event".to_string(), vec!["create".to_string()]),
        ]);
        self.rt.block_on(async {
            let mut stream = self.docker.events(Some(EventsOptions {
                since: Some(since.to_string()),
                until: Some(until.to_string()),
                filters: Some(filters),
            }));
            let mut seen = Vec::new();
            while let Some(e) = stream.next().await {
                let e = e.expect("engine events");
                seen.push(serde_json::to_value(&e).expect("an event as JSON"));
            }
            seen
        })
    }
}

/// A project in a git repository of its own, with a state directory beside it.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A repository holding `.gitlab-ci.yml` and `files`, all committed.
    pub fn new(ci: &str, files: &[(&str, &str)]) -> Project {
        let p = Project::empty();
        p.write(".gitlab-ci.yml", ci);
        for (path, content) in files {
            p.write(path, content);
        }
        p.commit("init");
        p
    }

    /// A repository holding a copy of the directory `source` (modes kept), all committed: runs
    /// of a pipeline of the source tree that write nothing into it.
    pub fn copy_of(source: &Path) -> Project {
        let p = Project::empty();
        copy_tree(source, &p.repo());
        p.commit("init");
        p
    }

    fn empty() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("tcl-e2e-")
            .tempdir()
            .expect("a temporary directory");
        let p = Project { dir };
        std::fs::create_dir_all(p.repo()).unwrap();
        git(&p.repo(), &["init", "-q", "-b", "main"]);
        p
    }

    /// Commits every change of the working tree.
    pub fn commit(&self, message: &str) {
        git(&self.repo(), &["add", "-A"]);
        git(&self.repo(), &["commit", "-qm", message]);
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// The commit HEAD points at.
    pub fn head(&self) -> String {
        let out = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(self.repo())
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Adds an empty bare repository beside the project as its `origin`; returns its path.
    pub fn add_bare_origin(&self) -> PathBuf {
        let remote = self.scratch("remote.git");
        git(
            self.scratch("").as_path(),
            &["init", "-q", "--bare", remote.to_str().unwrap()],
        );
        git(
            &self.repo(),
            &["remote", "add", "origin", remote.to_str().unwrap()],
        );
        remote
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// A directory beside the repository for the test's own files.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, path: &str, content: &str) {
        let path = self.repo().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// The binary in this project with this state directory; nothing inherited that would
    /// change what it does.
    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("-C")
            .arg(self.repo())
            .arg("--state-dir")
            .arg(self.state())
            .env_remove("TEZOS_CI_LOCAL_STATE_DIR")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
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

    /// `tezos-ci-local logs JOB`: the last attempt's log of the last run.
    pub fn logs(&self, job: &str) -> String {
        let out = self
            .command()
            .args(["logs", job])
            .output()
            .expect("run tezos-ci-local logs");
        assert!(
            out.status.success(),
            "logs {job}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("a UTF-8 log")
    }
}

/// Copies files and directories (with their permissions, so scripts stay executable).
fn copy_tree(from: &Path, to: &Path) {
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

pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What one invocation of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub events: Vec<Value>,
    pub elapsed: Duration,
}

impl Run {
    /// Runs `command` to its end, or kills it and panics after `limit`.
    pub fn of(command: &mut Command, limit: Duration) -> Run {
        let started = Instant::now();
        let mut child = Spawned::new(command);
        let status = child.wait(limit);
        let (stdout, stderr) = child.output();
        Run::from_output(status, stdout, stderr, started.elapsed())
    }

    pub fn from_output(
        status: ExitStatus,
        stdout: String,
        stderr: String,
        elapsed: Duration,
    ) -> Run {
        let events = stdout
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
            })
            .collect();
        Run {
            code: exit_code(status),
            stdout,
            stderr,
            events,
            elapsed,
        }
    }

    /// The run's id, from its `pipeline_started` event.
    pub fn run_id(&self) -> &str {
        self.run_id_opt()
            .unwrap_or_else(|| panic!("no pipeline_started event:\n{self}"))
    }

    fn run_id_opt(&self) -> Option<&str> {
        self.events
            .iter()
            .find(|e| e["event"] == "pipeline_started")
            .and_then(|e| e["run_id"].as_str())
    }

    pub fn run_dir(&self) -> PathBuf {
        let e = self
            .events
            .iter()
            .find(|e| e["event"] == "pipeline_started")
            .unwrap_or_else(|| panic!("no pipeline_started event:\n{self}"));
        PathBuf::from(e["run_dir"].as_str().expect("run_dir"))
    }

    /// The events of one kind for one job, in order.
    pub fn job_events(&self, kind: &str, job: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["event"] == kind && e["job"] == job)
            .collect()
    }

    /// The job's result: its last `job_finished`.
    pub fn finished(&self, job: &str) -> &Value {
        self.job_events("job_finished", job)
            .pop()
            .unwrap_or_else(|| panic!("no job_finished for `{job}`:\n{self}"))
    }

    pub fn status(&self, job: &str) -> &str {
        self.finished(job)["status"].as_str().expect("a status")
    }

    pub fn pipeline_status(&self) -> &str {
        self.events
            .iter()
            .rfind(|e| e["event"] == "pipeline_finished")
            .and_then(|e| e["status"].as_str())
            .unwrap_or_else(|| panic!("no pipeline_finished event:\n{self}"))
    }

    /// Every job's status (its last `job_finished`), by name.
    pub fn statuses(&self) -> BTreeMap<&str, &str> {
        self.events
            .iter()
            .filter(|e| e["event"] == "job_finished")
            .map(|e| {
                (
                    e["job"].as_str().expect("a job name"),
                    e["status"].as_str().expect("a status"),
                )
            })
            .collect()
    }

    /// Names of the jobs that had a `job_started` event.
    pub fn started_jobs(&self) -> Vec<&str> {
        let mut jobs: Vec<&str> = self
            .events
            .iter()
            .filter(|e| e["event"] == "job_started")
            .filter_map(|e| e["job"].as_str())
            .collect();
        jobs.sort();
        jobs.dedup();
        jobs
    }

    /// Asserts the exit code and each job's status, showing the whole run when they differ.
    pub fn expect(&self, code: i32, statuses: &[(&str, &str)]) {
        assert_eq!(self.code, code, "exit code\n{self}");
        for (job, status) in statuses {
            assert_eq!(self.status(job), *status, "status of `{job}`\n{self}");
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- exit code {} after {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// A running binary whose stdout lines can be read as they come.
pub struct Spawned {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Spawned {
    pub fn new(command: &mut Command) -> Spawned {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tezos-ci-local");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        });
        Spawned {
            child,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Reads stdout until an event for which `pred` holds; panics at `deadline` or at the end
    /// of stdout.
    pub fn wait_for_event(&mut self, deadline: Instant, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let event: Option<Value> = serde_json::from_str(&line).ok();
                    self.stdout.push(line);
                    if let Some(e) = event.filter(&pred) {
                        return e;
                    }
                }
                Err(e) => {
                    self.kill();
                    panic!(
                        "the awaited event did not come ({e:?}); stdout so far:\n{}",
                        self.stdout.join("\n")
                    );
                }
            }
        }
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of a child we have not reaped.
        let r = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(r, 0, "kill({}, {signal})", self.pid());
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to end; kills it and panics after `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        // Reading stdout to its end is how we learn the process is gone (or closed it), without
        // polling; then the exit status is at most a moment away.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stdout.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.kill();
                    panic!(
                        "tezos-ci-local still running after {limit:?}; stdout:\n{}",
                        self.stdout.join("\n")
                    );
                }
            }
        }
        self.child.wait().expect("wait for tezos-ci-local")
    }

    /// Everything it printed, once it has ended.
    pub fn output(&mut self) -> (String, String) {
        let mut stdout = self.stdout.join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        (stdout, stderr)
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// A name no other test (or earlier run of this one) uses, for labels the engine filters on.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .subsec_nanos();
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}
