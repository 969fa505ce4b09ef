//! Reviews in the store: for an issue of a digest with `review = "required"`, whether it awaits
//! approval, was approved (by whom, when), or was decided at its deadline. Kept here rather than
//! beside `issue.json`: approvals come from the daemon's web side, from `digest approve` in
//! another process and from the scheduler at the deadline, and only a database transaction makes
//! "the first decision wins" hold between them (two reviewers approving at once approve once, and
//! an approval at the deadline either beats the deadline or loses to it).

use std::fmt;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::Store;
use crate::period::Period;

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// The reviewers were asked; nobody approved yet.
    Awaiting,
    /// Approved: the issue may be sent.
    Approved,
    /// Nobody approved by the deadline and `on_deadline = "send"`: sent anyway.
    SentAtDeadline,
    /// Nobody approved by the deadline and `on_deadline = "skip"`: not sent.
    Skipped,
}

impl ReviewState {
    const NAMES: [(ReviewState, &str); 4] = [
        (ReviewState::Awaiting, "awaiting"),
        (ReviewState::Approved, "approved"),
        (ReviewState::SentAtDeadline, "sent_at_deadline"),
        (ReviewState::Skipped, "skipped"),
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("", |(_, n)| n)
    }

    fn parse(name: &str) -> Option<ReviewState> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(s, _)| *s)
    }

    /// Whether the issue may be sent.
    pub fn clears(self) -> bool {
        matches!(self, ReviewState::Approved | ReviewState::SentAtDeadline)
    }
}

impl fmt::Display for ReviewState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the reviews table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    /// Digest id.
    pub digest: String,
    /// The period.
    pub period: Period,
    /// Where it stands.
    pub state: ReviewState,
    /// When the daemon asked for it (`None`: approved from the command line unasked).
    pub requested_at: Option<DateTime<Utc>>,
    /// When the deadline falls.
    pub deadline: Option<DateTime<Utc>>,
    /// When the reviewers were mailed.
    pub mailed_at: Option<DateTime<Utc>>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who decided: a reviewer's address, `cli`, or `deadline`.
    pub decided_by: Option<String>,
}

/// What an approval did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// This call approved the issue.
    Approved(Review),
    /// It was decided already (approved by someone else, or at the deadline): nothing changed.
    AlreadyDecided(Review),
}

const COLUMNS: &str =
    "digest, period, state, requested_at, deadline, mailed_at, decided_at, decided_by";

fn time(seconds: Option<i64>) -> Option<DateTime<Utc>> {
    seconds.and_then(|s| DateTime::from_timestamp(s, 0))
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Review> {
    let bad = |i: usize, what: String| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            anyhow!("{what}").into(),
        )
    };
    let period: String = r.get(1)?;
    let state: String = r.get(2)?;
    Ok(Review {
        digest: r.get(0)?,
        period: period.parse().map_err(|_| bad(1, period))?,
        state: ReviewState::parse(&state).ok_or_else(|| bad(2, state))?,
        requested_at: time(r.get(3)?),
        deadline: time(r.get(4)?),
        mailed_at: time(r.get(5)?),
        decided_at: time(r.get(6)?),
        decided_by: r.get(7)?,
    })
}

impl Store {
    /// The review of `digest` for `period`, if any.
    pub fn review(&self, digest: &str, period: Period) -> Result<Option<Review>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM reviews WHERE digest = ?1 AND period = ?2"),
                params![digest, period.to_string()],
                from_row,
            )
            .optional()?)
    }

    /// Opens the review of `digest` for `period` (awaiting, due by `deadline`) unless it exists;
    /// the review as it stands.
    pub fn request_review(
        &mut self,
        digest: &str,
        period: Period,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Review> {
        self.conn.execute(
            "INSERT INTO reviews (digest, period, state, requested_at, deadline)
             VALUES (?1, ?2, 'awaiting', ?3, ?4) ON CONFLICT (digest, period) DO NOTHING",
            params![
                digest,
                period.to_string(),
                now.timestamp(),
                deadline.timestamp()
            ],
        )?;
        self.review(digest, period)?
            .ok_or_else(|| anyhow!("the review of {digest} {period} vanished"))
    }

    /// Records that the reviewers of `digest` `period` were mailed at `now`.
    pub fn reviewers_mailed(
        &mut self,
        digest: &str,
        period: Period,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE reviews SET mailed_at = ?3 WHERE digest = ?1 AND period = ?2",
            params![digest, period.to_string(), now.timestamp()],
        )?;
        Ok(())
    }

    /// Approves the issue of `digest` for `period` on behalf of `by`, unless it was decided
    /// already (a skip at the deadline can still be overruled), and marks its scheduled run (if
    /// it awaits review) `approved` for the scheduler to send: one transaction, so of two
    /// approvals at once exactly one approves.
    pub fn approve(
        &mut self,
        digest: &str,
        period: Period,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Approval> {
        self.transaction(|s| {
            let changed = s.conn.execute(
                "INSERT INTO reviews (digest, period, state, decided_at, decided_by)
                 VALUES (?1, ?2, 'approved', ?3, ?4)
                 ON CONFLICT (digest, period) DO UPDATE SET
                     state = 'approved', decided_at = excluded.decided_at,
                     decided_by = excluded.decided_by
                 WHERE reviews.state IN ('awaiting', 'skipped')",
                params![digest, period.to_string(), now.timestamp(), by],
            )?;
            if changed == 1 {
                s.conn.execute(
                    "UPDATE runs SET status = 'approved', detail = ?3
                     WHERE digest = ?1 AND period = ?2 AND status = 'awaiting_review'",
                    params![
                        digest,
                        period.to_string(),
                        format!("approved by {by}; sent at the scheduler's next look")
                    ],
                )?;
            }
            let review = s
                .review(digest, period)?
                .ok_or_else(|| anyhow!("the review of {digest} {period} vanished"))?;
            Ok(match changed {
                1 => Approval::Approved(review),
                _ => Approval::AlreadyDecided(review),
            })
        })
    }

    /// At the review deadline: decides the review of `digest` `period` as `state` (sent at the
    /// deadline, or skipped) if it still awaits approval; the review as it then stands (an
    /// approval that came first stands).
    pub fn decide_at_deadline(
        &mut self,
        digest: &str,
        period: Period,
        state: ReviewState,
        now: DateTime<Utc>,
    ) -> Result<Review> {
        self.conn.execute(
            "UPDATE reviews SET state = ?3, decided_at = ?4, decided_by = 'deadline'
             WHERE digest = ?1 AND period = ?2 AND state = 'awaiting'",
            params![digest, period.to_string(), state.as_str(), now.timestamp()],
        )?;
        self.review(digest, period)?
            .ok_or_else(|| anyhow!("no review of {digest} {period}"))
    }

    /// The reviews of `digest` still awaiting approval, oldest period first.
    pub fn awaiting_reviews(&self, digest: &str) -> Result<Vec<Review>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM reviews WHERE digest = ?1 AND state = 'awaiting'
             ORDER BY period"
        ))?;
        let rows = stmt.query_map([digest], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunStatus;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 8, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn the_first_decision_wins_and_moves_the_run_to_approved() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let july: Period = "2024-07".parse().unwrap();
        store.claim_run("d", july, at(6), at(6)).unwrap();
        let asked = store.request_review("d", july, at(12), at(6)).unwrap();
        assert_eq!(asked.state, ReviewState::Awaiting);
        store
            .finish_run("d", july, RunStatus::AwaitingReview, "awaiting", at(6))
            .unwrap();
        let first = store.approve("d", july, "ann@x.example", at(7)).unwrap();
        assert!(
            matches!(first, Approval::Approved(ref r) if r.decided_by.as_deref() == Some("ann@x.example"))
        );
        let second = store.approve("d", july, "bob@x.example", at(8)).unwrap();
        assert!(
            matches!(second, Approval::AlreadyDecided(ref r) if r.decided_by.as_deref() == Some("ann@x.example"))
        );
        assert_eq!(
            store.run("d", july).unwrap().unwrap().status,
            RunStatus::Approved
        );
        // The deadline comes after the approval: the approval stands.
        let after = store
            .decide_at_deadline("d", july, ReviewState::Skipped, at(12))
            .unwrap();
        assert_eq!(after.state, ReviewState::Approved);
    }

    #[test]
    fn an_approval_while_the_run_mails_its_reviewers_is_not_lost() {
        // The run records `awaiting_review` after the approval committed: it must read approved.
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let july: Period = "2024-07".parse().unwrap();
        store.claim_run("d", july, at(6), at(6)).unwrap();
        store.request_review("d", july, at(12), at(6)).unwrap();
        store.approve("d", july, "ann@x.example", at(6)).unwrap();
        store
            .finish_run("d", july, RunStatus::AwaitingReview, "awaiting", at(6))
            .unwrap();
        assert_eq!(
            store.run("d", july).unwrap().unwrap().status,
            RunStatus::Approved
        );
        assert!(store.awaiting_reviews("d").unwrap().is_empty());
    }
}
