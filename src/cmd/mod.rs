//! Drivers: each command parses its arguments, asks [`crate::publish`] to do the work, confirms
//! where a command asks for it, and prints what happened.

/// `println!` for command output: when stdout is a closed pipe (`digest … | head`), the process
/// ends quietly with exit code 0 instead of panicking, as other command-line tools do.
macro_rules! say {
    () => {
        $crate::cmd::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cmd::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod approve;
mod archive;
mod build;
mod check;
mod daemon;
mod edit;
mod inbound;
mod ingest;
mod init;
mod manual;
mod preview;
mod progress;
mod send;
mod status;
mod subscribers;
mod suppress;

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::{Cli, Command, LogFormat, Target, UsageError};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Digest};
use crate::period::Period;

/// Writes command output to stdout; see [`say!`].
fn write_out(text: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(text) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// Runs a parsed command line with the system clock.
pub fn run(cli: Cli) -> Result<ExitCode> {
    run_with(cli, Arc::new(SystemClock))
}

/// Runs a parsed command line with the given clock.
pub fn run_with(cli: Cli, clock: Arc<dyn Clock>) -> Result<ExitCode> {
    // These run without a loaded configuration: `check` loads it itself to print every problem,
    // `init` writes one, `completions` and `man` describe the command line, `inbound` loads it
    // only where it needs it (`classify` reads message files only).
    let command = match cli.command {
        Command::Check => return check::run(&cli.config, &*clock),
        Command::Init(args) => return init::run(&args, &*clock),
        Command::Completions(args) => return manual::completions(&args),
        Command::Man(args) => return manual::man(&args),
        Command::Inbound(args) => return inbound::run(&cli.config, &args, &*clock),
        command => command,
    };
    let config = Config::load(&cli.config)?;
    match command {
        Command::Check
        | Command::Init(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::Inbound(_) => unreachable!("handled above"),
        Command::Ingest(args) => ingest::run(&config, &args, &*clock),
        Command::Build(args) => build::run(&config, &args, &*clock),
        Command::Preview(args) => preview::run(&config, &args, &*clock),
        Command::Send(args) => send::run(&config, &args, &*clock),
        Command::Status(args) => status::run(&config, &args, &*clock),
        Command::Edit(args) => edit::run(&config, &args, &*clock),
        Command::Approve(args) => approve::run(&config, &args, &*clock),
        Command::Suppress(args) => suppress::run(&config, &args.action, &*clock),
        Command::Subscribers(args) => subscribers::run(&config, &args.action, &*clock),
        Command::Daemon(_) => daemon::run(&cli.config, config, clock),
        Command::Archive(args) => archive::run(&config, &args),
    }
}

/// Logs go to stderr, filtered by `DIGEST_LOG` (e.g. `info`, `digest=debug`); the default is `info`
/// for the daemon and `warn` for the other commands. The daemon can log JSON lines instead.
pub fn init_logging(cli: &Cli) {
    let (default, format) = match &cli.command {
        Command::Daemon(args) => ("info", args.log_format),
        _ => ("warn", LogFormat::Human),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DIGEST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(colour).try_init()
        }
    };
}

/// The digest and period a command names; the period defaults to the last closed one.
fn target<'c>(config: &'c Config, t: &Target, clock: &dyn Clock) -> Result<(&'c Digest, Period)> {
    let digest = config.digest(&t.digest)?;
    let period = match &t.period {
        Some(p) => period(digest, p)?,
        None => Period::last_closed(digest.period, clock.now(), digest.timezone),
    };
    Ok((digest, period))
}

/// The `--period` of `digest` as written on the command line; a [`UsageError`] if malformed.
fn period(digest: &Digest, written: &str) -> Result<Period, UsageError> {
    Period::parse_as(digest.period, written).map_err(|e| UsageError(e.to_string()))
}

/// What commands show while the store they open is filled first (it holds no article yet).
fn stores(config: &Config) -> progress::Sources {
    progress::Sources::new(config.sources.len(), config.fetch.unhealthy_after)
}
