//! `tezos-ci-local list`: the jobs of the pipeline for this source, as a table or JSON.

use serde::Serialize;

use crate::app::Loaded;
use crate::cli::ListArgs;

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
}

pub fn listed(loaded: &Loaded, all: bool) -> Vec<ListedJob> {
    // An image or a reason may be built from a masked variable.
    let masker = loaded.masker();
    let mut out: Vec<ListedJob> = loaded
        .plan
        .jobs
        .iter()
        .map(|j| ListedJob {
            name: j.job.name.clone(),
            stage: j.job.stage.clone(),
            when: j.when.to_string(),
            allow_failure: j.allow_failure.is_allowed(),
            needs: j
                .needs
                .as_ref()
                .map(|n| n.iter().map(|n| n.job.clone()).collect()),
            image: j.image.as_deref().map(|i| masker.masked(i)),
            platform: j.platform.clone(),
            included: true,
            excluded_because: None,
        })
        .collect();
    if all {
        for e in &loaded.plan.excluded {
            let job = loaded.pipeline.job(&e.name);
            out.push(ListedJob {
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
            });
        }
    }
    out
}

pub fn print(loaded: &Loaded, args: &ListArgs, json: bool) -> anyhow::Result<()> {
    let jobs = listed(loaded, args.all);
    if args.names {
        for job in &jobs {
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
    ];
    let rows: Vec<[String; 7]> = jobs
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
            ]
        })
        .collect();
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
    line(headers.to_vec(), &mut out);
    for r in &rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}
