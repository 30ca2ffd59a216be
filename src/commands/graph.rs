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

/// Edges to draw: a job's `needs`, or for a stage-ordered job, the jobs of the nearest earlier
/// stage that has any (the rest follows transitively, and drawing it all would hide the shape).
fn edges(loaded: &Loaded, graph: &JobGraph) -> Vec<(usize, usize)> {
    let plan = &loaded.plan;
    let stage_of = |i: usize| {
        plan.stages
            .iter()
            .position(|s| *s == plan.jobs[i].job.stage)
            .unwrap_or(0)
    };
    let mut out = Vec::new();
    for (i, deps) in graph.deps.iter().enumerate() {
        if graph.uses_needs[i] {
            out.extend(deps.iter().map(|&d| (d, i)));
        } else if let Some(nearest) = deps.iter().map(|&d| stage_of(d)).max() {
            out.extend(
                deps.iter()
                    .filter(|&&d| stage_of(d) == nearest)
                    .map(|&d| (d, i)),
            );
        }
    }
    out
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
