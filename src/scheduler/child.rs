//! Child pipelines (`trigger:include`): when a trigger job is ready, its preparation (off the
//! dispatcher's loop, like any job's) asks a [`Downstream`] to load, resolve and plan the child
//! pipeline; the dispatcher then runs it with a dispatcher of its own, on the same executor, and
//! the child's jobs are reported as `TRIGGER » JOB`. `Downstream` is implemented above this
//! layer (`app::child`), where the include machinery and the checkout are wired.

use std::collections::HashMap;
use std::sync::Arc;

use crate::executor::JobOutcome;
use crate::pipeline::model::{Inherit, Trigger};
use crate::plan::select::Pick;
use crate::plan::{JobGraph, Plan, PlannedJob};
use crate::scheduler::{Finished, Prepare, Prepared, SharedPrepare};

/// GitLab's limit: a parent pipeline, a child, and the child's child.
pub const MAX_DEPTH: u32 = 2;

/// The separator between a trigger job's name and its child's job names.
pub const SEPARATOR: &str = " » ";

/// What a trigger job gives its child.
pub struct ChildRequest<'a> {
    /// The trigger job as planned (its name is the prefix of the child's job names).
    pub trigger: &'a PlannedJob,
    pub spec: &'a Trigger,
    /// The trigger job's YAML variables, expanded, when `forward:yaml_variables` (the default).
    pub variables: Vec<(String, String)>,
    /// The finished jobs whose artifacts the trigger job receives (`artifact:` includes read
    /// from these).
    pub inputs: &'a [&'a Finished],
    /// The child's depth: 1 for a child of the pipeline that was asked for.
    pub depth: u32,
}

/// A child pipeline ready to run: planned, its jobs named `TRIGGER » JOB`.
pub struct ChildRun {
    pub plan: Plan,
    pub graph: JobGraph,
    pub picks: Vec<Pick>,
    pub prepare: SharedPrepare,
}

impl std::fmt::Debug for ChildRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildRun")
            .field("jobs", &self.plan.jobs.len())
            .finish()
    }
}

/// Loads and plans child pipelines. Called on the preparation thread: it may read files.
pub trait Downstream: Send + Sync {
    /// The child pipeline, or why it cannot run (a YAML error naming file, line, job and key).
    fn child(&self, request: &ChildRequest) -> Result<ChildRun, String>;
}

/// A [`Prepare`] that turns trigger jobs with `trigger:include` into child pipelines, and hands
/// every other job to `inner`.
pub struct WithChildren<P> {
    pub inner: P,
    plan: Arc<Plan>,
    downstream: Arc<dyn Downstream>,
    /// This pipeline's depth: 0 for the pipeline that was asked for.
    depth: u32,
    /// The pipeline's global variable names (forwarded with the job's own).
    globals: Vec<String>,
}

impl<P: Prepare> WithChildren<P> {
    pub fn new(
        inner: P,
        plan: Arc<Plan>,
        downstream: Arc<dyn Downstream>,
        depth: u32,
        globals: Vec<String>,
    ) -> Self {
        WithChildren {
            inner,
            plan,
            downstream,
            depth,
            globals,
        }
    }
}

/// The trigger job's YAML variables (its own and the global ones it inherits), with their final
/// values: what `forward:yaml_variables` passes down.
pub fn yaml_variables(pj: &PlannedJob, globals: &[String]) -> Vec<(String, String)> {
    let values: HashMap<String, String> = pj.variables.expanded().into_iter().collect();
    let inherited = |n: &str| match &pj.job.inherit_variables {
        Inherit::All => true,
        other => other.includes(n),
    };
    let mut names: Vec<&str> = globals
        .iter()
        .map(String::as_str)
        .filter(|n| inherited(n))
        .collect();
    // The job's own, its matrix values and its matching rule's `variables:` are YAML
    // variables too.
    let matrix = pj
        .job
        .parallel
        .iter()
        .flat_map(|p| p.matrix.iter().map(|(k, _)| k));
    let rule = pj
        .rules
        .as_ref()
        .and_then(|e| e.matched)
        .and_then(|i| pj.job.rules.as_ref()?.get(i))
        .into_iter()
        .flat_map(|r| r.variables.iter().map(|v| &v.name));
    for name in pj
        .job
        .variables
        .iter()
        .map(|v| &v.name)
        .chain(matrix)
        .chain(rule)
    {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .filter_map(|n| values.get(n).map(|v| (n.to_string(), v.clone())))
        .collect()
}

impl<P: Prepare> Prepare for WithChildren<P> {
    fn prepare(&mut self, index: usize, attempt: u32, inputs: &[&Finished]) -> Prepared {
        let pj = &self.plan.jobs[index];
        let Some(spec) = pj.job.downstream.as_ref().filter(|d| d.child().is_some()) else {
            return self.inner.prepare(index, attempt, inputs);
        };
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Prepared::Fail(format!(
                "child pipelines nest at most {MAX_DEPTH} levels deep (GitLab's limit); `{}` \
                 ({}) would start a child at level {depth}",
                pj.job.name, spec.span
            ));
        }
        let variables = if spec.forward_yaml_variables {
            yaml_variables(pj, &self.globals)
        } else {
            Vec::new()
        };
        let request = ChildRequest {
            trigger: pj,
            spec,
            variables,
            inputs,
            depth,
        };
        match self.downstream.child(&request) {
            Ok(child) => Prepared::Child(Box::new(child)),
            Err(e) => Prepared::Fail(e),
        }
    }

    fn finished(&mut self, index: usize, outcome: &JobOutcome, finished: &mut Finished) {
        self.inner.finished(index, outcome, finished)
    }

    fn log_path(&self, index: usize, attempt: u32) -> Option<std::path::PathBuf> {
        self.inner.log_path(index, attempt)
    }
}

/// Names a child's jobs after their trigger job: `TRIGGER » JOB`, in every place a name is used
/// (events, logs, artifacts, containers), so each stays one-to-one with its run directory.
/// `CI_JOB_NAME` keeps the child's own name (it was set when the child was planned).
pub fn prefix_names(plan: &mut Plan, trigger: &str) {
    for pj in &mut plan.jobs {
        pj.job.name = format!("{trigger}{SEPARATOR}{}", pj.job.name);
    }
}
