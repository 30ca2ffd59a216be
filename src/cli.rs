//! The command line: clap structs only. `app.rs` turns them into work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "tezos-ci-local",
    version,
    about = "Run GitLab CI pipelines (the Octez pipeline first) locally, in Docker, fast.",
    long_about = "Run GitLab CI pipelines locally, in Docker containers, with GitLab's own semantics: includes, \
extends, !reference, rules, needs, parallel, artifacts, cache and services. arm64 and s390x jobs run under qemu.\n\n\
With no command, runs the pipeline of the checkout (`tezos-ci-local run`).",
    after_help = "Exit codes: 0 every job passed or was allowed to fail; 1 a job failed; 2 the pipeline, the command line or the environment is wrong; 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline, or the named jobs (names or globs such as 'unit:*').
    Run(Box<RunCommand>),
    /// List the jobs the pipeline has for the chosen source, variables and changes.
    List(ListArgs),
    /// Check the pipeline and print every problem found.
    Validate,
    /// Show a fully resolved job and why each of its rules matched or not.
    Explain(ExplainArgs),
    /// Print the job graph (DOT or Mermaid).
    Graph(GraphArgs),
    /// Print a job's log from the last run (or from --run ID).
    Logs(LogsArgs),
    /// List past runs.
    Runs,
    /// Print the path of a run's HTML report (default: the last run's); --open opens it.
    Report(ReportArgs),
    /// Empty the job result cache (and with --cache, GitLab `cache:` stores; --all, past runs too).
    Clean(CleanArgs),
    /// Install or remove a git pre-push hook that runs the pipeline on the commit being pushed.
    Hook(HookArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Options every command takes: where the checkout is and what pipeline to read for which event.
#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// The checkout to work in.
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        default_value = ".",
        global = true
    )]
    pub directory: PathBuf,
    /// The pipeline file, relative to the checkout (default: .gitlab-ci.yml).
    #[arg(long, value_name = "PATH", global = true, conflicts_with = "pipeline")]
    pub file: Option<PathBuf>,
    /// A pipeline shipped with tezos-ci-local (see pipelines/), such as `octez`.
    #[arg(long, value_name = "NAME", global = true)]
    pub pipeline: Option<String>,
    /// The pipeline source (CI_PIPELINE_SOURCE): push, merge_request_event, schedule, web, api, trigger...
    #[arg(long, value_name = "SOURCE", default_value = "push", global = true)]
    pub source: String,
    /// Set a variable (highest precedence, like a pipeline variable). Repeatable.
    #[arg(
        long = "variable",
        short = 'e',
        value_name = "KEY=VALUE",
        global = true
    )]
    pub variables: Vec<String>,
    /// A YAML file of variables (NAME: value, or NAME: {value, masked, type: file}); default:
    /// .tezos-ci-local-variables.yml in the checkout, when it exists.
    #[arg(long, value_name = "FILE", global = true)]
    pub variables_file: Option<PathBuf>,
    /// What `rules:changes` compares with. Default, as GitLab does: for a push, the branch's
    /// upstream (what the remote already has, GitLab's CI_COMMIT_BEFORE_SHA); for a merge request,
    /// the merge base with the target branch; otherwise (no upstream, other sources) nothing, and
    /// `changes:` is true. Uncommitted changes count as changes.
    #[arg(long, value_name = "REV", global = true)]
    pub changes_base: Option<String>,
    /// Pretend the pipeline runs for this branch (default: the checked-out branch).
    #[arg(long, value_name = "NAME", global = true, conflicts_with = "tag")]
    pub branch: Option<String>,
    /// Make it a tag pipeline for this tag.
    #[arg(long, value_name = "NAME", global = true)]
    pub tag: Option<String>,
    /// The merge request's target branch (with --source merge_request_event; default: the default branch).
    #[arg(long, value_name = "NAME", global = true)]
    pub target_branch: Option<String>,
    /// Use this commit, as committed, instead of the working tree. The pipeline is the branch's
    /// when REV names a branch, else the checked-out branch's (`--branch`/`--tag` choose).
    #[arg(long, value_name = "REV", global = true)]
    pub commit: Option<String>,
    /// Map a runner tag to a platform, such as `big_arm=linux/arm64` (`*` allowed at either end). Repeatable.
    #[arg(long = "platform-map", value_name = "TAG=PLATFORM", global = true)]
    pub platform_map: Vec<String>,
    /// Where runs, logs and caches are kept (default: $XDG_STATE_HOME/tezos-ci-local, or ~/.local/state/tezos-ci-local).
    #[arg(
        long,
        value_name = "DIR",
        global = true,
        env = "TEZOS_CI_LOCAL_STATE_DIR"
    )]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// How many jobs run at once (default: the number of CPUs).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// Stream every job's log live, each line prefixed by its job name.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print one JSON object per event on stdout (see docs/json-events.md).
    #[arg(long)]
    pub json: bool,
    /// Write a JUnit XML report of the jobs (with their own junit reports merged in).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write an HTML report here too (one is always written in the run directory).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Open the HTML report in the browser at the start; it follows the run live.
    #[arg(long)]
    pub open: bool,
    /// Only jobs of this stage. Repeatable.
    #[arg(long, value_name = "STAGE")]
    pub stage: Vec<String>,
    /// Also run what the selected jobs need, transitively.
    #[arg(long)]
    pub needs: bool,
    /// Run manual jobs too.
    #[arg(long)]
    pub manual: bool,
    /// Print the plan and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Start delayed jobs at once instead of waiting for `start_in`.
    #[arg(long)]
    pub no_delay: bool,
    /// Default job timeout (GitLab's default: 1h), such as `30m` or `3600`.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// The image for jobs that name none (GitLab runners have their own default).
    #[arg(long, value_name = "IMAGE")]
    pub default_image: Option<String>,
    /// When to pull images.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub pull: Option<PullArg>,
    /// Allow privileged containers (docker:dind services).
    #[arg(long)]
    pub privileged: bool,
    /// Mount the host's Docker socket into job containers.
    #[arg(long)]
    pub docker_socket: bool,
    /// Run the jobs of a platform on another Docker engine, such as
    /// `linux/arm64=tcp://arm-box:2376` (natively there, instead of under qemu here); the project
    /// and artifacts travel through the engine's API. Repeatable, one engine a platform.
    #[arg(long = "engine", value_name = "PLATFORM=ADDRESS")]
    pub engines: Vec<String>,
    /// Copy every job's artifacts here as well (DIR/JOB/...).
    #[arg(long, value_name = "DIR")]
    pub artifacts_dir: Option<PathBuf>,
    /// Clone this repository (with git) into a temporary directory and run there.
    #[arg(long, value_name = "URL")]
    pub clone: Option<String>,
    /// With --clone: the branch, tag or commit to check out.
    #[arg(long = "ref", value_name = "REF", requires = "clone")]
    pub clone_ref: Option<String>,
    /// Ignore the job result cache: run every job.
    #[arg(long)]
    pub no_cache: bool,
    /// Run this job (a name or a glob) even when its result is cached; the jobs that take its
    /// artifacts run again too, as they would receive new ones (select the job alone,
    /// `run JOB --rerun JOB`, to rerun only it). Repeatable.
    #[arg(long, value_name = "JOB")]
    pub rerun: Vec<String>,
    /// The job result cache's size limit, such as 2G or 500M (default 5G).
    #[arg(long, value_name = "SIZE")]
    pub cache_size: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PullArg {
    IfNotPresent,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct RunCommand {
    /// Jobs to run: names or globs. Default: the whole pipeline.
    #[arg(value_name = "JOB")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array.
    #[arg(long)]
    pub json: bool,
    /// Also show the jobs this pipeline excludes, and why.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The job to explain.
    pub job: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum GraphFormat {
    #[default]
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    pub job: String,
    /// A run id from `tezos-ci-local runs` (default: the last run).
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run id from `tezos-ci-local runs` (default: the last run).
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// Open the report in the browser (xdg-open, or open on macOS).
    #[arg(long)]
    pub open: bool,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Also empty the `cache:` stores that jobs share between runs.
    #[arg(long)]
    pub cache: bool,
    /// Also delete past runs (logs, artifacts, reports).
    #[arg(long)]
    pub all: bool,
    /// Also remove the containers, networks and volumes that runs killed outright (SIGKILL) left
    /// on the Docker engine; those of runs still going are kept.
    #[arg(long)]
    pub engine: bool,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub action: HookAction,
}

#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Write .git/hooks/pre-push (an existing hook is kept and called first).
    Install {
        /// Jobs to run on push (default: the whole pipeline).
        jobs: Vec<String>,
    },
    /// Remove the hook written by `hook install` (restoring a hook it kept).
    Uninstall,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
