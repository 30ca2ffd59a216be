//! The HTML report in a real browser: Debian's chromium, headless, loads the reports of real runs
//! (a passing run, a failing one with retries, a cached second run) and of a 150-job synthetic
//! run, and the tests check the DOM it renders (graph nodes and edges, timeline bars, embedded
//! log text) and take a screenshot of each under `target/report-screenshots/` for a person to
//! look at. Without chromium or a Docker engine each test prints SKIPPED, unless `CI=true`,
//! where it fails (scripts/setup.sh installs both).

#[path = "run_e2e/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{Project, docker_or_skip, shared_machine};
use tezos_ci_local::event::{JobInfo, JobResult, JobStatus, PipelineStatus, RunEvent};
use tezos_ci_local::report::{HtmlReporter, Reporter};

/// The browser, or `None` after printing SKIPPED; with `CI=true` a missing browser fails.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
            .find(|p| p.is_file())
    });
    match found {
        Some(p) => Some(p),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but chromium is not installed; run scripts/setup.sh")
        }
        None => {
            eprintln!("SKIPPED: chromium is not installed; run scripts/setup.sh");
            None
        }
    }
}

/// Where screenshots go: `target/report-screenshots/`.
fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("report-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Loads `page` in headless chromium: the DOM after it rendered, and a screenshot `name.png`.
fn browse(browser: &Path, page: &Path, name: &str) -> String {
    let run = |extra: &[String]| {
        let profile = tempfile::tempdir().unwrap();
        let out = Command::new("timeout")
            .arg("120")
            .arg(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("run chromium");
        assert!(
            out.status.success(),
            "chromium failed on {}: {}",
            page.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let shot = screenshots().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    run(&[
        format!("--screenshot={}", shot.display()),
        "--window-size=1400,2000".into(),
    ]);
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{}",
        shot.display()
    );
    let dom = run(&["--dump-dom".into()]);
    String::from_utf8(dom.stdout).expect("the DOM as UTF-8")
}

/// Checks that hold for every report: one file, nothing fetched, final (no reload).
fn check_self_contained(page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>"));
    for absent in ["http://", "https://", "<link", " src=", "<script"] {
        assert!(!page.contains(absent), "`{absent}` in a final report");
    }
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

const PASSING: &str = r#"
stages: [build, test]
default:
  image: busybox:latest
build:
  stage: build
  script:
    - echo built > out.txt
    - printf '\033[32mgreen-build-marker\033[0m <done>\n'
  artifacts:
    paths: [out.txt]
test:
  stage: test
  needs: [build]
  script:
    - cat out.txt
    - echo test-ok-marker
lint:
  stage: test
  script:
    - echo lint-ok-marker
"#;

#[test]
fn passing_run_then_cached_run() {
    let _machine = shared_machine();
    let Some(browser) = chromium() else { return };
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(PASSING, &[]);
    let first = p.run_args(&engine, &["run", "--json"]);
    assert_eq!(first.code, 0, "{first}");
    let page_path = first.run_dir().join("report.html");
    // The terminal's last lines give the report's path.
    assert!(
        first
            .stderr
            .contains(&format!("Report: {}", page_path.display())),
        "{first}"
    );
    let page = std::fs::read_to_string(&page_path).unwrap();
    check_self_contained(&page);
    let dom = browse(&browser, &page_path, "passing");
    assert_eq!(count(&dom, "class=\"node success\""), 3, "graph nodes");
    assert!(dom.contains("class=\"edge\" data-from=\"build\" data-to=\"test\""));
    // Only `needs` are drawn: lint waits for the build stage, without an edge.
    assert_eq!(count(&dom, "<path class=\"edge"), 1);
    assert_eq!(count(&dom, "class=\"bar success"), 3, "timeline bars");
    assert!(dom.contains("<span class=\"f2\">green-build-marker</span> &lt;done&gt;"));
    assert!(dom.contains("test-ok-marker") && dom.contains("lint-ok-marker"));
    assert!(
        dom.contains("<code>out.txt</code> 6 B"),
        "artifact listed with its size"
    );

    // `report` prints the last run's report.
    let out = p.command().arg("report").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        page_path.display().to_string()
    );
    let out = p
        .command()
        .args(["report", "no-such-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // The same pipeline again: every job cached, compared with the first run.
    let second = p.run_args(&engine, &["run", "--json"]);
    assert_eq!(second.code, 0, "{second}");
    let page_path = second.run_dir().join("report.html");
    let page = std::fs::read_to_string(&page_path).unwrap();
    check_self_contained(&page);
    let dom = browse(&browser, &page_path, "cached");
    assert_eq!(count(&dom, "class=\"node cached\""), 3, "{dom}");
    assert_eq!(
        count(&dom, ">cached</text>"),
        3,
        "cached marks on the graph"
    );
    assert!(dom.contains(&format!("Against run <code>{}</code>", first.run_id())));
    assert!(dom.contains("0 changed status, 0 slower, 0 faster, 3 cached"));
    // A cached job's log is the restored one.
    assert!(dom.contains("test-ok-marker"));
}

const FAILING: &str = r#"
stages: [build, test]
default:
  image: busybox:latest
flaky:
  stage: build
  retry: 1
  script:
    - echo "attempt-marker $CI_JOB_NAME"
    - exit 3
after:
  stage: test
  needs: [flaky]
  script:
    - echo never
fine:
  stage: build
  script:
    - echo fine-marker
"#;

#[test]
fn failing_run_with_retries() {
    let _machine = shared_machine();
    let Some(browser) = chromium() else { return };
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(FAILING, &[]);
    let run = p.run(&engine, &[]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(run.finished("flaky")["attempts"], 2, "{run}");
    let page_path = run.run_dir().join("report.html");
    let page = std::fs::read_to_string(&page_path).unwrap();
    check_self_contained(&page);
    let dom = browse(&browser, &page_path, "failing");
    assert!(dom.contains("class=\"node failed fail\" data-job=\"flaky\""));
    // The path the failure took: the edge to the job that did not run because of it.
    assert!(dom.contains("class=\"edge fail\" data-from=\"flaky\" data-to=\"after\""));
    // One bar per attempt, the earlier one failed too.
    assert!(dom.contains("data-job=\"flaky\" data-attempt=\"1\""));
    assert!(dom.contains("data-job=\"flaky\" data-attempt=\"2\""));
    // The failed job's section is open, with both attempts' logs.
    assert!(
        dom.contains("<details id=\"job-0\" class=\"job failed\" data-job=\"flaky\" open=\"\">")
    );
    assert!(dom.contains("Log of attempt 1") && dom.contains("Log of attempt 2"));
    assert_eq!(
        count(&dom, "attempt-marker flaky"),
        2,
        "both attempts' logs"
    );
    assert!(dom.contains("exit code 3"));
}

/// A synthetic run of 150 jobs in 8 stages (needs, failures, retries, cached jobs, logs), fed
/// to the HTML reporter as events with chosen times: no Docker.
fn synthetic_run(run_dir: &Path) -> Vec<(RunEvent, Duration)> {
    let stages = [
        "sanity",
        "build",
        "test",
        "tezt",
        "coverage",
        "doc",
        "packaging",
        "publish",
    ];
    let logs = run_dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut jobs = Vec::new();
    let mut events = Vec::new();
    for i in 0..150 {
        let stage = stages[(i * stages.len()) / 150];
        let name = format!("{stage}:job-{i:03}");
        let needs: Vec<String> = if i >= 20 && i % 3 == 0 {
            vec![format!(
                "{}:job-{:03}",
                stages[((i - 19) * stages.len()) / 150],
                i - 19
            )]
        } else {
            Vec::new()
        };
        jobs.push(JobInfo {
            name: name.clone(),
            stage: stage.into(),
            platform: if i % 10 == 0 {
                "linux/arm64"
            } else {
                "linux/amd64"
            }
            .into(),
            when: "on_success".into(),
            allow_failure: false,
            uses_needs: !needs.is_empty(),
            needs,
        });
    }
    events.push((
        RunEvent::PipelineStarted {
            run_id: "20260101-000000-000-synthe".into(),
            run_dir: run_dir.to_path_buf(),
            jobs: jobs.clone(),
        },
        Duration::ZERO,
    ));
    for (i, job) in jobs.iter().enumerate() {
        let t0 = Duration::from_secs(i as u64 * 4);
        let cached = i % 7 == 0;
        let status = match i {
            _ if cached => JobStatus::Cached,
            43 | 97 => JobStatus::Failed,
            _ => JobStatus::Success,
        };
        let attempts = if i == 43 { 2 } else { 1 };
        let log = logs.join(format!(
            "{}.log",
            tezos_ci_local::store::file_name_for(&job.name)
        ));
        let mut text = String::new();
        for l in 0..(40 + i * 3) {
            text.push_str(&format!("\x1b[36m[{l:04}]\x1b[0m {} line {l}\n", job.name));
        }
        if status == JobStatus::Failed {
            text.push_str(&format!("\x1b[31mError:\x1b[0m synthetic-failure-{i}\n"));
        }
        std::fs::write(&log, &text).unwrap();
        events.push((
            RunEvent::JobQueued {
                job: job.name.clone(),
            },
            t0,
        ));
        let mut t = t0;
        if !cached {
            for a in 1..=attempts {
                t += Duration::from_secs(2);
                events.push((
                    RunEvent::JobStarted {
                        job: job.name.clone(),
                        platform: job.platform.clone(),
                        attempt: a,
                    },
                    t,
                ));
                t += Duration::from_secs(10 + (i as u64 % 13) * 5);
            }
        }
        events.push((
            RunEvent::JobFinished {
                job: job.name.clone(),
                result: JobResult {
                    status,
                    exit_code: (!cached).then_some(if status == JobStatus::Failed { 1 } else { 0 }),
                    duration: t - t0,
                    platform: job.platform.clone(),
                    attempts: if cached { 0 } else { attempts },
                    reason: None,
                    coverage: (i % 25 == 0).then_some(70.0 + i as f64 / 10.0),
                    log: Some(log),
                    junit: Vec::new(),
                },
            },
            t,
        ));
    }
    events.sort_by_key(|(_, t)| *t);
    let end = events.last().unwrap().1 + Duration::from_secs(1);
    events.push((
        RunEvent::PipelineFinished {
            status: PipelineStatus::Failed,
            duration: end,
            run_dir: run_dir.to_path_buf(),
        },
        end,
    ));
    events
}

#[test]
fn synthetic_run_of_150_jobs() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("runs/20260101-000000-000-synthe");
    let mut reporter = HtmlReporter::new(None);
    for (e, t) in synthetic_run(&run_dir) {
        reporter.report_at(&e, t).unwrap();
    }
    reporter.finish().unwrap();
    let page_path = run_dir.join("report.html");
    let page = std::fs::read_to_string(&page_path).unwrap();
    check_self_contained(&page);
    eprintln!("150-job report: {} bytes", page.len());
    assert!(page.len() < 4 * 1024 * 1024, "{} bytes", page.len());
    let dom = browse(&browser, &page_path, "synthetic-150");
    assert_eq!(count(&dom, "class=\"node "), 150, "graph nodes");
    assert_eq!(count(&dom, "<details id=\"job-"), 150, "job sections");
    assert!(count(&dom, "<path class=\"edge") >= 40, "needs edges");
    // 128 jobs ran (one of them twice) and 22 were cached: a bar per attempt, a mark per cached.
    assert_eq!(count(&dom, "data-attempt=\""), 129, "attempt bars");
    assert_eq!(count(&dom, "class=\"bar instant cached"), 22);
    assert!(dom.contains("Critical path"));
    assert!(dom.contains("<span class=\"f1\">Error:</span> synthetic-failure-97"));
    // A long log is folded: its tail shows, the earlier lines are one click away.
    assert!(dom.contains("earlier lines"));
}
