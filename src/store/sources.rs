//! Per-source state: the HTTP validators for conditional GET and the health record (consecutive
//! failures, last error, last success) that `digest ingest` and `digest status` report.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::Store;
use crate::model::Validators;

/// The health of one source, as recorded by its ingests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceHealth {
    /// The key under `[sources]`.
    pub name: String,
    /// Failed ingests since the last successful one.
    pub consecutive_failures: u32,
    /// The message of the most recent failure, if the last ingest failed.
    pub last_error: Option<String>,
    /// When it was last ingested, successfully or not.
    pub last_attempt: Option<DateTime<Utc>>,
    /// When it was last ingested successfully (a 304 counts).
    pub last_success: Option<DateTime<Utc>>,
}

impl SourceHealth {
    /// Whether the source has failed at least `after` times in a row (`fetch.unhealthy_after`).
    pub fn is_unhealthy(&self, after: u32) -> bool {
        self.consecutive_failures >= after
    }
}

const HEALTH: &str =
    "SELECT name, consecutive_failures, last_error, last_attempt, last_success FROM source_state";

fn health(r: &Row<'_>) -> rusqlite::Result<SourceHealth> {
    let time = |i| -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(r.get::<_, Option<i64>>(i)?
            .and_then(|s| DateTime::from_timestamp(s, 0)))
    };
    Ok(SourceHealth {
        name: r.get(0)?,
        consecutive_failures: r.get::<_, i64>(1)?.clamp(0, u32::MAX.into()) as u32,
        last_error: r.get(2)?,
        last_attempt: time(3)?,
        last_success: time(4)?,
    })
}

impl Store {
    /// The validators saved by the last successful fetch of `name` from `location`; none if the
    /// source has moved since.
    pub fn validators(&self, name: &str, location: &str) -> Result<Validators> {
        let found = self
            .conn
            .query_row(
                "SELECT etag, last_modified FROM source_state WHERE name = ?1 AND location = ?2",
                [name, location],
                |r| {
                    Ok(Validators {
                        etag: r.get(0)?,
                        last_modified: r.get(1)?,
                    })
                },
            )
            .optional()?;
        Ok(found.unwrap_or_default())
    }

    /// Records a successful ingest of `name` from `location`; `validators` replace the saved
    /// ones unless `None` (a 304 keeps them).
    pub fn record_success(
        &mut self,
        name: &str,
        location: &str,
        validators: Option<&Validators>,
        now: DateTime<Utc>,
    ) -> Result<SourceHealth> {
        let (keep, etag, modified) = match validators {
            Some(v) => (false, v.etag.as_deref(), v.last_modified.as_deref()),
            None => (true, None, None),
        };
        self.conn.execute(
            "INSERT INTO source_state (name, location, etag, last_modified, consecutive_failures,
                                       last_error, last_attempt, last_success)
             VALUES (?1, ?2, ?3, ?4, 0, NULL, ?5, ?5)
             ON CONFLICT (name) DO UPDATE SET
                 location = excluded.location,
                 etag = CASE WHEN ?6 THEN etag ELSE excluded.etag END,
                 last_modified = CASE WHEN ?6 THEN last_modified ELSE excluded.last_modified END,
                 consecutive_failures = 0, last_error = NULL,
                 last_attempt = excluded.last_attempt, last_success = excluded.last_success",
            params![name, location, etag, modified, now.timestamp(), keep],
        )?;
        self.health_of(name)
    }

    /// Records a failed ingest of `name`; returns its health with the failure counted.
    pub fn record_failure(
        &mut self,
        name: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<SourceHealth> {
        self.conn.execute(
            "INSERT INTO source_state (name, consecutive_failures, last_error, last_attempt)
             VALUES (?1, 1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET
                 consecutive_failures = consecutive_failures + 1,
                 last_error = excluded.last_error, last_attempt = excluded.last_attempt",
            params![name, error, now.timestamp()],
        )?;
        self.health_of(name)
    }

    fn health_of(&self, name: &str) -> Result<SourceHealth> {
        Ok(self
            .conn
            .query_row(&format!("{HEALTH} WHERE name = ?1"), [name], health)?)
    }

    /// The recorded health of every source ever ingested, by name (for `digest status`).
    pub fn source_health(&self) -> Result<Vec<SourceHealth>> {
        let mut stmt = self.conn.prepare(&format!("{HEALTH} ORDER BY name"))?;
        let rows = stmt.query_map([], health)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 7, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn failures_count_up_and_a_success_resets_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let v = Validators {
            etag: Some("\"abc\"".into()),
            last_modified: Some("Mon, 01 Jul 2024 00:00:00 GMT".into()),
        };
        store
            .record_success("a", "https://a.example/feed", Some(&v), at(1))
            .unwrap();
        assert_eq!(store.validators("a", "https://a.example/feed").unwrap(), v);
        assert_eq!(
            store.validators("a", "https://moved.example/feed").unwrap(),
            Validators::default()
        );
        store.record_failure("a", "HTTP 500", at(2)).unwrap();
        let h = store.record_failure("a", "timed out", at(3)).unwrap();
        assert_eq!(h.consecutive_failures, 2);
        assert_eq!(h.last_error.as_deref(), Some("timed out"));
        assert_eq!(h.last_success, Some(at(1)));
        assert_eq!(h.last_attempt, Some(at(3)));
        assert!(h.is_unhealthy(2) && !h.is_unhealthy(3));
        // A 304 keeps the validators and clears the failures.
        let h = store
            .record_success("a", "https://a.example/feed", None, at(4))
            .unwrap();
        assert_eq!((h.consecutive_failures, h.last_error), (0, None));
        assert_eq!(store.validators("a", "https://a.example/feed").unwrap(), v);
        store.record_failure("b", "gone", at(5)).unwrap();
        let names: Vec<String> = store
            .source_health()
            .unwrap()
            .into_iter()
            .map(|h| h.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
    }
}
