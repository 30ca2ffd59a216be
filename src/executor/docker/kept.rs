//! A shell in a job's environment (`tezos-ci-local shell`): a fresh container of the job's
//! image, with the variables of its kept step container, on its project volume and its network
//! (where its services run), attached to this terminal; and removing a kept attempt.

use std::collections::HashMap;
use std::io::Write;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType, MountVolumeOptions};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, RemoveContainerOptions,
    ResizeContainerTTYOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{LABEL, LABEL_ATTEMPT, LABEL_JOB, LABEL_OWNER, LABEL_RUN};
use crate::executor::kept::Kept;

/// The shell: bash where the image has it, else sh.
const SHELL: &str = "if command -v bash >/dev/null 2>&1; then exec bash; fi; exec sh";

/// Puts this terminal in raw mode while it lives (keys go to the container's terminal as typed),
/// and restores it when dropped.
struct RawTerminal {
    saved: Option<rustix::termios::Termios>,
}

impl RawTerminal {
    fn new() -> RawTerminal {
        use rustix::termios::{OptionalActions, tcgetattr, tcsetattr};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok();
        if let Some(saved) = &saved {
            let mut raw = saved.clone();
            raw.make_raw();
            let _ = tcsetattr(&stdin, OptionalActions::Now, &raw);
        }
        RawTerminal { saved }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin(),
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
}

/// Opens an interactive shell in `kept`'s environment on this terminal and returns its exit
/// code; the shell's container is removed when it exits (the kept objects stay).
pub async fn shell(docker: &Docker, kept: &Kept) -> Result<i64, String> {
    let inspect = docker
        .inspect_container(&kept.container, None)
        .await
        .map_err(|e| {
            format!(
                "the kept container of `{}` is gone ({e}); was it removed by `clean --containers`?",
                kept.job
            )
        })?;
    let env = inspect.config.and_then(|c| c.env).unwrap_or_default();
    let tty = rustix::termios::isatty(std::io::stdin());
    let labels = HashMap::from([
        (LABEL.to_string(), "1".to_string()),
        (LABEL_RUN.to_string(), kept.run_id.clone()),
        (LABEL_JOB.to_string(), kept.job.clone()),
        (LABEL_ATTEMPT.to_string(), kept.attempt.clone()),
        // The shell's process, alive while the session lasts.
        (
            LABEL_OWNER.to_string(),
            crate::store::liveness::Owner::current().label(),
        ),
    ]);
    let entrypoint = match &kept.entrypoint {
        Some(e) if e.is_empty() => Some(vec![String::new()]),
        e => e.clone(),
    };
    let body = ContainerCreateBody {
        image: Some(kept.image.clone()),
        user: kept.user.clone(),
        env: Some(env),
        cmd: Some(vec!["sh".into(), "-c".into(), SHELL.into()]),
        entrypoint,
        working_dir: Some(kept.project_dir.clone()),
        labels: Some(labels),
        tty: Some(tty),
        open_stdin: Some(true),
        stdin_once: Some(true),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        host_config: Some(HostConfig {
            mounts: Some(vec![Mount {
                target: Some(kept.project_dir.clone()),
                source: Some(kept.volume.clone()),
                typ: Some(MountType::VOLUME),
                volume_options: Some(MountVolumeOptions {
                    no_copy: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            privileged: Some(kept.privileged),
            network_mode: kept.network.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptions {
        name: None,
        platform: kept.platform.clone(),
    };
    let id = docker
        .create_container(Some(opts), body)
        .await
        .map_err(|e| format!("cannot create the shell's container: {e}"))?
        .id;
    let r = attach_and_wait(docker, &id, tty).await;
    let remove = RemoveContainerOptions {
        force: true,
        v: false,
        ..Default::default()
    };
    let _ = docker.remove_container(&id, Some(remove)).await;
    r
}

async fn attach_and_wait(docker: &Docker, id: &str, tty: bool) -> Result<i64, String> {
    let attach = AttachContainerOptions {
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut io = docker
        .attach_container(id, Some(attach))
        .await
        .map_err(|e| format!("cannot attach to the shell's container: {e}"))?;
    docker
        .start_container(id, None)
        .await
        .map_err(|e| format!("cannot start the shell's container: {e}"))?;
    let _raw = tty.then(RawTerminal::new);
    if tty {
        if let Ok(size) = rustix::termios::tcgetwinsize(std::io::stdout()) {
            let resize = ResizeContainerTTYOptions {
                h: i32::from(size.ws_row),
                w: i32::from(size.ws_col),
            };
            let _ = docker.resize_container_tty(id, resize).await;
        }
    }
    // Standard input is read on a thread of its own: a blocking read that never returns must
    // not keep the program from exiting when the shell does.
    let (keys, mut typed) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut stdin, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if keys.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut input = io.input;
    let forward = tokio::spawn(async move {
        while let Some(bytes) = typed.recv().await {
            if input.write_all(&bytes).await.is_err() || input.flush().await.is_err() {
                break;
            }
        }
        let _ = input.shutdown().await;
    });
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    while let Some(chunk) = io.output.next().await {
        match chunk {
            Ok(LogOutput::StdErr { message }) => {
                let _ = stderr.write_all(&message);
                let _ = stderr.flush();
            }
            Ok(
                LogOutput::StdOut { message }
                | LogOutput::Console { message }
                | LogOutput::StdIn { message },
            ) => {
                let _ = stdout.write_all(&message);
                let _ = stdout.flush();
            }
            Err(_) => break,
        }
    }
    forward.abort();
    let mut wait = docker.wait_container(id, None::<WaitContainerOptions>);
    let code = match wait.next().await {
        Some(Ok(r)) => r.status_code,
        // A non-zero exit comes as an error carrying the code.
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        _ => 0,
    };
    Ok(code)
}

/// Removes a kept attempt: its containers (services included), network and volume, then the
/// host directories its volume was made of.
pub async fn remove(docker: &Docker, kept: &Kept) {
    super::remove_labelled(docker, &format!("{LABEL_ATTEMPT}={}", kept.attempt)).await;
    for dir in &kept.host_dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}
