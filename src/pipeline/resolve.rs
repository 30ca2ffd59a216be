//! From the merged top-level map to one map per job: `!reference` tags, then `extends`, then
//! `default:` (with `inherit:`), in the order GitLab applies them.

use std::collections::{HashMap, HashSet};

use crate::error::{ConfigError, ConfigErrors};
use crate::pipeline::merge::deep_merge;
use crate::pipeline::read;
use crate::yaml::{Map, Node, Span, Value};

/// Top-level keys that are keywords, not jobs.
pub const GLOBAL_KEYWORDS: &[&str] = &[
    "default",
    "include",
    "stages",
    "types",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
];

/// Keys `default:` may hold (and the legacy global ones among them).
pub const DEFAULT_KEYS: &[&str] = &[
    "after_script",
    "artifacts",
    "before_script",
    "cache",
    "hooks",
    "id_tokens",
    "image",
    "interruptible",
    "retry",
    "services",
    "tags",
    "timeout",
];

/// GitLab's limits: `!reference` nests at most 10 levels, `extends` at most 11.
const MAX_REFERENCE_DEPTH: usize = 10;
const MAX_EXTENDS_DEPTH: usize = 11;
/// How many YAML nodes `!reference` substitution may copy in all: references that point at
/// references multiply (ten levels of two references each copy a node a thousand times), so
/// the depth limit alone does not bound the work. The Octez-shaped example copies 8.
const MAX_REFERENCE_NODES: usize = 100_000;

/// The top level after resolution: global keywords, and each job's (visible and hidden) own map.
#[derive(Debug)]
pub struct Resolved {
    pub globals: Map,
    /// Visible jobs in file order, with `extends` merged in and `default:` applied.
    pub jobs: Vec<(String, Node)>,
}

/// Resolves what can be: a job whose `extends` or `!reference` fails is left out of the result
/// and its error recorded, so that the other jobs are still built and every problem reported.
///
/// GitLab's order (`Gitlab::Ci::Config#build_config`): `Config::Extendable` first, then
/// `Config::Yaml::Tags::Resolver` on the extended document, so a `!reference` sees the keys a
/// job or template has through `extends`, and a reference a job overrides is never resolved.
pub fn resolve(root: Map) -> (Resolved, ConfigErrors) {
    let mut errors = ConfigErrors::default();
    let mut globals = Map::new();
    let mut jobs: Vec<(String, Node, Span)> = Vec::new();
    for (key, node, span) in root.into_entries() {
        if GLOBAL_KEYWORDS.contains(&key.as_str()) {
            globals.insert(key, node, span);
        } else {
            jobs.push((key, node, span));
        }
    }
    let templates: HashMap<&str, &Node> = jobs.iter().map(|(k, n, _)| (k.as_str(), n)).collect();
    let mut extended: HashMap<String, Node> = HashMap::new();
    let mut failed: HashSet<String> = HashSet::new();
    for (name, node, span) in &jobs {
        if name.starts_with('.') {
            continue;
        }
        if node.as_map().is_none() {
            errors.push(
                ConfigError::new(
                    Some(span),
                    format!("a job is a map of keywords, found {}", node.kind()),
                )
                .job(name),
            );
            failed.insert(name.clone());
            continue;
        }
        let mut chain = Vec::new();
        if let Err(e) = extend(name, &templates, &mut extended, &mut chain) {
            errors.push(e);
            failed.insert(name.clone());
        }
    }
    // What a `!reference` looks up: the global keywords and every job and template, extended
    // where that succeeds (a template nobody extends is extended here, its errors unreported,
    // as before: only what a job uses is checked). A pipeline without `!reference` needs no
    // copy of itself.
    let has_references = globals.iter().any(|(_, n)| has_reference(n))
        || jobs.iter().any(|(_, n, _)| has_reference(n));
    let mut budget = MAX_REFERENCE_NODES;
    let mut lookup = if has_references {
        globals.clone()
    } else {
        Map::new()
    };
    for (name, node, span) in jobs.iter().filter(|_| has_references) {
        let mut chain = Vec::new();
        let node = match extended.get(name) {
            Some(n) => n.clone(),
            None if name.starts_with('.') && node.as_map().is_some() => {
                extend(name, &templates, &mut extended, &mut chain).unwrap_or_else(|_| node.clone())
            }
            None => node.clone(),
        };
        lookup.insert(name.clone(), node, span.clone());
    }
    let mut resolved_globals = Map::new();
    for (key, mut node, span) in globals.into_entries() {
        match substitute(&mut node, &lookup, 0, &mut budget) {
            Ok(()) => resolved_globals.insert(key, node, span),
            Err(e) => errors.push(e),
        }
    }
    let globals = resolved_globals;

    let defaults = default_map(&globals).unwrap_or_else(|e| {
        errors.0.extend(e.0);
        Map::new()
    });
    let mut out = Vec::new();
    for (name, _, _) in &jobs {
        if name.starts_with('.') || failed.contains(name) {
            continue;
        }
        let Some(mut node) = extended.remove(name) else {
            continue;
        };
        if let Err(e) = substitute(&mut node, &lookup, 0, &mut budget) {
            errors.push(e.job(name));
            continue;
        }
        if let Err(e) = apply_defaults(name, &mut node, &defaults) {
            errors.push(e);
            continue;
        }
        out.push((name.clone(), node));
    }
    (Resolved { globals, jobs: out }, errors)
}

/// `default:` merged with the legacy global keywords (`image:` at the top level and so on).
fn default_map(globals: &Map) -> Result<Map, ConfigErrors> {
    let mut defaults = Map::new();
    for key in [
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
    ] {
        if let (Some(n), Some(span)) = (globals.get(key), globals.key_span(key)) {
            defaults.insert(key.to_string(), n.clone(), span.clone());
        }
    }
    if let Some(d) = globals.get("default") {
        if d.is_null() {
            return Ok(defaults);
        }
        let m = read::map(d, "default")?;
        read::check_keys(m, d, "default", DEFAULT_KEYS)?;
        for (k, v, span) in m.iter_with_spans() {
            defaults.insert(k.to_string(), v.clone(), span.clone());
        }
    }
    Ok(defaults)
}

fn apply_defaults(name: &str, node: &mut Node, defaults: &Map) -> Result<(), ConfigError> {
    let job = node.as_map_mut().expect("jobs are maps");
    let inherit = match job
        .get("inherit")
        .and_then(|i| i.as_map())
        .and_then(|i| i.get("default"))
    {
        None => None,
        Some(n) => match &n.value {
            Value::Scalar { .. } => {
                if read::boolean(n, "inherit:default").map_err(|e| e.job(name))? {
                    None
                } else {
                    Some(Vec::new())
                }
            }
            _ => Some(read::string_list(n, "inherit:default").map_err(|e| e.job(name))?),
        },
    };
    for (key, value, span) in defaults.iter_with_spans() {
        if let Some(allowed) = &inherit {
            if !allowed.iter().any(|a| a == key) {
                continue;
            }
        }
        // A keyword set to `null` is unspecified for GitLab, so the default fills it.
        if job.get(key).is_none_or(Node::is_null) {
            job.insert(key.to_string(), value.clone(), span.clone());
        }
    }
    Ok(())
}

/// Resolves `extends` for `name`, memoised in `done`. `chain` is the path so far, for cycles.
fn extend(
    name: &str,
    templates: &HashMap<&str, &Node>,
    done: &mut HashMap<String, Node>,
    chain: &mut Vec<String>,
) -> Result<Node, ConfigError> {
    if let Some(n) = done.get(name) {
        return Ok(n.clone());
    }
    let node = templates[name];
    if chain.iter().any(|c| c == name) {
        chain.push(name.to_string());
        return Err(ConfigError::new(
            Some(&node.span),
            format!("`extends` cycle: {}", chain.join(" -> ")),
        )
        .job(&chain[0])
        .key("extends"));
    }
    if chain.len() >= MAX_EXTENDS_DEPTH {
        return Err(ConfigError::new(
            Some(&node.span),
            format!("`extends` nests more than {MAX_EXTENDS_DEPTH} levels"),
        )
        .job(&chain[0])
        .key("extends"));
    }
    let Some(map) = node.as_map() else {
        return Err(ConfigError::new(
            Some(&node.span),
            format!("`{name}` is extended but is not a map"),
        )
        .key("extends"));
    };
    let mut own = map.clone();
    let Some(ext) = own.remove("extends") else {
        done.insert(name.to_string(), node.clone());
        return Ok(node.clone());
    };
    let parents = read::string_list(&ext, "extends").map_err(|e| e.job(name))?;
    chain.push(name.to_string());
    let mut merged = Map::new();
    for parent in &parents {
        if !templates.contains_key(parent.as_str()) {
            chain.pop();
            return Err(ConfigError::new(
                Some(&ext.span),
                format!("unknown job or template `{parent}` in `extends`"),
            )
            .job(name)
            .key("extends"));
        }
        let resolved = extend(parent, templates, done, chain)?;
        let Value::Map(pm) = resolved.value else {
            chain.pop();
            return Err(ConfigError::new(
                Some(&resolved.span),
                format!("`{parent}` is extended but is not a map"),
            )
            .job(name)
            .key("extends"));
        };
        deep_merge(&mut merged, pm);
    }
    chain.pop();
    deep_merge(&mut merged, own);
    let result = Node::new(Value::Map(merged), node.span.clone());
    done.insert(name.to_string(), result.clone());
    Ok(result)
}

/// Replaces every `!reference [job, key, ...]` in `node` with what it points at in `lookup`
/// (the extended document). In a list, a reference to a list splices it in.
fn substitute(
    node: &mut Node,
    lookup: &Map,
    depth: usize,
    budget: &mut usize,
) -> Result<(), ConfigError> {
    match &mut node.value {
        Value::Reference(path) => {
            let path = path.clone();
            let target = lookup_path(lookup, &path).ok_or_else(|| {
                ConfigError::new(
                    Some(&node.span),
                    format!("`!reference [{}]` points at nothing", path.join(", ")),
                )
            })?;
            if depth >= MAX_REFERENCE_DEPTH {
                return Err(ConfigError::new(
                    Some(&node.span),
                    format!("`!reference` nests more than {MAX_REFERENCE_DEPTH} levels"),
                ));
            }
            match budget.checked_sub(node_count(target)) {
                Some(left) => *budget = left,
                None => {
                    return Err(ConfigError::new(
                        Some(&node.span),
                        format!(
                            "`!reference` substitution would copy more than {MAX_REFERENCE_NODES} YAML nodes"
                        ),
                    ));
                }
            }
            let mut target = target.clone();
            substitute(&mut target, lookup, depth + 1, budget)?;
            *node = target;
        }
        Value::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for mut item in std::mem::take(items) {
                let was_reference = matches!(item.value, Value::Reference(_));
                substitute(&mut item, lookup, depth, budget)?;
                match item.value {
                    Value::Seq(inner) if was_reference => out.extend(inner),
                    _ => out.push(item),
                }
            }
            *items = out;
        }
        Value::Map(m) => {
            for (_, v) in m.iter_mut() {
                substitute(v, lookup, depth, budget)?;
            }
        }
        Value::Null | Value::Scalar { .. } => {}
    }
    Ok(())
}

fn lookup_path<'a>(root: &'a Map, path: &[String]) -> Option<&'a Node> {
    let mut node = root.get(path.first()?)?;
    for key in &path[1..] {
        node = node.as_map()?.get(key)?;
    }
    Some(node)
}

fn has_reference(node: &Node) -> bool {
    match &node.value {
        Value::Reference(_) => true,
        Value::Seq(items) => items.iter().any(has_reference),
        Value::Map(m) => m.iter().any(|(_, v)| has_reference(v)),
        Value::Null | Value::Scalar { .. } => false,
    }
}

/// The number of nodes in `node`, counted without recursion on the stack.
fn node_count(node: &Node) -> usize {
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        count += 1;
        match &n.value {
            Value::Seq(items) => stack.extend(items.iter()),
            Value::Map(m) => stack.extend(m.iter().map(|(_, v)| v)),
            Value::Null | Value::Scalar { .. } | Value::Reference(_) => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn resolved(text: &str) -> Result<Resolved, ConfigErrors> {
        let root = parse_str(text, Arc::new(PathBuf::from("t.yml"))).unwrap();
        let (resolved, errors) = resolve(root.as_map().unwrap().clone());
        errors.into_result().map(|()| resolved)
    }

    fn job<'a>(r: &'a Resolved, name: &str) -> &'a Map {
        r.jobs
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .as_map()
            .unwrap()
    }

    #[test]
    fn extends_merges_parents_in_order_then_the_job() {
        let r = resolved(
            ".a:\n  image: a\n  variables: {X: a, Y: a}\n  script: [a]\n.b:\n  extends: .a\n  variables: {Y: b}\n  tags: [b]\n.c:\n  image: c\n  tags: [c]\njob:\n  extends: [.b, .c]\n  script: [j]\n",
        )
        .unwrap();
        let j = job(&r, "job");
        assert_eq!(
            j.get("image").unwrap().as_scalar(),
            Some("c"),
            "later parent wins"
        );
        assert_eq!(
            j.get("tags").unwrap().as_seq().unwrap()[0].as_scalar(),
            Some("c"),
            "lists are replaced"
        );
        let v = j.get("variables").unwrap().as_map().unwrap();
        assert_eq!(
            (
                v.get("X").unwrap().as_scalar(),
                v.get("Y").unwrap().as_scalar()
            ),
            (Some("a"), Some("b"))
        );
        assert_eq!(
            j.get("script").unwrap().as_seq().unwrap()[0].as_scalar(),
            Some("j")
        );
        assert!(!j.contains_key("extends"));
        assert_eq!(r.jobs.len(), 1, "hidden jobs are not jobs");
    }

    #[test]
    fn extends_errors_name_the_job_and_key() {
        let e = resolved("job:\n  extends: .missing\n  script: [x]\n").unwrap_err();
        assert_eq!(e.0[0].job.as_deref(), Some("job"));
        assert_eq!(e.0[0].key.as_deref(), Some("extends"));
        assert_eq!(e.0[0].span.as_ref().unwrap().line, 2);
        let e = resolved(
            ".a:\n  extends: .b\n.b:\n  extends: .a\njob:\n  extends: .a\n  script: [x]\n",
        )
        .unwrap_err();
        assert!(e.0[0].message.contains("cycle"), "{e}");
    }

    #[test]
    fn references_resolve_after_extends_and_splice_lists() {
        let r = resolved(
            ".setup:\n  script: [s1, s2]\n  variables: {V: '1'}\n.p:\n  extends: .setup\njob:\n  variables: !reference [.setup, variables]\n  script:\n    - !reference [.setup, script]\n    - mine\n",
        )
        .unwrap();
        let j = job(&r, "job");
        let script: Vec<_> = j
            .get("script")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .map(|n| n.as_scalar().unwrap())
            .collect();
        assert_eq!(script, ["s1", "s2", "mine"]);
        assert!(
            j.get("variables")
                .unwrap()
                .as_map()
                .unwrap()
                .contains_key("V")
        );
        // GitLab resolves references after `extends`: `.p` has `script` through `.setup`.
        let r = resolved(
            ".setup:\n  script: [s1]\n.p:\n  extends: .setup\njob:\n  script: !reference [.p, script]\n",
        )
        .unwrap();
        assert_eq!(
            job(&r, "job").get("script").unwrap().as_seq().unwrap()[0].as_scalar(),
            Some("s1")
        );
    }

    #[test]
    fn a_failure_leaves_the_other_jobs_resolved_and_is_reported_once() {
        let root = parse_str(
            ".t:\n  script: !reference [.nope, script]\na:\n  extends: .t\nb:\n  extends: .missing\nc:\n  script: [ok]\n",
            Arc::new(PathBuf::from("t.yml")),
        )
        .unwrap();
        let (r, errors) = resolve(root.as_map().unwrap().clone());
        let names: Vec<&str> = r.jobs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["c"]);
        assert_eq!(errors.0.len(), 2, "{errors}");
        assert!(
            errors
                .0
                .iter()
                .any(|e| e.message.contains("points at nothing") && e.job.as_deref() == Some("a")),
            "{errors}"
        );
        assert!(
            errors.0.iter().any(|e| e.message.contains(".missing")),
            "{errors}"
        );
    }

    #[test]
    fn defaults_fill_missing_keys_unless_inherit_says_no() {
        let r = resolved(
            "default:\n  image: d\n  before_script: [b]\nimage: legacy\na:\n  script: [x]\nb:\n  image: own\n  script: [x]\nc:\n  inherit: {default: false}\n  script: [x]\nd:\n  inherit: {default: [before_script]}\n  script: [x]\n",
        )
        .unwrap();
        assert_eq!(job(&r, "a").get("image").unwrap().as_scalar(), Some("d"));
        assert_eq!(job(&r, "b").get("image").unwrap().as_scalar(), Some("own"));
        assert!(!job(&r, "c").contains_key("image"));
        assert!(!job(&r, "d").contains_key("image"));
        assert!(job(&r, "d").contains_key("before_script"));
    }
}
