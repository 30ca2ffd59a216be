//! The HTML report: one self-contained page (no external assets, so it opens from an archive or
//! a CI artifact as well as from disk) written to `RUN_DIR/report.html` and, with `--html FILE`,
//! to FILE too. Links to the job logs are relative to wherever the page is.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Reporter;
use super::files::{relative_href, write_atomic};
use super::format;
use super::log_tail::read_tail;
use super::record::RunRecord;
use super::summary::render_counts;
use crate::event::{JobInfo, JobResult, JobStatus, PipelineStatus, RunEvent};

/// Log lines shown for each failed job: as for JUnit, the page may be all a reader opens.
pub const HTML_TAIL_LINES: usize = 50;

/// The page's name in the run directory.
pub const REPORT_FILE: &str = "report.html";

pub struct HtmlReporter {
    extra: Option<PathBuf>,
    record: RunRecord,
    written: bool,
}

impl HtmlReporter {
    /// Always writes `RUN_DIR/report.html`; `extra` is another path (`--html FILE`).
    pub fn new(extra: Option<PathBuf>) -> Self {
        HtmlReporter {
            extra,
            record: RunRecord::default(),
            written: false,
        }
    }

    fn write(&mut self) -> io::Result<()> {
        self.written = true;
        let (status, total) = match self.record.finished {
            Some((s, d)) => (Some(s), d),
            None => (None, Duration::ZERO),
        };
        let run = Run {
            run_id: &self.record.run_id,
            status,
            total,
            jobs: &self.record.outcomes(),
            run_dir: &self.record.run_dir,
        };
        let mut targets = Vec::new();
        if !self.record.run_dir.as_os_str().is_empty() {
            targets.push(self.record.run_dir.join(REPORT_FILE));
        }
        targets.extend(self.extra.clone());
        let mut first = Ok(());
        for target in targets {
            let page_dir = target.parent().unwrap_or(Path::new("."));
            let html = render_html(&run, page_dir);
            let res = write_atomic(&target, html.as_bytes());
            if first.is_ok() {
                first = res;
            }
        }
        first
    }
}

impl Reporter for HtmlReporter {
    fn report(&mut self, event: &RunEvent) -> io::Result<()> {
        self.record.observe(event);
        match event {
            RunEvent::PipelineStarted { .. } => {
                self.written = false;
                Ok(())
            }
            RunEvent::PipelineFinished { .. } => self.write(),
            _ => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        // A run cut short still gets a page, marked incomplete.
        if self.record.started && !self.written {
            self.write()?;
        }
        Ok(())
    }
}

/// Everything the page shows.
pub struct Run<'a> {
    pub run_id: &'a str,
    /// `None` when the run ended without the scheduler saying how.
    pub status: Option<PipelineStatus>,
    pub total: Duration,
    pub jobs: &'a [(JobInfo, JobResult)],
    pub run_dir: &'a Path,
}

/// The page, with links made relative to `page_dir`, the directory it will be written to.
pub fn render_html(run: &Run, page_dir: &Path) -> String {
    let (status_class, status_word) = match run.status {
        Some(PipelineStatus::Success) => ("success", "passed"),
        Some(PipelineStatus::Failed) => ("failed", "failed"),
        Some(PipelineStatus::Canceled) => ("canceled", "canceled"),
        None => ("canceled", "incomplete"),
    };
    let counts = render_counts(run.jobs, false);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Pipeline {status_word} · tezos-ci-local {}</title>\n<style>{CSS}</style>\n</head>\n",
        esc(run.run_id)
    );
    out.push_str("<body>\n<header>\n");
    let _ = writeln!(
        out,
        "<h1>Pipeline <span class=\"badge {status_class}\">{status_word}</span></h1>"
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Run <code>{}</code> · {} · {}</p>",
        esc(run.run_id),
        format::duration(run.total),
        esc(counts.trim_end())
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Logs and reports in <code>{}</code></p>",
        esc(&run.run_dir.display().to_string())
    );
    out.push_str("</header>\n<main>\n");
    render_table(&mut out, run.jobs, page_dir);
    render_failures(&mut out, run.jobs, page_dir);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn render_table(out: &mut String, jobs: &[(JobInfo, JobResult)], page_dir: &Path) {
    out.push_str(
        "<table>\n<thead><tr><th></th><th>Job</th><th>Status</th><th class=\"num\">Duration</th>\
         <th>Platform</th><th class=\"num\">Coverage</th><th>Log</th><th>Reason</th></tr></thead>\n",
    );
    // Stages in the order the pipeline first lists them, as GitLab draws its columns.
    let mut stages: Vec<&str> = Vec::new();
    for (info, _) in jobs {
        if !stages.contains(&info.stage.as_str()) {
            stages.push(&info.stage);
        }
    }
    for stage in stages {
        let label = if stage.is_empty() {
            "(unknown stage)"
        } else {
            stage
        };
        out.push_str("<tbody>\n");
        let _ = writeln!(
            out,
            "<tr class=\"stage\"><th colspan=\"8\">{}</th></tr>",
            esc(label)
        );
        for (i, (info, r)) in jobs.iter().enumerate() {
            if info.stage != stage {
                continue;
            }
            let class = r.status.as_str();
            let name = if r.status == JobStatus::Failed {
                format!("<a href=\"#job-{i}\">{}</a>", esc(&info.name))
            } else {
                esc(&info.name)
            };
            let duration = format::shown_duration(r).unwrap_or_else(|| "-".into());
            let platform = if r.platform.is_empty() {
                &info.platform
            } else {
                &r.platform
            };
            let coverage = r.coverage.map(|c| format!("{c:.2}%")).unwrap_or_default();
            let log = match &r.log {
                Some(p) => format!("<a href=\"{}\">log</a>", esc(&relative_href(page_dir, p))),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "<tr class=\"{class}\"><td class=\"sym\">{}</td><td>{name}</td>\
                 <td><span class=\"badge {class}\">{}</span></td><td class=\"num\">{duration}</td>\
                 <td>{}</td><td class=\"num\">{coverage}</td><td>{log}</td><td>{}</td></tr>",
                format::status_symbol(r.status),
                format::status_word(r.status),
                esc(platform),
                esc(&format::reason(r).unwrap_or_default()),
            );
        }
        out.push_str("</tbody>\n");
    }
    out.push_str("</table>\n");
}

fn render_failures(out: &mut String, jobs: &[(JobInfo, JobResult)], page_dir: &Path) {
    let failed: Vec<_> = jobs
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| r.status == JobStatus::Failed)
        .collect();
    if failed.is_empty() {
        return;
    }
    out.push_str("<section>\n<h2>Failed jobs</h2>\n");
    for (i, (info, r)) in failed {
        let _ = writeln!(out, "<article id=\"job-{i}\">");
        let _ = writeln!(
            out,
            "<h3>{} <small>{}</small></h3>",
            esc(&info.name),
            esc(&format::reason(r).unwrap_or_default())
        );
        match &r.log {
            None => out.push_str("<p>No log file.</p>\n"),
            Some(p) => {
                let href = esc(&relative_href(page_dir, p));
                match read_tail(p, HTML_TAIL_LINES) {
                    Ok(lines) => {
                        let _ = writeln!(
                            out,
                            "<p>Last {} lines of <a href=\"{href}\">the log</a>:</p>\n<pre>{}</pre>",
                            lines.len(),
                            esc(&lines.join("\n"))
                        );
                    }
                    Err(e) => {
                        let _ = writeln!(
                            out,
                            "<p>Cannot read <a href=\"{href}\">the log</a>: {}</p>",
                            esc(&e.to_string())
                        );
                    }
                }
            }
        }
        out.push_str("</article>\n");
    }
    out.push_str("</section>\n");
}

/// Text made safe for HTML content and for double- or single-quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Light and dark, from the reader's own preference; status colours readable in both.
const CSS: &str = "
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #656d76; --line: #d0d7de;
  --success: #1a7f37; --failed: #cf222e; --warn: #9a6700; --skip: #656d76; --cached: #0969da;
  --canceled: #8250df; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0;
  --line: #30363d; --success: #3fb950; --failed: #f85149; --warn: #d29922; --skip: #8d96a0;
  --cached: #4493f8; --canceled: #a371f7; } }
body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg);
  margin: 2em auto; max-width: 80em; padding: 0 1em; }
h1 { font-size: 1.6em; margin: 0 0 .3em; }
.meta { color: var(--muted); margin: .2em 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
table { border-collapse: collapse; width: 100%; margin: 1.5em 0; }
th, td { text-align: left; padding: .35em .7em; border-bottom: 1px solid var(--line); }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.stage th { background: color-mix(in srgb, var(--line) 40%, transparent); text-transform: uppercase;
  font-size: .8em; letter-spacing: .05em; }
.badge { display: inline-block; padding: 0 .5em; border-radius: 1em; font-weight: 600;
  border: 1px solid currentColor; }
.success { color: var(--success); } .failed { color: var(--failed); }
.allowed_failure { color: var(--warn); } .skipped, .manual { color: var(--skip); }
.cached { color: var(--cached); } .canceled { color: var(--canceled); }
tr.success, tr.failed, tr.allowed_failure, tr.skipped, tr.manual, tr.cached, tr.canceled { color: inherit; }
td.sym { width: 1em; }
tr.success td.sym { color: var(--success); } tr.failed td.sym { color: var(--failed); }
tr.allowed_failure td.sym { color: var(--warn); } tr.cached td.sym { color: var(--cached); }
tr.canceled td.sym { color: var(--canceled); } tr.skipped td.sym, tr.manual td.sym { color: var(--skip); }
a { color: var(--cached); }
article { margin: 1.5em 0; }
h3 small { color: var(--muted); font-weight: normal; }
pre { background: color-mix(in srgb, var(--line) 25%, transparent); padding: .8em 1em;
  overflow-x: auto; border-left: 3px solid var(--failed); }
";
