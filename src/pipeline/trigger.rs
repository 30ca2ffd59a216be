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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::*;

    fn trigger(yaml: &str) -> R<(Trigger, String)> {
        let node = crate::yaml::parse_str(yaml, Arc::new(PathBuf::from("t.yml"))).unwrap();
        read(&node)
    }

    #[test]
    fn a_project_path_is_a_multi_project_trigger() {
        let (t, words) = trigger("group/other").unwrap();
        assert!(matches!(t.target, TriggerTarget::Project(ref p) if p == "group/other"));
        assert_eq!(words, "group/other");
        let (t, _) = trigger("{project: group/other, branch: main, strategy: depend}").unwrap();
        assert!(t.child().is_none() && t.depend);
    }

    #[test]
    fn include_takes_paths_maps_and_artifacts_with_gitlabs_defaults() {
        let (t, words) = trigger("{include: ci/child.yml}").unwrap();
        assert_eq!(t.child().unwrap().len(), 1);
        assert!(!t.depend && t.forward_yaml_variables && !t.forward_pipeline_variables);
        assert!(!t.is_dynamic());
        assert_eq!(words, "child pipeline: ci/child.yml");
        let (t, words) = trigger(
            "include: [{local: a.yml}, {artifact: gen.yml, job: make}]\nstrategy: depend\nforward: {yaml_variables: false, pipeline_variables: true}",
        )
        .unwrap();
        assert!(t.depend && !t.forward_yaml_variables && t.forward_pipeline_variables);
        assert!(t.is_dynamic());
        assert_eq!(words, "child pipeline: a.yml, gen.yml from make");
    }

    #[test]
    fn mistakes_name_their_key() {
        let key = |yaml: &str| trigger(yaml).unwrap_err().key.unwrap_or_default();
        assert_eq!(key("{include: a.yml, strategy: wait}"), "trigger:strategy");
        assert_eq!(
            key("{include: [{artifact: gen.yml}]}"),
            "trigger:include:job"
        );
        assert_eq!(
            key("{include: a.yml, forward: {all: true}}"),
            "trigger:forward:all"
        );
        assert_eq!(key("{include: a.yml, project: x}"), "trigger:include");
        assert_eq!(key("{include: a.yml, when: always}"), "trigger:when");
        assert_eq!(key("{strategy: depend}"), "trigger");
        assert_eq!(
            key("{include: [a.yml, b.yml, c.yml, d.yml]}"),
            "trigger:include"
        );
    }
}
