//! Docker engines beyond the local one: addresses as Docker users write them (`address.rs`),
//! connecting to them, ssh tunnels included (`connect.rs`), what an engine is (`probe.rs`), pools
//! of engines per platform from the configuration files and `--engine` (`config.rs`), and the
//! placement and failover of jobs over those pools (`pool.rs`).

pub mod address;
pub mod config;
pub mod connect;
pub mod pool;
pub mod probe;

pub use address::{Address, AddressEnv};
pub use config::{EngineSpec, PoolSpec, PoolsSpec};

/// The default engine's address: `DOCKER_HOST`, else the local socket.
pub fn default_address(env: &AddressEnv) -> Result<Address, String> {
    let host = env
        .docker_host
        .clone()
        .unwrap_or_else(|| format!("unix://{}", address::DEFAULT_REMOTE_SOCKET));
    Address::parse(&host, env).map_err(|e| format!("DOCKER_HOST: {e}"))
}
