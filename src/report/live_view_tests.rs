//! The live view on an 80-column terminal: every line it draws fits, long job names shortened
//! with an ellipsis (whole in the summary), and the summary's per-stage wall times.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use console::measure_text_width;
use indicatif::{ProgressDrawTarget, TermLike};

use super::Reporter;
use super::terminal::{TerminalMode, TerminalReporter};
use crate::event::{JobInfo, JobResult, JobStatus, PipelineStatus, RunEvent};

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An 80-column terminal that keeps what is drawn on it.
#[derive(Debug, Clone, Default)]
struct Term80(Arc<Mutex<Vec<String>>>);

impl TermLike for Term80 {
    fn width(&self) -> u16 {
        80
    }
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.0.lock().unwrap().push(s.to_string());
        Ok(())
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.0.lock().unwrap().push(s.to_string());
        Ok(())
    }
    fn clear_line(&self) -> io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> io::Result<()> {
        Ok(())
    }
}

const LONG: &str = "octez-integration-tests-on-a-rather-long-named-arm64-runner-machine 12/60";

fn info(name: &str, stage: &str) -> JobInfo {
    JobInfo {
        name: name.into(),
        stage: stage.into(),
        platform: "linux/arm64".into(),
        when: "on_success".into(),
        allow_failure: false,
        needs: Vec::new(),
        uses_needs: false,
    }
}

fn result(status: JobStatus, reason: Option<&str>) -> JobResult {
    JobResult {
        status,
        exit_code: Some(1),
        duration: Duration::from_secs(3),
        platform: "linux/arm64".into(),
        attempts: 1,
        reason: reason.map(String::from),
        coverage: None,
        log: None,
        junit: Vec::new(),
    }
}

fn scripted(run_dir: &std::path::Path) -> Vec<(RunEvent, Duration)> {
    let s = Duration::from_secs;
    let started = |job: &str| RunEvent::JobStarted {
        job: job.into(),
        platform: "linux/arm64".into(),
        attempt: 1,
    };
    vec![
        (
            RunEvent::PipelineStarted {
                run_id: "r".into(),
                run_dir: run_dir.to_path_buf(),
                jobs: vec![
                    info("build", "build"),
                    info(LONG, "test"),
                    info("lint", "test"),
                ],
            },
            s(0),
        ),
        (started("build"), s(0)),
        (
            RunEvent::JobFinished {
                job: "build".into(),
                result: result(JobStatus::Success, None),
            },
            s(2),
        ),
        (started(LONG), s(2)),
        (started("lint"), s(3)),
        (
            RunEvent::JobLog {
                job: LONG.into(),
                line: "x".repeat(300),
            },
            s(4),
        ),
        (
            RunEvent::JobFinished {
                job: "lint".into(),
                result: result(JobStatus::Success, None),
            },
            s(5),
        ),
        (
            RunEvent::JobFinished {
                job: LONG.into(),
                result: result(
                    JobStatus::Failed,
                    Some(
                        "exit code 1: the test suite found 3 failures in the p2p layer's handshake",
                    ),
                ),
            },
            s(75),
        ),
        (
            RunEvent::PipelineFinished {
                status: PipelineStatus::Failed,
                duration: s(75),
                run_dir: run_dir.to_path_buf(),
            },
            s(75),
        ),
    ]
}

#[test]
fn every_line_of_the_live_view_fits_80_columns_and_stages_are_timed() {
    let dir = tempfile::tempdir().unwrap();
    for color in [false, true] {
        let term = Term80::default();
        let out = Shared::default();
        let mut reporter = TerminalReporter::with_draw_target(
            Box::new(out.clone()),
            TerminalMode::Bars,
            false,
            color,
            ProgressDrawTarget::term_like(Box::new(term.clone())),
        )
        .with_width(|| 80);
        for (event, at) in scripted(dir.path()) {
            reporter.report_at(&event, at).unwrap();
        }
        reporter.finish().unwrap();
        let drawn = term.0.lock().unwrap().join("\n");
        for line in drawn.lines() {
            assert!(
                measure_text_width(line) <= 80,
                "{} columns: {line:?}",
                measure_text_width(line)
            );
        }
        let plain = console::strip_ansi_codes(&drawn).into_owned();
        assert!(
            plain.contains("✗ failed octez-integratio…r-machine 12/60 in 3.0s: exit code 1"),
            "{plain}"
        );
        assert!(!plain.contains(LONG), "{plain}");
        // The summary names it whole and times each stage.
        let summary = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let summary = console::strip_ansi_codes(&summary).into_owned();
        assert!(summary.contains(LONG), "{summary}");
        assert!(
            summary.contains(
                "Stages (wall time):\n  build  1 job     2.0s\n  test   2 jobs  1m 13s\n"
            ),
            "{summary}"
        );
    }
}
