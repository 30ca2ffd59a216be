//! Options GitLab users set on their Docker runners (`[runners.docker]` in config.toml), given
//! on the command line: volumes, a network, extra hosts, the size of `/dev/shm`, and the ssh
//! agent forwarded into jobs (private git dependencies). They apply to every job container.

use bollard::models::HostConfig;

/// Where the forwarded ssh agent's socket is in a job.
pub const SSH_AGENT_SOCKET: &str = "/run/tezos-ci-local/ssh-agent.sock";

#[derive(Debug, Clone, Default)]
pub struct RunnerOptions {
    /// `HOST:CONTAINER[:ro]` bind mounts (GitLab's `volumes`).
    pub volumes: Vec<String>,
    /// A network the job containers join (GitLab's `network_mode`).
    pub network: Option<String>,
    /// `HOST:IP` entries for `/etc/hosts` (GitLab's `extra_hosts`).
    pub extra_hosts: Vec<String>,
    /// `/dev/shm`'s size in bytes (GitLab's `shm_size`).
    pub shm_size: Option<i64>,
    /// The ssh agent's socket on this host, mounted at [`SSH_AGENT_SOCKET`].
    pub ssh_agent: Option<String>,
}

impl RunnerOptions {
    /// Adds these options to a job container's host configuration.
    pub fn apply(&self, host: &mut HostConfig) {
        let mut binds = host.binds.take().unwrap_or_default();
        binds.extend(self.volumes.iter().cloned());
        if let Some(sock) = &self.ssh_agent {
            binds.push(format!("{sock}:{SSH_AGENT_SOCKET}"));
        }
        host.binds = (!binds.is_empty()).then_some(binds);
        if !self.extra_hosts.is_empty() {
            host.extra_hosts = Some(self.extra_hosts.clone());
        }
        if self.shm_size.is_some() {
            host.shm_size = self.shm_size;
        }
        if host.network_mode.is_none() {
            host.network_mode = self.network.clone();
        }
    }

    /// Variables a job container gets from these options.
    pub fn env(&self) -> Vec<String> {
        self.ssh_agent
            .iter()
            .map(|_| format!("SSH_AUTH_SOCK={SSH_AGENT_SOCKET}"))
            .collect()
    }
}

/// `--volume HOST:CONTAINER[:ro]`: an absolute container path, `ro` or `rw` only.
pub fn check_volume(v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.split(':').collect();
    let ok = match parts.as_slice() {
        [host, target] => !host.is_empty() && target.starts_with('/'),
        [host, target, mode] => {
            !host.is_empty() && target.starts_with('/') && matches!(*mode, "ro" | "rw")
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--volume {v}: expected HOST:CONTAINER or HOST:CONTAINER:ro, with an absolute CONTAINER path"
        ))
    }
}

/// `--extra-host HOST:IP`.
pub fn check_extra_host(h: &str) -> Result<(), String> {
    match h.split_once(':') {
        Some((name, ip)) if !name.is_empty() && !ip.is_empty() => Ok(()),
        _ => Err(format!("--extra-host {h}: expected HOST:IP")),
    }
}

/// `--shm-size` as bytes: a number with an optional `k`, `m` or `g` (binary units, as Docker).
pub fn parse_size(s: &str) -> Result<i64, String> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("--shm-size {s}: expected a size such as 256m or 1g"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_and_applied() {
        assert!(check_volume("/a:/b").is_ok());
        assert!(check_volume("/a:/b:ro").is_ok());
        assert!(check_volume("/a:b").is_err());
        assert!(check_volume("/a:/b:x").is_err());
        assert!(check_extra_host("db:10.0.0.1").is_ok());
        assert!(check_extra_host("db").is_err());
        assert_eq!(parse_size("256m"), Ok(256 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("-1").is_err() && parse_size("lots").is_err());
        let o = RunnerOptions {
            volumes: vec!["/a:/b:ro".into()],
            network: Some("n".into()),
            extra_hosts: vec!["db:10.0.0.1".into()],
            shm_size: Some(1 << 20),
            ssh_agent: Some("/tmp/agent".into()),
        };
        let mut host = HostConfig {
            network_mode: Some("job-net".into()),
            ..Default::default()
        };
        o.apply(&mut host);
        assert_eq!(
            host.binds.unwrap(),
            vec![
                "/a:/b:ro".to_string(),
                format!("/tmp/agent:{SSH_AGENT_SOCKET}")
            ]
        );
        assert_eq!(host.network_mode.as_deref(), Some("job-net"));
        assert_eq!(host.shm_size, Some(1 << 20));
        assert_eq!(o.env(), vec![format!("SSH_AUTH_SOCK={SSH_AGENT_SOCKET}")]);
    }
}
