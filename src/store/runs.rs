//! Run directories: `<state>/runs/<id>/` with `logs/`, `artifacts/`, `report.html` and
//! `summary.json`; `<state>/runs/last` names the newest.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::store::liveness::RunLock;

pub struct RunDir {
    pub id: String,
    pub path: PathBuf,
}

impl RunDir {
    pub fn create(state: &Path) -> Result<RunDir, Error> {
        let runs = state.join("runs");
        std::fs::create_dir_all(&runs).map_err(|source| Error::Io {
            path: runs.clone(),
            source,
        })?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // The id labels the run's Docker objects, and an engine is shared by every state
        // directory (and host) that uses it: a random suffix keeps apart two runs that start in
        // the same millisecond, so that one's cleanup never removes the other's containers.
        let salt = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(now.subsec_nanos());
            h.finish() & 0xff_ffff
        };
        let base = format!(
            "{}-{:03}-{salt:06x}",
            format_time(now.as_secs()),
            now.subsec_millis()
        );
        // `create_dir` (not `_all`) fails when the directory exists: two runs that start at once
        // in one state directory never share one.
        let mut id = base.clone();
        let mut n = 1;
        let path = loop {
            let path = runs.join(&id);
            match std::fs::create_dir(&path) {
                Ok(()) => break path,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => {
                    n += 1;
                    id = format!("{base}-{n}");
                }
                Err(source) => return Err(Error::Io { path, source }),
            }
        };
        for sub in ["logs", "artifacts"] {
            std::fs::create_dir_all(path.join(sub)).map_err(|source| Error::Io {
                path: path.join(sub),
                source,
            })?;
        }
        // Written aside and renamed: a reader never sees half an id.
        let last = runs.join(format!(".last-{id}"));
        if std::fs::write(&last, &id).is_ok() {
            let _ = std::fs::rename(&last, runs.join("last"));
        }
        Ok(RunDir { id, path })
    }

    /// Creates a run directory and takes its lock, held by this process for as long as the
    /// returned lock lives: `clean --containers` knows from it that the run is alive
    /// (`store::liveness`).
    pub fn create_locked(state: &Path) -> Result<(RunDir, RunLock), Error> {
        let dir = RunDir::create(state)?;
        let lock = RunLock::acquire(&dir.path).map_err(|source| Error::Io {
            path: dir.path.join("lock"),
            source,
        })?;
        Ok((dir, lock))
    }

    pub fn log_path(&self, job: &str, attempt: u32) -> PathBuf {
        let name = super::file_name_for(job);
        if attempt <= 1 {
            self.path.join("logs").join(format!("{name}.log"))
        } else {
            self.path
                .join("logs")
                .join(format!("{name}.attempt-{attempt}.log"))
        }
    }

    pub fn artifacts_path(&self, job: &str) -> PathBuf {
        self.path.join("artifacts").join(super::file_name_for(job))
    }

    /// `artifacts:reports` files (junit, dotenv): kept, but not passed to later jobs.
    pub fn reports_path(&self, job: &str) -> PathBuf {
        self.path.join("reports").join(super::file_name_for(job))
    }
}

/// The run ids, oldest first.
pub fn list(state: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(state.join("runs"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

pub fn last(state: &Path) -> Option<String> {
    std::fs::read_to_string(state.join("runs/last"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Whether `id` can be a run id: what an engine's label says is not trusted as a path.
pub fn is_run_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn format_time(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let (y, m, d) = crate::time::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_started_at_once_in_two_state_directories_have_distinct_ids() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ids: Vec<String> = (0..20)
            .flat_map(|_| {
                [
                    super::RunDir::create(a.path()).unwrap().id,
                    super::RunDir::create(b.path()).unwrap().id,
                ]
            })
            .collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }

    #[test]
    fn runs_created_at_once_by_many_threads_in_one_state_directory_are_distinct() {
        let state = tempfile::tempdir().unwrap();
        let ids: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        (0..10)
                            .map(|_| super::RunDir::create(state.path()).unwrap().id)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 80, "{ids:?}");
        assert!(ids.iter().all(|id| super::is_run_id(id)), "{ids:?}");
        let last = super::last(state.path()).unwrap();
        assert!(ids.contains(&last), "{last}");
    }

    #[test]
    fn run_ids_sort_by_time() {
        assert_eq!(super::format_time(0), "19700101-000000");
        assert_eq!(super::format_time(1_795_000_000), "20261118-110640");
    }
}
