//! Suppressions: addresses that must not be mailed (unsubscribed, bounced, complained, or added by
//! hand), for every digest (`*`) or one digest. They override the configured lists and take effect
//! for every later message, including the rest of a send in progress.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::Store;

/// Why an address is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The subscriber unsubscribed.
    Unsubscribed,
    /// A hard bounce (the address does not exist).
    Bounced,
    /// A spam complaint.
    Complained,
    /// Added by an operator.
    Manual,
}

impl Reason {
    /// All reasons with their names.
    pub const ALL: [(&'static str, Reason); 4] = [
        ("unsubscribed", Reason::Unsubscribed),
        ("bounced", Reason::Bounced),
        ("complained", Reason::Complained),
        ("manual", Reason::Manual),
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map_or("manual", |(n, _)| n)
    }

    /// The reason named `s`.
    pub fn parse(s: &str) -> Option<Reason> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, r)| *r)
    }
}

/// One suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// Address (lowercased).
    pub address: String,
    /// `*` or a digest id.
    pub scope: String,
    /// Why.
    pub reason: Reason,
    /// Details, e.g. the server's bounce reply.
    pub detail: Option<String>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When it ends by itself (suppressions for soft bounces); `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The scope stored for "every digest".
pub const ALL_DIGESTS: &str = "*";

/// How a forgotten address is kept among the suppressions: `sha256:` and the hex SHA-256 of
/// `digest-forget:` followed by the address key. Unkeyed, so it outlives key rotation; it cannot
/// be read back, only matched by someone who already knows the address.
pub fn hashed(address: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let hash = Sha256::digest(format!("digest-forget:{address}").as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl Store {
    /// Suppresses `address` for `scope` (`None`: every digest); whether it is new. Idempotent.
    pub fn suppress(
        &mut self,
        address: &str,
        scope: Option<&str>,
        reason: Reason,
        detail: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.suppress_until(address, scope, reason, detail, now, None)
    }

    /// Like [`Store::suppress`], ending at `expires` (`None`: never); whether it is new. An
    /// existing suppression is kept, unless it ends: then it is replaced when it has ended by
    /// `now` or when the new one never ends.
    pub fn suppress_until(
        &mut self,
        address: &str,
        scope: Option<&str>,
        reason: Reason,
        detail: Option<&str>,
        now: DateTime<Utc>,
        expires: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO suppressions (address, scope, reason, detail, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (address, scope) DO UPDATE SET reason = excluded.reason,
               detail = excluded.detail, created_at = excluded.created_at,
               expires_at = excluded.expires_at
             WHERE suppressions.expires_at IS NOT NULL
               AND (excluded.expires_at IS NULL OR suppressions.expires_at <= excluded.created_at)",
            )?
            .execute(params![
                address,
                scope.unwrap_or(ALL_DIGESTS),
                reason.as_str(),
                detail,
                now.timestamp(),
                expires.map(|e| e.timestamp())
            ])?;
        Ok(n > 0)
    }

    /// Lifts the suppression of `address` for `scope` (`None`: the every-digest one); how many.
    pub fn unsuppress(&mut self, address: &str, scope: Option<&str>) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM suppressions WHERE address = ?1 AND scope = ?2",
            params![address, scope.unwrap_or(ALL_DIGESTS)],
        )?)
    }

    /// Why `address` must not get `digest` at `now`, if it must not (a suppression that has
    /// ended does not count). A forgotten address is found by its [`hashed`] form.
    pub fn suppressed(
        &self,
        address: &str,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Reason>> {
        let reason: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT reason FROM suppressions WHERE address IN (?1, ?4) AND scope IN ('*', ?2)
                   AND (expires_at IS NULL OR expires_at > ?3) LIMIT 1",
            )?
            .query_row(
                params![address, digest, now.timestamp(), hashed(address)],
                |r| r.get(0),
            )
            .optional()?;
        Ok(reason.as_deref().and_then(Reason::parse))
    }

    /// Every suppression, by address.
    pub fn suppressions(&self) -> Result<Vec<Suppression>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT address, scope, reason, detail, created_at, expires_at FROM suppressions
             ORDER BY address, scope",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Suppression {
                address: r.get(0)?,
                scope: r.get(1)?,
                reason: Reason::parse(&r.get::<_, String>(2)?).unwrap_or(Reason::Manual),
                detail: r.get(3)?,
                created_at: DateTime::from_timestamp(r.get(4)?, 0).unwrap_or_default(),
                expires_at: r
                    .get::<_, Option<i64>>(5)?
                    .and_then(|t| DateTime::from_timestamp(t, 0)),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
