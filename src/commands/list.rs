//! `tezos-ci-local list`: the jobs of the pipeline for this source, as a table or JSON.

use serde::Serialize;

use crate::app::Loaded;
use crate::app::child::ChildListing;
use crate::cli::ListArgs;
use crate::scheduler::child::SEPARATOR;

#[derive(Debug, Serialize)]
pub struct ListedJob {
    pub name: String,
    pub stage: String,
    pub when: String,
    pub allow_failure: bool,
    /// `null` when the job waits for earlier stages instead.
    pub needs: Option<Vec<String>>,
    pub image: Option<String>,
    pub platform: String,
    pub included: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_because: Option<String>,
    /// The trigger job whose child pipeline holds this job (named `TRIGGER » JOB`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// For a dynamic child pipeline (one row, `TRIGGER » *`): the jobs whose artifacts it is
    /// read from, at run time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_by: Option<Vec<String>>,
}

fn planned_rows(
    plan: &crate::plan::Plan,
    masker: &crate::mask::Masker,
    trigger: Option<&str>,
) -> Vec<ListedJob> {
    plan.jobs
        .iter()
        .map(|j| ListedJob {
            name: j.job.name.clone(),
            stage: j.job.stage.clone(),
            when: j.when.to_string(),
            allow_failure: j.allow_failure.is_allowed(),
            // A child's `needs` name its own jobs; the run names them `TRIGGER » JOB`.
            needs: j.needs.as_ref().map(|n| {
                n.iter()
                    .map(|n| match trigger {
                        Some(t) => format!("{t}{SEPARATOR}{}", n.job),
                        None => n.job.clone(),
                    })
                    .collect()
            }),
            image: j.image.as_deref().map(|i| masker.masked(i)),
            platform: j.platform.clone(),
            included: true,
            excluded_because: None,
            trigger: trigger.map(String::from),
            generated_by: None,
        })
        .collect()
}

fn excluded_rows(
    plan: &crate::plan::Plan,
    pipeline: &crate::pipeline::Pipeline,
    masker: &crate::mask::Masker,
    trigger: Option<&str>,
) -> Vec<ListedJob> {
    plan.excluded
        .iter()
        .map(|e| {
            let job = pipeline.job(&e.name);
            ListedJob {
                name: e.name.clone(),
                stage: e.stage.clone(),
                when: "never".into(),
                allow_failure: job.is_some_and(|j| j.allow_failure.is_allowed()),
                needs: job
                    .and_then(|j| j.needs.as_ref())
                    .map(|n| n.iter().map(|n| n.job.clone()).collect()),
                image: job
                    .and_then(|j| j.image.as_ref())
                    .map(|i| masker.masked(&i.name)),
                platform: String::new(),
                included: false,
                excluded_because: Some(masker.masked(&e.reason)),
                trigger: trigger.map(String::from),
                generated_by: None,
            }
        })
        .collect()
}

/// The jobs of the child pipelines, under their trigger jobs' names, as the run names them.
fn child_rows(loaded: &Loaded, masker: &crate::mask::Masker, all: bool) -> Vec<ListedJob> {
    let mut out = Vec::new();
    for child in &loaded.children {
        match child {
            ChildListing::Static(c) => {
                let trigger = &c.trigger;
                if c.not_created.is_none() {
                    out.extend(planned_rows(&c.plan, masker, Some(trigger)));
                }
                if all {
                    let mut rows = excluded_rows(&c.plan, &c.pipeline, masker, Some(trigger));
                    if let Some(why) = &c.not_created {
                        for r in &mut rows {
                            r.excluded_because = Some(masker.masked(why));
                        }
                    }
                    out.extend(rows);
                }
            }
            ChildListing::Dynamic {
                trigger,
                generated_by,
            } => out.push(ListedJob {
                name: format!("{trigger}{SEPARATOR}*"),
                stage: String::new(),
                when: format!("generated at run time by {}", generated_by.join(", ")),
                allow_failure: false,
                needs: Some(generated_by.clone()),
                image: None,
                platform: String::new(),
                included: true,
                excluded_because: None,
                trigger: Some(trigger.clone()),
                generated_by: Some(generated_by.clone()),
            }),
        }
    }
    out
}

pub fn listed(loaded: &Loaded, all: bool) -> Vec<ListedJob> {
    // An image or a reason may be built from a masked variable.
    let masker = loaded.masker();
    let mut out = planned_rows(&loaded.plan, &masker, None);
    if all {
        out.extend(excluded_rows(&loaded.plan, &loaded.pipeline, &masker, None));
    }
    out.extend(child_rows(loaded, &masker, all));
    out
}

pub fn print(loaded: &Loaded, args: &ListArgs, json: bool) -> anyhow::Result<()> {
    let jobs = listed(loaded, args.all);
    if args.names {
        for job in jobs.iter().filter(|j| j.generated_by.is_none()) {
            println!("{}", job.name);
        }
        return Ok(());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&jobs)?);
        return Ok(());
    }
    if let Some(why) = &loaded.plan.workflow_excluded {
        println!(
            "No pipeline for this {} event: {}.",
            loaded.origin.source,
            loaded.masker().mask(why)
        );
        if !args.all {
            return Ok(());
        }
    }
    print!("{}", render_table(&jobs));
    Ok(())
}

pub fn render_table(jobs: &[ListedJob]) -> String {
    let headers = [
        "NAME",
        "STAGE",
        "WHEN",
        "ALLOW_FAILURE",
        "NEEDS",
        "IMAGE",
        "PLATFORM",
        "TRIGGER",
    ];
    let rows: Vec<[String; 8]> = jobs
        .iter()
        .map(|j| {
            let needs = match &j.needs {
                None => "(stages)".to_string(),
                Some(n) if n.is_empty() => "[]".to_string(),
                Some(n) => n.join(","),
            };
            [
                j.name.clone(),
                j.stage.clone(),
                if j.included {
                    j.when.clone()
                } else {
                    format!("excluded: {}", j.excluded_because.as_deref().unwrap_or(""))
                },
                if j.allow_failure {
                    "yes".into()
                } else {
                    "no".into()
                },
                needs,
                j.image.clone().unwrap_or_else(|| "-".into()),
                if j.platform.is_empty() {
                    "-".into()
                } else {
                    j.platform.clone()
                },
                j.trigger.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    // The TRIGGER column only when there are child pipelines.
    let shown = if jobs.iter().any(|j| j.trigger.is_some()) {
        headers.len()
    } else {
        headers.len() - 1
    };
    let mut widths = headers.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count().min(60));
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths.iter()).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers[..shown].to_vec(), &mut out);
    for r in &rows {
        line(r[..shown].iter().map(String::as_str).collect(), &mut out);
    }
    out
}
