//! The HTML report: one self-contained page (no external file, no network, so it opens from an
//! archive or a ticket as well as from disk) written to `RUN_DIR/report.html` and, with
//! `--html FILE`, to FILE too. It shows the job graph, the timeline, the comparison with the
//! previous run of the same pipeline and every job's log.
//!
//! Live: the page is rewritten as events arrive, at most once a second, by a thread of its own
//! (the dispatcher only hands it events), and reloads itself in the browser until the run ends.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Reporter;
use super::ansi_html::ANSI_CSS;
use super::files::write_atomic;
use super::format;
use super::html_graph::render_graph;
use super::html_history::{self, DATA_FILE, RunData, render_comparison};
use super::html_jobs::render_jobs;
use super::html_timeline::render_timeline;
use super::html_times::{JobTimes, RunTimes, Shown};
use super::summary::render_counts;
use crate::event::{JobInfo, JobResult, PipelineStatus, RunEvent};

/// The page's name in the run directory.
pub const REPORT_FILE: &str = "report.html";

/// The page is rewritten at most this often while the run goes.
pub const LIVE_INTERVAL: Duration = Duration::from_secs(1);

/// What the page needs beyond the events.
#[derive(Debug, Clone, Default)]
pub struct PageOptions {
    /// Open the page in the user's browser once it is first written (`--open`).
    pub open: bool,
    /// `--engine PLATFORM=ADDRESS` routes, shown next to the platform of each job.
    pub engines: Vec<String>,
    /// What makes two runs the same pipeline, for the comparison (project directory and file).
    pub pipeline: String,
}

enum Msg {
    Event(Box<RunEvent>, Duration),
}

pub struct HtmlReporter {
    extra: Option<PathBuf>,
    options: PageOptions,
    started_at: Option<Instant>,
    tx: Option<mpsc::Sender<Msg>>,
    writer: Option<JoinHandle<io::Result<()>>>,
}

impl HtmlReporter {
    /// Always writes `RUN_DIR/report.html`; `extra` is another path (`--html FILE`).
    pub fn new(extra: Option<PathBuf>) -> Self {
        Self::with_options(extra, PageOptions::default())
    }

    pub fn with_options(extra: Option<PathBuf>, options: PageOptions) -> Self {
        HtmlReporter {
            extra,
            options,
            started_at: None,
            tx: None,
            writer: None,
        }
    }

    /// Takes `event` as if it arrived `at` after the pipeline started (the timeline's clock):
    /// [`Reporter::report`] passes the real time; tests and benchmarks pass their own.
    pub fn report_at(&mut self, event: &RunEvent, at: Duration) -> io::Result<()> {
        if matches!(event, RunEvent::JobLog { .. }) {
            // Logs are read from their files when the page is written.
            return Ok(());
        }
        if matches!(event, RunEvent::PipelineStarted { .. }) {
            self.close()?;
            let (tx, rx) = mpsc::channel();
            let mut writer = Writer {
                extra: self.extra.clone(),
                options: self.options.clone(),
                times: RunTimes::default(),
                previous: None,
                last_write: None,
                dirty: false,
                final_written: false,
            };
            self.tx = Some(tx);
            self.writer = Some(
                std::thread::Builder::new()
                    .name("html-report".into())
                    .spawn(move || writer.run(rx))?,
            );
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Event(Box::new(event.clone()), at));
        }
        if matches!(event, RunEvent::PipelineFinished { .. }) {
            // The final page is on disk when the run's last event has been reported.
            self.close()?;
        }
        Ok(())
    }

    /// Ends the writer: it writes what it has (a run cut short gets a page marked incomplete).
    fn close(&mut self) -> io::Result<()> {
        self.tx = None;
        match self.writer.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the HTML report's writer panicked"))),
            None => Ok(()),
        }
    }
}

impl Reporter for HtmlReporter {
    fn report(&mut self, event: &RunEvent) -> io::Result<()> {
        if matches!(event, RunEvent::PipelineStarted { .. }) {
            self.started_at = Some(Instant::now());
        }
        let at = self.started_at.map(|t| t.elapsed()).unwrap_or_default();
        self.report_at(event, at)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.close()
    }
}

/// The thread that owns the page: it takes events, and writes the page at most once a second.
struct Writer {
    extra: Option<PathBuf>,
    options: PageOptions,
    times: RunTimes,
    previous: Option<RunData>,
    last_write: Option<Instant>,
    dirty: bool,
    final_written: bool,
}

impl Writer {
    fn run(&mut self, rx: mpsc::Receiver<Msg>) -> io::Result<()> {
        let mut first_err = None;
        loop {
            let msg = match (self.dirty, self.last_write) {
                (true, Some(last)) => {
                    let wait = LIVE_INTERVAL.saturating_sub(last.elapsed());
                    match rx.recv_timeout(wait) {
                        Ok(m) => Some(m),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                _ => match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => break,
                },
            };
            let res = match msg {
                None => self.write(true),
                Some(Msg::Event(event, at)) => self.take(&event, at),
            };
            if let Err(e) = res {
                first_err.get_or_insert(e);
            }
        }
        if self.times.record.started && !self.final_written {
            if let Err(e) = self.write(false) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn take(&mut self, event: &RunEvent, at: Duration) -> io::Result<()> {
        self.times.observe(event, at);
        match event {
            RunEvent::PipelineStarted { run_dir, .. } => {
                if !self.options.pipeline.is_empty() {
                    self.previous = html_history::previous(run_dir, &self.options.pipeline);
                }
                let res = self.write(true);
                if self.options.open {
                    open_in_browser(&self.targets()[0]);
                }
                res
            }
            RunEvent::PipelineFinished { .. } => {
                let res = self.write(false);
                self.final_written = true;
                res
            }
            _ => {
                self.dirty = true;
                match self.last_write {
                    Some(t) if t.elapsed() < LIVE_INTERVAL => Ok(()),
                    _ => self.write(true),
                }
            }
        }
    }

    fn targets(&self) -> Vec<PathBuf> {
        let mut targets = Vec::new();
        if !self.times.record.run_dir.as_os_str().is_empty() {
            targets.push(self.times.record.run_dir.join(REPORT_FILE));
        }
        targets.extend(self.extra.clone());
        targets
    }

    fn write(&mut self, live: bool) -> io::Result<()> {
        self.dirty = false;
        self.last_write = Some(Instant::now());
        let views = views(&self.times, &self.options.engines);
        let status = self.times.record.finished.map(|(s, _)| s);
        let total = match self.times.record.finished {
            Some((_, d)) => d,
            None => self.times.now,
        };
        let run = Page {
            run_id: &self.times.record.run_id,
            status,
            live: live && status.is_none(),
            total,
            now: self.times.now,
            jobs: &views,
            run_dir: &self.times.record.run_dir,
            previous: self.previous.as_ref(),
        };
        let mut first = Ok(());
        for target in self.targets() {
            let page_dir = target.parent().unwrap_or(Path::new("."));
            let html = render_page(&run, page_dir);
            let res = write_atomic(&target, html.as_bytes());
            if first.is_ok() {
                first = res;
            }
        }
        if let Some(s) = status
            && !self.options.pipeline.is_empty()
            && !run.run_dir.as_os_str().is_empty()
        {
            let word = match s {
                PipelineStatus::Success => "success",
                PipelineStatus::Failed => "failed",
                PipelineStatus::Canceled => "canceled",
            };
            let data = html_history::data_of(&self.options.pipeline, run.run_id, word, &views);
            let bytes = serde_json::to_vec_pretty(&data).unwrap_or_default();
            let res = write_atomic(&run.run_dir.join(DATA_FILE), &bytes);
            if first.is_ok() {
                first = res;
            }
        }
        first
    }
}

/// `xdg-open` (or macOS's `open`) on the page, not waited for: the run goes on.
pub fn open_in_browser(page: &Path) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Ok(mut child) = std::process::Command::new(opener)
        .arg(page)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        // Reaped in the background, so no zombie stays behind.
        std::thread::spawn(move || child.wait());
    }
}

/// One job as the page shows it.
pub struct JobView<'a> {
    /// Its position in the pipeline, which names its section (`#job-N`).
    pub index: usize,
    pub info: &'a JobInfo,
    pub shown: Shown,
    pub result: Option<&'a JobResult>,
    pub times: Option<&'a JobTimes>,
    /// The `--engine` address its platform is routed to, if any.
    pub engine: Option<&'a str>,
    pub run_dir: &'a Path,
}

impl JobView<'_> {
    pub fn platform(&self) -> &str {
        match (self.result, self.times.and_then(|t| t.attempts.last())) {
            (Some(r), _) if !r.platform.is_empty() => &r.platform,
            (_, Some(a)) => &a.platform,
            _ => &self.info.platform,
        }
    }

    /// The platform and, when routed, the engine.
    pub fn where_label(&self) -> String {
        match self.engine {
            Some(e) => format!("{} @ {e}", self.platform()),
            None => self.platform().to_string(),
        }
    }

    pub fn engine_suffix(&self) -> String {
        match self.engine {
            Some(e) => format!(", engine {e}"),
            None => ", local engine".to_string(),
        }
    }

    /// Each attempt's log file, oldest first.
    pub fn log_paths(&self) -> Vec<(u32, PathBuf)> {
        let ran = self.times.map(|t| t.attempts.len() as u32).unwrap_or(0);
        let attempts = self.result.map(|r| r.attempts).unwrap_or(0).max(ran);
        let name = crate::store::file_name_for(&self.info.name);
        let logs = self.run_dir.join("logs");
        let mut out: Vec<(u32, PathBuf)> = (1..=attempts)
            .map(|k| {
                let file = if k <= 1 {
                    format!("{name}.log")
                } else {
                    format!("{name}.attempt-{k}.log")
                };
                (k, logs.join(file))
            })
            .collect();
        // The result names the log it kept (a cached job's is restored from the cache).
        if let Some(log) = self.result.and_then(|r| r.log.clone()) {
            match out.last_mut() {
                Some(last) => last.1 = log,
                None => out.push((1, log)),
            }
        }
        out
    }
}

fn views<'a>(times: &'a RunTimes, engines: &'a [String]) -> Vec<JobView<'a>> {
    times
        .jobs()
        .iter()
        .enumerate()
        .map(|(index, info)| {
            let mut v = JobView {
                index,
                info,
                shown: times.shown(&info.name),
                result: times.result(&info.name),
                times: times.times.get(&info.name),
                engine: None,
                run_dir: &times.record.run_dir,
            };
            let platform = v.platform().to_string();
            v.engine = engines.iter().find_map(|r| {
                let (p, addr) = r.split_once('=')?;
                (p == platform).then_some(addr)
            });
            v
        })
        .collect()
}

/// Everything the page shows.
pub struct Page<'a> {
    pub run_id: &'a str,
    /// `None` while the run goes, or when it ended without the scheduler saying how.
    pub status: Option<PipelineStatus>,
    /// Still running: the page reloads itself.
    pub live: bool,
    pub total: Duration,
    pub now: Duration,
    pub jobs: &'a [JobView<'a>],
    pub run_dir: &'a Path,
    pub previous: Option<&'a RunData>,
}

/// The page, with links made relative to `page_dir`, the directory it will be written to.
pub fn render_page(page: &Page, page_dir: &Path) -> String {
    let (status_class, status_word) = match (page.status, page.live) {
        (Some(PipelineStatus::Success), _) => ("success", "passed"),
        (Some(PipelineStatus::Failed), _) => ("failed", "failed"),
        (Some(PipelineStatus::Canceled), _) => ("canceled", "canceled"),
        (None, true) => ("running", "running"),
        (None, false) => ("canceled", "incomplete"),
    };
    let done: Vec<(JobInfo, JobResult)> = page
        .jobs
        .iter()
        .filter_map(|j| Some((j.info.clone(), j.result?.clone())))
        .collect();
    let counts = render_counts(&done, false);
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Pipeline {status_word} · tezos-ci-local {}</title>\n",
        esc(page.run_id)
    );
    if page.live {
        out.push_str("<noscript><meta http-equiv=\"refresh\" content=\"2\"></noscript>\n");
    }
    let _ = write!(out, "<style>{CSS}{ANSI_CSS}</style>\n</head>\n");
    let _ = writeln!(
        out,
        "<body data-live=\"{}\">\n<header>",
        u8::from(page.live)
    );
    let _ = writeln!(
        out,
        "<h1>Pipeline <span id=\"status\" class=\"badge {status_class}\">{status_word}</span></h1>"
    );
    let running = page
        .jobs
        .iter()
        .filter(|j| j.shown == Shown::Running)
        .count();
    let _ = writeln!(
        out,
        "<p class=\"meta\">Run <code>{}</code> · {} · {}{}</p>",
        esc(page.run_id),
        format::duration(page.total),
        if done.is_empty() {
            format!("{} jobs", page.jobs.len())
        } else {
            esc(counts.trim_end())
        },
        if page.live {
            format!(" · {running} running · this page reloads until the run ends")
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Logs, artifacts and reports in <code>{}</code></p>",
        esc(&page.run_dir.display().to_string())
    );
    out.push_str(
        "<nav><a href=\"#graph\">Graph</a> <a href=\"#timeline\">Timeline</a> \
         <a href=\"#comparison\">Comparison</a> <a href=\"#jobs\">Jobs</a></nav>\n</header>\n<main>\n",
    );
    out.push_str("<section id=\"graph\">\n<h2>Graph</h2>\n<div class=\"scroll\">");
    render_graph(&mut out, page.jobs);
    out.push_str(
        "</div>\n<p class=\"legend\"><span class=\"success\">■ passed</span> <span class=\"failed\">■ failed</span> \
         <span class=\"allowed_failure\">■ allowed to fail</span> <span class=\"cached\">■ cached</span> \
         <span class=\"running\">■ running</span> <span class=\"skipped\">■ skipped, manual, pending</span> \
         <span class=\"canceled\">■ canceled</span> · arrows are <code>needs</code>; red arrows the path a \
         failure took</p>\n</section>\n",
    );
    out.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n<div class=\"scroll\">");
    render_timeline(&mut out, page.jobs, page.now.max(page.total));
    out.push_str(
        "</div>\n<p class=\"legend\">Light: waiting for a slot; solid: running (each attempt a bar, \
         earlier attempts of a retried job in red); outlined: on the critical path.</p>\n</section>\n",
    );
    render_comparison(&mut out, page.jobs, page.previous);
    render_jobs(&mut out, page.jobs, page.run_dir, page_dir, page.previous);
    out.push_str("</main>\n");
    if page.live {
        out.push_str(LIVE_SCRIPT);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The word shown for a job's state.
pub fn state_word(s: Shown) -> &'static str {
    match s {
        Shown::Done(status) => format::status_word(status),
        Shown::Pending => "pending",
        Shown::Queued => "queued",
        Shown::Running => "running",
    }
}

pub fn state_symbol(s: Shown) -> &'static str {
    match s {
        Shown::Done(status) => format::status_symbol(status),
        Shown::Pending | Shown::Queued => "·",
        Shown::Running => "▶",
    }
}

/// At most `n` characters, with an ellipsis when cut.
pub fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Text made safe for HTML content and for double- or single-quoted attribute values.
pub fn esc(s: &str) -> String {
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

/// Reloads the page every two seconds while the run goes, keeping the reader's place and the
/// sections they opened.
const LIVE_SCRIPT: &str = "<script>
(function () {
  var k = 'tezos-ci-local:' + location.pathname;
  try {
    var s = JSON.parse(sessionStorage.getItem(k) || 'null');
    if (s) {
      s.open.forEach(function (id) { var d = document.getElementById(id); if (d) d.open = true; });
      window.scrollTo(0, s.y);
    }
  } catch (e) {}
  setTimeout(function () {
    var open = [];
    document.querySelectorAll('details.job[open]').forEach(function (d) { open.push(d.id); });
    try { sessionStorage.setItem(k, JSON.stringify({ y: window.scrollY, open: open })); } catch (e) {}
    location.reload();
  }, 2000);
})();
</script>
";

/// Light and dark, from the reader's own preference; status colours readable in both.
const CSS: &str = "
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #656d76; --line: #d0d7de;
  --success: #1a7f37; --failed: #cf222e; --warn: #9a6700; --skip: #8c959f; --cached: #0969da;
  --canceled: #8250df; --running: #bf8700; --panel: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0;
  --line: #30363d; --success: #3fb950; --failed: #f85149; --warn: #d29922; --skip: #6e7681;
  --cached: #4493f8; --canceled: #a371f7; --running: #e3b341; --panel: #161b22; } }
body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg);
  margin: 1.5em auto; max-width: 90em; padding: 0 1em; }
h1 { font-size: 1.6em; margin: 0 0 .3em; } h2 { font-size: 1.2em; margin: 1.4em 0 .5em; }
.meta { color: var(--muted); margin: .2em 0; }
nav a { margin-right: 1em; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.scroll { overflow: auto; max-height: 80vh; border: 1px solid var(--line); border-radius: 6px; }
.badge { display: inline-block; padding: 0 .5em; border-radius: 1em; font-weight: 600;
  border: 1px solid currentColor; }
.success { color: var(--success); } .failed { color: var(--failed); }
.allowed_failure { color: var(--warn); } .skipped, .manual, .pending, .queued { color: var(--skip); }
.cached { color: var(--cached); } .canceled { color: var(--canceled); } .running { color: var(--running); }
a { color: var(--cached); }
svg text { font: 12px system-ui, sans-serif; fill: var(--fg); }
svg text.stage { font-weight: 600; text-transform: uppercase; fill: var(--muted); }
.node rect { fill: var(--panel); stroke: currentColor; stroke-width: 1.5; }
.node.success rect { fill: color-mix(in srgb, var(--success) 14%, var(--bg)); }
.node.failed rect { fill: color-mix(in srgb, var(--failed) 18%, var(--bg)); stroke-width: 2.5; }
.node.allowed_failure rect { fill: color-mix(in srgb, var(--warn) 14%, var(--bg)); }
.node.cached rect { fill: color-mix(in srgb, var(--cached) 12%, var(--bg)); stroke-dasharray: 4 2; }
.node.running rect { fill: color-mix(in srgb, var(--running) 16%, var(--bg)); }
.node.canceled rect { fill: color-mix(in srgb, var(--canceled) 10%, var(--bg)); }
.node.fail rect { stroke: var(--failed); }
.node text.sym { fill: currentColor; font-weight: bold; }
.node text.mark { fill: var(--cached); font-size: 10px; }
.node:hover rect { stroke-width: 3; }
.edge { fill: none; stroke: var(--muted); stroke-width: 1.2; opacity: .7; }
.edge.fail { stroke: var(--failed); stroke-width: 2.5; opacity: 1; }
.timeline .tick { stroke: var(--line); } .timeline text.tick { fill: var(--muted); font-size: 11px; stroke: none; }
.timeline .label { font-size: 11.5px; } .timeline .label.critical { font-weight: 600; }
.timeline .plat { fill: var(--muted); font-size: 10px; }
.timeline .wait { fill: var(--skip); opacity: .35; }
.timeline .bar { fill: currentColor; }
.timeline .bar.critical { stroke: var(--fg); stroke-width: 2; }
.timeline .attempt { font-size: 10px; fill: var(--muted); }
.legend { color: var(--muted); font-size: .9em; }
.legend span { margin-right: .6em; }
.critical-path code { background: var(--panel); padding: 0 .3em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { text-align: left; padding: .3em .7em; border-bottom: 1px solid var(--line); }
details.job { border: 1px solid var(--line); border-left: 4px solid currentColor; border-radius: 4px;
  margin: .4em 0; padding: .3em .7em; }
details.job > summary { cursor: pointer; }
details.job > summary b { color: var(--fg); }
details.job .meta { font-size: .9em; }
details.job .body { color: var(--fg); }
.sym { font-weight: bold; }
.facts { margin: .4em 0; }
.cases { margin: .2em 0; color: var(--failed); }
.log { margin: .5em 0; }
.logmeta { color: var(--muted); margin: .2em 0; font-size: .9em; }
pre { background: var(--panel); padding: .6em .9em; margin: 0; overflow-x: auto; white-space: pre-wrap;
  word-break: break-all; }
details.job.failed pre.tail { border-left: 3px solid var(--failed); }
details.earlier > summary, details.attempt-log > summary, details.artifacts > summary {
  cursor: pointer; color: var(--muted); font-size: .9em; }
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::JobStatus;

    fn info(name: &str, stage: &str, needs: &[&str]) -> JobInfo {
        JobInfo {
            name: name.into(),
            stage: stage.into(),
            platform: "linux/amd64".into(),
            when: "on_success".into(),
            allow_failure: false,
            needs: needs.iter().map(|n| n.to_string()).collect(),
            uses_needs: !needs.is_empty(),
        }
    }

    fn finished(job: &str, status: JobStatus, millis: u64) -> RunEvent {
        RunEvent::JobFinished {
            job: job.into(),
            result: JobResult {
                status,
                exit_code: None,
                duration: Duration::from_millis(millis),
                platform: "linux/amd64".into(),
                attempts: 1,
                reason: None,
                coverage: None,
                log: None,
                junit: Vec::new(),
            },
        }
    }

    fn writer(pipeline: &str) -> Writer {
        Writer {
            extra: None,
            options: PageOptions {
                pipeline: pipeline.into(),
                ..PageOptions::default()
            },
            times: RunTimes::default(),
            previous: None,
            last_write: None,
            dirty: false,
            final_written: false,
        }
    }

    fn started(run_dir: &Path) -> RunEvent {
        RunEvent::PipelineStarted {
            run_id: run_dir.file_name().unwrap().to_string_lossy().into_owned(),
            run_dir: run_dir.to_path_buf(),
            jobs: vec![
                info("build", "build", &[]),
                info("test", "test", &["build"]),
            ],
        }
    }

    fn pipeline_finished(run_dir: &Path, status: PipelineStatus) -> RunEvent {
        RunEvent::PipelineFinished {
            status,
            duration: Duration::from_secs(9),
            run_dir: run_dir.to_path_buf(),
        }
    }

    #[test]
    fn live_page_reloads_until_the_run_ends_and_is_rewritten_at_most_once_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("runs/20260101-000000-000-aaaaaa");
        let page = run_dir.join(REPORT_FILE);
        let mut w = writer("");
        w.take(&started(&run_dir), Duration::ZERO).unwrap();
        let first = std::fs::read_to_string(&page).unwrap();
        assert!(first.contains("data-live=\"1\"") && first.contains("location.reload()"));
        assert!(first.contains("<noscript><meta http-equiv=\"refresh\""));
        // Written a moment ago: the next event only marks the page as due.
        w.take(
            &RunEvent::JobStarted {
                job: "build".into(),
                platform: "linux/amd64".into(),
                attempt: 1,
            },
            Duration::from_millis(10),
        )
        .unwrap();
        assert!(w.dirty);
        assert_eq!(std::fs::read_to_string(&page).unwrap(), first);
        // A second later (as the writer's timeout does), it is written, the job running.
        w.last_write = Some(Instant::now() - LIVE_INTERVAL);
        w.take(
            &finished("build", JobStatus::Success, 1000),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!w.dirty);
        let second = std::fs::read_to_string(&page).unwrap();
        assert!(second.contains("class=\"node success\" data-job=\"build\""));
        w.take(
            &pipeline_finished(&run_dir, PipelineStatus::Failed),
            Duration::from_secs(9),
        )
        .unwrap();
        let last = std::fs::read_to_string(&page).unwrap();
        assert!(last.contains("data-live=\"0\"") && !last.contains("<script"));
    }

    #[test]
    fn a_run_is_compared_with_the_previous_run_of_the_same_pipeline() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let run = |id: &str, pipeline: &str, test: JobStatus, build_ms: u64| {
            let run_dir = runs.join(id);
            let mut w = writer(pipeline);
            w.take(&started(&run_dir), Duration::ZERO).unwrap();
            w.take(
                &finished("build", JobStatus::Success, build_ms),
                Duration::from_secs(1),
            )
            .unwrap();
            w.take(&finished("test", test, 500), Duration::from_secs(2))
                .unwrap();
            w.take(
                &pipeline_finished(&run_dir, PipelineStatus::Success),
                Duration::from_secs(3),
            )
            .unwrap();
            std::fs::read_to_string(run_dir.join(REPORT_FILE)).unwrap()
        };
        let first = run("20260101-000000", "project-a", JobStatus::Failed, 1_000);
        assert!(first.contains("No earlier run of this pipeline"));
        // Another pipeline's run in between is not the one to compare with.
        run("20260101-000001", "project-b", JobStatus::Success, 1_000);
        let second = run("20260101-000002", "project-a", JobStatus::Cached, 9_000);
        assert!(second.contains("Against run <code>20260101-000000</code>"));
        assert!(second.contains("1 changed status, 1 slower, 0 faster, 1 cached"));
        assert!(second.contains("<td>failed</td>"));
        assert!(second.contains("slower (1.0s → 9.0s)"));
    }
}
