//! One module per command: `run` dispatches the parsed command line to them; each renders what
//! the earlier stages (`app::load`) made.

pub mod completions;
pub mod engines;
pub mod explain;
pub mod follow;
pub mod graph;
pub mod hook;
pub mod leftovers;
pub mod list;
pub mod predict;
pub mod report;
pub mod run;
pub mod runs;
pub mod shell;
pub mod suggest;

use crate::cli::{Cli, ColorArg, Command};

/// Runs the command of the parsed command line.
pub fn dispatch(mut cli: Cli) -> anyhow::Result<()> {
    // A hook stores the options as typed; its runs take the files' defaults when they happen.
    if !matches!(cli.command, Some(Command::Hook(_))) {
        cli.options = cli.options.with_defaults()?;
    }
    let options = &cli.options;
    let common = &options.common;
    match common.color {
        ColorArg::Auto => {}
        when => {
            console::set_colors_enabled(when == ColorArg::Always);
            console::set_colors_enabled_stderr(when == ColorArg::Always);
        }
    }
    match cli.command {
        None => run::run(options, &[]),
        Some(Command::Run(r)) => run::run(options, &r.names),
        Some(Command::List(args)) => {
            let loaded = crate::app::load(common)?;
            list::print(&loaded, &args, options.run.json)
        }
        Some(Command::Validate) => {
            let loaded = crate::app::load(common)?;
            run::check_images(&loaded, options.run.default_image.as_deref(), |_| true)?;
            println!(
                "{}: valid ({} jobs, {} in this {} pipeline)",
                loaded
                    .pipeline
                    .files
                    .first()
                    .map(String::as_str)
                    .unwrap_or(".gitlab-ci.yml"),
                loaded.pipeline.jobs.len(),
                loaded.plan.jobs.len(),
                loaded.origin.source
            );
            Ok(())
        }
        Some(Command::Explain(args)) => {
            let loaded = crate::app::load(common)?;
            explain::print(&loaded, common, &args, options.run.json)
        }
        Some(Command::Graph(args)) => {
            let loaded = crate::app::load(common)?;
            graph::print(&loaded, args.format)
        }
        Some(Command::Logs(args)) => runs::logs(common, &args),
        Some(Command::Runs(args)) => runs::list(common, &args, options.run.json),
        Some(Command::Report(args)) => report::run(common, &args, options.run.open),
        Some(Command::Clean(args)) => runs::clean(common, &args),
        Some(Command::Hook(args)) => hook::run(options, &args),
        Some(Command::Engines(_)) => engines::run(common, &options.run.engines, options.run.json),
        Some(Command::Shell(args)) => shell::run(options, &args),
        Some(Command::Completions { shell }) => completions::print(shell),
    }
}
