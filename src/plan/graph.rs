//! The job DAG: stages and `needs` give each job the jobs it waits for, and `needs`/`dependencies`
//! the jobs whose artifacts it receives. Unknown needs and cycles are errors, as in GitLab.

use serde::Serialize;

use crate::error::{ConfigError, ConfigErrors};
use crate::pipeline::model::Need;
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
        let stage_of = |i: usize| {
            plan.stages
                .iter()
                .position(|s| *s == plan.jobs[i].job.stage)
                .unwrap_or(0)
        };
        let n = plan.jobs.len();
        let mut deps = vec![Vec::new(); n];
        let mut artifacts_from = vec![Vec::new(); n];
        let mut uses_needs = vec![false; n];
        let mut errors = ConfigErrors::default();
        for i in 0..n {
            let pj = &plan.jobs[i];
            let earlier: Vec<usize> = (0..n).filter(|&j| stage_of(j) < stage_of(i)).collect();
            match &pj.needs {
                Some(needs) => {
                    uses_needs[i] = true;
                    for need in needs {
                        match resolve_need(plan, need) {
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
                    deps[i] = earlier.clone();
                    artifacts_from[i] = earlier.clone();
                }
            }
            if let Some(dependencies) = &pj.job.dependencies {
                let mut from = Vec::new();
                for name in dependencies {
                    let targets = instances(plan, name);
                    if targets.is_empty()
                        && !plan
                            .excluded
                            .iter()
                            .any(|e| e.name == *name || base_of(&e.name) == name)
                    {
                        errors.push(ConfigError::new(Some(&pj.job.span), format!("`dependencies` names `{name}`, which is not a job of this pipeline")).job(&pj.job.name).key("dependencies"));
                    }
                    for t in targets {
                        if stage_of(t) > stage_of(i)
                            || (stage_of(t) == stage_of(i) && !deps[i].contains(&t))
                        {
                            errors.push(ConfigError::new(Some(&pj.job.span), format!("`dependencies` names `{}`, which is not in an earlier stage nor in `needs`", plan.jobs[t].job.name)).job(&pj.job.name).key("dependencies"));
                        } else {
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
        // 0 = unvisited, 1 = on the stack, 2 = done.
        let mut state = vec![0u8; self.deps.len()];
        let mut stack: Vec<usize> = Vec::new();
        fn visit(
            g: &JobGraph,
            i: usize,
            state: &mut [u8],
            stack: &mut Vec<usize>,
        ) -> Option<Vec<usize>> {
            state[i] = 1;
            stack.push(i);
            for &d in &g.deps[i] {
                if state[d] == 1 {
                    let start = stack.iter().position(|&s| s == d).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(d);
                    return Some(cycle);
                }
                if state[d] == 0 {
                    if let Some(c) = visit(g, d, state, stack) {
                        return Some(c);
                    }
                }
            }
            stack.pop();
            state[i] = 2;
            None
        }
        for i in 0..self.deps.len() {
            if state[i] == 0 {
                if let Some(cycle) = visit(self, i, &mut state, &mut stack) {
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

/// The plan's jobs a name refers to: the job itself, or every instance of a `parallel:` job.
fn instances(plan: &Plan, name: &str) -> Vec<usize> {
    if let Some(i) = plan.index_of(name) {
        return vec![i];
    }
    (0..plan.jobs.len())
        .filter(|&i| plan.jobs[i].job.base_name == name && plan.jobs[i].job.parallel.is_some())
        .collect()
}

/// `Ok(targets)`, or `Err(Some(error))`, or `Err(None)` for an optional need that is absent.
fn resolve_need(plan: &Plan, need: &Need) -> Result<Vec<usize>, Option<ConfigError>> {
    if need.external.is_some() {
        // Artifacts of other pipelines or projects cannot be fetched locally: the need is ignored.
        return Err(None);
    }
    if let Some(matrix) = &need.matrix {
        return resolve_matrix_need(plan, need, matrix);
    }
    let targets = instances(plan, &need.job);
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
    need: &Need,
    matrix: &[Vec<(String, String)>],
) -> Result<Vec<usize>, Option<ConfigError>> {
    let mut targets = Vec::new();
    for combo in matrix {
        let values: Vec<&str> = combo.iter().map(|(_, v)| v.as_str()).collect();
        let name = format!("{}: [{}]", need.job, values.join(", "));
        if let Some(i) = plan.index_of(&name) {
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

/// Needs are checked when the plan is made, so `list` and `validate` report them.
pub fn check_needs(plan: &Plan) -> Result<(), ConfigErrors> {
    // Needs on later stages first: with stage ordering they also make cycles, and the stage is
    // the clearer message.
    let graph = JobGraph::edges(plan)?;
    let stage_of = |i: usize| {
        plan.stages
            .iter()
            .position(|s| *s == plan.jobs[i].job.stage)
            .unwrap_or(0)
    };
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
