//! What tezos-ci-local keeps on the host: run directories (logs, artifacts, reports), the `cache:`
//! stores jobs share, and the job result cache. All under the state directory, never in the checkout.

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

/// A name safe as a single path component, recognisable from the job name.
pub fn file_name_for(job: &str) -> String {
    let mut s: String = job
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') {
        s.insert(0, '_');
    }
    s.truncate(120);
    s
}
