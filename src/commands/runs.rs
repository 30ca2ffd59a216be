//! `runs`, `logs` and `clean`: the run directories and caches kept under the state directory.

use crate::cli::{CleanArgs, CommonArgs, LogsArgs};
use crate::error::Error;
use crate::store::{self, runs};

pub fn list(common: &CommonArgs) -> anyhow::Result<()> {
    let state = store::state_dir(common.state_dir.as_deref());
    let ids = runs::list(&state);
    if ids.is_empty() {
        println!("No runs yet under {}.", state.display());
        return Ok(());
    }
    for id in ids {
        let dir = state.join("runs").join(&id);
        let summary: Vec<serde_json::Value> = std::fs::read(dir.join("summary.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let count = |s: &str| {
            summary
                .iter()
                .filter(|j| j["result"]["status"] == s)
                .count()
        };
        let status = if summary.is_empty() {
            "unfinished".to_string()
        } else {
            format!(
                "{} jobs: {} passed, {} failed, {} cached",
                summary.len(),
                count("success") + count("allowed_failure"),
                count("failed"),
                count("cached")
            )
        };
        println!("{id}  {status}  {}", dir.display());
    }
    Ok(())
}

pub fn logs(common: &CommonArgs, args: &LogsArgs) -> anyhow::Result<()> {
    let state = store::state_dir(common.state_dir.as_deref());
    let id = match &args.run {
        Some(id) => id.clone(),
        None => runs::last(&state)
            .ok_or_else(|| Error::Usage(format!("no runs yet under {}", state.display())))?,
    };
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
        Error::Usage(format!(
            "no log for job `{}` in run {id} (it did not run)",
            args.job
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
        remove(state.join("runs"))?;
        remove(state.join("workspaces"))?;
        gone.push("past runs");
    }
    println!("Emptied the {} under {}.", gone.join(", "), state.display());
    if args.containers {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
        let swept = runtime.block_on(async {
            let executor =
                crate::executor::DockerExecutor::connect(crate::executor::DockerOptions::default())
                    .await?;
            Ok::<_, Error>(executor.remove_stale(120).await)
        })?;
        println!(
            "Removed {} containers, {} networks and {} volumes left on the Docker engine.",
            swept.containers, swept.networks, swept.volumes
        );
        // And on every engine of the pools in the configuration files.
        let mut silent = Vec::new();
        for (address, swept) in crate::commands::engines::sweep_configured(&common.directory)? {
            match swept {
                Ok(s) => println!(
                    "Removed {} containers, {} networks and {} volumes left on {address}.",
                    s.containers, s.networks, s.volumes
                ),
                Err(e) => silent.push(format!("{address}: {e}")),
            }
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

/// Removes every attempt `--keep-failed` kept, its objects on the engine, its host
/// directories and its record.
fn remove_kept(state: &std::path::Path) -> Result<(), Error> {
    let records = crate::executor::kept::all(state);
    if records.is_empty() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let executor =
            crate::executor::DockerExecutor::connect(crate::executor::DockerOptions::default())
                .await?;
        for (path, kept) in &records {
            if let Ok(kept) = kept {
                crate::executor::docker::kept::remove(executor.docker(), kept).await;
            }
            let _ = std::fs::remove_file(path);
        }
        Ok::<_, Error>(())
    })?;
    println!("Removed {} kept jobs.", records.len());
    Ok(())
}
