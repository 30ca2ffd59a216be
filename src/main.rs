//! The tezos-ci-local binary: parse the command line, run, map the outcome to an exit code.

fn main() {
    let cli = tezos_ci_local::cli::Cli::parse_args();
    if !cli.runs_jobs() {
        // A command that only prints dies quietly when its reader goes away (`runs | head -1`),
        // as other Unix tools do; Rust ignores SIGPIPE, and `println!` would panic. A run keeps
        // ignoring it: it must clean up its containers whatever happens to its output.
        // SAFETY: called before any thread is started; SIG_DFL is a valid disposition.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let code = match tezos_ci_local::commands::dispatch(cli) {
        Ok(()) => 0,
        Err(err) => {
            let code = tezos_ci_local::error::exit_code(&err);
            if code != tezos_ci_local::error::EXIT_INTERRUPTED {
                // Once the variables are read, a message may quote a masked value.
                let text = tezos_ci_local::mask::process().masked(&format!("{err:#}"));
                eprintln!("{} {text}", console::style("error:").red().bold());
            }
            code
        }
    };
    std::process::exit(code);
}
