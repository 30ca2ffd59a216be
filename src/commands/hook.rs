//! `tezos-ci-local hook install|uninstall`: the pre-push hook.

use crate::cli::{CommonArgs, HookArgs};

pub fn run(_common: &CommonArgs, _args: &HookArgs) -> anyhow::Result<()> {
    Err(crate::error::Error::Usage("`hook` lands with the job cache".into()).into())
}
