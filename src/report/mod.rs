//! Reporters: everything the user sees of a run is rendered here from `RunEvent`s, and nothing
//! else in the program prints. Each reporter renders the same events its own way (terminal, JSON
//! lines, JUnit, HTML); a [`Fanout`] hands every event to each of them.

mod ansi_html;
mod files;
mod format;
pub mod html;
mod html_graph;
mod html_history;
mod html_jobs;
mod html_timeline;
pub mod html_times;
pub mod job_states;
pub mod json;
pub mod junit;
mod log_tail;
mod record;
pub mod stage_times;
pub mod summary;
pub mod terminal;
mod xml_tree;

#[cfg(test)]
mod live_view_tests;
#[cfg(test)]
mod tests;

use std::io::{self, Write};
use std::path::PathBuf;

use crate::event::RunEvent;

pub use html::HtmlReporter;
pub use json::JsonReporter;
pub use junit::JunitReporter;
pub use terminal::{TerminalMode, TerminalReporter};

/// Something that renders a run from its events, in the order the scheduler sends them.
pub trait Reporter {
    fn report(&mut self, event: &RunEvent) -> io::Result<()>;

    /// Called once after the last event, even when the run was cut short (no PipelineFinished):
    /// flush, restore the terminal.
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Hands every event to each reporter in turn.
#[derive(Default)]
pub struct Fanout(Vec<Box<dyn Reporter + Send>>);

impl Fanout {
    pub fn new(reporters: Vec<Box<dyn Reporter + Send>>) -> Self {
        Fanout(reporters)
    }

    pub fn push(&mut self, reporter: Box<dyn Reporter + Send>) {
        self.0.push(reporter);
    }
}

impl Reporter for Fanout {
    /// Every reporter sees every event even if an earlier one failed (a closed stdout must not
    /// cost the user the JUnit file); the first error is returned.
    fn report(&mut self, event: &RunEvent) -> io::Result<()> {
        let mut first = Ok(());
        for r in &mut self.0 {
            let res = r.report(event);
            if first.is_ok() {
                first = res;
            }
        }
        first
    }

    fn finish(&mut self) -> io::Result<()> {
        let mut first = Ok(());
        for r in &mut self.0 {
            let res = r.finish();
            if first.is_ok() {
                first = res;
            }
        }
        first
    }
}

/// What the user asked for, and what the terminal allows.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Every log line, live (`job | line` on the terminal, `job_log` objects with `--json`).
    pub verbose: bool,
    /// Colour on stderr.
    pub color: bool,
    /// Progress bars on stderr (a person is watching); otherwise plain lines.
    pub interactive: bool,
    /// JSON lines on stdout; stderr then only gets the summary.
    pub json: bool,
    /// Where to write a JUnit XML report at the end.
    pub junit: Option<PathBuf>,
    /// Another place for the HTML report, which is always written to `RUN_DIR/report.html`.
    pub html: Option<PathBuf>,
    /// The HTML report's `--open`, engines and pipeline identity.
    pub page: html::PageOptions,
}

impl ReportOptions {
    /// Whether stderr is a terminal that a person is watching.
    pub fn stderr_is_interactive() -> bool {
        console::Term::stderr().is_term()
    }

    /// Whether to colour stderr: not when `NO_COLOR` is set (<https://no-color.org>), else as
    /// `console` decides (a colour terminal, `CLICOLOR`, `CLICOLOR_FORCE`).
    pub fn stderr_wants_color() -> bool {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        !no_color && console::colors_enabled_stderr()
    }
}

/// The reporters `opts` calls for: always the terminal one (on `stderr`) and the HTML report in
/// the run directory; JSON lines on `stdout` with `--json`; JUnit with `--junit`.
pub fn reporters(
    opts: &ReportOptions,
    stdout: Box<dyn Write + Send>,
    stderr: Box<dyn Write + Send>,
) -> Fanout {
    let mode = if opts.json {
        TerminalMode::SummaryOnly
    } else if opts.interactive {
        TerminalMode::Bars
    } else {
        TerminalMode::Plain
    };
    let mut fanout = Fanout::default();
    fanout.push(Box::new(TerminalReporter::new(
        stderr,
        mode,
        opts.verbose,
        opts.color,
    )));
    if opts.json {
        fanout.push(Box::new(JsonReporter::new(stdout, opts.verbose)));
    }
    if let Some(path) = &opts.junit {
        fanout.push(Box::new(JunitReporter::new(path.clone())));
    }
    fanout.push(Box::new(job_states::JobStatesReporter::default()));
    fanout.push(Box::new(HtmlReporter::with_options(
        opts.html.clone(),
        opts.page.clone(),
    )));
    fanout
}
