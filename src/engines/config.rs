//! Which engines run which platform's jobs: `engines:` in the project's `.tezos-ci-local.yml` and
//! in the user's `~/.config/tezos-ci-local/config.yml`, and `--engine PLATFORM=ADDR1,ADDR2` on
//! the command line. For a platform, the command line replaces the user's file, which replaces the
//! project's: the engines are the user's machines. Every platform without a pool runs on the
//! default engine (`DOCKER_HOST`, else the local socket).
//!
//! ```yaml
//! engines:
//!   linux/arm64:
//!     - ssh://me@arm-box                  # capacity: the engine's CPU count
//!     - {address: tcp://10.0.0.7:2376, capacity: 4, cert_path: ~/.docker/arm}
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::address::{Address, AddressEnv};
use crate::error::{ConfigError, Error};
use crate::pipeline::read;
use crate::plan::platform::normalize;
use crate::yaml::Node;

/// One engine of a platform's pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSpec {
    pub address: Address,
    /// How many jobs it runs at once; `None`: its CPU count.
    pub capacity: Option<usize>,
    /// Where it was given: `--engine`, or `FILE:LINE:COL`.
    pub origin: String,
}

/// The engines of one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    /// Normalized, as in `linux/arm64`.
    pub platform: String,
    pub engines: Vec<EngineSpec>,
}

/// Every pool, in the order the platforms were first named.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolsSpec {
    pub pools: Vec<PoolSpec>,
}

impl PoolsSpec {
    /// Gives `platform` these engines, replacing what an earlier source gave it.
    fn set(&mut self, pool: PoolSpec) {
        match self.pools.iter_mut().find(|p| p.platform == pool.platform) {
            Some(p) => *p = pool,
            None => self.pools.push(pool),
        }
    }

    pub fn pool(&self, platform: &str) -> Option<&PoolSpec> {
        let platform = normalize(platform).unwrap_or_else(|| platform.to_string());
        self.pools.iter().find(|p| p.platform == platform)
    }
}

/// The user's configuration file: `$XDG_CONFIG_HOME/tezos-ci-local/config.yml`, else
/// `~/.config/tezos-ci-local/config.yml`.
pub fn user_config_file() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let dir = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(dir.join("tezos-ci-local").join("config.yml"))
}

/// The pools from the project's file, the user's file and the command line's `--engine`s.
pub fn load(
    project_dir: Option<&Path>,
    user_file: Option<&Path>,
    cli: &[String],
    env: &AddressEnv,
) -> Result<PoolsSpec, Error> {
    let mut spec = PoolsSpec::default();
    let project = project_dir.map(|d| d.join(crate::checkout::PROJECT_CONFIG));
    for file in [project.as_deref(), user_file].into_iter().flatten() {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for pool in from_yaml(&text, file, env)? {
            spec.set(pool);
        }
    }
    let mut from_cli = PoolsSpec::default();
    for arg in cli {
        let pool = parse_cli(arg, env).map_err(Error::Usage)?;
        if from_cli.pool(&pool.platform).is_some() {
            return Err(Error::Usage(format!(
                "--engine: {} is given twice; name all its engines in one --engine {}=ADDR1,ADDR2",
                pool.platform,
                pool.platform.trim_start_matches("linux/")
            )));
        }
        from_cli.set(pool);
    }
    for pool in from_cli.pools {
        spec.set(pool);
    }
    Ok(spec)
}

/// `PLATFORM=ADDR1,ADDR2`, each address with an optional `?capacity=N`.
pub fn parse_cli(arg: &str, env: &AddressEnv) -> Result<PoolSpec, String> {
    let (platform, list) = arg.split_once('=').ok_or_else(|| {
        format!("--engine `{arg}`: expected PLATFORM=ADDRESS[,ADDRESS...], such as arm64=ssh://me@arm-box")
    })?;
    let normalized = normalize(platform).ok_or_else(|| {
        format!("--engine `{arg}`: `{platform}` is not a platform (try linux/arm64 or s390x)")
    })?;
    let mut engines = Vec::new();
    for text in list.split(',').map(str::trim) {
        if text.is_empty() {
            return Err(format!("--engine `{arg}`: an empty address"));
        }
        let (text, capacity) =
            split_capacity(text).map_err(|e| format!("--engine `{arg}`: {e}"))?;
        let address = Address::parse(&text, env).map_err(|e| format!("--engine `{arg}`: {e}"))?;
        engines.push(EngineSpec {
            address,
            capacity,
            origin: "--engine".into(),
        });
    }
    check_duplicates(&normalized, &engines).map_err(|e| format!("--engine `{arg}`: {e}"))?;
    Ok(PoolSpec {
        platform: normalized,
        engines,
    })
}

/// Takes `capacity=N` out of an address's options.
fn split_capacity(text: &str) -> Result<(String, Option<usize>), String> {
    let Some((base, query)) = text.split_once('?') else {
        return Ok((text.to_string(), None));
    };
    let mut capacity = None;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("capacity=") {
            Some(n) => capacity = Some(parse_capacity(n)?),
            None => rest.push(pair),
        }
    }
    let text = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((text, capacity))
}

fn parse_capacity(n: &str) -> Result<usize, String> {
    match n.trim().parse::<usize>() {
        Ok(c) if (1..=1024).contains(&c) => Ok(c),
        _ => Err(format!(
            "capacity `{n}` is not a number of jobs from 1 to 1024"
        )),
    }
}

fn check_duplicates(platform: &str, engines: &[EngineSpec]) -> Result<(), String> {
    for (i, e) in engines.iter().enumerate() {
        if engines[..i]
            .iter()
            .any(|o| o.address.written == e.address.written)
        {
            return Err(format!(
                "{} is twice in the pool of {platform}",
                e.address.written
            ));
        }
    }
    Ok(())
}

/// The `engines:` key of a configuration file (other keys belong to others and are not looked at).
pub fn from_yaml(text: &str, file: &Path, env: &AddressEnv) -> Result<Vec<PoolSpec>, Error> {
    let node = crate::yaml::parse_str(text, Arc::new(file.to_path_buf()))?;
    let Some(root) = node.as_map() else {
        return Ok(Vec::new());
    };
    let Some(engines) = root.get("engines") else {
        return Ok(Vec::new());
    };
    let mut pools = Vec::new();
    if engines.is_null() {
        return Ok(pools);
    }
    for (platform, list, span) in read::map(engines, "engines")?.iter_with_spans() {
        let key = format!("engines:{platform}");
        let normalized = normalize(platform).ok_or_else(|| {
            ConfigError::new(
                Some(span),
                format!("`{platform}` is not a platform (try linux/arm64 or s390x)"),
            )
            .key("engines")
        })?;
        let items: Vec<&Node> = match list.as_seq() {
            Some(items) => items.iter().collect(),
            None => vec![list],
        };
        let mut engines = Vec::new();
        for item in items {
            engines.push(engine_from_yaml(item, &key, env)?);
        }
        check_duplicates(&normalized, &engines)
            .map_err(|e| ConfigError::new(Some(&list.span), e).key(key.clone()))?;
        pools.push(PoolSpec {
            platform: normalized,
            engines,
        });
    }
    Ok(pools)
}

fn engine_from_yaml(item: &Node, key: &str, env: &AddressEnv) -> Result<EngineSpec, ConfigError> {
    let origin = item.span.to_string();
    let bad = |node: &Node, e: String| read::err(node, key, e);
    if item.as_scalar().is_some() {
        let text = read::string(item, key)?;
        let (text, capacity) = split_capacity(&text).map_err(|e| bad(item, e))?;
        let address = Address::parse(&text, env).map_err(|e| bad(item, e))?;
        return Ok(EngineSpec {
            address,
            capacity,
            origin,
        });
    }
    let m = read::map(item, key)?;
    read::check_keys(m, item, key, &["address", "capacity", "cert_path"])?;
    let addr_node = m
        .get("address")
        .ok_or_else(|| bad(item, "an engine needs an `address`".into()))?;
    let mut text = read::string(addr_node, &format!("{key}:address"))?;
    if let Some(c) = m.get("cert_path") {
        let dir = read::string(c, &format!("{key}:cert_path"))?;
        text.push(if text.contains('?') { '&' } else { '?' });
        text.push_str(&format!("cert_path={dir}"));
    }
    let address = Address::parse(&text, env).map_err(|e| bad(addr_node, e))?;
    let capacity = match m.get("capacity") {
        Some(c) => Some(
            parse_capacity(&read::string(c, &format!("{key}:capacity"))?).map_err(|e| bad(c, e))?,
        ),
        None => None,
    };
    Ok(EngineSpec {
        address,
        capacity,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> AddressEnv {
        AddressEnv {
            docker_config: "/nonexistent".into(),
            ..AddressEnv::default()
        }
    }

    fn written(p: &PoolSpec) -> Vec<(&str, Option<usize>)> {
        p.engines
            .iter()
            .map(|e| (e.address.written.as_str(), e.capacity))
            .collect()
    }

    #[test]
    fn the_command_line_takes_several_engines_a_platform() {
        let p = parse_cli("arm64=tcp://a:2375?capacity=3, ssh://me@b", &env()).unwrap();
        assert_eq!(p.platform, "linux/arm64");
        assert_eq!(
            written(&p),
            vec![("tcp://a:2375", Some(3)), ("ssh://me@b", None)]
        );
        let p = parse_cli("s390x=ssh://z?capacity=2&socket=/run/podman.sock", &env()).unwrap();
        assert_eq!(
            written(&p),
            vec![("ssh://z?socket=/run/podman.sock", Some(2))]
        );
        for (bad, says) in [
            ("arm64", "expected PLATFORM=ADDRESS"),
            ("sparc=tcp://a:1", "not a platform"),
            ("arm64=tcp://a:1,", "an empty address"),
            ("arm64=tcp://a:1?capacity=0", "from 1 to 1024"),
            (
                "arm64=tcp://a:1,tcp://a:1",
                "twice in the pool of linux/arm64",
            ),
            ("arm64=a:1", "is not a Docker address"),
        ] {
            let e = parse_cli(bad, &env()).unwrap_err();
            assert!(
                e.starts_with(&format!("--engine `{bad}`")) && e.contains(says),
                "{e}"
            );
        }
    }

    #[test]
    fn files_name_engines_with_capacities_and_errors_name_the_line() {
        let text = "jobs: {}\nengines:\n  aarch64:\n    - tcp://a:2375\n    - {address: tcp://b:2376, capacity: 4, cert_path: /c}\n  s390x: ssh://z\n";
        let pools = from_yaml(text, Path::new(".tezos-ci-local.yml"), &env()).unwrap();
        assert_eq!(pools.len(), 2);
        assert_eq!(pools[0].platform, "linux/arm64");
        assert_eq!(
            written(&pools[0]),
            vec![
                ("tcp://a:2375", None),
                ("tcp://b:2376?cert_path=/c", Some(4))
            ]
        );
        assert_eq!(pools[0].engines[0].origin, ".tezos-ci-local.yml:4:7");
        assert_eq!(written(&pools[1]), vec![("ssh://z", None)]);

        for (bad, says) in [
            (
                "engines:\n  arm64:\n    - {address: tcp://b:2376, capacity: lots}\n",
                ".tezos-ci-local.yml:3:41: key `engines:arm64`: capacity `lots`",
            ),
            (
                "engines:\n  arm64:\n    - {adress: tcp://b:2376}\n",
                "unknown key `adress`",
            ),
            (
                "engines:\n  mips: tcp://b:2376\n",
                ".tezos-ci-local.yml:2:3: key `engines`: `mips` is not a platform",
            ),
            (
                "engines:\n  arm64:\n    - b:2376\n",
                ".tezos-ci-local.yml:3:7: key `engines:arm64`: `b:2376` is not a Docker address",
            ),
        ] {
            let e = from_yaml(bad, Path::new(".tezos-ci-local.yml"), &env())
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn the_command_line_replaces_the_user_file_which_replaces_the_project() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".tezos-ci-local.yml"),
            "engines:\n  arm64: tcp://project:2375\n  s390x: tcp://project-z:2375\n",
        )
        .unwrap();
        let user = dir.path().join("config.yml");
        std::fs::write(&user, "engines:\n  s390x: [tcp://mine-z:2375]\n").unwrap();
        let spec = load(
            Some(dir.path()),
            Some(&user),
            &["arm64=tcp://cli:2375".into()],
            &env(),
        )
        .unwrap();
        let addr = |p: &str| written(spec.pool(p).unwrap())[0].0.to_string();
        assert_eq!(addr("arm64"), "tcp://cli:2375");
        assert_eq!(addr("s390x"), "tcp://mine-z:2375");
        assert!(spec.pool("linux/amd64").is_none());
        let e = load(
            None,
            None,
            &["arm64=tcp://a:1".into(), "aarch64=tcp://b:1".into()],
            &env(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("linux/arm64 is given twice"), "{e}");
    }
}
