//! Files a developer keeps for every run, through the built binary: the user's variables file
//! (`~/.config/tezos-ci-local/variables.yml`, scoped by project, group and global), `.env`
//! variables files, and the defaults files for options.

mod common;

use std::collections::BTreeMap;

use common::Project;
use tempfile::TempDir;

const CI: &str = "
show:
  image: busybox
  script: [env]
";

/// A project on `gitlab.com/tezos/tezos` and a home directory of its own.
fn project_with_home() -> (Project, TempDir) {
    let p = Project::git_with_ci(CI);
    p.git(&["remote", "add", "origin", "git@gitlab.com:tezos/tezos.git"]);
    (p, tempfile::tempdir().expect("temp dir"))
}

fn with_home(c: &mut assert_cmd::Command, home: &TempDir) {
    c.env("HOME", home.path()).env_remove("XDG_CONFIG_HOME");
}

fn write(path: std::path::PathBuf, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, common::dedent(text)).unwrap();
}

fn vars_of(p: &Project, home: &TempDir, args: &[&str]) -> BTreeMap<String, String> {
    let mut c = p.cmd(&["explain", "show", "--json"]);
    c.args(args);
    with_home(&mut c, home);
    vars_from(c)
}

/// The variables `explain --json` reports for the job.
fn vars_from(mut c: assert_cmd::Command) -> BTreeMap<String, String> {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_users_variables_file_is_scoped_and_below_the_projects() {
    let (p, home) = project_with_home();
    write(
        home.path().join(".config/tezos-ci-local/variables.yml"),
        "
        global:
          FROM_GLOBAL: g
          LEVEL: global
          OVERRIDDEN: user
        group:
          gitlab.com/tezos/:
            LEVEL: group
          gitlab.com/elsewhere/:
            OTHER_GROUP: leaked
        project:
          gitlab.com:tezos/tezos.git:
            LEVEL: project
          gitlab.com/tezos/other.git:
            OTHER_PROJECT: leaked
        ",
    );
    p.write(
        ".tezos-ci-local-variables.yml",
        "OVERRIDDEN: project-file\n",
    );
    let v = vars_of(&p, &home, &[]);
    assert_eq!(v.get("FROM_GLOBAL").map(String::as_str), Some("g"));
    assert_eq!(v.get("LEVEL").map(String::as_str), Some("project"));
    assert_eq!(
        v.get("OVERRIDDEN").map(String::as_str),
        Some("project-file")
    );
    assert!(
        !v.contains_key("OTHER_GROUP") && !v.contains_key("OTHER_PROJECT"),
        "{v:?}"
    );
    // --variable is above both.
    let v = vars_of(&p, &home, &["--variable", "LEVEL=cli"]);
    assert_eq!(v.get("LEVEL").map(String::as_str), Some("cli"));

    // XDG_CONFIG_HOME moves the file; gitlab-ci-local's file is read when ours is absent.
    let xdg = tempfile::tempdir().unwrap();
    write(
        xdg.path().join("tezos-ci-local/variables.yml"),
        "global:\n  FROM_GLOBAL: xdg\n",
    );
    let mut c = p.cmd(&["explain", "show", "--json"]);
    c.env("HOME", home.path())
        .env("XDG_CONFIG_HOME", xdg.path());
    assert_eq!(
        vars_from(c).get("FROM_GLOBAL").map(String::as_str),
        Some("xdg")
    );
    std::fs::remove_dir_all(home.path().join(".config")).unwrap();
    write(
        home.path().join(".gitlab-ci-local/variables.yml"),
        "global:\n  FROM_GLOBAL: peer\n",
    );
    let v = vars_of(&p, &home, &[]);
    assert_eq!(v.get("FROM_GLOBAL").map(String::as_str), Some("peer"));
}

#[test]
fn verbose_names_the_variables_files_read_and_bad_ones_are_errors() {
    let (p, home) = project_with_home();
    let user_file = home.path().join(".config/tezos-ci-local/variables.yml");
    write(user_file.clone(), "global:\n  A: 1\n");
    p.write(".tezos-ci-local-variables.yml", "B: 2\n");
    let mut c = p.cmd(&["run", "--dry-run", "--verbose"]);
    with_home(&mut c, &home);
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("Variables read from {}", user_file.display())),
        "{stderr}"
    );
    assert!(stderr.contains(".tezos-ci-local-variables.yml"), "{stderr}");

    write(user_file.clone(), "global:\n  A: 1\nprojects:\n  x: {}\n");
    let mut c = p.cmd(&["list"]);
    with_home(&mut c, &home);
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:3", user_file.display())) && stderr.contains("projects"),
        "{stderr}"
    );
}

#[test]
fn env_files_are_variables_files() {
    let (p, home) = project_with_home();
    p.write(".tezos-ci-local-variables.yml", "A: yml\nB: yml\n");
    p.write(
        ".tezos-ci-local-variables.env",
        "# the project's .env\nexport B=\"env file\"\nC='kept: $HOME'\nD=plain  # comment\n",
    );
    let v = vars_of(&p, &home, &[]);
    assert_eq!(v.get("A").map(String::as_str), Some("yml"));
    assert_eq!(v.get("B").map(String::as_str), Some("env file"), "{v:?}");
    assert_eq!(v.get("C").map(String::as_str), Some("kept: $HOME"));
    assert_eq!(v.get("D").map(String::as_str), Some("plain"));
    // --variables-file picks the format by the file's name, and replaces the project's files.
    p.write("ci/local.env", "E=\"line one\\nline two\"\n");
    let file = p.path().join("ci/local.env");
    let v = vars_of(&p, &home, &["--variables-file", file.to_str().unwrap()]);
    assert_eq!(v.get("E").map(String::as_str), Some("line one\nline two"));
    assert!(!v.contains_key("A"), "{v:?}");
    // A bad line is an error naming the file and the line.
    p.write("ci/bad.env", "E=1\nnot a variable\n");
    let bad = p.path().join("ci/bad.env");
    let mut c = p.cmd(&["list", "--variables-file", bad.to_str().unwrap()]);
    with_home(&mut c, &home);
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.env:2"), "{stderr}");
}

#[test]
fn option_defaults_come_from_the_project_then_the_users_file() {
    let p = Project::git_with_ci(
        "
        emulated:
          tags: [big_arm]
          script: [uname -m]
        ",
    );
    let home = tempfile::tempdir().unwrap();
    let user = home.path().join(".config/tezos-ci-local/config.yml");
    let dry_run = |args: &[&str]| {
        let mut c = p.cmd(&["run", "--dry-run"]);
        c.args(args);
        with_home(&mut c, &home);
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Built in: no image for a job that names none.
    let (code, _, stderr) = dry_run(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    write(
        user.clone(),
        "
        concurrency: 8
        default_image: busybox:latest
        platform_map:
          big_arm: linux/s390x
        ",
    );
    let (code, stdout, stderr) = dry_run(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("(1 jobs, at most 8 at once)"), "{stdout}");
    assert!(stdout.contains("linux/s390x"), "{stdout}");
    // The project's file is above the user's; the command line above both.
    p.write(
        ".tezos-ci-local.yml",
        "concurrency: 3\nplatform_map: [big_arm=linux/arm64]\n",
    );
    let (_, stdout, _) = dry_run(&[]);
    assert!(
        stdout.contains("at most 3 at once") && stdout.contains("linux/arm64"),
        "{stdout}"
    );
    let (_, stdout, _) = dry_run(&["-j", "1", "--platform-map", "big_*=linux/amd64"]);
    assert!(
        stdout.contains("at most 1 at once") && stdout.contains("linux/amd64"),
        "{stdout}"
    );
    // An unknown key is an error naming the file, line and key.
    write(user.clone(), "concurrency: 2\ndefault-image: debian\n");
    let (code, _, stderr) = dry_run(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:2", user.display())) && stderr.contains("default-image"),
        "{stderr}"
    );
}
