//! Child pipelines, wired: `trigger:include` files loaded with the include machinery (and a
//! job's artifact for a dynamic child), resolved, built and planned as a pipeline of their own
//! (`CI_PIPELINE_SOURCE=parent_pipeline`, the trigger job's variables forwarded as GitLab
//! forwards them), then handed to the scheduler (`scheduler::child`) to run on the same
//! executor. Static children are also checked when the pipeline is loaded, so `validate`
//! reports their errors.

use std::path::{Component, Path};
use std::sync::Arc;

use crate::checkout::{Checkout, PipelineOrigin};
use crate::error::{ConfigError, ConfigErrors};
use crate::pipeline::load::ChildFile;
use crate::pipeline::model::{ChildInclude, Trigger};
use crate::pipeline::{IncludeContext, Pipeline};
use crate::plan::select::{Selection, select};
use crate::plan::{JobGraph, Plan, PlanInput, PlatformMap};
use crate::rules::LazyFiles;
use crate::scheduler::Prepare;
use crate::scheduler::child::{
    ChildRequest, ChildRun, Downstream, MAX_DEPTH, SEPARATOR, WithChildren, prefix_names,
    yaml_variables,
};
use crate::scheduler::result_keys::{
    CachingPrepare, FileDigests, KeyContext, ProjectConfig, Rerun,
};
use crate::scheduler::spec::{SpecFactory, SpecSettings};
use crate::store::result_cache::ResultCache;
use crate::store::runs::RunDir;
use crate::user_vars::UserVar;

/// `CI_PIPELINE_SOURCE` of a child pipeline.
pub const CHILD_SOURCE: &str = "parent_pipeline";

/// Checks the static child pipelines of `pipeline` (those that include no artifact), and
/// theirs, to GitLab's depth: their errors name the child's file, line, job and key.
pub fn check_static(
    project_dir: &Path,
    pipeline: &Pipeline,
    context: &dyn IncludeContext,
    depth: u32,
) -> Result<(), ConfigErrors> {
    let mut errors = ConfigErrors::default();
    for job in &pipeline.jobs {
        let Some(trigger) = &job.downstream else {
            continue;
        };
        let Some(entries) = trigger.child() else {
            continue;
        };
        if depth + 1 > MAX_DEPTH {
            errors.0.push(too_deep(&job.name, trigger, depth + 1));
            continue;
        }
        if trigger.is_dynamic() {
            continue;
        }
        let files: Vec<ChildFile> = entries
            .iter()
            .filter_map(|e| match e {
                ChildInclude::Include(n) => Some(ChildFile::Include(n)),
                ChildInclude::Artifact { .. } => None,
            })
            .collect();
        match crate::pipeline::load_child_pipeline(project_dir, &files, context) {
            Ok(child) => {
                if let Err(e) = check_static(project_dir, &child, context, depth + 1) {
                    errors.0.extend(of_child(e, &job.name).0);
                }
            }
            Err(e) => errors.0.extend(of_child(e, &job.name).0),
        }
    }
    errors.into_result()
}

fn too_deep(job: &str, trigger: &Trigger, depth: u32) -> ConfigError {
    ConfigError::new(
        Some(&trigger.span),
        format!(
            "child pipelines nest at most {MAX_DEPTH} levels deep (GitLab's limit); this trigger \
             would start one at level {depth}"
        ),
    )
    .job(job)
    .key("trigger")
}

/// Says which trigger job the child's errors come from.
fn of_child(mut errors: ConfigErrors, trigger: &str) -> ConfigErrors {
    for e in &mut errors.0 {
        e.message = format!("{} (child pipeline of `{trigger}`)", e.message);
    }
    errors
}

/// What a child pipeline is loaded and planned with: the parent's checkout, refs and variables.
#[derive(Clone)]
pub struct ChildPlanner {
    pub checkout: Checkout,
    /// The parent's origin: its refs; the child's source is `parent_pipeline`.
    pub origin: PipelineOrigin,
    pub fetch: crate::pipeline::fetch::FetchConfig,
    pub platform_map: PlatformMap,
    pub project_dir_in_job: String,
    /// The variables file (project settings): every pipeline of the project sees them.
    pub project_vars: Vec<UserVar>,
    /// `--variable`s (pipeline variables): forwarded with `forward:pipeline_variables: true`.
    pub pipeline_vars: Vec<UserVar>,
}

/// A child pipeline loaded and planned, its jobs not yet renamed.
pub struct PlannedChild {
    pub pipeline: Pipeline,
    pub plan: Plan,
    /// Built when the child is created (`not_created` is `None`).
    pub graph: Option<JobGraph>,
    /// The child's variables: the project's, then what the trigger job forwards.
    pub user: Vec<UserVar>,
    pub origin: PipelineOrigin,
    /// Why GitLab would create no child pipeline (its `workflow:rules`, or no job in it).
    pub not_created: Option<String>,
}

impl ChildPlanner {
    pub fn new(
        common: &crate::cli::CommonArgs,
        checkout: &Checkout,
        origin: &PipelineOrigin,
        pipeline_vars: &[UserVar],
    ) -> Result<ChildPlanner, crate::error::Error> {
        let mut platform_map = PlatformMap::default();
        for entry in &common.platform_map {
            platform_map.entries.push(
                PlatformMap::parse_entry(entry)
                    .map_err(|m| crate::error::Error::Usage(format!("--platform-map {m}")))?,
            );
        }
        let project_vars = crate::user_vars::load(
            &checkout.project_dir,
            common.variables_file.as_deref(),
            &[],
            &crate::user_vars::ProjectId::of(checkout),
        )?;
        Ok(ChildPlanner {
            checkout: checkout.clone(),
            origin: origin.clone(),
            fetch: super::fetch_config(common, checkout)?,
            platform_map,
            project_dir_in_job: super::project_dir_in_job(checkout),
            project_vars,
            pipeline_vars: pipeline_vars.to_vec(),
        })
    }

    /// Loads `files` and plans them as the child of a trigger job that forwards `variables`
    /// (and the pipeline variables when `forward_pipeline`). Errors are the child's own.
    pub fn plan(
        &self,
        files: &[ChildFile],
        variables: &[(String, String)],
        forward_pipeline: bool,
    ) -> Result<PlannedChild, ConfigErrors> {
        let mut user: Vec<UserVar> = self.project_vars.clone();
        for (k, v) in variables {
            user.retain(|u| u.name != *k);
            user.push(UserVar {
                name: k.clone(),
                value: v.clone(),
                masked: false,
                file: false,
            });
        }
        if forward_pipeline {
            for u in &self.pipeline_vars {
                user.retain(|x| x.name != u.name);
                user.push(u.clone());
            }
        }
        let pairs: Vec<(String, String)> = user
            .iter()
            .map(|u| (u.name.clone(), u.value.clone()))
            .collect();
        let origin = PipelineOrigin {
            source: crate::pipeline::model::PipelineSource::ParentPipeline,
            ..self.origin.clone()
        };
        let checkout = &self.checkout;
        let changes = checkout.changes(&origin);
        let project_files = LazyFiles::new(|| checkout.project_files());
        let fetcher = crate::pipeline::fetch::Fetcher::new(self.fetch.clone());
        let mut vars = super::include_variables(
            &checkout.predefined(&origin, &self.project_dir_in_job),
            &pairs,
        );
        if vars.get("CI_SERVER_FQDN").is_none() {
            vars.set("CI_SERVER_FQDN", &fetcher.config.server_fqdn(), true);
        }
        let context = super::IncludeEval {
            vars,
            changes: &changes,
            files: &project_files,
            fetcher: &fetcher,
            root_inputs: Vec::new(),
        };
        let pipeline =
            crate::pipeline::load_child_pipeline(&checkout.project_dir, files, &context)?;
        let plan = crate::plan::plan(&PlanInput {
            pipeline: &pipeline,
            checkout,
            origin: &origin,
            changes: &changes,
            files: &project_files,
            user_vars: &pairs,
            project_dir_in_job: &self.project_dir_in_job,
            platform_map: &self.platform_map,
        })?;
        let not_created = if let Some(why) = &plan.workflow_excluded {
            Some(format!(
                "its child pipeline is not created: {why} (CI_PIPELINE_SOURCE is `{CHILD_SOURCE}`)"
            ))
        } else if plan.jobs.is_empty() {
            Some(
                "its child pipeline is not created: no job of it runs for this pipeline (GitLab: \
                 no jobs/stages)"
                    .to_string(),
            )
        } else {
            None
        };
        let graph = match not_created {
            None => Some(JobGraph::build(&plan)?),
            Some(_) => None,
        };
        Ok(PlannedChild {
            pipeline,
            plan,
            graph,
            user,
            origin,
            not_created,
        })
    }
}

/// The names of the variables a trigger job inherits from its pipeline: the global
/// `variables:` and those of the matching `workflow:rules` entry.
///
/// GitLab gives every job of a pipeline the `workflow:rules:variables` of the matching rule as
/// root variables, merged under the job's own as its YAML variables (subject to
/// `inherit:variables`: `Gitlab::Ci::Variables::Helpers.inherit_yaml_variables`, called by
/// `Gitlab::Ci::Pipeline::Seed::Build`); a trigger job's downstream variables are its YAML
/// variables, which `trigger:forward:yaml_variables` (true by default) passes on
/// (docs.gitlab.com/ci/pipelines/downstream_pipelines/#pass-yaml-defined-cicd-variables and
/// docs.gitlab.com/ci/yaml/#triggerforward). So the workflow's variables reach the child.
pub fn global_names(pipeline: &Pipeline, plan: &Plan) -> Vec<String> {
    let mut names: Vec<String> = pipeline.variables.iter().map(|v| v.name.clone()).collect();
    let workflow = plan
        .workflow
        .as_ref()
        .and_then(|e| e.matched)
        .and_then(|i| pipeline.workflow.rules.as_ref()?.get(i));
    for v in workflow.into_iter().flat_map(|r| &r.variables) {
        if !names.contains(&v.name) {
            names.push(v.name.clone());
        }
    }
    names
}

/// A static child pipeline, planned as the run plans it; its jobs named `TRIGGER » JOB`.
pub struct StaticChild {
    pub trigger: String,
    pub pipeline: Pipeline,
    pub plan: Plan,
    pub user: Vec<UserVar>,
    pub origin: PipelineOrigin,
    /// Why GitLab would not create it.
    pub not_created: Option<String>,
}

/// A child pipeline as `list` and `explain` show it.
pub enum ChildListing {
    /// A child whose files are known before the run.
    Static(Box<StaticChild>),
    /// A child read from jobs' artifacts: known only at run time.
    Dynamic {
        trigger: String,
        generated_by: Vec<String>,
    },
}

impl ChildListing {
    pub fn trigger(&self) -> &str {
        match self {
            ChildListing::Static(c) => &c.trigger,
            ChildListing::Dynamic { trigger, .. } => trigger,
        }
    }
}

/// Plans the static children of the planned trigger jobs of `plan` (and theirs, to GitLab's
/// depth) as the run would, so `validate` reports their planning errors and `list` and
/// `explain` show their jobs. Dynamic children are listed by the jobs that generate them.
pub fn plan_static(
    planner: &ChildPlanner,
    pipeline: &Pipeline,
    plan: &Plan,
    depth: u32,
) -> Result<Vec<ChildListing>, ConfigErrors> {
    let globals = global_names(pipeline, plan);
    let mut out = Vec::new();
    let mut errors = ConfigErrors::default();
    for pj in &plan.jobs {
        let Some(trigger) = pj.job.downstream.as_ref() else {
            continue;
        };
        let Some(entries) = trigger.child() else {
            continue;
        };
        if depth + 1 > MAX_DEPTH {
            // `check_static` has said so.
            continue;
        }
        let name = &pj.job.name;
        let prefix = name
            .rfind(SEPARATOR)
            .map(|i| &name[..i + SEPARATOR.len()])
            .unwrap_or("");
        if trigger.is_dynamic() {
            let generated_by = entries
                .iter()
                .filter_map(|e| match e {
                    ChildInclude::Artifact { job, .. } => Some(format!("{prefix}{job}")),
                    ChildInclude::Include(_) => None,
                })
                .collect();
            out.push(ChildListing::Dynamic {
                trigger: name.clone(),
                generated_by,
            });
            continue;
        }
        let files: Vec<ChildFile> = entries
            .iter()
            .filter_map(|e| match e {
                ChildInclude::Include(n) => Some(ChildFile::Include(n)),
                ChildInclude::Artifact { .. } => None,
            })
            .collect();
        let variables = if trigger.forward_yaml_variables {
            yaml_variables(pj, &globals)
        } else {
            Vec::new()
        };
        let child = match planner.plan(&files, &variables, trigger.forward_pipeline_variables) {
            Ok(c) => c,
            Err(e) => {
                errors.0.extend(of_child(e, name).0);
                continue;
            }
        };
        let PlannedChild {
            mut pipeline,
            mut plan,
            user,
            origin,
            not_created,
            ..
        } = child;
        let nested = if not_created.is_none() {
            prefix_names(&mut plan, name);
            for j in &mut pipeline.jobs {
                j.name = format!("{name}{SEPARATOR}{}", j.name);
            }
            for e in &mut plan.excluded {
                e.name = format!("{name}{SEPARATOR}{}", e.name);
            }
            match plan_static(planner, &pipeline, &plan, depth + 1) {
                Ok(n) => n,
                Err(e) => {
                    errors.0.extend(e.0);
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        out.push(ChildListing::Static(Box::new(StaticChild {
            trigger: name.clone(),
            pipeline,
            plan,
            user,
            origin,
            not_created,
        })));
        out.extend(nested);
    }
    errors.into_result()?;
    Ok(out)
}

/// Child job names asked for, by trigger job: the child's own names.
pub type ChildSelections = std::collections::HashMap<String, Vec<String>>;

/// Splits the job names asked for into the parent's and the children's: `TRIGGER » JOB` (a job
/// of a static child, as `list` names it) selects `JOB` in the child of `TRIGGER` and `TRIGGER`
/// in its pipeline, to any depth. A name under a dynamic child, or a child GitLab would not
/// create, is an error that says what to run instead.
pub fn split_names(
    children: &[ChildListing],
    names: &[String],
) -> Result<(Vec<String>, ChildSelections), crate::error::Error> {
    let mut parent = Vec::new();
    let mut selections = ChildSelections::new();
    for asked in names {
        let mut name = asked.clone();
        loop {
            let under = children
                .iter()
                .filter(|c| name.starts_with(&format!("{}{SEPARATOR}", c.trigger())))
                .max_by_key(|c| c.trigger().len());
            let Some(child) = under else {
                parent.push(name);
                break;
            };
            let trigger = child.trigger().to_string();
            let rest = name[trigger.len() + SEPARATOR.len()..].to_string();
            match child {
                ChildListing::Dynamic { generated_by, .. } => {
                    return Err(crate::error::Error::Usage(format!(
                        "cannot run `{asked}` alone: the child pipeline of `{trigger}` is \
                         generated at run time by {}; run `{trigger}` (with --needs) to run \
                         its whole child",
                        generated_by.join(", ")
                    )));
                }
                ChildListing::Static(c) => {
                    if let Some(why) = &c.not_created {
                        return Err(crate::error::Error::Usage(format!(
                            "cannot run `{asked}`: `{trigger}`: {why}"
                        )));
                    }
                    let glob = rest.contains(['*', '?', '[', '{']);
                    let known = c
                        .plan
                        .jobs
                        .iter()
                        .any(|j| j.job.name == name || j.job.base_name == rest);
                    if !glob && !known {
                        return Err(crate::error::Error::Usage(format!(
                            "no job `{rest}` in the child pipeline of `{trigger}`; \
                             `tezos-ci-local list` shows them"
                        )));
                    }
                }
            }
            let entry = selections.entry(trigger.clone()).or_default();
            if !entry.contains(&rest) {
                entry.push(rest);
            }
            name = trigger;
        }
    }
    Ok((parent, selections))
}

/// What every child pipeline of a run is loaded, planned and prepared with.
pub struct ChildPipelines {
    pub planner: ChildPlanner,
    /// The job result cache, `None` with `--no-cache`.
    pub caching: Option<ChildCaching>,
    /// The child jobs asked for by name (`run 'TRIGGER » JOB'`), by trigger job: those run,
    /// with what they need in their child; a trigger job not here runs its whole child.
    pub selections: ChildSelections,
    /// The run's spec settings (`user_vars` replaced per child).
    pub settings: SpecSettings,
    pub run_dir: RunDir,
}

impl ChildPipelines {
    /// For a run of `loaded`, whose jobs' specs are made with `settings`.
    pub fn for_run(
        common: &crate::cli::CommonArgs,
        loaded: &super::Loaded,
        settings: SpecSettings,
        run_dir: RunDir,
        selections: ChildSelections,
        caching: Option<ChildCaching>,
    ) -> Result<SharedChildPipelines, crate::error::Error> {
        Ok(SharedChildPipelines(Arc::new(ChildPipelines {
            planner: ChildPlanner::new(
                common,
                &loaded.checkout,
                &loaded.origin,
                &loaded.user_vars,
            )?,
            selections,
            caching,
            settings,
            run_dir,
        })))
    }
}

/// What a child's jobs are looked up in the job result cache with: the run's cache, keys
/// computed as the parent's are (by content, under the jobs' own `TRIGGER » JOB` names).
pub struct ChildCaching {
    pub cache_root: std::path::PathBuf,
    pub limit: u64,
    /// `--rerun` patterns.
    pub rerun: Vec<String>,
    /// The image IDs the run asked the engine for (static children's images included); a
    /// child job whose image is not among them is not cacheable (it runs, and says why).
    pub image_ids: Option<std::collections::HashMap<String, String>>,
    pub config: ProjectConfig,
    pub files: Arc<FileDigests>,
}

/// Shared by the run and each child's preparation (for their own children).
#[derive(Clone)]
pub struct SharedChildPipelines(pub Arc<ChildPipelines>);

impl Downstream for SharedChildPipelines {
    fn child(&self, request: &ChildRequest) -> Result<ChildRun, String> {
        let me = &self.0;
        let trigger = &request.trigger.job.name;
        let entries = request.spec.child().unwrap_or(&[]);
        // `artifact:` includes read a file of a job this one receives artifacts from; names in
        // a child are prefixed like the trigger job's own.
        let prefix = trigger
            .rfind(SEPARATOR)
            .map(|i| &trigger[..i + SEPARATOR.len()])
            .unwrap_or("");
        let mut texts = Vec::new();
        for e in entries {
            if let ChildInclude::Artifact { file, job, span } = e {
                texts.push((artifact_text(request, prefix, file, job)?, span.clone()));
            }
        }
        let mut artifact_texts = texts.iter();
        let files: Vec<ChildFile> = entries
            .iter()
            .map(|e| match e {
                ChildInclude::Include(n) => ChildFile::Include(n),
                ChildInclude::Artifact { .. } => {
                    let ((display, text), span) = artifact_texts.next().expect("one per artifact");
                    ChildFile::Text {
                        display: display.clone(),
                        text: text.clone(),
                        span: span.clone(),
                    }
                }
            })
            .collect();
        let child = me
            .planner
            .plan(
                &files,
                &request.variables,
                request.spec.forward_pipeline_variables,
            )
            .map_err(|e| of_child(e, trigger).to_string())?;
        if let Some(why) = child.not_created {
            return Err(why.replace("is not created", "was not created"));
        }
        let PlannedChild {
            pipeline,
            mut plan,
            graph,
            user,
            ..
        } = child;
        let graph = graph.expect("built when the child is created");
        // A child has no past run to take artifacts from: a job asked for runs with what it
        // needs in its child.
        let patterns = me.selections.get(trigger).cloned().unwrap_or_default();
        let picks = select(
            &plan,
            &graph,
            &Selection {
                with_needs: !patterns.is_empty(),
                patterns,
                stages: Vec::new(),
                manual: false,
            },
        )
        .map_err(|e| e.to_string())?;
        let globals = global_names(&pipeline, &plan);
        prefix_names(&mut plan, trigger);
        let plan = Arc::new(plan);
        let masked = user
            .iter()
            .filter(|u| u.masked)
            .map(|u| u.name.clone())
            .collect();
        let mut settings = me.settings.share();
        settings.user_vars = user;
        let factory = SpecFactory {
            plan: plan.clone(),
            run_dir: RunDir {
                id: me.run_dir.id.clone(),
                path: me.run_dir.path.clone(),
            },
            settings,
        };
        let inner: Box<dyn Prepare> = match &me.caching {
            Some(c) => Box::new(CachingPrepare::new(
                factory,
                Some(ResultCache::at(c.cache_root.clone(), c.limit)),
                Rerun::new(c.rerun.clone()),
                KeyContext {
                    image_ids: c.image_ids.clone(),
                    config: c.config.clone(),
                    files: c.files.clone(),
                    masked,
                },
            )),
            None => Box::new(factory),
        };
        let prepare = WithChildren::new(
            inner,
            plan.clone(),
            Arc::new(self.clone()),
            request.depth,
            globals,
        );
        Ok(ChildRun {
            plan: (*plan).clone(),
            graph,
            picks,
            prepare: Arc::new(std::sync::Mutex::new(prepare)),
        })
    }
}

/// The text of `file` in the artifacts of `job` (which the trigger job must receive), named
/// for errors.
fn artifact_text(
    request: &ChildRequest,
    prefix: &str,
    file: &str,
    job: &str,
) -> Result<(String, String), String> {
    let name = format!("{prefix}{job}");
    let path = Path::new(file);
    if path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!(
            "`trigger:include:artifact` `{file}` leads outside the artifacts of `{job}`"
        ));
    }
    let Some(from) = request.inputs.iter().find(|f| f.job == name) else {
        return Err(format!(
            "`trigger:include` reads `{file}` from the artifacts of `{job}`, which this job does \
             not receive: add `{job}` to its `needs:`"
        ));
    };
    let Some(dir) = &from.artifacts else {
        return Err(format!(
            "`trigger:include` reads `{file}` from the artifacts of `{job}`, which left none"
        ));
    };
    let text = crate::pipeline::fetch::read_bounded(&dir.join(path)).map_err(|e| {
        format!("`trigger:include` reads `{file}` from the artifacts of `{job}`: {e}")
    })?;
    Ok((format!("{file} (artifact of {job})"), text))
}
