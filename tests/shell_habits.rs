//! The habits of a shell user, through the built binary: a closed pipe ends a printing command
//! quietly, bash completes after a subcommand and completes job names (run through bash's own
//! completion function), gitlab-ci-local's spellings get a hint, `--color` is obeyed.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{BIN, Project, Test};

const PIPELINE: &str = "build:\n  image: tezos-ci-local/busybox:amd64\n  script: [echo hi]\n\
unit:\n  image: tezos-ci-local/busybox:amd64\n  script: [echo hi]\n";

/// A checkout with a pipeline of 120 jobs (enough output to outlast a pipe's first line).
fn project() -> Project {
    let mut ci = String::from(PIPELINE);
    for i in 0..120 {
        ci.push_str(&format!(
            "job_{i}:\n  image: tezos-ci-local/busybox:amd64\n  script: [echo {i}]\n"
        ));
    }
    let p = Project::new();
    p.write_raw(".gitlab-ci.yml", &ci);
    p
}

/// Runs the binary with `args` in `p`, reads the first line of its stdout, then closes the
/// pipe (as `| head -1` does) and returns that line, the exit status and stderr. (Not the
/// builder: the test is what happens when the reader goes away mid-output.)
fn first_line_then_close(p: &Project, args: &[&str]) -> (String, std::process::ExitStatus, String) {
    let mut child = p
        .command()
        .args(args)
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
    let p = project();
    for args in [
        &["completions", "zsh"][..],
        &["completions", "bash"],
        &["run", "--dry-run"],
        &["list"],
        &["graph"],
    ] {
        let (line, status, stderr) = first_line_then_close(&p, args);
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
    let script = Test::new()
        .args(&["completions", "bash"])
        .stdout_any()
        .run();
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
    let p = project();
    let dir = p.path().to_path_buf();
    assert_eq!(
        bash_complete(&dir, &["tezos-ci-local", "run", "--verb"]),
        ["--verbose"]
    );
    assert_eq!(
        bash_complete(&dir, &["tezos-ci-local", "explain", "--js"]),
        ["--json"]
    );
    assert_eq!(bash_complete(&dir, &["tezos-ci-local", "li"]), ["list"]);
    assert_eq!(
        bash_complete(&dir, &["tezos-ci-local", "run", "bu"]),
        ["build"]
    );
    assert_eq!(
        bash_complete(&dir, &["tezos-ci-local", "explain", "job_11"]),
        (110..120)
            .map(|i| format!("job_{i}"))
            .chain(["job_11".to_string()])
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    // Job names come from the directory given with -C.
    let other = Project::with_ci("elsewhere:\n  script: [x]\n");
    let c = other.path().to_str().unwrap();
    assert_eq!(
        bash_complete(&dir, &["tezos-ci-local", "-C", c, "logs", "e"]),
        ["elsewhere"]
    );
}

#[test]
fn gitlab_ci_local_spellings_get_a_hint() {
    let p = project();
    for (arg, given, hint) in [
        (
            "--list",
            "--list",
            "hint: gitlab-ci-local's --list is `tezos-ci-local list`\n",
        ),
        (
            "--list-json",
            "--list-json",
            "hint: gitlab-ci-local's --list-json is `tezos-ci-local list --json`\n",
        ),
        (
            "--cwd=x",
            "--cwd",
            "hint: gitlab-ci-local's --cwd is `-C DIR` (--directory)\n",
        ),
    ] {
        // clap's usage line names the options given before (the builder's -C and --state-dir).
        p.test(&[arg])
            .status(2)
            .stderr(&format!(
                "error: unexpected argument '{given}' found\n\n\
                 Usage: tezos-ci-local --directory <DIR> --state-dir <DIR>\n\n\
                 For more information, try '--help'.\n{hint}"
            ))
            .run();
    }
}

#[test]
fn color_is_what_the_flag_says() {
    let p = Project::with_ci("job: [not a job]\n");
    let message = ".gitlab-ci.yml:1:1: job `job`: a job is a map of keywords, found a list\n";
    let plain = format!("error: {message}");
    let red = format!("\u{1b}[31m\u{1b}[1merror:\u{1b}[0m {message}");
    // Not a terminal: no color unless asked, and asking beats NO_COLOR.
    for (args, no_color, expected) in [
        (&["validate"][..], false, &plain),
        (&["--color", "always", "validate"], true, &red),
        (&["validate", "--color=always"], false, &red),
        (&["--color", "never", "validate"], false, &plain),
    ] {
        let t = p.test(args).env_remove("NO_COLOR");
        let t = if no_color { t.env("NO_COLOR", "1") } else { t };
        t.status(2).stderr(expected).run();
    }
}
