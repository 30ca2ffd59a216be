//! Docker engine addresses as Docker users write them: `unix:///path`, `tcp://host:port` (TLS from
//! `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`, `https://`, or a `?cert_path=DIR` of its own),
//! `ssh://[user@]host[:port]` (`?socket=PATH` for a remote socket other than Docker's), and
//! `context:NAME`, a Docker context from `~/.docker/contexts` (or `$DOCKER_CONFIG/contexts`).

use std::fmt;
use std::path::{Path, PathBuf};

/// Where the engine is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// A socket on this machine.
    Unix(PathBuf),
    /// `host:port`, in clear or with TLS.
    Tcp { authority: String, tls: Option<Tls> },
    /// An engine on another machine reached through the user's `ssh` (its config and agent).
    Ssh(SshTarget),
}

/// The client certificate, key and CA of a TLS engine, as Docker keeps them in one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub dir: PathBuf,
}

impl Tls {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The engine's socket on the remote machine.
    pub socket: String,
}

impl SshTarget {
    /// `[user@]host`, as `ssh` takes it.
    pub fn destination(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

/// An engine's address: what the user wrote, and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// As written (`context:arm`, `ssh://me@arm-box`): what lists and errors show.
    pub written: String,
    pub transport: Transport,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// The environment an address is read in: Docker's TLS variables and its configuration directory.
#[derive(Debug, Clone, Default)]
pub struct AddressEnv {
    /// `DOCKER_TLS_VERIFY` set to something other than empty or `0`.
    pub tls_verify: bool,
    /// `DOCKER_CERT_PATH`, else `<docker config>`.
    pub cert_path: PathBuf,
    /// `DOCKER_CONFIG`, else `~/.docker`.
    pub docker_config: PathBuf,
    /// `DOCKER_HOST`, for the `default` context.
    pub docker_host: Option<String>,
}

impl AddressEnv {
    pub fn from_process() -> AddressEnv {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let home = var("HOME").map(PathBuf::from).unwrap_or_default();
        let docker_config = var("DOCKER_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".docker"));
        AddressEnv {
            tls_verify: var("DOCKER_TLS_VERIFY").is_some_and(|v| v != "0"),
            cert_path: var("DOCKER_CERT_PATH")
                .map(PathBuf::from)
                .unwrap_or_else(|| docker_config.clone()),
            docker_config,
            docker_host: var("DOCKER_HOST"),
        }
    }
}

/// The remote socket when `ssh://` names none: Docker's.
pub const DEFAULT_REMOTE_SOCKET: &str = "/var/run/docker.sock";

const FORMS: &str = "unix:///PATH, tcp://HOST:PORT, ssh://[USER@]HOST[:PORT] or context:NAME";

impl Address {
    /// Reads an address; `context:NAME` is looked up in the Docker configuration directory.
    pub fn parse(text: &str, env: &AddressEnv) -> Result<Address, String> {
        let written = text.trim().to_string();
        let (base, query) = match written.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (written.as_str(), None),
        };
        let mut cert_path = None;
        let mut socket = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("cert_path", v)) if !v.is_empty() => cert_path = Some(expand_home(v)),
                Some(("socket", v)) if v.starts_with('/') => socket = Some(v.to_string()),
                _ => {
                    return Err(format!(
                        "`{written}`: unknown option `{pair}` (an address takes ?cert_path=DIR for \
                         TLS, or ?socket=/PATH with ssh://)"
                    ));
                }
            }
        }
        let transport = if let Some(path) = base.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "`{written}`: a unix address needs an absolute path, as unix:///var/run/docker.sock"
                ));
            }
            Transport::Unix(PathBuf::from(path))
        } else if let Some(rest) = base
            .strip_prefix("tcp://")
            .or_else(|| base.strip_prefix("http://"))
            .or_else(|| base.strip_prefix("https://"))
        {
            let authority = rest.trim_end_matches('/');
            check_authority(&written, authority, true)?;
            let https = base.starts_with("https://");
            let tls = match &cert_path {
                Some(dir) => Some(Tls { dir: dir.clone() }),
                None if https || env.tls_verify => Some(Tls {
                    dir: env.cert_path.clone(),
                }),
                None => None,
            };
            Transport::Tcp {
                authority: authority.to_string(),
                tls,
            }
        } else if let Some(rest) = base.strip_prefix("ssh://") {
            let rest = rest.trim_end_matches('/');
            if rest.contains('/') {
                return Err(format!(
                    "`{written}`: an ssh address has no path; name a remote socket with ?socket=/PATH"
                ));
            }
            let (user, hostport) = match rest.rsplit_once('@') {
                Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
                Some(_) => return Err(format!("`{written}`: empty user before `@`")),
                None => (None, rest),
            };
            check_authority(&written, hostport, false)?;
            let (host, port) = split_port(hostport);
            Transport::Ssh(SshTarget {
                user,
                host: host.to_string(),
                port,
                socket: socket
                    .clone()
                    .unwrap_or_else(|| DEFAULT_REMOTE_SOCKET.into()),
            })
        } else if let Some(name) = base.strip_prefix("context:") {
            let found = context(name, env).map_err(|e| format!("`{written}`: {e}"))?;
            return Ok(Address {
                written,
                transport: found.transport,
            });
        } else {
            return Err(format!(
                "`{written}` is not a Docker address; expected {FORMS}"
            ));
        };
        if socket.is_some() && !matches!(transport, Transport::Ssh(_)) {
            return Err(format!("`{written}`: ?socket= goes with ssh:// addresses"));
        }
        if cert_path.is_some() && !matches!(transport, Transport::Tcp { .. }) {
            return Err(format!(
                "`{written}`: ?cert_path= goes with tcp:// addresses"
            ));
        }
        Ok(Address { written, transport })
    }
}

fn expand_home(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(rest),
        None => PathBuf::from(p),
    }
}

fn split_port(hostport: &str) -> (&str, Option<u16>) {
    // `[::1]:22` or `host:22`; a bare IPv6 address has no port.
    if let Some(rest) = hostport.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once("]:") {
            return (h, p.parse().ok());
        }
        return (rest.trim_end_matches(']'), None);
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
        _ => (hostport, None),
    }
}

fn check_authority(written: &str, authority: &str, port_required: bool) -> Result<(), String> {
    let (host, port) = split_port(authority);
    if host.is_empty() {
        return Err(format!("`{written}`: no host"));
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(h, _)| !h.is_empty());
    if has_port && port.is_none() {
        return Err(format!(
            "`{written}`: the port is not a number from 1 to 65535"
        ));
    }
    if port_required && port.is_none() {
        return Err(format!(
            "`{written}`: a TCP address needs a port, as tcp://{host}:2376 (TLS) or :2375"
        ));
    }
    Ok(())
}

/// A Docker context by name, from `<docker config>/contexts/meta/*/meta.json` (the `docker`
/// endpoint's `Host`), with its TLS files from `contexts/tls/<same directory>/docker/` when it
/// has some. `default` is `DOCKER_HOST`, else the local socket, as for the Docker CLI.
pub fn context(name: &str, env: &AddressEnv) -> Result<Address, String> {
    if name.is_empty() {
        return Err("no context name after `context:`".into());
    }
    if name == "default" {
        let host = env
            .docker_host
            .clone()
            .unwrap_or_else(|| format!("unix://{DEFAULT_REMOTE_SOCKET}"));
        if host.starts_with("context:") {
            return Err("DOCKER_HOST names a context".into());
        }
        return Address::parse(&host, env);
    }
    let meta = env.docker_config.join("contexts").join("meta");
    let entries = std::fs::read_dir(&meta).map_err(|e| {
        format!(
            "no Docker context `{name}`: {} cannot be read ({e}); `docker context ls` lists them",
            meta.display()
        )
    })?;
    let mut known = Vec::new();
    for entry in entries.flatten() {
        let file = entry.path().join("meta.json");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
        let this = json.get("Name").and_then(|n| n.as_str()).unwrap_or("");
        if this != name {
            known.push(this.to_string());
            continue;
        }
        let endpoint = json.pointer("/Endpoints/docker");
        let host = endpoint
            .and_then(|e| e.get("Host"))
            .and_then(|h| h.as_str())
            .ok_or_else(|| {
                format!(
                    "{}: context `{name}` has no docker endpoint Host",
                    file.display()
                )
            })?;
        let skip_verify = endpoint
            .and_then(|e| e.get("SkipTLSVerify"))
            .and_then(|s| s.as_bool())
            .unwrap_or(false);
        let tls_dir = env
            .docker_config
            .join("contexts")
            .join("tls")
            .join(entry.file_name())
            .join("docker");
        let mut addr = Address::parse(
            host,
            &AddressEnv {
                tls_verify: false,
                ..env.clone()
            },
        )
        .map_err(|e| format!("context `{name}` ({}): {e}", file.display()))?;
        if let Transport::Tcp { tls, .. } = &mut addr.transport {
            if tls_dir.join("ca.pem").exists() || tls_dir.join("cert.pem").exists() {
                if skip_verify {
                    return Err(format!(
                        "context `{name}` skips TLS verification, which tezos-ci-local does not do"
                    ));
                }
                *tls = Some(Tls { dir: tls_dir });
            }
        }
        return Ok(addr);
    }
    known.sort();
    Err(format!(
        "no Docker context `{name}` in {}{}",
        meta.display(),
        if known.is_empty() {
            String::new()
        } else {
            format!(" (there is: {})", known.join(", "))
        }
    ))
}

/// Whether the TLS files an address needs are there; checked before connecting, so that a
/// missing file is named rather than a handshake failing.
pub fn check_tls_files(tls: &Tls) -> Result<(), String> {
    for f in [tls.ca(), tls.cert(), tls.key()] {
        if !Path::new(&f).is_file() {
            return Err(format!(
                "TLS file {} is missing (set DOCKER_CERT_PATH, or ?cert_path=DIR on the address, \
                 to a directory with ca.pem, cert.pem and key.pem)",
                f.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> AddressEnv {
        AddressEnv {
            tls_verify: false,
            cert_path: "/certs".into(),
            docker_config: "/nonexistent/.docker".into(),
            docker_host: None,
        }
    }

    #[test]
    fn unix_tcp_and_ssh_addresses() {
        let a = Address::parse("unix:///run/podman/podman.sock", &env()).unwrap();
        assert_eq!(
            a.transport,
            Transport::Unix("/run/podman/podman.sock".into())
        );
        let a = Address::parse("tcp://10.0.0.2:2375", &env()).unwrap();
        assert_eq!(
            a.transport,
            Transport::Tcp {
                authority: "10.0.0.2:2375".into(),
                tls: None
            }
        );
        let a = Address::parse("ssh://me@arm-box:2222", &env()).unwrap();
        assert_eq!(
            a.transport,
            Transport::Ssh(SshTarget {
                user: Some("me".into()),
                host: "arm-box".into(),
                port: Some(2222),
                socket: DEFAULT_REMOTE_SOCKET.into(),
            })
        );
        let a = Address::parse("ssh://arm-box?socket=/run/podman/podman.sock", &env()).unwrap();
        let Transport::Ssh(t) = a.transport else {
            panic!()
        };
        assert_eq!((t.destination(), t.port), ("arm-box".to_string(), None));
        assert_eq!(t.socket, "/run/podman/podman.sock");
        assert_eq!(a.written, "ssh://arm-box?socket=/run/podman/podman.sock");
    }

    #[test]
    fn tls_from_the_environment_https_or_the_address() {
        let verify = AddressEnv {
            tls_verify: true,
            ..env()
        };
        let tls = |a: Address| match a.transport {
            Transport::Tcp { tls, .. } => tls.map(|t| t.dir),
            _ => panic!(),
        };
        assert_eq!(
            tls(Address::parse("tcp://h:2376", &verify).unwrap()),
            Some("/certs".into())
        );
        assert_eq!(
            tls(Address::parse("https://h:2376", &env()).unwrap()),
            Some("/certs".into())
        );
        assert_eq!(
            tls(Address::parse("tcp://h:2376?cert_path=/mine", &verify).unwrap()),
            Some("/mine".into())
        );
        let e = check_tls_files(&Tls {
            dir: "/nonexistent".into(),
        })
        .unwrap_err();
        assert!(e.contains("/nonexistent/ca.pem is missing"), "{e}");
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        for (bad, says) in [
            ("arm-box:2375", "is not a Docker address"),
            ("tcp://arm-box", "needs a port"),
            ("tcp://arm-box:x", "not a number"),
            ("tcp://:2375", "no host"),
            ("unix://run/docker.sock", "absolute path"),
            ("ssh://me@box/var/run/docker.sock", "has no path"),
            ("ssh://@box", "empty user"),
            ("tcp://h:1?socket=/s", "goes with ssh://"),
            ("ssh://h?cert_path=/c", "goes with tcp://"),
            ("tcp://h:1?capacity=3", "unknown option `capacity=3`"),
            ("context:", "no context name"),
            ("context:arm", "no Docker context `arm`"),
        ] {
            let e = Address::parse(bad, &env()).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn contexts_are_read_from_the_docker_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("contexts/meta/0123abcd");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"arm","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://arm-box:2376","SkipTLSVerify":false}}}"#,
        )
        .unwrap();
        let tls = dir.path().join("contexts/tls/0123abcd/docker");
        std::fs::create_dir_all(&tls).unwrap();
        std::fs::write(tls.join("ca.pem"), "").unwrap();
        let env = AddressEnv {
            docker_config: dir.path().into(),
            ..env()
        };
        let a = Address::parse("context:arm", &env).unwrap();
        assert_eq!(a.written, "context:arm");
        assert_eq!(
            a.transport,
            Transport::Tcp {
                authority: "arm-box:2376".into(),
                tls: Some(Tls { dir: tls })
            }
        );
        let e = Address::parse("context:x86", &env).unwrap_err();
        assert!(e.contains("(there is: arm)"), "{e}");
        let d = Address::parse("context:default", &env).unwrap();
        assert_eq!(d.transport, Transport::Unix(DEFAULT_REMOTE_SOCKET.into()));
    }
}
