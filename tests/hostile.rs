//! The hostile corpus: every file in `tests/hostile/` is a broken or hostile pipeline with a
//! header saying the words its error must hold (`# expect:`) and, when the error has a place,
//! its line (`# line:`). `validate` must refuse each with exit 2, name it, never panic, and stay
//! under 2 s of CPU and 200 MB of memory (peak RSS of the child, from wait4's rusage).
//! (The loader's fuzzer is `tests/fuzz_loader.rs`, a binary of its own: the peak RSS a child
//! reports includes the test process's own, which must stay small.)
//! Each file runs in a [`Project`] of the common harness, with its command; not through the
//! builder, whose waiting cannot give the child's rusage. What the error must say is a part of
//! it (`# expect:`), not all of it: the corpus states the point of each case, not its wording.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::Project;

const CPU_LIMIT: Duration = Duration::from_secs(2);
const RSS_LIMIT_KIB: i64 = 200 * 1024;
const WALL_LIMIT: Duration = Duration::from_secs(60);

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/hostile")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

fn header(text: &[u8], field: &str) -> Option<String> {
    let text = String::from_utf8_lossy(text);
    let prefix = format!("# {field}:");
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

struct Outcome {
    code: i32,
    stderr: String,
    cpu: Duration,
    max_rss_kib: i64,
}

// The child is reaped by wait4(2), which Child::wait cannot do (it gives no rusage).
#[allow(clippy::zombie_processes)]
fn validate(project: &Project) -> Outcome {
    let mut child = project
        .command()
        .arg("validate")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tezos-ci-local");
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let pid = child.id() as i32;
    let (code, usage) = common::wait_with_rusage(pid, WALL_LIMIT);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Outcome {
        code,
        stderr: reader.join().unwrap(),
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
    }
}

#[test]
fn every_hostile_pipeline_is_refused_with_exit_2_quickly_and_in_little_memory() {
    let files = corpus();
    assert!(files.len() >= 60, "the corpus has {} files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read(file).unwrap();
        let expect = header(&text, "expect").unwrap_or_else(|| panic!("{name}: no `# expect:`"));
        let line = header(&text, "line");
        let project = Project::new();
        std::fs::write(project.path().join(".gitlab-ci.yml"), &text).unwrap();
        let out = validate(&project);
        let mut problems = Vec::new();
        if out.code != 2 {
            problems.push(format!("exit {}", out.code));
        }
        if out.stderr.contains("panicked") {
            problems.push("a panic".to_string());
        }
        if !out.stderr.contains(&expect) {
            problems.push(format!("no `{expect}` in the error"));
        }
        if let Some(line) = &line {
            let at = format!(".gitlab-ci.yml:{line}:");
            if !out.stderr.contains(&at) {
                problems.push(format!("no `{at}` in the error"));
            }
        }
        if out.cpu > CPU_LIMIT {
            problems.push(format!("{:?} of CPU", out.cpu));
        }
        if out.max_rss_kib > RSS_LIMIT_KIB {
            problems.push(format!("peak RSS {} KiB", out.max_rss_kib));
        }
        eprintln!(
            "{name}: exit {}, {:?} CPU, {} KiB",
            out.code, out.cpu, out.max_rss_kib
        );
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}\n{}",
                problems.join(", "),
                out.stderr.lines().take(3).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
