//! What past runs left that a run of a few jobs can use: the artifacts of a job that passed in
//! the newest run that ran it (`run JOB` without `--needs` receives them).

use std::path::{Path, PathBuf};

/// The newest run under `state` (other than `except`) where `job` passed (or was restored from
/// the result cache), and the artifacts it left there (`None`: it made none).
pub fn artifacts_of(state: &Path, job: &str, except: &str) -> Option<(String, Option<PathBuf>)> {
    let mut ids = super::runs::list(state);
    ids.retain(|id| id != except);
    ids.iter().rev().find_map(|id| {
        let run = state.join("runs").join(id);
        let summary = std::fs::read(run.join("summary.json")).ok()?;
        let jobs: Vec<serde_json::Value> = serde_json::from_slice(&summary).ok()?;
        let passed = jobs.iter().any(|j| {
            j["job"]["name"] == job
                && matches!(j["result"]["status"].as_str(), Some("success" | "cached"))
        });
        let dir = run.join("artifacts").join(super::file_name_for(job));
        passed.then(|| (id.clone(), dir.is_dir().then_some(dir)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn past_run(state: &Path, id: &str, job: &str, status: &str, with_artifacts: bool) {
        let run = state.join("runs").join(id);
        std::fs::create_dir_all(&run).unwrap();
        let summary = serde_json::json!([{"job": {"name": job}, "result": {"status": status}}]);
        std::fs::write(run.join("summary.json"), summary.to_string()).unwrap();
        if with_artifacts {
            let dir = run.join("artifacts").join(crate::store::file_name_for(job));
            std::fs::create_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn the_newest_run_where_the_job_passed_gives_its_artifacts() {
        let state = tempfile::tempdir().unwrap();
        let s = state.path();
        assert_eq!(artifacts_of(s, "build", "now"), None);
        past_run(s, "20260101-000000-001", "build", "success", true);
        past_run(s, "20260101-000000-002", "build", "success", true);
        past_run(s, "20260101-000000-003", "build", "failed", true);
        past_run(s, "20260101-000000-004", "build: [a]", "success", true);
        let (id, dir) = artifacts_of(s, "build", "now").unwrap();
        assert_eq!(id, "20260101-000000-002");
        assert!(dir.unwrap().ends_with("build"));
        past_run(s, "20260101-000000-005", "lint", "success", false);
        assert_eq!(
            artifacts_of(s, "lint", "now"),
            Some(("20260101-000000-005".to_string(), None))
        );
        assert_eq!(
            artifacts_of(s, "build", "20260101-000000-002").unwrap().0,
            "20260101-000000-001"
        );
        assert_eq!(artifacts_of(s, "test", "now"), None);
    }
}
