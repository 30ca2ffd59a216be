//! Masked variables from the variables file never reach a log, a report or the JSON output.

use std::path::Path;

use crate::support::*;

const SECRET: &str = "s3cr3t-V4lue-7x9q";

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn masked_variables_never_show() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    // The script never spells the value: it only ever comes from the variable.
    let ci = r#"
leaky:
  image: tezos-ci-local/busybox:amd64
  script:
    - test ${#SECRET_TOKEN} -eq 17
    - echo "token is $SECRET_TOKEN"
    - echo "$SECRET_TOKEN" >&2
    - printf 'prefix%ssuffix\n' "$SECRET_TOKEN"
  after_script:
    - echo "after_script token $SECRET_TOKEN"
"#;
    let variables =
        format!("SECRET_TOKEN:\n  value: \"{SECRET}\"\n  masked: true\nPLAIN: visible\n");
    let p = Project::new(ci, &[(".gitignore", ".tezos-ci-local-variables.yml\n")]);
    p.write(".tezos-ci-local-variables.yml", &variables);
    let run = p.run(&engine, &["--verbose"]);
    run.expect(0, &[("leaky", "success")]);

    assert!(!run.stdout.contains(SECRET), "{run}");
    assert!(!run.stderr.contains(SECRET), "{run}");
    let lines: Vec<&str> = run
        .job_events("job_log", "leaky")
        .iter()
        .filter_map(|e| e["line"].as_str())
        .collect();
    assert!(lines.contains(&"token is [MASKED]"), "{run}");
    assert!(lines.contains(&"[MASKED]"), "{run}");
    assert!(lines.contains(&"prefix[MASKED]suffix"), "{run}");
    assert!(lines.contains(&"after_script token [MASKED]"), "{run}");

    let mut files = Vec::new();
    files_under(&run.run_dir(), &mut files);
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "log"))
    );
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(SECRET), "{} holds the secret", f.display());
    }
    let log = p.logs("leaky");
    assert!(log.contains("token is [MASKED]"), "{log}");
    assert!(!log.contains(SECRET), "{log}");
}
