//! Reads the pipeline files: the root file and its `include:`s, merged as GitLab merges them
//! (included files first, in order, deep-merged; the including file on top).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::error::{ConfigError, ConfigErrors};
use crate::pipeline::fetch::{self, Fetcher};
use crate::pipeline::inputs;
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
    /// Fetches `include:project`, `component`, `template` and `remote` files; without one,
    /// those includes are errors.
    fn fetcher(&self) -> Option<&Fetcher> {
        None
    }
    /// `--input NAME=VALUE`: the root file's inputs.
    fn root_inputs(&self) -> &[(String, String)] {
        &[]
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
    let mut loader = Loader::new(project_dir, context);
    let (display, text) = match source {
        Source::File(path) => {
            let full = if path.is_absolute() {
                path.clone()
            } else {
                project_dir.join(path)
            };
            let text = fetch::read_bounded(&full).map_err(|e| {
                ConfigError::new(
                    None,
                    format!("cannot read the pipeline file {}: {e}", full.display()),
                )
            })?;
            (display_path(project_dir, &full), text)
        }
        Source::Embedded { name, text } => (name.clone(), text.clone()),
    };
    let given: Vec<(String, Given)> = context
        .root_inputs()
        .iter()
        .map(|(k, v)| (k.clone(), Given::Text(v.clone())))
        .collect();
    let origin = Origin {
        inputs: given,
        given_at: None,
        component: None,
        base: Base::Checkout,
    };
    let root = loader.load_text(&display, &text, None, &origin)?;
    Ok(Loaded {
        root,
        files: loader.files,
    })
}

/// One file of a child pipeline (`trigger:include`).
pub enum ChildFile<'a> {
    /// An include entry, loaded as `include:` loads it.
    Include(&'a Node),
    /// A file already read (a job's artifact), named for errors, and where the trigger names it.
    Text {
        display: String,
        text: String,
        span: Span,
    },
}

/// Loads a child pipeline: its files merged in order as the entries of one `include:` are.
pub fn load_child(
    project_dir: &Path,
    entries: &[ChildFile],
    context: &dyn IncludeContext,
) -> Result<Loaded, ConfigErrors> {
    let mut loader = Loader::new(project_dir, context);
    let mut merged = Map::new();
    let mut errors = ConfigErrors::default();
    for entry in entries {
        let loaded = match entry {
            ChildFile::Include(node) => loader.load_include(node, &Base::Checkout),
            ChildFile::Text {
                display,
                text,
                span,
            } => {
                let origin = Origin {
                    inputs: Vec::new(),
                    given_at: None,
                    component: None,
                    base: Base::Checkout,
                };
                loader
                    .load_text(display, text, Some(span), &origin)
                    .map(|m| vec![m])
            }
        };
        match loaded {
            Ok(maps) => maps.into_iter().for_each(|m| deep_merge(&mut merged, m)),
            Err(e) => errors.0.extend(e.0),
        }
    }
    errors.into_result()?;
    Ok(Loaded {
        root: merged,
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
    /// The project directory with symlinks resolved: local includes stay inside it.
    project_canon: PathBuf,
    context: &'a dyn IncludeContext,
    files: Vec<String>,
    /// The include chain, to report cycles.
    stack: Vec<String>,
}

/// An input's value as given: a YAML node (`include:inputs`) or text (`--input`), typed by
/// the header that declares it.
#[derive(Clone)]
enum Given {
    Node(Node),
    Text(String),
}

/// What a file is read with: the inputs given to it, the component it belongs to, and where
/// its own `include:local`s are.
struct Origin {
    inputs: Vec<(String, Given)>,
    given_at: Option<Span>,
    component: Option<HashMap<String, String>>,
    base: Base,
}

/// Where `include:local` reads: the checkout, or the commit of another project that a file
/// came from (GitLab reads nested local includes in the included file's own project).
#[derive(Clone)]
enum Base {
    Checkout,
    Project { project: String, commit: git2::Oid },
}

impl<'a> Loader<'a> {
    fn new(project_dir: &'a Path, context: &'a dyn IncludeContext) -> Self {
        let project_canon = project_dir
            .canonicalize()
            .unwrap_or_else(|_| project_dir.to_path_buf());
        Loader {
            project_dir,
            project_canon,
            context,
            files: Vec::new(),
            stack: Vec::new(),
        }
    }
}

impl Loader<'_> {
    fn load_text(
        &mut self,
        display: &str,
        text: &str,
        included_from: Option<&Span>,
        origin: &Origin,
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
        let node = self.content(text, &file, included_from, origin)?;
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
            return Err(ConfigError::new(
                map.key_span("spec"),
                "`spec:` is a header document: end it with a line `---`, the jobs after it",
            )
            .into());
        }
        let Some(include) = map.remove("include") else {
            return Ok(map);
        };
        self.stack.push(display.to_string());
        let result = self.load_includes(&include, &origin.base);
        self.stack.pop();
        let mut merged = Map::new();
        for included in result? {
            deep_merge(&mut merged, included);
        }
        deep_merge(&mut merged, map);
        Ok(merged)
    }

    /// The content document of a file: the second one when the first is a `spec:` header, with
    /// the inputs interpolated.
    fn content(
        &self,
        text: &str,
        file: &Arc<PathBuf>,
        included_from: Option<&Span>,
        origin: &Origin,
    ) -> Result<Node, ConfigErrors> {
        let (first, documents) =
            yaml::parse_document(text, file.clone(), 1).map_err(ConfigError::from)?;
        let null = || Node::new(Value::Null, Span::new(file.clone(), 1, 1));
        let first = first.unwrap_or_else(null);
        let header = match &first.value {
            Value::Map(m) if documents > 1 && m.contains_key("spec") => Some(m.clone()),
            _ => None,
        };
        let given_at = origin.given_at.as_ref().or(included_from);
        let Some(header) = header else {
            if !origin.inputs.is_empty() {
                return Err(ConfigError::new(
                    given_at,
                    format!(
                        "inputs ({}) given to `{}`, which has no `spec:inputs` header: given inputs not defined in the `spec` section of the included configuration file",
                        origin.inputs.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", "),
                        file.display()
                    ),
                )
                .key("inputs")
                .into());
            }
            return Ok(first);
        };
        let specs = inputs::parse_spec(&header)?;
        let given: Vec<(String, Node)> = origin
            .inputs
            .iter()
            .map(|(k, v)| {
                let node = match v {
                    Given::Node(n) => n.clone(),
                    Given::Text(t) => inputs::parse_cli_value(&specs, k, t),
                };
                (k.clone(), node)
            })
            .collect();
        let values = inputs::resolve(&specs, &given, given_at).map_err(|mut e| {
            for err in &mut e.0 {
                err.message = format!("{}: {}", file.display(), err.message);
            }
            e
        })?;
        let (content, _) =
            yaml::parse_document(text, file.clone(), 2).map_err(ConfigError::from)?;
        let content = content.unwrap_or_else(null);
        let expand = |t: &str| self.context.expand(t);
        let ctx = inputs::Context {
            inputs: &values,
            component: origin.component.as_ref(),
            expand: &expand,
        };
        inputs::interpolate(content, &ctx)
    }

    fn load_includes(&mut self, include: &Node, base: &Base) -> Result<Vec<Map>, ConfigErrors> {
        let entries: Vec<&Node> = match &include.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => vec![include],
        };
        let mut out = Vec::new();
        let mut errors = ConfigErrors::default();
        for entry in entries {
            match self.load_include(entry, base) {
                Ok(maps) => out.extend(maps),
                Err(e) => errors.0.extend(e.0),
            }
        }
        errors.into_result()?;
        Ok(out)
    }

    fn fetcher(&self, entry: &Node, kind: &str) -> Result<&Fetcher, ConfigErrors> {
        self.context.fetcher().ok_or_else(|| {
            ConfigError::new(
                Some(&entry.span),
                format!("`include:{kind}` cannot be fetched here"),
            )
            .key("include")
            .into()
        })
    }

    fn load_include(&mut self, entry: &Node, base: &Base) -> Result<Vec<Map>, ConfigErrors> {
        let e = |key: &str, msg: String| -> ConfigErrors {
            ConfigError::new(Some(&entry.span), msg)
                .key(format!("include:{key}"))
                .into()
        };
        let m = match &entry.value {
            Value::Scalar { text, .. } => {
                let text = self.context.expand(text);
                let origin = Origin {
                    inputs: Vec::new(),
                    given_at: None,
                    component: None,
                    base: base.clone(),
                };
                if text.starts_with("https://") || text.starts_with("http://") {
                    return self.load_remote(&text, entry, origin);
                }
                return self.load_local(&text, entry, &origin);
            }
            Value::Map(m) => m,
            _ => {
                return Err(ConfigError::new(
                    Some(&entry.span),
                    format!("an include is a path or a map, found {}", entry.kind()),
                )
                .key("include")
                .into());
            }
        };
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
        let given = match m.get("inputs") {
            None => Vec::new(),
            Some(n) => match &n.value {
                Value::Map(im) => im
                    .iter()
                    .map(|(k, v)| (k.to_string(), Given::Node(v.clone())))
                    .collect(),
                Value::Null => Vec::new(),
                _ => {
                    return Err(e(
                        "inputs",
                        format!(
                            "`inputs:` is a map of input names to values, found {}",
                            n.kind()
                        ),
                    ));
                }
            },
        };
        let origin = Origin {
            inputs: given,
            given_at: m.get("inputs").map(|n| n.span.clone()),
            component: None,
            base: base.clone(),
        };
        let kinds: Vec<&str> = ["local", "remote", "template", "project", "component"]
            .into_iter()
            .filter(|k| m.contains_key(k))
            .collect();
        if kinds.len() > 1 {
            return Err(e(
                kinds[0],
                format!(
                    "an include names one file source, found {}",
                    kinds.join(" and ")
                ),
            ));
        }
        if m.contains_key("file") && !m.contains_key("project") {
            return Err(e("file", "`file:` goes with `project:`".into()));
        }
        if let Some(n) = m.get("local") {
            let path = self.context.expand(&read::string(n, "include:local")?);
            self.load_local(&path, entry, &origin)
        } else if let Some(n) = m.get("remote") {
            let url = self.context.expand(&read::string(n, "include:remote")?);
            self.load_remote(&url, entry, origin)
        } else if let Some(n) = m.get("template") {
            let name = self.context.expand(&read::string(n, "include:template")?);
            let fetched = self
                .fetcher(entry, "template")?
                .template(&name)
                .map_err(|msg| {
                    e(
                        "template",
                        format!("cannot fetch the template `{name}`: {msg}"),
                    )
                })?;
            let origin = Origin {
                base: Base::Checkout,
                ..origin
            };
            Ok(vec![self.load_text(
                &fetched.display,
                &fetched.text,
                Some(&entry.span),
                &origin,
            )?])
        } else if let Some(n) = m.get("project") {
            let project = self.context.expand(&read::string(n, "include:project")?);
            let reference = match m.get("ref") {
                Some(r) => Some(self.context.expand(&read::string(r, "include:ref")?)),
                None => None,
            };
            let files = match m.get("file") {
                Some(f) => read::string_list(f, "include:file")?,
                None => return Err(e("project", "`include:project` needs `file:`".into())),
            };
            let mut out = Vec::new();
            for file in files {
                let file = self.context.expand(&file);
                out.push(self.load_project_file(
                    &project,
                    reference.as_deref(),
                    &file,
                    entry,
                    &origin,
                    None,
                )?);
            }
            Ok(out)
        } else if let Some(n) = m.get("component") {
            let address = self.context.expand(&read::string(n, "include:component")?);
            self.load_component(&address, entry, origin)
        } else {
            Err(e("local", "an include names a `local:`, `remote:`, `template:`, `project:` or `component:` file".into()))
        }
    }

    fn load_remote(
        &mut self,
        url: &str,
        entry: &Node,
        origin: Origin,
    ) -> Result<Vec<Map>, ConfigErrors> {
        let fetched = self.fetcher(entry, "remote")?.remote(url).map_err(|msg| {
            ConfigErrors::from(
                ConfigError::new(Some(&entry.span), format!("cannot fetch `{url}`: {msg}"))
                    .key("include:remote"),
            )
        })?;
        let origin = Origin {
            base: Base::Checkout,
            ..origin
        };
        Ok(vec![self.load_text(
            &fetched.display,
            &fetched.text,
            Some(&entry.span),
            &origin,
        )?])
    }

    /// `file` of `project` at `reference`; `component` is set for a component's template.
    fn load_project_file(
        &mut self,
        project: &str,
        reference: Option<&str>,
        file: &str,
        entry: &Node,
        origin: &Origin,
        component: Option<(git2::Oid, HashMap<String, String>)>,
    ) -> Result<Map, ConfigErrors> {
        let e = |msg: String| -> ConfigErrors {
            ConfigError::new(Some(&entry.span), msg)
                .key("include:project")
                .into()
        };
        let fetcher = self.fetcher(entry, "project")?;
        let repo = fetcher
            .project(project)
            .map_err(|msg| e(format!("project `{project}`: {msg}")))?;
        let commit = match &component {
            Some((c, _)) => *c,
            None => repo
                .resolve(reference)
                .map_err(|msg| e(format!("project `{project}`: {msg}")))?,
        };
        let short = &commit.to_string()[..8];
        let text = repo
            .read(commit, file)
            .map_err(|msg| e(format!("project `{project}`: {msg}")))?
            .ok_or_else(|| {
                e(format!(
                    "project `{project}` has no file `{file}` at {} (commit {short}, from {})",
                    reference.unwrap_or("its default branch"),
                    repo.source
                ))
            })?;
        let display = format!("{project}@{short}/{}", file.trim_start_matches('/'));
        let origin = Origin {
            inputs: origin.inputs.clone(),
            given_at: origin.given_at.clone(),
            component: component.map(|(_, c)| c),
            base: Base::Project {
                project: project.to_string(),
                commit,
            },
        };
        self.load_text(&display, &text, Some(&entry.span), &origin)
    }

    /// `include:component: FQDN/PROJECT/NAME@VERSION`.
    fn load_component(
        &mut self,
        address: &str,
        entry: &Node,
        origin: Origin,
    ) -> Result<Vec<Map>, ConfigErrors> {
        let e = |msg: String| -> ConfigErrors {
            ConfigError::new(Some(&entry.span), msg)
                .key("include:component")
                .into()
        };
        let (path, version) = address.rsplit_once('@').ok_or_else(|| {
            e(format!(
                "component `{address}` has no version: write FQDN/PROJECT/NAME@VERSION"
            ))
        })?;
        let parts: Vec<&str> = path.split('/').collect();
        if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) || version.is_empty() {
            return Err(e(format!(
                "component `{address}` is not FQDN/PROJECT/NAME@VERSION"
            )));
        }
        let name = parts[parts.len() - 1];
        let project = parts[1..parts.len() - 1].join("/");
        let candidates = [
            format!("templates/{name}.yml"),
            format!("templates/{name}/template.yml"),
        ];
        let own_project = self.context.expand("$CI_PROJECT_PATH");
        let own_sha = self.context.expand("$CI_COMMIT_SHA");
        if project == own_project && version == own_sha {
            // A component project's own pipeline tests the component at its commit: the checkout.
            let mut info = HashMap::new();
            info.insert("name".to_string(), name.to_string());
            info.insert("sha".to_string(), own_sha.clone());
            info.insert("version".to_string(), String::new());
            info.insert("reference".to_string(), version.to_string());
            let origin = Origin {
                component: Some(info),
                base: Base::Checkout,
                ..origin
            };
            for c in &candidates {
                if self.project_dir.join(c).exists() {
                    return self.load_local(c, entry, &origin);
                }
            }
            return Err(e(format!(
                "component `{name}` of this project: neither {} nor {} exists in the checkout",
                candidates[0], candidates[1]
            )));
        }
        let fetcher = self.fetcher(entry, "component")?;
        let repo = fetcher
            .project(&project)
            .map_err(|msg| e(format!("component `{address}`: {msg}")))?;
        let (commit, resolved_version) = match resolve_version(&repo.tags(), version) {
            Some(tag) => (
                repo.resolve(Some(&tag))
                    .map_err(|msg| e(format!("component `{address}`: {msg}")))?,
                tag,
            ),
            None if version == "~latest" || is_partial_version(version) => {
                return Err(e(format!(
                    "component `{address}`: no release tag of {} matches `{version}` (tags: {})",
                    repo.source,
                    repo.tags().join(", ")
                )));
            }
            None => (
                repo.resolve(Some(version))
                    .map_err(|msg| e(format!("component `{address}`: {msg}")))?,
                String::new(),
            ),
        };
        let file = candidates
            .iter()
            .find(|c| matches!(repo.read(commit, c), Ok(Some(_))))
            .cloned()
            .ok_or_else(|| {
                e(format!(
                    "component `{address}`: neither {} nor {} exists at {version} (commit {}, from {})",
                    candidates[0],
                    candidates[1],
                    &commit.to_string()[..8],
                    repo.source
                ))
            })?;
        let mut info = HashMap::new();
        info.insert("name".to_string(), name.to_string());
        info.insert("sha".to_string(), commit.to_string());
        info.insert("version".to_string(), resolved_version);
        info.insert("reference".to_string(), version.to_string());
        Ok(vec![self.load_project_file(
            &project,
            Some(version),
            &file,
            entry,
            &origin,
            Some((commit, info)),
        )?])
    }

    fn load_local(
        &mut self,
        path: &str,
        entry: &Node,
        origin: &Origin,
    ) -> Result<Vec<Map>, ConfigErrors> {
        let e = |msg: String| -> ConfigErrors {
            ConfigError::new(Some(&entry.span), msg)
                .key("include:local")
                .into()
        };
        let rel = path.trim_start_matches('/');
        if Path::new(rel)
            .components()
            .any(|c| matches!(c, Component::ParentDir))
        {
            return Err(e(format!(
                "`{path}` leads outside the project: local includes are files of the project, as on GitLab"
            )));
        }
        if let Base::Project { project, commit } = &origin.base {
            let (project, commit) = (project.clone(), *commit);
            if rel.contains('*') {
                return Err(e(format!(
                    "`{path}`: wildcards in a local include of project `{project}` are not supported"
                )));
            }
            if !(rel.ends_with(".yml") || rel.ends_with(".yaml")) {
                return Err(e(format!(
                    "included file `{rel}` must end in .yml or .yaml"
                )));
            }
            let origin = Origin {
                inputs: origin.inputs.clone(),
                given_at: origin.given_at.clone(),
                component: None,
                base: origin.base.clone(),
            };
            return Ok(vec![self.load_project_file(
                &project,
                Some(&commit.to_string()),
                rel,
                entry,
                &origin,
                None,
            )?]);
        }
        let paths: Vec<String> = if rel.contains('*') {
            let glob = globset::GlobBuilder::new(rel)
                .literal_separator(true)
                .build()
                .map_err(|err| e(format!("bad pattern `{path}`: {err}")))?;
            let matcher = glob.compile_matcher();
            let mut found = Vec::new();
            walk_files(self.project_dir, self.project_dir, &mut |rel_path| {
                if matcher.is_match(rel_path) {
                    found.push(rel_path.to_string());
                }
            });
            found.sort();
            if found.is_empty() {
                return Err(e(format!("`{path}` matches no file")));
            }
            found
        } else {
            vec![rel.to_string()]
        };
        let mut out = Vec::new();
        for p in paths {
            let full = self.project_dir.join(&p);
            if !full.exists() && std::fs::symlink_metadata(&full).is_err() {
                return Err(e(format!(
                    "included file `{p}` does not exist (local includes are relative to the project directory {})",
                    self.project_dir.display()
                )));
            }
            match full.canonicalize() {
                Ok(real) if real.starts_with(&self.project_canon) => {}
                Ok(_) => {
                    return Err(e(format!(
                        "included file `{p}` is a symbolic link that leads outside the project"
                    )));
                }
                Err(err) => return Err(e(format!("included file `{p}`: {err}"))),
            }
            if !(p.ends_with(".yml") || p.ends_with(".yaml")) {
                return Err(e(format!("included file `{p}` must end in .yml or .yaml")));
            }
            let text = fetch::read_bounded(&full)
                .map_err(|err| e(format!("included file `{p}` {err}")))?;
            out.push(self.load_text(&p, &text, Some(&entry.span), origin)?);
        }
        Ok(out)
    }
}

fn is_partial_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() <= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// A release version `MAJOR.MINOR.PATCH` (no pre-release).
fn semver(tag: &str) -> Option<(u64, u64, u64)> {
    let mut it = tag.split('.');
    let v = (
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    );
    it.next().is_none().then_some(v)
}

/// The tag a component version names, as GitLab resolves them: `~latest` the newest release,
/// `1` or `1.2` the newest release of that major or minor version; `None` for anything else (a
/// tag, branch or SHA, resolved as written).
fn resolve_version(tags: &[String], version: &str) -> Option<String> {
    let wanted: Vec<u64> = if version == "~latest" {
        Vec::new()
    } else if is_partial_version(version) {
        version
            .split('.')
            .map(|p| p.parse().unwrap_or(u64::MAX))
            .collect()
    } else {
        return None;
    };
    tags.iter()
        .filter_map(|t| semver(t).map(|v| (v, t)))
        .filter(|((ma, mi, _), _)| {
            wanted.first().is_none_or(|w| w == ma) && wanted.get(1).is_none_or(|w| w == mi)
        })
        .max_by_key(|(v, _)| *v)
        .map(|(_, t)| t.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_versions_resolve_to_the_newest_matching_release() {
        let tags: Vec<String> = [
            "1.0.0",
            "1.2.0",
            "1.10.1",
            "2.0.0-rc1",
            "2.0.0",
            "v3.0.0",
            "main",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(resolve_version(&tags, "~latest").as_deref(), Some("2.0.0"));
        assert_eq!(resolve_version(&tags, "1").as_deref(), Some("1.10.1"));
        assert_eq!(resolve_version(&tags, "1.2").as_deref(), Some("1.2.0"));
        assert_eq!(resolve_version(&tags, "3"), None);
        assert_eq!(resolve_version(&tags, "1.0.0"), None);
        assert_eq!(resolve_version(&tags, "main"), None);
    }
}
