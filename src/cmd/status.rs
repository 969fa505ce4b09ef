//! `digest status`: the delivery ledger of a digest's issues, and the sources' health.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::StatusArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::publish::status;
use crate::store::Store;

pub(super) fn run(config: &Config, args: &StatusArgs, _clock: &dyn Clock) -> Result<ExitCode> {
    let digest = config.digest(&args.digest)?;
    let store = Store::open(&config.paths.store)?;
    let period = match &args.period {
        Some(p) => Some(super::period(digest, p)?),
        None => None,
    };
    let ledgers = status::ledgers(config, &store, digest, period)?;
    if ledgers.is_empty() {
        say!("{}: no frozen issues", digest.id);
    }
    for ledger in &ledgers {
        say!("{}", ledger.to_string().trim_end());
    }
    let sources = status::sources(config, &store)? + &status::inbound(config, &store)?;
    if !sources.is_empty() {
        say!("{}", sources.trim_end());
    }
    Ok(ExitCode::SUCCESS)
}
