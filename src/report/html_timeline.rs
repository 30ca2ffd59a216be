//! The timeline of the HTML report, as inline SVG: one row per job grouped by stage, one bar per
//! attempt from queued (light) to started to finished (coloured by how it ended; earlier attempts
//! of a retried job in the failed colour), and the critical path (the chain of jobs, each waiting
//! for the one before, that ended last) outlined, so a reader sees where the time went.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

use super::format;
use super::html::{JobView, esc, short};
use super::html_graph::stages;

const LABEL_W: f64 = 300.0;
const BAR_W: f64 = 820.0;
const ROW_H: f64 = 18.0;
const TOP: f64 = 28.0;

/// When a job's last attempt ended, or when it finished without running (cached, skipped).
fn end_of(j: &JobView) -> Option<Duration> {
    let t = j.times?;
    t.attempts.last().and_then(|a| a.end).or(t.finished)
}

/// When a job started running (its first attempt), or finished without running (cached).
fn begin_of(j: &JobView) -> Option<Duration> {
    let t = j.times?;
    t.attempts.first().map(|a| a.start).or(t.finished)
}

/// When a job could start: queued, and every job it waits for ended. (The scheduler queues
/// every job at the start; the wait that shows is the wait for a free slot.)
fn ready_of(j: &JobView, queued: Duration, by_name: &HashMap<&str, &JobView>) -> Duration {
    j.info
        .needs
        .iter()
        .filter_map(|n| end_of(by_name.get(n.as_str())?))
        .fold(queued, Duration::max)
}

/// The chain of jobs that ended last: from the job that ended last, back through the job it
/// waited for that ended last before it began, to a job that waited for none.
pub fn critical_path<'a>(jobs: &'a [JobView]) -> Vec<&'a str> {
    let by_name: HashMap<&str, &JobView> = jobs.iter().map(|j| (j.info.name.as_str(), j)).collect();
    let Some(mut cur) = jobs
        .iter()
        .filter(|j| j.times.is_some_and(|t| !t.attempts.is_empty()))
        .filter_map(|j| Some((end_of(j)?, j)))
        .max_by_key(|(e, _)| *e)
        .map(|(_, j)| j)
    else {
        return Vec::new();
    };
    let mut path = vec![cur.info.name.as_str()];
    let mut seen: HashSet<&str> = path.iter().copied().collect();
    while let Some(begin) = begin_of(cur) {
        let before = cur
            .info
            .needs
            .iter()
            .filter_map(|n| by_name.get(n.as_str()))
            .filter_map(|d| Some((end_of(d)?, *d)))
            .filter(|(e, _)| *e <= begin + Duration::from_millis(50))
            .max_by_key(|(e, _)| *e);
        match before {
            Some((_, d)) if seen.insert(d.info.name.as_str()) => {
                path.push(d.info.name.as_str());
                cur = d;
            }
            _ => break,
        }
    }
    path.reverse();
    path
}

/// A tick step giving at most about ten ticks over `total`.
fn tick_step(total: Duration) -> Duration {
    let secs = total.as_secs_f64();
    for s in [
        1u64, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
    ] {
        if secs / s as f64 <= 10.0 {
            return Duration::from_secs(s);
        }
    }
    Duration::from_secs(3 * 3600)
}

/// The timeline as an `<svg>`, and the critical path below it. `now` is how far the run got.
pub fn render_timeline(out: &mut String, jobs: &[JobView], now: Duration) {
    let latest = jobs.iter().filter_map(end_of).max().unwrap_or_default();
    let total = now.max(latest).max(Duration::from_millis(100));
    let scale = BAR_W / total.as_secs_f64();
    let xt = |t: Duration| LABEL_W + t.as_secs_f64() * scale;
    let critical = critical_path(jobs);
    let by_name: HashMap<&str, &JobView> = jobs.iter().map(|j| (j.info.name.as_str(), j)).collect();
    let on_critical: HashSet<&str> = critical.iter().copied().collect();

    let mut rows = String::new();
    let mut y = TOP;
    for stage in stages(jobs) {
        let _ = write!(
            rows,
            "<text class=\"stage\" x=\"4\" y=\"{:.0}\">{}</text>",
            y + 13.0,
            esc(if stage.is_empty() {
                "(no stage)"
            } else {
                stage
            })
        );
        y += ROW_H;
        for j in jobs.iter().filter(|j| j.info.stage == stage) {
            let name = j.info.name.as_str();
            let crit = on_critical.contains(name);
            let _ = write!(
                rows,
                "<a href=\"#job-{}\"><text class=\"label{}\" x=\"14\" y=\"{:.0}\">{} <tspan class=\"plat\">{}</tspan></text></a>",
                j.index,
                if crit { " critical" } else { "" },
                y + 13.0,
                esc(&short(name, 30)),
                esc(&j.where_label()),
            );
            if let Some(t) = j.times {
                let n = t.attempts.len();
                for (k, a) in t.attempts.iter().enumerate() {
                    let last = k + 1 == n;
                    let end = a.end.unwrap_or(now.max(a.start));
                    let class = if last { j.shown.class() } else { "failed" };
                    let ready = if k == 0 {
                        ready_of(j, a.queued, &by_name).min(a.start)
                    } else {
                        a.queued
                    };
                    let title = format!(
                        "{name}, attempt {}: ready +{}, started +{}, {} ({}) on {}{}",
                        a.number,
                        format::duration(ready),
                        format::duration(a.start),
                        match a.end {
                            Some(e) => format!("ended +{}", format::duration(e)),
                            None => "running".to_string(),
                        },
                        format::duration(end.saturating_sub(a.start)),
                        a.platform,
                        j.engine_suffix(),
                    );
                    if a.start > ready {
                        let _ = write!(
                            rows,
                            "<rect class=\"wait\" x=\"{:.1}\" y=\"{:.0}\" width=\"{:.1}\" height=\"{:.0}\"/>",
                            xt(ready),
                            y + 6.0,
                            (xt(a.start) - xt(ready)).max(0.5),
                            ROW_H - 12.0
                        );
                    }
                    let _ = write!(
                        rows,
                        "<rect class=\"bar {class}{}\" data-job=\"{}\" data-attempt=\"{}\" x=\"{:.1}\" y=\"{:.0}\" \
                         width=\"{:.1}\" height=\"{:.0}\" rx=\"2\"><title>{}</title></rect>",
                        if crit && last { " critical" } else { "" },
                        esc(name),
                        a.number,
                        xt(a.start),
                        y + 3.0,
                        (xt(end) - xt(a.start)).max(2.0),
                        ROW_H - 6.0,
                        esc(&title),
                    );
                    if n > 1 {
                        let _ = write!(
                            rows,
                            "<text class=\"attempt\" x=\"{:.1}\" y=\"{:.0}\">#{}</text>",
                            xt(end) + 3.0,
                            y + 13.0,
                            a.number
                        );
                    }
                }
                if n == 0
                    && let Some(f) = t.finished
                {
                    // Finished without running (cached, skipped): a mark where it was decided.
                    let _ = write!(
                        rows,
                        "<rect class=\"bar instant {}\" data-job=\"{}\" x=\"{:.1}\" y=\"{:.0}\" width=\"4\" height=\"{:.0}\">\
                         <title>{name}: {} at +{}</title></rect>",
                        j.shown.class(),
                        esc(name),
                        xt(f) - 2.0,
                        y + 3.0,
                        ROW_H - 6.0,
                        super::html::state_word(j.shown),
                        format::duration(f),
                    );
                }
            }
            y += ROW_H;
        }
    }
    let height = y + 6.0;
    let width = LABEL_W + BAR_W + 40.0;
    let _ = write!(
        out,
        "<svg class=\"timeline\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"timeline\">"
    );
    let step = tick_step(total);
    let mut t = Duration::ZERO;
    while t <= total {
        let x = xt(t);
        let _ = write!(
            out,
            "<line class=\"tick\" x1=\"{x:.1}\" y1=\"{:.0}\" x2=\"{x:.1}\" y2=\"{height:.0}\"/>\
             <text class=\"tick\" x=\"{x:.1}\" y=\"14\">{}</text>",
            TOP - 6.0,
            format::duration(t)
        );
        t += step;
    }
    out.push_str(&rows);
    out.push_str("</svg>\n");
    if !critical.is_empty() {
        let names: Vec<String> = critical
            .iter()
            .map(|n| format!("<code>{}</code>", esc(n)))
            .collect();
        let _ = writeln!(
            out,
            "<p class=\"critical-path\">Critical path ({}): {}</p>",
            format::duration(latest),
            names.join(" → ")
        );
    }
}
