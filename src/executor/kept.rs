//! What `--keep-failed` keeps of a failed attempt, recorded in the run directory
//! (`kept/<job>.json`) so that `tezos-ci-local shell JOB --after-failure` finds it and `clean
//! --containers` removes it. The record names the engine objects (by the attempt's label) and
//! the host directories they need; it holds no variable's value (those stay in the kept
//! container's configuration, on the engine), and names the image by its ID (its name may be
//! built from a masked variable).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A kept attempt: its objects on the engine and what a shell in it is made of.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Kept {
    pub run_id: String,
    pub job: String,
    /// The value of the `tezos-ci-local.attempt` label every object of the attempt carries.
    pub attempt: String,
    /// The container of the job's last step: its configuration (variables) is the shell's.
    pub container: String,
    /// The image's ID when the engine gave it, else its name.
    pub image: String,
    pub platform: String,
    pub entrypoint: Option<Vec<String>>,
    pub user: Option<String>,
    /// The volume holding the project directory, mounted at `project_dir`.
    pub volume: String,
    pub project_dir: String,
    /// The job's network, where its services still run.
    pub network: Option<String>,
    pub privileged: bool,
    /// Host directories the kept volume is made of (an overlay's layers), removed with it.
    pub host_dirs: Vec<PathBuf>,
    /// The engine that holds it, as `--engine` or `engines:` named it; `None`: the default one
    /// (`DOCKER_HOST`, else the local socket). `shell` and `clean` go there.
    #[serde(default)]
    pub engine: Option<String>,
}

/// When an attempt is kept, and where it is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keep {
    pub record: PathBuf,
    /// Kept whatever its result (`shell JOB`), not only when it failed (`--keep-failed`).
    pub always: bool,
}

/// The directory of a run's kept records.
pub fn dir(run_dir: &Path) -> PathBuf {
    run_dir.join("kept")
}

/// Where the record of `job`'s kept attempt goes.
pub fn record_path(run_dir: &Path, job: &str) -> PathBuf {
    dir(run_dir).join(format!("{}.json", crate::store::file_name_for(job)))
}

/// Writes the record; an earlier attempt's record there (the job was retried) is moved beside
/// it, still found by [`all`], so that `clean` removes that attempt too.
pub fn write(path: &Path, kept: &Kept) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if let Ok(earlier) = read(path) {
        std::fs::rename(
            path,
            path.with_extension(format!("{}.json", earlier.attempt)),
        )?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(kept).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(tmp, path)
}

pub fn read(path: &Path) -> Result<Kept, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every record under the runs of `state` (`<state>/runs/<id>/kept/*.json`), with its path.
pub fn all(state: &Path) -> Vec<(PathBuf, Result<Kept, String>)> {
    let mut out = Vec::new();
    let Ok(runs) = std::fs::read_dir(state.join("runs")) else {
        return out;
    };
    for run in runs.flatten() {
        let Ok(records) = std::fs::read_dir(dir(&run.path())) else {
            continue;
        };
        for r in records.flatten() {
            let p = r.path();
            if p.extension().is_some_and(|e| e == "json") {
                let kept = read(&p);
                out.push((p, kept));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Whether a run directory holds kept attempts (its snapshot must then stay).
pub fn any(run_dir: &Path) -> bool {
    std::fs::read_dir(dir(run_dir)).is_ok_and(|mut d| d.next().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_are_found_under_their_run() {
        let state = tempfile::tempdir().unwrap();
        let run_dir = state.path().join("runs/r1");
        assert!(!any(&run_dir));
        let kept = Kept {
            run_id: "r1".into(),
            job: "build: [a, b]".into(),
            attempt: "abc".into(),
            container: "c".into(),
            image: "busybox:latest".into(),
            platform: "linux/amd64".into(),
            entrypoint: None,
            user: None,
            volume: "v".into(),
            project_dir: "/builds/p".into(),
            network: Some("n".into()),
            privileged: false,
            host_dirs: vec![PathBuf::from("/tmp/x")],
            engine: Some("tcp://10.0.0.7:2375".into()),
        };
        let path = record_path(&run_dir, &kept.job);
        write(&path, &kept).unwrap();
        assert!(any(&run_dir));
        assert_eq!(read(&path).unwrap(), kept);
        let found = all(state.path());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.as_ref().unwrap(), &kept);
        // A retry's record replaces it; the earlier one is still found.
        let retry = Kept {
            attempt: "def".into(),
            ..kept.clone()
        };
        write(&path, &retry).unwrap();
        assert_eq!(read(&path).unwrap(), retry);
        let attempts: Vec<String> = all(state.path())
            .into_iter()
            .map(|(_, k)| k.unwrap().attempt)
            .collect();
        assert_eq!(attempts.len(), 2);
        assert!(attempts.contains(&"abc".to_string()) && attempts.contains(&"def".to_string()));
    }
}
