//! Whether a run is still alive, so that `clean --containers` removes exactly what dead runs left
//! on an engine and never what a live one is using. Two signs, either enough:
//!
//! - the process that made an object: every Docker object carries its [`Owner`] (host, boot,
//!   pid namespace, pid and the process's start time, so a reused pid is not taken for the run);
//! - a lock the run holds on `<run dir>/lock` for as long as its process lives (the kernel drops
//!   it when the process dies, however it dies): authoritative for the runs of one state
//!   directory, whatever host or pid namespace they run in.

use std::io;
use std::path::Path;
use std::sync::OnceLock;

/// The process that made an object, as written in its label: `HOST/PID/START/BOOT/PIDNS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// The process's start time, in clock ticks since boot (`/proc/PID/stat`, field 22).
    pub start: u64,
    /// `/proc/sys/kernel/random/boot_id`: a pid of another boot is no process of this one.
    pub boot: String,
    /// The pid namespace (`/proc/self/ns/pid`): pids of another namespace cannot be looked up.
    pub pidns: String,
}

/// What is known of a run, or of the process that made an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    Dead,
    /// Made on another host (or in another pid namespace), by a run of no state directory of
    /// ours, or by a version that did not say: kept unless asked for (`--force`, a run id).
    Unknown,
}

impl Owner {
    /// This process.
    pub fn current() -> &'static Owner {
        static CURRENT: OnceLock<Owner> = OnceLock::new();
        CURRENT.get_or_init(|| {
            let pid = std::process::id();
            Owner {
                host: host_name(),
                pid,
                start: start_time(pid).unwrap_or(0),
                boot: boot_id(),
                pidns: pid_namespace(),
            }
        })
    }

    /// The label's value.
    pub fn label(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            self.host, self.pid, self.start, self.boot, self.pidns
        )
    }

    /// Reads a label's value; `None` when it is not one [`Owner::label`] wrote.
    pub fn parse(label: &str) -> Option<Owner> {
        let mut parts = label.split('/');
        let owner = Owner {
            host: parts.next()?.to_string(),
            pid: parts.next()?.parse().ok()?,
            start: parts.next()?.parse().ok()?,
            boot: parts.next()?.to_string(),
            pidns: parts.next()?.to_string(),
        };
        (parts.next().is_none() && !owner.host.is_empty()).then_some(owner)
    }

    /// Whether this owner still runs, seen from `here` (this process's [`Owner`]).
    pub fn liveness(&self, here: &Owner) -> Liveness {
        if self.host != here.host {
            return Liveness::Unknown;
        }
        if !self.boot.is_empty() && !here.boot.is_empty() && self.boot != here.boot {
            // The host booted since: every process of that boot is gone.
            return Liveness::Dead;
        }
        if self.pidns != here.pidns {
            return Liveness::Unknown;
        }
        match start_time(self.pid) {
            // Its start time was not known when it labelled (no `/proc`): a process with its
            // pid is taken for it.
            Some(_) if self.start == 0 => Liveness::Alive,
            Some(start) if start == self.start => Liveness::Alive,
            // The pid was given to another process since.
            Some(_) => Liveness::Dead,
            // No `/proc` to read (or `hidepid`): whether the pid exists at all.
            None => match rustix::process::Pid::from_raw(self.pid as i32)
                .map(rustix::process::test_kill_process)
            {
                Some(Err(rustix::io::Errno::SRCH)) | None => Liveness::Dead,
                Some(_) => Liveness::Alive,
            },
        }
    }
}

/// What is known of the run `run_id` from one object's owner label and the state directory
/// `state` (its run directory's lock, when the run is one of this state directory's).
pub fn judge(owner: Option<&str>, run_id: Option<&str>, state: &Path) -> Liveness {
    let owner = owner.and_then(Owner::parse);
    let by_owner = owner.map(|o| o.liveness(Owner::current()));
    if by_owner == Some(Liveness::Alive) {
        return Liveness::Alive;
    }
    let by_lock = run_id
        .filter(|id| crate::store::runs::is_run_id(id))
        .and_then(|id| lock_held(&state.join("runs").join(id)));
    match (by_lock, by_owner) {
        (Some(true), _) => Liveness::Alive,
        (Some(false), _) => Liveness::Dead,
        (None, Some(l)) => l,
        (None, None) => Liveness::Unknown,
    }
}

/// The name of the lock file in a run directory.
const LOCK: &str = "lock";

/// The lock a live run holds on its run directory; released when dropped or when the process
/// ends, however it ends.
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    /// Takes the lock of `run_dir` (a new run directory: nobody else holds it).
    pub fn acquire(run_dir: &Path) -> io::Result<RunLock> {
        let file = open_lock(run_dir)?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)?;
        Ok(RunLock { _file: file })
    }
}

fn open_lock(run_dir: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(run_dir.join(LOCK))
}

/// Whether a live process holds the lock of `run_dir`; `None` when the directory has no lock
/// (no such run here, or one made by a version without locks).
pub fn lock_held(run_dir: &Path) -> Option<bool> {
    let path = run_dir.join(LOCK);
    let file = std::fs::File::open(&path).ok()?;
    use rustix::fs::{FlockOperation, flock};
    match flock(&file, FlockOperation::NonBlockingLockShared) {
        // Dropping `file` releases it at once.
        Ok(()) => Some(false),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Some(true),
        // A lock that cannot be asked about says nothing.
        Err(_) => None,
    }
}

fn host_name() -> String {
    let name = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    // The label's separator, never in a host name; kept out whatever the name.
    name.replace('/', "_")
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().replace('/', "_"))
        .unwrap_or_default()
}

fn pid_namespace() -> String {
    std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.to_string_lossy().replace('/', "_"))
        .unwrap_or_default()
}

fn start_time(pid: u32) -> Option<u64> {
    parse_start(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Field 22 of `/proc/PID/stat`; the command name (field 2) may hold spaces and parentheses, so
/// fields are counted after its last `)`.
fn parse_start(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_its_label_reads_back() {
        let me = Owner::current();
        assert!(me.start > 0, "{me:?}");
        assert_eq!(Owner::parse(&me.label()).as_ref(), Some(me));
        assert_eq!(me.liveness(me), Liveness::Alive);
    }

    #[test]
    fn a_reused_pid_a_gone_pid_another_boot_and_another_host() {
        let me = Owner::current();
        let reused = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        assert_eq!(reused.liveness(me), Liveness::Dead);
        // A child that has ended and been reaped: its pid is free.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = Owner { pid, ..me.clone() };
        assert_eq!(gone.liveness(me), Liveness::Dead);
        let rebooted = Owner {
            boot: "another-boot".into(),
            ..me.clone()
        };
        assert_eq!(rebooted.liveness(me), Liveness::Dead);
        let elsewhere = Owner {
            host: "elsewhere".into(),
            ..me.clone()
        };
        assert_eq!(elsewhere.liveness(me), Liveness::Unknown);
        let other_namespace = Owner {
            pidns: "pid:[1]".into(),
            ..me.clone()
        };
        assert_eq!(other_namespace.liveness(me), Liveness::Unknown);
    }

    #[test]
    fn labels_that_are_not_an_owner_are_refused() {
        for bad in [
            "",
            "host",
            "h/1/2/b",
            "h/x/2/b/n",
            "h/1/2/b/n/extra",
            "/1/2/b/n",
        ] {
            assert_eq!(Owner::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_start_time_is_read_past_a_command_name_with_spaces_and_parentheses() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 \
                    200";
        assert_eq!(parse_start(stat), Some(98765));
    }

    #[test]
    fn a_held_lock_says_alive_a_released_one_dead() {
        let state = tempfile::tempdir().unwrap();
        let id = "20261129-120000-000-abcdef";
        let dir = state.path().join("runs").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        // No lock and no owner: nothing is known.
        assert_eq!(judge(None, Some(id), state.path()), Liveness::Unknown);
        let lock = RunLock::acquire(&dir).unwrap();
        assert_eq!(lock_held(&dir), Some(true));
        // Held, the run is alive whatever its label says (another pid namespace, another host).
        let elsewhere = Owner {
            host: "elsewhere".into(),
            ..Owner::current().clone()
        }
        .label();
        assert_eq!(
            judge(Some(&elsewhere), Some(id), state.path()),
            Liveness::Alive
        );
        drop(lock);
        assert_eq!(lock_held(&dir), Some(false));
        assert_eq!(
            judge(Some(&elsewhere), Some(id), state.path()),
            Liveness::Dead
        );
        // Of no run of this state directory: the label decides.
        assert_eq!(
            judge(Some(&elsewhere), Some("other-run"), state.path()),
            Liveness::Unknown
        );
        let here = Owner::current().label();
        assert_eq!(judge(Some(&here), None, state.path()), Liveness::Alive);
    }
}
