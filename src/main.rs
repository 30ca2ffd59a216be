//! The tezos-ci-local binary: parse the command line, run, map the outcome to an exit code.

use clap::Parser;

fn main() {
    let cli = tezos_ci_local::cli::Cli::parse();
    let code = match tezos_ci_local::app::run(cli) {
        Ok(()) => 0,
        Err(err) => {
            let code = tezos_ci_local::error::exit_code(&err);
            if code != tezos_ci_local::error::EXIT_INTERRUPTED {
                eprintln!("{} {err:#}", console::style("error:").red().bold());
            }
            code
        }
    };
    std::process::exit(code);
}
