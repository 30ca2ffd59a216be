//! End-to-end tests with real extra Docker engines: `scripts/engines.sh` starts two `dockerd`s,
//! each in its own network namespace with its own data root, reached over TCP through a veth
//! pair; they are started once for this test binary and stopped when it exits (and by the next
//! start, should the binary be killed). Needs root and dockerd; without them each test prints
//! SKIPPED, unless `CI=true`, where it fails.

#[path = "run_e2e/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use support::{Project, Run, docker_or_skip, labelled_on, shared_machine};

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
    let p = Project::new("x:\n  script: [\"true\"]\n", &[]);
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

/// A program this test needs, or `None` after SKIPPED (a failure with `CI=true`).
fn tool(path: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(path))
        .find(|p| p.is_file());
    if found.is_none() {
        let msg = format!("no `{path}`: apt-get install {package} (scripts/setup.sh does)");
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true: {msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    found
}

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An sshd in the first extra engine's network namespace, with keys made for the test; killed
/// on drop.
struct Sshd {
    pid_file: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.pid_file) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                // SAFETY: a signal to the sshd this test started, by its pid.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
    }
}

/// Processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(cmdline);
            }
        }
    }
    found
}

#[test]
fn an_arm64_engine_over_ssh_lists_and_runs_jobs_through_a_tunnel() {
    let _machine = shared_machine();
    let Some(local) = docker_or_skip() else {
        return;
    };
    let Some(_extra) = extra_engines() else {
        return;
    };
    let (Some(sshd), Some(keygen), Some(ssh)) = (
        tool("sshd", "openssh-server"),
        tool("ssh-keygen", "openssh-client"),
        tool("ssh", "openssh-client"),
    ) else {
        return;
    };
    let p = Project::new(
        r#"
build_arm64:
  image: arm64v8/busybox:latest
  tags: [arm64]
  script:
    - uname -m > arch.txt
  artifacts:
    paths: [arch.txt]
check:
  image: busybox:latest
  needs: [build_arm64]
  script:
    - test "$(cat arch.txt)" = aarch64
"#,
        &[],
    );
    let dir = p.scratch("ssh");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    for key in ["host_key", "client_key"] {
        sh(Command::new(&keygen)
            .args(["-q", "-t", "ed25519", "-N", ""])
            .arg("-f")
            .arg(dir.join(key)));
    }
    std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
    let host = format!("{SUBNET}.1.2");
    let d = dir.display();
    std::fs::write(
        dir.join("sshd_config"),
        format!(
            "ListenAddress {host}:22\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             UsePAM no\nStrictModes no\nPidFile {d}/sshd.pid\nAllowStreamLocalForwarding yes\n"
        ),
    )
    .unwrap();
    let host_pub = std::fs::read_to_string(dir.join("host_key.pub")).unwrap();
    let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
    std::fs::write(
        dir.join("known_hosts"),
        format!("{host} {}\n", host_pub.join(" ")),
    )
    .unwrap();
    // The user's ssh configuration, as a wrapper named `ssh` first on PATH gives it.
    std::fs::write(
        dir.join("ssh_config"),
        format!(
            "Host *\n  IdentityFile {d}/client_key\n  IdentitiesOnly yes\n  \
             UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking yes\n"
        ),
    )
    .unwrap();
    let wrapper = dir.join("bin/ssh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec {} -F {d}/ssh_config \"$@\"\n",
            ssh.display()
        ),
    )
    .unwrap();
    sh(Command::new("chmod").arg("+x").arg(&wrapper));
    let _sshd = Sshd {
        pid_file: dir.join("sshd.pid"),
    };
    sh(Command::new("bash")
        .arg(script())
        .args(["exec", "1"])
        .arg(&sshd)
        .arg("-f")
        .arg(dir.join("sshd_config"))
        .arg("-E")
        .arg(dir.join("sshd.log"))
        .env("TCL_ENGINES_PREFIX", PREFIX)
        .env("TCL_ENGINES_SUBNET", SUBNET));
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let socket = format!("/var/tmp/tezos-ci-local-engines/{PREFIX}/1/docker.sock");
    let address = format!("ssh://root@{host}?socket={socket}");

    let mut c = p.command();
    c.env("PATH", &path)
        .args(["engines", "--json", "--engine", &format!("arm64={address}")]);
    let run = Run::of(&mut c, support::RUN_LIMIT);
    assert_eq!(run.code, 0, "{run}");
    let rows: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(rows[1]["address"], address.as_str());
    assert_eq!(rows[1]["answers"], true, "{run}");
    assert_eq!(rows[1]["runs_pool"], "qemu", "{run}");

    let mut c = p.command();
    c.env("PATH", &path).args([
        "run",
        "--json",
        "--no-cache",
        "--engine",
        &format!("arm64={address}"),
    ]);
    let run = Run::of(&mut c, support::RUN_LIMIT);
    run.expect(0, &[("build_arm64", "success"), ("check", "success")]);
    local.assert_no_leftovers(run.run_id());
    let log = p.logs("build_arm64");
    assert!(
        log.contains(&format!("on the Docker engine at {address}")),
        "{log}"
    );
    // The tunnel ended with the run.
    let tunnels = processes_with(&socket)
        .into_iter()
        .filter(|c| c.contains(" -L "))
        .collect::<Vec<_>>();
    assert!(tunnels.is_empty(), "{tunnels:?}");
    assert!(labelled_on(&format!("tcp://{host}:2375")).is_empty());

    // A host that refuses: the engine does not answer, and ssh's reason is shown.
    let mut c = p.command();
    c.env("PATH", &path).args([
        "engines",
        "--engine",
        &format!("arm64=ssh://root@{SUBNET}.2.2"),
    ]);
    let run = Run::of(&mut c, support::RUN_LIMIT);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains("ssh to root@") && run.stderr.contains("exited"),
        "{run}"
    );
}

/// A rootful `podman system service` with a store of its own; stopped and its store reset on drop.
struct Podman {
    podman: PathBuf,
    dir: PathBuf,
    service: std::process::Child,
}

impl Podman {
    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.podman);
        c.arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .args(["--cgroup-manager=cgroupfs", "--events-backend=file"])
            .env("CONTAINERS_CONF", self.dir.join("containers.conf"));
        c
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.service.kill();
        let _ = self.service.wait();
        let _ = self.cmd().args(["system", "reset", "--force"]).output();
    }
}

#[test]
fn podman_s_docker_compatible_service_runs_a_pipeline() {
    let _machine = shared_machine();
    let Some(local) = docker_or_skip() else {
        return;
    };
    let Some(podman) = tool("podman", "podman") else {
        return;
    };
    let p = Project::new(
        r#"
build:
  image: busybox:latest
  script:
    - echo built from $(cat src/input.txt) > out.txt
  artifacts:
    paths: [out.txt]
test:
  image: busybox:latest
  needs: [build]
  script:
    - test "$(cat out.txt)" = "built from the checkout"
"#,
        &[("src/input.txt", "the checkout\n")],
    );
    let dir = p.scratch("podman");
    std::fs::create_dir_all(&dir).unwrap();
    // Podman gives containers ulimits above this machine's hard limits, which root without
    // CAP_SYS_RESOURCE (a container, as CI is) cannot raise: its containers would not start.
    let mut nofile = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct passed.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut nofile) };
    let nofile = nofile.rlim_max.min(1 << 20);
    std::fs::write(
        dir.join("containers.conf"),
        format!(
            "[containers]\ndefault_ulimits = [\"nofile={nofile}:{nofile}\", \"nproc=32768:32768\"]\n"
        ),
    )
    .unwrap();
    let socket = dir.join("podman.sock");
    let mut guard = Podman {
        podman,
        dir: dir.clone(),
        service: std::process::Command::new("true").spawn().unwrap(),
    };
    guard.service = guard
        .cmd()
        .args(["system", "service", "--time=0"])
        .arg(format!("unix://{}", socket.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("service.log")).unwrap())
        .spawn()
        .expect("podman system service");
    let mut save = Command::new("docker")
        .args(["save", "busybox:latest"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("docker save");
    let loaded = guard
        .cmd()
        .args(["load", "-q"])
        .stdin(save.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(save.wait().unwrap().success());
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    // podman gives no signal when it listens: its socket accepting a connection is the signal.
    let host = format!("unix://{}", socket.display());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "podman never listened: {}",
            std::fs::read_to_string(dir.join("service.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut c = p.command();
    c.env("DOCKER_HOST", &host).args(["engines", "--json"]);
    let run = Run::of(&mut c, support::RUN_LIMIT);
    let rows: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(rows[0]["origin"], "DOCKER_HOST");
    assert!(
        rows[0]["docker_version"]
            .as_str()
            .unwrap()
            .starts_with("4."),
        "{run}"
    );

    let mut c = p.command();
    c.env("DOCKER_HOST", &host)
        .args(["run", "--json", "--no-cache"]);
    let run = Run::of(&mut c, support::RUN_LIMIT);
    run.expect(0, &[("build", "success"), ("test", "success")]);
    local.assert_no_leftovers(run.run_id());
    let left = sh(guard
        .cmd()
        .args(["ps", "-a", "-q", "--filter", "label=tezos-ci-local"]))
        + &sh(guard
            .cmd()
            .args(["volume", "ls", "-q", "--filter", "label=tezos-ci-local"]));
    assert!(left.trim().is_empty(), "left on podman: {left}");
}

#[test]
fn clean_engine_sweeps_every_engine_of_the_configured_pools() {
    // Alone: a sweep must not meet another test's run on these engines.
    let _machine = support::whole_machine();
    let Some(_local) = docker_or_skip() else {
        return;
    };
    let Some(extra) = extra_engines() else {
        return;
    };
    // What a run killed outright would leave: a labelled volume of a run that is gone (its
    // owner's pid now another process's: this one's, with another start time).
    let volume = format!("tcl-test-left-{}", std::process::id());
    let me = tezos_ci_local::store::liveness::Owner::current();
    let gone = tezos_ci_local::store::liveness::Owner {
        start: me.start + 1,
        ..me.clone()
    };
    sh(Command::new("docker").args([
        "-H",
        &extra[1],
        "volume",
        "create",
        "--label",
        "tezos-ci-local",
        "--label",
        "tezos-ci-local.run=gone",
        "--label",
        &format!("tezos-ci-local.owner={}", gone.label()),
        &volume,
    ]));
    let p = Project::new("x:\n  script: [\"true\"]\n", &[]);
    p.write(
        ".tezos-ci-local.yml",
        &format!("engines:\n  s390x: [{}, {}]\n", extra[0], extra[1]),
    );
    let mut c = p.command();
    c.args(["clean", "--containers"]);
    let run = Run::of(&mut c, support::RUN_LIMIT);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains(&format!(
            "Removed 0 containers, 0 networks and 1 volumes left on {} by runs that are no \
             longer alive.",
            extra[1]
        )),
        "{run}"
    );
    assert!(labelled_on(&extra[1]).is_empty());
}
