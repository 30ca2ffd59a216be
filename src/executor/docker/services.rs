//! A job's `services:`: a network of the job's own, and on it one container per service,
//! reachable by its aliases (GitLab's defaults from the image name, plus the job's), started with
//! the job's variables and its own, then given a few seconds to come up.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::NetworkCreateRequest;
use bollard::models::{ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig};
use bollard::query_parameters::{CreateContainerOptions, LogsOptions};
use futures_util::StreamExt;

use super::engine::Engine;
use crate::executor::{JobSpec, LogSink};

/// GitLab's default aliases for a service image: the name without tag or digest (and without a
/// registry port), `/` replaced by `__`, and also by `-` (a valid host name).
pub fn default_aliases(image: &str) -> Vec<String> {
    let name = image.split('@').next().unwrap_or(image);
    // A tag is a `:` after the last `/`; a `:` before it belongs to a registry port.
    let name = match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => &name[..i],
        _ => name,
    };
    let name = match name.split_once('/') {
        Some((host, rest)) if host.contains(':') => {
            format!("{}/{rest}", host.split(':').next().unwrap_or(host))
        }
        _ => name.to_string(),
    };
    let mut out = vec![name.replace('/', "__")];
    let dashed = name.replace('/', "-");
    if dashed != out[0] {
        out.push(dashed);
    }
    out
}

/// Creates the job's network and starts its services on it; returns the network's name.
/// A service that cannot be created fails the job; one that starts badly is a warning, as in
/// GitLab.
pub(crate) async fn start(
    engine: &Engine,
    spec: &JobSpec,
    name_prefix: &str,
    labels: &HashMap<String, String>,
    log: &mut LogSink,
    wait: Duration,
) -> Result<String, String> {
    let docker = &engine.docker;
    let network = format!("{name_prefix}-net");
    docker
        .create_network(NetworkCreateRequest {
            name: network.clone(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone()),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot create the job's network: {e}"))?;
    let mut started = Vec::new();
    for (i, svc) in spec.services.iter().enumerate() {
        log.line(&format!("Starting service {} ...", svc.image))
            .await;
        let inspect = engine
            .ensure_image(&svc.image, &svc.platform, spec.pull, log)
            .await?;
        engine.check_emulation(&svc.platform)?;
        let mut aliases = default_aliases(&svc.image);
        for a in &svc.aliases {
            if !aliases.contains(a) {
                aliases.push(a.clone());
            }
        }
        // GitLab gives services the job's variables, then their own.
        let mut env: Vec<String> = spec
            .variables
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        env.extend(svc.variables.iter().map(|(k, v)| format!("{k}={v}")));
        let entrypoint = match &svc.entrypoint {
            Some(e) if e.is_empty() => Some(vec![String::new()]),
            e => e.clone(),
        };
        let body = ContainerCreateBody {
            image: Some(svc.image.clone()),
            env: Some(env),
            cmd: svc.command.clone(),
            entrypoint,
            labels: Some(labels.clone()),
            host_config: Some(HostConfig {
                network_mode: Some(network.clone()),
                privileged: Some(spec.privileged),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    EndpointSettings {
                        aliases: Some(aliases),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptions {
            name: Some(format!("{name_prefix}-svc{i}")),
            platform: svc.platform.clone(),
        };
        let id = docker
            .create_container(Some(opts), body)
            .await
            .map_err(|e| format!("cannot create service {}: {e}", svc.image))?
            .id;
        docker
            .start_container(&id, None)
            .await
            .map_err(|e| format!("cannot start service {}: {e}", svc.image))?;
        let ports: Vec<u16> = inspect
            .config
            .and_then(|c| c.exposed_ports)
            .unwrap_or_default()
            .iter()
            .filter(|p| p.ends_with("/tcp") || !p.contains('/'))
            .filter_map(|p| p.split('/').next()?.parse().ok())
            .collect();
        started.push((svc.image.clone(), id, ports));
    }
    let checks = started
        .iter()
        .map(|(image, id, ports)| wait_up(engine, image, id, ports, &network, wait));
    for warning in futures_util::future::join_all(checks)
        .await
        .into_iter()
        .flatten()
    {
        for line in warning.lines() {
            log.line(line).await;
        }
    }
    Ok(network)
}

/// Waits until the service runs and, when it exposes TCP ports and the engine is on this host,
/// until they accept connections. Returns a warning (with the service's last log lines) when it
/// does not come up in time.
async fn wait_up(
    engine: &Engine,
    image: &str,
    id: &str,
    ports: &[u16],
    network: &str,
    wait: Duration,
) -> Option<String> {
    let docker = &engine.docker;
    let until = tokio::time::Instant::now() + wait;
    let problem = loop {
        let state = docker.inspect_container(id, None).await.ok();
        let running = state
            .as_ref()
            .and_then(|s| s.state.as_ref())
            .and_then(|s| s.running)
            .unwrap_or(false);
        if !running {
            let code = state
                .and_then(|s| s.state)
                .and_then(|s| s.exit_code)
                .unwrap_or(-1);
            break format!("the container is not running (exit code {code})");
        }
        let ip = state
            .and_then(|s| s.network_settings)
            .and_then(|n| n.networks)
            .and_then(|mut n| n.remove(network))
            .and_then(|e| e.ip_address)
            .filter(|ip| !ip.is_empty());
        let reachable = match (&ip, engine.local && !ports.is_empty()) {
            (Some(ip), true) => {
                let mut all = true;
                for p in ports {
                    let addr = format!("{ip}:{p}");
                    let probe = tokio::net::TcpStream::connect(addr);
                    all &= tokio::time::timeout(Duration::from_millis(500), probe)
                        .await
                        .is_ok_and(|r| r.is_ok());
                }
                all
            }
            _ => true,
        };
        if reachable {
            return None;
        }
        if tokio::time::Instant::now() >= until {
            break format!("ports {ports:?} did not accept connections within {wait:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut msg = format!(
        "*** WARNING: Service {image} probably didn't start properly.\n\n{problem}\n\nService container logs:"
    );
    let opts = LogsOptions {
        stdout: true,
        stderr: true,
        tail: "20".into(),
        ..Default::default()
    };
    let mut logs = docker.logs(id, Some(opts));
    while let Some(Ok(chunk)) = logs.next().await {
        msg.push('\n');
        msg.push_str(String::from_utf8_lossy(&chunk.into_bytes()).trim_end());
    }
    Some(msg + "\n\n*********")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_aliases_follow_gitlab() {
        assert_eq!(default_aliases("postgres:13"), ["postgres"]);
        assert_eq!(default_aliases("docker:24-dind"), ["docker"]);
        assert_eq!(
            default_aliases("tutum/wordpress:latest"),
            ["tutum__wordpress", "tutum-wordpress"]
        );
        assert_eq!(
            default_aliases("registry.example.com:5000/group/redis@sha256:abc"),
            [
                "registry.example.com__group__redis",
                "registry.example.com-group-redis"
            ]
        );
        assert_eq!(default_aliases("busybox"), ["busybox"]);
    }
}
