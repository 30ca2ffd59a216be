//! Reaching an engine at an [`Address`]: bollard's unix and HTTP transports; for TLS a transport
//! of our own on OpenSSL (hyper-openssl), the program's one TLS stack (ARCHITECTURE.md, "TLS");
//! and for `ssh://` a tunnel through the user's own `ssh` binary (`ssh -NL
//! LOCAL.sock:REMOTE.sock`, so the user's `~/.ssh/config`, keys and agent apply), forwarding a
//! socket in a private temporary directory to the engine's socket on the remote machine.
//!
//! bollard's own ssh transport (its `ssh` feature) drives `ssh ... docker system dial-stdio` through
//! the openssh crate: it needs the docker CLI on the remote machine and a new dependency; the
//! tunnel needs only sshd and the engine's socket there (podman's works too).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use bollard::Docker;
use tokio::process::{Child, Command};

use super::address::{Address, SshTarget, Tls, Transport, check_tls_files};

/// A connection to an engine; for `ssh://`, with the tunnel that carries it (closed on drop).
pub struct Connection {
    pub docker: Docker,
    /// The unix socket the client talks to, when it is one (the engine's own, or a tunnel's).
    pub socket: Option<PathBuf>,
    pub tunnel: Option<Tunnel>,
}

/// The `ssh -NL` process and the directory of its local socket.
pub struct Tunnel {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// How long a first answer may take (an engine behind ssh takes the longest: the ssh handshake).
pub const PROBE: Duration = Duration::from_secs(15);

/// bollard's timeout on every request: uploads of large trees and long pulls must not hit its
/// two-minute default; a dead engine is caught by the bounded probes.
const REQUEST_TIMEOUT: u64 = 24 * 3600;

/// Connects and negotiates the API version (bollard asks for a newer one than many engines have).
pub async fn connect(address: &Address) -> Result<Connection, String> {
    let (docker, socket, tunnel) = match &address.transport {
        Transport::Unix(path) => {
            let d = Docker::connect_with_unix(
                &format!("unix://{}", path.display()),
                REQUEST_TIMEOUT,
                bollard::API_DEFAULT_VERSION,
            )
            .map_err(|e| e.to_string())?;
            (d, Some(path.clone()), None)
        }
        Transport::Tcp {
            authority,
            tls: None,
        } => {
            let d = Docker::connect_with_http(
                &format!("tcp://{authority}"),
                REQUEST_TIMEOUT,
                bollard::API_DEFAULT_VERSION,
            )
            .map_err(|e| e.to_string())?;
            (d, None, None)
        }
        Transport::Tcp {
            authority,
            tls: Some(tls),
        } => {
            check_tls_files(tls)?;
            (connect_tls(authority, tls)?, None, None)
        }
        Transport::Ssh(target) => {
            let tunnel = tunnel(target).await?;
            let path = tunnel._dir.path().join("docker.sock");
            let d = Docker::connect_with_unix(
                &format!("unix://{}", path.display()),
                REQUEST_TIMEOUT,
                bollard::API_DEFAULT_VERSION,
            )
            .map_err(|e| e.to_string())?;
            (d, Some(path), Some(tunnel))
        }
    };
    let docker = tokio::time::timeout(PROBE, docker.negotiate_version())
        .await
        .map_err(|_| format!("no answer in {} s", PROBE.as_secs()))?
        .map_err(|e| e.to_string())?;
    Ok(Connection {
        docker,
        socket,
        tunnel,
    })
}

/// A client for an engine behind TLS (Docker's `--tlsverify`): the engine's certificate checked
/// against `ca.pem` (and the system's roots) for the address's host name or IP, this client's
/// `cert.pem` and `key.pem` (PKCS#1, PKCS#8 or SEC1 PEM) presented, HTTP/1.1.
fn connect_tls(authority: &str, tls: &Tls) -> Result<Docker, String> {
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use openssl::ssl::{SslConnector, SslFiletype, SslMethod};

    let files =
        |e: openssl::error::ErrorStack| format!("TLS with the files of {}: {e}", tls.dir.display());
    let mut ssl = SslConnector::builder(SslMethod::tls_client()).map_err(files)?;
    ssl.set_ca_file(tls.ca()).map_err(files)?;
    ssl.set_certificate_chain_file(tls.cert()).map_err(files)?;
    ssl.set_private_key_file(tls.key(), SslFiletype::PEM)
        .map_err(files)?;
    ssl.check_private_key().map_err(files)?;
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let https =
        hyper_openssl::client::legacy::HttpsConnector::with_connector(http, ssl).map_err(files)?;
    let client = Client::builder(TokioExecutor::new()).build(https);
    let transport = move |request: bollard::BollardRequest| {
        let client = client.clone();
        async move {
            client.request(request).await.map_err(|e| {
                // hyper's own message is "client error (Connect)": the causes say what failed
                // (a refused connection, a certificate that does not verify).
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    let text = s.to_string();
                    if !message.contains(&text) {
                        message.push_str(&format!(": {text}"));
                    }
                    source = s.source();
                }
                bollard::errors::Error::IOError {
                    err: std::io::Error::other(message),
                }
            })
        }
    };
    Docker::connect_with_custom_transport(
        transport,
        Some(format!("https://{authority}")),
        REQUEST_TIMEOUT,
        bollard::API_DEFAULT_VERSION,
    )
    .map_err(|e| e.to_string())
}

/// Starts `ssh -NL` and waits for its local socket (or its exit, with what it printed).
async fn tunnel(target: &SshTarget) -> Result<Tunnel, String> {
    let dir = tempfile::Builder::new()
        .prefix("tezos-ci-local-ssh-")
        .tempdir()
        .map_err(|e| format!("a directory for the ssh tunnel: {e}"))?;
    let local = dir.path().join("docker.sock");
    // A file, not a pipe: nobody reads ssh's messages while the tunnel lives, and a full pipe
    // would stall it.
    let log = dir.path().join("ssh.log");
    let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut cmd = Command::new("ssh");
    cmd.args(["-N", "-T", "-n"])
        .args(["-o", "BatchMode=yes"])
        .args(["-o", "ExitOnForwardFailure=yes"])
        .args(["-o", "ConnectTimeout=10"])
        .args(["-o", "ServerAliveInterval=10"])
        .args(["-o", "LogLevel=ERROR"])
        .arg("-L")
        .arg(format!("{}:{}", local.display(), target.socket));
    if let Some(port) = target.port {
        cmd.args(["-p", &port.to_string()]);
    }
    cmd.arg("--")
        .arg(target.destination())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        format!("cannot run `ssh` ({e}); ssh:// addresses need the OpenSSH client (apt-get install openssh-client)")
    })?;
    let deadline = tokio::time::Instant::now() + PROBE;
    // ssh gives no signal when the forward is ready: its socket appearing is the signal.
    loop {
        if local.exists() {
            break;
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let err = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!(
                "ssh to {} exited ({status}): {}",
                target.destination(),
                err.trim()
            ));
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.start_kill();
            return Err(format!(
                "ssh to {} gave no socket in {} s",
                target.destination(),
                PROBE.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Tunnel { child, _dir: dir })
}
