//! The `digest` binary: parse arguments, run the command, print errors with their causes.

use std::process::ExitCode;

use clap::Parser;
use digest::cli::{Cli, UsageError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    digest::cmd::init_logging(&cli);
    match digest::cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // Bad arguments exit 2, as clap's own errors do; anything else 1.
            if e.chain().any(|cause| cause.is::<UsageError>()) {
                ExitCode::from(UsageError::EXIT_CODE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
