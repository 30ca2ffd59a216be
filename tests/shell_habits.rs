//! The habits of a shell user, through the built binary: a closed pipe ends a printing command
//! quietly, bash completes after a subcommand and completes job names (run through bash's own
//! completion function), gitlab-ci-local's spellings get a hint, `--color` is obeyed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tezos-ci-local");

const PIPELINE: &str = "build:\n  image: tezos-ci-local/busybox:amd64\n  script: [echo hi]\n\
unit:\n  image: tezos-ci-local/busybox:amd64\n  script: [echo hi]\n";

/// A directory with a pipeline of 120 jobs (enough output to outlast a pipe's first line).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut ci = String::from(PIPELINE);
    for i in 0..120 {
        ci.push_str(&format!(
            "job_{i}:\n  image: tezos-ci-local/busybox:amd64\n  script: [echo {i}]\n"
        ));
    }
    std::fs::write(dir.path().join(".gitlab-ci.yml"), ci).unwrap();
    dir
}

/// Runs the binary with `args` in `dir`, reads the first line of its stdout, then closes the
/// pipe (as `| head -1` does) and returns that line, the exit status and stderr.
fn first_line_then_close(dir: &Path, args: &[&str]) -> (String, std::process::ExitStatus, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("TEZOS_CI_LOCAL_STATE_DIR", dir.join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // The reader is dropped here: the pipe is closed with output still to come.
    let out = child.wait_with_output().unwrap();
    (
        line,
        out.status,
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn a_closed_pipe_ends_a_printing_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let dir = project();
    for args in [
        &["completions", "zsh"][..],
        &["completions", "bash"],
        &["run", "--dry-run"],
        &["list"],
        &["graph"],
    ] {
        let (line, status, stderr) = first_line_then_close(dir.path(), args);
        assert!(!line.is_empty(), "{args:?}: no first line");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        // Either it finished before the pipe closed, or SIGPIPE ended it: never exit 101.
        assert!(
            status.success() || status.signal() == Some(libc::SIGPIPE),
            "{args:?}: {status:?}\n{stderr}"
        );
    }
}

/// The completions bash would offer for `words` (the last one being completed), from the
/// script `completions bash` prints, run by bash's completion machinery.
fn bash_complete(dir: &Path, words: &[&str]) -> Vec<String> {
    let script = Command::new(BIN)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(script.status.success());
    let script_path = dir.join("completion.bash");
    std::fs::write(&script_path, &script.stdout).unwrap();
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
        .collect();
    let cword = words.len() - 1;
    let driver = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={cword}\n_tezos__ci__local tezos-ci-local \
         \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script_path.display(),
        quoted.join(" ")
    );
    let bin_dir = Path::new(BIN).parent().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(driver)
        .current_dir(dir)
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn bash_completes_options_after_a_subcommand_and_job_names() {
    let dir = project();
    assert_eq!(
        bash_complete(dir.path(), &["tezos-ci-local", "run", "--verb"]),
        ["--verbose"]
    );
    assert_eq!(
        bash_complete(dir.path(), &["tezos-ci-local", "explain", "--js"]),
        ["--json"]
    );
    assert_eq!(
        bash_complete(dir.path(), &["tezos-ci-local", "li"]),
        ["list"]
    );
    assert_eq!(
        bash_complete(dir.path(), &["tezos-ci-local", "run", "bu"]),
        ["build"]
    );
    assert_eq!(
        bash_complete(dir.path(), &["tezos-ci-local", "explain", "job_11"]),
        (110..120)
            .map(|i| format!("job_{i}"))
            .chain(["job_11".to_string()])
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    // Job names come from the directory given with -C.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join(".gitlab-ci.yml"),
        "elsewhere:\n  script: [x]\n",
    )
    .unwrap();
    let c = other.path().to_str().unwrap();
    assert_eq!(
        bash_complete(dir.path(), &["tezos-ci-local", "-C", c, "logs", "e"]),
        ["elsewhere"]
    );
}

#[test]
fn gitlab_ci_local_spellings_get_a_hint() {
    let dir = project();
    for (arg, hint) in [
        (
            "--list",
            "hint: gitlab-ci-local's --list is `tezos-ci-local list`\n",
        ),
        (
            "--list-json",
            "hint: gitlab-ci-local's --list-json is `tezos-ci-local list --json`\n",
        ),
        (
            "--cwd=x",
            "hint: gitlab-ci-local's --cwd is `-C DIR` (--directory)\n",
        ),
    ] {
        let out = Command::new(BIN)
            .arg(arg)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{arg}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.ends_with(hint), "{arg}: {stderr}");
    }
}

#[test]
fn color_is_what_the_flag_says() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitlab-ci.yml"), "job: [not a job]\n").unwrap();
    let stderr = |args: &[&str], no_color: bool| {
        let mut c = Command::new(BIN);
        c.args(args).current_dir(dir.path()).env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    // Not a terminal: no color unless asked, and asking beats NO_COLOR.
    assert!(!stderr(&["validate"], false).contains('\u{1b}'));
    assert!(stderr(&["--color", "always", "validate"], true).contains("\u{1b}["));
    assert!(stderr(&["validate", "--color=always"], false).contains("\u{1b}["));
    assert!(!stderr(&["--color", "never", "validate"], false).contains('\u{1b}'));
}
