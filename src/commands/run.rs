//! `tezos-ci-local run`: select jobs, snapshot the project, then schedule them in Docker, with the
//! result cache in front, and report.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::app::{self, Loaded};
use crate::cli::{CommonArgs, Options, RunArgs};
use crate::error::Error;
use crate::event::{PipelineStatus, RunEvent};
use crate::executor::{DockerExecutor, DockerOptions, pool_executor};
use crate::executor::{Executor, PullPolicy, Workspace};
use crate::pipeline::read::{check_timeout, parse_duration};
use crate::plan::JobGraph;
use crate::plan::select::{Pick, Selection, select};
use crate::report::{self, ReportOptions, Reporter};
use crate::scheduler::child::WithChildren;
use crate::scheduler::result_keys::{
    CachingPrepare, FileDigests, KeyContext, ProjectConfig, Rerun, images_of, result_cache_at,
};
use crate::scheduler::spec::{DEFAULT_TIMEOUT, LazyWorkspace, SpecFactory, SpecSettings};
use crate::scheduler::{Dispatcher, SchedulerOptions};
use crate::store::result_cache::{DEFAULT_LIMIT, copy_tree, parse_size};
use crate::store::runs::RunDir;

/// How long the end of a run waits for the count of what dead runs left on the engine.
const LEFTOVERS_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

pub fn run(options: &Options, jobs: &[String]) -> anyhow::Result<()> {
    run_jobs(options, jobs, false)
}

/// Runs `jobs`; `for_shell` (`shell JOB`) runs no script and keeps the job's environment.
pub fn run_jobs(options: &Options, jobs: &[String], for_shell: bool) -> anyhow::Result<()> {
    let (common, args) = (&options.common, &options.run);
    // A clone lives in a temporary directory for the whole run.
    let clone_dir = match &args.clone {
        Some(url) => Some(clone(url, args.clone_ref.as_deref())?),
        None => None,
    };
    let dir = clone_dir
        .as_ref()
        .map(|d| d.path().to_path_buf())
        .unwrap_or_else(|| common.directory.clone());
    let loaded = app::load_in(&dir, common)?;
    if args.verbose {
        let files = crate::user_vars::files_read(
            &loaded.checkout.project_dir,
            common.variables_file.as_deref(),
        );
        for f in files {
            eprintln!("Variables read from {}", f.display());
        }
    }
    if let Some(why) = &loaded.plan.workflow_excluded {
        eprintln!(
            "No pipeline for this {} event: {}. Nothing to run.",
            loaded.origin.source,
            loaded.masker().mask(why)
        );
        return Ok(());
    }
    let graph = JobGraph::build(&loaded.plan).map_err(Error::from)?;
    // `TRIGGER » JOB` selects a child's job: its trigger job here, the job in the child.
    let (parent_jobs, child_selections) = app::child::split_names(&loaded.children, jobs)?;
    let jobs = &parent_jobs[..];
    if for_shell && !child_selections.is_empty() {
        return Err(Error::Usage(
            "`shell` opens a job of this pipeline, not of a child pipeline; run the child's \
             files as a pipeline of their own (`--file CHILD.yml`) to open one of its jobs"
                .into(),
        )
        .into());
    }
    let selection = Selection {
        patterns: jobs.to_vec(),
        stages: args.stage.clone(),
        with_needs: args.needs,
        manual: args.manual,
    };
    check_names(&loaded, jobs)?;
    let picks = select(&loaded.plan, &graph, &selection)?;
    if for_shell && picks.len() != 1 {
        return Err(Error::Usage(format!(
            "`shell` takes one job; {} in this pipeline match {:?}",
            picks.len(),
            jobs.join(" ")
        ))
        .into());
    }
    check_images(&loaded, args.default_image.as_deref(), |i| {
        picks[i] == Pick::Run
    })?;
    if args.dry_run {
        // The result cache's lookups are read only: nothing is marked used or stored.
        let cached = if args.no_cache {
            Some(vec![false; picks.len()])
        } else {
            let state = crate::store::state_dir(common.state_dir.as_deref());
            let run = super::predict::RunSettings {
                default_image: args.default_image.as_deref(),
                result_cache: args.result_cache.as_deref(),
            };
            super::predict::predict(&loaded, &state, &graph, &picks, &run)?.cached(
                &loaded,
                &graph,
                &picks,
                &args.rerun,
            )
        };
        print_plan(
            &loaded,
            &graph,
            &picks,
            max_parallel(args),
            cached.as_deref(),
        );
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(run_async(
        common,
        args,
        loaded,
        graph,
        picks,
        child_selections,
        for_shell,
    ));
    // A preparation that Ctrl-C abandoned may still be copying the project on a blocking thread:
    // the run is over, so the process does not wait for it.
    runtime.shutdown_background();
    result
}

fn clone(url: &str, reference: Option<&str>) -> Result<tempfile::TempDir, Error> {
    let dir = tempfile::Builder::new()
        .prefix("tezos-ci-local-clone-")
        .tempdir()
        .map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let repo = git2::build::RepoBuilder::new()
        .clone(url, dir.path())
        .map_err(|e| Error::Environment(format!("cannot clone {url}: {}", e.message())))?;
    if reference.is_none() && repo.head().is_err() {
        return Err(Error::Usage(format!(
            "--clone {url}: the repository has no default branch to check out (its HEAD names \
             no branch); choose one with --ref"
        )));
    }
    if let Some(r) = reference {
        let env = |e: git2::Error| Error::Environment(format!("--ref {r}: {}", e.message()));
        // A branch of the remote becomes the checked-out branch, so that the pipeline is that
        // branch's (CI_COMMIT_BRANCH); a tag or a commit is checked out detached.
        let remote_branch = repo
            .find_branch(&format!("origin/{r}"), git2::BranchType::Remote)
            .ok();
        let obj = match &remote_branch {
            Some(b) => b.get().peel(git2::ObjectType::Commit).map_err(env)?,
            None => repo
                .revparse_single(r)
                .map_err(|e| Error::Usage(format!("--ref {r}: {}", e.message())))?,
        };
        let commit = obj
            .peel_to_commit()
            .map_err(|e| Error::Usage(format!("--ref {r}: {}", e.message())))?;
        repo.checkout_tree(
            commit.as_object(),
            Some(git2::build::CheckoutBuilder::new().force()),
        )
        .map_err(env)?;
        // Detached first: the branch may be the one HEAD is on, which cannot be moved.
        repo.set_head_detached(commit.id()).map_err(env)?;
        if remote_branch.is_some() {
            let mut local = repo.branch(r, &commit, true).map_err(env)?;
            local
                .set_upstream(Some(&format!("origin/{r}")))
                .map_err(env)?;
            repo.set_head(&format!("refs/heads/{r}")).map_err(env)?;
        }
    }
    Ok(dir)
}

/// How many jobs run at once: `-j`, else the number of CPUs.
fn max_parallel(args: &RunArgs) -> usize {
    args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    })
}

/// The plan `--dry-run` prints; `cached`: the jobs a run would report cached, when known.
fn print_plan(
    loaded: &Loaded,
    graph: &JobGraph,
    picks: &[Pick],
    max_parallel: usize,
    cached: Option<&[bool]>,
) {
    println!(
        "Plan for the {} pipeline ({} jobs, at most {max_parallel} at once):",
        loaded.origin.source,
        picks.iter().filter(|p| **p != Pick::Unselected).count()
    );
    for (i, pj) in loaded.plan.jobs.iter().enumerate() {
        let what = match picks[i] {
            Pick::Unselected => continue,
            Pick::Manual => "manual (not run)",
            Pick::Run if cached.is_some_and(|c| c[i]) => "cached",
            Pick::Run => "run",
        };
        let deps: Vec<&str> = graph.deps[i]
            .iter()
            .filter(|&&d| picks[d] != Pick::Unselected)
            .map(|&d| loaded.plan.jobs[d].job.name.as_str())
            .collect();
        println!(
            "  {:<40} {:<12} {:<16} {:<14} after: {}",
            pj.job.name,
            pj.job.stage,
            what,
            pj.platform,
            if deps.is_empty() {
                "-".to_string()
            } else {
                deps.join(", ")
            }
        );
    }
    match cached {
        Some(c) => {
            let n = c.iter().filter(|c| **c).count();
            if n > 0 {
                println!(
                    "{n} job{} cached: a result is stored under the key a run computes \
                     (`explain JOB` says why a job runs; --no-cache or --rerun JOB runs it)",
                    if n == 1 { " is" } else { "s are" }
                );
            }
        }
        None => println!(
            "Which jobs are cached is not known: no Docker engine answered for the image IDs \
             that the result cache's keys cover"
        ),
    }
}

async fn run_async(
    common: &CommonArgs,
    args: &RunArgs,
    loaded: Loaded,
    graph: JobGraph,
    picks: Vec<Pick>,
    child_selections: app::child::ChildSelections,
    for_shell: bool,
) -> anyhow::Result<()> {
    // Listened to from here on: a signal while the engine is reached or the run is set up is
    // answered by the dispatcher as soon as it starts (the run is canceled, exit 130).
    let mut interrupts = signals();
    let state = crate::store::state_dir(common.state_dir.as_deref());
    let pull = args.pull.unwrap_or(PullPolicy::IfNotPresent);
    let default_timeout = match &args.timeout {
        Some(t) => parse_duration(t)
            .ok_or_else(|| format!("`{t}` is not a duration (try 30m or 3600)"))
            .and_then(check_timeout)
            .map_err(|e| Error::Usage(format!("--timeout: {e}")))?,
        None => DEFAULT_TIMEOUT,
    };
    let limit = match &args.cache_size {
        Some(s) => parse_size(s).ok_or_else(|| {
            Error::Usage(format!(
                "--cache-size `{s}`: expected a size such as 500M or 5G"
            ))
        })?,
        None => DEFAULT_LIMIT,
    };
    if let Some(dir) = &args.artifacts_dir {
        check_artifacts_dir(dir)?;
    }
    let config = ProjectConfig::load(&loaded.checkout.project_dir)?;
    let docker_options = DockerOptions {
        runner: runner_options(args)?,
        ..DockerOptions::default()
    };
    let env = crate::engines::AddressEnv::from_process();
    let user_config = crate::engines::config::user_config_file();
    let pools = crate::engines::config::load(
        Some(&loaded.checkout.project_dir),
        user_config.as_deref(),
        &args.engines,
        &env,
    )?;
    let max_parallel = max_parallel(args);
    // What dead runs left on the engine, counted while the run goes (an engine with many
    // objects may take a while to list them): said at the end, when the count is in.
    let mut leftovers = None;
    let executor: Arc<dyn Executor> = if pools.pools.is_empty() {
        let docker =
            or_interrupted(&mut interrupts, DockerExecutor::connect(docker_options)).await?;
        let (client, state) = (docker.docker().clone(), state.clone());
        leftovers = Some(tokio::spawn(async move {
            use crate::executor::docker::{LABEL, LABEL_KEEP, count_dead};
            let which = super::leftovers::Which {
                state: &state,
                force: false,
                run: None,
            };
            // What `--keep-failed` kept is left on purpose.
            let dead = |l: &std::collections::HashMap<String, String>| {
                if l.contains_key(LABEL_KEEP) {
                    crate::store::liveness::Liveness::Alive
                } else {
                    which.liveness(l)
                }
            };
            count_dead(&client, LABEL, dead).await
        }));
        Arc::new(docker)
    } else {
        let mut warnings = Vec::new();
        let connecting =
            pool_executor::connect(docker_options, &pools, max_parallel, &mut warnings);
        let pool = or_interrupted(&mut interrupts, connecting).await?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        Arc::new(pool)
    };
    // Only now, with the options checked and an engine to run on, is there a run to record.
    // Held until the process ends: `clean --containers` then knows that the run is alive.
    let (run_dir, _alive) = RunDir::create_locked(&state)?;
    let started = std::time::SystemTime::now();
    // The project is the directory of `-C`, which `runs` and `logs` filter on: a `--clone` run
    // works in a temporary clone, but it was asked for from this checkout.
    let project = common
        .directory
        .canonicalize()
        .unwrap_or_else(|_| common.directory.clone());
    let mut record = serde_json::json!({
        "project": project,
        "clone": args.clone,
        "branch": loaded.checkout.branch,
        "tag": loaded.checkout.tag,
        "commit": loaded.checkout.sha,
        "source": loaded.origin.source,
        "started": started.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "status": "running",
        // `logs --follow` stops waiting when this process is gone.
        "pid": std::process::id(),
    });
    let _ = std::fs::write(run_dir.path.join(super::runs::RECORD), record.to_string());

    // Image IDs for the result cache's keys.
    let mut images = images_of(&loaded.plan, &picks, args.default_image.as_deref());
    // The static children's jobs are keyed too.
    for child in &loaded.children {
        if let app::child::ChildListing::Static(c) = child {
            let all = vec![Pick::Run; c.plan.jobs.len()];
            for i in images_of(&c.plan, &all, args.default_image.as_deref()) {
                if !images.contains(&i) {
                    images.push(i);
                }
            }
        }
    }
    let image_ids = executor.image_ids(images).await;

    let checkout = loaded.checkout.clone();
    let snapshot_parent = state.join("workspaces");
    let run_id = run_dir.id.clone();
    let snapshot_dest = snapshot_parent.join(&run_id);
    let snapshot_for_make = snapshot_dest.clone();
    // The variables files never reach a job; neither does a `--variables-file` in the project.
    let without = variables_file_in_project(common, &loaded);
    let workspace = LazyWorkspace::new(move || {
        let made = if checkout.commit_mode {
            let root = checkout
                .repo_root
                .clone()
                .unwrap_or_else(|| checkout.project_dir.clone());
            Workspace::from_commit_without(
                &root,
                &checkout.sha,
                &checkout.subdir,
                &snapshot_for_make,
                &without,
            )
        } else {
            Workspace::from_working_tree_without(
                &checkout.project_dir,
                &snapshot_for_make,
                &without,
            )
        };
        made.map_err(|e| e.to_string())
    });
    let files_checkout = loaded.checkout.clone();
    let file_digests = Arc::new(FileDigests::new(move || files_checkout.file_digests()));
    let settings = SpecSettings {
        run_id: run_id.clone(),
        workspace,
        project_root: loaded.checkout.project_dir.clone(),
        file_digests: file_digests.clone(),
        project_dir_in_job: app::project_dir_in_job(&loaded.checkout),
        default_image: args.default_image.clone(),
        pull,
        default_timeout,
        user_vars: loaded.user_vars.clone(),
        privileged: args.privileged,
        mount_docker_socket: args.docker_socket,
        keep_failed: args.keep_failed,
        for_shell,
        cache_store: state.join("cache"),
    };
    let cache = (!args.no_cache)
        .then(|| result_cache_at(args.result_cache.as_deref(), &config, &state, limit));
    let plan = Arc::new(loaded.plan.clone());
    let children = app::child::ChildPipelines::for_run(
        common,
        &loaded,
        settings.share(),
        RunDir {
            id: run_dir.id.clone(),
            path: run_dir.path.clone(),
        },
        child_selections,
        cache.as_ref().map(|c| app::child::ChildCaching {
            cache_root: c.root().to_path_buf(),
            limit,
            rerun: args.rerun.clone(),
            image_ids: Some(image_ids.clone()),
            config: config.clone(),
            files: file_digests.clone(),
        }),
    )?;
    let globals = app::child::global_names(&loaded.pipeline, &loaded.plan);
    let caching = CachingPrepare::new(
        SpecFactory {
            plan: plan.clone(),
            run_dir: RunDir {
                id: run_dir.id.clone(),
                path: run_dir.path.clone(),
            },
            settings,
        },
        cache,
        Rerun::new(args.rerun.clone()),
        KeyContext {
            image_ids: Some(image_ids),
            config,
            files: file_digests,
            masked: loaded
                .user_vars
                .iter()
                .filter(|u| u.masked)
                .map(|u| u.name.clone())
                .collect(),
        },
    );
    let prepare = Arc::new(std::sync::Mutex::new(WithChildren::new(
        caching,
        plan.clone(),
        Arc::new(children),
        0,
        globals,
    )));

    let report_options = ReportOptions {
        verbose: args.verbose,
        color: match common.color {
            crate::cli::ColorArg::Auto => ReportOptions::stderr_wants_color(),
            when => when == crate::cli::ColorArg::Always,
        },
        interactive: ReportOptions::stderr_is_interactive(),
        json: args.json,
        junit: args.junit.clone(),
        html: args.html.clone(),
        page: report::html::PageOptions {
            open: args.open,
            engines: args.engines.clone(),
            pipeline: pipeline_identity(common, args, &loaded),
        },
    };
    let mut reporter = report::reporters(
        &report_options,
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
    );
    let mut report_error = None;
    // Every reporter (terminal, JSON, JUnit, HTML and its data file) sees masked events only.
    let masker = loaded.masker();
    let mut emit = |e: &RunEvent| {
        if let Err(err) = reporter.report(&e.masked(&masker)) {
            report_error.get_or_insert(err);
        }
    };
    let options = SchedulerOptions {
        max_parallel,
        no_delay: args.no_delay,
        run_id: run_id.clone(),
        run_dir: run_dir.path.clone(),
        cancel_grace: std::time::Duration::from_secs(10),
        timestamps: args.timestamps,
    };
    let received = past_inputs(&state, &run_id, &loaded, &graph, &picks);
    let summary = Dispatcher::new(
        &plan,
        &graph,
        picks,
        options,
        executor.clone(),
        prepare.clone(),
        &mut emit,
    )
    .with_received(received)
    .run(interrupts)
    .await;
    let _ = reporter.finish();
    if let Some(count) = leftovers {
        // Done long before, unless the engine is slow to list: then the end of the run does
        // not wait for it more than a moment.
        let counted = tokio::time::timeout(LEFTOVERS_LIMIT, count).await;
        let warning = counted
            .ok()
            .and_then(Result::ok)
            .and_then(|dead| super::leftovers::warning(&dead, "the Docker engine"));
        if let Some(w) = warning {
            eprintln!("warning: {w}");
        }
    }
    // Held only by a preparation that Ctrl-C abandoned: eviction waits for the next run then.
    if let Ok(prepare) = prepare.try_lock() {
        prepare.inner.evict();
        for w in &prepare.inner.warnings {
            eprintln!("warning: {}", masker.mask(w));
        }
    }
    // A kept attempt's overlay volume still reads the snapshot: its removal removes it.
    if !crate::executor::kept::any(&run_dir.path) {
        let _ = std::fs::remove_dir_all(&snapshot_dest);
    }
    let mut summary_json = serde_json::json!(
        summary
            .jobs
            .iter()
            .map(|(i, r)| serde_json::json!({"job": i, "result": r}))
            .collect::<Vec<_>>()
    );
    masker.mask_json(&mut summary_json);
    let _ = std::fs::write(
        run_dir.path.join("summary.json"),
        serde_json::to_vec_pretty(&summary_json).unwrap_or_default(),
    );
    record["status"] = serde_json::json!(match summary.status {
        PipelineStatus::Success => "passed",
        PipelineStatus::Canceled => "canceled",
        PipelineStatus::Failed => "failed",
    });
    record["duration_ms"] = serde_json::json!(started.elapsed().unwrap_or_default().as_millis());
    let _ = std::fs::write(run_dir.path.join(super::runs::RECORD), record.to_string());
    if let Some(dir) = &args.artifacts_dir {
        export_artifacts(&run_dir.path.join("artifacts"), dir)?;
    }
    match summary.status {
        PipelineStatus::Success => Ok(()),
        PipelineStatus::Canceled => Err(Error::Interrupted.into()),
        PipelineStatus::Failed => {
            let failed: Vec<&str> = summary
                .jobs
                .iter()
                .filter(|(_, r)| r.status == crate::event::JobStatus::Failed)
                .map(|(i, _)| i.name.as_str())
                .collect();
            if !args.json {
                next_steps(common, &failed);
            }
            // The environment failed under the run: that is what the exit code reports, not
            // the jobs (which may well pass on a sound host).
            if !summary.environment_faults.is_empty() {
                let faults: Vec<String> = summary
                    .environment_faults
                    .iter()
                    .map(|(job, why)| format!("job {job}: {why}"))
                    .collect();
                return Err(Error::Environment(format!(
                    "the environment failed under the run, not the jobs:\n  {}",
                    faults.join("\n  ")
                ))
                .into());
            }
            Err(Error::JobsFailed(if failed.len() == 1 {
                format!("job {}", failed[0])
            } else {
                format!("{} jobs ({})", failed.len(), failed.join(", "))
            })
            .into())
        }
    }
}

/// `--variables-file`, relative to the project, when it lies inside it.
fn variables_file_in_project(common: &CommonArgs, loaded: &Loaded) -> Vec<std::path::PathBuf> {
    let files = crate::user_vars::files_read(
        &loaded.checkout.project_dir,
        common.variables_file.as_deref(),
    );
    let Ok(project) = loaded.checkout.project_dir.canonicalize() else {
        return Vec::new();
    };
    files
        .iter()
        .filter_map(|f| f.canonicalize().ok())
        .filter_map(|f| f.strip_prefix(&project).ok().map(Path::to_path_buf))
        .collect()
}

/// What makes two runs "the same pipeline" for the HTML report's comparison: the project (or the
/// cloned URL and ref) and the pipeline file.
fn pipeline_identity(common: &CommonArgs, args: &RunArgs, loaded: &Loaded) -> String {
    let project = match &args.clone {
        Some(url) => format!("{url}#{}", args.clone_ref.as_deref().unwrap_or("")),
        None => std::path::absolute(&loaded.checkout.project_dir)
            .unwrap_or_else(|_| loaded.checkout.project_dir.clone())
            .display()
            .to_string(),
    };
    let file = match (&common.pipeline, &common.file) {
        (Some(p), _) => format!("pipeline:{p}"),
        (None, Some(f)) => f.display().to_string(),
        (None, None) => ".gitlab-ci.yml".into(),
    };
    format!("{project} {file} {}", common.source)
}

/// After a failure, what to do next: read the log, run again (only what failed or changed runs).
fn next_steps(common: &CommonArgs, failed: &[&str]) {
    let dir = if common.directory == Path::new(".") {
        String::new()
    } else {
        format!(" -C {}", common.directory.display())
    };
    let quote = |j: &str| {
        if j.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-:./".contains(c))
        {
            j.to_string()
        } else {
            format!("'{}'", j.replace('\'', "'\\''"))
        }
    };
    eprintln!("\nNext steps:");
    if let Some(first) = failed.first() {
        eprintln!(
            "  tezos-ci-local{dir} logs {}    # the failed job's log",
            quote(first)
        );
    }
    eprintln!(
        "  tezos-ci-local{dir}    # run again: only the failed jobs and those whose inputs changed \
         run, the others are cached"
    );
}

/// Every job to run needs an image: one that names none, with no `default:image` and no
/// `--default-image`, is an error before anything runs (GitLab's runners have a default; here
/// the user chooses it), naming the job, where it is defined and the fix.
pub fn check_images(
    loaded: &Loaded,
    default_image: Option<&str>,
    runs: impl Fn(usize) -> bool,
) -> Result<(), Error> {
    if default_image.is_some() {
        return Ok(());
    }
    let missing: Vec<String> = loaded
        .plan
        .jobs
        .iter()
        .enumerate()
        .filter(|(i, pj)| runs(*i) && pj.image.is_none() && pj.job.trigger.is_none())
        .map(|(_, pj)| format!("job `{}` ({})", pj.job.name, pj.job.span))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{} names no `image:` and the pipeline has no `default: image:`; add one of them, or \
         pass --default-image IMAGE",
        missing.join(", ")
    )))
}

/// A job name (not a glob) that names no job of the pipeline is a typo more often than not: say
/// which job it may be. Globs, and names of excluded jobs, are left to `select`'s own message.
fn check_names(loaded: &Loaded, names: &[String]) -> Result<(), Error> {
    for name in names {
        let known = loaded
            .pipeline
            .jobs
            .iter()
            .any(|j| j.name == *name || j.base_name == *name);
        if known || name.contains(['*', '?', '[', '{']) {
            continue;
        }
        return Err(Error::Usage(format!(
            "no job `{name}` in the pipeline{}; `tezos-ci-local list --all` shows them",
            super::suggest::hint(name, loaded.pipeline.jobs.iter().map(|j| j.name.as_str()))
        )));
    }
    Ok(())
}

/// Marks a directory `--artifacts-dir` exported to: later runs may replace what is in it.
const EXPORT_MARKER: &str = ".tezos-ci-local-artifacts";

/// `--artifacts-dir` must be new, empty, or one this program exported to before: files the user
/// keeps there are never overwritten. Checked before the run, so that a path that cannot take the
/// export (a file, a directory under a file, one this user cannot write) is found before the
/// jobs run rather than after.
fn check_artifacts_dir(dir: &Path) -> Result<(), Error> {
    let refuse = |why: String| {
        Err(Error::Usage(format!(
            "--artifacts-dir {}: {why}; choose a new or empty directory",
            dir.display()
        )))
    };
    let writable = |d: &Path| rustix::fs::access(d, rustix::fs::Access::WRITE_OK).is_ok();
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => refuse("it is a file, not a directory".into()),
        Ok(_) => {
            let mut entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) => return refuse(format!("cannot read it: {e}")),
            };
            if entries.next().is_some() && !dir.join(EXPORT_MARKER).exists() {
                return refuse(
                    "the directory holds files that tezos-ci-local did not put there".into(),
                );
            }
            if !writable(dir) {
                return refuse("this user cannot write in it".into());
            }
            Ok(())
        }
        Err(_) => {
            // It is to be made: the nearest thing that exists above it must be a writable
            // directory.
            let existing = dir
                .ancestors()
                .skip(1)
                .map(|a| {
                    if a.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        a
                    }
                })
                .find_map(|a| std::fs::metadata(a).ok().map(|m| (a, m)));
            match existing {
                Some((a, m)) if !m.is_dir() => refuse(format!(
                    "{} is a file, so no directory can be made under it",
                    a.display()
                )),
                Some((a, _)) if !writable(a) => refuse(format!(
                    "it does not exist and this user cannot create it in {}",
                    a.display()
                )),
                _ => Ok(()),
            }
        }
    }
}

/// Copies the run's artifacts to `to/JOB/...`, replacing what an earlier export left for the
/// same jobs.
fn export_artifacts(from: &Path, to: &Path) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: to.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(to).map_err(io)?;
    std::fs::write(
        to.join(EXPORT_MARKER),
        "Artifacts exported by tezos-ci-local --artifacts-dir; later runs replace them.\n",
    )
    .map_err(io)?;
    let Ok(jobs) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for job in jobs.flatten() {
        let dest = to.join(job.file_name());
        match std::fs::remove_dir_all(&dest) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
        copy_tree(&job.path(), &dest).map_err(io)?;
    }
    Ok(())
}

/// `work`, unless a signal comes first: reaching an engine may take a while (an ssh tunnel, an
/// engine that does not answer), and a Ctrl-C meanwhile ends the command (exit 130) before
/// anything was made.
async fn or_interrupted<T>(
    interrupts: &mut mpsc::Receiver<()>,
    work: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::select! {
        r = work => r,
        Some(()) = interrupts.recv() => Err(Error::Interrupted),
    }
}

/// Ctrl-C, SIGTERM, SIGHUP and SIGQUIT, as messages to the dispatcher (which escalates on the
/// second one).
fn signals() -> mpsc::Receiver<()> {
    crate::scheduler::signals::interrupts()
}

/// The artifacts the selected jobs need from jobs that are not selected (`run JOB` without
/// `--needs`), from the newest past run where those passed; says which are missing.
fn past_inputs(
    state: &std::path::Path,
    run_id: &str,
    loaded: &Loaded,
    graph: &JobGraph,
    picks: &[Pick],
) -> Vec<(usize, crate::scheduler::Finished)> {
    let mut received = Vec::new();
    let mut missing: Vec<(String, String)> = Vec::new();
    for (i, pick) in picks.iter().enumerate() {
        if *pick == Pick::Unselected {
            continue;
        }
        for &d in &graph.artifacts_from[i] {
            if picks[d] != Pick::Unselected || received.iter().any(|(r, _)| *r == d) {
                continue;
            }
            let job = &loaded.plan.jobs[d];
            let name = job.job.name.clone();
            match crate::store::past_runs::artifacts_of(state, &name, run_id) {
                Some((_, None)) => {}
                Some((from, Some(dir))) => {
                    eprintln!(
                        "`{}` receives the artifacts of `{name}` from run {from}.",
                        loaded.plan.jobs[i].job.name
                    );
                    let result = crate::event::JobResult {
                        status: crate::event::JobStatus::Success,
                        exit_code: Some(0),
                        duration: std::time::Duration::ZERO,
                        platform: job.platform.clone(),
                        attempts: 1,
                        reason: None,
                        coverage: None,
                        log: None,
                        junit: Vec::new(),
                    };
                    received.push((
                        d,
                        crate::scheduler::Finished {
                            job: name,
                            result,
                            artifacts: Some(dir),
                            dotenv: Vec::new(),
                            key: None,
                        },
                    ));
                }
                None if job.job.artifacts.is_some() => {
                    missing.push((loaded.plan.jobs[i].job.name.clone(), name))
                }
                None => {}
            }
        }
    }
    for (job, from) in &missing {
        eprintln!(
            "warning: `{job}` needs the artifacts of `{from}`, which no past run has (it never \
             passed here): `{job}` runs without them; `--needs` runs `{from}` first."
        );
    }
    received
}

/// The runner options of the command line, checked.
fn runner_options(
    args: &RunArgs,
) -> Result<crate::executor::docker::runner_options::RunnerOptions, Error> {
    use crate::executor::docker::runner_options as r;
    for v in &args.volumes {
        r::check_volume(v).map_err(Error::Usage)?;
    }
    for h in &args.extra_hosts {
        r::check_extra_host(h).map_err(Error::Usage)?;
    }
    let shm_size = args
        .shm_size
        .as_deref()
        .map(r::parse_size)
        .transpose()
        .map_err(Error::Usage)?;
    let ssh_agent = if args.ssh_agent {
        let sock = std::env::var("SSH_AUTH_SOCK")
            .ok()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::Usage("--ssh-agent: no ssh agent here (SSH_AUTH_SOCK is not set)".into())
            })?;
        Some(sock)
    } else {
        None
    };
    Ok(r::RunnerOptions {
        volumes: args.volumes.clone(),
        network: args.network.clone(),
        extra_hosts: args.extra_hosts.clone(),
        shm_size,
        ssh_agent,
    })
}
