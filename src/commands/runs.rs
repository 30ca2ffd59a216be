//! `runs`, `logs` and `clean`: the run directories and caches kept under the state directory.

use crate::cli::{CleanArgs, CommonArgs, LogsArgs, RunsArgs};
use crate::error::Error;
use crate::store::{self, runs};

/// Each run's record, written when it starts and when it ends: project, branch, tag, commit,
/// source, start (Unix seconds), duration and status.
pub const RECORD: &str = "run.json";

/// A run's record; a run that says it is `running` while its lock is free was killed before it
/// could say how it ended: `killed`.
fn record(state: &std::path::Path, id: &str) -> Option<serde_json::Value> {
    let dir = state.join("runs").join(id);
    let bytes = std::fs::read(dir.join(RECORD)).ok()?;
    let mut r: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    if r["status"] == "running" && store::liveness::lock_held(&dir) == Some(false) {
        r["status"] = serde_json::json!("killed");
    }
    Some(r)
}

/// The checkout `-C` names, as runs record it (its top directory), when it is one.
fn project_of(common: &CommonArgs) -> Option<std::path::PathBuf> {
    // The directory itself: a project in a subdirectory of a repository is that subdirectory,
    // and a directory that is not a repository is a project of its own.
    common.directory.canonicalize().ok()
}

/// The run ids of the checkout of `-C`, oldest first (every run with `all`).
fn runs_of(common: &CommonArgs, state: &std::path::Path, all: bool) -> Vec<String> {
    let ids = runs::list(state);
    let project = if all { None } else { project_of(common) };
    match project {
        None => ids,
        Some(p) => ids
            .into_iter()
            .filter(|id| {
                record(state, id).is_some_and(|r| {
                    r["project"].as_str().map(std::path::Path::new) == Some(p.as_path())
                })
            })
            .collect(),
    }
}

pub fn list(common: &CommonArgs, args: &RunsArgs, json: bool) -> anyhow::Result<()> {
    let state = store::state_dir(common.state_dir.as_deref());
    let mut ids = runs_of(common, &state, args.all);
    if let Some(limit) = args.limit {
        // The most recent ones.
        ids = ids.split_off(ids.len().saturating_sub(limit));
    }
    if json {
        let runs: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| {
                let mut r = record(&state, id).unwrap_or_else(|| serde_json::json!({}));
                r["id"] = serde_json::json!(id);
                r["dir"] = serde_json::json!(state.join("runs").join(id));
                r
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    if ids.is_empty() {
        println!(
            "No runs of this checkout yet under {} (--all shows every run).",
            state.display()
        );
        return Ok(());
    }
    for id in ids {
        let dir = state.join("runs").join(&id);
        let r = record(&state, &id).unwrap_or_default();
        let text = |k: &str| r[k].as_str().unwrap_or("-").to_string();
        let commit = text("commit");
        let duration = r["duration_ms"]
            .as_u64()
            .map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "-".to_string());
        let git_ref = r["branch"]
            .as_str()
            .or(r["tag"].as_str())
            .unwrap_or("-")
            .to_string();
        println!(
            "{id}  {:<8} {:>8}  {:<20} {}  {}  {}",
            text("status"),
            duration,
            git_ref,
            commit.get(..8).unwrap_or(&commit),
            text("source"),
            dir.display()
        );
    }
    Ok(())
}

pub fn logs(common: &CommonArgs, args: &LogsArgs) -> anyhow::Result<()> {
    let state = store::state_dir(common.state_dir.as_deref());
    let id = match &args.run {
        Some(id) => id.clone(),
        None => runs_of(common, &state, false).pop().ok_or_else(|| {
            Error::Usage(format!(
                "no runs of this checkout yet under {} (`tezos-ci-local runs --all` lists every run)",
                state.display()
            ))
        })?,
    };
    if args.follow {
        return super::follow::follow(&state, &id, &args.job);
    }
    let logs = state.join("runs").join(&id).join("logs");
    let name = store::file_name_for(&args.job);
    // The last attempt's log is the one to show.
    let mut candidates: Vec<std::path::PathBuf> = std::fs::read_dir(&logs)
        .map_err(|_| Error::Usage(format!("no run `{id}` under {}", state.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let f = p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            f == format!("{name}.log") || f.starts_with(&format!("{name}.attempt-"))
        })
        .collect();
    candidates.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let path = candidates.pop().ok_or_else(|| {
        let ran: Vec<String> = std::fs::read_dir(&logs)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let f = e.file_name().to_string_lossy().into_owned();
                f.strip_suffix(".log")
                    .filter(|n| !n.contains(".attempt-"))
                    .map(String::from)
            })
            .collect();
        Error::Usage(format!(
            "no log for job `{}` in run {id} (it did not run){}",
            args.job,
            super::suggest::hint(&args.job, ran.iter().map(String::as_str))
        ))
    })?;
    let mut f = std::fs::File::open(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    std::io::copy(&mut f, &mut std::io::stdout().lock())
        .map_err(|source| Error::Io { path, source })?;
    Ok(())
}

pub fn clean(common: &CommonArgs, args: &CleanArgs) -> anyhow::Result<()> {
    let state = store::state_dir(common.state_dir.as_deref());
    let mut gone = vec!["job result cache"];
    let remove = |p: std::path::PathBuf| match std::fs::remove_dir_all(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io { path: p, source: e }),
        _ => Ok(()),
    };
    // Kept attempts (`--keep-failed`) go with the run directories that record them.
    if args.containers || args.all {
        remove_kept(&state)?;
    }
    remove(state.join("results"))?;
    if args.cache {
        remove(state.join("cache"))?;
        gone.push("`cache:` stores");
    }
    if args.all {
        // A run still going keeps its directory and its snapshot.
        let alive =
            |id: &str| store::liveness::lock_held(&state.join("runs").join(id)) == Some(true);
        for dir in ["runs", "workspaces"] {
            let Ok(entries) = std::fs::read_dir(state.join(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                // `runs/last` names the newest run: kept while that run goes on.
                let named = match name.as_str() {
                    "last" => runs::last(&state).unwrap_or_default(),
                    _ => name,
                };
                if alive(&named) {
                    continue;
                }
                let path = entry.path();
                let gone = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                match gone {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(Error::Io { path, source: e }.into());
                    }
                    _ => {}
                }
            }
        }
        gone.push("past runs (not those still going)");
    }
    println!("Emptied the {} under {}.", gone.join(", "), state.display());
    if args.containers {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
        let which = super::leftovers::Which {
            state: &state,
            force: args.force,
            run: args.run.as_deref(),
        };
        if let Some(id) = which.run.filter(|id| !store::runs::is_run_id(id)) {
            return Err(Error::Usage(format!(
                "--run `{id}` is not a run id (letters, digits and `-`, as `tezos-ci-local runs` \
                 shows them)"
            ))
            .into());
        }
        let swept = runtime.block_on(async {
            let executor =
                crate::executor::DockerExecutor::connect(crate::executor::DockerOptions::default())
                    .await?;
            Ok::<_, Error>(
                executor
                    .remove_dead(&which.filter(), |l| which.liveness(l))
                    .await,
            )
        })?;
        for line in super::leftovers::describe(&swept, "the Docker engine") {
            println!("{line}");
        }
        // And on every engine of the pools in the configuration files.
        let mut silent = Vec::new();
        for (address, swept) in
            crate::commands::engines::sweep_configured(&common.directory, &which)?
        {
            match swept {
                Ok(s) => {
                    for line in super::leftovers::describe(&s, &address) {
                        println!("{line}");
                    }
                }
                Err(e) => silent.push(format!("{address}: {e}")),
            }
        }
        remove_dead_snapshots(&state);
        let work_dir = crate::executor::DockerOptions::default().work_dir;
        let dirs = crate::executor::docker::remove_dead_job_dirs(&work_dir);
        if dirs > 0 {
            println!(
                "Removed {dirs} job directories that runs no longer alive left in {}.",
                work_dir.display()
            );
        }
        if !silent.is_empty() {
            return Err(Error::Environment(format!(
                "could not clean engines that do not answer:\n  {}",
                silent.join("\n  ")
            ))
            .into());
        }
    }
    Ok(())
}

/// Removes the project snapshots (`workspaces/<run id>`) of this state directory's runs that
/// are dead (their lock is free): a run killed outright could not remove its own. Those of runs
/// without a lock (older versions) stay for `clean --all`.
fn remove_dead_snapshots(state: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(state.join("workspaces")) else {
        return;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let id = entry.file_name().to_string_lossy().into_owned();
        let run = state.join("runs").join(&id);
        if runs::is_run_id(&id)
            && store::liveness::lock_held(&run) == Some(false)
            && std::fs::remove_dir_all(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    if removed > 0 {
        println!("Removed the project snapshots of {removed} runs that are no longer alive.");
    }
}

/// Removes every attempt `--keep-failed` kept, its objects on the engine that holds it, its
/// host directories and its record. A record whose engine does not answer stays, so that a later
/// `clean` removes the attempt; it is an error naming the engine.
fn remove_kept(state: &std::path::Path) -> Result<(), Error> {
    let records = crate::executor::kept::all(state);
    if records.is_empty() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
    // By engine: each is connected to once.
    let mut by_engine: std::collections::BTreeMap<Option<String>, Vec<_>> = Default::default();
    for (path, kept) in records {
        let engine = kept.as_ref().ok().and_then(|k| k.engine.clone());
        by_engine.entry(engine).or_default().push((path, kept));
    }
    let mut removed = 0;
    let mut silent = Vec::new();
    runtime.block_on(async {
        for (engine, records) in &by_engine {
            let options = crate::executor::DockerOptions {
                host: engine.clone(),
                ..Default::default()
            };
            let executor = match crate::executor::DockerExecutor::connect(options).await {
                Ok(x) => x,
                Err(e) => {
                    let name = engine.as_deref().unwrap_or("the default Docker engine");
                    silent.push(format!("{name}: {e}"));
                    continue;
                }
            };
            for (path, kept) in records {
                if let Ok(kept) = kept {
                    crate::executor::docker::kept::remove(executor.docker(), kept).await;
                }
                let _ = std::fs::remove_file(path);
                removed += 1;
            }
        }
    });
    println!("Removed {removed} kept jobs.");
    if !silent.is_empty() {
        return Err(Error::Environment(format!(
            "kept jobs stay on engines that do not answer (`clean --containers` again once they \
             do):\n  {}",
            silent.join("\n  ")
        )));
    }
    Ok(())
}
