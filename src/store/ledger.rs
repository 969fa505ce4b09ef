//! The delivery ledger: one row per (issue, recipient). A row becomes `sent` only after the server
//! accepted the message; a re-run, a resume after a crash or the daemon after a restart sends only
//! to rows not yet `sent`.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::model::IssueKey;

/// Where a recipient of an issue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not sent yet.
    Pending,
    /// Accepted by the server.
    Sent,
    /// Transient failures exhausted this run's retries; the next run tries again.
    Deferred,
    /// Permanent failure (5xx); retried only with `--retry-failed`.
    Failed,
    /// Skipped at send time because the address is suppressed.
    Suppressed,
}

impl State {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sent => "sent",
            State::Deferred => "deferred",
            State::Failed => "failed",
            State::Suppressed => "suppressed",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "sent" => State::Sent,
            "deferred" => State::Deferred,
            "failed" => State::Failed,
            "suppressed" => State::Suppressed,
            _ => State::Pending,
        }
    }
}

/// A recipient to add to an issue's ledger.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// Dedupe key (the address, lowercased).
    pub key: &'a str,
    /// The address to send to, as written in the list (domain normalized).
    pub send_to: &'a str,
    /// Display name, if any.
    pub name: Option<&'a str>,
}

/// What [`Store::enqueue`] did (counts add up over the calls of one resolution).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Enqueued {
    /// Rows added.
    pub added: u64,
    /// Addresses seen earlier in this resolution (on another list, or twice on one).
    pub duplicates: u64,
    /// Addresses that already had a row from an earlier run.
    pub existing: u64,
}

impl std::ops::AddAssign for Enqueued {
    fn add_assign(&mut self, o: Self) {
        self.added += o.added;
        self.duplicates += o.duplicates;
        self.existing += o.existing;
    }
}

/// A row to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Subscriber id (for the unsubscribe token).
    pub subscriber_id: i64,
    /// Dedupe key.
    pub key: String,
    /// Address to send to.
    pub send_to: String,
    /// Display name.
    pub name: Option<String>,
    /// Attempts made in earlier runs.
    pub attempts: u32,
}

/// Ledger rows of one issue by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Still to send and not suppressed now.
    pub pending: u64,
    /// Accepted by the server.
    pub sent: u64,
    /// Transient failures, to retry.
    pub deferred: u64,
    /// Permanent failures.
    pub failed: u64,
    /// Suppressed (recorded at send time, or unsent and suppressed now).
    pub suppressed: u64,
}

impl Counts {
    /// Rows in the ledger.
    pub fn total(&self) -> u64 {
        self.pending + self.sent + self.deferred + self.failed + self.suppressed
    }
}

impl Store {
    /// Starts resolving an audience: forgets the addresses seen by earlier [`Store::enqueue`] calls
    /// (kept in a temporary table, on disk, so memory stays flat for any list size).
    pub fn begin_resolution(&mut self) -> Result<()> {
        self.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS resolution_seen (key TEXT PRIMARY KEY) WITHOUT ROWID;
             DELETE FROM temp.resolution_seen;",
        )?;
        Ok(())
    }

    /// Adds a `pending` row per recipient of `issue`, idempotently (an existing row is left as is),
    /// in one transaction. Call [`Store::begin_resolution`] first.
    pub fn enqueue(
        &mut self,
        issue: &IssueKey,
        rows: &[Row<'_>],
        now: DateTime<Utc>,
    ) -> Result<Enqueued> {
        let mut out = Enqueued::default();
        let key = issue.to_string();
        let sp = self.conn.savepoint()?;
        {
            let mut seen =
                sp.prepare_cached("INSERT OR IGNORE INTO temp.resolution_seen (key) VALUES (?1)")?;
            let mut subscriber = sp.prepare_cached(
                "INSERT INTO subscribers (address) VALUES (?1)
                 ON CONFLICT (address) DO UPDATE SET address = excluded.address RETURNING id",
            )?;
            let mut insert = sp.prepare_cached(
                "INSERT OR IGNORE INTO deliveries (issue, subscriber_id, send_to, name, state, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
            )?;
            for r in rows {
                if seen.execute([r.key])? == 0 {
                    out.duplicates += 1;
                    continue;
                }
                let id: i64 = subscriber.query_row([r.key], |row| row.get(0))?;
                match insert.execute(params![key, id, r.send_to, r.name, now.timestamp()])? {
                    0 => out.existing += 1,
                    _ => out.added += 1,
                }
            }
        }
        sp.commit()?;
        Ok(out)
    }

    /// The subscriber id of `key`, created if new.
    pub fn subscriber_id(&mut self, key: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "INSERT INTO subscribers (address) VALUES (?1)
             ON CONFLICT (address) DO UPDATE SET address = excluded.address RETURNING id",
            [key],
            |r| r.get(0),
        )?)
    }

    /// Whether `key` has a subscriber id (a digest was resolved for it once).
    pub fn has_subscriber(&self, key: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM subscribers WHERE address = ?1",
                [key],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The address key of a subscriber id.
    pub fn subscriber_address(&self, id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT address FROM subscribers WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Up to `limit` rows of `issue` still to send, with subscriber id above `after`, in id order:
    /// `pending` and `deferred`, and `failed` too with `retry_failed`.
    pub fn pending(
        &self,
        issue: &IssueKey,
        after: i64,
        limit: usize,
        retry_failed: bool,
    ) -> Result<Vec<Pending>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.subscriber_id, s.address, d.send_to, d.name, d.attempts
             FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue = ?1 AND d.subscriber_id > ?2
               AND (d.state IN ('pending', 'deferred') OR (?4 AND d.state = 'failed'))
             ORDER BY d.subscriber_id LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![issue.to_string(), after, limit as i64, retry_failed],
            |r| {
                Ok(Pending {
                    subscriber_id: r.get(0)?,
                    key: r.get(1)?,
                    send_to: r.get(2)?,
                    name: r.get(3)?,
                    attempts: r.get(4)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many rows [`Store::pending`] would hand out in all: `pending` and `deferred` ones, and
    /// `failed` ones with `retry_failed`, whatever their suppression.
    pub fn unsent(&self, issue: &IssueKey, retry_failed: bool) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM deliveries
             WHERE issue = ?1 AND (state IN ('pending', 'deferred') OR (?2 AND state = 'failed'))",
            params![issue.to_string(), retry_failed],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Records what happened to recipients of `issue`, in one transaction:
    /// `(subscriber id, new state, attempts made now, server reply)`.
    pub fn record(
        &mut self,
        issue: &IssueKey,
        outcomes: &[(i64, State, u32, Option<String>)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let key = issue.to_string();
        let sp = self.conn.savepoint()?;
        {
            let mut update = sp.prepare_cached(
                "UPDATE deliveries SET state = ?3, attempts = attempts + ?4,
                   last_reply = coalesce(?5, last_reply), updated_at = ?6,
                   sent_at = CASE WHEN ?3 = 'sent' THEN ?6 ELSE sent_at END
                 WHERE issue = ?1 AND subscriber_id = ?2",
            )?;
            for (id, state, attempts, reply) in outcomes {
                update.execute(params![
                    key,
                    id,
                    state.as_str(),
                    attempts,
                    reply,
                    now.timestamp()
                ])?;
            }
        }
        crate::fault::point("record");
        sp.commit()?;
        Ok(())
    }

    /// Counts of `issue`'s rows by state; rows still to send whose address is suppressed now (for
    /// every digest or for the issue's digest) count as suppressed.
    pub fn counts(&self, issue: &IssueKey) -> Result<Counts> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT CASE WHEN d.state IN ('pending', 'deferred') AND EXISTS (
                        SELECT 1 FROM suppressions x WHERE x.address = s.address AND x.scope IN ('*', ?2))
                     THEN 'suppressed' ELSE d.state END AS st, COUNT(*)
             FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue = ?1 GROUP BY st",
        )?;
        let mut counts = Counts::default();
        let rows = stmt.query_map(params![issue.to_string(), issue.digest], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (state, n) = row?;
            let n = n as u64;
            match State::parse(&state) {
                State::Pending => counts.pending += n,
                State::Sent => counts.sent += n,
                State::Deferred => counts.deferred += n,
                State::Failed => counts.failed += n,
                State::Suppressed => counts.suppressed += n,
            }
        }
        Ok(counts)
    }

    /// Failed and deferred rows of `issue` with the server's last reply, up to `limit`.
    pub fn failures(
        &self,
        issue: &IssueKey,
        limit: usize,
    ) -> Result<Vec<(String, State, u32, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT send_to, state, attempts, coalesce(last_reply, '') FROM deliveries
             WHERE issue = ?1 AND state IN ('failed', 'deferred') ORDER BY send_to LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![issue.to_string(), limit as i64], |r| {
            Ok((
                r.get(0)?,
                State::parse(&r.get::<_, String>(1)?),
                r.get(2)?,
                r.get(3)?,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Messages accepted by the server since `since`, across all issues (seeds rate limits).
    pub fn sent_since(&self, since: DateTime<Utc>) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM deliveries WHERE sent_at >= ?1",
            [since.timestamp()],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}
