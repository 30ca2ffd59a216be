//! Each job's state during a run, for other processes (`logs JOB --follow`): one small file a job,
//! `<run>/jobs/<job>.json`, replaced whole (written aside and renamed) as the job starts an
//! attempt and as it ends.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    pub job: String,
    /// `created` (not started yet), `running`, or how it ended (`success`, `failed`,
    /// `cached`... as in the JSON events).
    pub status: String,
    /// The attempt running or the last one (0 when none ran: cached, skipped, canceled).
    pub attempt: u32,
}

impl JobState {
    pub fn running(&self) -> bool {
        self.status == "running"
    }

    /// Whether it has ended: neither waiting to start nor running.
    pub fn ended(&self) -> bool {
        !matches!(self.status.as_str(), "created" | "running")
    }
}

fn path(run_dir: &Path, job: &str) -> PathBuf {
    run_dir
        .join("jobs")
        .join(format!("{}.json", super::file_name_for(job)))
}

/// Records `state`; a reader sees the previous state or this one, never a mix.
pub fn write(run_dir: &Path, state: &JobState) -> std::io::Result<()> {
    let target = path(run_dir, &state.job);
    let dir = target.parent().expect("a directory");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        target.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(&tmp, serde_json::to_vec(state).unwrap_or_default())?;
    std::fs::rename(&tmp, &target)
}

/// Marks that every job of the run has its state written (the run's jobs are all listed).
pub fn mark_listed(run_dir: &Path) -> std::io::Result<()> {
    std::fs::write(run_dir.join("jobs").join(".listed"), b"")
}

/// Whether every job of the run has its state: a job without one is not in the run.
pub fn listed(run_dir: &Path) -> bool {
    run_dir.join("jobs").join(".listed").exists()
}

/// Every job's state in the run.
pub fn all(run_dir: &Path) -> Vec<JobState> {
    std::fs::read_dir(run_dir.join("jobs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok())
        .collect()
}

/// The state recorded for `job`, if any.
pub fn read(run_dir: &Path, job: &str) -> Option<JobState> {
    let bytes = std::fs::read(path(run_dir, job)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_then_replaced() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path(), "build:x"), None);
        assert!(!listed(dir.path()));
        let mut s = JobState {
            job: "build:x".into(),
            status: "running".into(),
            attempt: 1,
        };
        write(dir.path(), &s).unwrap();
        assert!(read(dir.path(), "build:x").unwrap().running());
        s.status = "failed".into();
        write(dir.path(), &s).unwrap();
        assert_eq!(read(dir.path(), "build:x"), Some(s.clone()));
        assert_eq!(read(dir.path(), "build/x"), None);
        mark_listed(dir.path()).unwrap();
        assert!(listed(dir.path()));
        assert_eq!(all(dir.path()), [s]);
    }
}
