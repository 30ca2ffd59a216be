//! `tezos-ci-local explain JOB`: the fully resolved job, why each of its rules matched or not,
//! and the key of its result in the job result cache, with the files it covers.

use std::fmt::Write;

use serde_json::json;

use crate::app::Loaded;
use crate::app::child::ChildListing;
use crate::cli::{CommonArgs, ExplainArgs};
use crate::error::Error;
use crate::plan::JobGraph;
use crate::plan::select::{Selection, select};
use crate::rules::Evaluation;
use crate::scheduler::child::SEPARATOR;
use crate::scheduler::result_keys::{InputsFrom, JobKey, PROJECT_CONFIG, why_it_runs};

pub fn print(
    loaded: &Loaded,
    common: &CommonArgs,
    args: &ExplainArgs,
    json: bool,
) -> anyhow::Result<()> {
    let name = &args.job;
    if loaded.pipeline.job(name).is_none() {
        if let Some(child) = in_child(loaded, name)? {
            return print_job(&child.0, common, name, json, Some(&child.1));
        }
    }
    print_job(loaded, common, name, json, None)
}

/// The static child pipeline that holds `name` (`TRIGGER » JOB`), as a `Loaded` of its own, and
/// its trigger job's name; an error for a job of a dynamic child.
fn in_child(loaded: &Loaded, name: &str) -> anyhow::Result<Option<(Loaded, String)>> {
    for child in &loaded.children {
        match child {
            ChildListing::Static(c) if c.pipeline.job(name).is_some() => {
                // A forwarded variable may carry a masked value under another name: the
                // parent's masked values stay masked.
                let mut user_vars = c.user.clone();
                user_vars.extend(loaded.user_vars.iter().filter(|u| u.masked).cloned());
                let child = Loaded {
                    checkout: loaded.checkout.clone(),
                    origin: c.origin.clone(),
                    pipeline: c.pipeline.clone(),
                    plan: c.plan.clone(),
                    user_vars,
                    changes: loaded.checkout.changes(&c.origin),
                    children: Vec::new(),
                };
                return Ok(Some((child, c.trigger.clone())));
            }
            ChildListing::Dynamic {
                trigger,
                generated_by,
            } if name.starts_with(&format!("{trigger}{SEPARATOR}")) => {
                return Err(Error::Usage(format!(
                    "`{name}` would be a job of the child pipeline of `{trigger}`, which is \
                     generated at run time by {}: its jobs are known only then",
                    generated_by.join(", ")
                ))
                .into());
            }
            _ => {}
        }
    }
    Ok(None)
}

fn print_job(
    loaded: &Loaded,
    common: &CommonArgs,
    name: &str,
    json: bool,
    child_of: Option<&str>,
) -> anyhow::Result<()> {
    let job = loaded
        .pipeline
        .job(name)
        .or_else(|| loaded.pipeline.jobs.iter().find(|j| j.base_name == *name))
        .ok_or_else(|| {
            Error::Usage(format!(
                "no job `{name}` in the pipeline{}; `tezos-ci-local list --all` shows them",
                super::suggest::hint(name, loaded.pipeline.jobs.iter().map(|j| j.name.as_str()))
            ))
        })?;
    let planned = loaded.plan.job(&job.name);
    let excluded = loaded.plan.excluded.iter().find(|e| e.name == job.name);
    // The jobs whose artifacts it receives (stages or `needs`, filtered by `dependencies`).
    let artifacts_from = match loaded.plan.index_of(&job.name) {
        Some(i) => {
            let graph = JobGraph::build(&loaded.plan).map_err(Error::from)?;
            let names = graph.artifacts_from[i]
                .iter()
                .map(|&d| loaded.plan.jobs[d].job.name.clone());
            Some(names.collect::<Vec<_>>())
        }
        None => None,
    };
    // A child job's key is computed by the run that plans its child, not here.
    let cache = planned
        .filter(|_| child_of.is_none())
        .map(|_| result_cache(loaded, common, &job.name))
        .transpose()?;
    // Variables built from a masked one, the rules trace and the key's reasons may all quote a
    // masked value: everything printed is masked, as GitLab shows `[MASKED]`.
    let masker = loaded.masker();
    if json {
        let mut value = json!({
            "job": job,
            "child_of": child_of,
            "planned": planned,
            "artifacts_from": artifacts_from,
            "excluded": excluded,
            "variables": planned.map(|p| variables(loaded, p)),
            "result_cache": cache.as_ref().map(CacheFacts::to_json),
        });
        masker.mask_json(&mut value);
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let mut s = String::new();
    let _ = writeln!(s, "job `{}`  (defined at {})", job.name, job.span);
    if let Some(trigger) = child_of {
        let _ = writeln!(
            s,
            "  in the child pipeline of `{trigger}` (its result cache key is not shown here)"
        );
    }
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
        let _ = writeln!(s, "  allow_failure: {}", allow_failure(&p.allow_failure));
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
        if let Some(from) = &artifacts_from {
            let _ = writeln!(s, "  artifacts from: [{}]", from.join(", "));
        }
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
            "  artifacts: paths [{}], when {}{}",
            a.paths.join(", "),
            artifacts_when(a.when),
            a.expire_in
                .as_ref()
                .map(|e| format!(", expire_in {e}"))
                .unwrap_or_default()
        );
    }
    // The planned job's caches: a policy written with variables is expanded there.
    for c in planned.map_or(&job.cache, |p| &p.job.cache) {
        let policy = match (&c.policy_expr, planned) {
            (Some(e), Some(_)) => format!("{} (from {e})", c.policy),
            (Some(e), None) => e.clone(),
            (None, _) => c.policy.to_string(),
        };
        let _ = writeln!(
            s,
            "  cache: key {}, paths [{}], policy {policy}",
            cache_key(&c.key),
            c.paths.join(", "),
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
                let names: Vec<&str> = job.retry.when.iter().map(|w| w.as_str()).collect();
                names.join(", ")
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
    if let Some(c) = &cache {
        c.render(&mut s);
    }
    print!("{}", masker.mask(&s));
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

/// What `explain` says about a job's result in the job result cache.
struct CacheFacts {
    key: Result<JobKey, String>,
    /// Whether the engine gave the image IDs (without them, the key is not a run's).
    image_ids_known: bool,
    /// Whether a result is stored under the key (known only with the image IDs).
    cached: Option<bool>,
    /// When no result is stored under it: what changed since the job's newest stored result.
    why: Option<String>,
}

/// The job's key as a run with no other flags would compute it: the same computation, over the
/// same files, with the image IDs from the engine when one answers.
fn result_cache(loaded: &Loaded, common: &CommonArgs, job: &str) -> anyhow::Result<CacheFacts> {
    let plan = &loaded.plan;
    let index = plan
        .jobs
        .iter()
        .position(|p| p.job.name == job)
        .expect("a planned job");
    let graph = JobGraph::build(plan).map_err(Error::from)?;
    let picks = select(plan, &graph, &Selection::default())?;
    let state = crate::store::state_dir(common.state_dir.as_deref());
    let predicted = super::predict::predict(loaded, &state, &graph, &picks, &Default::default())?;
    let (image_ids_known, cache) = (predicted.image_ids_known, predicted.cache);
    let key = predicted.keys.into_iter().nth(index).expect("a key a job");
    let (cached, why) = match (&key, image_ids_known) {
        (Ok(k), true) => {
            let hit = cache.has(&k.key);
            let why = if hit {
                None
            } else {
                Some(why_it_runs(&cache, job, &k.parts))
            };
            (Some(hit), why)
        }
        _ => (None, None),
    };
    Ok(CacheFacts {
        key,
        image_ids_known,
        cached,
        why,
    })
}

impl CacheFacts {
    fn covers(k: &JobKey) -> String {
        match &k.inputs {
            None => "all project files".into(),
            Some(d) => format!(
                "inputs: {} (from {})",
                d.patterns.join(", "),
                match d.from {
                    InputsFrom::Config => PROJECT_CONFIG,
                    InputsFrom::RulesChanges => "rules:changes",
                }
            ),
        }
    }

    fn render(&self, s: &mut String) {
        let k = match &self.key {
            Ok(k) => k,
            Err(why) => {
                let _ = writeln!(s, "  result cache: no key before the run: {why}");
                return;
            }
        };
        let _ = writeln!(
            s,
            "  result cache: key {} over {}, {} file{}",
            &k.key[..12],
            Self::covers(k),
            k.files,
            if k.files == 1 { "" } else { "s" }
        );
        let _ = match self.cached {
            _ if !self.image_ids_known => writeln!(
                s,
                "    image IDs unknown (no Docker engine answered): a run's key covers them too, \
                 so it differs from this one"
            ),
            Some(true) => writeln!(
                s,
                "    a result is cached under this key: the next run reports the job `cached`"
            ),
            _ => writeln!(
                s,
                "    no result is cached under this key: the next run runs the job ({})",
                self.why.as_deref().unwrap_or("no result stored")
            ),
        };
    }

    fn to_json(&self) -> serde_json::Value {
        match &self.key {
            Ok(k) => json!({
                "key": k.key,
                "inputs": k.inputs.as_ref().map(|d| &d.patterns),
                "inputs_from": k.inputs.as_ref().map(|d| match d.from {
                    InputsFrom::Config => PROJECT_CONFIG,
                    InputsFrom::RulesChanges => "rules:changes",
                }),
                "files": k.files,
                "image_ids_known": self.image_ids_known,
                "cached": self.cached,
                "why": self.why,
            }),
            Err(why) => json!({ "key": null, "why": why }),
        }
    }
}

// GitLab's own words for the values `explain` shows, as written in `.gitlab-ci.yml`.

fn allow_failure(a: &crate::pipeline::model::AllowFailure) -> String {
    use crate::pipeline::model::AllowFailure;
    match a {
        AllowFailure::No => "false".to_string(),
        AllowFailure::Yes => "true".to_string(),
        AllowFailure::ExitCodes(codes) => format!(
            "exit_codes [{}]",
            codes
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn artifacts_when(w: crate::pipeline::model::ArtifactsWhen) -> &'static str {
    use crate::pipeline::model::ArtifactsWhen;
    match w {
        ArtifactsWhen::OnSuccess => "on_success",
        ArtifactsWhen::OnFailure => "on_failure",
        ArtifactsWhen::Always => "always",
    }
}

fn cache_key(k: &crate::pipeline::model::CacheKey) -> String {
    use crate::pipeline::model::CacheKey;
    match k {
        CacheKey::Literal(key) => key.clone(),
        CacheKey::Files { files, prefix } => format!(
            "files [{}]{}",
            files.join(", "),
            prefix
                .as_ref()
                .map(|p| format!(" prefix {p}"))
                .unwrap_or_default()
        ),
    }
}
