//! The command line: clap structs, and the defaults files that fill in what it leaves out
//! (`defaults.rs`). `commands` turns them into work.
//!
//! Every option is one field of [`Options`] (its two groups, [`CommonArgs`] and [`RunArgs`]), and
//! [`command`] makes every one of them global: a flag means the same before or after the
//! subcommand (`tezos-ci-local --engine X run` is `tezos-ci-local run --engine X`), and the value
//! is built once, by clap, with nothing merged by hand. Adding a flag is adding a field.
//! `Options` is also serde data: `hook install` stores it as it is.

use std::path::PathBuf;

mod defaults;

pub use defaults::Defaults;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::pipeline::model::{PipelineSource, PullPolicy};

#[derive(Debug, Parser)]
#[command(
    name = "tezos-ci-local",
    version,
    about = "Run GitLab CI pipelines (the Octez pipeline first) locally, in Docker, fast.",
    long_about = "Run GitLab CI pipelines locally, in Docker containers, with GitLab's own semantics: includes, \
extends, !reference, rules, needs, parallel, artifacts, cache and services. arm64 and s390x jobs run under qemu.\n\n\
With no command, runs the pipeline of the checkout (`tezos-ci-local run`).",
    after_help = "Exit codes: 0 every job passed or was allowed to fail; 1 a job failed; 2 the pipeline, the command line or the environment is wrong (a Docker engine lost mid-run, a full disk); 130 interrupted (SIGINT, SIGTERM, SIGHUP, SIGQUIT)."
)]
pub struct Cli {
    #[command(flatten)]
    pub options: Options,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Every option of the command line, wherever it was given.
#[derive(Debug, Args, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Options {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The command line's definition, every option global (see the module's comment).
pub fn command() -> clap::Command {
    Cli::command().mut_args(|a| {
        // clap's own --help and --version stay where clap puts them.
        if matches!(a.get_id().as_str(), "help" | "version") {
            a
        } else {
            a.global(true)
        }
    })
}

impl Cli {
    /// Whether this command line runs jobs (and must see write errors rather than die of them).
    pub fn runs_jobs(&self) -> bool {
        let hook = matches!(
            &self.command,
            Some(Command::Hook(HookArgs {
                action: HookAction::PrePush { .. }
            }))
        );
        hook || matches!(self.command, None | Some(Command::Run(_))) && !self.options.run.dry_run
    }

    /// Parses `std::env::args`, exiting with clap's message (exit code 2) when they are wrong.
    pub fn parse_args() -> Cli {
        Cli::parse_from_args(std::env::args_os())
    }

    pub fn parse_from_args<I, T>(args: I) -> Cli
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        Cli::try_parse_from_args(&args).unwrap_or_else(|e| {
            if e.kind() == clap::error::ErrorKind::UnknownArgument {
                let hints: Vec<String> = args
                    .iter()
                    .filter_map(|a| peer_hint(&a.to_string_lossy()))
                    .collect();
                if !hints.is_empty() {
                    let _ = e.print();
                    for h in hints {
                        eprintln!("hint: {h}");
                    }
                    std::process::exit(2);
                }
            }
            e.exit()
        })
    }

    pub fn try_parse_from_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut cmd = command();
        let matches = cmd.try_get_matches_from_mut(args)?;
        Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
    }
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
    /// List the past runs of this checkout (project, branch, commit, source, duration, status).
    Runs(RunsArgs),
    /// Print the path of a run's HTML report (default: the last run's); --open opens it.
    Report(ReportArgs),
    /// Empty the job result cache (and with --cache, GitLab `cache:` stores; --all, past runs too).
    Clean(CleanArgs),
    /// Install or remove a git pre-push hook that runs the pipeline on the commit being pushed.
    Hook(HookArgs),
    /// List the Docker engines of every pool (`--engine`, `engines:` in the configuration) with
    /// their architecture, kernel, version, qemu emulation, capacity, and whether they answer.
    Engines(EnginesArgs),
    /// Open an interactive shell in the job's environment: its image, variables, project
    /// directory and services; with --after-failure, in what `run --keep-failed` kept of it.
    Shell(ShellArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Options every command takes: where the checkout is and what pipeline to read for which event.
#[derive(Debug, Args, Clone, Serialize, Deserialize)]
#[serde(default)]
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
    #[arg(
        long,
        value_enum,
        value_name = "SOURCE",
        default_value = "push",
        global = true
    )]
    pub source: PipelineSource,
    /// Set a variable (highest precedence, like a pipeline variable). Repeatable.
    #[arg(
        long = "variable",
        short = 'e',
        value_name = "KEY=VALUE",
        global = true
    )]
    pub variables: Vec<String>,
    /// A YAML file of variables (NAME: value, or NAME: {value, masked, type: file}), or `.env`
    /// lines when its name ends in `.env`; default: .tezos-ci-local-variables.yml and .env in
    /// the checkout, when they exist.
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
    // Includes from elsewhere and inputs (kept together).
    /// Set an input of the pipeline file's `spec:inputs` header. Repeatable.
    #[arg(long = "input", value_name = "NAME=VALUE", global = true)]
    pub inputs: Vec<String>,
    /// Use only the include cache: fetch nothing (`include:project`, `component`, `template`,
    /// `remote`).
    #[arg(long, global = true)]
    pub offline: bool,
    /// Where a project of `include:project` or `include:component` is: a git URL or a local
    /// clone (default: CI_SERVER_URL/PROJECT.git). Repeatable.
    #[arg(
        long = "project-source",
        value_name = "PROJECT=URL_OR_DIR",
        global = true
    )]
    pub project_sources: Vec<String>,
    /// Where `include:template` files are (http(s):// or file://; default: GitLab's repository
    /// on the CI server).
    #[arg(long, value_name = "URL", global = true)]
    pub templates_url: Option<String>,
    /// A file holding a token for private projects (default: $CI_JOB_TOKEN, else git's own
    /// credentials and the ssh agent).
    #[arg(long, value_name = "FILE", global = true)]
    pub gitlab_token_file: Option<PathBuf>,
    /// The longest one include fetch may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "10", global = true)]
    pub fetch_timeout: f64,
    /// When to color the output: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: ColorArg,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
}

/// The equivalent of a gitlab-ci-local option that this program spells otherwise.
pub fn peer_hint(arg: &str) -> Option<String> {
    let flag = arg.split_once('=').map_or(arg, |(f, _)| f);
    let hint = match flag {
        "--list" | "--list-csv" => "gitlab-ci-local's --list is `tezos-ci-local list`",
        "--list-all" | "--list-csv-all" => {
            "gitlab-ci-local's --list-all is `tezos-ci-local list --all`"
        }
        "--list-json" => "gitlab-ci-local's --list-json is `tezos-ci-local list --json`",
        "--preview" => "gitlab-ci-local's --preview is `tezos-ci-local explain JOB` (one job)",
        "--cwd" => "gitlab-ci-local's --cwd is `-C DIR` (--directory)",
        "--job" => "gitlab-ci-local's --job is `tezos-ci-local run JOB`",
        "--concurrency" => "gitlab-ci-local's --concurrency is `-j N` (--jobs)",
        "--home" => {
            "user-level variables go in ~/.config/tezos-ci-local/variables.yml (gitlab-ci-local's \
             ~/.gitlab-ci-local/variables.yml is read when it does not exist)"
        }
        "--shell-isolation" | "--mount-cache" | "--no-artifacts-to-source" => {
            "not needed: jobs never write into the checkout, and `cache:` is kept between runs"
        }
        _ => return None,
    };
    Some(hint.to_string())
}

impl Default for CommonArgs {
    /// The values clap gives when no option is given.
    fn default() -> CommonArgs {
        Cli::parse_from_args(["tezos-ci-local"]).options.common
    }
}

/// How a pipeline runs and is reported (`--json` also makes `list` and `explain` print JSON).
#[derive(Debug, Args, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunArgs {
    /// How many jobs run at once (default: the number of CPUs).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// Stream every job's log live, each line prefixed by its job name.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print JSON: one object per event on stdout for a run (see docs/json-events.md), a JSON
    /// array for `list`, an object for `explain`.
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
    pub pull: Option<PullPolicy>,
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
    /// Keep the job result cache in DIR (default: `results/` under the state directory, or
    /// `result_cache:` in `.tezos-ci-local.yml`): a directory several checkouts, users or CI
    /// machines share (NFS, a mounted volume); concurrent runs never corrupt it.
    #[arg(long, value_name = "DIR")]
    pub result_cache: Option<PathBuf>,
    /// Keep a failed job's containers, volume and services (still labelled) for `tezos-ci-local
    /// shell JOB --after-failure`; `clean --containers` removes them.
    #[arg(long)]
    pub keep_failed: bool,
    /// Bind-mount a host path into every job container, `HOST:CONTAINER[:ro]` (a runner's
    /// `volumes`). Repeatable.
    #[arg(long = "volume", value_name = "HOST:CONTAINER[:ro]")]
    pub volumes: Vec<String>,
    /// A Docker network every job container joins (a runner's `network_mode`).
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// An `/etc/hosts` entry in every job container, `HOST:IP` (a runner's `extra_hosts`).
    /// Repeatable.
    #[arg(long = "extra-host", value_name = "HOST:IP")]
    pub extra_hosts: Vec<String>,
    /// The size of `/dev/shm` in job containers, such as 256m (a runner's `shm_size`).
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Forward this host's ssh agent ($SSH_AUTH_SOCK) into every job (private git dependencies).
    #[arg(long)]
    pub ssh_agent: bool,
    /// Start every line of the jobs' logs with the time it was written (GitLab's
    /// FF_TIMESTAMPS), such as `2026-11-29T16:20:01.123456Z`.
    #[arg(long)]
    pub timestamps: bool,
}

/// GitLab's names as values of `--source` and `--pull`, in GitLab's spelling.
macro_rules! value_enum_from_names {
    ($($name:ty),+) => {
        $(impl ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                <$name>::ALL
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.as_str()))
            }
        })+
    };
}

value_enum_from_names!(PipelineSource, PullPolicy);

#[derive(Debug, Args)]
pub struct RunCommand {
    /// Jobs to run: names or globs. Default: the whole pipeline.
    #[arg(value_name = "JOB")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also show the jobs this pipeline excludes, and why.
    #[arg(long)]
    pub all: bool,
    /// Print the jobs' names only, one a line (what shell completion offers).
    #[arg(long, hide = true)]
    pub names: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The job to explain.
    pub job: String,
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
    /// While the run is under way: print the log as it grows, and return when the job ends.
    #[arg(short = 'f', long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The job.
    #[arg(value_name = "JOB")]
    pub job: String,
    /// Open the shell in the job's environment as its failed attempt left it (the run needs
    /// --keep-failed).
    #[arg(long)]
    pub after_failure: bool,
    /// With --after-failure: a run id from `tezos-ci-local runs` (default: the last run).
    #[arg(long = "in-run", value_name = "ID")]
    pub in_run: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run id from `tezos-ci-local runs` (default: the last run).
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only the N most recent runs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Every run under the state directory, of any checkout.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Also empty the `cache:` stores that jobs share between runs.
    #[arg(long)]
    pub cache: bool,
    /// Also delete past runs (logs, artifacts, reports); runs still going keep theirs.
    #[arg(long)]
    pub all: bool,
    /// Also remove the containers, networks and volumes that runs killed outright (SIGKILL) left
    /// on the Docker engine, and on every engine of the pools configured in `.tezos-ci-local.yml`
    /// and ~/.config/tezos-ci-local/config.yml, running containers included. A run is dead when
    /// its process is gone (the objects' owner label: host, pid, start time) or its run
    /// directory's lock is free; those of live runs, of any user, are kept.
    #[arg(long)]
    pub containers: bool,
    /// With --containers: also remove the objects of runs whose liveness cannot be known here
    /// (made on another host, or by an older version). Live runs' objects are still kept.
    #[arg(long, requires = "containers")]
    pub force: bool,
    /// With --containers: only the objects of this run (an id from `tezos-ci-local runs` or the
    /// `tezos-ci-local.run` label), even when it is another host's; kept while the run is alive.
    #[arg(long, value_name = "ID", requires = "containers")]
    pub run: Option<String>,
}

/// `engines` takes the run's options: `--engine` (and the `engines:` configuration) and `--json`.
#[derive(Debug, Args)]
pub struct EnginesArgs {}

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
        #[arg(value_name = "JOB")]
        names: Vec<String>,
    },
    /// Remove the hook written by `hook install` (restoring a hook it kept).
    Uninstall,
    /// What the installed hook calls: reads git's pre-push lines on stdin and runs the pipeline
    /// on each pushed commit with the options stored at install.
    #[command(hide = true)]
    PrePush {
        /// The stored options and jobs, as `hook install` wrote them (JSON).
        #[arg(long, value_name = "JSON")]
        stored: String,
        /// The remote's name and URL, as git gives them.
        remote: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        super::command().debug_assert();
    }

    /// A subcommand's own argument must not share an id with an option: clap would mix their
    /// values (`hook install JOB` once read `-j`'s).
    #[test]
    fn no_argument_shares_an_id_with_an_option() {
        let mut root = super::command();
        root.build();
        let options: Vec<String> = root
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect();
        fn walk(cmd: &clap::Command, options: &[String], path: &str, seen: &mut usize) {
            for sub in cmd.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                let own = sub
                    .get_arguments()
                    .filter(|a| !a.is_global_set() && a.get_id() != "help");
                for arg in own {
                    let id = arg.get_id().to_string();
                    assert!(
                        !options.contains(&id),
                        "`{path}` argument `{id}` is an option's id"
                    );
                    *seen += 1;
                }
                walk(sub, options, &path, seen);
            }
        }
        let mut seen = 0;
        walk(&root, &options, "tezos-ci-local", &mut seen);
        assert!(seen > 5, "only {seen} arguments of subcommands");
    }

    /// `options` of a command line, or the error clap gives.
    fn parse(args: &[&str]) -> Result<String, String> {
        Cli::try_parse_from_args(args)
            .map(|cli| format!("{:?}", cli.options))
            .map_err(|e| e.to_string())
    }

    /// Every option, given before `run` or after it, gives the same options, and not the
    /// defaults (so the flag was not dropped on either side).
    #[test]
    fn every_option_means_the_same_before_and_after_the_subcommand() {
        let mut cmd = Options::augment_args(clap::Command::new("options"));
        cmd.build();
        let defaults = parse(&["tezos-ci-local", "run"]).unwrap();
        let mut checked = 0;
        for arg in cmd.get_arguments() {
            if matches!(arg.get_id().as_str(), "help" | "version") {
                continue;
            }
            let flag = format!(
                "--{}",
                arg.get_long().expect("every option has a long name")
            );
            let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
            let possible = arg.get_possible_values();
            // The last possible value: the first is often the default.
            let value = match possible.last() {
                Some(v) if takes_value => v.get_name().to_string(),
                _ => "1".to_string(),
            };
            let mut given = vec![flag.clone()];
            if takes_value {
                given.push(value.clone());
            }
            // `--ref` only goes with `--clone`.
            if flag == "--ref" {
                given.extend(["--clone".to_string(), "url".to_string()]);
            }
            let given: Vec<&str> = given.iter().map(String::as_str).collect();
            let before = [&["tezos-ci-local"][..], &given, &["run"]].concat();
            let after = [&["tezos-ci-local", "run"][..], &given].concat();
            let (before, after) = (parse(&before), parse(&after));
            assert_eq!(before, after, "{flag} before and after `run`");
            let parsed = before.unwrap_or_else(|e| panic!("{flag}: {e}"));
            assert_ne!(parsed, defaults, "{flag} {value} was dropped");
            checked += 1;
        }
        assert!(checked >= 30, "only {checked} options");
    }

    #[test]
    fn json_means_json_for_every_command() {
        for args in [
            &["tezos-ci-local", "--json", "list"][..],
            &["tezos-ci-local", "list", "--json"],
            &["tezos-ci-local", "explain", "a", "--json"],
            &["tezos-ci-local", "--json", "explain", "a"],
        ] {
            assert!(
                Cli::try_parse_from_args(args).unwrap().options.run.json,
                "{args:?}"
            );
        }
    }
}
