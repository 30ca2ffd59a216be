//! `logs JOB --follow`: prints a job's log as it grows while its run is under way, and returns
//! when the job ends (a retry's new attempt is followed too). What it reads: the job's state
//! (`store::job_states`, written by the run's reporter), its log files, and the run's record
//! (`run.json`: its status and the pid of the process running it, so that a run killed outright
//! does not keep a follower waiting).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;
use crate::store::job_states::{self, JobState};
use crate::store::runs::RunDir;

/// How often the files are looked at again.
const POLL: Duration = Duration::from_millis(100);

/// The log file being followed and how much of it was printed.
struct Following {
    attempt: u32,
    path: PathBuf,
    offset: u64,
}

pub fn follow(state: &Path, id: &str, job: &str) -> anyhow::Result<()> {
    let run = RunDir {
        id: id.to_string(),
        path: state.join("runs").join(id),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut following: Option<Following> = None;
    loop {
        // Read before the run's record: a job that ended before the run did is seen ended.
        let job_state = job_states::read(&run.path, job);
        let run_over = !in_progress(&run.path);
        let Some(js) = job_state else {
            // Every state is written before the mark: with the mark seen, a second look is
            // final.
            if run_over || job_states::listed(&run.path) {
                if job_states::read(&run.path, job).is_some() {
                    continue;
                }
                return Err(no_such_job(&run, job).into());
            }
            // The run has not written its jobs' states yet (it is starting).
            std::thread::sleep(POLL);
            continue;
        };
        if js.attempt >= 1 && following.as_ref().map(|f| f.attempt) != Some(js.attempt) {
            // A new attempt: the end of the previous one's log first.
            if let Some(f) = &mut following {
                copy_new(f, &mut out)?;
            }
            following = Some(Following {
                attempt: js.attempt,
                path: run.log_path(job, js.attempt),
                offset: 0,
            });
        }
        if let Some(f) = &mut following {
            copy_new(f, &mut out)?;
        }
        if js.ended() || run_over {
            if following.is_none() {
                // It never ran here (cached, skipped, canceled): its log, if it has one.
                let mut f = Following {
                    attempt: 1,
                    path: run.log_path(job, 1),
                    offset: 0,
                };
                copy_new(&mut f, &mut out)?;
            }
            out.flush().ok();
            eprintln!("{}", ended(&js));
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

/// Prints what was appended to the followed log since the last look (whole lines only, so that
/// a line being written is never cut).
fn copy_new(f: &mut Following, out: &mut impl Write) -> Result<(), Error> {
    let Ok(mut file) = std::fs::File::open(&f.path) else {
        return Ok(()); // not created yet
    };
    let io = |source| Error::Io {
        path: f.path.clone(),
        source,
    };
    file.seek(SeekFrom::Start(f.offset)).map_err(io)?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).map_err(io)?;
    let whole = buf.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    out.write_all(&buf[..whole]).map_err(|source| Error::Io {
        path: PathBuf::from("<stdout>"),
        source,
    })?;
    out.flush().ok();
    f.offset += whole as u64;
    Ok(())
}

/// Whether the run is still going: its record says `running` and its process is alive.
fn in_progress(run_dir: &Path) -> bool {
    let Some(record) = std::fs::read(run_dir.join(super::runs::RECORD))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    else {
        return false;
    };
    if record["status"].as_str() != Some("running") {
        return false;
    }
    match record["pid"].as_i64().and_then(|p| i32::try_from(p).ok()) {
        Some(pid) if pid > 0 => process_alive(pid),
        _ => true,
    }
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn ended(js: &JobState) -> String {
    if js.ended() {
        format!("tezos-ci-local: job `{}` ended: {}", js.job, js.status)
    } else {
        format!(
            "tezos-ci-local: the run ended before job `{}` did (it was {})",
            js.job, js.status
        )
    }
}

fn no_such_job(run: &RunDir, job: &str) -> Error {
    let names: Vec<String> = job_states::all(&run.path)
        .into_iter()
        .map(|s| s.job)
        .collect();
    Error::Usage(format!(
        "no job `{job}` in run {}{}",
        run.id,
        super::suggest::hint(job, names.iter().map(String::as_str))
    ))
}
