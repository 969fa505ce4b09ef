//! `digest suppress`: add, remove, import and list suppressions.

use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow};

use crate::cli::SuppressAction;
use crate::clock::Clock;
use crate::config::Config;
use crate::mail::address;
use crate::store::{Reason, Store};

pub(super) fn run(config: &Config, action: &SuppressAction, clock: &dyn Clock) -> Result<ExitCode> {
    let mut store = Store::open(&config.paths.store)?;
    let scope = |digest: &Option<String>| -> Result<Option<String>> {
        if let Some(d) = digest {
            config.digest(d)?;
        }
        Ok(digest.clone())
    };
    match action {
        SuppressAction::Add {
            addresses,
            reason,
            digest,
        } => {
            let (reason, scope) = (parse_reason(reason)?, scope(digest)?);
            for raw in addresses {
                let a = address::normalize(raw).map_err(|e| anyhow!(e))?;
                let new = store.suppress(&a.key, scope.as_deref(), reason, None, clock.now())?;
                say!(
                    "{} {}",
                    if new {
                        "suppressed"
                    } else {
                        "already suppressed:"
                    },
                    a.key
                );
            }
        }
        SuppressAction::Remove { addresses, digest } => {
            let scope = scope(digest)?;
            for raw in addresses {
                let key = address::normalize(raw)
                    .map(|a| a.key)
                    .unwrap_or_else(|_| raw.trim().to_lowercase());
                let n = store.unsuppress(&key, scope.as_deref())?;
                say!(
                    "{} {key}",
                    if n > 0 {
                        "no longer suppressed:"
                    } else {
                        "was not suppressed:"
                    }
                );
            }
        }
        SuppressAction::Import {
            file,
            reason,
            digest,
        } => {
            let (reason, scope) = (parse_reason(reason)?, scope(digest)?);
            let (added, skipped) = import(&mut store, file, reason, scope.as_deref(), clock)?;
            say!(
                "imported {added} suppression(s) from {}; {skipped} row(s) skipped",
                file.display()
            );
        }
        SuppressAction::List => {
            for s in store.suppressions()? {
                let scope = if s.scope == crate::store::ALL_DIGESTS {
                    "all digests".to_string()
                } else {
                    s.scope
                };
                say!(
                    "{}\t{}\t{}\t{}",
                    s.address,
                    s.reason.as_str(),
                    scope,
                    s.created_at.format("%Y-%m-%d")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_reason(s: &str) -> Result<Reason> {
    Reason::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Reason::ALL.iter().map(|(n, _)| *n).collect();
        anyhow!("unknown reason {s:?} (use one of: {})", names.join(", "))
    })
}

/// Imports `email[,reason]` rows; bad rows are reported with their line and skipped.
fn import(
    store: &mut Store,
    file: &std::path::Path,
    reason: Reason,
    scope: Option<&str>,
    clock: &dyn Clock,
) -> Result<(u64, u64)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let email = column("email")
        .ok_or_else(|| anyhow!("{}:1: no `email` column in the header row", file.display()))?;
    let reason_column = column("reason");
    let (mut added, mut skipped) = (0, 0);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                eprintln!("{}:{line}: skipped: {e}", file.display());
                skipped += 1;
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let row_reason = reason_column
            .and_then(|i| record.get(i))
            .filter(|r| !r.is_empty());
        let parsed = address::normalize(record.get(email).unwrap_or("")).and_then(|a| {
            Ok((
                a,
                row_reason.map_or(Ok(reason), |r| parse_reason(r).map_err(|e| e.to_string()))?,
            ))
        });
        match parsed {
            Ok((a, r)) => {
                added += u64::from(store.suppress(&a.key, scope, r, None, clock.now())?)
            }
            Err(e) => {
                eprintln!("{}:{line}: skipped: {e}", file.display());
                skipped += 1;
            }
        }
    }
    Ok((added, skipped))
}
