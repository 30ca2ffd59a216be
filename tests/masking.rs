//! A masked value never in clear, in any output (issue 13): one pipeline whose image name,
//! variables, rules, a failing command line and a job's JUnit report hold a masked value; every
//! file the run wrote (run directory, logs, JSON, JUnit, report, summary, result cache), stdout and
//! stderr, `explain`, `list`, `logs` and error messages are searched for the value in clear. And
//! the variables files never enter a job's workspace, whatever the checkout mode.

#[path = "run_e2e/support.rs"]
mod support;

use std::path::{Path, PathBuf};

use support::*;

const SECRET: &str = "s3cr3t-V4lue-7x9q";

const VARIABLES: &str =
    "SECRET_TOKEN:\n  value: \"s3cr3t-V4lue-7x9q\"\n  masked: true\nPLAIN: visible\n";

/// Every job holds the value somewhere other than its log: in its image name, a variable built
/// from it, its rules, its command line, its JUnit report. The scripts print it whole, in pieces
/// and in the report; nothing prints it except through the variable or a literal in the file.
const PIPELINE: &str = r#"
variables:
  DERIVED: "prefix-${SECRET_TOKEN}-suffix"

pulled:
  image: "registry.invalid/${SECRET_TOKEN}:1"
  script:
    - "true"

passes:
  image: tezos-ci-local/busybox:amd64
  rules:
    - if: '$SECRET_TOKEN == "s3cr3t-V4lue-7x9q"'
  script:
    - echo "derived $DERIVED"
    - echo "$SECRET_TOKEN" | fold -w 1 | while read c; do printf '%s' "$c"; done; echo
    - mkdir -p reports
    - printf '<testsuite name="s-%s" tests="2" failures="1"><testcase name="uses %s"><failure message="%s">%s</failure></testcase><testcase name="ok"/></testsuite>\n' "$SECRET_TOKEN" "$SECRET_TOKEN" "$DERIVED" "$SECRET_TOKEN" > reports/junit.xml
  artifacts:
    reports:
      junit: reports/junit.xml

fails:
  image: tezos-ci-local/busybox:amd64
  script:
    - echo "about to compare"
    - test "$SECRET_TOKEN" = "not-s3cr3t-V4lue-7x9q"
"#;

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let path = e.unwrap().path();
        if path.is_symlink() {
            continue;
        }
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Fails, naming the file, when any file under `dir` holds the value in clear; returns how many
/// files were read.
fn assert_no_clear_value_under(dir: &Path) -> usize {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "{} holds the masked value in clear:\n{}",
            f.display(),
            String::from_utf8_lossy(&bytes)
        );
    }
    files.len()
}

fn output(p: &Project, args: &[&str]) -> (i32, String, String) {
    let out = p.command().args(args).output().expect("run tezos-ci-local");
    (
        exit_code(out.status),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_masked_value_is_in_no_output_of_a_run() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    // Not git-ignored: it is still no file of the project a job sees, nor a key's input.
    let p = Project::new(PIPELINE, &[]);
    p.write(".tezos-ci-local-variables.yml", VARIABLES);
    let junit = p.scratch("junit.xml");
    let html = p.scratch("copy.html");
    // With the result cache (`passes` is stored in it), JSON events, JUnit and a copy of the page.
    let run = p.run_args(
        &engine,
        &[
            "run",
            "--json",
            "--verbose",
            "--pull",
            "never",
            "--junit",
            junit.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    );
    run.expect(
        1,
        &[
            ("pulled", "failed"),
            ("passes", "success"),
            ("fails", "failed"),
        ],
    );
    assert!(!run.stdout.contains(SECRET), "{run}");
    assert!(!run.stderr.contains(SECRET), "{run}");

    // What was masked is still there, as [MASKED]: the outputs were written, not emptied.
    let reason = run.finished("pulled")["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("registry.invalid/[MASKED]:1"), "{run}");
    let lines: Vec<&str> = run
        .job_events("job_log", "passes")
        .iter()
        .filter_map(|e| e["line"].as_str())
        .collect();
    assert!(lines.contains(&"derived prefix-[MASKED]-suffix"), "{run}");
    assert!(
        lines.contains(&"[MASKED]"),
        "printed a byte at a time: {run}"
    );
    let fails: Vec<&str> = run
        .job_events("job_log", "fails")
        .iter()
        .filter_map(|e| e["line"].as_str())
        .collect();
    assert!(
        fails.iter().any(|l| l.contains("not-[MASKED]")),
        "the failing command line is shown, masked: {run}"
    );
    let junit_text = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit_text.contains("uses [MASKED]") && junit_text.contains("prefix-[MASKED]-suffix"),
        "the job's own report is merged, masked:\n{junit_text}"
    );
    assert!(!junit_text.contains(SECRET), "{junit_text}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains(SECRET), "the HTML report copy");
    assert!(
        page.contains("[MASKED]"),
        "the page shows the masked reason and logs"
    );

    let run_dir = run.run_dir();
    let summary = std::fs::read_to_string(run_dir.join("summary.json")).unwrap();
    assert!(summary.contains("registry.invalid/[MASKED]:1"), "{summary}");
    // Every file of the run directory and of the whole state directory (the result cache, the
    // runs, what any run left), and the files beside the project.
    let read = assert_no_clear_value_under(&p.state());
    assert!(read >= 8, "only {read} files under the state directory");
    let results = p.state().join("results");
    assert!(
        assert_no_clear_value_under(&results) > 0,
        "`passes` is stored in the result cache"
    );
    // No digest of a value built from the masked one either (it could be guessed back): the
    // derived variable shares the masked part; the variables file is no input of the key.
    let mut stored = Vec::new();
    files_under(&results, &mut stored);
    let manifest = stored
        .iter()
        .find(|f| f.ends_with("manifest.json"))
        .expect("an entry for `passes`");
    let entry: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    let parts: Vec<&str> = entry["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p[0].as_str())
        .collect();
    assert!(parts.contains(&"masked_variables"), "{parts:?}");
    assert!(parts.contains(&"variable PLAIN"), "{parts:?}");
    assert!(!parts.contains(&"variable DERIVED"), "{parts:?}");
    let files_manifest = entry["files_manifest"].as_str().expect("file parts");
    let file_parts =
        std::fs::read_to_string(results.join("manifests").join(files_manifest)).unwrap();
    assert!(file_parts.contains(".gitlab-ci.yml"), "{file_parts}");
    assert!(
        !file_parts.contains(".tezos-ci-local-variables.yml"),
        "{file_parts}"
    );

    // `logs`, `explain` (text and JSON), `list` (table and JSON).
    for job in ["passes", "fails", "pulled"] {
        let log = p.logs(job);
        assert!(!log.contains(SECRET), "logs {job}:\n{log}");
    }
    let (_, explain, err) = output(&p, &["explain", "passes"]);
    assert!(
        !explain.contains(SECRET) && !err.contains(SECRET),
        "{explain}{err}"
    );
    assert!(
        explain.contains("DERIVED=prefix-[MASKED]-suffix"),
        "a variable built from a masked one:\n{explain}"
    );
    assert!(explain.contains("SECRET_TOKEN=[MASKED]"), "{explain}");
    assert!(
        explain.contains("== \"[MASKED]\""),
        "the rules trace:\n{explain}"
    );
    let (_, explain, err) = output(&p, &["explain", "pulled", "--json"]);
    assert!(
        !explain.contains(SECRET) && !err.contains(SECRET),
        "{explain}{err}"
    );
    assert!(explain.contains("[MASKED]"), "{explain}");
    let (_, explain, err) = output(&p, &["explain", "passes", "--json"]);
    assert!(
        !explain.contains(SECRET) && !err.contains(SECRET),
        "{explain}{err}"
    );
    for args in [&["list"][..], &["list", "--json"], &["list", "--all"]] {
        let (code, list, err) = output(&p, args);
        assert_eq!(code, 0, "{list}{err}");
        assert!(
            !list.contains(SECRET) && !err.contains(SECRET),
            "{list}{err}"
        );
        assert!(list.contains("registry.invalid/[MASKED]:1"), "{list}");
    }
    assert_no_clear_value_under(&run_dir);
}

#[test]
fn an_error_message_never_quotes_a_masked_value() {
    // A local include whose path is built from the masked variable: the error names the file.
    let p = Project::new(
        "include: 'ci/${SECRET_TOKEN}.yml'\njob:\n  image: busybox\n  script: [\"true\"]\n",
        &[],
    );
    p.write(".tezos-ci-local-variables.yml", VARIABLES);
    for args in [&["validate"][..], &["list"], &["explain", "job"]] {
        let (code, out, err) = output(&p, args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(
            err.contains("[MASKED]"),
            "{args:?}: the path is named:\n{err}"
        );
        assert!(
            !err.contains(SECRET) && !out.contains(SECRET),
            "{args:?}:\n{err}"
        );
    }
}

/// The job lists its workspace and fails when a variables file is in it; `*.yml` artifacts would
/// export one.
const LOOKS: &str = r#"
looks:
  image: tezos-ci-local/busybox:amd64
  script:
    - ls -a
    - test -e .gitlab-ci.yml
    - test ! -e .tezos-ci-local-variables.yml
    - test ! -e .gitlab-ci-local-variables.yml
    - test ! -e .gitlab-ci-local-env
    - test "${#SECRET_TOKEN}" -eq 17
  artifacts:
    paths: ["*.yml", ".gitlab-ci-local-env"]
"#;

#[test]
fn the_variables_files_never_enter_a_workspace() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    // Not git-ignored, and committed: the careless case, where a snapshot would take them.
    let p = Project::new(
        LOOKS,
        &[
            (".tezos-ci-local-variables.yml", VARIABLES),
            (
                ".gitlab-ci-local-variables.yml",
                "OTHER: s3cr3t-V4lue-7x9q\n",
            ),
            (".gitlab-ci-local-env", "VARIABLE=\"K=v\"\n"),
        ],
    );
    let origin = p.repo();
    for (i, (mode, extra)) in [
        ("working tree", vec![]),
        ("--commit", vec!["--commit", "HEAD"]),
        ("--clone", vec!["--clone", origin.to_str().unwrap()]),
        (
            "--variables-file in the project",
            vec!["--variables-file", "my-variables.yml"],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let exported = p.scratch(&format!("exported-{i}"));
        let mut args = vec!["--verbose", "--artifacts-dir", exported.to_str().unwrap()];
        args.extend(extra);
        let cwd_args: Vec<&str> = args.clone();
        let own_file = mode.starts_with("--variables-file");
        let run = if own_file {
            // Not committed, not ignored: a working-tree snapshot would take it.
            p.write("my-variables.yml", VARIABLES);
            // `--variables-file` is relative to where the command is typed.
            let mut c = p.command();
            c.current_dir(p.repo());
            c.args(["run", "--json", "--no-cache"]).args(&cwd_args);
            let run = Run::of(&mut c, RUN_LIMIT);
            engine.assert_no_leftovers(run.run_id());
            run
        } else {
            p.run(&engine, &args)
        };
        run.expect(0, &[("looks", "success")]);
        let lines: Vec<&str> = run
            .job_events("job_log", "looks")
            .iter()
            .filter_map(|e| e["line"].as_str())
            .collect();
        assert!(lines.contains(&".gitlab-ci.yml"), "{mode}: ls -a\n{run}");
        let mut secret_files = vec![
            ".tezos-ci-local-variables.yml",
            ".gitlab-ci-local-variables.yml",
            ".gitlab-ci-local-env",
        ];
        if own_file {
            secret_files.push("my-variables.yml");
        }
        for f in secret_files {
            assert!(!lines.contains(&f), "{mode}: {f} in the workspace\n{run}");
            assert!(
                !run.run_dir().join("artifacts/looks").join(f).exists(),
                "{mode}: {f} exported into the run directory"
            );
            assert!(
                !exported.join("looks").join(f).exists(),
                "{mode}: {f} exported by --artifacts-dir"
            );
        }
        assert!(
            exported.join("looks/.gitlab-ci.yml").exists(),
            "{mode}: the `*.yml` artifacts were exported"
        );
        assert!(!run.stdout.contains(SECRET), "{mode}\n{run}");
        assert_no_clear_value_under(&run.run_dir());
    }
}
