//! Defaults for options, from the project's `.tezos-ci-local.yml` and the user's
//! `~/.config/tezos-ci-local/config.yml`: an option given on the command line wins over the
//! project's file, which wins over the user's, which wins over the built-in default. They are
//! applied once, to the parsed [`Options`], before any command sees them.
//!
//! ```yaml
//! concurrency: 4                 # -j / --jobs
//! default_image: debian:bookworm # --default-image
//! platform_map:                  # --platform-map TAG=PLATFORM (the command line's first)
//!   big_arm: linux/arm64
//! ```
//!
//! `engines:` lives in the same files (`engines/config.rs` reads it, with its own order: the
//! engines are the user's machines). Any key neither knows is an error naming file, line and key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Options;
use crate::error::{ConfigError, Error};
use crate::pipeline::read;
use crate::plan::PlatformMap;
use crate::yaml::{Node, Value};

/// The keys of the user's file.
pub const USER_KEYS: &[&str] = &["engines", "concurrency", "default_image", "platform_map"];
/// The keys of the project's file: the user's, the job result cache's (`jobs`, `result_cache`).
pub const PROJECT_KEYS: &[&str] = &[
    "engines",
    "concurrency",
    "default_image",
    "platform_map",
    "jobs",
    "result_cache",
];

/// The option defaults one file gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defaults {
    pub concurrency: Option<usize>,
    pub default_image: Option<String>,
    /// `TAG=PLATFORM`, as `--platform-map` takes them.
    pub platform_map: Vec<String>,
}

impl Defaults {
    /// The defaults of `path` (none when it does not exist), checked against `known` keys.
    pub fn read(path: &Path, known: &[&str]) -> Result<Defaults, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Defaults::default()),
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let node = crate::yaml::parse_str(&text, Arc::new(path.to_path_buf()))?;
        if node.is_null() {
            return Ok(Defaults::default());
        }
        let m = read::map(&node, "tezos-ci-local config")?;
        read::check_keys(m, &node, "tezos-ci-local config", known)?;
        let mut out = Defaults::default();
        if let Some(n) = m.get("concurrency") {
            let bad = || read::err(n, "concurrency", "expected a number of jobs, 1 or more");
            let text = n.as_scalar().ok_or_else(bad)?;
            out.concurrency = Some(text.parse().ok().filter(|j| *j > 0).ok_or_else(bad)?);
        }
        if let Some(n) = m.get("default_image") {
            out.default_image = Some(read::string(n, "default_image")?);
        }
        if let Some(n) = m.get("platform_map") {
            out.platform_map = platform_map(n)?;
        }
        Ok(out)
    }
}

/// `{TAG: PLATFORM}` or a list of `TAG=PLATFORM`.
fn platform_map(node: &Node) -> Result<Vec<String>, ConfigError> {
    let key = "platform_map";
    let entries: Vec<(String, &Node)> = match &node.value {
        Value::Null => Vec::new(),
        Value::Map(m) => m
            .iter()
            .map(|(tag, p)| Ok((format!("{tag}={}", read::string(p, key)?), p)))
            .collect::<Result<_, ConfigError>>()?,
        Value::Seq(items) => items
            .iter()
            .map(|i| Ok((read::string(i, key)?, i)))
            .collect::<Result<_, ConfigError>>()?,
        _ => {
            return Err(read::err(
                node,
                key,
                "expected a map of TAG: PLATFORM, such as `big_arm: linux/arm64`",
            ));
        }
    };
    for (entry, at) in &entries {
        PlatformMap::parse_entry(entry).map_err(|e| read::err(at, key, e))?;
    }
    Ok(entries.into_iter().map(|(e, _)| e).collect())
}

/// The user's configuration file: `$XDG_CONFIG_HOME/tezos-ci-local/config.yml`, else
/// `~/.config/tezos-ci-local/config.yml`.
pub fn user_file() -> Option<PathBuf> {
    crate::engines::config::user_config_file()
}

impl Options {
    /// These options with the defaults of the project's file (in `-C`'s directory) and the
    /// user's file filled in where the command line gave nothing.
    pub fn with_defaults(mut self) -> Result<Options, Error> {
        let project = Defaults::read(
            &self.common.directory.join(crate::checkout::PROJECT_CONFIG),
            PROJECT_KEYS,
        )?;
        let user = match user_file() {
            Some(f) => Defaults::read(&f, USER_KEYS)?,
            None => Defaults::default(),
        };
        self.apply(&[project, user]);
        Ok(self)
    }

    /// Fills in from `defaults`, highest precedence first.
    pub fn apply(&mut self, defaults: &[Defaults]) {
        let run = &mut self.run;
        for d in defaults {
            run.jobs = run.jobs.or(d.concurrency);
            run.default_image = run.default_image.take().or(d.default_image.clone());
            // First match wins: the command line's entries, then each file's.
            self.common
                .platform_map
                .extend(d.platform_map.iter().cloned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_then_project_then_user() {
        let project = Defaults {
            concurrency: Some(3),
            default_image: None,
            platform_map: vec!["a=linux/arm64".into()],
        };
        let user = Defaults {
            concurrency: Some(8),
            default_image: Some("debian".into()),
            platform_map: vec!["a=linux/s390x".into()],
        };
        let mut o = Options::default();
        o.apply(&[project.clone(), user.clone()]);
        assert_eq!(o.run.jobs, Some(3));
        assert_eq!(o.run.default_image.as_deref(), Some("debian"));
        assert_eq!(o.common.platform_map, ["a=linux/arm64", "a=linux/s390x"]);
        let mut o = Options::default();
        o.run.jobs = Some(1);
        o.apply(&[project, user]);
        assert_eq!(o.run.jobs, Some(1));
    }

    #[test]
    fn files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("config.yml");
        std::fs::write(&f, "concurrency: 2\nplatform_map:\n  big: arm64\n").unwrap();
        let d = Defaults::read(&f, USER_KEYS).unwrap();
        assert_eq!(d.concurrency, Some(2));
        assert_eq!(d.platform_map, ["big=arm64"]);
        for (text, line, what) in [
            ("concurrency: 2\njobs: {}\n", 2, "jobs"),
            ("concurrency: 0\n", 1, "concurrency"),
            ("platform_map: {big: sparc}\n", 1, "sparc"),
        ] {
            std::fs::write(&f, text).unwrap();
            let e = Defaults::read(&f, USER_KEYS).unwrap_err().to_string();
            assert!(
                e.contains(&format!("config.yml:{line}")) && e.contains(what),
                "{e}"
            );
        }
        assert_eq!(
            Defaults::read(&dir.path().join("none.yml"), USER_KEYS).unwrap(),
            Defaults::default()
        );
    }
}
