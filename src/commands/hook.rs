//! `tezos-ci-local hook install|uninstall`: a git pre-push hook that runs the pipeline (or the
//! named jobs) on each commit being pushed, prints one line, and blocks the push when a job fails.
//! A hook that is already there is kept, renamed, and called first.

use std::path::{Path, PathBuf};

use std::io::Read as _;

use serde::{Deserialize, Serialize};

use crate::cli::{HookAction, HookArgs, Options};
use crate::error::Error;

const MARKER: &str = "# installed by tezos-ci-local hook install";
const SAVED: &str = "pre-push.before-tezos-ci-local";

/// What `hook install` stores in the hook: the options it was given, as they are, and the jobs.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    options: Options,
    jobs: Vec<String>,
}

pub fn run(options: &Options, args: &HookArgs) -> anyhow::Result<()> {
    if let HookAction::PrePush { stored, .. } = &args.action {
        return pre_push(stored);
    }
    let common = &options.common;
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
        HookAction::Install { names } => install(&hooks, &project, options, names),
        HookAction::Uninstall => uninstall(&hooks),
        HookAction::PrePush { .. } => unreachable!("handled above"),
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

fn install(hooks: &Path, project: &Path, options: &Options, jobs: &[String]) -> anyhow::Result<()> {
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
    // The options apply to every push as if typed each time; paths are made absolute because
    // git runs the hook from the repository's top directory.
    let mut stored = Stored {
        options: options.clone(),
        jobs: jobs.to_vec(),
    };
    let common = &mut stored.options.common;
    common.directory = project.to_path_buf();
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Environment(format!("cannot read the current directory: {e}")))?;
    for path in [&mut common.state_dir, &mut common.variables_file]
        .into_iter()
        .flatten()
    {
        *path = cwd.join(&*path);
    }
    let stored = serde_json::to_string(&stored)?;
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
# The program is found on PATH (or named by TEZOS_CI_LOCAL), so that an upgrade or a move
# does not break the hook.
exe=${{TEZOS_CI_LOCAL:-tezos-ci-local}}
if ! command -v "$exe" >/dev/null 2>&1; then
  echo "tezos-ci-local: '$exe' is not on PATH; install it (cargo install --locked --path .) or set TEZOS_CI_LOCAL to its path. Push blocked (git push --no-verify skips the hook)." >&2
  exit 1
fi
printf '%s\n' "$input" | "$exe" hook pre-push --stored {stored} -- "$@"
"#,
        stored = shell_quote(&stored),
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

/// The hook's work: git's lines on stdin (`LOCAL_REF LOCAL_SHA REMOTE_REF REMOTE_SHA`), each
/// pushed commit run as GitLab would run the push, with the terminal view on stderr (git shows
/// it), one line per commit; the first failure blocks the push.
fn pre_push(stored: &str) -> anyhow::Result<()> {
    let stored: Stored = serde_json::from_str(stored).map_err(|e| {
        Error::Usage(format!(
            "the pre-push hook's stored options cannot be read ({e}); run `tezos-ci-local hook \
             install` again"
        ))
    })?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| Error::Environment(format!("cannot read git's pre-push input: {e}")))?;
    let repo = git2::Repository::discover(&stored.options.common.directory).ok();
    let known = |sha: &str| {
        let found = git2::Oid::from_str(sha)
            .ok()
            .and_then(|oid| Some(repo.as_ref()?.find_commit(oid).is_ok()));
        found == Some(true)
    };
    let zero = |sha: &str| sha.bytes().all(|b| b == b'0');
    for line in input.lines() {
        let [local_ref, local_sha, _remote_ref, remote_sha] =
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                [a, b, c, d] => [a, b, c, d],
                _ => continue,
            };
        if zero(local_sha) {
            continue; // a deleted ref: nothing to test
        }
        let short = local_sha.get(..8).unwrap_or(local_sha);
        // The pipeline GitLab would run for this push: the pushed branch or tag, and `changes`
        // compared with what the remote had (CI_COMMIT_BEFORE_SHA) when this repository has it.
        let mut options = stored.options.clone();
        let common = &mut options.common;
        common.branch = local_ref.strip_prefix("refs/heads/").map(String::from);
        common.tag = local_ref.strip_prefix("refs/tags/").map(String::from);
        common.commit = Some(local_sha.to_string());
        if !zero(remote_sha) && known(remote_sha) {
            common.changes_base = Some(remote_sha.to_string());
        }
        eprintln!("tezos-ci-local: testing {short} ({local_ref})");
        let options = options.with_defaults()?;
        match super::run::run(&options, &stored.jobs) {
            Ok(()) => eprintln!("tezos-ci-local: {short} passed ({local_ref})"),
            Err(err) => {
                eprintln!(
                    "tezos-ci-local: {short} FAILED ({local_ref}): {err:#}; push blocked \
                     (`git push --no-verify` skips the hook)"
                );
                return Err(err.context(format!("{short} ({local_ref})")));
            }
        }
    }
    Ok(())
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

    fn common() -> Options {
        Options::default()
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
