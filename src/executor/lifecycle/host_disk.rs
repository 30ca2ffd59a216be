//! A full disk on this host, told apart from the job's own failure: when an attempt fails while
//! the file system that takes its artifacts, reports or caches has no room left, the failure is
//! the host's (`FailureReason::HostFault`), named by path, and what the attempt half-wrote there
//! is removed so that the log and the run's summary still fit.

use std::path::{Path, PathBuf};

use crate::executor::JobSpec;

/// Below this many free bytes a file system is taken as full: a write that failed for room
/// leaves at most a block or two.
const NEARLY_NOTHING: u64 = 64 * 1024;

/// The host directories an attempt writes into.
fn written_by(spec: &JobSpec) -> Vec<&Path> {
    let mut paths = vec![spec.artifacts_dir.as_path(), spec.reports_dir.as_path()];
    paths.extend(spec.caches.iter().map(|c| c.store.as_path()));
    paths
}

/// The first directory the attempt writes into whose file system is full, if any.
pub(crate) fn full_disk(spec: &JobSpec) -> Option<PathBuf> {
    written_by(spec)
        .into_iter()
        .find(|p| free_bytes(p).is_some_and(|free| free < NEARLY_NOTHING))
        .map(Path::to_path_buf)
}

/// Free bytes for an unprivileged user on the file system of `path`, or of the nearest
/// directory above it that exists.
fn free_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|a| a.exists())?;
    let st = rustix::fs::statvfs(existing).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Removes what a failed attempt half-wrote into its artifacts and reports directories (they
/// are the attempt's own: each attempt starts them afresh).
pub(crate) fn remove_partial_outputs(spec: &JobSpec) {
    for dir in [&spec.artifacts_dir, &spec.reports_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_read_from_the_nearest_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let below = dir.path().join("not/made/yet");
        assert_eq!(free_bytes(&below), free_bytes(dir.path()));
        assert!(free_bytes(dir.path()).is_some());
    }
}
