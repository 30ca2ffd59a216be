//! Reads the pipeline files: the root file and its `include:`s, merged as GitLab merges them
//! (included files first, in order, deep-merged; the including file on top).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{ConfigError, ConfigErrors};
use crate::pipeline::merge::deep_merge;
use crate::pipeline::model::{Rule, When};
use crate::pipeline::read;
use crate::yaml::{self, Map, Node, Span, Value};

/// GitLab's limit on the number of included files.
const MAX_INCLUDES: usize = 150;

/// What includes may look at: predefined and pipeline-level (project, command-line) variables
/// only, since GitLab evaluates includes before the YAML's own `variables:` exist ("You cannot use
/// variables defined in jobs, or in a global `variables` section",
/// docs.gitlab.com/ci/yaml/includes/#use-variables-with-include).
pub trait IncludeContext {
    /// Whether an include with `rules:` is included.
    fn included(&self, rules: &[Rule]) -> Result<bool, ConfigError>;
    /// Expands the variables of an include's path or URL.
    fn expand(&self, text: &str) -> String {
        text.to_string()
    }
}

/// Where the root file comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file on disk, relative to the project directory or absolute.
    File(PathBuf),
    /// Text embedded in the binary (a pipeline from `pipelines/`), named for errors.
    Embedded { name: String, text: String },
}

/// The merged top-level map, before `!reference`, `extends` and `default:` are applied.
#[derive(Debug)]
pub struct Loaded {
    pub root: Map,
    /// The files read, the root first, for `explain` and the job cache.
    pub files: Vec<String>,
}

pub fn load(
    project_dir: &Path,
    source: &Source,
    context: &dyn IncludeContext,
) -> Result<Loaded, ConfigErrors> {
    let mut loader = Loader {
        project_dir,
        context,
        files: Vec::new(),
        stack: Vec::new(),
    };
    let (display, text) = match source {
        Source::File(path) => {
            let full = if path.is_absolute() {
                path.clone()
            } else {
                project_dir.join(path)
            };
            let text = std::fs::read_to_string(&full).map_err(|e| {
                ConfigError::new(
                    None,
                    format!("cannot read the pipeline file {}: {e}", full.display()),
                )
            })?;
            (display_path(project_dir, &full), text)
        }
        Source::Embedded { name, text } => (name.clone(), text.clone()),
    };
    let root = loader.load_text(&display, &text, None)?;
    Ok(Loaded {
        root,
        files: loader.files,
    })
}

fn display_path(project_dir: &Path, path: &Path) -> String {
    path.strip_prefix(project_dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

struct Loader<'a> {
    project_dir: &'a Path,
    context: &'a dyn IncludeContext,
    files: Vec<String>,
    /// The include chain, to report cycles.
    stack: Vec<String>,
}

impl Loader<'_> {
    fn load_text(
        &mut self,
        display: &str,
        text: &str,
        included_from: Option<&Span>,
    ) -> Result<Map, ConfigErrors> {
        if self.stack.iter().any(|f| f == display) {
            let chain = self.stack.join(" -> ");
            return Err(ConfigError::new(
                included_from,
                format!("include cycle: {chain} -> {display}"),
            )
            .key("include")
            .into());
        }
        if self.files.len() >= MAX_INCLUDES {
            return Err(ConfigError::new(
                included_from,
                format!("more than {MAX_INCLUDES} files are included"),
            )
            .key("include")
            .into());
        }
        self.files.push(display.to_string());
        let file = Arc::new(PathBuf::from(display));
        let node = yaml::parse_str(text, file).map_err(ConfigError::from)?;
        let mut map = match node.value {
            Value::Map(m) => m,
            Value::Null => Map::new(),
            _ => {
                return Err(ConfigError::new(
                    Some(&node.span),
                    format!(
                        "a CI file is a map of jobs and keywords, found {}",
                        node.kind()
                    ),
                )
                .into());
            }
        };
        if map.contains_key("spec") && !map.contains_key("script") {
            // `spec:` headers belong to CI/CD components and `include:inputs`.
            return Err(ConfigError::new(
                map.key_span("spec"),
                "`spec:inputs` headers are not supported; tezos-ci-local reads plain CI files",
            )
            .into());
        }
        let Some(include) = map.remove("include") else {
            return Ok(map);
        };
        self.stack.push(display.to_string());
        let result = self.load_includes(&include);
        self.stack.pop();
        let mut merged = Map::new();
        for included in result? {
            deep_merge(&mut merged, included);
        }
        deep_merge(&mut merged, map);
        Ok(merged)
    }

    fn load_includes(&mut self, include: &Node) -> Result<Vec<Map>, ConfigErrors> {
        let entries: Vec<&Node> = match &include.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => vec![include],
        };
        let mut out = Vec::new();
        let mut errors = ConfigErrors::default();
        for entry in entries {
            match self.load_include(entry) {
                Ok(maps) => out.extend(maps),
                Err(e) => errors.0.extend(e.0),
            }
        }
        errors.into_result()?;
        Ok(out)
    }

    fn load_include(&mut self, entry: &Node) -> Result<Vec<Map>, ConfigErrors> {
        let e = |msg: String| -> ConfigErrors {
            ConfigError::new(Some(&entry.span), msg)
                .key("include")
                .into()
        };
        let target = match &entry.value {
            Value::Scalar { text, .. } => {
                let text = self.context.expand(text);
                if text.starts_with("https://") || text.starts_with("http://") {
                    Target::Remote(text)
                } else {
                    Target::Local(text)
                }
            }
            Value::Map(m) => {
                read::check_keys(
                    m,
                    entry,
                    "include",
                    &[
                        "local",
                        "remote",
                        "template",
                        "project",
                        "file",
                        "ref",
                        "component",
                        "rules",
                        "inputs",
                        "cache",
                        "integrity",
                    ],
                )?;
                if let Some(rules) = m.get("rules") {
                    let rules = read::rules(rules, "include:rules", &[When::Always, When::Never])?;
                    if !self.context.included(&rules)? {
                        return Ok(Vec::new());
                    }
                }
                if m.contains_key("inputs") {
                    return Err(e(
                        "`include:inputs` is not supported; include plain CI files".into(),
                    ));
                }
                if let Some(n) = m.get("local") {
                    Target::Local(self.context.expand(&read::string(n, "include:local")?))
                } else if let Some(n) = m.get("remote") {
                    Target::Remote(self.context.expand(&read::string(n, "include:remote")?))
                } else if m.contains_key("template") {
                    return Err(e("`include:template` is not supported: GitLab's templates live on gitlab.com, and tezos-ci-local works offline. \
Copy the template into the repository and include it with `include: local: path/to/template.yml`".into()));
                } else if m.contains_key("project") {
                    return Err(e("`include:project` is not supported: it reads files from another GitLab project. \
Clone that project, copy the files you need into this repository, and include them with `include: local:`".into()));
                } else if m.contains_key("component") {
                    return Err(e("`include:component` (CI/CD components) is not supported; include the component's template with `include: local:` instead".into()));
                } else {
                    return Err(e("an include names a `local:` or `remote:` file".into()));
                }
            }
            _ => {
                return Err(e(format!(
                    "an include is a path or a map, found {}",
                    entry.kind()
                )));
            }
        };
        match target {
            Target::Local(path) => self.load_local(&path, entry),
            Target::Remote(url) => {
                let text = fetch(&url).map_err(|msg| e(format!("cannot fetch `{url}`: {msg}")))?;
                Ok(vec![self.load_text(&url, &text, Some(&entry.span))?])
            }
        }
    }

    fn load_local(&mut self, path: &str, entry: &Node) -> Result<Vec<Map>, ConfigErrors> {
        let rel = path.trim_start_matches('/');
        let paths: Vec<String> = if rel.contains('*') {
            let glob = globset::GlobBuilder::new(rel)
                .literal_separator(true)
                .build()
                .map_err(|err| {
                    ConfigErrors::from(
                        ConfigError::new(Some(&entry.span), format!("bad pattern `{path}`: {err}"))
                            .key("include:local"),
                    )
                })?;
            let matcher = glob.compile_matcher();
            let mut found = Vec::new();
            walk_files(self.project_dir, self.project_dir, &mut |rel_path| {
                if matcher.is_match(rel_path) {
                    found.push(rel_path.to_string());
                }
            });
            found.sort();
            if found.is_empty() {
                return Err(ConfigError::new(
                    Some(&entry.span),
                    format!("`{path}` matches no file"),
                )
                .key("include:local")
                .into());
            }
            found
        } else {
            vec![rel.to_string()]
        };
        let mut out = Vec::new();
        for p in paths {
            let full = self.project_dir.join(&p);
            let text = std::fs::read_to_string(&full).map_err(|err| {
                let what = if err.kind() == std::io::ErrorKind::NotFound { "does not exist".to_string() } else { err.to_string() };
                ConfigErrors::from(ConfigError::new(Some(&entry.span), format!("included file `{p}` {what} (local includes are relative to the project directory {})", self.project_dir.display())).key("include:local"))
            })?;
            if !(p.ends_with(".yml") || p.ends_with(".yaml")) {
                return Err(ConfigError::new(
                    Some(&entry.span),
                    format!("included file `{p}` must end in .yml or .yaml"),
                )
                .key("include:local")
                .into());
            }
            out.push(self.load_text(&p, &text, Some(&entry.span))?);
        }
        Ok(out)
    }
}

enum Target {
    Local(String),
    Remote(String),
}

fn walk_files(root: &Path, dir: &Path, f: &mut dyn FnMut(&str)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if entry.file_name() != ".git" {
                walk_files(root, &path, f);
            }
        } else if let Ok(rel) = path.strip_prefix(root) {
            f(&rel.to_string_lossy());
        }
    }
}

fn fetch(url: &str) -> Result<String, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let resp = agent.get(url).call().map_err(|e| e.to_string())?;
    resp.into_string().map_err(|e| e.to_string())
}
