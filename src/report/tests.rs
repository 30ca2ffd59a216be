//! Every reporter fed the same scripted run, one job per status, with snapshots of what each
//! renders. Paths under the temporary run directory are shown as `[RUN]` so snapshots are stable.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use indicatif::{ProgressDrawTarget, TermLike};

use super::html::{HtmlReporter, REPORT_FILE};
use super::json::JsonReporter;
use super::junit::JunitReporter;
use super::record::RunRecord;
use super::summary::render_summary;
use super::terminal::{TerminalMode, TerminalReporter};
use super::{Fanout, ReportOptions, Reporter, reporters};
use crate::event::{JobInfo, JobResult, JobStatus, PipelineStatus, RunEvent};

/// A writer whose bytes the test can read afterwards.
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

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn info(name: &str, stage: &str, platform: &str) -> JobInfo {
    JobInfo {
        name: name.into(),
        stage: stage.into(),
        platform: platform.into(),
        when: "on_success".into(),
        allow_failure: false,
        needs: Vec::new(),
        uses_needs: false,
    }
}

fn result(status: JobStatus, millis: u64, platform: &str) -> JobResult {
    JobResult {
        status,
        exit_code: None,
        duration: Duration::from_millis(millis),
        platform: platform.into(),
        attempts: 1,
        reason: None,
        coverage: None,
        log: None,
        junit: Vec::new(),
    }
}

const AMD64: &str = "linux/amd64";
const ARM64: &str = "linux/arm64";
const S390X: &str = "linux/s390x";

/// A run of seven jobs, one per status, with real log files and one job JUnit report in `dir`.
fn scripted_run(dir: &Path) -> Vec<RunEvent> {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let log = |name: &str, text: &str| {
        let p = logs.join(format!("{name}.log"));
        std::fs::write(&p, text).unwrap();
        p
    };
    let build_log = log("build_x86_64", "compiling\ndone\n");
    let mut unit_text = String::new();
    for i in 1..=20 {
        unit_text.push_str(&format!("test output line {i}\n"));
    }
    unit_text.push_str("\x1b[31mError:\x1b[0m expected <ok> & \"fine\", got 'broken'\n");
    let unit_log = log("unit_tests", &unit_text);
    let lint_log = log("lint", "warning: style\nlint failed\n");

    let reports = dir.join("artifacts/unit_tests");
    std::fs::create_dir_all(&reports).unwrap();
    let junit = reports.join("junit.xml");
    std::fs::write(
        &junit,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="octez-base" tests="3" time="0.5">
    <testcase classname="base" name="parses &lt;ints&gt;" time="0.1"/>
    <testcase classname="base" name="adds" time="0.2">
      <failure message="expected 1, got 2">assert failed
at test.ml:12</failure>
    </testcase>
    <testcase classname="base" name="later" time="0"><skipped/></testcase>
    <system-out>some output</system-out>
  </testsuite>
</testsuites>
"#,
    )
    .unwrap();
    let missing = reports.join("missing.xml");

    let jobs = vec![
        info("build_x86_64", "build", AMD64),
        info("build_arm64", "build", ARM64),
        info("unit_tests", "test", AMD64),
        info("lint", "test", AMD64),
        info("integration_s390x", "test", S390X),
        info("docs", "doc", AMD64),
        info("deploy", "deploy", AMD64),
    ];
    let started = |job: &str, platform: &str, attempt: u32| RunEvent::JobStarted {
        job: job.into(),
        platform: platform.into(),
        attempt,
    };
    let line = |job: &str, line: &str| RunEvent::JobLog {
        job: job.into(),
        line: line.into(),
    };
    let finished = |job: &str, result: JobResult| RunEvent::JobFinished {
        job: job.into(),
        result,
    };
    let queued = |job: &str| RunEvent::JobQueued { job: job.into() };

    vec![
        RunEvent::PipelineStarted {
            run_id: "20260226-120000".into(),
            run_dir: dir.to_path_buf(),
            jobs,
        },
        queued("build_x86_64"),
        queued("build_arm64"),
        started("build_x86_64", AMD64, 1),
        line("build_x86_64", "compiling"),
        finished(
            "build_arm64",
            JobResult {
                reason: Some("same inputs as run 20260225-093000".into()),
                ..result(JobStatus::Cached, 0, ARM64)
            },
        ),
        line("build_x86_64", "done"),
        finished(
            "build_x86_64",
            JobResult {
                exit_code: Some(0),
                log: Some(build_log),
                ..result(JobStatus::Success, 1234, AMD64)
            },
        ),
        queued("unit_tests"),
        queued("lint"),
        queued("integration_s390x"),
        started("unit_tests", AMD64, 1),
        started("lint", AMD64, 1),
        line("unit_tests", "test output line 20"),
        line(
            "unit_tests",
            "\x1b[31mError:\x1b[0m expected <ok> & \"fine\", got 'broken'",
        ),
        finished(
            "unit_tests",
            JobResult {
                exit_code: Some(2),
                coverage: Some(81.25),
                log: Some(unit_log),
                junit: vec![junit, missing],
                ..result(JobStatus::Failed, 12_500, AMD64)
            },
        ),
        line("lint", "lint failed"),
        started("lint", AMD64, 2),
        finished(
            "lint",
            JobResult {
                exit_code: Some(1),
                attempts: 2,
                log: Some(lint_log),
                ..result(JobStatus::AllowedFailure, 800, AMD64)
            },
        ),
        finished(
            "integration_s390x",
            JobResult {
                reason: Some("a job it needs failed: unit_tests".into()),
                ..result(JobStatus::Canceled, 0, S390X)
            },
        ),
        finished(
            "docs",
            JobResult {
                reason: Some("rules: no rule matched".into()),
                ..result(JobStatus::Skipped, 0, AMD64)
            },
        ),
        finished("deploy", result(JobStatus::Manual, 0, AMD64)),
        RunEvent::PipelineFinished {
            status: PipelineStatus::Failed,
            duration: Duration::from_millis(62_500),
            run_dir: dir.to_path_buf(),
        },
    ]
}

fn run(reporter: &mut dyn Reporter, events: &[RunEvent]) {
    for e in events {
        reporter.report(e).unwrap();
    }
    reporter.finish().unwrap();
}

/// `text` with the temporary directory's path shown as `[RUN]`.
fn stable(text: &str, dir: &Path) -> String {
    text.replace(dir.to_str().unwrap(), "[RUN]")
}

#[test]
fn summary_covers_every_status() {
    let dir = tempfile::tempdir().unwrap();
    let mut record = RunRecord::default();
    for e in scripted_run(dir.path()) {
        record.observe(&e);
    }
    let summary = render_summary(
        &record.outcomes(),
        &[],
        Duration::from_millis(62_500),
        dir.path(),
        false,
    );
    insta::assert_snapshot!(stable(&summary, dir.path()));
}

#[test]
fn summary_with_colour_keeps_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mut record = RunRecord::default();
    for e in scripted_run(dir.path()) {
        record.observe(&e);
    }
    let plain = render_summary(&record.outcomes(), &[], Duration::ZERO, dir.path(), false);
    let colour = render_summary(&record.outcomes(), &[], Duration::ZERO, dir.path(), true);
    assert_ne!(plain, colour);
    assert_eq!(console::strip_ansi_codes(&colour), plain);
}

#[test]
fn plain_terminal_lines_verbose() {
    let dir = tempfile::tempdir().unwrap();
    let out = Shared::default();
    let mut reporter =
        TerminalReporter::new(Box::new(out.clone()), TerminalMode::Plain, true, false)
            .with_stamp(|| "12:00:01".into());
    // Every event at the pipeline's start: the stages' wall times do not depend on the machine.
    for e in scripted_run(dir.path()) {
        reporter.report_at(&e, Duration::ZERO).unwrap();
    }
    reporter.finish().unwrap();
    insta::assert_snapshot!(stable(&out.text(), dir.path()));
}

#[test]
fn plain_terminal_without_verbose_has_no_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = Shared::default();
    let mut reporter =
        TerminalReporter::new(Box::new(out.clone()), TerminalMode::Plain, false, false)
            .with_stamp(|| "12:00:01".into());
    run(&mut reporter, &scripted_run(dir.path()));
    let text = out.text();
    assert!(!text.contains("unit_tests |"));
    assert!(!text.contains("queued"));
    assert!(text.contains("[12:00:01] started unit_tests (linux/amd64)\n"));
    assert!(text.contains("[12:00:01] started lint (linux/amd64, attempt 2)\n"));
}

#[test]
fn summary_only_when_json_has_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = Shared::default();
    let mut reporter = TerminalReporter::new(
        Box::new(out.clone()),
        TerminalMode::SummaryOnly,
        true,
        false,
    );
    run(&mut reporter, &scripted_run(dir.path()));
    let text = out.text();
    assert!(text.starts_with("\n  JOB "), "{text}");
    assert!(text.ends_with("Pipeline failed\n"));
}

/// A terminal that keeps every line written to it, for the progress bar mode.
#[derive(Debug, Clone, Default)]
struct FakeTerm(Arc<Mutex<Vec<String>>>);

impl TermLike for FakeTerm {
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

#[test]
fn bars_print_finished_jobs_and_log_lines_above_the_bars() {
    let dir = tempfile::tempdir().unwrap();
    let out = Shared::default();
    let term = FakeTerm::default();
    let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
    let mut reporter = TerminalReporter::with_draw_target(
        Box::new(out.clone()),
        TerminalMode::Bars,
        true,
        false,
        target,
    );
    run(&mut reporter, &scripted_run(dir.path()));
    let drawn = term.0.lock().unwrap().join("\n");
    assert!(drawn.contains("✓ passed build_x86_64 in 1.2s"), "{drawn}");
    assert!(drawn.contains("✗ failed unit_tests in 12.5s: exit code 2"));
    assert!(drawn.contains("unit_tests        | Error: expected <ok>"));
    // The bars themselves were drawn: the overall one counts jobs.
    assert!(drawn.contains("/7 jobs"), "{drawn}");
    // The summary goes to the writer, after the bars are gone.
    let text = out.text();
    assert!(text.contains("✗ unit_tests         failed"), "{text}");
    assert!(text.ends_with("Pipeline failed\n"));
}

#[test]
fn json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = Shared::default();
    let mut reporter = JsonReporter::new(Box::new(out.clone()), true)
        .with_clock(|| UNIX_EPOCH + Duration::from_millis(1_772_107_201_250));
    run(&mut reporter, &scripted_run(dir.path()));
    let text = stable(&out.text(), dir.path());
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["event"].is_string(), "{line}");
        assert_eq!(v["time"], "2026-02-26T12:00:01.250Z");
    }
    insta::assert_snapshot!(text);
}

/// Every field the JSON lines carry is named in the documented schema.
#[test]
fn json_fields_are_documented() {
    let doc = include_str!("../../docs/json-events.md");
    let dir = tempfile::tempdir().unwrap();
    let out = Shared::default();
    let mut reporter = JsonReporter::new(Box::new(out.clone()), true);
    run(&mut reporter, &scripted_run(dir.path()));
    for line in out.text().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let event = v["event"].as_str().unwrap();
        assert!(doc.contains(&format!("## `{event}`")), "{event}");
        let mut objects = vec![&v];
        objects.extend(v["jobs"].as_array().into_iter().flatten());
        for object in objects {
            for key in object.as_object().unwrap().keys() {
                assert!(doc.contains(&format!("| `{key}`")), "{key} of {event}");
            }
        }
    }
}

#[test]
fn json_without_verbose_has_no_job_log() {
    let dir = tempfile::tempdir().unwrap();
    let out = Shared::default();
    let mut reporter = JsonReporter::new(Box::new(out.clone()), false);
    let events = scripted_run(dir.path());
    run(&mut reporter, &events);
    let text = out.text();
    assert!(!text.contains("job_log"));
    let logs = events
        .iter()
        .filter(|e| matches!(e, RunEvent::JobLog { .. }))
        .count();
    assert_eq!(text.lines().count(), events.len() - logs);
}

#[test]
fn junit_report_with_merged_job_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/junit.xml");
    let mut reporter = JunitReporter::new(path.clone());
    run(&mut reporter, &scripted_run(dir.path()));
    let xml = std::fs::read_to_string(&path).unwrap();
    // Well-formed: our own reader takes it back.
    super::xml_tree::parse(xml.as_bytes()).unwrap();
    insta::assert_snapshot!(stable(&xml, dir.path()));
}

#[test]
fn junit_written_even_when_the_run_is_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junit.xml");
    let mut reporter = JunitReporter::new(path.clone());
    let events = scripted_run(dir.path());
    // Up to unit_tests' result, then the run stops without PipelineFinished.
    let cut = events
        .iter()
        .position(|e| matches!(e, RunEvent::JobFinished { job, .. } if job == "unit_tests"))
        .unwrap();
    run(&mut reporter, &events[..=cut]);
    let xml = std::fs::read_to_string(&path).unwrap();
    assert!(xml.contains("<skipped message=\"canceled: no result reported\"/>"));
    assert!(xml.contains("<testsuite name=\"unit_tests: octez-base\""));
}

#[test]
fn html_report() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let extra = dir.path().join("elsewhere/page.html");
    let mut reporter = HtmlReporter::new(Some(extra.clone()));
    // Event k arrives k seconds into the run, so the timeline has something to draw.
    for (k, e) in scripted_run(&run_dir).iter().enumerate() {
        reporter
            .report_at(e, Duration::from_secs(k as u64))
            .unwrap();
    }
    reporter.finish().unwrap();

    let page = std::fs::read_to_string(run_dir.join(REPORT_FILE)).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Self-contained and final: nothing fetched from anywhere, no reload script.
    for absent in ["http://", "https://", "<script", "<link", " src="] {
        assert!(!page.contains(absent), "{absent} in the page");
    }
    assert!(page.contains("data-live=\"0\""));
    // The graph: a node per job, coloured by status.
    assert!(page.contains("class=\"node failed fail\" data-job=\"unit_tests\""));
    assert!(page.contains("class=\"node cached\" data-job=\"build_arm64\""));
    // The timeline: one bar per attempt of the retried job.
    assert!(page.contains("data-job=\"lint\" data-attempt=\"1\""));
    assert!(page.contains("data-job=\"lint\" data-attempt=\"2\""));
    // The failed job's section is open, its log embedded with colours and escaped.
    assert!(
        page.contains("<details id=\"job-2\" class=\"job failed\" data-job=\"unit_tests\" open>")
    );
    assert!(page.contains(
        "<span class=\"f1\">Error:</span> expected &lt;ok&gt; &amp; &quot;fine&quot;, got &#39;broken&#39;"
    ));
    assert!(page.contains("test output line 1\n"));
    // Its JUnit counts, the failed case, the unreadable file, and its coverage.
    assert!(page.contains("3 tests, <span class=\"failed\">1 failed</span>, 0 errors, 1 skipped"));
    assert!(page.contains("<li>octez-base: adds</li>"));
    assert!(page.contains("<code>missing.xml</code>: 1 tests"));
    assert!(page.contains("coverage <b class=\"coverage\">81.25%</b>"));
    // The job the run never finished is still there.
    assert!(page.contains("data-job=\"deploy\""));

    // The copy elsewhere links back into the run directory.
    let other = std::fs::read_to_string(&extra).unwrap();
    assert!(other.contains("<a href=\"../run/logs/unit_tests.log\">file</a>"));
}

/// A reporter that fails on every event, to check the fan-out goes on regardless.
struct Broken;

impl Reporter for Broken {
    fn report(&mut self, _: &RunEvent) -> io::Result<()> {
        Err(io::Error::other("broken pipe"))
    }
}

#[test]
fn fanout_forwards_to_all_and_returns_the_first_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Shared::default();
    let mut fanout = Fanout::new(vec![
        Box::new(Broken),
        Box::new(JsonReporter::new(Box::new(out.clone()), false)),
    ]);
    let events = scripted_run(dir.path());
    let err = fanout.report(&events[0]).unwrap_err();
    assert_eq!(err.to_string(), "broken pipe");
    assert!(out.text().contains("pipeline_started"));
    fanout.finish().unwrap();
}

#[test]
fn reporters_follow_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (Shared::default(), Shared::default());
    let junit: PathBuf = dir.path().join("junit.xml");
    let opts = ReportOptions {
        verbose: false,
        color: false,
        interactive: false,
        json: true,
        junit: Some(junit.clone()),
        html: None,
        page: Default::default(),
    };
    let mut fanout = reporters(&opts, Box::new(stdout.clone()), Box::new(stderr.clone()));
    run(&mut fanout, &scripted_run(dir.path()));
    assert!(stdout.text().lines().all(|l| l.starts_with("{\"event\":")));
    // With --json, stderr holds the summary only.
    assert!(!stderr.text().contains("started"));
    assert!(stderr.text().contains("Total wall time"));
    assert!(junit.exists());
    assert!(dir.path().join(REPORT_FILE).exists());

    let (stdout, stderr) = (Shared::default(), Shared::default());
    let opts = ReportOptions::default();
    let mut fanout = reporters(&opts, Box::new(stdout.clone()), Box::new(stderr.clone()));
    run(&mut fanout, &scripted_run(dir.path()));
    assert!(stdout.text().is_empty());
    assert!(stderr.text().contains("started build_x86_64 (linux/amd64)"));
}
