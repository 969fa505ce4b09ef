//! `digest ingest`: load configured sources into the store.

use std::process::ExitCode;

use anyhow::Result;

use super::progress::Sources;
use crate::cli::IngestArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::publish::ingest;
use crate::store::Store;

pub(super) fn run(config: &Config, args: &IngestArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let mut store = Store::open(&config.paths.store)?;
    let count = match &args.source {
        Some(_) => 1,
        None => config.sources.len(),
    };
    let mut shown = Sources::new(count, config.fetch.unhealthy_after);
    let only = args.source.as_deref();
    let ingested = ingest::ingest(config, &mut store, only, clock, &mut shown)?;
    Ok(match ingested.failed.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    })
}
