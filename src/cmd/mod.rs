//! Drivers: each command composes library stages and prints what happened.

mod build;
mod check;
mod ingest;
mod preview;

use std::process::ExitCode;

use anyhow::{Context as _, Result};

use crate::cli::{Cli, Command, Target};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Digest};
use crate::period::Period;
use crate::select::{self, Ranking};
use crate::store::Store;

/// Runs a parsed command line with the system clock.
pub fn run(cli: Cli) -> Result<ExitCode> {
    run_with(cli, &SystemClock)
}

/// Runs a parsed command line with the given clock.
pub fn run_with(cli: Cli, clock: &dyn Clock) -> Result<ExitCode> {
    if let Command::Check = cli.command {
        return check::run(&cli.config, clock);
    }
    let config = Config::load(&cli.config)?;
    match cli.command {
        Command::Check => unreachable!("handled above"),
        Command::Ingest(args) => ingest::run(&config, &args, clock),
        Command::Build(args) => build::run(&config, &args, clock),
        Command::Preview(args) => preview::run(&config, &args, clock),
    }
}

/// Logs go to stderr, filtered by `DIGEST_LOG` (e.g. `info`, `digest=debug`), default `warn`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DIGEST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The digest and period a command names; the period defaults to the last closed one.
fn target<'c>(config: &'c Config, t: &Target, clock: &dyn Clock) -> Result<(&'c Digest, Period)> {
    let digest = config.digest(&t.digest)?;
    let period = match &t.period {
        Some(p) => Period::parse_as(digest.period, p)?,
        None => Period::last_closed(digest.period, clock.now(), digest.timezone),
    };
    Ok((digest, period))
}

/// Opens the store; a store created just now is filled from every configured source first, so a
/// fresh checkout previews without a separate `ingest`.
fn open_store(config: &Config, clock: &dyn Clock) -> Result<Store> {
    let mut store = Store::open(&config.paths.store)?;
    if store.was_created() {
        eprintln!(
            "new store {}: ingesting the configured sources first",
            store.path().display()
        );
        ingest::all(config, &mut store, None, clock)?;
    }
    Ok(store)
}

/// Ranks the candidates of `period` for `digest`, each weighted by the source that stored it.
fn rank(config: &Config, store: &Store, digest: &Digest, period: Period) -> Result<Ranking> {
    let window = period.window(digest.timezone);
    let candidates = store
        .candidates(&digest.tags, &window)
        .with_context(|| format!("selecting candidates for {} {period}", digest.id))?;
    let weight = |origin: Option<&str>| {
        origin
            .and_then(|o| config.sources.get(o))
            .map_or(1.0, |s| s.weight)
    };
    Ok(select::rank(
        digest,
        window,
        candidates
            .into_iter()
            .map(|s| {
                let w = weight(s.origin.as_deref());
                (s.article, w)
            })
            .collect(),
    ))
}
