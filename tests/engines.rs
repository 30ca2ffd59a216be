//! End-to-end tests with real extra Docker engines: `scripts/engines.sh` starts two `dockerd`s,
//! each in its own network namespace with its own data root, reached over TCP through a veth
//! pair; they are started once for this test binary and stopped when it exits (and by the next
//! start, should the binary be killed). Needs root and dockerd; without them each test prints
//! SKIPPED, unless `CI=true`, where it fails.

#[path = "run_e2e/support.rs"]
mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};
use serde_json::Value;
use support::{Project, Run, docker_or_skip, shared_machine};

/// Names and addresses of this binary's engines: apart from `scripts/engines.sh`'s defaults, so
/// that a developer's own engines are not touched.
const PREFIX: &str = "tcltest";
const SUBNET: &str = "10.215";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/engines.sh")
}

fn engines_sh(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(script())
        .args(args)
        .env("TCL_ENGINES_PREFIX", PREFIX)
        .env("TCL_ENGINES_SUBNET", SUBNET)
        .output()
        .expect("run scripts/engines.sh")
}

extern "C" fn stop_engines() {
    let _ = engines_sh(&["stop"]);
}

/// The two extra engines' TCP addresses, started on first use; `None` (after SKIPPED) where
/// they cannot be started outside CI.
fn extra_engines() -> Option<&'static [String]> {
    static ENGINES: OnceLock<Result<Vec<String>, String>> = OnceLock::new();
    let started = ENGINES.get_or_init(|| {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("extra engines need root".into());
        }
        // SAFETY: registers a function without arguments that only runs a child process.
        unsafe { libc::atexit(stop_engines) };
        let out = engines_sh(&["start", "2"]);
        if !out.status.success() {
            return Err(format!(
                "scripts/engines.sh start 2 failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect())
    });
    match started {
        Ok(a) => Some(a.as_slice()),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => panic!("CI=true: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

/// Everything labelled `tezos-ci-local` on the engine at `address`.
fn labelled_on(address: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let docker = Docker::connect_with_http(address, 30, bollard::API_DEFAULT_VERSION)
            .unwrap()
            .negotiate_version()
            .await
            .unwrap();
        let filters = HashMap::from([("label".to_string(), vec!["tezos-ci-local".to_string()])]);
        let mut left = Vec::new();
        for c in docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters.clone()),
                ..Default::default()
            }))
            .await
            .unwrap()
        {
            left.push(format!("container {:?}", c.names));
        }
        for v in docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .unwrap()
            .volumes
            .unwrap_or_default()
        {
            left.push(format!("volume {}", v.name));
        }
        for n in docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filters),
            }))
            .await
            .unwrap()
        {
            left.push(format!("network {:?}", n.name));
        }
        left
    })
}

fn engines_json(p: &Project, args: &[&str]) -> (Run, Vec<Value>) {
    let mut c = p.command();
    c.arg("engines").arg("--json").args(args);
    let run = Run::of(&mut c, support::RUN_LIMIT);
    let rows: Vec<Value> = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("engines --json printed no JSON array ({e}):\n{run}"));
    (run, rows)
}

#[test]
fn engines_lists_every_engine_of_every_pool_and_fails_when_one_is_silent() {
    let _machine = shared_machine();
    let Some(_local) = docker_or_skip() else {
        return;
    };
    let Some(extra) = extra_engines() else {
        return;
    };
    let p = Project::new("x:\n  script: [true]\n", &[]);
    // A pool in the project's file, one on the command line with a capacity.
    p.write(
        ".tezos-ci-local.yml",
        &format!(
            "engines:\n  s390x:\n    - {{address: {}, capacity: 5}}\n",
            extra[1]
        ),
    );
    let pool = format!("arm64={},{}?capacity=3", extra[0], extra[1]);
    let (run, rows) = engines_json(&p, &["--engine", &pool]);
    assert_eq!(run.code, 0, "{run}");
    let summary: Vec<(&str, &str, &str, u64)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r["answers"], true, "{r}");
            assert_eq!(r["architecture"], "linux/amd64", "{r}");
            assert!(r["kernel"].as_str().is_some_and(|k| !k.is_empty()), "{r}");
            assert!(
                r["docker_version"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("20.")),
                "{r}"
            );
            // The extra engines share this machine's kernel, and so its qemu registrations;
            // for them this is read through their API.
            assert!(
                r["qemu"]
                    .as_array()
                    .unwrap()
                    .contains(&Value::from("linux/arm64")),
                "{r}"
            );
            (
                r["pool"].as_str().unwrap(),
                r["address"].as_str().unwrap(),
                r["runs_pool"].as_str().unwrap(),
                r["capacity"].as_u64().unwrap(),
            )
        })
        .collect();
    let cpus = rows[0]["capacity"].as_u64().unwrap();
    assert_eq!(
        summary,
        vec![
            ("default", "unix:///var/run/docker.sock", "native", cpus),
            ("linux/s390x", extra[1].as_str(), "qemu", 5),
            ("linux/arm64", extra[0].as_str(), "qemu", cpus),
            ("linux/arm64", extra[1].as_str(), "qemu", 3),
        ]
    );
    let origin = rows[1]["origin"].as_str().unwrap();
    assert!(
        origin.ends_with("/repo/.tezos-ci-local.yml:3:7"),
        "{origin}"
    );
    assert_eq!(rows[2]["origin"], "--engine");
    // The probe of a remote engine's emulation leaves nothing on it.
    assert!(labelled_on(&extra[0]).is_empty());

    // The table, and an engine that does not answer: exit 2, named on stderr.
    let dead = format!("tcp://{SUBNET}.250.2:2375");
    let mut c = p.command();
    c.args(["engines", "--engine", &format!("s390x={dead}")]);
    let run = Run::of(&mut c, support::RUN_LIMIT);
    assert_eq!(run.code, 2, "{run}");
    let header = run.stdout.lines().next().unwrap_or("");
    for col in [
        "POOL", "ENGINE", "ANSWERS", "ARCH", "KERNEL", "VERSION", "QEMU", "CAPACITY",
    ] {
        assert!(header.contains(col), "{run}");
    }
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("linux/s390x") && l.contains(&dead) && l.contains(" NO ")),
        "{run}"
    );
    assert!(
        run.stderr.contains("1 of 2 engines do not answer") && run.stderr.contains(&dead),
        "{run}"
    );

    // Bad addresses are usage errors naming the option.
    let mut c = p.command();
    c.args(["engines", "--engine", "arm64=tcp://box"]);
    let run = Run::of(&mut c, support::RUN_LIMIT);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains("--engine `arm64=tcp://box`: `tcp://box`: a TCP address needs a port"),
        "{run}"
    );
}

#[test]
fn arm64_jobs_on_an_extra_engine_pass_artifacts_to_the_local_engine() {
    let _machine = shared_machine();
    let Some(local) = docker_or_skip() else {
        return;
    };
    let Some(extra) = extra_engines() else {
        return;
    };
    let ci = r#"
build_arm64:
  image: arm64v8/busybox:latest
  tags: [arm64]
  script:
    - uname -m > arch.txt
    - cat src/input.txt >> arch.txt
  artifacts:
    paths: [arch.txt]
test_arm64:
  image: arm64v8/busybox:latest
  tags: [arm64]
  needs: [build_arm64]
  script:
    - test "$(head -1 arch.txt)" = aarch64
    - echo tested >> arch.txt
  artifacts:
    paths: [arch.txt]
check:
  image: busybox:latest
  needs: [test_arm64]
  script:
    - cat arch.txt
    - test "$(cat arch.txt | tr '\n' ' ')" = "aarch64 from the checkout tested "
    - test "$(uname -m)" = x86_64
"#;
    let p = Project::new(ci, &[("src/input.txt", "from the checkout\n")]);
    // `--engine` before the subcommand counts as much as after it.
    let route = format!("arm64={}", extra[0]);
    let run = p.run_args(&local, &["--engine", &route, "run", "--json", "--no-cache"]);
    run.expect(
        0,
        &[
            ("build_arm64", "success"),
            ("test_arm64", "success"),
            ("check", "success"),
        ],
    );
    for job in ["build_arm64", "test_arm64"] {
        let log = p.logs(job);
        assert!(
            log.contains(&format!("on the Docker engine at {}", extra[0])),
            "{job}: {log}"
        );
    }
    assert!(!p.logs("check").contains(&extra[0]));
    // Nothing is left on the extra engine either (the local one is checked by run_args).
    let left = labelled_on(&extra[0]);
    assert!(left.is_empty(), "left on {}: {left:?}", extra[0]);
    assert!(labelled_on(&extra[1]).is_empty());
}
