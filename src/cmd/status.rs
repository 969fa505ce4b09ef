//! `digest status`: the delivery ledger of a digest's issues.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::StatusArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::issue;
use crate::period::Period;
use crate::model::IssueKey;
use crate::store::Store;

/// Failures listed per issue.
const MAX_FAILURES: usize = 50;

pub(super) fn run(config: &Config, args: &StatusArgs, _clock: &dyn Clock) -> Result<ExitCode> {
    let digest = config.digest(&args.digest)?;
    let store = Store::open(&config.paths.store)?;
    let issues = match &args.period {
        Some(p) => {
            let period = Period::parse_as(digest.period, p)?;
            issue::find(&config.paths.digests, &digest.id, period)?
                .into_iter()
                .collect()
        }
        None => issue::list(&config.paths.digests, &digest.id)?,
    };
    if issues.is_empty() {
        say!("{}: no frozen issues", digest.id);
    }
    for issue in &issues {
        let key = IssueKey::new(&issue.digest, issue.period);
        let c = store.counts(&key)?;
        say!(
            "{key} (issue #{}): {} recipients: {} sent, {} pending, {} deferred, {} failed, {} suppressed",
            issue.number,
            c.total(),
            c.sent,
            c.pending,
            c.deferred,
            c.failed,
            c.suppressed
        );
        if args.period.is_some() {
            for (to, state, attempts, reply) in store.failures(&key, MAX_FAILURES)? {
                say!(
                    "  {} {to} after {attempts} attempt(s): {reply}",
                    state.as_str()
                );
            }
        }
    }
    print_sources(config, &store)?;
    Ok(ExitCode::SUCCESS)
}

/// One line per configured source that has been ingested: healthy, or failing and since when.
fn print_sources(config: &Config, store: &Store) -> Result<()> {
    let after = config.fetch.unhealthy_after;
    for h in store
        .source_health()?
        .iter()
        .filter(|h| config.sources.contains_key(&h.name))
    {
        let last_ok = h.last_success.map_or("never".to_string(), |t| {
            t.format("%Y-%m-%d %H:%M UTC").to_string()
        });
        let state = if h.is_unhealthy(after) {
            format!("UNHEALTHY: {} failures in a row", h.consecutive_failures)
        } else if h.consecutive_failures > 0 {
            format!("{} recent failure(s)", h.consecutive_failures)
        } else {
            "healthy".to_string()
        };
        say!("source {}: {state}; last success {last_ok}", h.name);
        if let Some(e) = h
            .last_error
            .as_deref()
            .filter(|_| h.consecutive_failures > 0)
        {
            say!("  last error: {e}");
        }
    }
    Ok(())
}
