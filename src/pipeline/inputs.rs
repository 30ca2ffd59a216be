//! `spec:inputs` headers and `$[[ ... ]]` interpolation, as GitLab documents them ("Define
//! inputs for configuration added with include"): a header document before `---` declares the
//! inputs (`type` string, number, boolean or array; `default`, `options`, `regex`,
//! `description`); `include:inputs` or `--input` give values; the content document's keys and
//! values are interpolated, with the functions `expand_vars`, `truncate(offset,length)` and
//! `posix_escape`.

use std::collections::HashMap;

use crate::error::{ConfigError, ConfigErrors};
use crate::yaml::{Map, Node, Span, Value};

/// The most functions one block may chain (GitLab's `MAX_FUNCTIONS`).
const MAX_FUNCTIONS: usize = 3;
/// The most blocks one file may hold (GitLab's `MAX_BLOCKS`).
const MAX_BLOCKS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputType {
    String,
    Number,
    Boolean,
    Array,
}

impl InputType {
    fn name(self) -> &'static str {
        match self {
            InputType::String => "string",
            InputType::Number => "number",
            InputType::Boolean => "boolean",
            InputType::Array => "array",
        }
    }
}

/// One declared input.
#[derive(Debug, Clone)]
pub struct InputSpec {
    pub name: String,
    pub ty: InputType,
    pub default: Option<Node>,
    pub options: Option<Vec<Node>>,
    pub regex: Option<String>,
    pub description: Option<String>,
}

/// The `spec:inputs` of a header document.
pub fn parse_spec(header: &Map) -> Result<Vec<InputSpec>, ConfigErrors> {
    let e = |span: Option<&Span>, msg: String| -> ConfigErrors {
        ConfigError::new(span, msg).key("spec:inputs").into()
    };
    for key in header.keys() {
        if key != "spec" {
            return Err(e(
                header.key_span(key),
                format!("the header document holds only `spec:`, found `{key}`"),
            ));
        }
    }
    let Some(spec) = header.get("spec") else {
        return Ok(Vec::new());
    };
    let Some(spec_map) = spec.as_map() else {
        return Err(e(Some(&spec.span), "`spec:` is a map".into()));
    };
    for key in spec_map.keys() {
        if !matches!(key, "inputs" | "component" | "include") {
            return Err(e(
                spec_map.key_span(key),
                format!("unknown key `spec:{key}`"),
            ));
        }
    }
    let Some(inputs) = spec_map.get("inputs") else {
        return Ok(Vec::new());
    };
    let inputs_map = match &inputs.value {
        Value::Map(m) => m,
        Value::Null => return Ok(Vec::new()),
        _ => {
            return Err(e(
                Some(&inputs.span),
                "`spec:inputs` is a map of inputs".into(),
            ));
        }
    };
    let mut out = Vec::new();
    for (name, node, span) in inputs_map.iter_with_spans() {
        let mut spec = InputSpec {
            name: name.to_string(),
            ty: InputType::String,
            default: None,
            options: None,
            regex: None,
            description: None,
        };
        match &node.value {
            Value::Null => {}
            Value::Map(m) => {
                for (k, v, kspan) in m.iter_with_spans() {
                    match k {
                        "type" => {
                            spec.ty = match v.as_scalar() {
                                Some("string") => InputType::String,
                                Some("number") => InputType::Number,
                                Some("boolean") => InputType::Boolean,
                                Some("array") => InputType::Array,
                                other => {
                                    return Err(e(
                                        Some(&v.span),
                                        format!(
                                            "header:spec:inputs:{name} input type unknown value: {}",
                                            other.unwrap_or(v.kind())
                                        ),
                                    ));
                                }
                            }
                        }
                        "default" => spec.default = Some(v.clone()),
                        "options" => match &v.value {
                            Value::Seq(items) => spec.options = Some(items.clone()),
                            _ => {
                                return Err(e(
                                    Some(&v.span),
                                    format!("header:spec:inputs:{name} options should be an array"),
                                ));
                            }
                        },
                        "regex" => spec.regex = v.as_scalar().map(String::from),
                        "description" => spec.description = v.as_scalar().map(String::from),
                        "rules" => {}
                        _ => {
                            return Err(e(
                                Some(kspan),
                                format!(
                                    "header:spec:inputs:{name} config contains unknown keys: {k}"
                                ),
                            ));
                        }
                    }
                }
            }
            _ => {
                return Err(e(
                    Some(span),
                    format!(
                        "header:spec:inputs:{name} is a map (type, default, options, regex, description)"
                    ),
                ));
            }
        }
        if let Some(default) = &spec.default {
            if !default.is_null() {
                check_value(&spec, default, "default value")
                    .map_err(|m| e(Some(&default.span), m))?;
            }
        }
        out.push(spec);
    }
    Ok(out)
}

/// A value as Psych would type a plain scalar: booleans and numbers are not strings.
fn scalar_kind(node: &Node) -> Option<InputType> {
    match &node.value {
        Value::Scalar { text, plain: true } => {
            let lower = text.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "true" | "false" | "yes" | "no" | "on" | "off"
            ) {
                Some(InputType::Boolean)
            } else if is_number(text) {
                Some(InputType::Number)
            } else {
                Some(InputType::String)
            }
        }
        Value::Scalar { .. } => Some(InputType::String),
        Value::Seq(_) => Some(InputType::Array),
        _ => None,
    }
}

fn is_number(text: &str) -> bool {
    let t = text.replace('_', "");
    !t.is_empty()
        && (t.parse::<i64>().is_ok()
            || (t.parse::<f64>().is_ok() && !t.eq_ignore_ascii_case("nan") && !t.contains("inf")))
}

fn check_value(spec: &InputSpec, value: &Node, what: &str) -> Result<(), String> {
    let name = &spec.name;
    if scalar_kind(value) != Some(spec.ty) {
        return Err(format!(
            "`{name}` input: {what} is not a{} {}",
            if spec.ty == InputType::Array { "n" } else { "" },
            spec.ty.name()
        ));
    }
    if let Some(options) = &spec.options {
        let text = display(value);
        if !options.iter().any(|o| display(o) == text) {
            return Err(format!(
                "`{name}` input: `{text}` cannot be used because it is not in the list of allowed options"
            ));
        }
    }
    if let Some(regex) = &spec.regex {
        let pattern = regex.trim_start_matches('/').trim_end_matches('/');
        let re = regex::Regex::new(pattern).map_err(|err| {
            format!("`{name}` input: invalid regular expression `{regex}`: {err}")
        })?;
        if !re.is_match(&display(value)) {
            return Err(format!(
                "`{name}` input: {what} does not match required RegEx pattern"
            ));
        }
    }
    Ok(())
}

/// A value as text, as Ruby's `to_s` writes it inside a string (`["a", "b"]` for arrays).
fn display(node: &Node) -> String {
    match &node.value {
        Value::Null => String::new(),
        Value::Scalar { text, .. } => text.clone(),
        Value::Seq(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| match &i.value {
                    Value::Scalar { plain: false, text } => format!("{text:?}"),
                    Value::Scalar { text, .. } if scalar_kind(i) == Some(InputType::String) =>
                        format!("{text:?}"),
                    _ => display(i),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k:?}=>{}", display(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Reference(p) => format!("!reference {p:?}"),
    }
}

/// The inputs' values: those given, checked, else the defaults. `at` is where they were given
/// (the include, or the root file for `--input`).
pub fn resolve(
    specs: &[InputSpec],
    given: &[(String, Node)],
    at: Option<&Span>,
) -> Result<HashMap<String, Node>, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let unknown: Vec<&str> = given
        .iter()
        .filter(|(n, _)| !specs.iter().any(|s| &s.name == n))
        .map(|(n, _)| n.as_str())
        .collect();
    if !unknown.is_empty() {
        errors.push(
            ConfigError::new(
                at,
                format!("unknown input arguments: {}", unknown.join(", ")),
            )
            .key("inputs"),
        );
    }
    let mut out = HashMap::new();
    for spec in specs {
        let value = match given.iter().find(|(n, _)| n == &spec.name) {
            Some((_, v)) => {
                if let Err(m) = check_value(spec, v, "provided value") {
                    errors.push(ConfigError::new(Some(&v.span), m).key("inputs"));
                    continue;
                }
                v.clone()
            }
            None => match &spec.default {
                Some(d) => d.clone(),
                None => {
                    errors.push(
                        ConfigError::new(
                            at,
                            format!(
                                "`{}` input: required value has not been provided",
                                spec.name
                            ),
                        )
                        .key("inputs"),
                    );
                    continue;
                }
            },
        };
        out.insert(spec.name.clone(), value);
    }
    errors.into_result()?;
    Ok(out)
}

/// `--input NAME=VALUE` as a node of the declared type (numbers, booleans and arrays parsed;
/// strings kept as written).
pub fn parse_cli_value(specs: &[InputSpec], name: &str, value: &str) -> Node {
    let span = Span::synthetic("--input");
    let ty = specs.iter().find(|s| s.name == name).map(|s| s.ty);
    match ty {
        Some(InputType::Array) => {
            match crate::yaml::parse_str(value, std::sync::Arc::new("--input".into())) {
                Ok(node) if matches!(node.value, Value::Seq(_)) => node,
                _ => Node::string(value, span),
            }
        }
        Some(InputType::Number | InputType::Boolean) => Node::new(
            Value::Scalar {
                text: value.to_string(),
                plain: true,
            },
            span,
        ),
        _ => Node::string(value, span),
    }
}

/// What `$[[ ... ]]` blocks can read.
pub struct Context<'a> {
    pub inputs: &'a HashMap<String, Node>,
    /// `component.name`, `component.sha`, `component.version`, `component.reference`.
    pub component: Option<&'a HashMap<String, String>>,
    /// `expand_vars`: the variables known when includes are read; unknown ones stay as written.
    pub expand: &'a dyn Fn(&str) -> String,
}

/// Interpolates every key and value of `node`.
pub fn interpolate(node: Node, ctx: &Context) -> Result<Node, ConfigErrors> {
    let mut blocks = 0usize;
    let mut errors = ConfigErrors::default();
    let out = walk(node, ctx, &mut blocks, &mut errors);
    if blocks > MAX_BLOCKS {
        errors.push(ConfigError::new(None, "too many interpolation blocks"));
    }
    errors.into_result()?;
    Ok(out)
}

fn walk(node: Node, ctx: &Context, blocks: &mut usize, errors: &mut ConfigErrors) -> Node {
    let span = node.span.clone();
    match node.value {
        Value::Scalar { text, plain } if text.contains("$[[") => {
            match interpolate_text(&text, ctx, blocks) {
                Ok(Interpolated::Whole(n)) => Node::new(n.value, span),
                Ok(Interpolated::Text(t)) => Node::new(
                    Value::Scalar {
                        text: t,
                        plain: false,
                    },
                    span,
                ),
                Err(m) => {
                    errors.push(ConfigError::new(
                        Some(&span),
                        format!("interpolation interrupted by errors, {m}"),
                    ));
                    Node::new(Value::Scalar { text, plain }, span)
                }
            }
        }
        Value::Seq(items) => Node::new(
            Value::Seq(
                items
                    .into_iter()
                    .map(|i| walk(i, ctx, blocks, errors))
                    .collect(),
            ),
            span,
        ),
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, v, kspan) in m.into_entries() {
                let key = if k.contains("$[[") {
                    match interpolate_text(&k, ctx, blocks) {
                        Ok(Interpolated::Text(t)) => t,
                        Ok(Interpolated::Whole(n)) => display(&n),
                        Err(m) => {
                            errors.push(ConfigError::new(
                                Some(&kspan),
                                format!("interpolation interrupted by errors, {m}"),
                            ));
                            k
                        }
                    }
                } else {
                    k
                };
                let v = walk(v, ctx, blocks, errors);
                out.insert(key, v, kspan);
            }
            Node::new(Value::Map(out), span)
        }
        other => Node::new(other, span),
    }
}

enum Interpolated {
    /// The text was one block: the value keeps its type.
    Whole(Node),
    Text(String),
}

fn interpolate_text(text: &str, ctx: &Context, blocks: &mut usize) -> Result<Interpolated, String> {
    let mut out = String::new();
    let mut rest = text;
    let mut whole = None;
    while let Some(start) = rest.find("$[[") {
        let Some(len) = rest[start..].find("]]") else {
            break;
        };
        *blocks += 1;
        let block = &rest[start..start + len + 2];
        let data = rest[start + 3..start + len].trim();
        match evaluate(data, ctx)? {
            None => out.push_str(&rest[..start + len + 2]),
            Some(value) => {
                out.push_str(&rest[..start]);
                if start == 0 && block.len() == text.len() {
                    whole = Some(value.clone());
                }
                out.push_str(&display(&value));
            }
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(match whole {
        Some(n) => Interpolated::Whole(n),
        None => Interpolated::Text(out),
    })
}

/// One block's value; `None` for contexts interpolated later (`matrix.`).
fn evaluate(data: &str, ctx: &Context) -> Result<Option<Node>, String> {
    let mut parts = data.split('|').map(str::trim);
    let access = parts.next().unwrap_or("");
    let functions: Vec<&str> = parts.collect();
    let (context, key) = access.split_once('.').unwrap_or((access, ""));
    let valid_key = !key.is_empty()
        && !key.contains('.')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let value = match context {
        "matrix" => return Ok(None),
        "inputs" if valid_key => ctx
            .inputs
            .get(key)
            .cloned()
            .ok_or_else(|| format!("unknown interpolation key: `{key}`"))?,
        "component" if valid_key => {
            let text = ctx
                .component
                .and_then(|c| c.get(key))
                .ok_or_else(|| format!("unknown interpolation key: `{key}`"))?;
            Node::string(text.clone(), Span::synthetic("component"))
        }
        _ => {
            return Err(
                "invalid interpolation access pattern. valid pattern is $[[ inputs.input ]]"
                    .to_string(),
            );
        }
    };
    if functions.len() > MAX_FUNCTIONS {
        return Err("too many functions in interpolation block".into());
    }
    let mut value = value;
    for f in functions {
        value = apply(f, value, ctx)?;
    }
    Ok(Some(value))
}

fn apply(function: &str, value: Node, ctx: &Context) -> Result<Node, String> {
    let no_match = || {
        format!(
            "no function matching `{function}`: check that the function name, arguments, and types are correct"
        )
    };
    let span = value.span.clone();
    let as_string = |name: &str| -> Result<String, String> {
        match scalar_kind(&value) {
            Some(InputType::String) => Ok(value.as_scalar().unwrap_or("").to_string()),
            _ => Err(format!(
                "invalid input type: {name} can only be used with string inputs"
            )),
        }
    };
    let out = match function {
        "expand_vars" => (ctx.expand)(&as_string("expand_vars")?),
        "posix_escape" => shell_escape(&as_string("posix_escape")?),
        _ => {
            let Some(args) = function
                .strip_prefix("truncate(")
                .and_then(|a| a.strip_suffix(')'))
            else {
                return Err(no_match());
            };
            let (offset, length) = args.split_once(',').ok_or_else(no_match)?;
            let (Ok(offset), Ok(length)) = (
                offset.trim().parse::<usize>(),
                length.trim().parse::<usize>(),
            ) else {
                return Err(no_match());
            };
            let s = as_string("truncate")?;
            s.chars().skip(offset).take(length).collect()
        }
    };
    Ok(Node::string(out, span))
}

/// Ruby's `Shellwords.shellescape`.
fn shell_escape(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    let mut out = String::new();
    for c in s.chars() {
        if c == '\n' {
            out.push_str("'\n'");
        } else if c.is_ascii_alphanumeric() || "_-.,:+/@".contains(c) {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn parse(text: &str) -> Node {
        crate::yaml::parse_str(text, Arc::new("t.yml".into())).unwrap()
    }

    fn specs(text: &str) -> Vec<InputSpec> {
        parse_spec(parse(text).as_map().unwrap()).unwrap()
    }

    fn run(spec: &str, given: &str, content: &str) -> Result<Node, String> {
        let specs = specs(spec);
        let given: Vec<(String, Node)> = match parse(given).value {
            Value::Map(m) => m.into_entries().map(|(k, v, _)| (k, v)).collect(),
            _ => Vec::new(),
        };
        let values = resolve(&specs, &given, None).map_err(|e| e.to_string())?;
        let expand = |s: &str| s.replace("$NAME", "world");
        let ctx = Context {
            inputs: &values,
            component: None,
            expand: &expand,
        };
        interpolate(parse(content), &ctx).map_err(|e| e.to_string())
    }

    fn script(node: &Node) -> Vec<String> {
        node.as_map()
            .unwrap()
            .get("job")
            .unwrap()
            .as_map()
            .unwrap()
            .get("script")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .map(display)
            .collect()
    }

    #[test]
    fn defaults_types_and_functions() {
        let n = run(
            "spec:\n  inputs:\n    stage:\n      default: test\n    n:\n      type: number\n    flag:\n      type: boolean\n      default: false\n    list:\n      type: array\n      default: [a, b]\n    text:\n      default: 'it''s $NAME here'\n",
            "n: 3",
            "job:\n  stage: $[[ inputs.stage ]]\n  parallel: $[[ inputs.n ]]\n  script:\n    - echo $[[ inputs.n ]] $[[inputs.flag]]\n    - $[[ inputs.list ]]\n    - $[[ inputs.text | expand_vars | posix_escape ]]\n    - $[[ inputs.text | truncate(5,3) ]]\n    - $[[ matrix.OS ]]\n",
        )
        .unwrap();
        let job = n.as_map().unwrap().get("job").unwrap().as_map().unwrap();
        assert_eq!(job.get("stage").unwrap().as_scalar(), Some("test"));
        assert!(matches!(
            job.get("parallel").unwrap().value,
            Value::Scalar { plain: true, .. }
        ));
        assert_eq!(
            script(&n),
            vec![
                "echo 3 false".to_string(),
                "[\"a\", \"b\"]".into(),
                "it\\'s\\ world\\ here".into(),
                "$NA".into(),
                "$[[ matrix.OS ]]".into(),
            ]
        );
    }

    #[test]
    fn errors_name_the_input() {
        let spec = "spec:\n  inputs:\n    env:\n      options: [dev, prod]\n    n:\n      type: number\n      default: 1\n    v:\n      regex: ^v\\d+$\n      default: v1\n";
        let e = run(spec, "{}", "a: b").unwrap_err();
        assert!(
            e.contains("`env` input: required value has not been provided"),
            "{e}"
        );
        let e = run(spec, "env: qa", "a: b").unwrap_err();
        assert!(
            e.contains(
                "`env` input: `qa` cannot be used because it is not in the list of allowed options"
            ),
            "{e}"
        );
        let e = run(spec, "env: dev\nn: many", "a: b").unwrap_err();
        assert!(
            e.contains("`n` input: provided value is not a number"),
            "{e}"
        );
        let e = run(spec, "env: dev\nv: x1", "a: b").unwrap_err();
        assert!(
            e.contains("`v` input: provided value does not match required RegEx pattern"),
            "{e}"
        );
        let e = run(spec, "env: dev\nextra: 1", "a: b").unwrap_err();
        assert!(e.contains("unknown input arguments: extra"), "{e}");
        let e = run(spec, "env: dev", "a: $[[ inputs.nope ]]").unwrap_err();
        assert!(e.contains("unknown interpolation key: `nope`"), "{e}");
        let e = run(spec, "env: dev", "a: $[[ inputs.env | a | b | c | d ]]").unwrap_err();
        assert!(
            e.contains("too many functions in interpolation block"),
            "{e}"
        );
        let e = run(spec, "env: dev", "a: $[[ inputs.env | truncate(1) ]]").unwrap_err();
        assert!(e.contains("no function matching `truncate(1)`"), "{e}");
        let e = run(spec, "env: dev", "a: $[[ inputs.n | posix_escape ]]").unwrap_err();
        assert!(
            e.contains("invalid input type: posix_escape can only be used with string inputs"),
            "{e}"
        );
        let e = run(spec, "env: dev", "a: $[[ foo ]]").unwrap_err();
        assert!(e.contains("invalid interpolation access pattern"), "{e}");
        let e = parse_spec(
            parse("spec:\n  inputs:\n    x:\n      type: float\n")
                .as_map()
                .unwrap(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("header:spec:inputs:x input type unknown value: float"),
            "{e}"
        );
    }

    #[test]
    fn keys_are_interpolated() {
        let n = run(
            "spec:\n  inputs:\n    name:\n",
            "name: build",
            "$[[ inputs.name ]]-job:\n  script: [x]\n",
        )
        .unwrap();
        assert!(n.as_map().unwrap().contains_key("build-job"));
    }
}
