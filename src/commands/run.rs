//! `tezos-ci-local run`: select jobs, then schedule them in Docker and report.

use crate::cli::{CommonArgs, RunArgs};

pub fn run(_common: &CommonArgs, _args: &RunArgs, _jobs: &[String]) -> anyhow::Result<()> {
    Err(crate::error::Error::Usage("running jobs lands with the scheduler".into()).into())
}
