//! `tezos-ci-local graph`: the job DAG as Graphviz DOT or Mermaid, stages as clusters.

use std::fmt::Write;

use crate::app::Loaded;
use crate::cli::GraphFormat;
use crate::error::Error;
use crate::plan::JobGraph;

pub fn print(loaded: &Loaded, format: GraphFormat) -> anyhow::Result<()> {
    let graph = JobGraph::build(&loaded.plan).map_err(Error::from)?;
    let text = match format {
        GraphFormat::Dot => dot(loaded, &graph),
        GraphFormat::Mermaid => mermaid(loaded, &graph),
    };
    print!("{text}");
    Ok(())
}

/// Edges to draw: a job's `needs`, or for a stage-ordered job, every job it waits for that it
/// does not already wait for through another (the transitive reduction: the nearest earlier stage,
/// plus a job of an earlier stage that the nearer ones do not wait for, such as one whose
/// `needs:` let it skip the stages before it). Every dependency the scheduler uses is drawn or
/// implied by a path.
fn edges(_loaded: &Loaded, graph: &JobGraph) -> Vec<(usize, usize)> {
    let ancestors = ancestors(graph);
    let mut out = Vec::new();
    for (i, deps) in graph.deps.iter().enumerate() {
        if graph.uses_needs[i] {
            out.extend(deps.iter().map(|&d| (d, i)));
            continue;
        }
        for &d in deps {
            let implied = deps.iter().any(|&e| e != d && ancestors[e].contains(&d));
            if !implied {
                out.push((d, i));
            }
        }
    }
    out
}

/// For each job, every job it waits for, directly or not (the graph has no cycles).
fn ancestors(graph: &JobGraph) -> Vec<std::collections::BTreeSet<usize>> {
    fn visit(
        i: usize,
        graph: &JobGraph,
        memo: &mut Vec<Option<std::collections::BTreeSet<usize>>>,
    ) {
        if memo[i].is_some() {
            return;
        }
        let mut set = std::collections::BTreeSet::new();
        for &d in &graph.deps[i] {
            visit(d, graph, memo);
            set.insert(d);
            set.extend(memo[d].iter().flatten().copied());
        }
        memo[i] = Some(set);
    }
    let mut memo = vec![None; graph.deps.len()];
    for i in 0..graph.deps.len() {
        visit(i, graph, &mut memo);
    }
    memo.into_iter().map(Option::unwrap_or_default).collect()
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub fn dot(loaded: &Loaded, graph: &JobGraph) -> String {
    let plan = &loaded.plan;
    let mut s =
        String::from("digraph pipeline {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
    for (si, stage) in plan.stages.iter().enumerate() {
        let jobs: Vec<usize> = (0..plan.jobs.len())
            .filter(|&i| plan.jobs[i].job.stage == *stage)
            .collect();
        if jobs.is_empty() {
            continue;
        }
        let _ = writeln!(s, "  subgraph cluster_{si} {{\n    label={};", quote(stage));
        for i in jobs {
            let j = &plan.jobs[i];
            let style = match j.when.as_str() {
                "manual" => ", style=\"rounded,dashed\"",
                _ => "",
            };
            let _ = writeln!(
                s,
                "    j{i} [label={}{style}];",
                quote(&format!("{}\n{}", j.job.name, j.platform))
            );
        }
        s.push_str("  }\n");
    }
    for (a, b) in edges(loaded, graph) {
        let _ = writeln!(s, "  j{a} -> j{b};");
    }
    s.push_str("}\n");
    s
}

pub fn mermaid(loaded: &Loaded, graph: &JobGraph) -> String {
    let plan = &loaded.plan;
    let mut s = String::from("flowchart LR\n");
    for stage in &plan.stages {
        let jobs: Vec<usize> = (0..plan.jobs.len())
            .filter(|&i| plan.jobs[i].job.stage == *stage)
            .collect();
        if jobs.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "  subgraph {}[\"{}\"]",
            stage.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            stage.replace('"', "'")
        );
        for i in jobs {
            let _ = writeln!(
                s,
                "    j{i}[\"{}\"]",
                plan.jobs[i].job.name.replace('"', "'")
            );
        }
        s.push_str("  end\n");
    }
    for (a, b) in edges(loaded, graph) {
        let _ = writeln!(s, "  j{a} --> j{b}");
    }
    s
}
