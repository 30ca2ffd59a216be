//! The shell scripts a job container runs, written the way GitLab's runner writes them: one shell
//! session per stage, `errexit` (and `pipefail` where the shell has it), each command echoed as
//! `$ command` before it runs.

/// Scripts up to this size travel in the container's command (one argument: Linux takes up to
/// 128 KiB); larger ones are copied into the container as a file first.
pub const INLINE_LIMIT: usize = 64 * 1024;

/// How a stage script reaches the container.
pub enum ScriptSource<'a> {
    /// In the command itself: nothing to copy before the start.
    Inline(&'a str),
    /// A file at this path in the container.
    File(&'a str),
}

/// The container command: pick the first shell the image has, as GitLab's runner does (bash
/// first, for `pipefail`), and run the stage script with it (`$0` is its path either way). The
/// image's entrypoint, when it has one and the job does not override it, runs this command,
/// again as in GitLab.
pub fn shell_command(script_path: &str, source: ScriptSource) -> Vec<String> {
    const SHELLS: [&str; 7] = [
        "/usr/local/bin/bash",
        "/usr/bin/bash",
        "/bin/bash",
        "/usr/local/bin/sh",
        "/usr/bin/sh",
        "/bin/sh",
        "/busybox/sh",
    ];
    let run = match source {
        ScriptSource::Inline(_) => "-c \"$1\" \"$0\"",
        ScriptSource::File(_) => "\"$0\"",
    };
    let mut detect = String::new();
    for (i, sh) in SHELLS.iter().enumerate() {
        let kw = if i == 0 { "if" } else { "elif" };
        detect.push_str(&format!("{kw} [ -x {sh} ]; then exec {sh} {run}; "));
    }
    detect.push_str("else echo 'shell not found' >&2; exit 1; fi");
    let mut cmd = vec!["sh".to_string(), "-c".to_string(), detect];
    match source {
        ScriptSource::Inline(script) => {
            cmd.push(script_path.to_string());
            cmd.push(script.to_string());
        }
        ScriptSource::File(path) => cmd.push(path.to_string()),
    }
    cmd
}

/// The script of one stage (`before_script` + `script`, or `after_script`).
pub fn stage_script(project_dir: &str, commands: &[String]) -> String {
    let mut s = String::from("# Written by tezos-ci-local for one stage of a job.\n");
    // As GitLab's runner: `pipefail` in bash only; other shells get plain `errexit`.
    s.push_str("if [ -n \"${BASH_VERSION:-}\" ]; then set -o pipefail; fi\n");
    s.push_str("set -e\n");
    s.push_str(&format!("cd {}\n", quote(project_dir)));
    for cmd in commands {
        let cmd = cmd.trim();
        if cmd.is_empty() {
            continue;
        }
        s.push_str(&format!("printf '%s\\n' {}\n", quote(&echo_line(cmd))));
        s.push_str(cmd);
        s.push('\n');
    }
    s
}

/// What the log shows for a command: GitLab prints the first line of a multi-line command and
/// says it collapsed the rest.
pub fn echo_line(cmd: &str) -> String {
    match cmd.split_once('\n') {
        Some((first, _)) => format!("$ {} # collapsed multi-line command", first.trim_end()),
        None => format!("$ {cmd}"),
    }
}

/// Single-quotes a string for any POSIX shell.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_script_echoes_then_runs_each_command() {
        let s = stage_script(
            "/builds/p",
            &[
                "echo 'hi'".into(),
                "  ".into(),
                "if true; then\n  echo x\nfi".into(),
            ],
        );
        assert_eq!(
            s,
            "# Written by tezos-ci-local for one stage of a job.\n\
             if [ -n \"${BASH_VERSION:-}\" ]; then set -o pipefail; fi\n\
             set -e\n\
             cd '/builds/p'\n\
             printf '%s\\n' '$ echo '\\''hi'\\'''\n\
             echo 'hi'\n\
             printf '%s\\n' '$ if true; then # collapsed multi-line command'\n\
             if true; then\n  echo x\nfi\n"
        );
    }

    #[test]
    fn shell_command_prefers_bash_and_passes_the_script() {
        let c = shell_command("/s", ScriptSource::File("/s"));
        assert_eq!(&c[..2], ["sh", "-c"]);
        assert!(c[2].starts_with("if [ -x /usr/local/bin/bash ]; then exec /usr/local/bin/bash"));
        assert!(c[2].find("/bin/bash").unwrap() < c[2].find("/bin/sh").unwrap());
        assert_eq!(c[3..], ["/s"]);
    }

    /// Both forms run the same script in the same way, here with the host's shells.
    #[test]
    fn inline_and_file_scripts_run_alike() {
        let dir = tempfile::tempdir().unwrap();
        let script = stage_script(
            dir.path().to_str().unwrap(),
            &[
                "echo \"$0 it's $((1 + 2))\"".into(),
                "false".into(),
                "echo unreachable".into(),
            ],
        );
        let path = dir.path().join("step_script");
        std::fs::write(&path, &script).unwrap();
        let path = path.to_str().unwrap();
        let run = |cmd: Vec<String>| {
            let out = std::process::Command::new(&cmd[0])
                .args(&cmd[1..])
                .output()
                .unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        let inline = run(shell_command(path, ScriptSource::Inline(&script)));
        let file = run(shell_command(path, ScriptSource::File(path)));
        assert_eq!(inline, file);
        assert_eq!(inline.0, Some(1));
        assert!(
            inline.1.contains(&format!("{path} it's 3\n")),
            "{}",
            inline.1
        );
        assert!(!inline.1.contains("unreachable\n"), "{}", inline.1);
    }

    #[test]
    fn quoting_survives_a_shell() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote("a'b $X \"c\"")))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a'b $X \"c\"");
    }
}
