//! `digest suppress`: add, remove, import and list suppressions.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::SuppressAction;
use crate::clock::Clock;
use crate::config::Config;
use crate::publish::suppress::{self, parse_reason, scope};
use crate::store::{ALL_DIGESTS, Store};

pub(super) fn run(config: &Config, action: &SuppressAction, clock: &dyn Clock) -> Result<ExitCode> {
    let mut store = Store::open(&config.paths.store)?;
    match action {
        SuppressAction::Add {
            addresses,
            reason,
            digest,
        } => {
            let (reason, scope) = (parse_reason(reason)?, scope(config, digest.as_deref())?);
            for raw in addresses {
                match suppress::add(&mut store, raw, reason, scope.as_deref(), clock)? {
                    (key, true) => say!("suppressed {key}"),
                    (key, false) => say!("already suppressed: {key}"),
                }
            }
        }
        SuppressAction::Remove { addresses, digest } => {
            let scope = scope(config, digest.as_deref())?;
            for raw in addresses {
                match suppress::remove(&mut store, raw, scope.as_deref())? {
                    (key, true) => say!("no longer suppressed: {key}"),
                    (key, false) => say!("was not suppressed: {key}"),
                }
            }
        }
        SuppressAction::Import {
            file,
            reason,
            digest,
        } => {
            let (reason, scope) = (parse_reason(reason)?, scope(config, digest.as_deref())?);
            let done = suppress::import(&mut store, file, reason, scope.as_deref(), clock)?;
            for skipped in &done.skipped {
                eprintln!("{skipped}");
            }
            let (added, skipped) = (done.added, done.skipped.len());
            say!(
                "imported {added} suppression(s) from {}; {skipped} row(s) skipped",
                file.display()
            );
        }
        SuppressAction::List => {
            for s in store.suppressions()? {
                let scope = if s.scope == ALL_DIGESTS {
                    "all digests"
                } else {
                    &s.scope
                };
                let since = s.created_at.format("%Y-%m-%d");
                say!("{}\t{}\t{scope}\t{since}", s.address, s.reason.as_str());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
