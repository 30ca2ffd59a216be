//! An engine reached over TLS (`tcp://HOST:2376`, Docker's `--tlsverify`): a `dockerd` of this
//! test's own (`scripts/engines.sh` with `TCL_ENGINES_TLS=1`, in its own network namespace, with
//! a CA, server and client certificates made for it; the client key in the PKCS#1 form Docker's
//! guide makes). A job runs there through `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`
//! and through `--engine ADDR?cert_path=DIR`; a CA that did not sign the server's certificate is
//! refused. Needs root, dockerd and openssl; without them the test prints SKIPPED, unless
//! `CI=true`, where it fails.

#[path = "run_e2e/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Project, Run, shared_machine};

/// Apart from the other tests' engines.
const PREFIX: &str = "tcltls";
const SUBNET: &str = "10.229";

fn engines_sh(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/engines.sh"))
        .args(args)
        .env("TCL_ENGINES_PREFIX", PREFIX)
        .env("TCL_ENGINES_SUBNET", SUBNET)
        .env("TCL_ENGINES_IMAGES", "busybox:latest")
        .env("TCL_ENGINES_TLS", "1")
        .output()
        .expect("run scripts/engines.sh")
}

/// The engine (`tcp://ADDR:2376`) and its client files, stopped (all trace removed) when dropped.
struct TlsEngine {
    host: String,
    cert_path: PathBuf,
}

impl TlsEngine {
    fn start() -> Option<TlsEngine> {
        let why = if unsafe { libc::geteuid() } != 0 {
            "an engine of the test's own needs root".to_string()
        } else {
            let out = engines_sh(&["start", "1"]);
            let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
            match printed.split_once("?cert_path=") {
                Some((host, dir)) if out.status.success() => {
                    return Some(TlsEngine {
                        host: host.to_string(),
                        cert_path: PathBuf::from(dir),
                    });
                }
                _ => {
                    let _ = engines_sh(&["stop"]);
                    format!(
                        "scripts/engines.sh start 1 (TLS) failed: {printed} {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                }
            }
        };
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true: {why}");
        }
        eprintln!("SKIPPED: {why}");
        None
    }
}

impl Drop for TlsEngine {
    fn drop(&mut self) {
        let _ = engines_sh(&["stop"]);
    }
}

const CI: &str = "
tls-job:
  image: busybox:latest
  script: [echo hello-over-tls]
";

fn run_with(p: &Project, args: &[&str], env: &[(&str, &Path)]) -> Run {
    let mut c = p.command();
    c.args(["run", "--json", "--no-cache"]).args(args);
    c.env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH");
    for (k, v) in env {
        c.env(k, v);
    }
    Run::of(&mut c, support::RUN_LIMIT)
}

#[test]
fn jobs_run_on_an_engine_reached_over_tls() {
    let _machine = shared_machine();
    let Some(engine) = TlsEngine::start() else {
        return;
    };
    let p = Project::new(CI, &[]);

    // Docker's own variables.
    let run = run_with(
        &p,
        &[],
        &[
            ("DOCKER_HOST", Path::new(&engine.host)),
            ("DOCKER_TLS_VERIFY", Path::new("1")),
            ("DOCKER_CERT_PATH", &engine.cert_path),
        ],
    );
    run.expect(0, &[("tls-job", "success")]);
    let log = p.logs("tls-job");
    assert!(
        log.contains(&format!("on the Docker engine at {}", engine.host)),
        "{log}"
    );
    assert!(log.contains("\nhello-over-tls\n"), "{log}");

    // The address with its own certificate directory.
    let address = format!("{}?cert_path={}", engine.host, engine.cert_path.display());
    let run = run_with(&p, &["--engine", &format!("linux/amd64={address}")], &[]);
    run.expect(0, &[("tls-job", "success")]);

    // A CA that did not sign the engine's certificate: the client refuses the engine.
    let wrong = tempfile::tempdir().unwrap();
    for f in ["cert.pem", "key.pem"] {
        std::fs::copy(engine.cert_path.join(f), wrong.path().join(f)).unwrap();
    }
    std::fs::copy(
        engine.cert_path.join("cert.pem"),
        wrong.path().join("ca.pem"),
    )
    .unwrap();
    let address = format!("{}?cert_path={}", engine.host, wrong.path().display());
    let run = run_with(&p, &["--engine", &format!("linux/amd64={address}")], &[]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains(&format!("cannot reach the Docker engine at {address}")),
        "{run}"
    );
    assert!(run.stderr.contains("certificate verify failed"), "{run}");
    assert!(
        !run.stdout.contains("hello-over-tls") && !run.stderr.contains("panicked"),
        "{run}"
    );
}
