//! The job DAG: stages and `needs` give each job the jobs it waits for, and `needs`/`dependencies`
//! the jobs whose artifacts it receives. Unknown needs and cycles are errors, as in GitLab.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::error::{ConfigError, ConfigErrors};
use crate::pipeline::model::{Job, Need, Pipeline};
use crate::plan::Plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub job: usize,
    pub artifacts: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobGraph {
    /// For each job (by index in the plan): the jobs it waits for.
    pub deps: Vec<Vec<usize>>,
    /// For each job: the jobs whose artifacts it receives, in stage order.
    pub artifacts_from: Vec<Vec<usize>>,
    /// For each job: whether it has `needs:` (and so ignores stage ordering).
    pub uses_needs: Vec<bool>,
}

impl JobGraph {
    pub fn build(plan: &Plan) -> Result<JobGraph, ConfigErrors> {
        let graph = JobGraph::edges(plan)?;
        graph.check_cycles(plan)?;
        Ok(graph)
    }

    /// The edges, with unknown needs and bad dependencies reported, but not cycles.
    fn edges(plan: &Plan) -> Result<JobGraph, ConfigErrors> {
        let ix = Index::new(plan);
        let stage_of = |i: usize| ix.stage[i];
        let n = plan.jobs.len();
        let mut deps = vec![Vec::new(); n];
        let mut artifacts_from = vec![Vec::new(); n];
        let mut uses_needs = vec![false; n];
        let mut errors = ConfigErrors::default();
        // The jobs of the stages before each stage, in plan order, computed once per stage.
        let mut earlier_by_stage: HashMap<usize, Vec<usize>> = HashMap::new();
        for i in 0..n {
            let pj = &plan.jobs[i];
            match &pj.needs {
                Some(needs) => {
                    uses_needs[i] = true;
                    for need in needs {
                        match resolve_need(plan, &ix, need, &pj.job) {
                            Ok(targets) => {
                                for t in targets {
                                    if !deps[i].contains(&t) {
                                        deps[i].push(t);
                                    }
                                    if need.artifacts && !artifacts_from[i].contains(&t) {
                                        artifacts_from[i].push(t);
                                    }
                                }
                            }
                            Err(Some(e)) => errors.push(e.job(&pj.job.name).key("needs")),
                            Err(None) => {}
                        }
                    }
                }
                None => {
                    let earlier = earlier_by_stage
                        .entry(stage_of(i))
                        .or_insert_with(|| (0..n).filter(|&j| stage_of(j) < stage_of(i)).collect());
                    deps[i] = earlier.clone();
                    artifacts_from[i] = earlier.clone();
                }
            }
            if let Some(dependencies) = &pj.job.dependencies {
                let mut from = Vec::new();
                for name in dependencies {
                    let targets = ix.instances(name);
                    if targets.is_empty()
                        && !plan
                            .excluded
                            .iter()
                            .any(|e| e.name == *name || base_of(&e.name) == name)
                    {
                        errors.push(ConfigError::new(Some(&pj.job.span), format!("`dependencies` names `{name}`, which is not a job of this pipeline")).job(&pj.job.name).key("dependencies"));
                    }
                    // GitLab's YamlProcessor takes a dependency "defined in current or prior
                    // stages"; its artifacts come from what the job would take without
                    // `dependencies` (Ci::BuildDependencies: earlier stages, or with `needs` the
                    // needed jobs), so a job of the same stage gives artifacts only when needed.
                    for t in targets {
                        if stage_of(t) > stage_of(i) {
                            errors.push(ConfigError::new(Some(&pj.job.span), format!("`dependencies` names `{}`, which is in a later stage (GitLab: only jobs of the current or prior stages)", plan.jobs[t].job.name)).job(&pj.job.name).key("dependencies"));
                        } else if artifacts_from[i].contains(&t) && !from.contains(&t) {
                            from.push(t);
                        }
                    }
                }
                artifacts_from[i] = from;
            }
        }
        errors.into_result()?;
        Ok(JobGraph {
            deps,
            artifacts_from,
            uses_needs,
        })
    }

    fn check_cycles(&self, plan: &Plan) -> Result<(), ConfigErrors> {
        // 0 = unvisited, 1 = on the path, 2 = done. Iterative: a chain of 20,000 needs is
        // as deep as the path gets, too deep for the call stack.
        let mut state = vec![0u8; self.deps.len()];
        for root in 0..self.deps.len() {
            if state[root] != 0 {
                continue;
            }
            // The path from the root, each job with the index of its next dependency to visit.
            let mut path: Vec<(usize, usize)> = vec![(root, 0)];
            state[root] = 1;
            while let Some(&mut (i, ref mut next)) = path.last_mut() {
                let Some(&d) = self.deps[i].get(*next) else {
                    state[i] = 2;
                    path.pop();
                    continue;
                };
                *next += 1;
                match state[d] {
                    0 => {
                        state[d] = 1;
                        path.push((d, 0));
                    }
                    1 => {
                        let start = path.iter().position(|&(s, _)| s == d).unwrap_or(0);
                        let mut cycle: Vec<usize> = path[start..].iter().map(|&(s, _)| s).collect();
                        cycle.push(d);
                        let names: Vec<&str> = cycle
                            .iter()
                            .map(|&c| plan.jobs[c].job.name.as_str())
                            .collect();
                        let job = &plan.jobs[cycle[0]].job;
                        return Err(ConfigError::new(
                            Some(&job.span),
                            format!("`needs` cycle: {}", names.join(" -> ")),
                        )
                        .job(&job.name)
                        .key("needs")
                        .into());
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Every job that `roots` need, transitively, with the roots themselves.
    pub fn closure(&self, roots: &[usize]) -> Vec<usize> {
        let mut seen = vec![false; self.deps.len()];
        let mut todo: Vec<usize> = roots.to_vec();
        while let Some(i) = todo.pop() {
            if !std::mem::replace(&mut seen[i], true) {
                todo.extend(&self.deps[i]);
            }
        }
        (0..seen.len()).filter(|&i| seen[i]).collect()
    }
}

fn base_of(name: &str) -> &str {
    name.split_once(": [")
        .map(|(b, _)| b)
        .or_else(|| {
            name.rsplit_once(' ')
                .filter(|(_, r)| r.contains('/'))
                .map(|(b, _)| b)
        })
        .unwrap_or(name)
}

/// The plan's jobs by name and by stage, built once per graph so that every lookup is constant
/// time (planning stays linear in the number of jobs).
struct Index<'a> {
    by_name: HashMap<&'a str, usize>,
    /// The instances of each `parallel:` job, by base name.
    by_base: HashMap<&'a str, Vec<usize>>,
    /// Each job's stage, as its position in the plan's stages.
    stage: Vec<usize>,
}

impl<'a> Index<'a> {
    fn new(plan: &'a Plan) -> Self {
        let stages: HashMap<&str, usize> = plan
            .stages
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| (s.as_str(), i))
            .collect();
        let mut by_name = HashMap::new();
        let mut by_base: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut stage = Vec::with_capacity(plan.jobs.len());
        for (i, pj) in plan.jobs.iter().enumerate() {
            by_name.entry(pj.job.name.as_str()).or_insert(i);
            if pj.job.parallel.is_some() {
                by_base
                    .entry(pj.job.base_name.as_str())
                    .or_default()
                    .push(i);
            }
            stage.push(stages.get(pj.job.stage.as_str()).copied().unwrap_or(0));
        }
        Index {
            by_name,
            by_base,
            stage,
        }
    }

    /// The plan's jobs a name refers to: the job itself, or every instance of a `parallel:` job.
    fn instances(&self, name: &str) -> Vec<usize> {
        if let Some(&i) = self.by_name.get(name) {
            return vec![i];
        }
        self.by_base.get(name).cloned().unwrap_or_default()
    }
}

/// `Ok(targets)`, or `Err(Some(error))`, or `Err(None)` for an optional need that is absent.
fn resolve_need(
    plan: &Plan,
    ix: &Index,
    need: &Need,
    own: &Job,
) -> Result<Vec<usize>, Option<ConfigError>> {
    if need.external.is_some() {
        // Artifacts of other pipelines or projects cannot be fetched locally: the need is ignored.
        return Err(None);
    }
    if let Some(matrix) = &need.matrix {
        return resolve_matrix_need(plan, ix, need, matrix, own);
    }
    let targets = ix.instances(&need.job);
    if !targets.is_empty() {
        return Ok(targets);
    }
    if need.optional {
        return Err(None);
    }
    let excluded = plan
        .excluded
        .iter()
        .any(|e| e.name == need.job || base_of(&e.name) == need.job);
    let message = if excluded {
        format!(
            "needs `{}`, which is not in this pipeline (its rules exclude it); mark the need `optional: true` or fix the rules",
            need.job
        )
    } else {
        format!("needs `{}`, which is not a job of this pipeline", need.job)
    };
    Err(Some(ConfigError::new(Some(&need.span), message)))
}

/// `needs:parallel:matrix`: GitLab turns each combination into the instance's name, `job: [v1,
/// v2]`, with the values in the order written, and needs that job; so the values must follow the
/// needed job's matrix order (docs.gitlab.com/ci/yaml/#needsparallelmatrix).
fn resolve_matrix_need(
    plan: &Plan,
    ix: &Index,
    need: &Need,
    matrix: &[Vec<(String, String)>],
    own: &Job,
) -> Result<Vec<usize>, Option<ConfigError>> {
    let own_matrix: &[(String, String)] = own.parallel.as_ref().map_or(&[], |p| &p.matrix);
    let mut targets = Vec::new();
    for combo in matrix {
        let mut values: Vec<&str> = Vec::with_capacity(combo.len());
        for (_, v) in combo {
            // `$[[ matrix.IDENTIFIER ]]`: the needing instance's own value of IDENTIFIER
            // (docs.gitlab.com/ci/yaml/#needsparallelmatrix), so `test: [arm64]` needs
            // `build: [arm64]`.
            match matrix_identifier(v) {
                None => values.push(v),
                Some(id) => match own_matrix.iter().find(|(k, _)| k == id) {
                    Some((_, value)) => values.push(value),
                    None => {
                        return Err(Some(ConfigError::new(
                            Some(&need.span),
                            format!(
                                "`{v}`: `{}` has no `parallel:matrix` variable `{id}`",
                                own.name
                            ),
                        )));
                    }
                },
            }
        }
        let name = format!("{}: [{}]", need.job, values.join(", "));
        if let Some(&i) = ix.by_name.get(name.as_str()) {
            targets.push(i);
            continue;
        }
        if need.optional {
            continue;
        }
        let message = if plan.excluded.iter().any(|e| e.name == name) {
            format!(
                "needs `{name}`, which is not in this pipeline (its rules exclude it); mark the need `optional: true` or fix the rules"
            )
        } else {
            format!(
                "needs `{name}`, which is not a job of this pipeline (`needs:parallel:matrix` names an instance by its values, in the order of `{}`'s matrix)",
                need.job
            )
        };
        return Err(Some(ConfigError::new(Some(&need.span), message)));
    }
    if targets.is_empty() {
        Err(None)
    } else {
        Ok(targets)
    }
}

/// `IDENTIFIER` when `value` is exactly `$[[ matrix.IDENTIFIER ]]` (spaces inside optional).
fn matrix_identifier(value: &str) -> Option<&str> {
    let inner = value
        .trim()
        .strip_prefix("$[[")?
        .strip_suffix("]]")?
        .trim()
        .strip_prefix("matrix.")?;
    (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(inner)
}

/// Needs are checked when the plan is made, so `list` and `validate` report them.
pub fn check_needs(plan: &Plan) -> Result<(), ConfigErrors> {
    // Needs on later stages first: with stage ordering they also make cycles, and the stage is
    // the clearer message.
    let graph = JobGraph::edges(plan)?;
    let ix = Index::new(plan);
    let stage_of = |i: usize| ix.stage[i];
    let mut errors = ConfigErrors::default();
    for (i, deps) in graph.deps.iter().enumerate() {
        if !graph.uses_needs[i] {
            continue;
        }
        for &d in deps {
            if stage_of(d) > stage_of(i) {
                let j = &plan.jobs[i].job;
                errors.push(
                    ConfigError::new(
                        Some(&j.span),
                        format!(
                            "needs `{}`, which is in a later stage ({})",
                            plan.jobs[d].job.name, plan.jobs[d].job.stage
                        ),
                    )
                    .job(&j.name)
                    .key("needs"),
                );
            }
        }
    }
    errors.into_result()?;
    graph.check_cycles(plan)
}

/// Every `needs:` names a job of the configuration, whether or not rules keep either job: GitLab
/// checks this on the YAML, before rules (`undefined need: NAME`). Optional needs and needs of
/// other pipelines are exempt. Parallel instances share their needs: one error per written job.
pub fn check_needs_defined(pipeline: &Pipeline) -> Result<(), ConfigErrors> {
    let names: HashSet<&str> = pipeline
        .jobs
        .iter()
        .flat_map(|j| [j.name.as_str(), j.base_name.as_str()])
        .collect();
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    let mut errors = ConfigErrors::default();
    for job in &pipeline.jobs {
        for need in job.needs.iter().flatten() {
            if need.optional || need.external.is_some() || names.contains(need.job.as_str()) {
                continue;
            }
            if seen.insert((job.base_name.as_str(), need.job.as_str())) {
                errors.push(
                    ConfigError::new(
                        Some(&need.span),
                        format!("needs `{}`, which is not a job of this pipeline", need.job),
                    )
                    .job(&job.base_name)
                    .key("needs"),
                );
            }
        }
    }
    errors.into_result()
}
