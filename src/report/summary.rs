//! The end-of-run summary for people: a table of every job, the tail of each failed job's log,
//! the wall time and where to look next. A pure function of the results, so it can be tested
//! (and snapshot) without a terminal.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use console::{Style, measure_text_width};

use super::format;
use super::log_tail::read_tail;
use crate::event::{JobInfo, JobResult, JobStatus, PipelineStatus};

/// How many log lines of a failed job the summary shows: enough for the error and what led to
/// it, few enough that several failures still fit on a screen.
pub const SUMMARY_TAIL_LINES: usize = 15;

/// The colour of a status, the same in the table, the progress lines and the verdict.
pub fn status_style(status: JobStatus) -> Style {
    match status {
        JobStatus::Success => Style::new().green(),
        JobStatus::Failed => Style::new().red().bold(),
        JobStatus::AllowedFailure => Style::new().yellow(),
        JobStatus::Skipped | JobStatus::Manual => Style::new().dim(),
        JobStatus::Cached => Style::new().cyan(),
        JobStatus::Canceled => Style::new().magenta(),
    }
}

/// `text` in `style` when colour is on. Styling is forced rather than left to console's own
/// detection, which looks at stdout while these reports go to stderr.
pub fn paint(text: &str, style: &Style, color: bool) -> String {
    if color {
        style.clone().force_styling(true).apply_to(text).to_string()
    } else {
        text.to_string()
    }
}

/// The table, the failed jobs' log tails, the stages' wall times, the run's wall time and the
/// run directory.
pub fn render_summary(
    jobs: &[(JobInfo, JobResult)],
    stages: &[super::stage_times::StageTime],
    total: Duration,
    run_dir: &Path,
    color: bool,
) -> String {
    let mut out = String::new();
    out.push_str(&render_table(jobs, color));
    out.push('\n');
    out.push_str(&render_counts(jobs, color));

    for (info, result) in jobs.iter().filter(|(_, r)| r.status == JobStatus::Failed) {
        out.push('\n');
        render_failure(&mut out, info, result, run_dir, color);
    }

    if !stages.is_empty() {
        out.push('\n');
        out.push_str(&super::stage_times::render_stages(stages, color));
    }
    let bold = Style::new().bold();
    let _ = writeln!(
        out,
        "\n{} {}",
        paint("Total wall time:", &bold, color),
        format::duration(total)
    );
    let _ = writeln!(
        out,
        "{} {}",
        paint("Logs and reports:", &bold, color),
        run_dir.display()
    );
    let _ = writeln!(
        out,
        "{} {}",
        paint("Report:", &bold, color),
        run_dir.join(super::html::REPORT_FILE).display()
    );
    out
}

/// The last line: the pipeline's verdict, as the scheduler decided it.
pub fn render_verdict(status: PipelineStatus, color: bool) -> String {
    let (word, style) = match status {
        PipelineStatus::Success => ("passed", status_style(JobStatus::Success).bold()),
        PipelineStatus::Failed => ("failed", status_style(JobStatus::Failed)),
        PipelineStatus::Canceled => ("canceled", status_style(JobStatus::Canceled).bold()),
    };
    format!("{}\n", paint(&format!("Pipeline {word}"), &style, color))
}

fn render_table(jobs: &[(JobInfo, JobResult)], color: bool) -> String {
    let header = ["JOB", "STATUS", "DURATION", "PLATFORM", "REASON"];
    let rows: Vec<(JobStatus, [String; 5])> = jobs
        .iter()
        .map(|(info, r)| {
            let duration = format::shown_duration(r).unwrap_or_else(|| "-".into());
            let platform = if r.platform.is_empty() {
                info.platform.clone()
            } else {
                r.platform.clone()
            };
            let cells = [
                info.name.clone(),
                format::status_word(r.status).to_string(),
                duration,
                platform,
                format::reason(r).unwrap_or_default(),
            ];
            (r.status, cells)
        })
        .collect();

    let mut widths = header.map(measure_text_width);
    for (_, cells) in &rows {
        for (w, cell) in widths.iter_mut().zip(cells) {
            *w = (*w).max(measure_text_width(cell));
        }
    }

    let mut out = String::new();
    let header_cells = header.map(String::from);
    let bold = Style::new().bold();
    let line = layout(" ", &header_cells, &widths, |_, cell| cell);
    let _ = writeln!(out, "{}", paint(&line, &bold, color));
    for (status, cells) in &rows {
        let style = status_style(*status);
        let symbol = paint(format::status_symbol(*status), &style, color);
        // Pad first, then colour: escape codes have no width, so padding after would misalign.
        let line = layout(&symbol, cells, &widths, |i, cell| {
            if i == 1 {
                paint(&cell, &style, color)
            } else {
                cell
            }
        });
        let _ = writeln!(out, "{line}");
    }
    out
}

/// One table line: the symbol, then each cell padded to its column (the duration right-aligned)
/// and passed through `style`, with no trailing spaces. Symbols are one column wide.
fn layout(
    symbol: &str,
    cells: &[String; 5],
    widths: &[usize; 5],
    style: impl Fn(usize, String) -> String,
) -> String {
    let shown = cells
        .iter()
        .rposition(|c| !c.is_empty())
        .map_or(0, |i| i + 1);
    let mut line = format!("{symbol} ");
    for (i, (cell, &w)) in cells.iter().zip(widths).enumerate().take(shown) {
        let pad = " ".repeat(w.saturating_sub(measure_text_width(cell)));
        if i > 0 {
            line.push_str("  ");
        }
        let padded = if i == 2 {
            format!("{pad}{cell}")
        } else if i + 1 == shown {
            cell.clone()
        } else {
            format!("{cell}{pad}")
        };
        line.push_str(&style(i, padded));
    }
    line
}

/// `7 jobs: 3 passed, 1 failed, 1 skipped`, naming only the statuses that occurred.
pub fn render_counts(jobs: &[(JobInfo, JobResult)], color: bool) -> String {
    let parts: Vec<String> = format::ALL_STATUSES
        .iter()
        .filter_map(|&status| {
            let n = jobs.iter().filter(|(_, r)| r.status == status).count();
            (n > 0).then(|| {
                let text = format!("{n} {}", format::status_word(status));
                paint(&text, &status_style(status), color)
            })
        })
        .collect();
    let noun = if jobs.len() == 1 { "job" } else { "jobs" };
    if parts.is_empty() {
        format!("{} {noun}\n", jobs.len())
    } else {
        format!("{} {noun}: {}\n", jobs.len(), parts.join(", "))
    }
}

fn render_failure(
    out: &mut String,
    info: &JobInfo,
    result: &JobResult,
    run_dir: &Path,
    color: bool,
) {
    let style = status_style(JobStatus::Failed);
    let title = format!(
        "{} {} failed",
        format::status_symbol(JobStatus::Failed),
        info.name
    );
    let Some(log) = &result.log else {
        let _ = writeln!(out, "{} (no log file)", paint(&title, &style, color));
        return;
    };
    let shown = log.strip_prefix(run_dir).unwrap_or(log);
    match read_tail(log, SUMMARY_TAIL_LINES) {
        Ok(lines) => {
            let _ = writeln!(
                out,
                "{}: last {} lines of {}",
                paint(&title, &style, color),
                lines.len(),
                shown.display()
            );
            let bar = paint("|", &Style::new().dim(), color);
            for line in lines {
                let _ = writeln!(out, "  {bar} {line}");
            }
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "{}: cannot read {}: {e}",
                paint(&title, &style, color),
                shown.display()
            );
        }
    }
}
