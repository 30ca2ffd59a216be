//! `tezos-ci-local engines`: every engine of every pool (the configuration files and `--engine`,
//! as a run reads them), asked what it is: architecture, kernel, Docker version, the platforms
//! qemu lets it run, its capacity, and whether it answers. Exit 2 when one does not.

use std::path::Path;

use crate::cli::CommonArgs;
use crate::engines::config::{self, EngineSpec};
use crate::engines::connect::connect;
use crate::engines::probe::{Facts, facts};
use crate::engines::{AddressEnv, default_address};
use crate::error::Error;

/// One line of the listing.
#[derive(Debug, serde::Serialize)]
pub struct Row {
    /// The platform whose jobs it runs; `default` for the default engine (every other platform).
    pub pool: String,
    pub address: String,
    /// Where it was configured: `--engine`, `FILE:LINE:COL`, or `DOCKER_HOST` / the local socket.
    pub origin: String,
    /// Whether it answered, and what it said.
    pub answers: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Platforms it emulates through qemu (empty: none); absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qemu: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qemu_unknown: Option<String>,
    /// How it runs the pool's jobs: `native`, `qemu`, `no`, or `unknown`.
    pub runs_pool: String,
    /// Jobs at once: configured, else its CPU count (absent when neither is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<usize>,
}

pub fn run(common: &CommonArgs, cli_engines: &[String], json: bool) -> anyhow::Result<()> {
    let env = AddressEnv::from_process();
    let project = Path::new(&common.directory);
    let user = config::user_config_file();
    let spec = config::load(Some(project), user.as_deref(), cli_engines, &env)?;
    let default = default_address(&env).map_err(Error::Usage)?;
    let mut entries = vec![(
        "default".to_string(),
        EngineSpec {
            origin: if env.docker_host.is_some() {
                "DOCKER_HOST".into()
            } else {
                "the local socket".into()
            },
            address: default,
            capacity: None,
        },
    )];
    for pool in &spec.pools {
        for e in &pool.engines {
            entries.push((pool.platform.clone(), e.clone()));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
    let rows = runtime.block_on(async {
        let asks = entries.into_iter().map(|(pool, e)| async move {
            let result = match connect(&e.address).await {
                Ok(conn) => facts(&conn).await,
                Err(e) => Err(e),
            };
            row(pool, e, result)
        });
        futures_util::future::join_all(asks).await
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table(&rows);
    }
    let silent: Vec<String> = rows
        .iter()
        .filter(|r| !r.answers)
        .map(|r| {
            format!(
                "{} ({} pool): {}",
                r.address,
                r.pool,
                r.error.as_deref().unwrap_or("")
            )
        })
        .collect();
    if !silent.is_empty() {
        return Err(Error::Environment(format!(
            "{} of {} engines do not answer:\n  {}",
            silent.len(),
            rows.len(),
            silent.join("\n  ")
        ))
        .into());
    }
    Ok(())
}

fn row(pool: String, e: EngineSpec, result: Result<Facts, String>) -> Row {
    let mut r = Row {
        pool,
        address: e.address.written.clone(),
        origin: e.origin.clone(),
        answers: result.is_ok(),
        error: None,
        architecture: None,
        kernel: None,
        docker_version: None,
        product: None,
        qemu: None,
        qemu_unknown: None,
        runs_pool: "unknown".into(),
        capacity: e.capacity,
    };
    match result {
        Err(why) => r.error = Some(why),
        Ok(f) => {
            r.runs_pool = if r.pool == "default" || r.pool == f.architecture {
                "native".into()
            } else {
                match &f.emulation {
                    Ok(list) if list.contains(&r.pool) => "qemu".into(),
                    Ok(_) => "no".into(),
                    Err(_) => "unknown".into(),
                }
            };
            match f.emulation {
                Ok(list) => r.qemu = Some(list),
                Err(why) => r.qemu_unknown = Some(why),
            }
            r.capacity = Some(e.capacity.unwrap_or(f.cpus));
            r.architecture = Some(f.architecture);
            r.kernel = Some(f.kernel);
            r.docker_version = Some(f.docker_version);
            r.product = Some(f.product);
        }
    }
    r
}

fn print_table(rows: &[Row]) {
    let header = [
        "POOL",
        "ENGINE",
        "ANSWERS",
        "ARCH",
        "RUNS POOL",
        "KERNEL",
        "VERSION",
        "QEMU",
        "CAPACITY",
    ];
    let lines: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            let dash = || "-".to_string();
            [
                r.pool.clone(),
                r.address.clone(),
                if r.answers { "yes".into() } else { "NO".into() },
                r.architecture.clone().unwrap_or_else(dash),
                r.runs_pool.clone(),
                r.kernel.clone().unwrap_or_else(dash),
                r.docker_version.clone().unwrap_or_else(dash),
                match (&r.qemu, &r.qemu_unknown) {
                    (Some(l), _) if l.is_empty() => "none".into(),
                    (Some(l), _) => l
                        .iter()
                        .map(|p| p.trim_start_matches("linux/"))
                        .collect::<Vec<_>>()
                        .join(","),
                    (None, Some(_)) => "unknown".into(),
                    (None, None) => dash(),
                },
                r.capacity.map_or_else(dash, |c| c.to_string()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for l in &lines {
        for (w, c) in widths.iter_mut().zip(l) {
            *w = (*w).max(c.chars().count());
        }
    }
    let print = |cells: &[String]| {
        let line: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    };
    print(&header.map(String::from));
    for l in &lines {
        print(l);
    }
}

/// An engine's address, and what a sweep removed there or why it could not reach it.
pub type EngineSweep = (String, Result<crate::executor::docker::Swept, String>);

/// `clean --containers` on every engine of the configured pools (the project's and the user's files):
/// what dead runs left there (`which`), as on the default engine. Returns each engine's address
/// with what was removed, or why it could not be reached.
pub fn sweep_configured(
    project: &Path,
    which: &super::leftovers::Which<'_>,
) -> Result<Vec<EngineSweep>, Error> {
    let env = AddressEnv::from_process();
    let user = config::user_config_file();
    let spec = config::load(Some(project), user.as_deref(), &[], &env)?;
    let mut addresses: Vec<crate::engines::Address> = Vec::new();
    for e in spec.pools.iter().flat_map(|p| &p.engines) {
        if !addresses.iter().any(|a| a.written == e.address.written) {
            addresses.push(e.address.clone());
        }
    }
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Environment(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(async {
        let sweeps = addresses.into_iter().map(|a| async move {
            let swept = match connect(&a).await {
                Ok(conn) => Ok(crate::executor::docker::remove_dead(
                    &conn.docker,
                    &which.filter(),
                    |l| which.liveness(l),
                )
                .await),
                Err(e) => Err(e),
            };
            (a.written, swept)
        });
        futures_util::future::join_all(sweeps).await
    }))
}
