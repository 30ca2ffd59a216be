//! `tezos-ci-local hook install|uninstall`: a git pre-push hook that runs the pipeline (or the
//! named jobs) on each commit being pushed, prints one line, and blocks the push when a job fails.
//! A hook that is already there is kept, renamed, and called first.

use std::path::{Path, PathBuf};

use crate::cli::{CommonArgs, HookAction, HookArgs};
use crate::error::Error;

const MARKER: &str = "# installed by tezos-ci-local hook install";
const SAVED: &str = "pre-push.before-tezos-ci-local";

pub fn run(common: &CommonArgs, args: &HookArgs) -> anyhow::Result<()> {
    let repo = git2::Repository::discover(&common.directory).map_err(|_| {
        Error::Usage(format!(
            "{} is not in a git repository",
            common.directory.display()
        ))
    })?;
    let hooks = hooks_dir(&repo);
    let project = common
        .directory
        .canonicalize()
        .map_err(|source| Error::Io {
            path: common.directory.clone(),
            source,
        })?;
    match &args.action {
        HookAction::Install { jobs } => install(&hooks, &project, common, jobs),
        HookAction::Uninstall => uninstall(&hooks),
    }
}

fn hooks_dir(repo: &git2::Repository) -> PathBuf {
    let configured = repo
        .config()
        .ok()
        .and_then(|c| c.get_path("core.hooksPath").ok());
    match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => repo.workdir().unwrap_or(repo.path()).join(p),
        None => repo.path().join("hooks"),
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn install(
    hooks: &Path,
    project: &Path,
    common: &CommonArgs,
    jobs: &[String],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(hooks).map_err(|source| Error::Io {
        path: hooks.to_path_buf(),
        source,
    })?;
    let hook = hooks.join("pre-push");
    let saved = hooks.join(SAVED);
    // Anything there that is not ours is kept: a script that is not UTF-8, a binary, a symbolic
    // link (even a dangling one), a file we cannot read.
    if present(&hook) && !written_by_us(&hook) {
        if present(&saved) {
            return Err(Error::Usage(format!(
                "{} exists and so does {}; move one of them away, then install again",
                hook.display(),
                saved.display()
            ))
            .into());
        }
        std::fs::rename(&hook, &saved).map_err(|source| Error::Io {
            path: hook.clone(),
            source,
        })?;
        println!(
            "Kept the existing hook as {}; it runs first.",
            saved.display()
        );
    }
    let exe = std::env::current_exe()
        .map_err(|e| Error::Environment(format!("cannot find this program's path: {e}")))?;
    let mut extra = String::new();
    if let Some(f) = &common.file {
        extra.push_str(&format!(" --file {}", shell_quote(&f.to_string_lossy())));
    }
    if let Some(p) = &common.pipeline {
        extra.push_str(&format!(" --pipeline {}", shell_quote(p)));
    }
    // What the user gave `hook install` applies to every push, as if typed each time.
    if common.source != "push" {
        extra.push_str(&format!(" --source {}", shell_quote(&common.source)));
    }
    for v in &common.variables {
        extra.push_str(&format!(" --variable {}", shell_quote(v)));
    }
    if let Some(f) = &common.variables_file {
        extra.push_str(&format!(
            " --variables-file {}",
            shell_quote(&f.to_string_lossy())
        ));
    }
    for m in &common.platform_map {
        extra.push_str(&format!(" --platform-map {}", shell_quote(m)));
    }
    if let Some(d) = &common.state_dir {
        extra.push_str(&format!(
            " --state-dir {}",
            shell_quote(&d.to_string_lossy())
        ));
    }
    let job_args: String = jobs
        .iter()
        .map(|j| format!(" {}", shell_quote(j)))
        .collect();
    let script = format!(
        r#"#!/bin/sh
{MARKER}
# Runs the pipeline on every commit being pushed; a failing job blocks the push.
# Remove with `tezos-ci-local hook uninstall` (or skip once with `git push --no-verify`).
input=$(cat)
hooks=$(dirname "$0")
if [ -x "$hooks/{SAVED}" ]; then
  printf '%s\n' "$input" | "$hooks/{SAVED}" "$@" || exit $?
fi
zero=0000000000000000000000000000000000000000
printf '%s\n' "$input" | while read -r local_ref local_sha remote_ref remote_sha; do
  [ -n "$local_sha" ] && [ "$local_sha" != "$zero" ] || continue
  short=$(printf '%s' "$local_sha" | cut -c1-8)
  # The pipeline GitLab would run for this push: the pushed branch or tag, and `changes`
  # compared with what the remote had (CI_COMMIT_BEFORE_SHA) when this repository has it.
  case "$local_ref" in
    refs/heads/*) set -- --branch "${{local_ref#refs/heads/}}" ;;
    refs/tags/*) set -- --tag "${{local_ref#refs/tags/}}" ;;
    *) set -- ;;
  esac
  if [ "$remote_sha" != "$zero" ] && git cat-file -e "$remote_sha^{{commit}}" 2>/dev/null; then
    set -- "$@" --changes-base "$remote_sha"
  fi
  log=$(mktemp)
  if {exe} -C {project}{extra} "$@" --commit "$local_sha" run{job_args} --json >"$log" 2>&1; then
    echo "tezos-ci-local: $short passed ($local_ref)"
    rm -f "$log"
  else
    code=$?
    echo "tezos-ci-local: $short FAILED ($local_ref); push blocked. Details: tezos-ci-local -C {project} logs JOB, or $log" >&2
    exit $code
  fi
done
"#,
        exe = shell_quote(&exe.to_string_lossy()),
        project = shell_quote(&project.to_string_lossy()),
    );
    std::fs::write(&hook, script).map_err(|source| Error::Io {
        path: hook.clone(),
        source,
    })?;
    set_executable(&hook)?;
    println!(
        "Installed {}: pushes now run {} first.",
        hook.display(),
        if jobs.is_empty() {
            "the pipeline".to_string()
        } else {
            jobs.join(", ")
        }
    );
    Ok(())
}

fn uninstall(hooks: &Path) -> anyhow::Result<()> {
    let hook = hooks.join("pre-push");
    let saved = hooks.join(SAVED);
    if written_by_us(&hook) {
        std::fs::remove_file(&hook).map_err(|source| Error::Io {
            path: hook.clone(),
            source,
        })?;
        if present(&saved) {
            std::fs::rename(&saved, &hook).map_err(|source| Error::Io {
                path: saved.clone(),
                source,
            })?;
            println!("Removed the tezos-ci-local hook and restored the previous one.");
        } else {
            println!("Removed {}.", hook.display());
        }
        Ok(())
    } else if present(&hook) {
        Err(Error::Usage(format!(
            "{} was not written by tezos-ci-local; left as it is",
            hook.display()
        ))
        .into())
    } else {
        println!("No pre-push hook to remove.");
        Ok(())
    }
}

/// Whether something is at `path`, a dangling symbolic link included.
fn present(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Whether the hook at `path` is one `install` wrote; its bytes need not be UTF-8.
fn written_by_us(path: &Path) -> bool {
    std::fs::read(path)
        .is_ok_and(|bytes| bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()))
}

fn set_executable(p: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = std::fs::metadata(p)
        .map_err(|source| Error::Io {
            path: p.to_path_buf(),
            source,
        })?
        .permissions();
    perm.set_mode(0o755);
    std::fs::set_permissions(p, perm).map_err(|source| Error::Io {
        path: p.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn common() -> CommonArgs {
        crate::cli::Cli::parse_from(["tezos-ci-local"]).common
    }

    #[test]
    fn a_hook_that_is_not_utf8_is_kept_and_restored() {
        let dir = tempfile::tempdir().unwrap();
        let hooks = dir.path().join("hooks");
        std::fs::create_dir(&hooks).unwrap();
        let theirs: &[u8] = b"#!/bin/sh\n# caf\xe9 in Latin-1\nexit 0\n";
        std::fs::write(hooks.join("pre-push"), theirs).unwrap();

        install(&hooks, dir.path(), &common(), &[]).unwrap();
        assert!(written_by_us(&hooks.join("pre-push")));
        assert_eq!(std::fs::read(hooks.join(SAVED)).unwrap(), theirs);

        uninstall(&hooks).unwrap();
        assert_eq!(std::fs::read(hooks.join("pre-push")).unwrap(), theirs);
        assert!(!present(&hooks.join(SAVED)));
    }

    #[test]
    fn a_dangling_symbolic_link_is_kept_and_restored() {
        let dir = tempfile::tempdir().unwrap();
        let hooks = dir.path().join("hooks");
        std::fs::create_dir(&hooks).unwrap();
        let target = dir.path().join("tools/pre-push");
        std::os::unix::fs::symlink(&target, hooks.join("pre-push")).unwrap();

        install(&hooks, dir.path(), &common(), &[]).unwrap();
        // Our hook is a file of its own: nothing was written through the link.
        assert!(!target.exists());
        assert_eq!(std::fs::read_link(hooks.join(SAVED)).unwrap(), target);

        uninstall(&hooks).unwrap();
        assert_eq!(std::fs::read_link(hooks.join("pre-push")).unwrap(), target);
        assert!(!present(&hooks.join(SAVED)));
    }

    #[test]
    fn uninstall_leaves_a_hook_that_is_not_ours() {
        let dir = tempfile::tempdir().unwrap();
        let theirs: &[u8] = b"\x7fELF not a script";
        std::fs::write(dir.path().join("pre-push"), theirs).unwrap();
        assert!(uninstall(dir.path()).is_err());
        assert_eq!(std::fs::read(dir.path().join("pre-push")).unwrap(), theirs);
    }
}
