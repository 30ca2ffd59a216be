//! Reading typed values out of YAML nodes, with errors that name the key and the line. Shared by
//! the loader (include rules) and the model builder (everything else).

use std::str::FromStr;
use std::time::Duration;

use crate::error::ConfigError;
use crate::pipeline::model::{Changes, Need, Rule, Variable, When};
use crate::pipeline::names::UnknownName;
use crate::yaml::{Map, Node, Value};

pub type R<T> = Result<T, ConfigError>;

pub fn err(node: &Node, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(Some(&node.span), message).key(key)
}

pub fn string(node: &Node, key: &str) -> R<String> {
    match &node.value {
        Value::Scalar { text, .. } => Ok(text.clone()),
        _ => Err(err(
            node,
            key,
            format!("expected a string, found {}", node.kind()),
        )),
    }
}

/// A string, or a list of strings (nested lists are flattened, as GitLab does for scripts).
pub fn string_list(node: &Node, key: &str) -> R<Vec<String>> {
    let mut out = Vec::new();
    fn walk(node: &Node, key: &str, depth: usize, out: &mut Vec<String>) -> R<()> {
        match &node.value {
            Value::Null => Ok(()),
            Value::Scalar { text, .. } => {
                out.push(text.clone());
                Ok(())
            }
            Value::Seq(items) if depth < 10 => {
                items.iter().try_for_each(|i| walk(i, key, depth + 1, out))
            }
            _ => Err(err(
                node,
                key,
                format!(
                    "expected a string or a list of strings, found {}",
                    node.kind()
                ),
            )),
        }
    }
    walk(node, key, 0, &mut out)?;
    Ok(out)
}

/// A text GitLab's schema takes as a string: a quoted or block scalar, or a plain one that YAML
/// does not read as a number or a boolean (`script: 42` is refused, as GitLab refuses it).
pub fn text(node: &Node, key: &str) -> R<String> {
    match &node.value {
        Value::Scalar { text, plain: true }
            if node.kind() == "a number" || node.kind() == "a boolean" =>
        {
            Err(err(
                node,
                key,
                format!(
                    "expected a string, found {} (`{text}`); quote it",
                    node.kind()
                ),
            ))
        }
        _ => string(node, key),
    }
}

/// Like [`string_list`], but every item must be a string as GitLab's schema reads it ([`text`]).
pub fn texts(node: &Node, key: &str) -> R<Vec<String>> {
    let mut out = Vec::new();
    walk_texts(node, key, 0, &mut |n| {
        out.push(text(n, key)?);
        Ok(())
    })?;
    Ok(out)
}

/// Like [`texts`], each item one of GitLab's names (`names.rs`), checked where it is written.
pub fn names<T: FromStr<Err = UnknownName>>(node: &Node, key: &str) -> R<Vec<T>> {
    let mut out = Vec::new();
    walk_texts(node, key, 0, &mut |n| {
        let t = text(n, key)?;
        out.push(
            t.parse()
                .map_err(|e: UnknownName| err(n, key, e.to_string()))?,
        );
        Ok(())
    })?;
    Ok(out)
}

/// Calls `each` on every scalar of a string or a (nested) list of strings.
fn walk_texts(node: &Node, key: &str, depth: usize, each: &mut dyn FnMut(&Node) -> R<()>) -> R<()> {
    match &node.value {
        Value::Null => Ok(()),
        Value::Scalar { .. } => each(node),
        Value::Seq(items) if depth < 10 => items
            .iter()
            .try_for_each(|i| walk_texts(i, key, depth + 1, each)),
        _ => Err(err(
            node,
            key,
            format!(
                "expected a string or a list of strings, found {}",
                node.kind()
            ),
        )),
    }
}

/// A list of strings, and only a list (GitLab's `array_of_strings`: `artifacts:paths`,
/// `cache:paths`, `cache:key:files`, `changes`).
pub fn text_array(node: &Node, key: &str) -> R<Vec<String>> {
    match &node.value {
        Value::Null => Ok(Vec::new()),
        Value::Seq(items) => items.iter().map(|i| text(i, key)).collect(),
        _ => Err(err(
            node,
            key,
            format!("expected a list of strings, found {}", node.kind()),
        )),
    }
}

pub fn boolean(node: &Node, key: &str) -> R<bool> {
    node.as_bool().ok_or_else(|| {
        err(
            node,
            key,
            format!("expected true or false, found {}", node.kind()),
        )
    })
}

pub fn map<'a>(node: &'a Node, key: &str) -> R<&'a Map> {
    node.as_map()
        .ok_or_else(|| err(node, key, format!("expected a map, found {}", node.kind())))
}

pub fn when(node: &Node, key: &str, allowed: &[When]) -> R<When> {
    let s = string(node, key)?;
    match When::parse(&s) {
        Some(w) if allowed.contains(&w) => Ok(w),
        _ => Err(err(
            node,
            key,
            format!(
                "unknown value `{s}`; expected one of: {}",
                allowed
                    .iter()
                    .map(|w| w.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Rejects keys that GitLab does not know in this map, so typos do not pass silently.
pub fn check_keys(m: &Map, node: &Node, key: &str, known: &[&str]) -> R<()> {
    let unknown: Vec<&str> = m.keys().filter(|k| !known.contains(k)).collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        let span = m.key_span(unknown[0]).unwrap_or(&node.span);
        Err(ConfigError::new(
            Some(span),
            format!(
                "unknown key{} `{}`; expected one of: {}",
                if unknown.len() > 1 { "s" } else { "" },
                unknown.join("`, `"),
                known.join(", ")
            ),
        )
        .key(key))
    }
}

/// What a variable written as a map may hold, by where it is written. GitLab's root `variables`
/// take `value`, `description`, `expand`, `options`; job ones `value` and `expand` ("You can only
/// use [description] with default variables, not job variables", and `expand` "can't be used
/// with rules:variables or workflow:rules:variables", docs.gitlab.com/ci/yaml/#variables).
pub const GLOBAL_VARIABLE_KEYS: &[&str] = &["value", "description", "expand", "options"];
pub const JOB_VARIABLE_KEYS: &[&str] = &["value", "expand"];
pub const RULE_VARIABLE_KEYS: &[&str] = &["value"];

/// `variables:` in any of GitLab's forms: `NAME: value` or `NAME: {value, ...}` with the map keys
/// that `allowed` lists for this place.
pub fn variables(node: &Node, key: &str, allowed: &[&str]) -> R<Vec<Variable>> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let m = map(node, key)?;
    let mut out = Vec::new();
    for (name, value) in m.iter() {
        let var_key = format!("{key}:{name}");
        let var = match &value.value {
            Value::Null => Variable::new(name, ""),
            Value::Scalar { text, .. } => Variable::new(name, text.clone()),
            Value::Map(vm) => {
                check_keys(vm, value, &var_key, allowed)?;
                let mut v = Variable::new(
                    name,
                    match vm.get("value") {
                        Some(n) if !n.is_null() => string(n, &var_key)?,
                        _ => String::new(),
                    },
                );
                if let Some(d) = vm.get("description") {
                    v.description = Some(string(d, &var_key)?);
                }
                if let Some(e) = vm.get("expand") {
                    v.expand = boolean(e, &var_key)?;
                }
                v
            }
            _ => {
                return Err(err(
                    value,
                    &var_key,
                    format!(
                        "a variable's value must be a string or a map with `value`, found {}",
                        value.kind()
                    ),
                ));
            }
        };
        out.push(var);
    }
    Ok(out)
}

/// GitLab durations: `3600` (seconds), `1h 30m`, `2 hours 5 minutes`, `30s`, `1 day`.
pub fn duration(node: &Node, key: &str) -> R<Duration> {
    let text = string(node, key)?;
    parse_duration(&text).ok_or_else(|| {
        err(
            node,
            key,
            format!("`{text}` is not a duration (try `30 minutes`, `1h 30m` or `3600`)"),
        )
    })
}

/// GitLab's longest job timeout (`Project::MAX_BUILD_TIMEOUT`, one month of 30 days): `timeout:`
/// and `--timeout` may not be longer, which also keeps every deadline far from overflowing.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);

/// A job timeout: a duration of at most [`MAX_TIMEOUT`].
pub fn timeout(node: &Node, key: &str) -> R<Duration> {
    let d = duration(node, key)?;
    check_timeout(d).map_err(|message| err(node, key, message))
}

/// Refuses a timeout longer than GitLab's [`MAX_TIMEOUT`].
pub fn check_timeout(d: Duration) -> Result<Duration, String> {
    if d > MAX_TIMEOUT {
        Err(format!(
            "a timeout is at most one month (30 days), GitLab's limit; this one is {} days",
            d.as_secs() / 86_400
        ))
    } else {
        Ok(d)
    }
}

/// The seconds a duration text says, or None when it is not one or is too long to hold (a
/// duration past `u64::MAX` seconds is refused, never a panic).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = 0f64;
    let mut rest = t;
    let mut any = false;
    while !rest.is_empty() {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if rest.is_empty() {
            break;
        }
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            if let Some(r) = rest.strip_prefix("and") {
                rest = r;
                continue;
            }
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit.to_ascii_lowercase().as_str() {
            "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" | "wk" | "week" | "weeks" => 604800.0,
            "mo" | "month" | "months" => 2_592_000.0,
            "y" | "yr" | "year" | "years" => 31_536_000.0,
            _ => return None,
        };
        total += n * scale;
        any = true;
    }
    if !any {
        return None;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// One `needs:` entry: a job name, or a map with `job`, `artifacts`, `optional`, `parallel:matrix`.
pub fn need(node: &Node, key: &str) -> R<Need> {
    let mut need = Need {
        job: String::new(),
        artifacts: true,
        optional: false,
        matrix: None,
        external: None,
        span: node.span.clone(),
    };
    match &node.value {
        Value::Scalar { text, .. } => need.job = text.clone(),
        Value::Map(m) => {
            check_keys(
                m,
                node,
                key,
                &[
                    "job",
                    "artifacts",
                    "optional",
                    "parallel",
                    "pipeline",
                    "project",
                    "ref",
                ],
            )?;
            let job = m
                .get("job")
                .ok_or_else(|| err(node, key, "a `needs:` map must name a `job`"))?;
            need.job = string(job, key)?;
            if let Some(a) = m.get("artifacts") {
                need.artifacts = boolean(a, key)?;
            }
            if let Some(o) = m.get("optional") {
                need.optional = boolean(o, key)?;
            }
            if let Some(p) = m.get("pipeline") {
                need.external = Some(format!("pipeline {}", string(p, key)?));
            }
            if let Some(p) = m.get("project") {
                need.external = Some(format!("project {}", string(p, key)?));
            }
            if let Some(p) = m.get("parallel") {
                let pm = map(p, key)?;
                let matrix = pm
                    .get("matrix")
                    .ok_or_else(|| err(p, key, "`needs:parallel` takes a `matrix:`"))?;
                let combos = matrix_entries(matrix, &format!("{key}:parallel:matrix"))?;
                need.matrix = Some(combos);
            }
        }
        _ => {
            return Err(err(
                node,
                key,
                format!(
                    "a need is a job name or a map with `job:`, found {}",
                    node.kind()
                ),
            ));
        }
    }
    Ok(need)
}

pub fn needs(node: &Node, key: &str) -> R<Vec<Need>> {
    let needs = needs_unbounded(node, key)?;
    if needs.len() > MAX_NEEDS {
        return Err(err(
            node,
            key,
            format!(
                "one job can only need {MAX_NEEDS} others, but you have configured {}",
                needs.len()
            ),
        ));
    }
    Ok(needs)
}

fn needs_unbounded(node: &Node, key: &str) -> R<Vec<Need>> {
    match &node.value {
        Value::Null => Ok(Vec::new()),
        Value::Seq(items) => {
            let mut out = Vec::new();
            for item in items {
                // `!reference` to another job's needs splices a list in place.
                if let Some(inner) = item.as_seq() {
                    for i in inner {
                        out.push(need(i, key)?);
                    }
                } else {
                    out.push(need(item, key)?);
                }
            }
            Ok(out)
        }
        _ => Err(err(
            node,
            key,
            format!("`needs:` is a list, found {}", node.kind()),
        )),
    }
}

/// GitLab's limit on the instances of one `parallel:` job.
pub const MAX_PARALLEL: usize = 200;

/// Expands `parallel:matrix` (a list of maps whose values are a string or a list) into the
/// combinations GitLab makes, in order: maps in order, and within a map the cartesian product with
/// the first key varying slowest.
pub fn matrix_entries(node: &Node, key: &str) -> R<Vec<Vec<(String, String)>>> {
    let items = node.as_seq().ok_or_else(|| {
        err(
            node,
            key,
            format!("`matrix:` is a list of maps, found {}", node.kind()),
        )
    })?;
    // Counted before anything is expanded: a matrix of 10^7 combinations is refused at once.
    let mut count: u64 = 0;
    for item in items {
        let m = map(item, key)?;
        let mut product: u64 = 1;
        for (_, value) in m.iter() {
            let n = match &value.value {
                Value::Seq(vs) => vs.len().max(1) as u64,
                _ => 1,
            };
            product = product.saturating_mul(n);
        }
        count = count.saturating_add(product);
    }
    if count > MAX_PARALLEL as u64 {
        return Err(err(
            node,
            key,
            format!("`parallel:matrix` makes {count} jobs; GitLab allows {MAX_PARALLEL}"),
        ));
    }
    let mut out = Vec::new();
    for item in items {
        let m = map(item, key)?;
        let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for (name, value) in m.iter() {
            let values = match &value.value {
                Value::Scalar { text, .. } => vec![text.clone()],
                Value::Seq(_) => string_list(value, key)?,
                _ => {
                    return Err(err(
                        value,
                        key,
                        format!(
                            "matrix values are a string or a list of strings, found {}",
                            value.kind()
                        ),
                    ));
                }
            };
            let mut next = Vec::new();
            for combo in &combos {
                for v in &values {
                    let mut c = combo.clone();
                    c.push((name.to_string(), v.clone()));
                    next.push(c);
                }
            }
            combos = next;
        }
        out.extend(combos);
    }
    Ok(out)
}

/// GitLab's limit on the paths of `rules:changes` and `rules:exists`.
pub const MAX_RULE_PATHS: usize = 50;
/// GitLab's `ci_needs_size_limit`: one job needs at most 50 others.
pub const MAX_NEEDS: usize = 50;

const RULE_KEYS: &[&str] = &[
    "if",
    "changes",
    "exists",
    "when",
    "start_in",
    "allow_failure",
    "variables",
    "needs",
    "interruptible",
    "auto_cancel",
];

pub fn rules(node: &Node, key: &str, allowed_when: &[When]) -> R<Vec<Rule>> {
    let mut flat: Vec<&Node> = Vec::new();
    match &node.value {
        Value::Null => {}
        // Nested lists (a `!reference [.x, rules]` or an anchor inside rules, at any depth) are
        // flattened, as GitLab's `Entry::Rules` does.
        Value::Seq(_) => flatten_into(node, &mut flat),
        _ => {
            return Err(err(
                node,
                key,
                format!("`rules:` is a list, found {}", node.kind()),
            ));
        }
    }
    flat.into_iter()
        .map(|n| rule(n, key, allowed_when))
        .collect()
}

/// The items of `node`, a list whose items may be lists, depth first. Depth is bounded by the
/// YAML parser's nesting limit.
pub fn flatten_into<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|i| flatten_into(i, out)),
        _ => out.push(node),
    }
}

/// GitLab's limit on `start_in`.
pub const MAX_START_IN: Duration = Duration::from_secs(7 * 24 * 3600);

fn rule(node: &Node, key: &str, allowed_when: &[When]) -> R<Rule> {
    let m = map(node, key)?;
    if m.is_empty() {
        // Entry::Rules::Rule: "config can't be blank".
        return Err(err(
            node,
            key,
            "a rule is empty; give it `if`, `changes`, `exists` or `when`",
        ));
    }
    check_keys(m, node, key, RULE_KEYS)?;
    let mut r = Rule {
        span: node.span.clone(),
        if_expr: None,
        changes: None,
        exists: None,
        when: None,
        start_in: None,
        allow_failure: None,
        variables: Vec::new(),
        needs: None,
    };
    if let Some(n) = m.get("if") {
        let k = format!("{key}:if");
        let text = string(n, &k)?;
        // Parsed now, so `validate` shows a broken expression in any rule, not only in the
        // rules that evaluation reaches.
        crate::expr::parse(&text).map_err(|e| err(n, &k, e.to_string()))?;
        r.if_expr = Some(text);
    }
    if let Some(n) = m.get("changes") {
        let k = format!("{key}:changes");
        r.changes = Some(match &n.value {
            Value::Map(cm) => {
                check_keys(cm, n, &k, &["paths", "compare_to"])?;
                Changes {
                    paths: cm
                        .get("paths")
                        .map(|p| text_array(p, &k))
                        .transpose()?
                        .unwrap_or_default(),
                    compare_to: cm.get("compare_to").map(|c| string(c, &k)).transpose()?,
                }
            }
            _ => Changes {
                paths: text_array(n, &k)?,
                compare_to: None,
            },
        });
    }
    if let Some(n) = m.get("exists") {
        let k = format!("{key}:exists");
        r.exists = Some(match &n.value {
            Value::Map(em) => {
                check_keys(em, n, &k, &["paths", "project", "ref"])?;
                em.get("paths")
                    .map(|p| string_list(p, &k))
                    .transpose()?
                    .unwrap_or_default()
            }
            _ => string_list(n, &k)?,
        });
    }
    // GitLab's `Entry::Rules::Rule::Changes`/`Exists`: "has too many entries (maximum 50)".
    for (name, count) in [
        ("changes", r.changes.as_ref().map(|c| c.paths.len())),
        ("exists", r.exists.as_ref().map(Vec::len)),
    ] {
        if let (Some(count), Some(n)) = (count, m.get(name)) {
            if count > MAX_RULE_PATHS {
                return Err(err(
                    n,
                    &format!("{key}:{name}"),
                    format!("has too many entries ({count}; GitLab's maximum is {MAX_RULE_PATHS})"),
                ));
            }
        }
    }
    if let Some(n) = m.get("when") {
        r.when = Some(when(n, &format!("{key}:when"), allowed_when)?);
    }
    if let Some(n) = m.get("start_in") {
        r.start_in = Some(duration(n, &format!("{key}:start_in"))?);
    }
    if let Some(n) = m.get("allow_failure") {
        r.allow_failure = Some(boolean(n, &format!("{key}:allow_failure"))?);
    }
    if let Some(n) = m.get("variables") {
        r.variables = variables(n, &format!("{key}:variables"), RULE_VARIABLE_KEYS)?;
    }
    if let Some(n) = m.get("needs") {
        r.needs = Some(needs(n, &format!("{key}:needs"))?);
    }
    // Job rules only: GitLab ignores `start_in` in workflow rules (docs.gitlab.com/ci/yaml/#workflowrules).
    if allowed_when.contains(&When::Delayed) {
        check_start_in(node, &format!("{key}:start_in"), r.when, r.start_in)?;
    }
    Ok(r)
}

/// `start_in` goes with `when: delayed`, and is at most a week (GitLab's Entry::Rules::Rule and
/// Entry::Job; docs.gitlab.com/ci/yaml/#when).
pub fn check_start_in(
    node: &Node,
    key: &str,
    when: Option<When>,
    start_in: Option<Duration>,
) -> R<()> {
    match (when == Some(When::Delayed), start_in) {
        (true, None) => Err(err(node, key, "`when: delayed` needs a `start_in`")),
        (false, Some(_)) => Err(err(node, key, "`start_in` goes with `when: delayed` only")),
        (true, Some(d)) if d > MAX_START_IN => {
            Err(err(node, key, "`start_in` is at most one week"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_gitlab_forms() {
        assert_eq!(parse_duration("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("2 hours 5 minutes"),
            Some(Duration::from_secs(7500))
        );
        assert_eq!(
            parse_duration("30 minutes"),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(
            parse_duration("1 day and 2 hours"),
            Some(Duration::from_secs(93600))
        );
        assert_eq!(parse_duration("10 sec"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("99999999999999 years"), None);
        assert_eq!(parse_duration("18446744073709551616"), None);
        assert_eq!(parse_duration("1e400"), None);
        assert!(parse_duration("584542046090 years").is_some());
        assert!(check_timeout(parse_duration("584542046090 years").unwrap()).is_err());
        assert!(check_timeout(parse_duration("30 days").unwrap()).is_ok());
        assert!(check_timeout(parse_duration("31 days").unwrap()).is_err());
        assert_eq!(parse_duration(""), None);
    }
}
