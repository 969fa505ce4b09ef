//! The store's figures for the daemon's metrics (read at each scrape) and run reports.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::Store;
use crate::metrics::Snapshot;
use crate::model::IssueKey;

impl Store {
    /// The durable state [`crate::metrics::Metrics::expose`] exposes (without the configuration's
    /// `period_seconds`): ledger rows by digest and state, each digest's last successful run,
    /// each source's health, suppressions in force at `now` by reason and inbound events by kind.
    pub fn metrics_snapshot(&self, now: DateTime<Utc>) -> Result<Snapshot> {
        let mut s = Snapshot::default();
        // The issue key is `<digest>/<period>` (a digest id has no slash).
        let mut stmt = self.conn.prepare_cached(
            "SELECT substr(issue, 1, instr(issue, '/') - 1) AS digest, state, count(*)
             FROM deliveries GROUP BY digest, state ORDER BY digest, state",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
        })?;
        s.ledger = rows.collect::<rusqlite::Result<_>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT digest, max(finished_at) FROM runs
             WHERE status IN ('built', 'sent') AND finished_at IS NOT NULL
             GROUP BY digest ORDER BY digest",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        s.last_success = rows.collect::<rusqlite::Result<_>>()?;
        s.sources = self
            .source_health()?
            .into_iter()
            .map(|h| {
                let at = h.last_success.map(|t| t.timestamp());
                (h.name, at, h.consecutive_failures)
            })
            .collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT reason, count(*) FROM suppressions
             WHERE expires_at IS NULL OR expires_at > ?1 GROUP BY reason ORDER BY reason",
        )?;
        let rows = stmt.query_map(params![now.timestamp()], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        s.suppressions = rows.collect::<rusqlite::Result<_>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, coalesce(class, 'unknown'), count(*) FROM inbound_events
             GROUP BY kind, class ORDER BY kind, class",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
        })?;
        s.inbound = rows.collect::<rusqlite::Result<_>>()?;
        Ok(s)
    }

    /// The most frequent last replies of `issue`'s failed and deferred rows, most frequent first:
    /// `(reply, rows)`, at most `limit`.
    pub fn top_failures(&self, issue: &IssueKey, limit: usize) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT coalesce(last_reply, ''), count(*) AS n FROM deliveries
             WHERE issue = ?1 AND state IN ('failed', 'deferred')
             GROUP BY 1 ORDER BY n DESC, 1 LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![issue.to_string(), limit as i64], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
