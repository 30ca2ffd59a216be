//! The pipelines of `examples/`, run end to end with the built binary on the real Docker engine.
//! Each is copied into a git repository of its own (nothing is written into the source tree) and
//! run as a push pipeline on `main` with a state directory of its own; the expected jobs and
//! statuses come from reading each `.gitlab-ci.yml`, and each run is checked to leave no
//! labelled container, volume or network.

#[path = "run_e2e/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use support::*;
use tezos_ci_local::store::file_name_for;

fn example(name: &str) -> Project {
    Project::copy_of(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Where a run (or `--artifacts-dir`) keeps a job's artifacts.
fn job_artifacts(root: &Path, job: &str) -> PathBuf {
    root.join(file_name_for(job))
}

/// Asserts the exit code and that the run reported exactly these jobs, with these statuses.
fn expect_exactly(run: &Run, code: i32, expected: &[(&str, &str)]) {
    assert_eq!(run.code, code, "exit code\n{run}");
    let expected: BTreeMap<&str, &str> = expected.iter().copied().collect();
    assert_eq!(run.statuses(), expected, "statuses\n{run}");
}

/// The names in `pipeline_started`'s job list.
fn listed(run: &Run) -> BTreeSet<&str> {
    run.events
        .iter()
        .find(|e| e["event"] == "pipeline_started")
        .and_then(|e| e["jobs"].as_array())
        .unwrap_or_else(|| panic!("no job list\n{run}"))
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect()
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// A `VERSION` file of octez-mini's build as `key=value` pairs.
fn version_of(build: &Path) -> BTreeMap<String, String> {
    read(&build.join("VERSION"))
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The ELF machine of an executable (`e_machine`: 0x3e x86_64, 0xb7 aarch64), after checking
/// that it is a 64-bit little-endian ELF file.
fn elf_machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.len() > 20, "{}: too short", path.display());
    assert_eq!(&bytes[..4], b"\x7fELF", "{}: not ELF", path.display());
    assert_eq!(&bytes[4..6], [2, 1], "{}: not 64-bit LSB", path.display());
    u16::from_le_bytes([bytes[18], bytes[19]])
}

/// A run of the real OCaml builds: longer than the support's limit, meant for quick pipelines,
/// when the machine is busy (the arm64 jobs run under qemu). Checks that it left nothing behind.
fn run_long(p: &Project, engine: &Engine, args: &[&str]) -> Run {
    let mut c = p.command();
    c.args(args);
    let run = Run::of(&mut c, std::time::Duration::from_secs(1200));
    if run.events.iter().any(|e| e["event"] == "pipeline_started") {
        engine.assert_no_leftovers(run.run_id());
    }
    run
}

/// octez-mini's jobs in a push pipeline on main, with their statuses and platforms.
const OCTEZ_MINI_JOBS: [(&str, &str, &str); 17] = [
    ("sanity_ci", "success", "amd64"),
    ("build_x86_64", "success", "amd64"),
    ("build_arm64", "success", "arm64"),
    ("documentation:build", "success", "amd64"),
    ("unit:lib: [lib_crypto]", "success", "amd64"),
    ("unit:lib: [lib_michelson]", "success", "amd64"),
    ("unit:cli", "success", "amd64"),
    ("unit:cli-arm64", "success", "arm64"),
    ("tezt 1/3", "success", "amd64"),
    ("tezt 2/3", "success", "amd64"),
    ("tezt 3/3", "success", "amd64"),
    ("integration:compiler-rejections", "success", "amd64"),
    ("test_coverage", "success", "amd64"),
    ("publish:documentation", "success", "amd64"),
    ("documentation:build_all", "manual", "amd64"),
    ("documentation:linkcheck", "manual", "amd64"),
    ("publish:docker_manual", "manual", "amd64"),
];

#[test]
fn octez_mini() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = example("octez-mini");
    let export = p.scratch("exported");
    let junit = p.scratch("junit.xml");
    let run = run_long(
        &p,
        &engine,
        &[
            "run",
            "--json",
            "--no-cache",
            "--artifacts-dir",
            export.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    // A push to main, the default branch: workflow:rules let the pipeline run; docker:hadolint
    // is for merge requests only; publish:documentation runs on the default branch; the three
    // jobs of the manual stage wait to be started.
    let statuses: Vec<(&str, &str)> = OCTEZ_MINI_JOBS.iter().map(|(j, s, _)| (*j, *s)).collect();
    expect_exactly(&run, 0, &statuses);
    assert_eq!(run.pipeline_status(), "success", "{run}");
    assert!(!listed(&run).contains("docker:hadolint"), "{run}");
    for (job, status, arch) in OCTEZ_MINI_JOBS {
        let finished = run.finished(job);
        assert_eq!(
            finished["platform"],
            format!("linux/{arch}"),
            "{job}\n{run}"
        );
        let started = run.job_events("job_started", job).len();
        assert_eq!(started, usize::from(status != "manual"), "{job}\n{run}");
    }

    // The builds, in the run directory and exported alike: dune's executables for the machine
    // each ran on, the instrumented bytecode on x86_64 without the objects that
    // `artifacts:exclude` leaves out, the client alone on arm64.
    let set =
        |files: &[&str]| -> BTreeSet<String> { files.iter().map(|f| f.to_string()).collect() };
    for root in [run.run_dir().join("artifacts"), export.clone()] {
        let x86 = job_artifacts(&root, "build_x86_64").join("_bin/x86_64");
        assert_eq!(
            files_under(&x86),
            set(&[
                "VERSION",
                "SHA256SUMS",
                "bin/octez-mini-client",
                "test/test_crypto.exe",
                "test/test_michelson.exe",
                "cov/octez-mini-client.byte",
                "cov/test_crypto.byte",
                "cov/test_michelson.byte",
            ]),
            "{}",
            x86.display()
        );
        let arm = job_artifacts(&root, "build_arm64").join("_bin/arm64");
        assert_eq!(
            files_under(&arm),
            set(&["VERSION", "SHA256SUMS", "bin/octez-mini-client"]),
            "{}",
            arm.display()
        );
        for (build, arch, machine, instrumented, elf) in [
            (&x86, "x86_64", "x86_64", "yes", 0x3e),
            (&arm, "arm64", "aarch64", "no", 0xb7),
        ] {
            let version = version_of(build);
            assert_eq!(version["target"], arch, "{version:?}");
            assert_eq!(version["machine"], machine, "{version:?}");
            assert_eq!(version["instrumented"], instrumented, "{version:?}");
            assert!(version["compiler"].starts_with("ocaml-4."), "{version:?}");
            assert_eq!(elf_machine(&build.join("bin/octez-mini-client")), elf);
        }
        // odoc's pages of the three library modules.
        let docs = job_artifacts(&root, "documentation:build").join("docs/_build");
        assert!(read(&docs.join("index.html")).contains("<html"));
        for module in ["Hex", "Sha256", "Base58", "Michelson"] {
            let page = docs.join(format!("octez-mini/{module}/index.html"));
            assert!(read(&page).contains(module), "{}", page.display());
        }
        let public = job_artifacts(&root, "publish:documentation").join("public");
        assert_eq!(files_under(&public), files_under(&docs));
        // tezt's shards keep their own record, named by CI_NODE_INDEX.
        for i in 1..=3 {
            let shard = job_artifacts(&root, &format!("tezt {i}/3"));
            assert!(shard.join(format!("tezt-results-{i}.json")).is_file());
            assert!(shard.join("tezt.log").is_file());
        }
    }
    // The arm64 client ran under qemu: the job says so, from the client's own report.
    let arm64_log = p.logs("unit:cli-arm64");
    assert!(
        arm64_log.contains("ELF 64-bit LSB, machine aarch64")
            && arm64_log.contains("target arm64, machine aarch64)"),
        "{arm64_log}"
    );

    // JUnit: the test jobs' own reports, one test case per Alcotest test; tezt's shards
    // together ran every tezt test, once, and the arm64 job all of them.
    for (job, cases) in [
        ("unit:lib: [lib_crypto]", 4),
        ("unit:lib: [lib_michelson]", 3),
        ("unit:cli", 1),
        ("integration:compiler-rejections", 9),
    ] {
        let reports = junit_of(&run, job);
        assert_eq!(reports.len(), 1, "{job}\n{run}");
        assert!(
            reports[0].contains(&format!("tests=\"{cases}\" failures=\"0\"")),
            "{job}: {}",
            reports[0]
        );
    }
    let tezt_tests: BTreeSet<String> = std::fs::read_dir(p.repo().join("tezt/tests"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            format!("tezt.{}", name.trim_end_matches(".sh"))
        })
        .collect();
    let classes = |report: &str| -> Vec<String> {
        report
            .split("classname=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .collect()
    };
    let mut tezt_cases = Vec::new();
    for i in 1..=3 {
        for report in junit_of(&run, &format!("tezt {i}/3")) {
            tezt_cases.extend(classes(&report));
        }
    }
    tezt_cases.sort();
    assert_eq!(tezt_cases, tezt_tests.iter().cloned().collect::<Vec<_>>());
    let arm64_report = &junit_of(&run, "unit:cli-arm64")[0];
    assert!(arm64_report.contains("failures=\"0\""), "{arm64_report}");
    let arm64_cases: BTreeSet<String> = classes(arm64_report).into_iter().collect();
    assert!(arm64_cases.is_superset(&tezt_tests), "{arm64_report}");
    let merged = read(&junit);
    for job in ["build_arm64", "tezt 2/3", "publish:docker_manual"] {
        assert!(
            merged.contains(&format!("name=\"{job}\"")),
            "{job}: {merged}"
        );
    }
    assert!(
        merged.contains("classname=\"lib_crypto.sha256\""),
        "{merged}"
    );

    // Coverage: the value read from test_coverage's log with its `coverage:` regex is the one
    // its report computed from the counts of the instrumented runs.
    let summary = read(
        &job_artifacts(&run.run_dir().join("artifacts"), "test_coverage")
            .join("_coverage_report/summary.txt"),
    );
    let percent: f64 = summary
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once('%'))
        .and_then(|(p, _)| p.parse().ok())
        .unwrap_or_else(|| panic!("no percentage in {summary}"));
    let coverage = run.finished("test_coverage")["coverage"]
        .as_f64()
        .unwrap_or_else(|| panic!("no coverage\n{run}"));
    assert!(percent > 50.0 && percent <= 100.0, "{summary}");
    assert!((coverage - percent).abs() < 0.01, "{coverage} vs {summary}");
}

/// A second run of an unchanged octez-mini is all cached. A comment added at the end of an
/// OCaml source reruns what reads the sources (the builds, the docs, the lint and the coverage
/// report), but the builds make byte-identical executables, so the jobs that only run them stay
/// cached: this last part needs early cutoff (a rerun job whose artifacts are byte-identical
/// leaves the jobs that take them cached).
#[test]
fn octez_mini_cached_then_a_comment_changed() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = example("octez-mini");
    let first = run_long(&p, &engine, &["run", "--json"]);
    let statuses: Vec<(&str, &str)> = OCTEZ_MINI_JOBS.iter().map(|(j, s, _)| (*j, *s)).collect();
    expect_exactly(&first, 0, &statuses);

    let second = run_long(&p, &engine, &["run", "--json"]);
    let cached: Vec<(&str, &str)> = OCTEZ_MINI_JOBS
        .iter()
        .map(|(j, s, _)| (*j, if *s == "success" { "cached" } else { *s }))
        .collect();
    expect_exactly(&second, 0, &cached);
    assert!(second.started_jobs().is_empty(), "{second}");

    let source = p.repo().join("src/lib_michelson/michelson.ml");
    let mut text = read(&source);
    text.push_str("\n(* The interpreter stops at the first error. *)\n");
    std::fs::write(&source, text).unwrap();
    let third = run_long(&p, &engine, &["run", "--json"]);
    let reran = [
        "sanity_ci",
        "build_x86_64",
        "build_arm64",
        "documentation:build",
        "test_coverage",
    ];
    let expected: Vec<(&str, &str)> = OCTEZ_MINI_JOBS
        .iter()
        .map(|(j, s, _)| {
            let status = match *s {
                "success" if reran.contains(j) => "success",
                "success" => "cached",
                other => other,
            };
            (*j, status)
        })
        .collect();
    expect_exactly(&third, 0, &expected);
    let mut started = third.started_jobs();
    started.sort();
    let mut want = reran.to_vec();
    want.sort();
    assert_eq!(started, want, "{third}");
}

/// `--pipeline ocaml` on a project with no CI file: both examples, both platforms.
fn ocaml_pipeline(name: &str, jobs: &[&str], installed: &str) {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = example(name);
    let run = run_long(&p, &engine, &["run", "--json", "--pipeline", "ocaml"]);
    let expected: Vec<(&str, &str)> = jobs.iter().map(|j| (*j, "success")).collect();
    expect_exactly(&run, 0, &expected);
    let root = run.run_dir().join("artifacts");
    for (platform, elf) in [("amd64", 0x3e), ("arm64", 0xb7)] {
        let job = format!("build: [{platform}]");
        assert_eq!(run.finished(&job)["platform"], format!("linux/{platform}"));
        let exe = job_artifacts(&root, &job).join(format!("_install/{platform}/bin/{installed}"));
        assert_eq!(elf_machine(&exe), elf, "{}", exe.display());
    }
    assert!(
        job_artifacts(&root, "doc")
            .join("doc-html/index.html")
            .is_file()
    );

    // The inputs drive it: one platform only.
    let one = run_long(
        &p,
        &engine,
        &[
            "run",
            "--json",
            "--pipeline",
            "ocaml",
            "--input",
            "platforms=[amd64]",
        ],
    );
    assert_eq!(one.code, 0, "{one}");
    assert!(listed(&one).contains("build: [amd64]"), "{one}");
    assert!(!listed(&one).contains("build: [arm64]"), "{one}");
}

#[test]
fn ocaml_pipeline_on_ocaml_lib() {
    // .ocamlformat: the formatting check is in.
    ocaml_pipeline(
        "ocaml-lib",
        &[
            "lint-opam",
            "lint-fmt",
            "build: [amd64]",
            "build: [arm64]",
            "doc",
        ],
        "tez-sum",
    );
}

#[test]
fn ocaml_pipeline_on_octez_mini() {
    // No .ocamlformat: no formatting check; octez-mini's own .gitlab-ci.yml is not read.
    ocaml_pipeline(
        "octez-mini",
        &["lint-opam", "build: [amd64]", "build: [arm64]", "doc"],
        "octez-mini-client",
    );
}

/// The contents of a job's own JUnit reports, from its `job_finished` event.
fn junit_of(run: &Run, job: &str) -> Vec<String> {
    run.finished(job)["junit"]
        .as_array()
        .unwrap_or_else(|| panic!("no junit for {job}\n{run}"))
        .iter()
        .map(|f| read(Path::new(f.as_str().unwrap())))
        .collect()
}

#[test]
fn artifacts() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = example("artifacts");
    let run = p.run(&engine, &[]);
    // Every job checks what it received in its script; flaky_tool fails with an allowed code.
    expect_exactly(
        &run,
        0,
        &[
            ("produce", "success"),
            ("transform", "success"),
            ("consume", "success"),
            ("stage_ordered", "success"),
            ("nothing", "success"),
            ("flaky_tool", "allowed_failure"),
            ("read_crash_logs", "success"),
            ("summary", "success"),
        ],
    );
    assert_eq!(run.finished("flaky_tool")["exit_code"], 3, "{run}");
    let root = run.run_dir().join("artifacts");
    assert_eq!(
        files_under(&job_artifacts(&root, "produce")),
        BTreeSet::from(["out/a.txt".to_string()])
    );
    assert_eq!(
        read(&job_artifacts(&root, "produce").join("out/a.txt")),
        "tezos\n"
    );
    assert!(
        read(&job_artifacts(&root, "transform").join("summary/sha256.txt")).contains("out/a.txt")
    );
    assert_eq!(
        read(&job_artifacts(&root, "flaky_tool").join("logs/crash.txt")),
        "segfault at 0xdead\n"
    );
}

#[test]
fn matrix() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = example("matrix");
    let run = p.run(&engine, &[]);
    expect_exactly(
        &run,
        0,
        &[
            ("build: [x86_64, release]", "success"),
            ("build: [arm64, release]", "success"),
            ("build: [s390x, release]", "success"),
            ("build: [s390x, debug]", "success"),
            ("test_arm64", "success"),
            ("shard 1/4", "success"),
            ("shard 2/4", "success"),
            ("shard 3/4", "success"),
            ("shard 4/4", "success"),
            ("gather", "success"),
        ],
    );
    let root = run.run_dir().join("artifacts");
    assert_eq!(
        read(&job_artifacts(&root, "build: [s390x, debug]").join("dist/s390x-debug.txt")),
        "s390x debug\n"
    );
    // 1 to 20 dealt round-robin: shard i gets the numbers equal to i modulo 4.
    for i in 1..=4u32 {
        let expected: String = (1..=20)
            .filter(|n| n % 4 == i % 4)
            .map(|n| format!("{n}\n"))
            .collect();
        let part = job_artifacts(&root, &format!("shard {i}/4")).join(format!("part-{i}.txt"));
        assert_eq!(read(&part), expected, "shard {i}");
    }
}

#[test]
fn services() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = example("services");
    // The scripts succeed only if they reach the services by their aliases; the support checks
    // that the service containers and the job networks are gone.
    let run = p.run(&engine, &[]);
    expect_exactly(&run, 0, &[("web", "success"), ("two_services", "success")]);
}

/// Milliseconds since midnight of an event's `time` (`2026-02-26T12:00:01.250Z`).
fn time_of_day_ms(event: &serde_json::Value) -> i64 {
    let time = event["time"].as_str().expect("a time");
    let (h, m, s) = (&time[11..13], &time[14..16], &time[17..23]);
    let secs: f64 = s.parse().expect("seconds");
    (h.parse::<i64>().unwrap() * 60 + m.parse::<i64>().unwrap()) * 60_000 + (secs * 1000.0) as i64
}

#[test]
fn rules() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = example("rules");
    let run = p.run(&engine, &[]);
    // A push on main without upstream: rules:changes has nothing to compare with and is true,
    // as on GitLab for a new branch, so when_docs_change is in.
    expect_exactly(
        &run,
        0,
        &[
            ("always_runs", "success"),
            ("when_file_exists", "success"),
            ("when_docs_change", "success"),
            ("rule_sets_variable", "success"),
            ("after_optional", "success"),
            ("delayed_job", "success"),
            ("manual_deploy", "manual"),
        ],
    );
    for absent in ["only_on_mr", "never_runs", "when_file_missing"] {
        assert!(!listed(&run).contains(absent), "{absent}\n{run}");
    }
    // workflow:rules' variables, and the rule that matched first.
    assert!(
        p.logs("always_runs")
            .lines()
            .any(|l| l == "a branch pipeline on main (push)"),
        "{}",
        p.logs("always_runs")
    );
    assert!(
        p.logs("rule_sets_variable")
            .lines()
            .any(|l| l == "target staging")
    );

    // delayed_job starts 5 seconds after the last job of the stage before it ended.
    let test_stage_end = ["always_runs", "when_file_exists", "when_docs_change"]
        .iter()
        .chain(&["rule_sets_variable", "after_optional"])
        .map(|j| time_of_day_ms(run.finished(j)))
        .max()
        .unwrap();
    let started = time_of_day_ms(run.job_events("job_started", "delayed_job")[0]);
    let waited = (started - test_stage_end).rem_euclid(24 * 3_600_000);
    assert!(
        waited >= 4_900,
        "delayed_job started after {waited} ms\n{run}"
    );
}

#[test]
fn multiarch() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = example("multiarch");
    let run = p.run(&engine, &[]);
    expect_exactly(
        &run,
        0,
        &[
            ("x86_64", "success"),
            ("arm64", "success"),
            ("s390x", "success"),
            ("compare", "success"),
        ],
    );
    let root = run.run_dir().join("artifacts");
    for (job, platform, machine, one) in [
        ("x86_64", "linux/amd64", "x86_64", 1),
        ("arm64", "linux/arm64", "aarch64", 1),
        ("s390x", "linux/s390x", "s390x", 256),
    ] {
        assert_eq!(run.finished(job)["platform"], platform, "{run}");
        assert_eq!(
            read(&job_artifacts(&root, job).join(format!("arch-{job}.txt"))),
            format!("machine {machine}, 16-bit 0x0001 reads as {one}\n")
        );
    }
}

#[test]
fn components() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/components");
    // The component project's own pipeline: the component from its checkout.
    let own = Project::copy_of(&examples.join("greet-components"));
    let run = own.run(&engine, &[]);
    expect_exactly(&run, 0, &[("greet-tester", "success")]);
    assert!(
        own.logs("greet-tester")
            .contains("hello, tester (from greet@)")
    );
    // The app: the component at @1 (1.1.0) from a bare repository with its releases.
    let app = Project::copy_of(&examples.join("app"));
    let bare = app.scratch("greet.git");
    let out = std::process::Command::new(examples.join("make-component-repo.sh"))
        .arg(&bare)
        .output()
        .expect("make-component-repo.sh runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let source = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let run = app.run(&engine, &["--project-source", &source]);
    expect_exactly(
        &run,
        0,
        &[
            ("greet-world", "success"),
            ("greet-builder", "success"),
            ("after-greetings", "success"),
        ],
    );
    let log = app.logs("greet-world");
    assert_eq!(
        log.matches("hello, world (from greet@1.1.0)").count(),
        2,
        "{log}"
    );
}
