//! `runs`, `logs` and `clean`: the run directories kept under the state directory.

use crate::cli::{CleanArgs, CommonArgs, LogsArgs};

pub fn list(_common: &CommonArgs) -> anyhow::Result<()> {
    Err(crate::error::Error::Usage("`runs` lands with the run store".into()).into())
}

pub fn logs(_common: &CommonArgs, _args: &LogsArgs) -> anyhow::Result<()> {
    Err(crate::error::Error::Usage("`logs` lands with the run store".into()).into())
}

pub fn clean(_common: &CommonArgs, _args: &CleanArgs) -> anyhow::Result<()> {
    Err(crate::error::Error::Usage("`clean` lands with the run store".into()).into())
}
