//! Run-directory paths are one-to-one with job names: jobs whose names differ only in
//! characters a file name cannot hold (`build:x`, `build/x`) keep their own log and artifacts.

use crate::support::*;

#[test]
fn jobs_named_alike_keep_their_own_logs_and_artifacts() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
"build:x":
  image: busybox:latest
  script:
    - echo "I am the colon job" > out.txt
    - echo colon-log
  artifacts:
    paths: [out.txt]
"build/x":
  image: busybox:latest
  script:
    - echo "I am the slash job" > out.txt
    - echo slash-log
  artifacts:
    paths: [out.txt]
"#;
    let p = Project::new(ci, &[]);
    let run = p.run(&engine, &[]);
    run.expect(0, &[("build:x", "success"), ("build/x", "success")]);
    let colon = p.logs("build:x");
    let slash = p.logs("build/x");
    assert!(colon.lines().any(|l| l == "colon-log"), "{colon}");
    assert!(!colon.contains("slash-log"), "{colon}");
    assert!(slash.lines().any(|l| l == "slash-log"), "{slash}");
    assert!(!slash.contains("colon-log"), "{slash}");
    let artifacts = run.run_dir().join("artifacts");
    let read = |dir: &str| std::fs::read_to_string(artifacts.join(dir).join("out.txt")).unwrap();
    assert_eq!(read("build%3Ax"), "I am the colon job\n");
    assert_eq!(read("build%2Fx"), "I am the slash job\n");
}
