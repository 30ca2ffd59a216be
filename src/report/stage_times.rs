//! Per-stage times for the end of a run: for each stage, how many jobs it has and its wall time,
//! from the first start of one of its jobs to the last end (jobs of a stage overlap, and with
//! `needs` stages overlap too, so this is not a sum).

use std::fmt::Write as _;
use std::time::Duration;

use console::{Style, measure_text_width};

use super::format;
use super::html_times::RunTimes;
use super::summary::paint;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageTime {
    pub stage: String,
    pub jobs: usize,
    /// From the first attempt's start to the last attempt's end; `None` when none of its jobs
    /// ran here (cached, skipped, manual).
    pub wall: Option<Duration>,
}

/// The stages in pipeline order, as `times` observed the run.
pub fn stage_times(times: &RunTimes) -> Vec<StageTime> {
    let mut out: Vec<(StageTime, Option<(Duration, Duration)>)> = Vec::new();
    for job in times.jobs() {
        if job.stage.is_empty() {
            continue;
        }
        let span = times.times.get(&job.name).and_then(|t| {
            let start = t.attempts.first()?.start;
            let end = t
                .attempts
                .last()
                .and_then(|a| a.end)
                .or(t.finished)
                .unwrap_or(times.now);
            Some((start, end))
        });
        let i = match out.iter().position(|(s, _)| s.stage == job.stage) {
            Some(i) => i,
            None => {
                out.push((
                    StageTime {
                        stage: job.stage.clone(),
                        jobs: 0,
                        wall: None,
                    },
                    None,
                ));
                out.len() - 1
            }
        };
        let (stage, bounds) = &mut out[i];
        stage.jobs += 1;
        if let Some((s, e)) = span {
            *bounds = Some(match *bounds {
                None => (s, e),
                Some((s0, e0)) => (s0.min(s), e0.max(e)),
            });
        }
    }
    out.into_iter()
        .map(|(mut s, b)| {
            s.wall = b.map(|(start, end)| end.saturating_sub(start));
            s
        })
        .collect()
}

/// `Stages:` then a line per stage: its name, its number of jobs, its wall time.
pub fn render_stages(stages: &[StageTime], color: bool) -> String {
    if stages.is_empty() {
        return String::new();
    }
    let rows: Vec<[String; 3]> = stages
        .iter()
        .map(|s| {
            [
                s.stage.clone(),
                format!("{} {}", s.jobs, if s.jobs == 1 { "job" } else { "jobs" }),
                s.wall.map(format::duration).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| measure_text_width(&r[i]))
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut out = format!(
        "{}\n",
        paint("Stages (wall time):", &Style::new().bold(), color)
    );
    for [stage, jobs, wall] in &rows {
        let _ = writeln!(out, "  {stage:<w0$}  {jobs:<w1$}  {wall:>w2$}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{JobInfo, JobResult, JobStatus, RunEvent};

    fn info(name: &str, stage: &str) -> JobInfo {
        JobInfo {
            name: name.into(),
            stage: stage.into(),
            platform: "linux/amd64".into(),
            when: "on_success".into(),
            allow_failure: false,
            needs: Vec::new(),
            uses_needs: false,
        }
    }

    fn finished(job: &str, status: JobStatus) -> RunEvent {
        RunEvent::JobFinished {
            job: job.into(),
            result: JobResult {
                status,
                exit_code: None,
                duration: Duration::ZERO,
                platform: "linux/amd64".into(),
                attempts: 1,
                reason: None,
                coverage: None,
                log: None,
                junit: Vec::new(),
            },
        }
    }

    fn started(job: &str) -> RunEvent {
        RunEvent::JobStarted {
            job: job.into(),
            platform: "linux/amd64".into(),
            attempt: 1,
        }
    }

    #[test]
    fn wall_time_spans_the_stages_jobs() {
        let s = Duration::from_secs;
        let mut t = RunTimes::default();
        let events = [
            (
                RunEvent::PipelineStarted {
                    run_id: "r".into(),
                    run_dir: "/r".into(),
                    jobs: vec![
                        info("a", "build"),
                        info("b", "build"),
                        info("c", "test"),
                        info("d", "deploy"),
                    ],
                },
                s(0),
            ),
            (started("a"), s(1)),
            (started("b"), s(2)),
            (finished("a", JobStatus::Success), s(5)),
            (finished("b", JobStatus::Success), s(4)),
            (started("c"), s(5)),
            (finished("c", JobStatus::Success), s(65)),
            (finished("d", JobStatus::Cached), s(65)),
        ];
        for (e, at) in &events {
            t.observe(e, *at);
        }
        let stages = stage_times(&t);
        let walls: Vec<(&str, usize, Option<Duration>)> = stages
            .iter()
            .map(|s| (s.stage.as_str(), s.jobs, s.wall))
            .collect();
        assert_eq!(
            walls,
            [
                ("build", 2, Some(s(4))),
                ("test", 1, Some(s(60))),
                ("deploy", 1, None)
            ]
        );
        assert_eq!(
            render_stages(&stages, false),
            "Stages (wall time):\n  build   2 jobs    4.0s\n  test    1 job   1m 00s\n  deploy  1 job        -\n"
        );
    }
}
