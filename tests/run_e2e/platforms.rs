//! Where jobs run: native and emulated architectures chosen by tags, and service containers
//! reached by their alias.

use crate::support::*;

const MULTIARCH: &str = r#"
stages: [build, check]

x86_64:
  stage: build
  image: tezos-ci-local/busybox:amd64
  script:
    - uname -m | tee arch-x86_64.txt
  artifacts:
    paths: [arch-x86_64.txt]

arm64:
  stage: build
  image: tezos-ci-local/busybox:arm64
  tags: [arm64]
  script:
    - uname -m | tee arch-arm64.txt
  artifacts:
    paths: [arch-arm64.txt]

s390x:
  stage: build
  image: tezos-ci-local/busybox:s390x
  tags: [s390x]
  script:
    - uname -m | tee arch-s390x.txt
  artifacts:
    paths: [arch-s390x.txt]

check:
  stage: check
  image: tezos-ci-local/busybox:amd64
  needs: [x86_64, arm64, s390x]
  script:
    - test "$(uname -m)" = x86_64
    - test "$(cat arch-x86_64.txt)" = x86_64
    - test "$(cat arch-arm64.txt)" = aarch64
    - test "$(cat arch-s390x.txt)" = s390x
    - cat arch-x86_64.txt arch-arm64.txt arch-s390x.txt > machines.txt
  artifacts:
    paths: [machines.txt]
"#;

#[test]
fn jobs_run_on_x86_64_arm64_and_s390x() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let p = Project::new(MULTIARCH, &[]);
    let run = p.run(&engine, &[]);
    run.expect(
        0,
        &[
            ("x86_64", "success"),
            ("arm64", "success"),
            ("s390x", "success"),
            ("check", "success"),
        ],
    );
    for (job, platform) in [
        ("x86_64", "linux/amd64"),
        ("arm64", "linux/arm64"),
        ("s390x", "linux/s390x"),
        ("check", "linux/amd64"),
    ] {
        assert_eq!(run.finished(job)["platform"], platform, "{job}\n{run}");
        assert_eq!(
            run.job_events("job_started", job)[0]["platform"],
            platform,
            "{job}\n{run}"
        );
    }
    // Each job's artifact says where it ran; `check` got all three and wrote them together.
    let artifacts = run.run_dir().join("artifacts");
    for (job, machine) in [
        ("x86_64", "x86_64"),
        ("arm64", "aarch64"),
        ("s390x", "s390x"),
    ] {
        let file = artifacts.join(job).join(format!("arch-{job}.txt"));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap_or_default(),
            format!("{machine}\n"),
            "{}",
            file.display()
        );
    }
    assert_eq!(
        std::fs::read_to_string(artifacts.join("check/machines.txt")).unwrap(),
        "x86_64\naarch64\ns390x\n"
    );
}

#[test]
fn a_service_is_reached_by_its_alias() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let ci = r#"
web:
  image: tezos-ci-local/busybox:amd64
  services:
    - name: tezos-ci-local/busybox:amd64
      alias: web
      command:
        - sh
        - -c
        - mkdir -p /www && echo "served by the web service" > /www/page.txt && exec httpd -f -p 8080 -h /www
  script:
    # Nothing tells when httpd listens: poll it, as a job on GitLab would.
    - for i in $(seq 120); do wget -qO- http://web:8080/page.txt > page.txt && break; sleep 0.5; done
    - cat page.txt
    - test "$(cat page.txt)" = "served by the web service"
"#;
    let p = Project::new(ci, &[]);
    let run = p.run(&engine, &[]);
    run.expect(0, &[("web", "success")]);
    let log = p.logs("web");
    assert!(
        log.lines().any(|l| l == "served by the web service"),
        "{log}"
    );
}

/// A Docker engine "on another machine": a TCP address that forwards to this host's engine. The
/// binary cannot tell, so it gives that engine's jobs their files through the API (upload mode),
/// as it must for a real remote engine.
struct TcpEngine {
    address: String,
}

impl TcpEngine {
    fn start() -> TcpEngine {
        use std::os::unix::net::UnixStream;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
        let address = format!("tcp://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(engine) = UnixStream::connect("/var/run/docker.sock") else {
                    continue;
                };
                let (mut c_in, mut e_out) =
                    (client.try_clone().unwrap(), engine.try_clone().unwrap());
                let (mut e_in, mut c_out) = (engine, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut e_out);
                    let _ = e_out.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut e_in, &mut c_out);
                    let _ = c_out.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        TcpEngine { address }
    }
}

#[test]
fn a_platform_routed_to_another_engine_runs_there_and_passes_artifacts() {
    let _machine = shared_machine();
    let Some(engine) = docker_or_skip() else {
        return;
    };
    let remote = TcpEngine::start();
    let ci = r#"
arm64:
  image: tezos-ci-local/busybox:arm64
  tags: [arm64]
  script:
    - uname -m | tee arch-arm64.txt
    - ls src/
  artifacts:
    paths: [arch-arm64.txt]
check:
  image: tezos-ci-local/busybox:amd64
  needs: [arm64]
  script:
    - test "$(cat arch-arm64.txt)" = aarch64
    - uname -m
"#;
    let p = Project::new(ci, &[("src/main.ml", "let () = ()\n")]);
    let route = format!("arm64={}", remote.address);
    let run = p.run(&engine, &["--engine", &route]);
    run.expect(0, &[("arm64", "success"), ("check", "success")]);
    let arm = p.logs("arm64");
    assert!(
        arm.contains(&format!("on the Docker engine at {}", remote.address)),
        "{arm}"
    );
    assert!(arm.lines().any(|l| l == "main.ml"), "{arm}");
    let check = p.logs("check");
    assert!(!check.contains(&remote.address), "{check}");
    assert!(check.lines().any(|l| l == "x86_64"), "{check}");

    // A route nobody answers is an environment error before anything runs.
    let dead = p.run_args(
        &engine,
        &["run", "--json", "--engine", "s390x=tcp://127.0.0.1:1"],
    );
    assert_eq!(dead.code, 2, "{dead}");
    assert!(
        dead.stderr.contains("the engine for linux/s390x jobs"),
        "{dead}"
    );
    // The same before the subcommand: a flag means the same in either place (it was once
    // dropped there, and the run passed on the local engine).
    let dead = p.run_args(
        &engine,
        &["--engine", "s390x=tcp://127.0.0.1:1", "run", "--json"],
    );
    assert_eq!(dead.code, 2, "{dead}");
    assert!(
        dead.stderr.contains("the engine for linux/s390x jobs"),
        "{dead}"
    );
    // And a route that is not one is a usage error, wherever it is given.
    for args in [
        &["run", "--engine", "arm64=arm-box"][..],
        &["--engine", "arm64=arm-box", "run"],
        &["--engine", "arm64=arm-box"],
    ] {
        let bad = p.run_args(&engine, args);
        assert_eq!(bad.code, 2, "{args:?}: {bad}");
        assert!(bad.stderr.contains("is not a Docker address"), "{bad}");
    }
}
