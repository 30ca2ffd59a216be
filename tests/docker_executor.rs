//! The Docker executor against the real engine, through the library API: platforms, failures,
//! timeouts, cancel, services, entrypoints, masking, isolation of the snapshot (artifacts, cache
//! and the upload path in `docker_executor/outputs.rs`), and no leftovers after each. Without an
//! engine each test says it is skipped, unless `CI=true`, where it fails.

#[path = "docker_executor/outputs.rs"]
mod outputs;
#[path = "docker_executor/support.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;
use tezos_ci_local::executor::{
    AttemptStatus, DockerExecutor, DockerOptions, Executor, FailureReason, LogSink, ServiceSpec,
};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread")]
async fn runs_natively_and_emulated() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let fx = Fixture::new("arch");
    let cases = [
        ("busybox:latest", "linux/amd64", "x86_64"),
        ("arm64v8/busybox:latest", "linux/arm64", "aarch64"),
        ("s390x/busybox:latest", "linux/s390x", "s390x"),
    ];
    let runs = cases.iter().map(|(image, platform, _)| {
        let mut spec = fx.spec(&format!("uname {platform}"), &["echo \"arch=$(uname -m)\""]);
        spec.image = image.to_string();
        spec.platform = platform.to_string();
        run(&exec, spec)
    });
    let results = futures_util::future::join_all(runs).await;
    for ((outcome, log), (_, platform, arch)) in results.iter().zip(&cases) {
        assert_eq!(outcome.status, AttemptStatus::Success, "{platform}: {log}");
        assert!(
            log.contains(&format!("\narch={arch}\n")),
            "{platform}: {log}"
        );
    }

    // An image of the wrong architecture is refused clearly.
    let mut spec = fx.spec("wrong arch", &["true"]);
    spec.platform = "linux/arm64".into();
    let (outcome, log) = run(&exec, spec).await;
    let AttemptStatus::Failed {
        reason: FailureReason::SystemFailure(msg),
        ..
    } = &outcome.status
    else {
        panic!("{outcome:?}")
    };
    assert!(
        msg.contains("is for linux/amd64 but the job runs on linux/arm64"),
        "{msg}"
    );
    assert!(log.contains(msg.as_str()));
    assert_no_leftovers(&exec, &fx.run_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_image_is_a_system_failure() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let fx = Fixture::new("noimage");
    let mut spec = fx.spec("no image", &["true"]);
    spec.image = "tezos-ci-local-test/no-such-image:1".into();
    let (outcome, _) = run(&exec, spec).await;
    let AttemptStatus::Failed {
        reason: FailureReason::SystemFailure(msg),
        ..
    } = &outcome.status
    else {
        panic!("{outcome:?}")
    };
    assert!(
        msg.contains("is not available locally and could not be pulled")
            && msg.contains("--default-image"),
        "{msg}"
    );
    assert_no_leftovers(&exec, &fx.run_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_script_keeps_its_exit_code_and_after_script_runs() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let fx = Fixture::new("fail");
    let mut spec = fx.spec(
        "fails",
        &["echo one", "false | true", "exit 3", "echo never"],
    );
    spec.after_script = vec!["echo \"after ran: $CI_JOB_STATUS\"".into()];
    let (outcome, log) = run(&exec, spec).await;
    assert_eq!(
        outcome.status,
        failed(Some(3), FailureReason::ScriptFailure),
        "{log}"
    );
    assert!(
        log.contains("$ echo one\none\n$ false | true\n$ exit 3\n"),
        "{log}"
    );
    assert!(!log.contains("never\n"), "{log}");
    assert!(log.contains("after ran: failed"), "{log}");
    assert!(log.ends_with("ERROR: Job failed: exit code 3\n"), "{log}");

    // bash (debian) gets pipefail: a failing pipeline stage fails the job.
    let mut spec = fx.spec("pipefail", &["false | true", "echo not reached"]);
    spec.image = "debian:bookworm".into();
    let (outcome, log) = run(&exec, spec).await;
    assert_eq!(
        outcome.status,
        failed(Some(1), FailureReason::ScriptFailure),
        "{log}"
    );
    assert!(!log.contains("not reached\n"), "{log}");
    assert_no_leftovers(&exec, &fx.run_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_kills_the_job_fast_and_runs_after_script() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let fx = Fixture::new("timeout");
    let mut spec = fx.spec("slow", &["sleep 30"]);
    spec.timeout = Duration::from_secs(1);
    spec.after_script = vec!["echo after timeout".into()];
    let start = Instant::now();
    let (outcome, log) = run(&exec, spec).await;
    assert_eq!(
        outcome.status,
        failed(None, FailureReason::Timeout),
        "{log}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(log.contains("\nafter timeout\n"), "{log}");
    assert!(
        log.contains("execution took longer than 1s seconds"),
        "{log}"
    );
    assert_no_leftovers(&exec, &fx.run_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_stops_the_job_promptly() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let fx = Fixture::new("cancel");
    let spec = fx.spec("long", &["echo started", "sleep 60"]);
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let sink = LogSink::new("long", None, Some(tx), vec![], None).unwrap();
    let cancel = CancellationToken::new();
    let job = tokio::spawn(exec.run(Arc::new(spec), sink, cancel.clone()));
    // Cancel once the job is really running.
    while let Some(line) = rx.recv().await {
        if line.line == "started" {
            break;
        }
    }
    let at = Instant::now();
    cancel.cancel();
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let outcome = job.await.unwrap();
    assert_eq!(outcome.status, AttemptStatus::Canceled);
    assert!(at.elapsed() < Duration::from_secs(5), "{:?}", at.elapsed());
    drain.await.unwrap();
    assert_no_leftovers(&exec, &fx.run_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_is_reached_by_its_aliases() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let fx = Fixture::new("service");
    let mut spec = fx.spec(
        "client",
        &[
            // The service gets the job's variables too.
            "for i in $(seq 1 100); do wget -q -O- http://web:8080/ >/dev/null 2>&1 && break; sleep 0.1; done",
            "wget -q -O- http://web:8080/",
            "wget -q -O- http://busybox:8080/",
        ],
    );
    spec.variables
        .push(("GREETING".into(), "hello-from-service".into()));
    spec.services = vec![ServiceSpec {
        image: "busybox:latest".into(),
        aliases: vec!["web".into()],
        entrypoint: None,
        command: Some(vec![
            "sh".into(),
            "-c".into(),
            "mkdir -p /www && echo \"$GREETING $OWN\" > /www/index.html && exec httpd -f -p 8080 -h /www".into(),
        ]),
        variables: vec![("OWN".into(), "own-var".into())],
        platform: "linux/amd64".into(),
    }];
    let (outcome, log) = run(&exec, spec).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    assert_eq!(
        log.matches("hello-from-service own-var").count(),
        2,
        "{log}"
    );
    assert_no_leftovers(&exec, &fx.run_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn masked_variables_and_file_variables() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let fx = Fixture::new("mask");
    let secret = "s3cr3t-value-4242";
    let mut spec = fx.spec(
        "masked",
        &[
            "echo \"secret is $SECRET\"",
            "cat \"$CONFIG_FILE\"",
            "echo \"$CONFIG_FILE\"",
        ],
    );
    spec.variables.push(("SECRET".into(), secret.into()));
    spec.file_variables = vec![("CONFIG_FILE".into(), "file-content\n".into())];
    let (outcome, log) = run_with(&exec, spec, vec![secret.into()], CancellationToken::new()).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    assert!(!log.contains(secret), "{log}");
    assert!(log.contains("secret is [MASKED]"), "{log}");
    assert!(log.contains("\nfile-content\n"), "{log}");
    assert!(log.contains("\n/builds/project.tmp/CONFIG_FILE\n"), "{log}");
    assert_no_leftovers(&exec, &fx.run_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_cannot_change_the_snapshot_the_checkout_or_each_other() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let fx = Fixture::new("isolation");
    let vandal = fx.spec(
        "vandal",
        &[
            "echo changed > tracked.txt",
            "rm other.txt src/main.c",
            "echo new > new.txt",
        ],
    );
    let (outcome, log) = run(&exec, vandal).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    for root in [fx.checkout(), fx.workspace.root.clone()] {
        assert_eq!(
            std::fs::read_to_string(root.join("tracked.txt")).unwrap(),
            "original\n"
        );
        assert!(root.join("other.txt").exists() && root.join("src/main.c").exists());
        assert!(!root.join("new.txt").exists());
    }
    let check = fx.spec(
        "check",
        &[
            "cat tracked.txt",
            "test -f other.txt && test -f src/main.c",
            "test ! -e new.txt",
        ],
    );
    let (outcome, log) = run(&exec, check).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    assert!(log.contains("\noriginal\n"), "{log}");
    assert_no_leftovers(&exec, &fx.run_id).await;
}

#[tokio::test]
async fn an_unreachable_engine_is_an_environment_error() {
    let options = DockerOptions {
        host: Some("tcp://127.0.0.1:9".into()),
        ..Default::default()
    };
    let Err(err) = tezos_ci_local::executor::DockerExecutor::connect(options).await else {
        panic!("connected to a closed port")
    };
    assert!(
        matches!(err, tezos_ci_local::error::Error::Environment(_)),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("tcp://127.0.0.1:9") && msg.contains("DOCKER_HOST"),
        "{msg}"
    );
    assert!(msg.contains("scripts/setup.sh"), "{msg}");
}

/// Builds (offline, from busybox) an image with an entrypoint and an exposed port.
async fn build_entrypoint_image(exec: &DockerExecutor, tag: &str) {
    let dockerfile = "FROM busybox:latest\nEXPOSE 8080\n\
        ENTRYPOINT [\"/bin/sh\", \"-c\", \"echo entrypoint-ran; exec \\\"$@\\\"\", \"entry\"]\n";
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(dockerfile.len() as u64);
    h.set_mode(0o644);
    tar.append_data(&mut h, "Dockerfile", dockerfile.as_bytes())
        .unwrap();
    let body = bollard::body_full(tar.into_inner().unwrap().into());
    let options = bollard::query_parameters::BuildImageOptions {
        dockerfile: "Dockerfile".into(),
        t: Some(tag.into()),
        rm: true,
        forcerm: true,
        ..Default::default()
    };
    let mut build = exec.docker().build_image(options, None, Some(body));
    while let Some(item) = futures_util::StreamExt::next(&mut build).await {
        let info = item.expect("image build");
        assert!(info.error_detail.is_none(), "{info:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn image_entrypoints_are_kept_unless_overridden_and_service_ports_are_awaited() {
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let tag = format!("tezos-ci-local-test/entrypoint:{}", std::process::id());
    build_entrypoint_image(&exec, &tag).await;
    let fx = Fixture::new("entrypoint");

    let mut kept = fx.spec("kept", &["echo script-ran"]);
    kept.image = tag.clone();
    // The service listens a second after it starts; its port is exposed, so the job waits.
    kept.services = vec![ServiceSpec {
        image: tag.clone(),
        aliases: vec!["late".into()],
        entrypoint: None,
        command: Some(vec![
            "sh".into(),
            "-c".into(),
            "sleep 1; mkdir -p /www; echo late-but-up > /www/index.html; exec httpd -f -p 8080 -h /www".into(),
        ]),
        variables: vec![],
        platform: "linux/amd64".into(),
    }];
    kept.script.push("wget -q -O- http://late:8080/".into());
    let (outcome, log) = run(&exec, kept).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    assert!(log.contains("\nentrypoint-ran\n"), "{log}");
    assert!(
        log.contains("\nscript-ran\n") && log.contains("\nlate-but-up\n"),
        "{log}"
    );

    let mut overridden = fx.spec("overridden", &["echo script-ran"]);
    overridden.image = tag.clone();
    overridden.entrypoint = Some(vec![]);
    let (outcome, log) = run(&exec, overridden).await;
    assert_eq!(outcome.status, AttemptStatus::Success, "{log}");
    assert!(!log.contains("entrypoint-ran"), "{log}");
    assert!(log.contains("\nscript-ran\n"), "{log}");

    assert_no_leftovers(&exec, &fx.run_id).await;
    let _ = exec
        .docker()
        .remove_image(
            &tag,
            Some(bollard::query_parameters::RemoveImageOptions {
                force: true,
                ..Default::default()
            }),
            None,
        )
        .await;
}

/// What a dead run leaves (its container still running, its network and volume) is swept at
/// once; what a live run uses stays, even when its container has stopped.
#[tokio::test(flavor = "multi_thread")]
async fn objects_of_dead_runs_are_swept_at_once_and_those_of_live_runs_kept() {
    use bollard::models::{
        ContainerCreateBody, HostConfig, NetworkCreateRequest, VolumeCreateRequest,
    };
    use tezos_ci_local::executor::docker::{LABEL, LABEL_OWNER, LABEL_RUN, Swept, remove_dead};
    use tezos_ci_local::store::liveness::{Liveness, Owner};
    let Some(exec) = docker_or_skip().await else {
        return;
    };
    let docker = exec.docker();
    let run = format!("test-stale-{}", std::process::id());
    let me = Owner::current();
    // The same pid with another start time: a process that ended, its pid given to this one.
    let gone = Owner {
        start: me.start + 1,
        ..me.clone()
    };
    let labels_of = |owner: &Owner| {
        std::collections::HashMap::from([
            (LABEL.to_string(), "1".to_string()),
            (LABEL_RUN.to_string(), run.clone()),
            (LABEL_OWNER.to_string(), owner.label()),
        ])
    };
    let mut names = Vec::new();
    for (what, cmd, owner) in [("dead", "sleep 60", &gone), ("live", "true", me)] {
        let name = format!("{run}-{what}");
        let labels = labels_of(owner);
        docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.clone()),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        docker
            .create_network(NetworkCreateRequest {
                name: name.clone(),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        let body = ContainerCreateBody {
            image: Some("busybox:latest".into()),
            cmd: Some(vec!["sh".into(), "-c".into(), cmd.into()]),
            labels: Some(labels.clone()),
            host_config: Some(HostConfig {
                binds: Some(vec![format!("{name}:/v")]),
                network_mode: Some(name.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = bollard::query_parameters::CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        docker.create_container(Some(opts), body).await.unwrap();
        docker.start_container(&name, None).await.unwrap();
        names.push(name);
    }
    // The live run's container has exited; the dead run's still runs.
    let mut wait = docker.wait_container(&names[1], None);
    let _ = futures_util::StreamExt::next(&mut wait).await;

    let liveness = |l: &std::collections::HashMap<String, String>| {
        Owner::parse(&l[LABEL_OWNER]).map_or(Liveness::Unknown, |o| o.liveness(me))
    };
    let swept = remove_dead(docker, &format!("{LABEL_RUN}={run}"), liveness).await;
    assert_eq!(
        swept,
        Swept {
            containers: 1,
            networks: 1,
            volumes: 1,
            kept_alive: 3,
            kept_unknown: 0,
        }
    );
    assert!(docker.inspect_container(&names[0], None).await.is_err());
    assert!(docker.inspect_container(&names[1], None).await.is_ok());
    assert!(docker.inspect_volume(&names[1]).await.is_ok());
    exec.cleanup(&run).await;
    assert!(docker.inspect_container(&names[1], None).await.is_err());
    assert_no_leftovers(&exec, &run).await;
}
