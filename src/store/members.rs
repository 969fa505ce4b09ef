//! Members who joined a list on the sign-up page: their chosen digests, a pause, and the record of
//! their consent. They join the list's configured members when an issue's audience is resolved.
//! Forgetting a reader erases them here and everywhere else in the store, keeping only a hashed
//! suppression.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{ALL_DIGESTS, Reason, Store, hashed};

/// The record of a reader's consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// When they confirmed.
    pub at: DateTime<Utc>,
    /// Which form: `subscribe` (the sign-up page), `manage` (an address change), `import`.
    pub form: String,
    /// The text shown beside the button they pressed.
    pub text: String,
    /// The digests they confirmed.
    pub digests: Vec<String>,
    /// Their IP address truncated to its network (IPv4 /24, IPv6 /48), if known.
    pub ip: Option<String>,
}

/// A member of a sign-up list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The list.
    pub list: String,
    /// Dedupe key (lowercased address).
    pub address: String,
    /// The address as typed.
    pub send_to: String,
    /// Display name, if given.
    pub name: Option<String>,
    /// The digests they get.
    pub digests: Vec<String>,
    /// No mail until then.
    pub paused_until: Option<DateTime<Utc>>,
    /// How they consented.
    pub consent: Consent,
}

/// What [`Store::forget`] erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// Member rows deleted.
    pub members: usize,
    /// Ledger rows whose address and name were erased.
    pub deliveries: usize,
    /// Suppressions replaced by the hashed one.
    pub suppressions: usize,
    /// Bounce and complaint records whose address was erased.
    pub events: usize,
}

/// `',a,b,'` for `[a, b]`: a digest is found with `instr(digests, ',a,')`.
fn joined(digests: &[String]) -> String {
    format!(",{},", digests.join(","))
}

fn split(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

fn time(t: Option<i64>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t, 0))
}

const COLUMNS: &str = "list, address, send_to, name, digests, paused_until, consent_at, \
    consent_form, consent_text, consent_digests, consent_ip";

fn member(r: &rusqlite::Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        list: r.get(0)?,
        address: r.get(1)?,
        send_to: r.get(2)?,
        name: r.get(3)?,
        digests: split(&r.get::<_, String>(4)?),
        paused_until: time(r.get(5)?),
        consent: Consent {
            at: time(r.get(6)?).unwrap_or_default(),
            form: r.get(7)?,
            text: r.get(8)?,
            digests: split(&r.get::<_, String>(9)?),
            ip: r.get(10)?,
        },
    })
}

impl Store {
    /// Adds `m` to its list, or replaces the member of that list with the same address (a new
    /// confirmation replaces choices and consent, and ends a pause).
    pub fn join(&mut self, m: &Member) -> Result<()> {
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO members ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (list, address) DO UPDATE SET send_to = excluded.send_to,
                   name = excluded.name, digests = excluded.digests,
                   paused_until = excluded.paused_until, consent_at = excluded.consent_at,
                   consent_form = excluded.consent_form, consent_text = excluded.consent_text,
                   consent_digests = excluded.consent_digests, consent_ip = excluded.consent_ip"
            ))?
            .execute(params![
                m.list,
                m.address,
                m.send_to,
                m.name,
                joined(&m.digests),
                m.paused_until.map(|t| t.timestamp()),
                m.consent.at.timestamp(),
                m.consent.form,
                m.consent.text,
                joined(&m.consent.digests),
                m.consent.ip,
            ])?;
        Ok(())
    }

    /// The members of `list` (every list: `None`), by list and address.
    pub fn members(&self, list: Option<&str>) -> Result<Vec<Member>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM members WHERE ?1 IS NULL OR list = ?1 ORDER BY list, address"
        ))?;
        let rows = stmt.query_map(params![list], member)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The member rows of `address` (one per list it joined).
    pub fn memberships(&self, address: &str) -> Result<Vec<Member>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM members WHERE address = ?1 ORDER BY list"
        ))?;
        let rows = stmt.query_map(params![address], member)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The members of `list` who chose `digest` and are not paused at `now`: (key, send_to, name).
    pub fn members_getting(
        &self,
        list: &str,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String, Option<String>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT address, send_to, name FROM members
             WHERE list = ?1 AND instr(digests, ',' || ?2 || ',') > 0
               AND (paused_until IS NULL OR paused_until <= ?3)
             ORDER BY id",
        )?;
        let rows = stmt.query_map(params![list, digest, now.timestamp()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Sets the digests of `address` in `list` and its pause; whether it is a member there.
    pub fn choose(
        &mut self,
        list: &str,
        address: &str,
        digests: &[String],
        paused_until: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE members SET digests = ?3, paused_until = ?4 WHERE list = ?1 AND address = ?2",
            params![
                list,
                address,
                joined(digests),
                paused_until.map(|t| t.timestamp())
            ],
        )?;
        Ok(n > 0)
    }

    /// Removes `address` from every list it joined; how many rows.
    pub fn leave(&mut self, address: &str) -> Result<usize> {
        Ok(self
            .conn
            .execute("DELETE FROM members WHERE address = ?1", params![address])?)
    }

    /// Marks the token with MAC `mac` used; `false` if it was already.
    pub fn use_token(&mut self, mac: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT INTO used_tokens (mac, used_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![mac, now.timestamp()],
        )?;
        Ok(n > 0)
    }

    /// Lifts the suppressions that say `address` unsubscribed (and the hashed one a `forget`
    /// left): a reader who confirms a sign-up again has asked for mail again. Bounces,
    /// complaints and manual suppressions stay.
    pub fn lift_unsubscribed(&mut self, address: &str) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM suppressions WHERE (address = ?1 AND reason = ?2) OR address = ?3",
            params![address, Reason::Unsubscribed.as_str(), hashed(address)],
        )?)
    }

    /// Erases `address` from the store: its memberships, its address and name in the ledger and
    /// in the inbound records, and its suppressions, which become one hashed suppression for
    /// every digest so that no list (an old CSV file) ever mails it again.
    pub fn forget(&mut self, address: &str, now: DateTime<Utc>) -> Result<Forgotten> {
        self.transaction(|s| {
            let hash = hashed(address);
            let subscriber: Option<i64> = s
                .conn
                .query_row(
                    "SELECT id FROM subscribers WHERE address = ?1",
                    params![address],
                    |r| r.get(0),
                )
                .optional()?;
            let mut f = Forgotten {
                members: s.leave(address)?,
                ..Forgotten::default()
            };
            if let Some(id) = subscriber {
                f.deliveries = s.conn.execute(
                    "UPDATE deliveries SET send_to = ?2, name = NULL WHERE subscriber_id = ?1",
                    params![id, hash],
                )?;
                f.events = s.conn.execute(
                    "UPDATE inbound_events SET recipient = NULL, detail = NULL
                     WHERE subscriber_id = ?1 OR recipient = ?2",
                    params![id, address],
                )?;
                s.conn.execute(
                    "UPDATE subscribers SET address = ?2 WHERE id = ?1",
                    params![id, hash],
                )?;
            }
            f.suppressions = s.conn.execute(
                "DELETE FROM suppressions WHERE address = ?1",
                params![address],
            )?;
            s.conn.execute(
                "INSERT INTO suppressions (address, scope, reason, detail, created_at)
                 VALUES (?1, ?2, ?3, 'forgotten', ?4) ON CONFLICT DO NOTHING",
                params![hash, ALL_DIGESTS, Reason::Manual.as_str(), now.timestamp()],
            )?;
            Ok(f)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
    }

    fn ann(digests: &[&str]) -> Member {
        let digests: Vec<String> = digests.iter().map(|d| d.to_string()).collect();
        Member {
            list: "web".into(),
            address: "ann@x.example".into(),
            send_to: "Ann@x.example".into(),
            name: Some("Ann".into()),
            digests: digests.clone(),
            paused_until: None,
            consent: Consent {
                at: at(1),
                form: "subscribe".into(),
                text: "Yes, send me these digests.".into(),
                digests,
                ip: Some("192.0.2.0/24".into()),
            },
        }
    }

    #[test]
    fn members_get_only_the_digests_they_chose_and_nothing_while_paused() {
        // Without the digest filter a member who chose `a` would get `b` too.
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("s.db")).unwrap();
        s.join(&ann(&["a"])).unwrap();
        assert_eq!(s.members_getting("web", "a", at(2)).unwrap().len(), 1);
        assert!(s.members_getting("web", "b", at(2)).unwrap().is_empty());
        assert!(s.members_getting("other", "a", at(2)).unwrap().is_empty());
        assert!(
            s.choose(
                "web",
                "ann@x.example",
                &["a".into(), "b".into()],
                Some(at(10))
            )
            .unwrap()
        );
        assert!(
            s.members_getting("web", "b", at(9)).unwrap().is_empty(),
            "paused"
        );
        assert_eq!(
            s.members_getting("web", "b", at(10)).unwrap().len(),
            1,
            "pause over"
        );
        assert_eq!(
            s.members(Some("web")).unwrap()[0].consent,
            ann(&["a"]).consent
        );
    }

    #[test]
    fn a_forgotten_address_is_erased_and_stays_suppressed_by_its_hash() {
        // Without the hashed suppression an old CSV file would mail a forgotten reader again.
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("s.db")).unwrap();
        s.join(&ann(&["a"])).unwrap();
        s.suppress(
            "ann@x.example",
            Some("b"),
            Reason::Unsubscribed,
            None,
            at(1),
        )
        .unwrap();
        let f = s.forget("ann@x.example", at(3)).unwrap();
        assert_eq!((f.members, f.suppressions), (1, 1));
        assert!(s.members(None).unwrap().is_empty());
        let all = s.suppressions().unwrap();
        assert_eq!(all.len(), 1);
        assert!(all[0].address.starts_with("sha256:") && !all[0].address.contains("ann"));
        assert_eq!(
            s.suppressed("ann@x.example", "a", at(4)).unwrap(),
            Some(Reason::Manual)
        );
        assert_eq!(s.suppressed("bob@x.example", "a", at(4)).unwrap(), None);
        // Confirming a new sign-up lifts it.
        assert_eq!(s.lift_unsubscribed("ann@x.example").unwrap(), 1);
        assert_eq!(s.suppressed("ann@x.example", "a", at(4)).unwrap(), None);
    }

    #[test]
    fn a_token_is_used_once() {
        // Without it a replayed confirmation link would re-add a reader who left.
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("s.db")).unwrap();
        assert!(s.use_token("m1", at(1)).unwrap());
        assert!(!s.use_token("m1", at(2)).unwrap());
    }
}
