//! The resolved pipeline: plain types that the rest of the program reads. Built by `build.rs`
//! from the merged YAML after includes, `!reference`, `extends` and `default:`; nothing past the
//! loader sees YAML.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

pub use super::names::{CachePolicy, PipelineSource, PullPolicy, RetryWhen};
use crate::yaml::Span;

#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    /// The files read, the root first, as paths relative to the project directory.
    pub files: Vec<String>,
    /// Stage names in order, with `.pre` first and `.post` last.
    pub stages: Vec<String>,
    /// Global `variables:`.
    pub variables: Vec<Variable>,
    pub workflow: Workflow,
    /// Jobs in file order, `parallel:` already expanded into instances. Hidden jobs are not here.
    pub jobs: Vec<Job>,
}

impl Pipeline {
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Workflow {
    pub name: Option<String>,
    pub rules: Option<Vec<Rule>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variable {
    pub name: String,
    pub value: String,
    /// `expand: false` keeps `$` references literal.
    pub expand: bool,
    pub description: Option<String>,
}

impl Variable {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Variable {
            name: name.into(),
            value: value.into(),
            expand: true,
            description: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    OnSuccess,
    OnFailure,
    Always,
    Manual,
    Delayed,
    Never,
}

impl When {
    pub fn as_str(self) -> &'static str {
        match self {
            When::OnSuccess => "on_success",
            When::OnFailure => "on_failure",
            When::Always => "always",
            When::Manual => "manual",
            When::Delayed => "delayed",
            When::Never => "never",
        }
    }

    pub fn parse(s: &str) -> Option<When> {
        Some(match s {
            "on_success" => When::OnSuccess,
            "on_failure" => When::OnFailure,
            "always" => When::Always,
            "manual" => When::Manual,
            "delayed" => When::Delayed,
            "never" => When::Never,
            _ => return None,
        })
    }
}

impl std::fmt::Display for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "exit_codes")]
pub enum AllowFailure {
    No,
    Yes,
    /// Allowed to fail only with one of these exit codes.
    ExitCodes(Vec<i32>),
}

impl AllowFailure {
    pub fn allows(&self, exit_code: Option<i32>) -> bool {
        match self {
            AllowFailure::No => false,
            AllowFailure::Yes => true,
            AllowFailure::ExitCodes(codes) => exit_code.is_some_and(|c| codes.contains(&c)),
        }
    }

    pub fn is_allowed(&self) -> bool {
        !matches!(self, AllowFailure::No)
    }
}

/// One entry of `rules:` (job, workflow or include rules).
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    #[serde(skip)]
    pub span: Span,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    pub if_expr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exists: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub start_in: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_failure: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<Vec<Need>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub paths: Vec<String>,
    pub compare_to: Option<String>,
}

/// Legacy `only:`/`except:`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OnlyExcept {
    pub refs: Vec<String>,
    pub variables: Vec<String>,
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// `image:docker:platform`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pull_policy: Vec<PullPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Need {
    pub job: String,
    pub artifacts: bool,
    pub optional: bool,
    /// `needs:parallel:matrix`: which matrix instances of `job` are needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Each combination in the order written, which is how GitLab names the instance.
    pub matrix: Option<Vec<Vec<(String, String)>>>,
    /// Needs from another pipeline or project cannot be met locally; they are kept to be reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<String>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactsWhen {
    OnSuccess,
    OnFailure,
    Always,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifacts {
    pub paths: Vec<String>,
    pub exclude: Vec<String>,
    pub untracked: bool,
    pub when: ArtifactsWhen,
    pub name: Option<String>,
    pub expire_in: Option<String>,
    pub expose_as: Option<String>,
    pub reports: Reports,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Reports {
    pub junit: Vec<String>,
    pub dotenv: Vec<String>,
    /// Other report kinds (coverage_report, codequality...): kept as artifacts, not interpreted.
    pub other: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum CacheKey {
    Literal(String),
    Files {
        files: Vec<String>,
        prefix: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cache {
    pub key: CacheKey,
    pub paths: Vec<String>,
    /// After planning, the policy the job uses; before, with `policy_expr`, a placeholder.
    pub policy: CachePolicy,
    /// `policy:` written with variables (`$CACHE_POLICY`): expanded with the job's variables and
    /// checked by the planner, which sets `policy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_expr: Option<String>,
    pub when: ArtifactsWhen,
    pub untracked: bool,
    pub fallback_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Retry {
    pub max: u32,
    /// Failure reasons to retry on (`always`, `script_failure`, `job_execution_timeout`...);
    /// empty means any reason.
    pub when: Vec<RetryWhen>,
    pub exit_codes: Vec<i32>,
}

/// Where an instance of a `parallel:` job sits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParallelInstance {
    /// 1-based, as `CI_NODE_INDEX`.
    pub index: u32,
    pub total: u32,
    /// The matrix values of this instance, in the order written (empty for `parallel: N`).
    pub matrix: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// The name GitLab shows: `tezt 3/34`, `unit: [alpha, 1]`, or the YAML key.
    pub name: String,
    /// The YAML key the job was written under (the same for every parallel instance).
    pub base_name: String,
    #[serde(skip)]
    pub span: Span,
    pub stage: String,
    pub image: Option<Image>,
    pub services: Vec<Service>,
    pub before_script: Vec<String>,
    pub script: Vec<String>,
    pub after_script: Vec<String>,
    /// The job's own `variables:` (global ones are in `Pipeline::variables`).
    pub variables: Vec<Variable>,
    /// Which global variables the job inherits (`inherit:variables`).
    pub inherit_variables: Inherit,
    pub rules: Option<Vec<Rule>>,
    pub only: Option<OnlyExcept>,
    pub except: Option<OnlyExcept>,
    pub when: When,
    #[serde(with = "opt_duration")]
    pub start_in: Option<Duration>,
    pub allow_failure: AllowFailure,
    /// `true` when `allow_failure` was written (rules may only override an unwritten one).
    pub allow_failure_set: bool,
    /// `None`: no `needs:` (the job waits for earlier stages); `Some([])`: starts at once.
    pub needs: Option<Vec<Need>>,
    pub dependencies: Option<Vec<String>>,
    pub artifacts: Option<Artifacts>,
    pub cache: Vec<Cache>,
    pub tags: Vec<String>,
    #[serde(with = "opt_duration")]
    pub timeout: Option<Duration>,
    pub retry: Retry,
    pub interruptible: bool,
    pub coverage: Option<String>,
    pub parallel: Option<ParallelInstance>,
    /// What a trigger job starts, in a few words (the project, the child's file): for `list`.
    pub trigger: Option<String>,
    /// `trigger:` read: a child pipeline runs; a multi-project one is listed, not run.
    #[serde(skip)]
    pub downstream: Option<Trigger>,
    pub environment: Option<String>,
    /// `CI_ENVIRONMENT_ACTION`, `_TIER`, `_URL` from `environment:`, for `rules:if` and the job.
    pub environment_vars: Vec<(String, String)>,
    /// Keys GitLab knows that this runner reads but does not act on (`id_tokens`, `secrets`...).
    pub ignored_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "names")]
pub enum Inherit {
    All,
    None,
    Only(Vec<String>),
}

impl Inherit {
    pub fn includes(&self, name: &str) -> bool {
        match self {
            Inherit::All => true,
            Inherit::None => false,
            Inherit::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

pub(crate) mod opt_duration {
    use serde::Serializer;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(d.as_secs()),
            None => s.serialize_none(),
        }
    }
}

/// A trigger job's `trigger:`.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub target: TriggerTarget,
    /// `strategy: depend`: the trigger job takes the downstream pipeline's status.
    pub depend: bool,
    /// `forward:yaml_variables` (default true): the trigger job's YAML variables reach the child.
    pub forward_yaml_variables: bool,
    /// `forward:pipeline_variables` (default false): `--variable`s reach the child.
    pub forward_pipeline_variables: bool,
    /// Where `trigger:` is written.
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum TriggerTarget {
    /// `trigger: project`: a pipeline of another project (multi-project), not run here.
    Project(String),
    /// `trigger: include`: a child pipeline of this project; the include entries as written.
    Child(Vec<ChildInclude>),
}

/// One entry of `trigger:include`.
#[derive(Debug, Clone)]
pub enum ChildInclude {
    /// A `local`, `project`, `template`, `component` or `remote` include (or a path), loaded with
    /// the include machinery.
    Include(crate::yaml::Node),
    /// `artifact: FILE` of `job: JOB`: a file an earlier job generated (a dynamic child).
    Artifact {
        file: String,
        job: String,
        span: Span,
    },
}

impl Trigger {
    /// The child's include entries, when the trigger starts a child pipeline.
    pub fn child(&self) -> Option<&[ChildInclude]> {
        match &self.target {
            TriggerTarget::Child(c) => Some(c),
            TriggerTarget::Project(_) => None,
        }
    }

    /// Whether the child can only be read at run time (it includes a job's artifact).
    pub fn is_dynamic(&self) -> bool {
        self.child()
            .is_some_and(|c| c.iter().any(|i| matches!(i, ChildInclude::Artifact { .. })))
    }
}
