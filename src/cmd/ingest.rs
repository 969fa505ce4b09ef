//! `digest ingest`: load configured sources into the store.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::catalog::{self, Report, fetch::Fetcher};
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
/// as a whole. A failing source is reported and the others still load. On a terminal, a progress
/// bar on stderr shows which source is being loaded (and, for JSON Lines, how many lines are in).
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
    let sources: Vec<_> = config
        .sources
        .values()
        .filter(|s| only.is_none_or(|n| n == s.name))
        .collect();
    let bar = progress(sources.len());
    let fetcher = Fetcher::new(&config.fetch);
    let mut failed = false;
    for source in sources {
        bar.set_message(source.name.clone());
        let lines_read = |n: usize| bar.set_message(format!("{}: {n} lines", source.name));
        let report = catalog::ingest(source, store, &fetcher, clock.now(), &lines_read)?;
        failed |= report.failure.is_some();
        bar.suspend(|| print_report(&source.name, &report, config.fetch.unhealthy_after));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(failed)
}

/// A progress bar over `n` sources on a terminal; hidden otherwise.
fn progress(n: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(n as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} sources  {msg}") {
        bar.set_style(style);
    }
    bar
}

/// What happened to one source: counts on stdout, reasons and failures on stderr.
fn print_report(name: &str, report: &Report, unhealthy_after: u32) {
    if let Some(failure) = &report.failure {
        eprintln!("{name}: failed: {failure}");
    } else if report.not_modified {
        say!("{name}: not modified since the last fetch (HTTP 304), nothing to load");
    } else {
        let s = report.stats;
        let undated = match report.undated {
            0 => String::new(),
            n => format!(", {n} undated (kept, but no period selects them)"),
        };
        say!(
            "{name}: {} new, {} updated, {} unchanged, {} skipped{undated}",
            s.new,
            s.updated,
            s.unchanged,
            report.error_count
        );
    }
    for e in &report.errors {
        eprintln!("  skipped {e}");
    }
    if report.error_count > report.errors.len() {
        eprintln!("  … and {} more", report.error_count - report.errors.len());
    }
    if let Some(h) = report
        .health
        .as_ref()
        .filter(|h| h.is_unhealthy(unhealthy_after))
    {
        let since = h.last_success.map_or("never loaded".to_string(), |t| {
            format!("last success {}", t.to_rfc3339())
        });
        eprintln!(
            "{name}: unhealthy: {} consecutive failures ({since})",
            h.consecutive_failures
        );
    }
}
