//! Reads a job's `trigger:` (GitLab's CI YAML reference, `trigger`): a project path or
//! `trigger:project` (a multi-project pipeline, listed here, not run), or `trigger:include` (a
//! child pipeline: include entries, or `artifact:` + `job:` for a file an earlier job made), with
//! `strategy: depend` and `forward:`.

use crate::pipeline::model::{ChildInclude, Trigger, TriggerTarget};
use crate::pipeline::read::{R, boolean, err, string};
use crate::yaml::{Node, Value};

/// The trigger and its few words for `list`.
pub fn read(value: &Node) -> R<(Trigger, String)> {
    let key = "trigger";
    let mut trigger = Trigger {
        target: TriggerTarget::Project(String::new()),
        depend: false,
        forward_yaml_variables: true,
        forward_pipeline_variables: false,
        span: value.span.clone(),
    };
    let m = match &value.value {
        Value::Scalar { text, .. } => {
            trigger.target = TriggerTarget::Project(text.clone());
            return Ok((trigger, text.clone()));
        }
        Value::Map(m) => m,
        _ => return Err(err(value, key, "`trigger:` is a project path or a map")),
    };
    for (k, v) in m.iter() {
        match k {
            "project" | "branch" | "include" => {}
            "strategy" => match v.as_scalar() {
                Some("depend") => trigger.depend = true,
                // GitLab 18 adds `mirror`: the same status, and the child's jobs are not
                // shown in the parent; here they are shown either way.
                Some("mirror") => trigger.depend = true,
                _ => {
                    return Err(err(
                        v,
                        "trigger:strategy",
                        "`trigger:strategy` is `depend` (or `mirror`)",
                    ));
                }
            },
            "forward" => {
                let Value::Map(f) = &v.value else {
                    return Err(err(
                        v,
                        "trigger:forward",
                        "`trigger:forward` is a map of `yaml_variables` and `pipeline_variables`",
                    ));
                };
                for (fk, fv) in f.iter() {
                    let name = format!("trigger:forward:{fk}");
                    match fk {
                        "yaml_variables" => trigger.forward_yaml_variables = boolean(fv, &name)?,
                        "pipeline_variables" => {
                            trigger.forward_pipeline_variables = boolean(fv, &name)?
                        }
                        _ => {
                            return Err(err(
                                fv,
                                &name,
                                "unknown key: `trigger:forward` takes `yaml_variables` and `pipeline_variables`",
                            ));
                        }
                    }
                }
            }
            _ => {
                return Err(err(
                    v,
                    &format!("trigger:{k}"),
                    format!(
                        "unknown key `{k}`: `trigger:` takes `include`, `project`, `branch`, `strategy` and `forward`"
                    ),
                ));
            }
        }
    }
    match (m.get("project"), m.get("include")) {
        (Some(p), None) => {
            let project = string(p, "trigger:project")?;
            trigger.target = TriggerTarget::Project(project.clone());
            Ok((trigger, project))
        }
        (None, Some(inc)) => {
            let entries = includes(inc)?;
            let words = entries
                .iter()
                .map(|e| match e {
                    ChildInclude::Artifact { file, job, .. } => format!("{file} from {job}"),
                    ChildInclude::Include(n) => match &n.value {
                        Value::Scalar { text, .. } => text.clone(),
                        Value::Map(m) => m
                            .iter()
                            .next()
                            .and_then(|(_, v)| v.as_scalar().map(String::from))
                            .unwrap_or_else(|| "child pipeline".into()),
                        _ => "child pipeline".into(),
                    },
                })
                .collect::<Vec<_>>()
                .join(", ");
            trigger.target = TriggerTarget::Child(entries);
            Ok((trigger, format!("child pipeline: {words}")))
        }
        (Some(_), Some(inc)) => Err(err(
            inc,
            "trigger:include",
            "`trigger:` takes `project` or `include`, not both",
        )),
        (None, None) => Err(err(
            value,
            key,
            "`trigger:` needs `include` (a child pipeline) or `project` (another project's)",
        )),
    }
}

fn includes(inc: &Node) -> R<Vec<ChildInclude>> {
    let items: Vec<&Node> = match &inc.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![inc],
    };
    if items.is_empty() {
        return Err(err(
            inc,
            "trigger:include",
            "`trigger:include` names no file",
        ));
    }
    // GitLab allows at most 3 files in a child's `trigger:include`.
    if items.len() > 3 {
        return Err(err(
            inc,
            "trigger:include",
            format!(
                "`trigger:include` names {} files; GitLab allows at most 3",
                items.len()
            ),
        ));
    }
    items
        .into_iter()
        .map(|n| match &n.value {
            Value::Map(m) if m.contains_key("artifact") => {
                let file = string(
                    m.get("artifact").expect("checked"),
                    "trigger:include:artifact",
                )?;
                let job = m
                    .get("job")
                    .ok_or_else(|| {
                        err(
                            n,
                            "trigger:include:job",
                            "an `artifact:` include needs `job:`, the job that makes the file",
                        )
                    })
                    .and_then(|j| string(j, "trigger:include:job"))?;
                Ok(ChildInclude::Artifact {
                    file,
                    job,
                    span: n.span.clone(),
                })
            }
            Value::Map(_) | Value::Scalar { .. } => Ok(ChildInclude::Include(n.clone())),
            _ => Err(err(
                n,
                "trigger:include",
                format!("an include is a path or a map, found {}", n.kind()),
            )),
        })
        .collect()
}
