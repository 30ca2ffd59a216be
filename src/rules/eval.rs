//! Evaluates `rules:` lists (first match wins; a rule matches when all its clauses hold) and
//! legacy `only`/`except`, recording why each rule matched or not, for `explain` and `list --all`.

use std::sync::Arc;

use crate::error::ConfigError;
use crate::expr;
use crate::pipeline::model::{OnlyExcept, PipelineSource, Rule};
use crate::rules::glob::{PathPattern, first_match};

/// The files a pipeline changes, as `rules:changes` sees them.
pub trait ChangedFiles {
    /// The changed paths (relative to the project) compared with `compare_to`, or with the
    /// pipeline's default base when `None`. `Ok(None)`: there is nothing to compare with, and
    /// GitLab then treats every `changes:` clause as true.
    fn changed(&self, compare_to: Option<&str>) -> Result<Option<Arc<Vec<String>>>, String>;
}

/// The project's files, for `exists:`; listing them costs a walk, so it is done only when asked.
pub trait ProjectFiles {
    fn list(&self) -> &[String];
}

impl ProjectFiles for Vec<String> {
    fn list(&self) -> &[String] {
        self
    }
}

/// Lists the files on first use.
pub struct LazyFiles<F: Fn() -> Vec<String>> {
    make: F,
    files: std::sync::OnceLock<Vec<String>>,
}

impl<F: Fn() -> Vec<String>> LazyFiles<F> {
    pub fn new(make: F) -> Self {
        LazyFiles {
            make,
            files: std::sync::OnceLock::new(),
        }
    }
}

impl<F: Fn() -> Vec<String>> ProjectFiles for LazyFiles<F> {
    fn list(&self) -> &[String] {
        self.files.get_or_init(&self.make)
    }
}

/// What rules can look at.
pub struct Facts<'a> {
    pub vars: &'a dyn Fn(&str) -> Option<String>,
    pub changes: &'a dyn ChangedFiles,
    /// Every file of the project, relative to it, for `exists:`.
    pub files: &'a dyn ProjectFiles,
}

/// The pipeline's ref and source, for `only:refs`/`except:refs`.
#[derive(Debug, Clone)]
pub struct RefFacts {
    pub source: PipelineSource,
    pub ref_name: String,
    pub is_tag: bool,
    pub is_merge_request: bool,
    /// `namespace/project`, for `ref@namespace/project` entries.
    pub project_path: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClauseCheck {
    /// The clause as written, e.g. `if: $CI_COMMIT_BRANCH == "master"`.
    pub clause: String,
    pub result: bool,
    /// Why: the variables read, the file that matched, the comparison base...
    pub detail: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleCheck {
    pub index: usize,
    pub clauses: Vec<ClauseCheck>,
    pub matched: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Evaluation {
    /// The index of the first rule that matched.
    pub matched: Option<usize>,
    /// One entry per rule looked at (evaluation stops at the first match).
    pub checks: Vec<RuleCheck>,
}

pub fn evaluate(rules: &[Rule], facts: &Facts, key: &str) -> Result<Evaluation, ConfigError> {
    let mut eval = Evaluation::default();
    for (index, rule) in rules.iter().enumerate() {
        let mut clauses = Vec::new();
        let mut matched = true;
        if let Some(src) = &rule.if_expr {
            let parsed = expr::parse(src).map_err(|e| {
                ConfigError::new(Some(&rule.span), e.to_string()).key(format!("{key}:if"))
            })?;
            let result = parsed.eval(facts.vars).map_err(|e| {
                ConfigError::new(Some(&rule.span), e.to_string()).key(format!("{key}:if"))
            })?;
            let detail = parsed
                .variables()
                .iter()
                .map(|v| match (facts.vars)(v) {
                    Some(val) => format!("${v}={val:?}"),
                    None => format!("${v} unset"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            clauses.push(ClauseCheck {
                clause: format!("if: {src}"),
                result,
                detail,
            });
            matched &= result;
        }
        if matched {
            if let Some(changes) = &rule.changes {
                // Paths and `compare_to` may hold variables (docs.gitlab.com/ci/yaml/#ruleschanges).
                let paths = expand_paths(&changes.paths, facts);
                let compare_to = changes.compare_to.as_deref().map(|c| expand_path(c, facts));
                let (result, detail) = check_changes(&paths, compare_to.as_deref(), facts)
                    .map_err(|m| {
                        ConfigError::new(Some(&rule.span), m).key(format!("{key}:changes"))
                    })?;
                clauses.push(ClauseCheck {
                    clause: format!("changes: {}", changes.paths.join(", ")),
                    result,
                    detail,
                });
                matched &= result;
            }
        }
        if matched {
            if let Some(exists) = &rule.exists {
                let paths = expand_paths(exists, facts);
                let (result, detail) = check_exists(&paths, facts).map_err(|m| {
                    ConfigError::new(Some(&rule.span), m).key(format!("{key}:exists"))
                })?;
                clauses.push(ClauseCheck {
                    clause: format!("exists: {}", exists.join(", ")),
                    result,
                    detail,
                });
                matched &= result;
            }
        }
        eval.checks.push(RuleCheck {
            index,
            clauses,
            matched,
        });
        if matched {
            eval.matched = Some(index);
            break;
        }
    }
    Ok(eval)
}

/// Expands variables in a `changes:`/`exists:` path. "If the `$VAR` variable exists, its value is
/// used. If it does not exist, the `$` is interpreted as being part of a path"
/// (docs.gitlab.com/ci/yaml/#ruleschanges).
fn expand_path(path: &str, facts: &Facts) -> String {
    crate::expand::expand_keeping_unknown(path, facts.vars)
}

fn expand_paths(paths: &[String], facts: &Facts) -> Vec<String> {
    paths.iter().map(|p| expand_path(p, facts)).collect()
}

fn patterns(paths: &[String]) -> Result<Vec<PathPattern>, String> {
    paths.iter().map(|p| PathPattern::cached(p)).collect()
}

fn check_changes(
    paths: &[String],
    compare_to: Option<&str>,
    facts: &Facts,
) -> Result<(bool, String), String> {
    let pats = patterns(paths)?;
    match facts.changes.changed(compare_to)? {
        None => Ok((
            true,
            "no comparison base for this pipeline: GitLab treats `changes` as true".into(),
        )),
        Some(changed) => match first_match(&pats, changed.iter().map(String::as_str)) {
            Some((file, pat)) => Ok((true, format!("{file} changed (matches {pat})"))),
            None => Ok((
                false,
                format!("none of the {} changed files matches", changed.len()),
            )),
        },
    }
}

fn check_exists(paths: &[String], facts: &Facts) -> Result<(bool, String), String> {
    let pats = patterns(paths)?;
    match first_match(&pats, facts.files.list().iter().map(String::as_str)) {
        Some((file, _)) => Ok((true, format!("{file} exists"))),
        None => Ok((false, "no such file".into())),
    }
}

/// Legacy `only`/`except`. Without `only` (and without `rules`), GitLab applies
/// `only: [branches, tags]` -- unless the pipeline has `workflow:rules` (`default_only` false):
/// then GitLab drops that default (Entry::Processable#compose!). Within a key any entry may match;
/// across keys all must (for `only` to include, and for `except` to exclude).
pub fn evaluate_only_except(
    only: Option<&OnlyExcept>,
    except: Option<&OnlyExcept>,
    default_only: bool,
    refs: &RefFacts,
    facts: &Facts,
) -> Result<(bool, String), String> {
    let branches_and_tags = OnlyExcept {
        refs: vec!["branches".into(), "tags".into()],
        ..OnlyExcept::default()
    };
    let nothing = OnlyExcept::default();
    let (only, default_only) = match only {
        Some(o) => (o, &branches_and_tags),
        None if default_only => (&branches_and_tags, &branches_and_tags),
        None => (&nothing, &nothing),
    };
    let only_refs =
        if only.refs.is_empty() && (only.variables.is_empty() && only.changes.is_empty()) {
            &default_only.refs
        } else {
            &only.refs
        };
    if !only_refs.is_empty() && !refs_match(only_refs, refs) {
        return Ok((
            false,
            format!(
                "only:refs [{}] does not match {} pipeline for `{}`",
                only_refs.join(", "),
                refs.source,
                refs.ref_name
            ),
        ));
    }
    if !only.variables.is_empty() && !any_expr(&only.variables, facts)? {
        return Ok((false, "no only:variables expression is true".into()));
    }
    if !only.changes.is_empty() && !check_changes(&only.changes, None, facts)?.0 {
        return Ok((false, "only:changes: no matching file changed".into()));
    }
    if let Some(except) = except {
        let mut all =
            !(except.refs.is_empty() && except.variables.is_empty() && except.changes.is_empty());
        if !except.refs.is_empty() {
            all &= refs_match(&except.refs, refs);
        }
        if all && !except.variables.is_empty() {
            all &= any_expr(&except.variables, facts)?;
        }
        if all && !except.changes.is_empty() {
            all &= check_changes(&except.changes, None, facts)?.0;
        }
        if all {
            return Ok((false, "excluded by except:".into()));
        }
    }
    Ok((true, "only/except allow it".into()))
}

fn any_expr(exprs: &[String], facts: &Facts) -> Result<bool, String> {
    for src in exprs {
        let e = expr::parse(src).map_err(|e| e.to_string())?;
        if e.eval(facts.vars).map_err(|e| e.to_string())? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn refs_match(patterns: &[String], refs: &RefFacts) -> bool {
    patterns.iter().any(|entry| {
        // `ref@namespace/project` holds only in that project: "The @ symbol denotes the
        // beginning of a ref's repository path", which "is always matched literally"
        // (docs.gitlab.com/ci/jobs/job_rules/#compare-a-variable-to-a-regular-expression). The
        // keywords take it too: `branches@group/project`.
        let (pat, project) = match entry.split_once('@') {
            Some((pat, project)) => (pat, Some(project)),
            None => (entry.as_str(), None),
        };
        if project.is_some_and(|p| p != refs.project_path) {
            return false;
        }
        match pat {
            "branches" => !refs.is_tag && !refs.is_merge_request,
            "tags" => refs.is_tag,
            "merge_requests" => refs.is_merge_request,
            "schedules" => refs.source == PipelineSource::Schedule,
            "pushes" => refs.source == PipelineSource::Push,
            "web" => refs.source == PipelineSource::Web,
            "api" => refs.source == PipelineSource::Api,
            "triggers" => refs.source == PipelineSource::Trigger,
            "pipelines" => refs.source == PipelineSource::Pipeline,
            "external" => refs.source == PipelineSource::External,
            "external_pull_requests" => refs.source == PipelineSource::ExternalPullRequestEvent,
            "chat" => refs.source == PipelineSource::Chat,
            // "Pattern matching does not work for merge request pipelines": a branch name or a
            // regular expression matches only the ref of a branch or tag pipeline
            // (docs.gitlab.com/ci/yaml/#onlyrefs--exceptrefs).
            _ if refs.is_merge_request => false,
            _ => match pat.strip_prefix('/').and_then(|rest| rest.rsplit_once('/')) {
                Some((body, flags)) if !body.is_empty() => {
                    let re = if flags.contains('i') {
                        format!("(?i){body}")
                    } else {
                        body.to_string()
                    };
                    regex::Regex::new(&re).is_ok_and(|r| r.is_match(&refs.ref_name))
                }
                _ => pat == refs.ref_name,
            },
        }
    })
}
