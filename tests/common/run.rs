//! One invocation of the built binary: running it to its end under a deadline (`Run::of`), or
//! keeping it running and reading its JSON events as they come (`Spawned`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

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

    /// Stdout read as one JSON document (`list --json`, `explain --json`, `runs --json`...).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{self}"))
    }

    /// The run's id, from its `pipeline_started` event.
    pub fn run_id(&self) -> &str {
        self.run_id_opt()
            .unwrap_or_else(|| panic!("no pipeline_started event:\n{self}"))
    }

    pub(crate) fn run_id_opt(&self) -> Option<&str> {
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

/// Waits for the child `pid` (spawned by this test, not yet waited for) and returns its exit
/// code (128 + the signal when a signal ended it) and its resource usage from wait4(2): that
/// process's own figures, not those of any other child of the test binary. Kills it after
/// `limit`, and fails the test then.
pub fn wait_with_rusage(pid: i32, limit: Duration) -> (i32, libc::rusage) {
    let (done, watch) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if watch.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
            // SAFETY: kill(2) on our child, not yet reaped since wait4 has not returned.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return true;
        }
        false
    });
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child we spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let _ = done.send(());
    assert!(!watchdog.join().unwrap(), "killed after {limit:?}");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    (code, usage)
}
