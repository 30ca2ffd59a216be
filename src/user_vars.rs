//! Variables the user gives: the user's own file (`home.rs`, like a group's and an instance's
//! CI/CD settings), a project's variables file (like its CI/CD settings, with masked and
//! file-type variables) and `--variable KEY=VALUE` (like pipeline variables, the highest).

use std::path::Path;
use std::sync::Arc;

use crate::error::{ConfigError, Error};
use crate::pipeline::read;
use crate::yaml::{self, Value};

mod dotenv;
mod home;
mod peer;

pub use home::ProjectId;

/// The default variables file, looked for in the checkout.
pub const DEFAULT_FILE: &str = ".tezos-ci-local-variables.yml";
/// Its `.env` form (`dotenv.rs`), read after it when both exist.
pub const DEFAULT_ENV_FILE: &str = ".tezos-ci-local-variables.env";
/// gitlab-ci-local's variables file (YAML, or dotenv) and its options file (dotenv, whose
/// `VARIABLE` holds `KEY=VALUE` pairs), read when the checkout has no [`DEFAULT_FILE`].
pub const PEER_FILE: &str = ".gitlab-ci-local-variables.yml";
pub const PEER_ENV: &str = ".gitlab-ci-local-env";

/// The variables files `load` reads, in order: the user's (`home.rs`), then `--variables-file`,
/// else [`DEFAULT_FILE`] and [`DEFAULT_ENV_FILE`] that exist, else gitlab-ci-local's files that
/// exist. A file named `*.env` is read as `.env` lines (`dotenv.rs`), any other as YAML.
pub fn files_read(project_dir: &Path, file: Option<&Path>) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = home::file().into_iter().collect();
    out.extend(project_files(project_dir, file));
    out
}

fn project_files(project_dir: &Path, file: Option<&Path>) -> Vec<std::path::PathBuf> {
    if let Some(f) = file {
        return vec![if f.is_absolute() {
            f.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(f)
        }];
    }
    let own: Vec<_> = [DEFAULT_FILE, DEFAULT_ENV_FILE]
        .iter()
        .map(|n| project_dir.join(n))
        .filter(|p| p.exists())
        .collect();
    if !own.is_empty() {
        return own;
    }
    [PEER_FILE, PEER_ENV]
        .iter()
        .map(|n| project_dir.join(n))
        .filter(|p| p.is_file())
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserVar {
    pub name: String,
    pub value: String,
    /// Replaced by `[MASKED]` in logs and outputs.
    pub masked: bool,
    /// A file-type variable: the job sees the path of a file holding the value.
    pub file: bool,
}

/// The values of the masked variables, to be shown as `[MASKED]` wherever they appear: as
/// written, and as jobs see them when they name other variables of the file (`$$` a `$`).
pub fn masker(vars: &[UserVar]) -> crate::mask::Masker {
    let lookup = |n: &str| vars.iter().rfind(|u| u.name == n).map(|u| u.value.clone());
    crate::mask::Masker::new(vars.iter().filter(|u| u.masked).flat_map(|u| {
        let expanded =
            (u.value.contains('$') && !u.file).then(|| crate::expand::expand(&u.value, &lookup));
        std::iter::once(u.value.clone()).chain(expanded)
    }))
}

/// Reads the user's file, the project's variables file (if any) then the `--variable`s, lowest
/// precedence first; `project` chooses the user file's `group:` and `project:` entries.
pub fn load(
    project_dir: &Path,
    file: Option<&Path>,
    cli: &[String],
    project: &ProjectId,
) -> Result<Vec<UserVar>, Error> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut out = Vec::new();
    if let Some(path) = home::file() {
        out = home::parse(&read(&path)?, &path, project)?;
    }
    let mut peer_cli = Vec::new();
    for path in project_files(project_dir, file) {
        let text = read(&path)?;
        let name = path.file_name().and_then(|n| n.to_str());
        if file.is_none() && name == Some(PEER_FILE) {
            for var in peer::parse_variables(&text, &path)? {
                out.retain(|u: &UserVar| u.name != var.name);
                out.push(var);
            }
        } else if file.is_none() && name == Some(PEER_ENV) {
            peer_cli.extend(peer::env_file_variables(&text));
        } else {
            let vars = if dotenv::is_env_file(&path) {
                dotenv::parse(&text, &path)?
            } else {
                parse_file(&text, &path)?
            };
            for var in vars {
                out.retain(|u: &UserVar| u.name != var.name);
                out.push(var);
            }
        }
    }
    // gitlab-ci-local puts the env file's `VARIABLE` pairs before the command line's.
    for kv in peer_cli.iter().chain(cli) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--variable `{kv}`: expected KEY=VALUE")))?;
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::Usage(format!(
                "--variable `{kv}`: `{k}` is not a variable name (letters, digits and _)"
            )));
        }
        out.retain(|u: &UserVar| u.name != k);
        out.push(UserVar {
            name: k.to_string(),
            value: v.to_string(),
            masked: false,
            file: false,
        });
    }
    Ok(out)
}

fn parse_file(text: &str, path: &Path) -> Result<Vec<UserVar>, Error> {
    let node = yaml::parse_str(text, Arc::new(path.to_path_buf()))?;
    if node.is_null() {
        return Ok(Vec::new());
    }
    let m = read::map(&node, "variables file")?;
    let mut out = Vec::new();
    for (name, v) in m.iter() {
        let var = match &v.value {
            Value::Null => UserVar {
                name: name.to_string(),
                value: String::new(),
                masked: false,
                file: false,
            },
            Value::Scalar { text, .. } => UserVar {
                name: name.to_string(),
                value: text.clone(),
                masked: false,
                file: false,
            },
            Value::Map(vm) => {
                read::check_keys(vm, v, name, &["value", "masked", "type", "description"])?;
                let value = vm
                    .get("value")
                    .map(|n| read::string(n, name))
                    .transpose()?
                    .unwrap_or_default();
                let masked = vm
                    .get("masked")
                    .map(|n| read::boolean(n, name))
                    .transpose()?
                    .unwrap_or(false);
                let file = match vm
                    .get("type")
                    .map(|n| read::string(n, name))
                    .transpose()?
                    .as_deref()
                {
                    None | Some("env_var") | Some("variable") => false,
                    Some("file") => true,
                    Some(other) => {
                        return Err(ConfigError::new(
                            Some(&v.span),
                            format!("unknown variable type `{other}`; expected env_var or file"),
                        )
                        .key(name)
                        .into());
                    }
                };
                UserVar {
                    name: name.to_string(),
                    value,
                    masked,
                    file,
                }
            }
            _ => {
                return Err(ConfigError::new(
                    Some(&v.span),
                    "a variable is a value or a map with `value`, `masked`, `type`",
                )
                .key(name)
                .into());
            }
        };
        out.push(var);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_cli_with_kinds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DEFAULT_FILE), "A: one\nTOKEN:\n  value: s3cret-token\n  masked: true\nKUBECONFIG:\n  value: 'apiVersion: v1'\n  type: file\n").unwrap();
        let id = ProjectId {
            host: "gitlab.com".into(),
            namespace: "g".into(),
            name: "p".into(),
        };
        let v = load(dir.path(), None, &["A=two".into(), "B=x=y".into()], &id).unwrap();
        let get = |n: &str| v.iter().find(|u| u.name == n).unwrap();
        assert_eq!(get("A").value, "two", "--variable wins over the file");
        assert_eq!(get("B").value, "x=y");
        assert!(get("TOKEN").masked);
        assert!(get("KUBECONFIG").file);
        let m = masker(&v);
        assert_eq!(m.mask("x s3cret-token y"), "x [MASKED] y");
        assert_eq!(
            m.mask("apiVersion: v1 two"),
            "apiVersion: v1 two",
            "only masked ones"
        );
        assert!(load(dir.path(), None, &["novalue".into()], &id).is_err());
        std::fs::write(dir.path().join(DEFAULT_FILE), "X:\n  type: weird\n").unwrap();
        let e = load(dir.path(), None, &[], &id).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("weird"), "{e}");
    }
}
