//! A developer's day, through the built binary and real Docker: `--dry-run` says which jobs the
//! result cache answers, `logs JOB --follow` follows a job of a run under way.

#[path = "run_e2e/support.rs"]
mod support;

use support::*;

const CACHED: &str = r#"
build:
  image: tezos-ci-local/busybox:amd64
  script: [mkdir -p out, cat src.txt > out/built]
  artifacts: {paths: [out/]}
test:
  image: tezos-ci-local/busybox:amd64
  needs: [build]
  script: [cat out/built]
lint:
  image: tezos-ci-local/busybox:amd64
  needs: []
  script: ["true"]
"#;

/// The `run`/`cached` column of each job in `run --dry-run`'s plan.
fn dry_run(p: &Project, args: &[&str]) -> (std::collections::BTreeMap<String, String>, String) {
    let mut c = p.command();
    c.args(["run", "--dry-run"]).args(args);
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let marks = stdout
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("  "))
        .map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next().unwrap().to_string();
            let _stage = w.next();
            (name, w.next().unwrap().to_string())
        })
        .collect();
    (marks, stdout)
}

#[test]
fn dry_run_marks_the_jobs_that_will_be_cached() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    // lint's key covers its declared inputs only, so that src.txt does not change it.
    let p = Project::new(
        CACHED,
        &[
            ("src.txt", "one\n"),
            (".tezos-ci-local.yml", "jobs:\n  lint:\n    inputs: [lint.cfg]\n"),
        ],
    );
    let marks = |args: &[&str]| dry_run(&p, args).0;
    let all = |m: &str| {
        [("build", m), ("lint", m), ("test", m)]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(marks(&[]), all("run"));
    let run = p.run_args(&engine, &["run", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let (m, stdout) = dry_run(&p, &[]);
    assert_eq!(m, all("cached"), "{stdout}");
    assert!(stdout.contains("3 jobs are cached"), "{stdout}");
    // The lookups were read only: the run that follows reports them cached, as announced.
    let run = p.run_args(&engine, &["run", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.status("build"), "cached", "{run}");
    // An input changes: the job runs, and so does the one that takes its artifacts.
    p.write("src.txt", "two\n");
    let mut expected = all("run");
    expected.insert("lint".into(), "cached".into());
    let (m, stdout) = dry_run(&p, &[]);
    assert_eq!(m, expected, "{stdout}");
    // --rerun and --no-cache are taken into account.
    p.write("src.txt", "one\n");
    let mut expected = all("cached");
    expected.insert("lint".into(), "run".into());
    assert_eq!(marks(&["--rerun", "lint"]), expected);
    assert_eq!(marks(&["--no-cache"]), all("run"));
}
