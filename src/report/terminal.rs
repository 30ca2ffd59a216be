//! The report for people, on stderr: live progress bars on an interactive terminal, one plain
//! line per event otherwise (CI logs, pipes), every log line with `--verbose`, and a summary at
//! the end. Stdout is left to `--json`.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime};

use console::{Style, measure_text_width, truncate_str};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Reporter;
use super::format;
use super::html_times::RunTimes;
use super::log_tail::clean_line;
use super::stage_times::stage_times;
use super::summary::{paint, render_summary, render_verdict, status_style};
use crate::event::{JobResult, JobStatus, RunEvent};

/// How the terminal reporter shows a run as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalMode {
    /// Progress bars that redraw in place: for a person at a terminal.
    Bars,
    /// One line per event, never rewritten: for logs and pipes.
    Plain,
    /// Nothing until the summary: when `--json` carries the events on stdout.
    SummaryOnly,
}

/// Job names longer than this are not padded to: one very long name should not push every
/// other line's log text off the screen.
const MAX_NAME_COLUMN: usize = 32;

/// Colours for the `job | line` prefixes of `--verbose`; red and green are left out because they
/// mean failed and passed everywhere else.
const JOB_COLOURS: [fn(Style) -> Style; 8] = [
    |s| s.cyan(),
    |s| s.magenta(),
    |s| s.blue(),
    |s| s.yellow(),
    |s| s.cyan().bright(),
    |s| s.magenta().bright(),
    |s| s.blue().bright(),
    |s| s.yellow().bright(),
];

pub struct TerminalReporter {
    out: Box<dyn Write + Send>,
    mode: TerminalMode,
    verbose: bool,
    color: bool,
    /// The `HH:MM:SS` at the start of plain lines; replaceable so tests need no real clock.
    stamp: fn() -> String,
    /// The terminal's width in columns, asked each time (the window may be resized); fixed in
    /// tests.
    width: fn() -> usize,
    /// When the pipeline started, for the stages' wall times.
    started: Option<Instant>,
    times: RunTimes,
    name_width: usize,
    platform_width: usize,
    colour_of: HashMap<String, usize>,
    queued: HashSet<String>,
    bars: Option<Bars>,
}

struct Bars {
    multi: MultiProgress,
    overall: Option<ProgressBar>,
    running: HashMap<String, ProgressBar>,
    job_style: ProgressStyle,
}

impl TerminalReporter {
    /// Writes to `out`; in [`TerminalMode::Bars`] the bars themselves are drawn on stderr, which
    /// is where `out` should point too.
    pub fn new(out: Box<dyn Write + Send>, mode: TerminalMode, verbose: bool, color: bool) -> Self {
        Self::with_draw_target(out, mode, verbose, color, ProgressDrawTarget::stderr())
    }

    /// As [`new`](Self::new), drawing bars on `target` (tests draw on a fake terminal).
    pub fn with_draw_target(
        out: Box<dyn Write + Send>,
        mode: TerminalMode,
        verbose: bool,
        color: bool,
        target: ProgressDrawTarget,
    ) -> Self {
        let bars = (mode == TerminalMode::Bars).then(|| Bars {
            multi: MultiProgress::with_draw_target(target),
            overall: None,
            running: HashMap::new(),
            job_style: job_style(color),
        });
        TerminalReporter {
            out,
            mode,
            verbose,
            color,
            stamp: || format::local_clock(SystemTime::now()),
            width: || usize::from(console::Term::stderr().size().1),
            started: None,
            times: RunTimes::default(),
            name_width: 0,
            platform_width: 0,
            colour_of: HashMap::new(),
            queued: HashSet::new(),
            bars,
        }
    }

    /// Replaces the clock of plain lines (tests).
    pub fn with_stamp(mut self, stamp: fn() -> String) -> Self {
        self.stamp = stamp;
        self
    }

    /// Fixes the terminal's width (tests).
    pub fn with_width(mut self, width: fn() -> usize) -> Self {
        self.width = width;
        self
    }

    /// Takes `event` as if it arrived `at` after the pipeline started (the stages' clock):
    /// [`Reporter::report`] passes the real time; tests pass their own.
    pub fn report_at(&mut self, event: &RunEvent, at: Duration) -> io::Result<()> {
        self.times.observe(event, at);
        match event {
            RunEvent::PipelineStarted { .. } => self.on_pipeline_started(),
            RunEvent::ChildPipelineStarted { trigger, jobs } => {
                self.on_child_pipeline_started(trigger, jobs.len())
            }
            RunEvent::JobQueued { job } => {
                self.queued.insert(job.clone());
                self.refresh_overall();
                if self.mode == TerminalMode::Plain && self.verbose {
                    let text = format!("queued {}", self.painted_name(job));
                    self.stamped(&text)?;
                }
                Ok(())
            }
            RunEvent::JobStarted {
                job,
                platform,
                attempt,
            } => self.on_job_started(job, platform, *attempt),
            RunEvent::JobLog { job, line } => self.on_job_log(job, line),
            RunEvent::JobFinished { job, result } => self.on_job_finished(job, result),
            RunEvent::PipelineFinished { .. } => self.on_pipeline_finished(),
        }
    }

    /// `job` as the live view shows it: whole when it fits the name column, else its start and
    /// its end around an ellipsis (instances of one job differ at the end: `tezt 12/60`).
    fn short_name(&self, job: &str) -> String {
        let column = self.name_width;
        let chars: Vec<char> = job.chars().collect();
        if measure_text_width(job) <= column || column < 3 || chars.len() != job.len() {
            // Names that are not plain ASCII are cut at the end, by display width.
            return if measure_text_width(job) <= column {
                job.to_string()
            } else {
                truncate_str(job, column, "…").into_owned()
            };
        }
        let tail = (column - 1) / 2;
        let head = column - 1 - tail;
        format!("{}…{}", &job[..head], &job[job.len() - tail..])
    }

    /// A line of the live view, cut to the terminal's width.
    fn fitted(&self, text: &str) -> String {
        truncate_str(text, (self.width)().max(20), "…").into_owned()
    }

    /// A line above the bars, or on its own when there are none.
    fn line(&mut self, text: &str) -> io::Result<()> {
        match &self.bars {
            Some(bars) => bars.multi.println(text),
            None => {
                writeln!(self.out, "{text}")?;
                self.out.flush()
            }
        }
    }

    /// A plain line, prefixed with the time of day.
    fn stamped(&mut self, text: &str) -> io::Result<()> {
        let stamp = paint(
            &format!("[{}]", (self.stamp)()),
            &Style::new().dim(),
            self.color,
        );
        self.line(&format!("{stamp} {text}"))
    }

    fn painted_name(&self, job: &str) -> String {
        self.painted_name_as(job, job)
    }

    /// `shown` in `job`'s colour.
    fn painted_name_as(&self, job: &str, shown: &str) -> String {
        let style = match self.colour_of.get(job) {
            Some(&i) => JOB_COLOURS[i % JOB_COLOURS.len()](Style::new()),
            None => Style::new().bold(),
        };
        paint(shown, &style, self.color)
    }

    /// `job-name   |`, padded so the log text of every job starts in the same column.
    fn log_prefix(&self, job: &str) -> String {
        let shown = match self.mode {
            TerminalMode::Bars => self.short_name(job),
            _ => job.to_string(),
        };
        let pad = self.name_width.saturating_sub(measure_text_width(&shown));
        let bar = paint("|", &Style::new().dim(), self.color);
        format!(
            "{}{} {bar}",
            self.painted_name_as(job, &shown),
            " ".repeat(pad)
        )
    }

    /// `passed build in 1.2s`, `failed test in 3.0s: exit code 2`, `skipped docs: rules`.
    fn finish_text(&self, job: &str, shown: &str, result: &JobResult) -> String {
        let style = status_style(result.status);
        let word = paint(format::status_word(result.status), &style, self.color);
        let mut text = format!("{word} {}", self.painted_name_as(job, shown));
        if let Some(d) = format::shown_duration(result) {
            text.push_str(&format!(" in {d}"));
        }
        if let Some(reason) = format::reason(result) {
            text.push_str(&format!(": {reason}"));
        }
        text
    }

    fn on_pipeline_started(&mut self) -> io::Result<()> {
        let jobs = self.times.record.jobs();
        self.name_width = jobs
            .iter()
            .map(|j| measure_text_width(&j.name))
            .max()
            .unwrap_or(0)
            .min(MAX_NAME_COLUMN);
        self.platform_width = jobs
            .iter()
            .map(|j| measure_text_width(&j.platform))
            .max()
            .unwrap_or(0);
        self.colour_of = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.name.clone(), i))
            .collect();
        let total = jobs.len();
        match self.mode {
            TerminalMode::Bars => {
                // A job's line: spinner, name, platform, `, attempt N`, elapsed time, and at
                // least a few columns of its last log line.
                let rest = 1 + 1 + 1 + self.platform_width + ", attempt 9".len() + 1 + 4 + 1 + 8;
                self.name_width = self
                    .name_width
                    .min((self.width)().saturating_sub(rest))
                    .max(8);
                let bars = self.bars.as_mut().expect("bars mode has bars");
                let overall = bars.multi.add(ProgressBar::new(total as u64));
                overall.set_style(overall_style(self.color));
                // The elapsed time should move even while every running job is silent.
                overall.enable_steady_tick(Duration::from_millis(250));
                bars.overall = Some(overall);
                self.refresh_overall();
                Ok(())
            }
            TerminalMode::Plain => {
                let noun = if total == 1 { "job" } else { "jobs" };
                let text = format!(
                    "pipeline {}: {total} {noun}, logs in {}",
                    self.times.record.run_id,
                    self.times.record.run_dir.display()
                );
                self.stamped(&text)
            }
            TerminalMode::SummaryOnly => Ok(()),
        }
    }

    fn on_job_started(&mut self, job: &str, platform: &str, attempt: u32) -> io::Result<()> {
        self.queued.remove(job);
        let attempt_note = if attempt > 1 {
            format!(", attempt {attempt}")
        } else {
            String::new()
        };
        match self.mode {
            TerminalMode::Bars => {
                let name = self.short_name(job);
                let name_pad =
                    " ".repeat(self.name_width.saturating_sub(measure_text_width(&name)));
                let plat_pad = " ".repeat(
                    self.platform_width
                        .saturating_sub(measure_text_width(platform)),
                );
                let prefix = format!("{name}{name_pad} {platform}{plat_pad}{attempt_note}");
                let bars = self.bars.as_mut().expect("bars mode has bars");
                let bar = match bars.running.get(job) {
                    // A retry: the same line starts over.
                    Some(bar) => bar.clone(),
                    None => {
                        let bar = ProgressBar::new_spinner().with_style(bars.job_style.clone());
                        let bar = match &bars.overall {
                            Some(overall) => bars.multi.insert_before(overall, bar),
                            None => bars.multi.add(bar),
                        };
                        bar.enable_steady_tick(Duration::from_millis(100));
                        bars.running.insert(job.to_string(), bar.clone());
                        bar
                    }
                };
                bar.reset_elapsed();
                bar.set_message("");
                bar.set_prefix(prefix);
                self.refresh_overall();
                Ok(())
            }
            TerminalMode::Plain => {
                let text = format!(
                    "started {} ({platform}{attempt_note})",
                    self.painted_name(job)
                );
                self.stamped(&text)
            }
            TerminalMode::SummaryOnly => Ok(()),
        }
    }

    fn on_job_log(&mut self, job: &str, line: &str) -> io::Result<()> {
        if self.mode == TerminalMode::SummaryOnly {
            return Ok(());
        }
        let line = clean_line(line);
        if let Some(bar) = self.bars.as_ref().and_then(|b| b.running.get(job)) {
            bar.set_message(line.clone());
        }
        if self.verbose {
            let text = format!("{} {line}", self.log_prefix(job));
            self.line(text.trim_end())?;
        }
        Ok(())
    }

    fn on_job_finished(&mut self, job: &str, result: &JobResult) -> io::Result<()> {
        self.queued.remove(job);
        match self.mode {
            TerminalMode::Bars => {
                let symbol = paint(
                    format::status_symbol(result.status),
                    &status_style(result.status),
                    self.color,
                );
                let text = format!(
                    "{symbol} {}",
                    self.finish_text(job, &self.short_name(job), result)
                );
                let text = self.fitted(&text);
                let bars = self.bars.as_mut().expect("bars mode has bars");
                if let Some(bar) = bars.running.remove(job) {
                    bar.finish_and_clear();
                    bars.multi.remove(&bar);
                }
                self.refresh_overall();
                self.line(&text)
            }
            TerminalMode::Plain => {
                let text = self.finish_text(job, job, result);
                self.stamped(&text)
            }
            TerminalMode::SummaryOnly => Ok(()),
        }
    }

    fn on_pipeline_finished(&mut self) -> io::Result<()> {
        self.clear_bars()?;
        let Some((status, total)) = self.times.record.finished else {
            return Ok(());
        };
        let summary = render_summary(
            &self.times.record.outcomes(),
            &stage_times(&self.times),
            total,
            &self.times.record.run_dir,
            self.color,
        );
        write!(
            self.out,
            "\n{summary}{}",
            render_verdict(status, self.color)
        )?;
        self.out.flush()
    }

    fn clear_bars(&mut self) -> io::Result<()> {
        if let Some(bars) = &mut self.bars {
            for (_, bar) in bars.running.drain() {
                bar.finish_and_clear();
            }
            if let Some(overall) = bars.overall.take() {
                overall.finish_and_clear();
            }
            bars.multi.clear()?;
        }
        Ok(())
    }

    /// The overall bar's message: what is running and waiting, then passed and failed. Other
    /// outcomes are left to the lines above and the summary: the bar must fit on one line.
    /// A trigger job's child pipeline: its jobs join the count, their names the columns.
    fn on_child_pipeline_started(&mut self, trigger: &str, count: usize) -> io::Result<()> {
        let jobs = self.times.record.jobs();
        self.name_width = jobs
            .iter()
            .map(|j| measure_text_width(&j.name))
            .max()
            .unwrap_or(0)
            .min(MAX_NAME_COLUMN);
        let next = self.colour_of.len();
        for (i, j) in jobs.iter().enumerate() {
            if !self.colour_of.contains_key(&j.name) {
                self.colour_of.insert(j.name.clone(), next + i);
            }
        }
        let total = jobs.len() as u64;
        if let Some(overall) = self.bars.as_ref().and_then(|b| b.overall.as_ref()) {
            overall.set_length(total);
        }
        self.refresh_overall();
        match self.mode {
            TerminalMode::Plain => {
                let noun = if count == 1 { "job" } else { "jobs" };
                let text = format!(
                    "{} started a child pipeline: {count} {noun}",
                    self.painted_name(trigger)
                );
                self.stamped(&text)
            }
            _ => Ok(()),
        }
    }

    fn refresh_overall(&self) {
        let Some(bars) = &self.bars else { return };
        let Some(overall) = &bars.overall else { return };
        let mut parts = vec![format!("{} running", bars.running.len())];
        if !self.queued.is_empty() {
            parts.push(format!("{} queued", self.queued.len()));
        }
        let passed = self.times.record.count(JobStatus::Success)
            + self.times.record.count(JobStatus::Cached);
        let counts = [
            (passed, "passed", JobStatus::Success),
            (
                self.times.record.count(JobStatus::Failed),
                "failed",
                JobStatus::Failed,
            ),
            (
                self.times.record.count(JobStatus::AllowedFailure),
                "allowed to fail",
                JobStatus::AllowedFailure,
            ),
        ];
        for (n, word, status) in counts {
            if n > 0 {
                parts.push(paint(
                    &format!("{n} {word}"),
                    &status_style(status),
                    self.color,
                ));
            }
        }
        overall.set_position(self.times.record.done() as u64);
        overall.set_message(parts.join(", "));
    }
}

impl Reporter for TerminalReporter {
    fn report(&mut self, event: &RunEvent) -> io::Result<()> {
        if matches!(event, RunEvent::PipelineStarted { .. }) {
            self.started = Some(Instant::now());
        }
        let at = self.started.map(|t| t.elapsed()).unwrap_or_default();
        self.report_at(event, at)
    }

    fn finish(&mut self) -> io::Result<()> {
        // A run cut short never sent PipelineFinished: at least give the terminal back clean.
        self.clear_bars()?;
        self.out.flush()
    }
}

fn job_style(color: bool) -> ProgressStyle {
    let template = if color {
        "{spinner:.cyan} {prefix:.bold} {elapsed:>4.dim} {wide_msg:.dim}"
    } else {
        "{spinner} {prefix} {elapsed:>4} {wide_msg}"
    };
    ProgressStyle::with_template(template).expect("the template is valid")
}

fn overall_style(color: bool) -> ProgressStyle {
    let template = if color {
        "{elapsed_precise:.dim} [{bar:30.cyan/blue}] {pos}/{len} jobs  {wide_msg}"
    } else {
        "{elapsed_precise} [{bar:30}] {pos}/{len} jobs  {wide_msg}"
    };
    ProgressStyle::with_template(template)
        .expect("the template is valid")
        .progress_chars("=> ")
}
