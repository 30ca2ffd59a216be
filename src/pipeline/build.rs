//! From resolved job maps to the model: every keyword read into a typed field, every problem
//! collected (not just the first), and `parallel:` expanded into GitLab's instances.

use crate::error::{ConfigError, ConfigErrors};
use crate::pipeline::model::*;
use crate::pipeline::read::{self, MAX_PARALLEL, R, err};
use crate::pipeline::resolve::Resolved;
use crate::yaml::{Node, Value};

const JOB_KEYS: &[&str] = &[
    "after_script",
    "allow_failure",
    "artifacts",
    "before_script",
    "cache",
    "coverage",
    "dast_configuration",
    "dependencies",
    "environment",
    "except",
    "hooks",
    "id_tokens",
    "identity",
    "image",
    "inherit",
    "interruptible",
    "manual_confirmation",
    "needs",
    "only",
    "pages",
    "parallel",
    "publish",
    "release",
    "resource_group",
    "retry",
    "rules",
    "run",
    "script",
    "secrets",
    "services",
    "stage",
    "start_in",
    "tags",
    "timeout",
    "trigger",
    "type",
    "variables",
    "when",
];

/// Keys this runner reads but does not act on locally.
const IGNORED_KEYS: &[&str] = &[
    "dast_configuration",
    "hooks",
    "id_tokens",
    "identity",
    "manual_confirmation",
    "pages",
    "publish",
    "release",
    "resource_group",
    "secrets",
];

/// A job's own `when`: GitLab's Entry::Job allows these; `never` belongs to rules only
/// (docs.gitlab.com/ci/yaml/#when: "Can only be used in a rules section or workflow: rules").
const JOB_WHEN: &[When] = &[
    When::OnSuccess,
    When::OnFailure,
    When::Always,
    When::Manual,
    When::Delayed,
];

/// `when` inside job `rules`.
const RULE_WHEN: &[When] = &[
    When::OnSuccess,
    When::OnFailure,
    When::Always,
    When::Manual,
    When::Delayed,
    When::Never,
];

pub fn build(resolved: Resolved, files: Vec<String>) -> Result<Pipeline, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let g = &resolved.globals;

    let mut stages = vec![".pre".to_string()];
    let declared = g.get("stages").or_else(|| g.get("types"));
    match declared.map(|n| read::text_array(n, "stages")) {
        Some(Ok(list)) => stages.extend(list.into_iter().filter(|s| s != ".pre" && s != ".post")),
        Some(Err(e)) => errors.push(e),
        None => stages.extend(["build", "test", "deploy"].map(String::from)),
    }
    stages.push(".post".to_string());

    let variables = match g
        .get("variables")
        .map(|n| read::variables(n, "variables", read::GLOBAL_VARIABLE_KEYS))
    {
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            errors.push(e);
            Vec::new()
        }
        None => Vec::new(),
    };

    let workflow = match g.get("workflow").map(workflow) {
        Some(Ok(w)) => w,
        Some(Err(e)) => {
            errors.push(e);
            Workflow::default()
        }
        None => Workflow::default(),
    };

    let mut jobs = Vec::new();
    for (name, node) in &resolved.jobs {
        match job(name, node, &stages) {
            Ok(instances) => jobs.extend(instances),
            Err(e) => errors.0.extend(
                e.0.into_iter()
                    .map(|e| if e.job.is_none() { e.job(name) } else { e }),
            ),
        }
    }
    if jobs.is_empty() && errors.is_empty() {
        errors.push(ConfigError::new(
            None,
            "the pipeline has no visible job (names starting with `.` are hidden templates)",
        ));
    }
    errors.into_result()?;
    Ok(Pipeline {
        files,
        stages,
        variables,
        workflow,
        jobs,
    })
}

fn workflow(node: &Node) -> R<Workflow> {
    let m = read::map(node, "workflow")?;
    read::check_keys(m, node, "workflow", &["rules", "name", "auto_cancel"])?;
    Ok(Workflow {
        name: m
            .get("name")
            .map(|n| read::string(n, "workflow:name"))
            .transpose()?,
        rules: m
            .get("rules")
            .map(|n| read::rules(n, "workflow:rules", &[When::Always, When::Never]))
            .transpose()?,
    })
}

fn job(name: &str, node: &Node, stages: &[String]) -> Result<Vec<Job>, ConfigErrors> {
    if name.chars().any(char::is_control) {
        // A name that moves the cursor or retitles the terminal would be printed by `list` and
        // `run`; it is refused (the error shows it escaped, see `crate::visible`).
        return Err(ConfigError::new(
            Some(&node.span),
            "a job name may not hold control characters (escape sequences, line breaks, tabs)",
        )
        .job(name)
        .into());
    }
    let m = read::map(node, "job")?;
    let mut errors = ConfigErrors::default();
    if let Err(e) = read::check_keys(m, node, "job", JOB_KEYS) {
        errors.push(e);
    }
    let mut j = Job {
        name: name.to_string(),
        base_name: name.to_string(),
        span: node.span.clone(),
        stage: "test".to_string(),
        image: None,
        services: Vec::new(),
        before_script: Vec::new(),
        script: Vec::new(),
        after_script: Vec::new(),
        variables: Vec::new(),
        inherit_variables: Inherit::All,
        rules: None,
        only: None,
        except: None,
        when: When::OnSuccess,
        start_in: None,
        allow_failure: AllowFailure::No,
        allow_failure_set: false,
        needs: None,
        dependencies: None,
        artifacts: None,
        cache: Vec::new(),
        tags: Vec::new(),
        timeout: None,
        retry: Retry::default(),
        interruptible: false,
        coverage: None,
        parallel: None,
        trigger: None,
        downstream: None,
        environment: None,
        environment_vars: Vec::new(),
        ignored_keys: Vec::new(),
    };
    // Each keyword is read on its own so that one mistake does not hide the others.
    let mut field = |result: R<()>| {
        if let Err(e) = result {
            errors.push(e);
        }
    };
    let mut parallel_node = None;
    for (key, value) in m.iter() {
        // GitLab treats a keyword set to `null` as not written (an "unspecified" entry): this is
        // how `extends` children drop what a parent set (docs.gitlab.com/ci/yaml/yaml_optimization/#exclude-a-key-from-extends).
        if value.is_null() {
            continue;
        }
        field(read_key(&mut j, key, value, stages, &mut parallel_node));
    }
    if j.script.is_empty() && j.trigger.is_none() && !m.contains_key("run") {
        field(Err(ConfigError::new(
            Some(&node.span),
            "a job needs a `script:` (or a `trigger:`)",
        )));
    }
    // GitLab's Entry::Job: with `needs`, every dependency must be among them ("the X should be
    // part of needs"); artifacts only come from needed jobs then.
    if let (Some(deps), Some(needs)) = (&j.dependencies, &j.needs) {
        let missing: Vec<&str> = deps
            .iter()
            .filter(|d| !needs.is_empty() && !needs.iter().any(|n| n.job == **d))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let span = m.key_span("dependencies").unwrap_or(&node.span);
            field(Err(ConfigError::new(
                Some(span),
                format!(
                    "`{}` should be part of `needs` (with `needs`, artifacts come only from the jobs it names)",
                    missing.join("`, `")
                ),
            )
            .key("dependencies")));
        }
    }
    let written = |k: &str| m.get(k).is_some_and(|n| !n.is_null());
    if written("rules") {
        // Entry::Processable: these "may not be used with `rules`" (rules have their own
        // `when`, `start_in` and conditions).
        let clashing: Vec<&str> = ["only", "except", "start_in"]
            .into_iter()
            .filter(|k| written(k))
            .collect();
        if !clashing.is_empty() {
            let span = m.key_span(clashing[0]).unwrap_or(&node.span);
            field(Err(ConfigError::new(
                Some(span),
                format!(
                    "`{}` may not be used with `rules` (use `rules:if`, `rules:when`, `rules:start_in`)",
                    clashing.join("`, `")
                ),
            )
            .key("rules")));
        }
    } else {
        field(read::check_start_in(
            node,
            "start_in",
            Some(j.when),
            j.start_in,
        ));
    }
    errors.into_result()?;
    match parallel_node {
        None => Ok(vec![j]),
        Some(p) => expand_parallel(j, p).map_err(ConfigErrors::from),
    }
}

fn read_key<'a>(
    j: &mut Job,
    key: &str,
    value: &'a Node,
    stages: &[String],
    parallel: &mut Option<&'a Node>,
) -> R<()> {
    match key {
        "stage" | "type" => {
            let s = read::string(value, key)?;
            if !stages.contains(&s) {
                return Err(err(
                    value,
                    key,
                    format!(
                        "stage `{s}` is not among the pipeline's stages: {}",
                        stages.join(", ")
                    ),
                ));
            }
            j.stage = s;
        }
        "image" => j.image = Some(image(value, key)?),
        "services" => j.services = services(value)?,
        "before_script" => j.before_script = read::texts(value, key)?,
        "script" => j.script = read::texts(value, key)?,
        "after_script" => j.after_script = read::texts(value, key)?,
        "variables" => j.variables = read::variables(value, key, read::JOB_VARIABLE_KEYS)?,
        "inherit" => {
            let im = read::map(value, key)?;
            read::check_keys(im, value, key, &["default", "variables"])?;
            if let Some(v) = im.get("variables") {
                j.inherit_variables = match &v.value {
                    Value::Scalar { .. } => {
                        if read::boolean(v, "inherit:variables")? {
                            Inherit::All
                        } else {
                            Inherit::None
                        }
                    }
                    _ => Inherit::Only(read::string_list(v, "inherit:variables")?),
                };
            }
        }
        "rules" => j.rules = Some(read::rules(value, key, RULE_WHEN)?),
        "only" => j.only = Some(only_except(value, key)?),
        "except" => j.except = Some(only_except(value, key)?),
        "when" => j.when = read::when(value, key, JOB_WHEN)?,
        "start_in" => j.start_in = Some(read::duration(value, key)?),
        "allow_failure" => {
            j.allow_failure_set = true;
            j.allow_failure = match &value.value {
                Value::Map(am) => {
                    read::check_keys(am, value, key, &["exit_codes"])?;
                    let codes = am.get("exit_codes").ok_or_else(|| {
                        err(value, key, "`allow_failure:` map takes `exit_codes`")
                    })?;
                    AllowFailure::ExitCodes(int_list(codes, "allow_failure:exit_codes")?)
                }
                _ => {
                    if read::boolean(value, key)? {
                        AllowFailure::Yes
                    } else {
                        AllowFailure::No
                    }
                }
            };
        }
        "needs" => j.needs = Some(read::needs(value, key)?),
        "dependencies" => j.dependencies = Some(read::string_list(value, key)?),
        "artifacts" => {
            j.artifacts = if value.is_null() {
                None
            } else {
                Some(artifacts(value)?)
            }
        }
        "cache" => j.cache = caches(value)?,
        "tags" => j.tags = read::string_list(value, key)?,
        "timeout" => j.timeout = Some(read::timeout(value, key)?),
        "retry" => j.retry = retry(value)?,
        "interruptible" => j.interruptible = read::boolean(value, key)?,
        "coverage" => {
            let c = read::string(value, key)?;
            if !(c.len() >= 2 && c.starts_with('/') && c.ends_with('/')) {
                return Err(err(
                    value,
                    key,
                    "`coverage:` is a regular expression between slashes, such as '/Coverage: \\d+\\.\\d+%/'",
                ));
            }
            regex::Regex::new(&c[1..c.len() - 1])
                .map_err(|e| err(value, key, format!("bad regular expression: {e}")))?;
            j.coverage = Some(c);
        }
        "parallel" => *parallel = Some(value),
        "trigger" => {
            let (trigger, words) = crate::pipeline::trigger::read(value)?;
            j.trigger = Some(words);
            j.downstream = Some(trigger);
        }
        "environment" => {
            j.environment = match &value.value {
                Value::Scalar { text, .. } => Some(text.clone()),
                Value::Map(em) => {
                    j.environment_vars = Vec::new();
                    for (k, var) in [
                        ("action", "CI_ENVIRONMENT_ACTION"),
                        ("deployment_tier", "CI_ENVIRONMENT_TIER"),
                        ("url", "CI_ENVIRONMENT_URL"),
                    ] {
                        if let Some(n) = em.get(k) {
                            let v = read::string(n, &format!("environment:{k}"))?;
                            j.environment_vars.push((var.to_string(), v));
                        }
                    }
                    em.get("name")
                        .map(|n| read::string(n, "environment:name"))
                        .transpose()?
                }
                _ => {
                    return Err(err(
                        value,
                        key,
                        format!(
                            "`environment:` is a name or a map with `name:`, found {}",
                            value.kind()
                        ),
                    ));
                }
            }
        }
        "run" => {
            return Err(err(
                value,
                key,
                "`run:` (CI steps) is not supported; use `script:`",
            ));
        }
        k if IGNORED_KEYS.contains(&k) => j.ignored_keys.push(k.to_string()),
        _ => {} // unknown keys were reported by check_keys
    }
    Ok(())
}

fn int_list(node: &Node, key: &str) -> R<Vec<i32>> {
    read::string_list(node, key)?
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|_| err(node, key, format!("`{s}` is not an exit code")))
        })
        .collect()
}

fn image(node: &Node, key: &str) -> R<Image> {
    match &node.value {
        Value::Scalar { text, .. } => Ok(Image {
            name: text.clone(),
            entrypoint: None,
            platform: None,
            user: None,
            pull_policy: Vec::new(),
        }),
        Value::Map(m) => {
            read::check_keys(
                m,
                node,
                key,
                &["name", "entrypoint", "docker", "pull_policy", "kubernetes"],
            )?;
            let name = m
                .get("name")
                .ok_or_else(|| err(node, key, "an `image:` map needs a `name:`"))?;
            let mut img = Image {
                name: read::string(name, key)?,
                entrypoint: None,
                platform: None,
                user: None,
                pull_policy: Vec::new(),
            };
            if let Some(e) = m.get("entrypoint") {
                img.entrypoint = Some(read::string_list(e, &format!("{key}:entrypoint"))?);
            }
            if let Some(p) = m.get("pull_policy") {
                img.pull_policy = read::names(p, &format!("{key}:pull_policy"))?;
            }
            if let Some(d) = m.get("docker") {
                let dm = read::map(d, &format!("{key}:docker"))?;
                read::check_keys(dm, d, &format!("{key}:docker"), &["platform", "user"])?;
                img.platform = dm
                    .get("platform")
                    .map(|p| read::string(p, "image:docker:platform"))
                    .transpose()?;
                img.user = dm
                    .get("user")
                    .map(|p| read::string(p, "image:docker:user"))
                    .transpose()?;
            }
            Ok(img)
        }
        _ => Err(err(
            node,
            key,
            format!("`image:` is a name or a map, found {}", node.kind()),
        )),
    }
}

fn services(node: &Node) -> R<Vec<Service>> {
    let key = "services";
    let Some(items) = node.as_seq() else {
        return if node.is_null() {
            Ok(Vec::new())
        } else {
            Err(err(node, key, "`services:` is a list"))
        };
    };
    let mut out = Vec::new();
    for item in items {
        let s = match &item.value {
            Value::Scalar { .. } => Service {
                name: read::text(item, key)?,
                aliases: Vec::new(),
                entrypoint: None,
                command: None,
                variables: Vec::new(),
                platform: None,
            },
            Value::Map(m) => {
                read::check_keys(
                    m,
                    item,
                    key,
                    &[
                        "name",
                        "alias",
                        "entrypoint",
                        "command",
                        "variables",
                        "pull_policy",
                        "docker",
                        "kubernetes",
                    ],
                )?;
                let name = m
                    .get("name")
                    .ok_or_else(|| err(item, key, "a service map needs a `name:`"))?;
                if let Some(p) = m.get("pull_policy") {
                    // Checked so a typo is reported; services use the run's pull policy.
                    read::names::<PullPolicy>(p, "services:pull_policy")?;
                }
                let mut aliases = Vec::new();
                if let Some(a) = m.get("alias") {
                    // GitLab takes several aliases separated by commas or spaces.
                    aliases = read::string(a, "services:alias")?
                        .split([',', ' '])
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect();
                }
                Service {
                    name: read::string(name, key)?,
                    aliases,
                    entrypoint: m
                        .get("entrypoint")
                        .map(|e| read::string_list(e, "services:entrypoint"))
                        .transpose()?,
                    command: m
                        .get("command")
                        .map(|e| read::string_list(e, "services:command"))
                        .transpose()?,
                    variables: m
                        .get("variables")
                        .map(|v| read::variables(v, "services:variables", read::JOB_VARIABLE_KEYS))
                        .transpose()?
                        .unwrap_or_default(),
                    platform: m
                        .get("docker")
                        .and_then(|d| d.as_map())
                        .and_then(|d| d.get("platform"))
                        .map(|p| read::string(p, "services:docker:platform"))
                        .transpose()?,
                }
            }
            _ => {
                return Err(err(
                    item,
                    key,
                    format!("a service is a name or a map, found {}", item.kind()),
                ));
            }
        };
        out.push(s);
    }
    Ok(out)
}

fn artifacts_when(node: &Node, key: &str) -> R<ArtifactsWhen> {
    match read::string(node, key)?.as_str() {
        "on_success" => Ok(ArtifactsWhen::OnSuccess),
        "on_failure" => Ok(ArtifactsWhen::OnFailure),
        "always" => Ok(ArtifactsWhen::Always),
        other => Err(err(
            node,
            key,
            format!("unknown value `{other}`; expected on_success, on_failure or always"),
        )),
    }
}

fn artifacts(node: &Node) -> R<Artifacts> {
    let key = "artifacts";
    let m = read::map(node, key)?;
    read::check_keys(
        m,
        node,
        key,
        &[
            "paths",
            "exclude",
            "untracked",
            "when",
            "name",
            "expire_in",
            "expose_as",
            "reports",
            "public",
            "access",
        ],
    )?;
    let list = |k: &str| -> R<Vec<String>> {
        m.get(k)
            .map(|n| read::text_array(n, &format!("{key}:{k}")))
            .transpose()
            .map(|o| o.unwrap_or_default())
    };
    let mut reports = Reports::default();
    if let Some(r) = m.get("reports") {
        let rm = read::map(r, "artifacts:reports")?;
        for (kind, v) in rm.iter() {
            let key = format!("artifacts:reports:{kind}");
            // `coverage_report` is a map with `coverage_format` and `path`.
            let files = match v.as_map() {
                Some(vm) => vm
                    .get("path")
                    .map(|p| read::string_list(p, &key))
                    .transpose()?
                    .unwrap_or_default(),
                None => read::string_list(v, &key)?,
            };
            match kind {
                "junit" => reports.junit = files,
                "dotenv" => reports.dotenv = files,
                _ => {
                    reports.other.insert(kind.to_string(), files);
                }
            }
        }
    }
    Ok(Artifacts {
        paths: list("paths")?,
        exclude: list("exclude")?,
        untracked: m
            .get("untracked")
            .map(|n| read::boolean(n, "artifacts:untracked"))
            .transpose()?
            .unwrap_or(false),
        when: m
            .get("when")
            .map(|n| artifacts_when(n, "artifacts:when"))
            .transpose()?
            .unwrap_or(ArtifactsWhen::OnSuccess),
        name: m
            .get("name")
            .map(|n| read::string(n, "artifacts:name"))
            .transpose()?,
        expire_in: m
            .get("expire_in")
            .map(|n| read::string(n, "artifacts:expire_in"))
            .transpose()?,
        expose_as: m
            .get("expose_as")
            .map(|n| read::string(n, "artifacts:expose_as"))
            .transpose()?,
        reports,
    })
}

fn caches(node: &Node) -> R<Vec<Cache>> {
    match &node.value {
        Value::Null => Ok(Vec::new()),
        // A list of caches may hold lists (anchors of cache lists): GitLab flattens them.
        Value::Seq(_) => {
            let mut flat = Vec::new();
            read::flatten_into(node, &mut flat);
            flat.into_iter().map(cache).collect()
        }
        _ => Ok(vec![cache(node)?]),
    }
}

fn cache(node: &Node) -> R<Cache> {
    let key = "cache";
    let m = read::map(node, key)?;
    read::check_keys(
        m,
        node,
        key,
        &[
            "key",
            "paths",
            "policy",
            "when",
            "untracked",
            "fallback_keys",
            "unprotect",
        ],
    )?;
    let cache_key = match m.get("key") {
        None => CacheKey::Literal("default".into()),
        Some(k) => match &k.value {
            Value::Map(km) => {
                read::check_keys(km, k, "cache:key", &["files", "prefix", "files_commits"])?;
                let files = km
                    .get("files")
                    .ok_or_else(|| err(k, "cache:key", "`cache:key` map needs `files:`"))?;
                CacheKey::Files {
                    files: read::text_array(files, "cache:key:files")?,
                    prefix: km
                        .get("prefix")
                        .map(|p| read::string(p, "cache:key:prefix"))
                        .transpose()?,
                }
            }
            _ => CacheKey::Literal(read::string(k, "cache:key")?),
        },
    };
    // "Use a variable to control a job's cache policy" (docs.gitlab.com/ci/yaml/#cachepolicy):
    // a policy with `$` is checked by the planner once the job's variables are known.
    let (policy, policy_expr) = match m.get("policy") {
        None => (CachePolicy::PullPush, None),
        Some(p) => {
            let text = read::string(p, "cache:policy")?;
            if text.contains('$') {
                (CachePolicy::PullPush, Some(text))
            } else {
                let policy = text
                    .parse()
                    .map_err(|e: crate::pipeline::names::UnknownName| {
                        err(p, "cache:policy", e.to_string())
                    })?;
                (policy, None)
            }
        }
    };
    Ok(Cache {
        key: cache_key,
        paths: m
            .get("paths")
            .map(|p| read::text_array(p, "cache:paths"))
            .transpose()?
            .unwrap_or_default(),
        policy,
        policy_expr,
        when: m
            .get("when")
            .map(|n| artifacts_when(n, "cache:when"))
            .transpose()?
            .unwrap_or(ArtifactsWhen::OnSuccess),
        untracked: m
            .get("untracked")
            .map(|n| read::boolean(n, "cache:untracked"))
            .transpose()?
            .unwrap_or(false),
        fallback_keys: m
            .get("fallback_keys")
            .map(|n| read::string_list(n, "cache:fallback_keys"))
            .transpose()?
            .unwrap_or_default(),
    })
}

fn retry(node: &Node) -> R<Retry> {
    let key = "retry";
    let check_max = |n: &Node| -> R<u32> {
        match n.as_i64() {
            Some(v @ 0..=2) => Ok(v as u32),
            _ => Err(err(n, "retry:max", "`retry` is 0, 1 or 2")),
        }
    };
    match &node.value {
        Value::Map(m) => {
            read::check_keys(m, node, key, &["max", "when", "exit_codes"])?;
            Ok(Retry {
                max: m.get("max").map(check_max).transpose()?.unwrap_or(0),
                when: m
                    .get("when")
                    .map(|w| read::names(w, "retry:when"))
                    .transpose()?
                    .unwrap_or_default(),
                exit_codes: m
                    .get("exit_codes")
                    .map(|c| int_list(c, "retry:exit_codes"))
                    .transpose()?
                    .unwrap_or_default(),
            })
        }
        _ => Ok(Retry {
            max: check_max(node)?,
            ..Retry::default()
        }),
    }
}

/// `only`/`except` refs written `/regex/` must be valid regular expressions: a broken one would
/// otherwise match nothing and silently drop the job.
fn check_ref_patterns(node: &Node, key: &str, refs: &[String]) -> R<()> {
    for r in refs {
        let Some(body) = r.strip_prefix('/') else {
            continue;
        };
        let Some(end) = body.rfind('/') else {
            continue;
        };
        if let Err(e) = regex::Regex::new(&body[..end]) {
            return Err(err(
                node,
                key,
                format!("`{r}` is not a valid regular expression: {e}"),
            ));
        }
    }
    Ok(())
}

fn only_except(node: &Node, key: &str) -> R<OnlyExcept> {
    match &node.value {
        Value::Map(m) => {
            read::check_keys(
                m,
                node,
                key,
                &["refs", "variables", "changes", "kubernetes"],
            )?;
            let list = |k: &str| {
                m.get(k)
                    .map(|n| read::texts(n, &format!("{key}:{k}")))
                    .transpose()
                    .map(|o| o.unwrap_or_default())
            };
            let refs = list("refs")?;
            check_ref_patterns(node, &format!("{key}:refs"), &refs)?;
            Ok(OnlyExcept {
                refs,
                variables: list("variables")?,
                changes: list("changes")?,
            })
        }
        _ => {
            let refs = read::texts(node, key)?;
            check_ref_patterns(node, key, &refs)?;
            Ok(OnlyExcept {
                refs,
                ..OnlyExcept::default()
            })
        }
    }
}

/// `parallel: N` gives `name i/N`; `parallel:matrix` gives `name: [v1, v2]` with values in key order.
fn expand_parallel(j: Job, node: &Node) -> Result<Vec<Job>, ConfigError> {
    let key = "parallel";
    let combos: Vec<Vec<(String, String)>> = match &node.value {
        Value::Scalar { .. } => {
            let n = node
                .as_i64()
                .filter(|n| (1..=MAX_PARALLEL as i64).contains(n))
                .ok_or_else(|| {
                    err(
                        node,
                        key,
                        format!("`parallel:` is a number from 1 to {MAX_PARALLEL}, or a `matrix:`"),
                    )
                    .job(&j.name)
                })?;
            (0..n).map(|_| Vec::new()).collect()
        }
        Value::Map(m) => {
            read::check_keys(m, node, key, &["matrix"]).map_err(|e| e.job(&j.name))?;
            let matrix = m
                .get("matrix")
                .ok_or_else(|| err(node, key, "`parallel:` map takes `matrix:`").job(&j.name))?;
            read::matrix_entries(matrix, "parallel:matrix").map_err(|e| e.job(&j.name))?
        }
        _ => {
            return Err(
                err(node, key, "`parallel:` is a number or a map with `matrix:`").job(&j.name),
            );
        }
    };
    if combos.len() > MAX_PARALLEL {
        return Err(err(
            node,
            key,
            format!(
                "`parallel:` makes {} jobs; GitLab allows {MAX_PARALLEL}",
                combos.len()
            ),
        )
        .job(&j.name));
    }
    let total = combos.len() as u32;
    let is_matrix = matches!(node.value, Value::Map(_));
    Ok(combos
        .into_iter()
        .enumerate()
        .map(|(i, matrix)| {
            let mut inst = j.clone();
            let index = i as u32 + 1;
            inst.name = if is_matrix {
                format!(
                    "{}: [{}]",
                    j.base_name,
                    matrix
                        .iter()
                        .map(|(_, v)| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                format!("{} {index}/{total}", j.base_name)
            };
            inst.parallel = Some(ParallelInstance {
                index,
                total,
                matrix,
            });
            inst
        })
        .collect())
}
