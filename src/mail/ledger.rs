//! Resolving an issue's audience into its ledger: every recipient of the digest's lists gets a row
//! before the first message goes out (idempotently, so a second run adds only new subscribers).
//! A sign-up list adds its confirmed members who chose the digest and are not paused.

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use super::audience::{self, Entry, Skipped};
use crate::config::{Config, Digest, List};
use crate::model::IssueKey;
use crate::store::{Enqueued, Row, Store};

/// Rows per ledger transaction.
const BATCH: usize = 1000;
/// Invalid entries listed by name (all are counted).
const MAX_LISTED: usize = 50;

/// What resolving the audience found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Resolution {
    /// Entries read from the lists.
    pub read: u64,
    /// Ledger rows added, duplicates, rows already there.
    pub enqueued: Enqueued,
    /// Invalid entries (the first few, with where they are).
    #[serde(serialize_with = "as_strings")]
    pub invalid: Vec<Skipped>,
    /// All invalid entries.
    pub invalid_count: u64,
    /// CSV rows whose status says not to mail them.
    pub inactive: u64,
}

fn as_strings<S: serde::Serializer>(v: &[Skipped], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(ToString::to_string))
}

/// The lists `digest` goes to.
pub fn lists<'c>(config: &'c Config, digest: &Digest) -> Result<Vec<&'c List>> {
    if digest.lists.is_empty() {
        bail!(
            "digest `{}` has no audience: set `lists = [\"…\"]` under [digests.{}]",
            digest.id,
            digest.id
        );
    }
    Ok(digest
        .lists
        .iter()
        .filter_map(|name| config.sending.lists.get(name))
        .collect())
}

/// Adds a ledger row for every recipient of `lists` to `issue_key`.
pub fn resolve(
    store: &mut Store,
    issue_key: &IssueKey,
    lists: &[&List],
    now: DateTime<Utc>,
) -> Result<Resolution> {
    let mut res = Resolution::default();
    let mut batch: Vec<(String, String, Option<String>)> = Vec::with_capacity(BATCH);
    let flush = |store: &mut Store,
                 batch: &mut Vec<(String, String, Option<String>)>|
     -> Result<Enqueued> {
        let rows: Vec<Row<'_>> = batch
            .iter()
            .map(|(key, send_to, name)| Row {
                key,
                send_to,
                name: name.as_deref(),
            })
            .collect();
        let done = store.enqueue(issue_key, &rows, now)?;
        batch.clear();
        Ok(done)
    };
    store.begin_resolution()?;
    audience::each(lists, |entry| {
        res.read += 1;
        match entry {
            Entry::Recipient(r) => {
                batch.push((r.address.key, r.address.address.to_string(), r.name));
                if batch.len() == BATCH {
                    res.enqueued += flush(store, &mut batch)?;
                }
            }
            Entry::Invalid(skipped) => {
                res.invalid_count += 1;
                if res.invalid.len() < MAX_LISTED {
                    res.invalid.push(skipped);
                }
            }
            Entry::Inactive(_) => res.inactive += 1,
        }
        Ok(())
    })?;
    // Then the members who joined on the sign-up page and chose this digest (not paused).
    for list in lists.iter().filter(|l| l.signup.is_some()) {
        for (key, send_to, name) in store.members_getting(&list.name, &issue_key.digest, now)? {
            res.read += 1;
            batch.push((key, send_to, name));
            if batch.len() == BATCH {
                res.enqueued += flush(store, &mut batch)?;
            }
        }
    }
    res.enqueued += flush(store, &mut batch)?;
    Ok(res)
}
