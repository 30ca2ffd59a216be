//! gitlab-ci-local's variables files, for users who bring them: `.gitlab-ci-local-variables.yml`
//! (YAML, or dotenv when it is not a YAML map) and the `VARIABLE` line of `.gitlab-ci-local-env`.

use std::path::Path;
use std::sync::Arc;

use super::UserVar;
use crate::error::{ConfigError, Error};
use crate::pipeline::read;
use crate::yaml::{self, Value};

/// The variables of `.gitlab-ci-local-variables.yml`. A value is a string (one starting with
/// `/` or `~` names a file whose content becomes a file-type variable, as gitlab-ci-local does),
/// or a map with `type` (`variable` or `file`) and `values` by environment scope. Variables here
/// hold for the whole pipeline, so the `*` scope is the one taken; other scopes are left out.
pub fn parse_variables(text: &str, path: &Path) -> Result<Vec<UserVar>, Error> {
    let node = match yaml::parse_str(text, Arc::new(path.to_path_buf())) {
        Ok(n) if n.as_map().is_some() || n.is_null() => n,
        // gitlab-ci-local reads the file as dotenv when it is not YAML or not a map.
        _ => return Ok(dotenv(text).into_iter().map(plain).collect()),
    };
    let Some(m) = node.as_map() else {
        return Ok(Vec::new());
    };
    variables_of(m)
}

/// The variables of one map in gitlab-ci-local's shape (the project file's top level, or a
/// `global:`, `group:` or `project:` entry of the user's file). `masked: true` is ours.
pub fn variables_of(m: &crate::yaml::Map) -> Result<Vec<UserVar>, Error> {
    let mut out = Vec::new();
    for (name, v) in m.iter() {
        let mut masked = false;
        let (kind, value) = match &v.value {
            Value::Null => (None, Some(String::new())),
            Value::Scalar { text, .. } => (None, Some(text.clone())),
            Value::Map(vm) => {
                read::check_keys(vm, v, name, &["type", "values", "masked"])?;
                masked = vm
                    .get("masked")
                    .map(|n| read::boolean(n, name))
                    .transpose()?
                    .unwrap_or(false);
                let kind = vm.get("type").map(|n| read::string(n, name)).transpose()?;
                let values = vm.get("values").ok_or_else(|| {
                    ConfigError::new(Some(&v.span), "expected `values:`").key(name)
                })?;
                let values = read::map(values, name)?;
                let star = values.get("*").map(|n| read::string(n, name)).transpose()?;
                (Some(kind.unwrap_or_else(|| "variable".to_string())), star)
            }
            _ => {
                return Err(ConfigError::new(
                    Some(&v.span),
                    "a variable is a string or a map with `type` and `values`",
                )
                .key(name)
                .into());
            }
        };
        let Some(value) = value else { continue };
        let var = match kind.as_deref() {
            None if value.starts_with('/') || value.starts_with('~') => {
                let file = match value.strip_prefix("~/") {
                    Some(rest) => std::env::var_os("HOME")
                        .map(std::path::PathBuf::from)
                        .unwrap_or_default()
                        .join(rest),
                    None => value.clone().into(),
                };
                let content = std::fs::read_to_string(&file).map_err(|e| {
                    ConfigError::new(
                        Some(&v.span),
                        format!(
                            "names the file `{}`, which cannot be read: {e}",
                            file.display()
                        ),
                    )
                    .key(name)
                })?;
                UserVar {
                    name: name.to_string(),
                    value: content,
                    masked: false,
                    file: true,
                }
            }
            None | Some("variable") | Some("env_var") => plain((name.to_string(), value)),
            Some("file") => UserVar {
                name: name.to_string(),
                value,
                masked: false,
                file: true,
            },
            Some(other) => {
                return Err(ConfigError::new(
                    Some(&v.span),
                    format!("unknown variable type `{other}`; expected variable or file"),
                )
                .key(name)
                .into());
            }
        };
        out.push(UserVar { masked, ..var });
    }
    Ok(out)
}

/// The `KEY=VALUE` pairs of the `VARIABLE` line of `.gitlab-ci-local-env` (space-separated, as
/// gitlab-ci-local splits them); the file's other lines are gitlab-ci-local's own options.
pub fn env_file_variables(text: &str) -> Vec<String> {
    dotenv(text)
        .into_iter()
        .filter(|(k, _)| k == "VARIABLE")
        .flat_map(|(_, v)| {
            v.split(' ')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn plain((name, value): (String, String)) -> UserVar {
    UserVar {
        name,
        value,
        masked: false,
        file: false,
    }
}

/// `KEY=VALUE` lines: `#` comments, an optional `export `, values in single or double quotes.
fn dotenv(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (k, v) = line.split_once('=')?;
            let k = k.trim();
            if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return None;
            }
            let v = v.trim();
            let v = [('"', '"'), ('\'', '\'')]
                .iter()
                .find_map(|(a, b)| v.strip_prefix(*a).and_then(|r| r.strip_suffix(*b)))
                .map(str::to_string)
                .unwrap_or_else(|| v.split(" #").next().unwrap_or("").trim().to_string());
            Some((k.to_string(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_scopes_files_and_dotenv() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "CERT").unwrap();
        let text = format!(
            "A: one\nCERT: '{}'\nE:\n  values:\n    '*': all\n    production: prod\nONLY_PROD:\n  values:\n    production: p\nF:\n  type: file\n  values:\n    '*': content\n",
            cert.display()
        );
        let v = parse_variables(&text, Path::new("v.yml")).unwrap();
        let get = |n: &str| v.iter().find(|u| u.name == n);
        assert_eq!(get("A").unwrap().value, "one");
        assert!(get("CERT").unwrap().file && get("CERT").unwrap().value == "CERT");
        assert_eq!(get("E").unwrap().value, "all");
        assert!(get("ONLY_PROD").is_none());
        assert!(get("F").unwrap().file);
        let v = parse_variables("X=1\nexport Y='two words'\n# c\n", Path::new("v")).unwrap();
        assert_eq!(v[0].value, "1");
        assert_eq!(v[1].value, "two words");
        assert_eq!(
            env_file_variables("NEEDS=true\nVARIABLE=\"A=1 B=x=y\"\n"),
            ["A=1", "B=x=y"]
        );
    }
}
