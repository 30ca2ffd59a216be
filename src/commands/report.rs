//! `tezos-ci-local report [RUN] [--open]`: where a past run's HTML report is, and opening it.

use crate::cli::{CommonArgs, ReportArgs};
use crate::error::Error;
use crate::report::html::{REPORT_FILE, open_in_browser};
use crate::store::{self, runs};

/// `open` is the global `--open`.
pub fn run(common: &CommonArgs, args: &ReportArgs, open: bool) -> anyhow::Result<()> {
    let state = store::state_dir(common.state_dir.as_deref());
    let id = match &args.run {
        Some(id) => id.clone(),
        None => runs::last(&state)
            .ok_or_else(|| Error::Usage(format!("no runs yet under {}", state.display())))?,
    };
    // A run id is one path component: `..` or a path would read outside the runs.
    if id.is_empty() || id.contains(['/', '\\']) || id == "." || id == ".." {
        return Err(Error::Usage(format!(
            "`{id}` is not a run id (see `tezos-ci-local runs`)"
        ))
        .into());
    }
    let dir = state.join("runs").join(&id);
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "no run `{id}` under {} (see `tezos-ci-local runs`)",
            state.display()
        ))
        .into());
    }
    let page = dir.join(REPORT_FILE);
    if !page.is_file() {
        return Err(Error::Usage(format!(
            "run `{id}` has no report: it ended before its first event ({})",
            page.display()
        ))
        .into());
    }
    println!("{}", page.display());
    if open {
        open_in_browser(&page);
    }
    Ok(())
}
