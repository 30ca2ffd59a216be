//! `--junit FILE`: the run as a JUnit XML report, for CI dashboards and IDEs. Each job is a test
//! case of the suite `tezos-ci-local`; each job's own `reports:junit` files are merged in as
//! further suites named `JOB: SUITE`, so one file holds every result of the run.

use std::fmt::Write as _;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Reporter;
use super::files::write_atomic;
use super::format;
use super::log_tail::read_tail;
use super::record::RunRecord;
use super::xml_tree::{self, Element, Node, escape_attr};
use crate::event::{JobInfo, JobResult, JobStatus, RunEvent};

/// Log lines in a failed job's `<failure>`: more than the terminal summary shows, since a
/// dashboard has room and this may be all a reader of the report ever sees.
pub const JUNIT_TAIL_LINES: usize = 50;

/// The name of the suite that holds one test case per job.
pub const SUITE_NAME: &str = "tezos-ci-local";

pub struct JunitReporter {
    path: PathBuf,
    record: RunRecord,
    written: bool,
}

impl JunitReporter {
    pub fn new(path: PathBuf) -> Self {
        JunitReporter {
            path,
            record: RunRecord::default(),
            written: false,
        }
    }

    fn write(&mut self, total: Duration) -> io::Result<()> {
        let xml = render_junit(&self.record.outcomes(), total);
        self.written = true;
        write_atomic(&self.path, xml.as_bytes())
    }
}

impl Reporter for JunitReporter {
    fn report(&mut self, event: &RunEvent) -> io::Result<()> {
        self.record.observe(event);
        match event {
            RunEvent::PipelineStarted { .. } => {
                self.written = false;
                Ok(())
            }
            RunEvent::PipelineFinished { duration, .. } => self.write(*duration),
            _ => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        // A run cut short still leaves a report of what did finish.
        if self.record.started && !self.written {
            let total = self
                .record
                .outcomes()
                .iter()
                .map(|(_, r)| r.duration)
                .max()
                .unwrap_or_default();
            self.write(total)?;
        }
        Ok(())
    }
}

/// One suite being written: its name, its test cases and other children, and its counts.
struct Suite {
    name: String,
    time: f64,
    children: Vec<Element>,
}

impl Suite {
    fn cases(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter(|e| e.name == "testcase")
    }

    /// How many cases hold a child named `kind` (failure, error, skipped).
    fn count(&self, kind: &str) -> usize {
        self.cases()
            .filter(|c| c.elements().any(|e| e.name == kind))
            .count()
    }
}

/// The whole report: the jobs' suite, then each job's own suites.
pub fn render_junit(jobs: &[(JobInfo, JobResult)], total: Duration) -> String {
    let mut suites = vec![Suite {
        name: SUITE_NAME.to_string(),
        time: total.as_secs_f64(),
        children: jobs.iter().map(|(i, r)| job_case(i, r)).collect(),
    }];
    for (info, result) in jobs {
        for file in &result.junit {
            suites.extend(job_suites(&info.name, file));
        }
    }

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests: usize = suites.iter().map(|s| s.cases().count()).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"{SUITE_NAME}\" tests=\"{tests}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
        suites.iter().map(|s| s.count("failure")).sum::<usize>(),
        suites.iter().map(|s| s.count("error")).sum::<usize>(),
        suites.iter().map(|s| s.count("skipped")).sum::<usize>(),
        format::seconds(total),
    );
    for suite in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            escape_attr(&suite.name),
            suite.cases().count(),
            suite.count("failure"),
            suite.count("error"),
            suite.count("skipped"),
            suite.time,
        );
        for child in &suite.children {
            child.write(&mut out, 4);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The test case standing for one job.
fn job_case(info: &JobInfo, result: &JobResult) -> Element {
    let mut case = Element {
        name: "testcase".into(),
        attrs: vec![
            ("classname".into(), info.stage.clone()),
            ("name".into(), info.name.clone()),
            ("time".into(), format::seconds(result.duration)),
        ],
        children: Vec::new(),
    };
    let reason = format::reason(result);
    let message = |word: &str| match &reason {
        Some(r) => format!("{word}: {r}"),
        None => word.to_string(),
    };
    let child = |name: &str, attrs: Vec<(String, String)>, text: Option<String>| Element {
        name: name.into(),
        attrs,
        children: text.map(Node::Text).into_iter().collect(),
    };
    match result.status {
        JobStatus::Success => {}
        JobStatus::Failed => case.children.push(Node::Element(child(
            "failure",
            vec![
                ("message".into(), message("failed")),
                ("type".into(), "failed".into()),
            ],
            Some(log_tail(result)),
        ))),
        // Allowed to fail: GitLab counts it as passed, so a dashboard should not go red; the
        // failure is still told, in the output.
        JobStatus::AllowedFailure => case.children.push(Node::Element(child(
            "system-out",
            Vec::new(),
            Some(format!(
                "{}\n{}",
                message("allowed to fail"),
                log_tail(result)
            )),
        ))),
        JobStatus::Cached => case.children.push(Node::Element(child(
            "system-out",
            Vec::new(),
            Some(match &reason {
                Some(r) => format!("cached: {r}"),
                None => "cached: the result of an identical earlier run".into(),
            }),
        ))),
        JobStatus::Skipped | JobStatus::Manual | JobStatus::Canceled => {
            let word = match result.status {
                JobStatus::Manual => "manual job, not run",
                s => format::status_word(s),
            };
            case.children.push(Node::Element(child(
                "skipped",
                vec![("message".into(), message(word))],
                None,
            )))
        }
    }
    case
}

fn log_tail(result: &JobResult) -> String {
    match &result.log {
        None => "(no log file)".into(),
        Some(path) => match read_tail(path, JUNIT_TAIL_LINES) {
            Ok(lines) => lines.join("\n"),
            Err(e) => format!("(cannot read {}: {e})", path.display()),
        },
    }
}

/// The suites of one job's report file, renamed `JOB: SUITE`. A file that cannot be read becomes
/// a suite with one erroring case, so the problem shows where the results were expected.
fn job_suites(job: &str, file: &Path) -> Vec<Suite> {
    let stem = file
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = std::fs::File::open(file)
        .map_err(|e| e.to_string())
        .and_then(|f| xml_tree::parse(BufReader::new(f)));
    match parsed {
        Ok(mut root) => {
            xml_tree::drop_layout_whitespace(&mut root);
            let mut suites = Vec::new();
            collect_suites(job, &stem, &root, &mut suites);
            suites
        }
        Err(e) => vec![Suite {
            name: format!("{job}: {stem}"),
            time: 0.0,
            children: vec![Element {
                name: "testcase".into(),
                attrs: vec![
                    ("classname".into(), job.to_string()),
                    ("name".into(), stem.clone()),
                ],
                children: vec![Node::Element(Element {
                    name: "error".into(),
                    attrs: vec![(
                        "message".into(),
                        format!("cannot read the job's JUnit report {}: {e}", file.display()),
                    )],
                    children: Vec::new(),
                })],
            }],
        }],
    }
}

/// Every `<testsuite>` under `e`, nested ones included, each as a flat suite of its own cases.
fn collect_suites(job: &str, stem: &str, e: &Element, out: &mut Vec<Suite>) {
    match e.name.as_str() {
        "testsuite" => {
            let own: Vec<Element> = e
                .elements()
                .filter(|c| c.name != "testsuite")
                .cloned()
                .collect();
            if own.iter().any(|c| c.name == "testcase") {
                let name = e.attr("name").filter(|n| !n.is_empty()).unwrap_or(stem);
                let summed: f64 = own
                    .iter()
                    .filter(|c| c.name == "testcase")
                    .filter_map(|c| c.attr("time")?.parse::<f64>().ok())
                    .sum();
                let time = e
                    .attr("time")
                    .and_then(|t| t.parse::<f64>().ok())
                    .filter(|t| t.is_finite())
                    .unwrap_or(summed);
                out.push(Suite {
                    name: format!("{job}: {name}"),
                    time,
                    children: own,
                });
            }
            for child in e.elements().filter(|c| c.name == "testsuite") {
                collect_suites(job, stem, child, out);
            }
        }
        // A bare test case as the root: tolerated, as its own suite.
        "testcase" => out.push(Suite {
            name: format!("{job}: {stem}"),
            time: e.attr("time").and_then(|t| t.parse().ok()).unwrap_or(0.0),
            children: vec![e.clone()],
        }),
        _ => {
            for child in e.elements() {
                collect_suites(job, stem, child, out);
            }
        }
    }
}

/// A job's own JUnit report, counted for the HTML report.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct JunitCounts {
    pub tests: usize,
    pub failures: usize,
    pub errors: usize,
    pub skipped: usize,
    /// `SUITE: CASE` of the cases that failed or erred, in file order.
    pub failed_cases: Vec<String>,
}

/// Counts the test cases in one of a job's JUnit files (a file that cannot be read counts as one
/// error, as in the merged report).
pub fn junit_counts(job: &str, file: &Path) -> JunitCounts {
    let mut c = JunitCounts::default();
    for suite in job_suites(job, file) {
        c.tests += suite.cases().count();
        c.failures += suite.count("failure");
        c.errors += suite.count("error");
        c.skipped += suite.count("skipped");
        let short = suite
            .name
            .strip_prefix(&format!("{job}: "))
            .unwrap_or(&suite.name)
            .to_string();
        for case in suite.cases() {
            if case
                .elements()
                .any(|e| e.name == "failure" || e.name == "error")
            {
                c.failed_cases
                    .push(format!("{short}: {}", case.attr("name").unwrap_or("?")));
            }
        }
    }
    c
}
