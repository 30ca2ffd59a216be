//! One stage of a job (the script, then `after_script`) in its own container on the job's
//! volume, as GitLab's Docker executor does: create, put files in, attach, start, stream the
//! output to the log as it comes, and wait for the exit code or the deadline.

use std::collections::HashMap;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType, MountVolumeOptions};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, KillContainerOptions, UploadToContainerOptions,
};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;

use super::engine::CALL_LIMIT;
use crate::executor::LogSink;
use crate::executor::lifecycle::Ended;
use crate::executor::tarball::{Part, upload_stream};

/// What a stage container is made of.
pub(crate) struct Stage {
    pub name: String,
    pub image: String,
    pub platform: String,
    /// `None` keeps the image's entrypoint; `Some([])` removes it.
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: Option<String>,
    pub labels: HashMap<String, String>,
    /// The job's volume and where it is mounted (the project directory).
    pub volume: String,
    pub network: Option<String>,
    pub privileged: bool,
    /// The engine's socket path, mounted at the same place, when the job asks for it.
    pub docker_socket: Option<String>,
    pub runner: super::runner_options::RunnerOptions,
}

pub(crate) async fn create(docker: &Docker, s: &Stage) -> Result<String, DockerError> {
    let entrypoint = match &s.entrypoint {
        // The API resets an entrypoint given as one empty string.
        Some(e) if e.is_empty() => Some(vec![String::new()]),
        e => e.clone(),
    };
    let mounts = vec![Mount {
        target: Some(s.working_dir.clone()),
        source: Some(s.volume.clone()),
        typ: Some(MountType::VOLUME),
        // Never copy the image's files at that path into the volume: it holds the project.
        volume_options: Some(MountVolumeOptions {
            no_copy: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }];
    let binds = s.docker_socket.as_ref().map(|p| vec![format!("{p}:{p}")]);
    let mut host_config = HostConfig {
        mounts: Some(mounts),
        binds,
        privileged: Some(s.privileged),
        network_mode: s.network.clone(),
        ..Default::default()
    };
    s.runner.apply(&mut host_config);
    let body = ContainerCreateBody {
        image: Some(s.image.clone()),
        user: s.user.clone(),
        env: Some(s.env.clone()),
        cmd: Some(s.cmd.clone()),
        entrypoint,
        working_dir: Some(s.working_dir.clone()),
        labels: Some(s.labels.clone()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        host_config: Some(host_config),
        ..Default::default()
    };
    let opts = CreateContainerOptions {
        name: Some(s.name.clone()),
        platform: s.platform.clone(),
    };
    let id = docker.create_container(Some(opts), body).await?.id;
    // A job with services is on its own network; it joins the runner's network too.
    if let (Some(_), Some(extra)) = (&s.network, &s.runner.network) {
        let join = bollard::models::NetworkConnectRequest {
            container: id.clone(),
            ..Default::default()
        };
        docker.connect_network(extra, join).await?;
    }
    Ok(id)
}

/// Extracts a tar of `parts` at `path` in a created (not yet started) container; for a path in
/// the job's volume, the files land in the volume.
pub(crate) async fn upload(
    docker: &Docker,
    id: &str,
    path: &str,
    parts: Vec<Part>,
) -> Result<(), DockerError> {
    let opts = UploadToContainerOptions {
        path: path.to_string(),
        ..Default::default()
    };
    let body = bollard::body_try_stream(upload_stream(parts));
    docker.upload_to_container(id, Some(opts), body).await
}

/// How long output is still read, after a kill at the deadline, before the stream is dropped.
const KILL_DRAIN: Duration = Duration::from_secs(3);

/// Starts the container and streams its output into `log` until it exits or `deadline` passes
/// (then it is killed).
pub(crate) async fn run(
    docker: &Docker,
    id: &str,
    log: &mut LogSink,
    deadline: Instant,
) -> Result<Ended, DockerError> {
    let attach = AttachContainerOptions {
        stream: true,
        stdout: true,
        stderr: true,
        logs: true,
        ..Default::default()
    };
    // Attached before the start so that no early output is lost.
    let mut output = bounded(docker.attach_container(id, Some(attach)))
        .await?
        .output;
    bounded(docker.start_container(id, None)).await?;
    let mut wait = docker.wait_container(id, None);
    let sleep = tokio::time::sleep_until(deadline);
    tokio::pin!(sleep);
    let mut output_open = true;
    let code = loop {
        tokio::select! {
            // The deadline first: a job that floods its output must still time out.
            biased;
            _ = &mut sleep => {
                kill_reading(docker, id, &mut output, output_open).await;
                return Ok(Ended::TimedOut);
            }
            w = wait.next() => break exit_code(docker, id, w).await?,
            item = output.next(), if output_open => match item {
                // Writing waits for the log's reader; the deadline does not.
                Some(Ok(out)) => {
                    if tokio::time::timeout_at(deadline, write(log, out)).await.is_err() {
                        kill_reading(docker, id, &mut output, output_open).await;
                        return Ok(Ended::TimedOut);
                    }
                }
                // A broken attach stream does not stop the job; the exit code still counts.
                Some(Err(_)) | None => output_open = false,
            },
        }
    };
    if output_open {
        drain(&mut output, log).await;
    }
    if code == SIGKILLED {
        say_who_killed(docker, id, log).await;
    }
    Ok(Ended::Exited(code))
}

/// The exit code of a process killed by SIGKILL.
const SIGKILLED: i64 = 128 + 9;

/// A container killed outright (not at the deadline: that is a timeout) is still the job's
/// failure, as in GitLab (`exit code 137`), but the log says what the engine knows of it: the
/// kernel's OOM killer, a container removed from outside, or a SIGKILL from the job or from
/// outside it (`docker kill`).
async fn say_who_killed(docker: &Docker, id: &str, log: &mut LogSink) {
    let line = match bounded(docker.inspect_container(id, None)).await {
        Ok(c) if c.state.as_ref().and_then(|s| s.oom_killed) == Some(true) => {
            "WARNING: the job's container was killed by the kernel: out of memory"
        }
        Ok(c)
            if c.state.as_ref().and_then(|s| s.status)
                == Some(bollard::models::ContainerStateStatusEnum::REMOVING) =>
        {
            "WARNING: the job's container was removed from outside the job while it ran"
        }
        Ok(_) => {
            "WARNING: the job's container was killed by SIGKILL (exit code 137): by the job \
             itself, or from outside it (`docker kill`, a memory limit)"
        }
        Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => "WARNING: the job's container was removed from outside the job while it ran",
        Err(_) => return,
    };
    log.line(line).await;
}

/// An engine call that must not hang the run: the engine may be wedged by another container.
async fn bounded<T>(
    call: impl std::future::Future<Output = Result<T, DockerError>>,
) -> Result<T, DockerError> {
    tokio::time::timeout(CALL_LIMIT, call)
        .await
        .unwrap_or(Err(DockerError::RequestTimeoutError))
}

/// Kills the container while still reading its output: an engine whose attach stream nobody
/// reads blocks the container's output, and with it the kill and every `inspect` of it. What is
/// read past the deadline is dropped (writing it would wait for the log's reader); it is read
/// for a few seconds at most, then the caller drops the stream, which closes it.
async fn kill_reading(
    docker: &Docker,
    id: &str,
    output: &mut (impl futures_util::Stream<Item = Result<LogOutput, DockerError>> + Unpin),
    mut open: bool,
) {
    let killing = kill(docker, id);
    tokio::pin!(killing);
    let until = Instant::now() + KILL_DRAIN;
    let mut killed = false;
    while !killed && open {
        tokio::select! {
            _ = &mut killing => killed = true,
            item = tokio::time::timeout_at(until, output.next()) => match item {
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => open = false,
                Err(_) => break,
            },
        }
    }
    if !killed {
        killing.await;
    }
}

async fn write(log: &mut LogSink, out: LogOutput) {
    match out {
        LogOutput::StdOut { message }
        | LogOutput::StdErr { message }
        | LogOutput::Console { message } => log.write(&message).await,
        LogOutput::StdIn { .. } => {}
    }
}

/// What is still in the pipe after the exit, without waiting on a stream a leftover process
/// might keep open.
async fn drain(
    output: &mut (impl futures_util::Stream<Item = Result<LogOutput, DockerError>> + Unpin),
    log: &mut LogSink,
) {
    let until = Instant::now() + Duration::from_secs(2);
    while let Ok(Some(Ok(out))) = tokio::time::timeout_at(until, output.next()).await {
        write(log, out).await;
    }
}

/// bollard reports a non-zero exit as an error: it is a result here.
async fn exit_code(
    docker: &Docker,
    id: &str,
    w: Option<Result<bollard::models::ContainerWaitResponse, DockerError>>,
) -> Result<i64, DockerError> {
    match w {
        Some(Ok(r)) => Ok(r.status_code),
        Some(Err(DockerError::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(e)) => Err(e),
        None => {
            let state = bounded(docker.inspect_container(id, None)).await?.state;
            Ok(state.and_then(|s| s.exit_code).unwrap_or(-1))
        }
    }
}

/// Kills the container, within [`CALL_LIMIT`].
pub(crate) async fn kill(docker: &Docker, id: &str) {
    let opts = KillContainerOptions {
        signal: "SIGKILL".into(),
    };
    // It may have exited meanwhile: nothing to do then.
    let _ = bounded(docker.kill_container(id, Some(opts))).await;
}
