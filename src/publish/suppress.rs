//! `digest suppress`: addresses never to mail, added one by one or imported from a CSV file.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow};

use crate::clock::Clock;
use crate::config::Config;
use crate::mail::address;
use crate::store::{Reason, Store};

/// A reason by its name (`manual`, `bounced`, …), or an error listing the names.
pub fn parse_reason(s: &str) -> Result<Reason> {
    Reason::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Reason::ALL.iter().map(|(n, _)| *n).collect();
        anyhow!("unknown reason {s:?} (use one of: {})", names.join(", "))
    })
}

/// The scope a `--digest` option names: `None` for every digest, or a configured digest's id.
pub fn scope(config: &Config, digest: Option<&str>) -> Result<Option<String>> {
    if let Some(d) = digest {
        config.digest(d)?;
    }
    Ok(digest.map(str::to_owned))
}

/// Suppresses `raw`; its normalised key and whether it is new.
pub fn add(
    store: &mut Store,
    raw: &str,
    reason: Reason,
    scope: Option<&str>,
    clock: &dyn Clock,
) -> Result<(String, bool)> {
    let a = address::normalize(raw).map_err(|e| anyhow!(e))?;
    let new = store.suppress(&a.key, scope, reason, None, clock.now())?;
    Ok((a.key, new))
}

/// Records that `address` (a key) unsubscribed from `scope` (`None`: every digest), `via` saying
/// how (`one-click`, `manage page`, `mailto`); whether it is new. The one path every unsubscribe
/// takes.
pub fn unsubscribe(
    store: &mut Store,
    address: &str,
    scope: Option<&str>,
    via: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    store.suppress(address, scope, Reason::Unsubscribed, Some(via), now)
}

/// Lifts the suppression of `raw` (as written, if it no longer parses as an address); its key and
/// whether it was suppressed.
pub fn remove(store: &mut Store, raw: &str, scope: Option<&str>) -> Result<(String, bool)> {
    let key = address::normalize(raw)
        .map(|a| a.key)
        .unwrap_or_else(|_| raw.trim().to_lowercase());
    let n = store.unsuppress(&key, scope)?;
    Ok((key, n > 0))
}

/// A CSV file with a header row, opened for reading: the reader, the header row and the index of
/// its `email` column (an error naming the file when there is none).
pub fn open_csv(file: &Path) -> Result<(csv::Reader<std::fs::File>, csv::StringRecord, usize)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let headers = reader.headers()?.clone();
    let email = column(&headers, "email")
        .ok_or_else(|| anyhow!("{}:1: no `email` column in the header row", file.display()))?;
    Ok((reader, headers, email))
}

/// The index of the column `name` (any case) in a header row.
pub fn column(headers: &csv::StringRecord, name: &str) -> Option<usize> {
    headers.iter().position(|h| h.eq_ignore_ascii_case(name))
}

/// What [`import`] did.
#[derive(Debug, Default)]
pub struct Imported {
    /// New suppressions.
    pub added: u64,
    /// Rows that could not be read, as `file:line: skipped: reason`.
    pub skipped: Vec<String>,
}

/// Imports the `email[,reason]` rows of a CSV file with a header row; a bad row is skipped and
/// reported with its line, the others still load.
pub fn import(
    store: &mut Store,
    file: &Path,
    reason: Reason,
    scope: Option<&str>,
    clock: &dyn Clock,
) -> Result<Imported> {
    let (mut reader, headers, email) = open_csv(file)?;
    let reason_column = column(&headers, "reason");
    let mut imported = Imported::default();
    let mut skip = |line: u64, e: &dyn std::fmt::Display| {
        imported
            .skipped
            .push(format!("{}:{line}: skipped: {e}", file.display()))
    };
    let mut added = 0;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                skip(e.position().map_or(0, |p| p.line()), &e);
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
            Err(e) => skip(line, &e),
        }
    }
    imported.added = added;
    Ok(imported)
}
