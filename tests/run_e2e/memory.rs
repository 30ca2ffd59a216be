//! A job that prints 1 GiB of log: it passes, the log file holds its first and last 2 MiB (GitLab
//! caps a job log at 4 MiB) with a line saying what was cut, and tezos-ci-local's own memory
//! stays flat (the log goes through bounded channels, the tail through a bounded ring).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

const GIB: u64 = 1 << 30;
/// Lines of 1000 `x` and a last shorter one, each with its newline.
const LINES: u64 = GIB / 1000 + 1;
/// How long the run may take before the test kills it.
const LIMIT: Duration = Duration::from_secs(600);
const RSS_LIMIT_KIB: i64 = 64 * 1024;

#[test]
// The child is reaped by wait4(2) in wait_with_maxrss, which Child::wait cannot do.
#[allow(clippy::zombie_processes)]
fn a_gigabyte_of_log_keeps_memory_flat() {
    // Takes the machine for itself: it measures memory and keeps both cores busy (about 40 s on
    // a 2-core machine with a debug build), which would slow the tests that measure time.
    let _machine = whole_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
big:
  image: tezos-ci-local/busybox:amd64
  script:
    # fold leaves the last (824-byte) line unterminated: echo ends it.
    - head -c 1073741824 /dev/zero | tr '\0' 'x' | fold -w 1000; echo
    - echo "printed it all"
"#;
    let p = Project::new(ci, &[]);
    // Plain output, as a person would run it: no --json, no --verbose.
    let mut child = p
        .command()
        .args(["run", "--no-cache"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tezos-ci-local");
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let started = Instant::now();
    let (code, max_rss_kib) = wait_with_maxrss(child.id() as i32, LIMIT);
    let took = started.elapsed();
    let stderr = reader.join().unwrap();
    eprintln!("1 GiB of log: {took:?}, peak RSS {max_rss_kib} KiB");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        max_rss_kib < RSS_LIMIT_KIB,
        "peak RSS {max_rss_kib} KiB is over {RSS_LIMIT_KIB} KiB"
    );

    let run_id = std::fs::read_to_string(p.state().join("runs/last")).unwrap();
    let run_id = run_id.trim();
    engine.assert_no_leftovers(run_id);
    let log = p.state().join("runs").join(run_id).join("logs/big.log");
    let size = std::fs::metadata(&log).unwrap().len();
    // The head and the tail of the job's bytes, the runner's own lines and the cut notice.
    assert!(
        (4 * 1024 * 1024 - 2048..4 * 1024 * 1024 + 16 * 1024).contains(&size),
        "log is {size} bytes"
    );
    let head = String::from_utf8_lossy(&std::fs::read(&log).unwrap()[..2 * 1024 * 1024 + 4096])
        .into_owned();
    let cut = head
        .lines()
        .find(|l| l.contains("Job's log exceeded limit"))
        .unwrap_or_else(|| panic!("no cut notice in the first 2 MiB"));
    // Everything but the kept 4 MiB was cut, whole lines of 1000 `x` among them.
    let kept = format!(
        "(4.0 MiB kept of {:.1} MiB",
        (GIB + LINES) as f64 / 1048576.0
    );
    assert!(cut.contains(&kept), "{cut}");
    let tail = tail(&log, 4096);
    assert!(tail.contains("\nprinted it all\n"), "{tail}");
    assert!(
        tail.contains(&format!("\n{}\n", "x".repeat(1000))),
        "{tail}"
    );
    // 1 GiB is too much to leave in /tmp until the project is dropped.
    std::fs::remove_dir_all(p.state()).unwrap();
}

/// Waits for the child `pid` and returns its exit code and peak resident set size in KiB (see
/// [`support::wait_with_rusage`]). Reaping the child here leaves nothing for `Child::wait`,
/// which is not called.
fn wait_with_maxrss(pid: i32, limit: Duration) -> (i32, i64) {
    let (code, usage) = wait_with_rusage(pid, limit);
    (code, usage.ru_maxrss)
}

fn tail(path: &std::path::Path, n: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).unwrap();
    let len = f.metadata().unwrap().len();
    f.seek(SeekFrom::Start(len.saturating_sub(n))).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}
