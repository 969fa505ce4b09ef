//! Scheduled runs in the store: one row per (digest, period) the daemon ran or skipped. A row is
//! claimed (`running`) before the run starts, so a crash mid-run stays visible and is resumed.

use std::fmt;
use std::str::FromStr;

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Row, params};
use serde::Serialize;

use super::Store;
use crate::period::Period;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Claimed and started, not finished: a crash or a shutdown interrupted it, or it is running.
    Running,
    /// The issue was frozen (the digest has no lists to send it to).
    Built,
    /// The issue was frozen and sent to every recipient.
    Sent,
    /// Fewer items than the digest's `min_items` qualified: no issue.
    SkippedTooFew,
    /// The daemon was down when the run was due and came back after `max_lateness`.
    SkippedLate,
    /// The run failed; retried while within `max_lateness`.
    Failed,
    /// The issue is frozen and its reviewers were mailed; it is sent once approved.
    AwaitingReview,
    /// A reviewer approved the issue: the scheduler sends it at its next look.
    Approved,
    /// Nobody approved the issue by its review deadline, and `on_deadline = "skip"`: not sent.
    SkippedReview,
}

impl RunStatus {
    const NAMES: [(RunStatus, &str); 9] = [
        (RunStatus::Running, "running"),
        (RunStatus::Built, "built"),
        (RunStatus::Sent, "sent"),
        (RunStatus::SkippedTooFew, "skipped_too_few"),
        (RunStatus::SkippedLate, "skipped_late"),
        (RunStatus::Failed, "failed"),
        (RunStatus::AwaitingReview, "awaiting_review"),
        (RunStatus::Approved, "approved"),
        (RunStatus::SkippedReview, "skipped_review"),
    ];

    /// The stored name, e.g. `skipped_late`.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("", |(_, n)| n)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(status, _)| *status)
            .ok_or_else(|| format!("unknown run status {s:?}"))
    }
}

impl Serialize for RunStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl ToSql for RunStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for RunStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: String| FromSqlError::Other(e.into()))
    }
}

/// One row of the runs table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// Digest id.
    pub digest: String,
    /// The period whose issue the run builds.
    pub period: Period,
    /// The fire time the run was due at.
    pub scheduled_at: DateTime<Utc>,
    /// Where it stands.
    pub status: RunStatus,
    /// How many times it was started.
    pub attempts: u32,
    /// When the latest attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached its status (none while `running`).
    pub finished_at: Option<DateTime<Utc>>,
    /// What happened, for people: the issue built, why it was skipped, the error.
    pub detail: String,
}

const COLUMNS: &str =
    "digest, period, scheduled_at, status, attempts, started_at, finished_at, detail";

fn time(seconds: Option<i64>) -> Option<DateTime<Utc>> {
    seconds.and_then(|s| DateTime::from_timestamp(s, 0))
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Run> {
    let period: String = r.get(1)?;
    let bad = |e: String| {
        let e = FromSqlError::Other(e.into());
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    };
    Ok(Run {
        digest: r.get(0)?,
        period: period
            .parse()
            .map_err(|e: crate::period::ParseError| bad(e.to_string()))?,
        scheduled_at: time(Some(r.get(2)?)).ok_or_else(|| bad("bad scheduled_at".into()))?,
        status: r.get(3)?,
        attempts: r.get(4)?,
        started_at: time(r.get(5)?),
        finished_at: time(r.get(6)?),
        detail: r.get(7)?,
    })
}

impl Store {
    /// Claims the run of `digest` for `period`: creates it as `running`, or restarts it if it is
    /// `running` (interrupted), `failed`, `approved` or `awaiting_review` (at its review deadline).
    /// False when the run exists with another status.
    pub fn claim_run(
        &mut self,
        digest: &str,
        period: Period,
        scheduled_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let changed = self.conn.execute(
            "INSERT INTO runs (digest, period, scheduled_at, status, attempts, started_at)
             VALUES (?1, ?2, ?3, 'running', 1, ?4)
             ON CONFLICT (digest, period) DO UPDATE SET
                 status = 'running', attempts = attempts + 1, started_at = excluded.started_at,
                 finished_at = NULL
             WHERE runs.status IN ('running', 'failed', 'approved', 'awaiting_review')",
            params![
                digest,
                period.to_string(),
                scheduled_at.timestamp(),
                now.timestamp()
            ],
        )?;
        Ok(changed == 1)
    }

    /// Records the outcome of a claimed run. `Running` keeps it open (to be resumed) with `detail`.
    /// `AwaitingReview` becomes `Approved` if the issue was approved while the run was mailing
    /// its reviewers (one statement: an approval commits before it or sees it).
    pub fn finish_run(
        &mut self,
        digest: &str,
        period: Period,
        status: RunStatus,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE runs SET detail = ?4,
                 status = CASE WHEN ?3 = 'awaiting_review' AND EXISTS (
                     SELECT 1 FROM reviews v WHERE v.digest = ?1 AND v.period = ?2
                         AND v.state = 'approved') THEN 'approved' ELSE ?3 END,
                 finished_at = CASE WHEN ?3 = 'running' THEN NULL ELSE ?5 END
             WHERE digest = ?1 AND period = ?2",
            params![digest, period.to_string(), status, detail, now.timestamp()],
        )?;
        Ok(())
    }

    /// Records a run that is not started at all (e.g. `skipped_late`), unless the run exists.
    pub fn skip_run(
        &mut self,
        digest: &str,
        period: Period,
        scheduled_at: DateTime<Utc>,
        status: RunStatus,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let changed = self.conn.execute(
            "INSERT INTO runs (digest, period, scheduled_at, status, attempts, finished_at, detail)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)
             ON CONFLICT (digest, period) DO NOTHING",
            params![
                digest,
                period.to_string(),
                scheduled_at.timestamp(),
                status,
                now.timestamp(),
                detail
            ],
        )?;
        Ok(changed == 1)
    }

    /// The runs the scheduler decides from: every unfinished (`running`), `failed`,
    /// `awaiting_review` or `approved` run, and each digest's latest run.
    pub fn open_and_latest_runs(&self) -> Result<Vec<Run>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM runs r
             WHERE status IN ('running', 'failed', 'awaiting_review', 'approved')
                OR scheduled_at = (SELECT MAX(scheduled_at) FROM runs WHERE digest = r.digest)
             ORDER BY digest, scheduled_at"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The latest `limit` runs of `digest`, newest first.
    pub fn recent_runs(&self, digest: &str, limit: usize) -> Result<Vec<Run>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM runs WHERE digest = ?1 ORDER BY scheduled_at DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![digest, limit as i64], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The run of `digest` for `period`, if any.
    pub fn run(&self, digest: &str, period: Period) -> Result<Option<Run>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM runs WHERE digest = ?1 AND period = ?2"
        ))?;
        let mut rows = stmt.query_map(params![digest, period.to_string()], from_row)?;
        Ok(rows.next().transpose()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 8, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn a_run_is_claimed_once_and_reclaimed_only_while_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let july: Period = "2024-07".parse().unwrap();
        assert!(store.claim_run("d", july, at(0), at(1)).unwrap());
        // Interrupted (still running): a restart claims it again.
        assert!(store.claim_run("d", july, at(0), at(2)).unwrap());
        store
            .finish_run("d", july, RunStatus::Built, "issue #1", at(3))
            .unwrap();
        assert!(!store.claim_run("d", july, at(0), at(4)).unwrap());
        assert!(
            !store
                .skip_run("d", july, at(0), RunStatus::SkippedLate, "late", at(4))
                .unwrap()
        );
        let run = store.run("d", july).unwrap().unwrap();
        assert_eq!(run.status, RunStatus::Built);
        assert_eq!(run.attempts, 2);
        assert_eq!(run.scheduled_at, at(0));
        assert_eq!(run.started_at, Some(at(2)));
        assert_eq!(run.finished_at, Some(at(3)));
        assert_eq!(run.detail, "issue #1");
    }

    #[test]
    fn failed_runs_can_be_reclaimed_and_open_runs_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let june: Period = "2024-06".parse().unwrap();
        let july: Period = "2024-07".parse().unwrap();
        store.claim_run("d", june, at(0), at(0)).unwrap();
        store
            .finish_run("d", june, RunStatus::Failed, "disk full", at(1))
            .unwrap();
        store
            .skip_run("d", july, at(5), RunStatus::SkippedLate, "late", at(6))
            .unwrap();
        store.claim_run("e", july, at(2), at(2)).unwrap();
        let open: Vec<(String, Period, RunStatus)> = store
            .open_and_latest_runs()
            .unwrap()
            .into_iter()
            .map(|r| (r.digest, r.period, r.status))
            .collect();
        assert_eq!(
            open,
            [
                ("d".into(), june, RunStatus::Failed),
                ("d".into(), july, RunStatus::SkippedLate),
                ("e".into(), july, RunStatus::Running),
            ]
        );
        assert!(store.claim_run("d", june, at(0), at(7)).unwrap());
        let recent = store.recent_runs("d", 1).unwrap();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].period, july);
    }
}
