//! The job graph of the HTML report, as inline SVG: one column per stage (a stage of many jobs
//! wraps into several columns), each job a box coloured by its state and linked to its section,
//! `needs` edges as curves, and the path a failure took (the failed jobs and the jobs that did
//! not run because of them) drawn in red.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::html::{JobView, esc, short};
use super::html_times::Shown;
use crate::event::JobStatus;

/// Jobs in one column before a stage wraps into another: keeps the Octez pipeline's big stages
/// (a hundred jobs) on a screen or two rather than one very tall column.
const ROWS: usize = 24;
const NODE_W: f64 = 190.0;
const NODE_H: f64 = 24.0;
const ROW_H: f64 = 32.0;
const COL_W: f64 = 220.0;
const STAGE_GAP: f64 = 30.0;
const TOP: f64 = 36.0;
const NAME_CHARS: usize = 24;

/// The graph as an `<svg>` element.
pub fn render_graph(out: &mut String, jobs: &[JobView]) {
    let stages = stages(jobs);
    let mut pos: HashMap<&str, (f64, f64)> = HashMap::new();
    let mut x = 10.0;
    let mut height: f64 = TOP;
    let mut headers = String::new();
    for stage in &stages {
        let members: Vec<&JobView> = jobs.iter().filter(|j| j.info.stage == *stage).collect();
        let cols = members.len().div_ceil(ROWS).max(1);
        let label = if stage.is_empty() {
            "(no stage)"
        } else {
            stage
        };
        let _ = write!(
            headers,
            "<text class=\"stage\" x=\"{x:.0}\" y=\"20\">{}</text>",
            esc(&short(label, 28 * cols))
        );
        for (k, j) in members.iter().enumerate() {
            let (col, row) = (k / ROWS, k % ROWS);
            let p = (x + col as f64 * COL_W, TOP + row as f64 * ROW_H);
            height = height.max(p.1 + ROW_H);
            pos.insert(j.info.name.as_str(), p);
        }
        x += cols as f64 * COL_W + STAGE_GAP;
    }
    let width = x;
    let on_path = failed_path(jobs);

    let _ = write!(
        out,
        "<svg class=\"graph\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"job graph\">{headers}<g class=\"edges\">"
    );
    // Edges under the boxes.
    for j in jobs.iter().filter(|j| j.info.uses_needs) {
        let Some(&(tx, ty)) = pos.get(j.info.name.as_str()) else {
            continue;
        };
        for need in &j.info.needs {
            let Some(&(sx, sy)) = pos.get(need.as_str()) else {
                continue;
            };
            let (x1, y1) = (sx + NODE_W, sy + NODE_H / 2.0);
            let y2 = ty + NODE_H / 2.0;
            let d = if tx > sx + NODE_W {
                let dx = ((tx - x1) / 2.0).max(20.0);
                format!(
                    "M{x1:.0},{y1:.0} C{:.0},{y1:.0} {:.0},{y2:.0} {tx:.0},{y2:.0}",
                    x1 + dx,
                    tx - dx
                )
            } else {
                // A need in the same column or to the left: loop out on the right.
                let x2 = tx + NODE_W;
                let bulge = x1.max(x2) + 30.0;
                format!("M{x1:.0},{y1:.0} C{bulge:.0},{y1:.0} {bulge:.0},{y2:.0} {x2:.0},{y2:.0}")
            };
            let fail = on_path.contains(need.as_str()) && on_path.contains(j.info.name.as_str());
            let _ = write!(
                out,
                "<path class=\"edge{}\" data-from=\"{}\" data-to=\"{}\" d=\"{d}\"/>",
                if fail { " fail" } else { "" },
                esc(need),
                esc(&j.info.name)
            );
        }
    }
    out.push_str("</g><g class=\"nodes\">");
    for j in jobs {
        let Some(&(x, y)) = pos.get(j.info.name.as_str()) else {
            continue;
        };
        let class = j.shown.class();
        let fail = if on_path.contains(j.info.name.as_str()) {
            " fail"
        } else {
            ""
        };
        let cached = j.shown == Shown::Done(JobStatus::Cached);
        let _ = write!(
            out,
            "<a href=\"#job-{}\" class=\"node {class}{fail}\" data-job=\"{}\"><title>{} ({}{})</title>\
             <rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"5\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\">{}</text>",
            j.index,
            esc(&j.info.name),
            esc(&j.info.name),
            super::html::state_word(j.shown),
            if j.info.platform.is_empty() {
                String::new()
            } else {
                format!(", {}", esc(&j.info.platform))
            },
            x + 20.0,
            y + 16.0,
            esc(&short(&j.info.name, NAME_CHARS)),
        );
        let _ = write!(
            out,
            "<text class=\"sym\" x=\"{:.0}\" y=\"{:.0}\">{}</text>",
            x + 6.0,
            y + 16.0,
            super::html::state_symbol(j.shown)
        );
        if cached {
            let _ = write!(
                out,
                "<text class=\"mark\" x=\"{:.0}\" y=\"{:.0}\">cached</text>",
                x + NODE_W - 40.0,
                y + 15.0
            );
        }
        out.push_str("</a>");
    }
    out.push_str("</g></svg>\n");
}

/// Stages in the order the jobs first name them (the plan's order).
pub fn stages<'a>(jobs: &'a [JobView]) -> Vec<&'a str> {
    let mut stages: Vec<&str> = Vec::new();
    for j in jobs {
        if !stages.contains(&j.info.stage.as_str()) {
            stages.push(&j.info.stage);
        }
    }
    stages
}

/// The failed jobs and, downstream of them, the jobs that did not pass because of them.
pub fn failed_path<'a>(jobs: &'a [JobView]) -> std::collections::HashSet<&'a str> {
    let mut on: std::collections::HashSet<&str> = jobs
        .iter()
        .filter(|j| j.shown == Shown::Done(JobStatus::Failed))
        .map(|j| j.info.name.as_str())
        .collect();
    if on.is_empty() {
        return on;
    }
    // Jobs come in plan order, where a job's needs come before it, so one pass would do; loop
    // until stable anyway, in case a dynamic job came late.
    loop {
        let before = on.len();
        for j in jobs {
            let unfinished = matches!(
                j.shown,
                Shown::Done(JobStatus::Skipped | JobStatus::Canceled) | Shown::Pending
            );
            if unfinished && j.info.needs.iter().any(|n| on.contains(n.as_str())) {
                on.insert(j.info.name.as_str());
            }
        }
        if on.len() == before {
            return on;
        }
    }
}
