//! Job caches on the host: `<store>/<key>/` holds the cached files, relative to the project
//! directory. Restored before the script when the policy pulls (the key, else the first fallback
//! key that exists); saved after it when the policy pushes and `cache:when` matches, written
//! beside the key first and swapped in with one rename, so a job restoring the key sees the old
//! cache or the new one, never half of each.

use std::io;
use std::path::{Path, PathBuf};

use crate::executor::CacheSpec;
use crate::pipeline::model::{ArtifactsWhen, CachePolicy};

pub fn pulls(c: &CacheSpec) -> bool {
    matches!(c.policy, CachePolicy::Pull | CachePolicy::PullPush)
}

pub fn pushes(c: &CacheSpec) -> bool {
    matches!(c.policy, CachePolicy::Push | CachePolicy::PullPush)
}

/// Whether `artifacts:when` or `cache:when` asks for a job that ended this way.
pub fn when_matches(when: ArtifactsWhen, job_succeeded: bool) -> bool {
    match when {
        ArtifactsWhen::Always => true,
        ArtifactsWhen::OnSuccess => job_succeeded,
        ArtifactsWhen::OnFailure => !job_succeeded,
    }
}

/// GitLab refuses keys with `/` and keys made only of dots; here they would also leave the store.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.contains('/') || key.chars().all(|c| c == '.') {
        Err(format!(
            "cache key `{key}` cannot be used as a directory name"
        ))
    } else {
        Ok(())
    }
}

/// The directory to restore from: the key's, else the first fallback key's that exists.
pub fn find(c: &CacheSpec) -> Option<(String, PathBuf)> {
    std::iter::once(&c.key)
        .chain(&c.fallback_keys)
        .filter(|k| check_key(k).is_ok())
        .map(|k| (k.clone(), c.store.join(k)))
        .find(|(_, dir)| dir.is_dir())
}

/// A fresh directory beside the key's, on the same file system so that [`publish`] is a rename.
pub fn staging_dir(c: &CacheSpec) -> io::Result<PathBuf> {
    std::fs::create_dir_all(&c.store)?;
    let dir = tempfile::Builder::new()
        .prefix(&format!(".saving-{}-", c.key))
        .tempdir_in(&c.store)?;
    Ok(dir.keep())
}

/// Puts `staging` in place of `<store>/<key>` in one step and removes the old contents.
pub fn publish(c: &CacheSpec, staging: &Path) -> io::Result<()> {
    let target = c.store.join(&c.key);
    match std::fs::rename(staging, &target) {
        Ok(()) => return Ok(()),
        // The key exists: swap the two directories atomically, then drop the old one.
        Err(e)
            if target.is_dir()
                && e.raw_os_error() != Some(rustix::io::Errno::XDEV.raw_os_error()) => {}
        Err(e) => return Err(e),
    }
    if exchange(staging, &target).is_err() {
        // No RENAME_EXCHANGE on this file system: move the old one aside first (a job starting
        // in between finds no cache, which is harmless).
        let aside = staging.with_extension("old");
        std::fs::rename(&target, &aside)?;
        std::fs::rename(staging, &target)?;
        return std::fs::remove_dir_all(&aside);
    }
    std::fs::remove_dir_all(staging)
}

/// Swaps two directories in one step (`renameat2` with `RENAME_EXCHANGE`).
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(store: &Path, key: &str, fallback: &[&str]) -> CacheSpec {
        CacheSpec {
            key: key.into(),
            fallback_keys: fallback.iter().map(|s| s.to_string()).collect(),
            paths: vec![],
            untracked: false,
            policy: CachePolicy::PullPush,
            when: ArtifactsWhen::OnSuccess,
            store: store.to_path_buf(),
        }
    }

    #[test]
    fn fallback_keys_and_atomic_replace() {
        let t = tempfile::tempdir().unwrap();
        let c = spec(t.path(), "main", &["../x", "old"]);
        assert!(find(&c).is_none());
        std::fs::create_dir_all(t.path().join("old")).unwrap();
        assert_eq!(find(&c).unwrap().0, "old");

        for content in ["one", "two"] {
            let s = staging_dir(&c).unwrap();
            std::fs::write(s.join("f"), content).unwrap();
            publish(&c, &s).unwrap();
            assert!(!s.exists());
        }
        assert_eq!(find(&c).unwrap().0, "main");
        assert_eq!(
            std::fs::read_to_string(t.path().join("main/f")).unwrap(),
            "two"
        );
        let left: Vec<_> = std::fs::read_dir(t.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "only `main` and `old` remain");
    }

    #[test]
    fn keys_and_policies() {
        assert!(check_key("a-b_1.2").is_ok());
        assert!(check_key("a/b").is_err());
        assert!(check_key("..").is_err());
        assert!(check_key("").is_err());
        assert!(when_matches(ArtifactsWhen::OnFailure, false));
        assert!(!when_matches(ArtifactsWhen::OnSuccess, false));
    }
}
