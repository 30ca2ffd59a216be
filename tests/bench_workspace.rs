//! How long a job waits for its project files, for a checkout of 100 files and one of 20,000,
//! through the overlay (local engine) and, for contrast, through uploads. Ignored by default:
//! `scripts/bench-workspace.sh` runs it in release mode and prints the figures.
//!
//! Set-up is timed from the job's own log, as its lines arrive: from "Preparing environment"
//! (the image is ready) to the first line the script prints, which covers the volume, the
//! container, the mount (overlay) or the copy (upload), and the container's start. The whole
//! attempt is timed too.

#[path = "docker_executor/support.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;
use tezos_ci_local::executor::{
    AttemptStatus, DockerExecutor, DockerOptions, Executor, LogSink, Workspace, WorkspaceMode,
};
use tokio_util::sync::CancellationToken;

struct Timing {
    setup: Duration,
    total: Duration,
}

async fn one_job(exec: &DockerExecutor, fx: &Fixture, n: usize) -> Timing {
    let spec = fx.spec(&format!("bench {n}"), &["echo first-line"]);
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let sink = LogSink::new("bench", None, Some(tx), vec![], None).unwrap();
    let start = Instant::now();
    let job = tokio::spawn(exec.run(Arc::new(spec), sink, CancellationToken::new()));
    let (mut prep, mut first) = (None, None);
    while let Some(l) = rx.recv().await {
        match l.line.as_str() {
            "Preparing environment" => prep = Some(Instant::now()),
            "first-line" => first = Some(Instant::now()),
            _ => {}
        }
    }
    let outcome = job.await.unwrap();
    let total = start.elapsed();
    assert_eq!(outcome.status, AttemptStatus::Success);
    Timing {
        setup: first.unwrap() - prep.unwrap(),
        total,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run scripts/bench-workspace.sh"]
async fn bench_workspace_setup() {
    let runs: usize = std::env::var("TCL_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(9);
    let sizes = [100usize, 20_000];
    let mut fixtures = Vec::new();
    for n in sizes {
        // The fixture's three files count towards the size.
        let fx = Fixture::with_files(&format!("bench{n}"), n - 3);
        let again = fx.dir.path().join("snapshot-timed");
        let t = Instant::now();
        Workspace::from_working_tree(&fx.checkout(), &again).unwrap();
        println!(
            "checkout of {:>6} files: snapshot (once per run) {:>7.1} ms",
            fx.workspace.files.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
        fixtures.push(fx);
    }
    for mode in [WorkspaceMode::Overlay, WorkspaceMode::Upload] {
        let options = DockerOptions {
            workspace: mode,
            ..Default::default()
        };
        let Some(exec) = docker_or_skip_with(options).await else {
            continue;
        };
        let mut medians = Vec::new();
        for (fx, n) in fixtures.iter().zip(sizes) {
            one_job(&exec, fx, n).await; // warm-up
            let mut setup = Vec::new();
            let mut total = Vec::new();
            // Uploading 20,000 files takes seconds: fewer runs there.
            let runs = if mode == WorkspaceMode::Upload && n > 1000 {
                runs.div_ceil(3)
            } else {
                runs
            };
            for _ in 0..runs {
                let t = one_job(&exec, fx, n).await;
                setup.push(t.setup);
                total.push(t.total);
            }
            let (s, t) = (median(setup), median(total));
            println!(
                "{mode:?}: {n:>6} files: workspace set-up {:>7.1} ms, whole job {:>7.1} ms (median of {runs})",
                s.as_secs_f64() * 1e3,
                t.as_secs_f64() * 1e3
            );
            medians.push(s);
            assert_no_leftovers(&exec, &fx.run_id).await;
        }
        println!(
            "{mode:?}: set-up ratio 20,000 / 100 files = {:.2}",
            medians[1].as_secs_f64() / medians[0].as_secs_f64()
        );
    }
}
