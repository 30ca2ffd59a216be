//! The run compared with the previous run of the same pipeline. Each finished run leaves a small
//! `report-data.json` in its directory (the pipeline it ran and each job's status and time); the
//! next run of the same pipeline finds the newest one among the run directories beside its own.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::format;
use super::html::{JobView, esc};
use super::html_times::Shown;

pub const DATA_FILE: &str = "report-data.json";
const VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunData {
    pub version: u32,
    /// What makes two runs "the same pipeline": the project directory and pipeline file.
    pub pipeline: String,
    pub run_id: String,
    pub status: String,
    pub jobs: Vec<JobData>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobData {
    pub name: String,
    pub status: String,
    pub duration_ms: u64,
    pub attempts: u32,
}

impl RunData {
    pub fn job(&self, name: &str) -> Option<&JobData> {
        self.jobs.iter().find(|j| j.name == name)
    }
}

/// The newest earlier run of `pipeline` among the run directories beside `run_dir`.
pub fn previous(run_dir: &Path, pipeline: &str) -> Option<RunData> {
    let runs = run_dir.parent()?;
    let own = run_dir.file_name()?.to_string_lossy().into_owned();
    let mut ids: Vec<String> = std::fs::read_dir(runs)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|id| *id < own)
        .collect();
    // Run ids sort by time: newest first.
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.iter().take(200).find_map(|id| {
        let bytes = std::fs::read(runs.join(id).join(DATA_FILE)).ok()?;
        let data: RunData = serde_json::from_slice(&bytes).ok()?;
        (data.version == VERSION && data.pipeline == pipeline).then_some(data)
    })
}

/// What this run leaves for the next one to compare with.
pub fn data_of(pipeline: &str, run_id: &str, status: &str, jobs: &[JobView]) -> RunData {
    RunData {
        version: VERSION,
        pipeline: pipeline.to_string(),
        run_id: run_id.to_string(),
        status: status.to_string(),
        jobs: jobs
            .iter()
            .filter_map(|j| {
                let r = j.result?;
                Some(JobData {
                    name: j.info.name.clone(),
                    status: r.status.as_str().to_string(),
                    duration_ms: r.duration.as_millis() as u64,
                    attempts: r.attempts,
                })
            })
            .collect(),
    }
}

fn passed_alike(status: &str) -> &str {
    if status == "cached" {
        "success"
    } else {
        status
    }
}

/// How a job's time changed: `Some(true)` slower, `Some(false)` faster, when both runs ran it
/// and the change is worth telling (a second and a quarter of the time, at least).
pub fn speed_change(before: &JobData, now: &JobView) -> Option<bool> {
    let r = now.result?;
    let ran = |s: &str| matches!(s, "success" | "failed" | "allowed_failure");
    if !ran(&before.status) || !ran(r.status.as_str()) {
        return None;
    }
    let (b, n) = (before.duration_ms as f64, r.duration.as_millis() as f64);
    let delta = n - b;
    (delta.abs() >= 1000.0 && delta.abs() >= 0.25 * b).then_some(delta > 0.0)
}

/// The comparison section: every job whose status changed, that got slower or faster, or is
/// cached now; a line says when there was nothing to compare with.
pub fn render_comparison(out: &mut String, jobs: &[JobView], previous: Option<&RunData>) {
    out.push_str("<section id=\"comparison\">\n<h2>Compared with the previous run</h2>\n");
    let Some(prev) = previous else {
        out.push_str(
            "<p class=\"meta\">No earlier run of this pipeline to compare with.</p>\n</section>\n",
        );
        return;
    };
    let mut rows = String::new();
    let (mut changed, mut slower, mut faster, mut cached) = (0, 0, 0, 0);
    let names: HashMap<&str, ()> = jobs.iter().map(|j| (j.info.name.as_str(), ())).collect();
    for j in jobs {
        let Some(r) = j.result else { continue };
        let now = r.status.as_str();
        let before = prev.job(&j.info.name);
        let mut what = Vec::new();
        match before {
            None => what.push("new in this run".to_string()),
            // A cached result is the earlier success again, not a change.
            Some(b) if passed_alike(&b.status) != passed_alike(now) => {
                changed += 1;
                what.push(format!("was {}", b.status.replace('_', " ")));
            }
            Some(_) => {}
        }
        if j.shown == Shown::Done(crate::event::JobStatus::Cached) {
            cached += 1;
            what.push("cached".into());
        }
        if let Some(b) = before
            && let Some(slow) = speed_change(b, j)
        {
            if slow {
                slower += 1;
            } else {
                faster += 1;
            }
            what.push(format!(
                "{} ({} → {})",
                if slow { "slower" } else { "faster" },
                format::duration(Duration::from_millis(b.duration_ms)),
                format::duration(r.duration)
            ));
        }
        if what.is_empty() {
            continue;
        }
        let _ = writeln!(
            rows,
            "<tr class=\"cmp\" data-job=\"{}\"><td><a href=\"#job-{}\">{}</a></td><td>{}</td>\
             <td><span class=\"badge {now}\">{}</span></td><td>{}</td></tr>",
            esc(&j.info.name),
            j.index,
            esc(&j.info.name),
            before
                .map(|b| esc(&b.status.replace('_', " ")))
                .unwrap_or_else(|| "-".into()),
            now.replace('_', " "),
            esc(&what.join("; ")),
        );
    }
    let gone: Vec<&str> = prev
        .jobs
        .iter()
        .filter(|b| !names.contains_key(b.name.as_str()))
        .map(|b| b.name.as_str())
        .collect();
    let _ = writeln!(
        out,
        "<p class=\"meta\">Against run <code>{}</code> ({}): {changed} changed status, {slower} slower, \
         {faster} faster, {cached} cached{}.</p>",
        esc(&prev.run_id),
        esc(&prev.status),
        if gone.is_empty() {
            String::new()
        } else {
            format!(
                ", {} not in this run ({})",
                gone.len(),
                esc(&gone.join(", "))
            )
        }
    );
    if !rows.is_empty() {
        out.push_str(
            "<table class=\"compare\"><thead><tr><th>Job</th><th>Before</th><th>Now</th><th>Change</th></tr></thead>\n<tbody>\n",
        );
        out.push_str(&rows);
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
}
