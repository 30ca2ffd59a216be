//! The user's own variables file, `~/.config/tezos-ci-local/variables.yml` (under
//! `$XDG_CONFIG_HOME` when set), in gitlab-ci-local's shape so a user can bring theirs
//! (`~/.gitlab-ci-local/variables.yml`, read when ours does not exist):
//!
//! ```yaml
//! global:                       # every project
//!   KNOWN_HOSTS: ~/.ssh/known_hosts
//! group:
//!   gitlab.com/tezos/:          # projects whose `host/group/` contains the key
//!     REGISTRY_USER: me
//! project:
//!   gitlab.com/tezos/tezos.git: # projects whose `host/group/name.git` contains the key
//!     TOKEN: {values: {'*': s3cret}, masked: true}
//! ```
//!
//! Project entries win over group ones, which win over global ones. `host:group/name` is read as
//! `host/group/name`, as gitlab-ci-local does. Values are read as in a project's
//! `.gitlab-ci-local-variables.yml` (see `peer.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{UserVar, peer};
use crate::error::{ConfigError, Error};
use crate::pipeline::read;
use crate::yaml::{self, Value};

/// Which project the run is for, as the checkout's `origin` remote names it (`CI_PROJECT_PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectId {
    pub host: String,
    /// The group path (`CI_PROJECT_NAMESPACE`), `a/b` for a subgroup.
    pub namespace: String,
    pub name: String,
}

impl ProjectId {
    pub fn of(checkout: &crate::checkout::Checkout) -> ProjectId {
        let url = crate::pipeline::fetch::FetchConfig::server_url_from_remote(
            checkout.remote_url.as_deref(),
        );
        ProjectId {
            host: url.trim_start_matches("https://").to_string(),
            namespace: checkout.namespace.clone(),
            name: checkout.name.clone(),
        }
    }
}

/// The user's variables file that exists: ours, else gitlab-ci-local's.
pub fn file() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let home = var("HOME").map(PathBuf::from);
    let config = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let ours = config.map(|d| d.join("tezos-ci-local").join("variables.yml"));
    let peers = home.map(|h| h.join(".gitlab-ci-local").join("variables.yml"));
    [ours, peers].into_iter().flatten().find(|p| p.is_file())
}

/// The variables of the user's file that hold for `project`, lowest precedence first.
pub fn parse(text: &str, path: &Path, project: &ProjectId) -> Result<Vec<UserVar>, Error> {
    let node = yaml::parse_str(text, Arc::new(path.to_path_buf()))?;
    if node.is_null() {
        return Ok(Vec::new());
    }
    let top = read::map(&node, "variables file")?;
    read::check_keys(
        top,
        &node,
        "variables file",
        &["global", "group", "project"],
    )?;
    let group_url = format!("{}/{}/", project.host, project.namespace);
    let project_url = format!(
        "{}/{}/{}.git",
        project.host, project.namespace, project.name
    );
    let mut out: Vec<UserVar> = Vec::new();
    let mut add = |vars: Vec<UserVar>| {
        for var in vars {
            out.retain(|u| u.name != var.name);
            out.push(var);
        }
    };
    if let Some(global) = top.get("global").filter(|n| !n.is_null()) {
        add(peer::variables_of(read::map(global, "global")?)?);
    }
    for (section, url) in [("group", &group_url), ("project", &project_url)] {
        let Some(entries) = top.get(section).filter(|n| !n.is_null()) else {
            continue;
        };
        for (key, vars) in read::map(entries, section)?.iter() {
            if !url.contains(&key.replacen(':', "/", 1)) {
                continue;
            }
            match &vars.value {
                Value::Null => {}
                Value::Map(m) => add(peer::variables_of(m)?),
                _ => {
                    return Err(ConfigError::new(
                        Some(&vars.span),
                        format!("{section} entries are maps of variables"),
                    )
                    .key(key)
                    .into());
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_by_project_then_group_then_global() {
        let text = "global:\n  A: global\n  B: global\n  C: global\ngroup:\n  gitlab.com/tezos/:\n    B: group\n    C: group\n  gitlab.com/other/:\n    A: other\nproject:\n  gitlab.com:tezos/tezos.git:\n    C: {values: {'*': project}, masked: true}\n";
        let id = ProjectId {
            host: "gitlab.com".into(),
            namespace: "tezos".into(),
            name: "tezos".into(),
        };
        let v = parse(text, Path::new("v.yml"), &id).unwrap();
        let get = |n: &str| v.iter().find(|u| u.name == n).unwrap();
        assert_eq!(get("A").value, "global");
        assert_eq!(get("B").value, "group");
        assert_eq!(get("C").value, "project");
        assert!(get("C").masked && !get("B").masked);
        let e = parse("globals:\n  A: 1\n", Path::new("v.yml"), &id)
            .unwrap_err()
            .to_string();
        assert!(e.contains("v.yml:1") && e.contains("globals"), "{e}");
    }
}
