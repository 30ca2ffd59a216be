//! What a job leaves once its scripts have run: caches saved, artifacts uploaded, reports
//! (`junit`, `dotenv`) copied and read, with GitLab's log lines.

use super::Environment;
use super::gitlab_cache::{self as cache, check_key, pushes, when_matches};
use crate::executor::artifacts::{Collection, DOTENV_MAX_BYTES, parse_dotenv};
use crate::executor::paths::PathRules;
use crate::executor::{AttemptStatus, FailureReason, JobOutcome, JobSpec, LogSink};

/// Saves caches, then artifacts, then reports (whatever the job's status), in GitLab's order,
/// from what the job left in its environment.
pub(crate) async fn collect(
    env: &mut dyn Environment,
    spec: &JobSpec,
    succeeded: bool,
    log: &mut LogSink,
) -> Result<JobOutcome, String> {
    let pd = &spec.project_dir;
    let mut warnings = Vec::new();
    let mut collections = Vec::new();
    // What each collection is: a cache (with its staging dir), the artifacts, or a report.
    enum Kind {
        Cache(usize),
        Artifacts,
        Junit,
        Dotenv,
    }
    let mut kinds = Vec::new();
    let verdict = if succeeded { "successful" } else { "failed" };
    for (i, c) in spec.caches.iter().enumerate() {
        if !(pushes(c) && when_matches(c.when, succeeded)) {
            continue;
        }
        log.line(&format!("Saving cache for {verdict} job")).await;
        if let Err(e) = check_key(&c.key) {
            log.line(&format!("WARNING: {e}")).await;
            continue;
        }
        log.line(&format!("Creating cache {}...", c.key)).await;
        let staging = cache::staging_dir(c).map_err(|e| format!("cache {}: {e}", c.key))?;
        collections.push(Collection::new(
            PathRules::new(&c.paths, &[], c.untracked, pd, &mut warnings),
            staging,
        ));
        kinds.push(Kind::Cache(i));
    }
    if let Some(a) = &spec.artifacts {
        if (!a.paths.is_empty() || a.untracked) && when_matches(a.when, succeeded) {
            log.line(&format!("Uploading artifacts for {verdict} job"))
                .await;
            let rules = PathRules::new(&a.paths, &a.exclude, a.untracked, pd, &mut warnings);
            collections.push(Collection::new(rules, spec.artifacts_dir.clone()));
            kinds.push(Kind::Artifacts);
        }
        // Reports are uploaded whatever the job's status (GitLab gives them `when: always`).
        for (paths, kind) in [
            (&a.reports.junit, Kind::Junit),
            (&a.reports.dotenv, Kind::Dotenv),
        ] {
            if !paths.is_empty() {
                let rules = PathRules::new(paths, &[], false, pd, &mut warnings);
                collections.push(Collection::new(rules, spec.reports_dir.clone()));
                kinds.push(kind);
            }
        }
    }
    for w in warnings {
        log.line(&format!("WARNING: {w}")).await;
    }
    let mut outcome = JobOutcome::status_only(AttemptStatus::Success);
    if collections.is_empty() {
        return Ok(outcome);
    }
    let collections = env.collect(collections).await?;
    for (c, kind) in collections.iter().zip(kinds) {
        match kind {
            Kind::Cache(i) => {
                let cs = &spec.caches[i];
                for line in c.report(pd) {
                    log.line(&line).await;
                }
                match cache::publish(cs, &c.dest) {
                    Ok(()) => log.line("Created cache").await,
                    Err(e) => log.line(&format!("WARNING: cache {}: {e}", cs.key)).await,
                }
            }
            Kind::Artifacts => {
                log.line("Uploading artifacts...").await;
                for line in c.report(pd) {
                    log.line(&line).await;
                }
                if c.is_empty() {
                    log.line("ERROR: No files to upload").await;
                } else {
                    log.line(&format!(
                        "Saved {} files to {}",
                        c.files.len(),
                        c.dest.display()
                    ))
                    .await;
                    outcome.artifacts = Some(c.dest.clone());
                }
            }
            Kind::Junit => {
                log.line("Uploading artifacts... (junit)").await;
                for line in c.report(pd) {
                    log.line(&line).await;
                }
                let files: Vec<_> = c
                    .files
                    .iter()
                    .map(|f| c.dest.join(f))
                    .filter(|p| p.is_file())
                    .collect();
                // The reports are read by the HTML and JUnit reports and kept in the result
                // cache: masked values in them are masked once, here, as in the log.
                for f in &files {
                    if let Err(e) = mask_file(f, log.masker()) {
                        log.line(&format!("WARNING: junit report {}: {e}", f.display()))
                            .await;
                    }
                }
                outcome.junit.extend(files);
            }
            Kind::Dotenv => {
                log.line("Uploading artifacts... (dotenv)").await;
                for line in c.report(pd) {
                    log.line(&line).await;
                }
                for f in &c.files {
                    match read_dotenv(&c.dest.join(f)) {
                        Ok(vars) => outcome.dotenv.extend(vars),
                        Err(e) => {
                            log.line(&format!("ERROR: dotenv report {}: {e}", f.display()))
                                .await;
                            outcome.status = AttemptStatus::Failed {
                                exit_code: None,
                                reason: FailureReason::ScriptFailure,
                            };
                        }
                    }
                }
            }
        }
    }
    Ok(outcome)
}

/// Rewrites `path` with its masked values replaced (into a new file renamed over it: the report may
/// share its data with another link).
fn mask_file(path: &std::path::Path, masker: &crate::mask::Masker) -> std::io::Result<()> {
    if masker.is_empty() {
        return Ok(());
    }
    let bytes = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    if !masker.reveals(&text) {
        return Ok(());
    }
    let masked = masker.masked(&text);
    let tmp = path.with_extension("masking");
    std::fs::write(&tmp, masked)?;
    std::fs::rename(&tmp, path)
}

fn read_dotenv(path: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() >= DOTENV_MAX_BYTES {
        return Err(format!(
            "Dotenv Artifact Too Big. Maximum Allowable Size: {DOTENV_MAX_BYTES}"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    parse_dotenv(&text)
}
