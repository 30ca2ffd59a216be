//! Choosing which jobs of a plan to run: names or globs, `--stage`, `--needs` (what the chosen
//! jobs need, transitively), and manual jobs only when named or with `--manual`.

use globset::GlobBuilder;

use crate::error::Error;
use crate::pipeline::model::When;
use crate::plan::{JobGraph, Plan};

#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Job names or globs (`'unit:*'`); empty means every job.
    pub patterns: Vec<String>,
    pub stages: Vec<String>,
    /// Also run what the selected jobs need, transitively.
    pub with_needs: bool,
    /// Run manual jobs too.
    pub manual: bool,
}

/// What to do with each job of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Run,
    /// A manual job that was not asked for: reported as `manual`, its dependents wait for nothing.
    Manual,
    /// Not selected: not shown and not run.
    Unselected,
}

pub fn select(plan: &Plan, graph: &JobGraph, sel: &Selection) -> Result<Vec<Pick>, Error> {
    let n = plan.jobs.len();
    let mut chosen = vec![sel.patterns.is_empty(); n];
    let mut named = vec![false; n];
    for pat in &sel.patterns {
        let glob = GlobBuilder::new(pat)
            .literal_separator(false)
            .build()
            .map_err(|e| Error::Usage(format!("bad job pattern `{pat}`: {e}")))?
            .compile_matcher();
        let mut any = false;
        for (i, j) in plan.jobs.iter().enumerate() {
            if j.job.name == *pat || j.job.base_name == *pat || glob.is_match(&j.job.name) {
                chosen[i] = true;
                named[i] = true;
                any = true;
            }
        }
        if !any {
            let why = plan
                .excluded
                .iter()
                .find(|e| e.name == *pat)
                .map(|e| format!(" (excluded from this pipeline: {})", e.reason))
                .unwrap_or_default();
            return Err(Error::Usage(format!(
                "no job matches `{pat}`{why}; `tezos-ci-local list` shows the jobs"
            )));
        }
    }
    if !sel.stages.is_empty() {
        for s in &sel.stages {
            if !plan.stages.contains(s) {
                return Err(Error::Usage(format!(
                    "no stage `{s}`; the stages are: {}",
                    plan.stages.join(", ")
                )));
            }
        }
        for (i, j) in plan.jobs.iter().enumerate() {
            if !sel.stages.contains(&j.job.stage) {
                chosen[i] = false;
            }
        }
    }
    if sel.with_needs {
        let roots: Vec<usize> = (0..n).filter(|&i| chosen[i]).collect();
        for i in graph.closure(&roots) {
            chosen[i] = true;
        }
    }
    Ok((0..n)
        .map(|i| {
            if !chosen[i] {
                Pick::Unselected
            } else if plan.jobs[i].when == When::Manual && !named[i] && !sel.manual {
                Pick::Manual
            } else {
                Pick::Run
            }
        })
        .collect())
}
