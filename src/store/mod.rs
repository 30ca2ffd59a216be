//! What tezos-ci-local keeps on the host: run directories (logs, artifacts, reports), the `cache:`
//! stores jobs share, and the job result cache. All under the state directory, never in the checkout.

pub mod job_states;
pub mod liveness;
pub mod past_runs;
pub mod result_cache;
pub mod runs;

use std::path::PathBuf;

/// `--state-dir`, else `$XDG_STATE_HOME/tezos-ci-local`, else `~/.local/state/tezos-ci-local`.
pub fn state_dir(explicit: Option<&std::path::Path>) -> PathBuf {
    if let Some(d) = explicit {
        return d.to_path_buf();
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("tezos-ci-local");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".local/state/tezos-ci-local")
}

/// A name safe as a single path component, recognisable from the job name, and one-to-one with
/// it: two jobs never share a log or an artifacts folder (`build:x` is `build%3Ax`, `build/x` is
/// `build%2Fx`). Letters, digits, `-`, `_` and `.` stay; any other byte is `%XX`, as is a leading
/// `.` and the `.` of `.attempt-` (which `RunDir::log_path` adds). A name past 120 bytes keeps its
/// first 100 and a digest of the whole after a `~` (never produced otherwise).
pub fn file_name_for(job: &str) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for (i, b) in job.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric()
            || b == b'-'
            || b == b'_'
            || (b == b'.' && i > 0 && !job[i..].starts_with(".attempt-"));
        if plain {
            s.push(b as char);
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    if s.is_empty() {
        s.push('%');
    }
    if s.len() > 120 {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(job.as_bytes());
        s.truncate(100);
        s.push('~');
        s.push_str(&hex::encode(&digest[..8]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::file_name_for;

    #[test]
    fn file_names_are_one_to_one_with_job_names() {
        let names = [
            "build:x",
            "build/x",
            "build_x",
            "build x",
            "build%3Ax",
            ".hidden",
            "_.hidden",
            "a.attempt-2",
            "a",
            "job: [arm64, 1/3]",
            "é",
        ];
        let files: Vec<String> = names.iter().map(|n| file_name_for(n)).collect();
        let mut unique = files.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{files:?}");
        assert_eq!(file_name_for("build:x"), "build%3Ax");
        assert_eq!(file_name_for("unit.tests-1"), "unit.tests-1");
        for f in &files {
            assert!(
                !f.contains('/') && !f.starts_with('.') && !f.contains(".attempt-"),
                "{f}"
            );
        }
        let long_a = "a".repeat(200);
        let long_b = format!("{}b", "a".repeat(199));
        assert_ne!(file_name_for(&long_a), file_name_for(&long_b));
        assert!(file_name_for(&long_a).len() <= 120);
    }
}
