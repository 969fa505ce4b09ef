//! What came back: the messages `digest inbound` processed (each once) and one event per finding,
//! from which bounce and complaint rates are computed and soft bounces counted.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::model::IssueKey;

/// One finding of a processed message, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// When the message was processed.
    pub received_at: DateTime<Utc>,
    /// The message's kind (`bounce`, `complaint`, …).
    pub kind: &'a str,
    /// The finding's class (`hard`, `soft`, …), if any.
    pub class: Option<&'a str>,
    /// The enhanced status code, if any.
    pub status: Option<&'a str>,
    /// The address key reported on, if any.
    pub recipient: Option<&'a str>,
    /// The subscriber it was matched to, if any.
    pub subscriber: Option<i64>,
    /// The issue (`digest/period`) it was matched to, if any.
    pub issue: Option<&'a str>,
    /// How it was matched: `verp`, `message_id`, `recipient`, `token` or `none`.
    pub matched_by: &'a str,
    /// The Message-ID of the message that came back, else its file name.
    pub message_id: Option<&'a str>,
    /// The diagnostic.
    pub detail: Option<&'a str>,
    /// A delay warning, not a bounce: never counted toward a soft-bounce suppression nor in the
    /// issue's bounce rates.
    pub delayed: bool,
}

/// Bounces and complaints recorded for one issue, each reader counted once per class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct IssueBounces {
    /// Readers with a hard bounce.
    pub hard: u64,
    /// Readers with a soft bounce.
    pub soft: u64,
    /// Readers refused for policy reasons.
    pub policy: u64,
    /// Readers who complained.
    pub complaints: u64,
}

impl Store {
    /// Records that the message known by `keys` (its Message-ID, its content hash) is processed;
    /// `false`, recording nothing, when one of them was already.
    pub fn claim_message(&mut self, keys: &[&str], now: DateTime<Utc>) -> Result<bool> {
        let mut seen = self
            .conn
            .prepare_cached("SELECT 1 FROM inbound_messages WHERE key = ?1")?;
        for key in keys {
            if seen.exists([key])? {
                return Ok(false);
            }
        }
        let mut insert = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO inbound_messages (key, received_at) VALUES (?1, ?2)",
        )?;
        for key in keys {
            insert.execute(params![key, now.timestamp()])?;
        }
        Ok(true)
    }

    /// Records one finding.
    pub fn record_event(&mut self, e: &Event<'_>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO inbound_events (received_at, kind, class, status, recipient,
                   subscriber_id, issue, matched_by, message_id, detail, delayed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                e.received_at.timestamp(),
                e.kind,
                e.class,
                e.status,
                e.recipient,
                e.subscriber,
                e.issue,
                e.matched_by,
                e.message_id,
                e.detail,
                e.delayed
            ])?;
        Ok(())
    }

    /// The subscriber id of the address key `key`, if it was ever enqueued.
    pub fn subscriber_of(&self, key: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM subscribers WHERE address = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// The issues `subscriber` has ledger rows for, the latest sent first (unsent ones last).
    pub fn issues_of(&self, subscriber: i64) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT issue FROM deliveries WHERE subscriber_id = ?1
             ORDER BY sent_at IS NULL, sent_at DESC, issue DESC",
        )?;
        let rows = stmt.query_map([subscriber], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// In how many of the latest `window` issues sent to `subscriber` a soft bounce of theirs is
    /// recorded.
    pub fn soft_bounced_issues(&self, subscriber: i64, window: u32) -> Result<u32> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT COUNT(DISTINCT issue) FROM inbound_events
             WHERE subscriber_id = ?1 AND class = 'soft' AND NOT delayed AND issue IN (
               SELECT issue FROM deliveries WHERE subscriber_id = ?1 AND state = 'sent'
               ORDER BY sent_at DESC LIMIT ?2)",
            )?
            .query_row(params![subscriber, window], |r| r.get(0))?)
    }

    /// Bounces and complaints recorded for `issue`.
    pub fn issue_bounces(&self, issue: &IssueKey) -> Result<IssueBounces> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT class, COUNT(DISTINCT subscriber_id) FROM inbound_events
             WHERE issue = ?1 AND class IN ('hard', 'soft', 'policy', 'complaint') AND NOT delayed
             GROUP BY class",
        )?;
        let rows = stmt.query_map([issue.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut out = IssueBounces::default();
        for row in rows {
            let (class, n) = row?;
            let n = n as u64;
            match class.as_str() {
                "hard" => out.hard = n,
                "soft" => out.soft = n,
                "policy" => out.policy = n,
                _ => out.complaints = n,
            }
        }
        Ok(out)
    }
}
