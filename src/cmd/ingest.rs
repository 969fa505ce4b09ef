//! `digest ingest`: load configured sources into the store.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::catalog;
use crate::cli::IngestArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

pub(super) fn run(config: &Config, args: &IngestArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let mut store = Store::open(&config.paths.store)?;
    let failed = all(config, &mut store, args.source.as_deref(), clock)?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Ingests every source (or only `only`), printing a line per source; whether any source failed
/// as a whole. A failing source is reported and the others still load.
pub(super) fn all(
    config: &Config,
    store: &mut Store,
    only: Option<&str>,
    clock: &dyn Clock,
) -> Result<bool> {
    if let Some(name) = only
        && !config.sources.contains_key(name)
    {
        let known: Vec<&str> = config.sources.keys().map(String::as_str).collect();
        bail!("no source `{name}`; configured: {}", known.join(", "));
    }
    let mut failed = false;
    for source in config
        .sources
        .values()
        .filter(|s| only.is_none_or(|n| n == s.name))
    {
        match catalog::ingest(source, store, clock.now()) {
            Ok(report) => {
                let s = report.stats;
                println!(
                    "{}: {} new, {} updated, {} unchanged, {} skipped",
                    source.name, s.new, s.updated, s.unchanged, report.error_count
                );
                for e in &report.errors {
                    eprintln!("  skipped {e}");
                }
                if report.error_count > report.errors.len() {
                    eprintln!("  … and {} more", report.error_count - report.errors.len());
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("{}: failed: {e:#}", source.name);
            }
        }
    }
    Ok(failed)
}
