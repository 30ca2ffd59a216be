//! From the pipeline model to a plan: which jobs this pipeline has for this source, ref, variables
//! and changes (workflow rules, job rules, only/except), each with its final `when`,
//! `allow_failure`, variables, platform and needs; then the job graph (`graph`).

pub mod graph;
pub mod platform;
pub mod select;
pub mod variables;

use std::time::Duration;

use serde::Serialize;

use crate::checkout::{Checkout, PipelineOrigin, slug};
use crate::error::{ConfigError, ConfigErrors};
use crate::pipeline::model::{
    AllowFailure, CachePolicy, Job, Need, Pipeline, PipelineSource, When,
};
use crate::rules::eval::Evaluation;
use crate::rules::{ChangedFiles, Facts, RefFacts, evaluate, evaluate_only_except};
pub use graph::JobGraph;
pub use platform::PlatformMap;
use variables::{VarSet, expand};

/// What the planner needs besides the pipeline.
pub struct PlanInput<'a> {
    pub pipeline: &'a Pipeline,
    pub checkout: &'a Checkout,
    pub origin: &'a PipelineOrigin,
    pub changes: &'a dyn ChangedFiles,
    /// The project's files, for `exists:`.
    pub files: &'a dyn crate::rules::ProjectFiles,
    /// Project-level variables (the variables file) then `--variable`s: the highest precedence.
    pub user_vars: &'a [(String, String)],
    pub project_dir_in_job: &'a str,
    pub platform_map: &'a PlatformMap,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedJob {
    #[serde(flatten)]
    pub job: Job,
    /// The job's `when` after rules.
    pub when: When,
    #[serde(with = "crate::pipeline::model::opt_duration")]
    pub start_in: Option<Duration>,
    pub allow_failure: AllowFailure,
    /// `None`: stage ordering; after rules (`rules:needs` replaces the job's).
    pub needs: Option<Vec<Need>>,
    /// `os/arch`.
    pub platform: String,
    /// The image name with variables expanded.
    pub image: Option<String>,
    /// Predefined, global, job, matrix and rule variables, lowest precedence first (dotenv and
    /// user variables go on top when the job runs).
    #[serde(skip)]
    pub variables: VarSet,
    /// Why the job is in the pipeline.
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Evaluation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExcludedJob {
    pub name: String,
    pub stage: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Evaluation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// `workflow:name`, expanded.
    pub name: Option<String>,
    pub stages: Vec<String>,
    pub jobs: Vec<PlannedJob>,
    pub excluded: Vec<ExcludedJob>,
    /// Why there is no pipeline at all, when `workflow:rules` say so.
    pub workflow_excluded: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<Evaluation>,
    #[serde(skip)]
    pub user_vars: Vec<(String, String)>,
}

impl Plan {
    pub fn job(&self, name: &str) -> Option<&PlannedJob> {
        self.jobs.iter().find(|j| j.job.name == name)
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.jobs.iter().position(|j| j.job.name == name)
    }
}

pub fn plan(input: &PlanInput) -> Result<Plan, ConfigErrors> {
    let p = input.pipeline;
    let predefined = input
        .checkout
        .predefined(input.origin, input.project_dir_in_job);
    let refs = RefFacts {
        source: input.origin.source,
        ref_name: input.checkout.ref_name(),
        is_tag: input.checkout.tag.is_some(),
        is_merge_request: input.origin.source == PipelineSource::MergeRequestEvent,
        project_path: project_path(input),
    };

    // Workflow rules see predefined, global and user variables.
    let mut base = VarSet::new();
    for (k, v) in &predefined {
        base.set(k, v, true);
    }
    let mut pipeline_level = base.clone();
    for v in &p.variables {
        pipeline_level.set(&v.name, &v.value, v.expand);
    }
    let mut workflow_vars = Vec::new();
    let mut workflow_eval = None;
    let mut workflow_excluded = None;
    if let Some(rules) = &p.workflow.rules {
        let vars = with_user(&pipeline_level, input.user_vars);
        let lookup = |n: &str| vars.get(n).map(String::from);
        let facts = Facts {
            vars: &lookup,
            changes: input.changes,
            files: input.files,
        };
        let eval = evaluate(rules, &facts, "workflow:rules")?;
        match eval.matched.map(|i| &rules[i]) {
            None => {
                workflow_excluded = Some(
                    "no `workflow:rules` entry matches, so GitLab would create no pipeline"
                        .to_string(),
                )
            }
            Some(rule) if rule.when == Some(When::Never) => {
                workflow_excluded = Some(format!(
                    "`workflow:rules` entry {} says `when: never`",
                    eval.matched.unwrap_or(0) + 1
                ))
            }
            Some(rule) => workflow_vars = rule.variables.clone(),
        }
        workflow_eval = Some(eval);
    }

    let mut plan = Plan {
        name: None,
        stages: p.stages.clone(),
        jobs: Vec::new(),
        excluded: Vec::new(),
        workflow_excluded,
        workflow: workflow_eval,
        user_vars: input.user_vars.to_vec(),
    };
    if let Some(name) = &p.workflow.name {
        let mut vars = pipeline_level.clone();
        for v in &workflow_vars {
            vars.set(&v.name, &v.value, v.expand);
        }
        let vars = with_user(&vars, input.user_vars);
        // "Any leading or trailing spaces in the name are removed", and an empty name is no name
        // (docs.gitlab.com/ci/yaml/#workflowname); jobs see it as CI_PIPELINE_NAME.
        let expanded = expand(name, &|n| vars.get(n).map(String::from));
        let trimmed = expanded.trim();
        if !trimmed.is_empty() {
            base.set("CI_PIPELINE_NAME", trimmed, false);
            plan.name = Some(trimmed.to_string());
        }
    }
    graph::check_needs_defined(p)?;
    if plan.workflow_excluded.is_some() {
        return Ok(plan);
    }

    let mut errors = ConfigErrors::default();
    for job in &p.jobs {
        match plan_job(input, job, &base, &workflow_vars, &refs) {
            Ok(Ok(planned)) => plan.jobs.push(planned),
            Ok(Err(excluded)) => plan.excluded.push(excluded),
            Err(e) => errors.push(if e.job.is_none() { e.job(&job.name) } else { e }),
        }
    }
    errors.into_result()?;
    // "If a pipeline contains only jobs in the .pre or .post stages, it does not run"
    // (docs.gitlab.com/ci/yaml/#stage-pre).
    if !plan.jobs.is_empty()
        && plan
            .jobs
            .iter()
            .all(|j| j.job.stage == ".pre" || j.job.stage == ".post")
    {
        let why =
            "it would hold only `.pre` and `.post` jobs, and GitLab does not run such a pipeline";
        for j in std::mem::take(&mut plan.jobs) {
            plan.excluded.push(ExcludedJob {
                name: j.job.name,
                stage: j.job.stage,
                reason: why.to_string(),
                rules: j.rules,
            });
        }
        plan.workflow_excluded = Some(why.to_string());
        return Ok(plan);
    }
    graph::check_needs(&plan)?;
    Ok(plan)
}

/// `namespace/project` as the pipeline sees it: the checkout's, unless the user set
/// `CI_PROJECT_PATH`, `CI_PROJECT_NAMESPACE` or `CI_PROJECT_NAME`.
fn project_path(input: &PlanInput) -> String {
    let user = |name: &str| {
        input
            .user_vars
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    user("CI_PROJECT_PATH").unwrap_or_else(|| {
        format!(
            "{}/{}",
            user("CI_PROJECT_NAMESPACE").unwrap_or_else(|| input.checkout.namespace.clone()),
            user("CI_PROJECT_NAME").unwrap_or_else(|| input.checkout.name.clone())
        )
    })
}

fn with_user(vars: &VarSet, user: &[(String, String)]) -> VarSet {
    let mut v = vars.clone();
    for (k, val) in user {
        v.set(k, val, true);
    }
    v
}

/// A `cache:policy` written with variables, expanded as the runner does. Empty is the default
/// (`pull-push`), as an unset policy is for GitLab's runner. The expanded value is not shown: it
/// may come from a masked variable.
fn cache_policy(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<CachePolicy, String> {
    let value = expand(text, lookup);
    let value = value.trim();
    if value.is_empty() {
        return Ok(CachePolicy::PullPush);
    }
    CachePolicy::parse(value).ok_or_else(|| {
        format!(
            "`{text}` expands to a value that is not a cache policy; expected one of: {}",
            CachePolicy::NAMES.join(", ")
        )
    })
}

fn plan_job(
    input: &PlanInput,
    job: &Job,
    base: &VarSet,
    workflow_vars: &[crate::pipeline::model::Variable],
    refs: &RefFacts,
) -> Result<Result<PlannedJob, ExcludedJob>, ConfigError> {
    let p = input.pipeline;
    let mut vars = base.clone();
    for v in &p.variables {
        if job.inherit_variables.includes(&v.name) {
            vars.set(&v.name, &v.value, v.expand);
        }
    }
    // `inherit:variables` covers `workflow:rules:variables` too (docs.gitlab.com/ci/yaml/#inheritvariables).
    for v in workflow_vars {
        if job.inherit_variables.includes(&v.name) {
            vars.set(&v.name, &v.value, v.expand);
        }
    }
    vars.set("CI_JOB_NAME", &job.name, false);
    vars.set("CI_JOB_NAME_SLUG", &slug(&job.name), false);
    vars.set("CI_JOB_STAGE", &job.stage, false);
    vars.set("CI_JOB_ID", "1", false);
    vars.set("CI_JOB_URL", "https://gitlab.com/-/jobs/1", false);
    vars.set(
        "CI_JOB_MANUAL",
        if job.when == When::Manual { "true" } else { "" },
        false,
    );
    if let Some(par) = &job.parallel {
        vars.set("CI_NODE_INDEX", &par.index.to_string(), false);
        vars.set("CI_NODE_TOTAL", &par.total.to_string(), false);
    } else {
        vars.set("CI_NODE_TOTAL", "1", false);
    }
    // Predefined for a job with an environment, and readable in `rules:if`
    // (docs.gitlab.com/ci/variables/predefined_variables/); the action defaults to `start`.
    // GitLab expands the name and URL when it creates the job.
    if let Some(env) = &job.environment {
        let expanded = |v: &str| expand(v, &|n| vars.get(n).map(String::from));
        let mut set = vec![
            ("CI_ENVIRONMENT_NAME".to_string(), expanded(env)),
            ("CI_ENVIRONMENT_ACTION".to_string(), "start".to_string()),
        ];
        set.extend(
            job.environment_vars
                .iter()
                .map(|(k, v)| (k.clone(), expanded(v))),
        );
        for (k, v) in set {
            vars.set(&k, &v, false);
        }
    }
    for v in &job.variables {
        vars.set(&v.name, &v.value, v.expand);
    }
    if let Some(par) = &job.parallel {
        for (k, v) in &par.matrix {
            vars.set(k, v, true);
        }
    }

    let excluded = |reason: String, rules: Option<Evaluation>| ExcludedJob {
        name: job.name.clone(),
        stage: job.stage.clone(),
        reason,
        rules,
    };
    let mut when = job.when;
    let mut start_in = job.start_in;
    let mut allow_failure = job.allow_failure.clone();
    let mut needs = job.needs.clone();
    let mut rules_eval = None;
    let reason;
    if let Some(rules) = &job.rules {
        let all = with_user(&vars, input.user_vars);
        let lookup = |n: &str| all.get(n).map(String::from);
        let facts = Facts {
            vars: &lookup,
            changes: input.changes,
            files: input.files,
        };
        let eval = evaluate(rules, &facts, "rules")?;
        let Some(i) = eval.matched else {
            return Ok(Err(excluded("no rule matches".into(), Some(eval))));
        };
        let rule = &rules[i];
        when = rule.when.unwrap_or(job.when);
        if when == When::Never {
            return Ok(Err(excluded(
                format!("rule {} says `when: never`", i + 1),
                Some(eval),
            )));
        }
        start_in = rule.start_in.or(start_in);
        // The rule's `allow_failure` wins; else the job's own. GitLab's default for that is
        // "is the job's own `when` manual" (Entry::Job#ignored?), so a job written `when: manual`
        // is allowed to fail, while `when: manual` coming from rules is not
        // (docs.gitlab.com/ci/yaml/#allow_failure).
        allow_failure = match rule.allow_failure {
            Some(true) => AllowFailure::Yes,
            Some(false) => AllowFailure::No,
            None if job.allow_failure_set => job.allow_failure.clone(),
            None if job.when == When::Manual => AllowFailure::Yes,
            None => AllowFailure::No,
        };
        for v in &rule.variables {
            vars.set(&v.name, &v.value, v.expand);
        }
        if let Some(n) = &rule.needs {
            needs = Some(n.clone());
        }
        reason = format!("rule {} matches", i + 1);
        rules_eval = Some(eval);
    } else {
        let all = with_user(&vars, input.user_vars);
        let lookup = |n: &str| all.get(n).map(String::from);
        let facts = Facts {
            vars: &lookup,
            changes: input.changes,
            files: input.files,
        };
        let default_only = p.workflow.rules.is_none();
        let (ok, why) = evaluate_only_except(
            job.only.as_ref(),
            job.except.as_ref(),
            default_only,
            refs,
            &facts,
        )
        .map_err(|m| ConfigError::new(Some(&job.span), m).key("only"))?;
        if !ok {
            return Ok(Err(excluded(why, None)));
        }
        if when == When::Never {
            return Ok(Err(excluded("`when: never`".into(), None)));
        }
        if when == When::Manual && !job.allow_failure_set {
            allow_failure = AllowFailure::Yes;
        }
        reason = if job.only.is_some() || job.except.is_some() {
            why
        } else {
            if default_only {
                "no rules: runs on branches and tags".into()
            } else {
                "no rules, and `workflow:rules` created the pipeline".into()
            }
        };
    }
    if when == When::Delayed && start_in.is_none() {
        return Err(
            ConfigError::new(Some(&job.span), "`when: delayed` needs `start_in`").key("start_in"),
        );
    }
    vars.set(
        "CI_JOB_MANUAL",
        if when == When::Manual { "true" } else { "" },
        false,
    );

    let all = with_user(&vars, input.user_vars);
    let lookup = |n: &str| all.expanded_value(n);
    let tags: Vec<String> = job.tags.iter().map(|t| expand(t, &lookup)).collect();
    let image_platform = job
        .image
        .as_ref()
        .and_then(|i| i.platform.as_ref())
        .map(|p| expand(p, &lookup));
    let platform = input
        .platform_map
        .platform_for(image_platform.as_deref(), &tags);
    let image = job.image.as_ref().map(|i| expand(&i.name, &lookup));
    let mut planned_job = job.clone();
    planned_job.tags = tags;
    for c in &mut planned_job.cache {
        if let Some(text) = &c.policy_expr {
            c.policy = cache_policy(text, &lookup)
                .map_err(|m| ConfigError::new(Some(&job.span), m).key("cache:policy"))?;
        }
    }
    Ok(Ok(PlannedJob {
        job: planned_job,
        when,
        start_in,
        allow_failure,
        needs,
        platform,
        image,
        variables: vars,
        reason,
        rules: rules_eval,
    }))
}
