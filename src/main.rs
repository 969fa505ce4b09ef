//! The `digest` binary: parse arguments, run the command, print errors with their causes.

use std::process::ExitCode;

use clap::Parser;
use digest::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    digest::cmd::init_logging(&cli);
    match digest::cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
