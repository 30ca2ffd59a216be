//! `tezos-ci-local explain JOB`: the fully resolved job and why each of its rules matched or not.

use std::fmt::Write;

use serde_json::json;

use crate::app::Loaded;
use crate::cli::ExplainArgs;
use crate::error::Error;
use crate::rules::Evaluation;

pub fn print(loaded: &Loaded, args: &ExplainArgs) -> anyhow::Result<()> {
    let name = &args.job;
    let job = loaded
        .pipeline
        .job(name)
        .or_else(|| loaded.pipeline.jobs.iter().find(|j| j.base_name == *name))
        .ok_or_else(|| {
            Error::Usage(format!(
                "no job `{name}` in the pipeline; `tezos-ci-local list --all` shows them"
            ))
        })?;
    let planned = loaded.plan.job(&job.name);
    let excluded = loaded.plan.excluded.iter().find(|e| e.name == job.name);
    if args.json {
        let value = json!({
            "job": job,
            "planned": planned,
            "excluded": excluded,
            "variables": planned.map(|p| variables(loaded, p)),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let mut s = String::new();
    let _ = writeln!(s, "job `{}`  (defined at {})", job.name, job.span);
    if let Some(why) = &loaded.plan.workflow_excluded {
        let _ = writeln!(
            s,
            "  in this {} pipeline: no, there is no pipeline: {why}",
            loaded.origin.source
        );
    } else if let Some(p) = planned {
        let _ = writeln!(
            s,
            "  in this {} pipeline: yes ({})",
            loaded.origin.source, p.reason
        );
    } else if let Some(e) = excluded {
        let _ = writeln!(
            s,
            "  in this {} pipeline: no ({})",
            loaded.origin.source, e.reason
        );
    }
    let _ = writeln!(s, "  stage: {}", job.stage);
    if let Some(p) = planned {
        let _ = writeln!(
            s,
            "  when: {}{}",
            p.when,
            p.start_in
                .map(|d| format!(" (start_in {}s)", d.as_secs()))
                .unwrap_or_default()
        );
        let _ = writeln!(s, "  allow_failure: {:?}", p.allow_failure);
        let _ = writeln!(s, "  platform: {}", p.platform);
        let _ = writeln!(
            s,
            "  image: {}",
            p.image.as_deref().unwrap_or("(none: --default-image)")
        );
        let needs = match &p.needs {
            None => "(none: waits for the earlier stages)".to_string(),
            Some(n) => format!(
                "[{}]",
                n.iter()
                    .map(|n| format!(
                        "{}{}{}",
                        n.job,
                        if n.optional { " (optional)" } else { "" },
                        if n.artifacts { "" } else { " (no artifacts)" }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let _ = writeln!(s, "  needs: {needs}");
    }
    if !job.tags.is_empty() {
        let _ = writeln!(s, "  tags: {}", job.tags.join(", "));
    }
    if let Some(d) = &job.dependencies {
        let _ = writeln!(s, "  dependencies: [{}]", d.join(", "));
    }
    for (label, lines) in [
        ("before_script", &job.before_script),
        ("script", &job.script),
        ("after_script", &job.after_script),
    ] {
        if !lines.is_empty() {
            let _ = writeln!(s, "  {label}:");
            for l in lines.iter() {
                let _ = writeln!(s, "    - {}", l.replace('\n', "\n      "));
            }
        }
    }
    if !job.services.is_empty() {
        let _ = writeln!(
            s,
            "  services: {}",
            job.services
                .iter()
                .map(|x| x.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(a) = &job.artifacts {
        let _ = writeln!(
            s,
            "  artifacts: paths [{}], when {:?}{}",
            a.paths.join(", "),
            a.when,
            a.expire_in
                .as_ref()
                .map(|e| format!(", expire_in {e}"))
                .unwrap_or_default()
        );
    }
    for c in &job.cache {
        let _ = writeln!(
            s,
            "  cache: key {:?}, paths [{}], policy {:?}",
            c.key,
            c.paths.join(", "),
            c.policy
        );
    }
    if let Some(t) = job.timeout {
        let _ = writeln!(s, "  timeout: {}s", t.as_secs());
    }
    if job.retry.max > 0 {
        let _ = writeln!(
            s,
            "  retry: {} (when: {})",
            job.retry.max,
            if job.retry.when.is_empty() {
                "always".into()
            } else {
                job.retry.when.join(", ")
            }
        );
    }
    if !job.ignored_keys.is_empty() {
        let _ = writeln!(
            s,
            "  read but not acted on locally: {}",
            job.ignored_keys.join(", ")
        );
    }
    let rules = planned
        .and_then(|p| p.rules.as_ref())
        .or(excluded.and_then(|e| e.rules.as_ref()));
    if let (Some(job_rules), Some(eval)) = (&job.rules, rules) {
        let _ = writeln!(s, "  rules:");
        render_rules(&mut s, job_rules.len(), eval);
    }
    if let Some(p) = planned {
        let _ = writeln!(s, "  variables (final, highest precedence last):");
        for (k, v) in variables(loaded, p) {
            if k.starts_with("CI_")
                || k == "CI"
                || k.starts_with("GITLAB_")
                || k == "TEZOS_CI_LOCAL"
            {
                continue;
            }
            let shown = if loaded.user_vars.iter().any(|u| u.name == k && u.masked) {
                "[MASKED]".to_string()
            } else {
                v
            };
            let _ = writeln!(s, "    {k}={shown}");
        }
        let _ = writeln!(s, "    (and GitLab's predefined CI_* variables)");
    }
    print!("{s}");
    Ok(())
}

fn variables(loaded: &Loaded, p: &crate::plan::PlannedJob) -> Vec<(String, String)> {
    let mut vars = p.variables.clone();
    for (k, v) in &loaded.plan.user_vars {
        vars.set(k, v, true);
    }
    vars.expanded()
}

pub fn render_rules(s: &mut String, total: usize, eval: &Evaluation) {
    for check in &eval.checks {
        let verdict = if check.matched {
            "matches"
        } else {
            "does not match"
        };
        let _ = writeln!(s, "    {}. {verdict}", check.index + 1);
        for c in &check.clauses {
            let _ = writeln!(
                s,
                "       {} -> {}{}",
                c.clause,
                c.result,
                if c.detail.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", c.detail)
                }
            );
        }
        if check.clauses.is_empty() {
            let _ = writeln!(s, "       (no condition: always matches)");
        }
    }
    let looked = eval.checks.len();
    if looked < total {
        let _ = writeln!(
            s,
            "    ({} later rules not evaluated: the first match wins)",
            total - looked
        );
    }
}
