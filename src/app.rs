//! Wires the stages together for each command: load the pipeline, plan it, then list, explain,
//! graph or run it. The one place where anyhow appears.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::checkout::{Checkout, GitChanges, PipelineOrigin};
use crate::cli::{Cli, Command};
use crate::error::{ConfigError, Error};
use crate::pipeline::model::Rule;
use crate::pipeline::{IncludeContext, Pipeline, Source};
use crate::plan::variables::VarSet;
use crate::plan::{Plan, PlanInput, PlatformMap};
use crate::rules::{ChangedFiles, Facts, LazyFiles, ProjectFiles, evaluate};
use crate::user_vars::{self, UserVar};

/// Pipelines shipped in the binary (`--pipeline NAME`), from `pipelines/`.
pub const EMBEDDED_PIPELINES: &[(&str, &str)] =
    &[("octez", include_str!("../pipelines/octez.yml"))];

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
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => crate::commands::run::run(&cli.common, &cli.run, &[]),
        Some(Command::Run(r)) => {
            crate::commands::run::run(&cli.common, &merge_run_args(&cli.run, &r.run), &r.names)
        }
        Some(Command::List(args)) => {
            let loaded = load(&cli.common)?;
            crate::commands::list::print(&loaded, &args)
        }
        Some(Command::Validate) => {
            let loaded = load(&cli.common)?;
            println!(
                "{}: valid ({} jobs, {} in this {} pipeline)",
                loaded
                    .pipeline
                    .files
                    .first()
                    .map(String::as_str)
                    .unwrap_or(".gitlab-ci.yml"),
                loaded.pipeline.jobs.len(),
                loaded.plan.jobs.len(),
                loaded.origin.source
            );
            Ok(())
        }
        Some(Command::Explain(args)) => {
            let loaded = load(&cli.common)?;
            crate::commands::explain::print(&loaded, &cli.common, &args)
        }
        Some(Command::Graph(args)) => {
            let loaded = load(&cli.common)?;
            crate::commands::graph::print(&loaded, args.format)
        }
        Some(Command::Logs(args)) => crate::commands::runs::logs(&cli.common, &args),
        Some(Command::Runs) => crate::commands::runs::list(&cli.common),
        Some(Command::Report(args)) => crate::commands::report::run(&cli.common, &args),
        Some(Command::Clean(args)) => crate::commands::runs::clean(&cli.common, &args),
        Some(Command::Hook(args)) => crate::commands::hook::run(&cli.common, &args),
        Some(Command::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "tezos-ci-local", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// Run flags may be given before or after `run`; either place counts.
fn merge_run_args(top: &crate::cli::RunArgs, sub: &crate::cli::RunArgs) -> crate::cli::RunArgs {
    let mut r = sub.clone();
    r.jobs = r.jobs.or(top.jobs);
    r.verbose |= top.verbose;
    r.json |= top.json;
    r.junit = r.junit.or(top.junit.clone());
    r.html = r.html.or(top.html.clone());
    r.open |= top.open;
    r.stage.extend(top.stage.iter().cloned());
    r.needs |= top.needs;
    r.manual |= top.manual;
    r.dry_run |= top.dry_run;
    r.no_delay |= top.no_delay;
    r.timeout = r.timeout.or(top.timeout.clone());
    r.default_image = r.default_image.or(top.default_image.clone());
    r.pull = r.pull.or(top.pull);
    r.privileged |= top.privileged;
    r.docker_socket |= top.docker_socket;
    r.artifacts_dir = r.artifacts_dir.or(top.artifacts_dir.clone());
    r.clone = r.clone.or(top.clone.clone());
    r.clone_ref = r.clone_ref.or(top.clone_ref.clone());
    r.no_cache |= top.no_cache;
    r.rerun.extend(top.rerun.iter().cloned());
    r.cache_size = r.cache_size.or(top.cache_size.clone());
    r
}

pub fn origin(common: &crate::cli::CommonArgs) -> PipelineOrigin {
    PipelineOrigin {
        source: common.source.clone(),
        branch: common.branch.clone(),
        tag: common.tag.clone(),
        target_branch: common.target_branch.clone(),
        changes_base: common.changes_base.clone(),
        commit: common.commit.clone(),
    }
}

pub fn source(common: &crate::cli::CommonArgs) -> Result<Source, Error> {
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
pub fn load(common: &crate::cli::CommonArgs) -> anyhow::Result<Loaded> {
    load_in(&common.directory, common)
}

pub fn load_in(dir: &Path, common: &crate::cli::CommonArgs) -> anyhow::Result<Loaded> {
    let origin = origin(common);
    let checkout = Checkout::discover(dir, &origin)?;
    let user_vars = user_vars::load(
        &checkout.project_dir,
        common.variables_file.as_deref(),
        &common.variables,
    )?;
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
    let include_rules = IncludeEval {
        vars: include_variables(&checkout.predefined(&origin, &in_job), &user_pairs),
        changes: &changes,
        files: &files,
    };
    let pipeline = crate::pipeline::load_pipeline(&checkout.project_dir, &source, &include_rules)
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
    Ok(Loaded {
        checkout,
        origin,
        pipeline,
        plan,
        user_vars,
        changes,
    })
}

struct IncludeEval<'a> {
    vars: VarSet,
    changes: &'a dyn ChangedFiles,
    files: &'a dyn ProjectFiles,
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
    fn expand(&self, text: &str) -> String {
        crate::plan::variables::expand_keeping_unknown(text, &|n| {
            self.vars.get(n).map(String::from)
        })
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
