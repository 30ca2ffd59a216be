//! `tezos-ci-local shell JOB`: an interactive shell in a job's environment. Without
//! `--after-failure`, the job is prepared as a run would (image, services, project directory
//! with the artifacts it receives, variables) with no script, the shell opens in it, and all of
//! it is removed when the shell exits. With `--after-failure`, the shell opens in what `run
//! --keep-failed` kept of the job's failed attempt, which stays until `clean --containers`.

use crate::cli::{Options, ShellArgs};
use crate::error::Error;
use crate::executor::kept;
use crate::store;

pub fn run(options: &Options, args: &ShellArgs) -> anyhow::Result<()> {
    let state = store::state_dir(options.common.state_dir.as_deref());
    let record = if args.after_failure {
        let id = match &args.in_run {
            Some(id) => id.clone(),
            None => store::runs::last(&state)
                .ok_or_else(|| Error::Usage(format!("no runs yet under {}", state.display())))?,
        };
        let record = kept::record_path(&state.join("runs").join(&id), &args.job);
        if !record.is_file() {
            return Err(Error::Usage(format!(
                "run {id} kept nothing of job `{}`: only a failed job of a run with \
                 --keep-failed is kept (`tezos-ci-local run '{}' --keep-failed`)",
                args.job, args.job
            ))
            .into());
        }
        record
    } else {
        let mut prepare = options.clone();
        // The job runs alone, never from the result cache, manual or not.
        prepare.run.no_cache = true;
        prepare.run.manual = true;
        prepare.run.needs = false;
        crate::commands::run::run_jobs(&prepare, std::slice::from_ref(&args.job), true)?;
        let id = store::runs::last(&state)
            .ok_or_else(|| Error::Environment("the job's environment was not recorded".into()))?;
        kept::record_path(&state.join("runs").join(&id), &args.job)
    };
    let kept = kept::read(&record).map_err(Error::Environment)?;
    let disposable = !args.after_failure;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
    let code = runtime.block_on(async {
        // The engine that ran the job (`--engine`, `engines:`), else the default one.
        let executor = crate::executor::DockerExecutor::connect(crate::executor::DockerOptions {
            host: kept.engine.clone(),
            ..Default::default()
        })
        .await?;
        let docker = executor.docker();
        let code = crate::executor::docker::kept::shell(docker, &kept).await;
        if disposable {
            crate::executor::docker::kept::remove(docker, &kept).await;
            let _ = std::fs::remove_file(&record);
        }
        code.map_err(Error::Environment)
    })?;
    if code != 0 {
        eprintln!("The shell exited with code {code}.");
    }
    Ok(())
}
