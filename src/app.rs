//! Wires the stages together: the checkout, the pipeline loaded and resolved, its plan, as every
//! command needs them (`Loaded`). `commands` acts on what this returns; nothing here knows the
//! commands.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::checkout::{Checkout, GitChanges, PipelineOrigin};
use crate::cli::CommonArgs;
use crate::error::{ConfigError, Error};
use crate::pipeline::model::Rule;
use crate::pipeline::{IncludeContext, Pipeline, Source};
use crate::plan::variables::VarSet;
use crate::plan::{Plan, PlanInput, PlatformMap};
use crate::rules::{ChangedFiles, Facts, LazyFiles, ProjectFiles, evaluate};
use crate::user_vars::{self, UserVar};

pub mod child;

/// Pipelines shipped in the binary (`--pipeline NAME`), from `pipelines/`.
pub const EMBEDDED_PIPELINES: &[(&str, &str)] = &[
    ("octez", include_str!("../pipelines/octez.yml")),
    ("ocaml", include_str!("../pipelines/ocaml.yml")),
];

/// Where the project is mounted in job containers, as GitLab's runner does (`/builds/<path>`).
pub fn project_dir_in_job(checkout: &Checkout) -> String {
    format!("/builds/{}/{}", checkout.namespace, checkout.name)
}

/// Everything loaded before a command acts: the checkout, the pipeline and its plan.
pub struct Loaded {
    pub checkout: Checkout,
    pub origin: PipelineOrigin,
    pub pipeline: Pipeline,
    pub plan: Plan,
    pub user_vars: Vec<UserVar>,
    pub changes: GitChanges,
    /// The static child pipelines of the planned trigger jobs, planned; dynamic ones named.
    pub children: Vec<child::ChildListing>,
}

impl Loaded {
    /// The masked values every output of a command replaces with `[MASKED]`.
    pub fn masker(&self) -> crate::mask::Masker {
        user_vars::masker(&self.user_vars)
    }
}

pub fn origin(common: &CommonArgs) -> PipelineOrigin {
    PipelineOrigin {
        source: common.source,
        branch: common.branch.clone(),
        tag: common.tag.clone(),
        target_branch: common.target_branch.clone(),
        changes_base: common.changes_base.clone(),
        commit: common.commit.clone(),
    }
}

pub fn source(common: &CommonArgs) -> Result<Source, Error> {
    if let Some(name) = &common.pipeline {
        return match EMBEDDED_PIPELINES.iter().find(|(n, _)| n == name) {
            Some((n, text)) => Ok(Source::Embedded {
                name: format!("pipelines/{n}.yml"),
                text: text.to_string(),
            }),
            None => Err(Error::Usage(format!(
                "no pipeline `{name}` ships with tezos-ci-local; there is: {}",
                EMBEDDED_PIPELINES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        };
    }
    Ok(Source::File(
        common
            .file
            .clone()
            .unwrap_or_else(|| PathBuf::from(".gitlab-ci.yml")),
    ))
}

/// Loads the checkout, the pipeline and its plan for `common`'s directory, source and variables.
pub fn load(common: &CommonArgs) -> anyhow::Result<Loaded> {
    load_in(&common.directory, common)
}

pub fn load_in(dir: &Path, common: &CommonArgs) -> anyhow::Result<Loaded> {
    let origin = origin(common);
    let checkout = Checkout::discover(dir, &origin)?;
    let user_vars = user_vars::load(
        &checkout.project_dir,
        common.variables_file.as_deref(),
        &common.variables,
        &user_vars::ProjectId::of(&checkout),
    )?;
    // From here on, an error message may quote a masked value: `main` masks what it prints.
    let masker = user_vars::masker(&user_vars);
    crate::mask::register(&masker);
    let user_pairs: Vec<(String, String)> = user_vars
        .iter()
        .map(|u| (u.name.clone(), u.value.clone()))
        .collect();
    let changes = checkout.changes(&origin);
    let files = LazyFiles::new(|| checkout.project_files());
    let in_job = project_dir_in_job(&checkout);
    let source = source(common)?;
    if let Source::File(f) = &source {
        let full = checkout.project_dir.join(f);
        if !full.exists() {
            return Err(Error::Usage(format!(
                "no pipeline file {} (use --file PATH, or --pipeline NAME for a shipped one such as `octez`)",
                full.display()
            ))
            .into());
        }
    }
    let fetcher = crate::pipeline::fetch::Fetcher::new(fetch_config(common, &checkout)?);
    let mut include_vars = include_variables(&checkout.predefined(&origin, &in_job), &user_pairs);
    if include_vars.get("CI_SERVER_FQDN").is_none() {
        include_vars.set("CI_SERVER_FQDN", &fetcher.config.server_fqdn(), true);
    }
    let root_inputs = common
        .inputs
        .iter()
        .map(|i| {
            i.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| Error::Usage(format!("--input {i}: write NAME=VALUE")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let include_rules = IncludeEval {
        vars: include_vars,
        changes: &changes,
        files: &files,
        fetcher: &fetcher,
        root_inputs,
    };
    let loaded_pipeline =
        crate::pipeline::load_pipeline(&checkout.project_dir, &source, &include_rules);
    for warning in fetcher.take_warnings() {
        eprintln!("warning: {}", masker.mask(&warning));
    }
    let pipeline = loaded_pipeline.map_err(Error::from)?;
    child::check_static(&checkout.project_dir, &pipeline, &include_rules, 0)
        .map_err(Error::from)?;
    let mut platform_map = PlatformMap::default();
    for entry in &common.platform_map {
        platform_map.entries.push(
            PlatformMap::parse_entry(entry)
                .map_err(|m| Error::Usage(format!("--platform-map {m}")))?,
        );
    }
    let plan = crate::plan::plan(&PlanInput {
        pipeline: &pipeline,
        checkout: &checkout,
        origin: &origin,
        changes: &changes,
        files: &files,
        user_vars: &user_pairs,
        project_dir_in_job: &in_job,
        platform_map: &platform_map,
    })
    .map_err(Error::from)
    .with_context(|| format!("planning the {} pipeline", origin.source))?;
    drop(include_rules);
    let planner = child::ChildPlanner::new(common, &checkout, &origin, &user_vars)?;
    let children = child::plan_static(&planner, &pipeline, &plan, 0).map_err(Error::from)?;
    Ok(Loaded {
        checkout,
        origin,
        pipeline,
        plan,
        user_vars,
        changes,
        children,
    })
}

struct IncludeEval<'a> {
    vars: VarSet,
    changes: &'a dyn ChangedFiles,
    files: &'a dyn ProjectFiles,
    fetcher: &'a crate::pipeline::fetch::Fetcher,
    root_inputs: Vec<(String, String)>,
}

/// Where includes from elsewhere come from: `--project-source`, `--templates-url`,
/// `--offline`, the token, and the CI server (the `origin` remote's, else gitlab.com).
pub fn fetch_config(
    common: &crate::cli::CommonArgs,
    checkout: &Checkout,
) -> Result<crate::pipeline::fetch::FetchConfig, Error> {
    let mut project_sources = Vec::new();
    for entry in &common.project_sources {
        let (project, source) = entry.split_once('=').ok_or_else(|| {
            Error::Usage(format!(
                "--project-source {entry}: write PROJECT=URL_OR_DIR"
            ))
        })?;
        // A relative directory is the user's, relative to where they typed it.
        let source = if !source.contains("://") && Path::new(source).is_relative() {
            std::env::current_dir()
                .map(|d| d.join(source).to_string_lossy().into_owned())
                .unwrap_or_else(|_| source.to_string())
        } else {
            source.to_string()
        };
        project_sources.push((project.to_string(), source));
    }
    let token = match &common.gitlab_token_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| Error::Usage(format!("--gitlab-token-file {}: {e}", f.display())))?
                .trim()
                .to_string(),
        ),
        None => std::env::var("CI_JOB_TOKEN").ok().filter(|t| !t.is_empty()),
    };
    if !(common.fetch_timeout > 0.0 && common.fetch_timeout < 86_400.0) {
        return Err(Error::Usage(
            "--fetch-timeout takes a number of seconds, more than 0".into(),
        ));
    }
    let server_url = std::env::var("CI_SERVER_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            crate::pipeline::fetch::FetchConfig::server_url_from_remote(
                checkout.remote_url.as_deref(),
            )
        });
    Ok(crate::pipeline::fetch::FetchConfig {
        cache_dir: crate::store::state_dir(common.state_dir.as_deref()).join("includes"),
        offline: common.offline,
        timeout: std::time::Duration::from_secs_f64(common.fetch_timeout),
        server_url,
        project_sources,
        templates_url: common.templates_url.clone(),
        token,
    })
}

/// Predefined then user variables: what includes see.
fn include_variables(predefined: &[(String, String)], user: &[(String, String)]) -> VarSet {
    let mut vars = VarSet::new();
    for (k, v) in predefined.iter().chain(user) {
        vars.set(k, v, true);
    }
    vars
}

impl IncludeContext for IncludeEval<'_> {
    fn fetcher(&self) -> Option<&crate::pipeline::fetch::Fetcher> {
        Some(self.fetcher)
    }

    fn root_inputs(&self) -> &[(String, String)] {
        &self.root_inputs
    }

    fn expand(&self, text: &str) -> String {
        crate::expand::expand_keeping_unknown(text, &|n| self.vars.get(n).map(String::from))
    }

    fn included(&self, rules: &[Rule]) -> Result<bool, ConfigError> {
        let vars = &self.vars;
        let lookup = |n: &str| vars.get(n).map(String::from);
        let facts = Facts {
            vars: &lookup,
            changes: self.changes,
            files: self.files,
        };
        let eval = evaluate(rules, &facts, "include:rules")?;
        Ok(eval
            .matched
            .is_some_and(|i| rules[i].when != Some(crate::pipeline::model::When::Never)))
    }
}
