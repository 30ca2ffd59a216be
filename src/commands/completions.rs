//! `tezos-ci-local completions SHELL`: clap_complete's script, with bash's repaired and taught
//! job names.
//!
//! clap_complete (4.5) names bash's subcommand states inconsistently for a hyphenated binary: it
//! sets `cmd="tezos__ci__local__subcmd__run"` but matches `tezos__subcmd__ci__subcmd__local__subcmd__run)`,
//! so nothing after a subcommand completed. The script is repaired here, and `run`, `explain`
//! and `logs` complete job names (from `list --names`, in the `-C` directory typed so far).

use std::io::Write as _;

use clap_complete::Shell;

use crate::error::Error;

const NAME: &str = "tezos-ci-local";

pub fn print(shell: Shell) -> anyhow::Result<()> {
    let mut cmd = crate::cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, NAME, &mut script);
    let mut script = String::from_utf8(script)
        .map_err(|e| Error::Environment(format!("the completion script is not UTF-8: {e}")))?;
    if shell == Shell::Bash {
        script = repair_bash(&script);
    }
    std::io::stdout()
        .write_all(script.as_bytes())
        .map_err(|e| Error::Environment(format!("cannot write the completion script: {e}")))?;
    Ok(())
}

/// What bash runs to offer job names: `list --names` in the directory given with `-C`, if any.
const JOBS_FUNCTION: &str = r#"
_tezos_ci_local_jobs() {
    local i dir=.
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        case "${COMP_WORDS[i]}" in
            -C|--directory) dir="${COMP_WORDS[i+1]}" ;;
        esac
    done
    "${COMP_WORDS[0]}" -C "$dir" list --names 2>/dev/null
}
"#;

fn repair_bash(script: &str) -> String {
    let broken = NAME.replace('-', "__subcmd__");
    let fixed = NAME.replace('-', "__");
    let mut out = String::with_capacity(script.len() + 1024);
    let mut in_job_command = false;
    for line in script.replace(&broken, &fixed).lines() {
        out.push_str(line);
        out.push('\n');
        let trimmed = line.trim_start();
        if let Some(state) = trimmed.strip_suffix(')') {
            in_job_command = ["run", "explain", "logs"]
                .iter()
                .any(|c| state == format!("{fixed}__subcmd__{c}"));
        }
        // Right after the subcommand's options: a word that is not an option is a job name.
        if in_job_command && trimmed.starts_with("opts=") {
            out.push_str(
                "            if [[ ${cur} != -* ]]; then\n                local IFS=$'\\n'\n                COMPREPLY=( $(compgen -W \"$(_tezos_ci_local_jobs)\" -- \"${cur}\") )\n                return 0\n            fi\n",
            );
            in_job_command = false;
        }
    }
    out.push_str(JOBS_FUNCTION);
    out
}
