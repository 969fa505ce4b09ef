//! `digest subscribers`: the members who joined sign-up lists, listed, exported with their consent
//! record (CSV), imported, and forgotten (GDPR erasure: only a hashed suppression stays).

use std::io::Write;
use std::path::Path;

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::{Config, List};
use crate::mail::address;
use crate::store::{Consent, Forgotten, Member, Store};

/// The columns of an export, in order; an import reads the same ones (only `email` required).
pub const COLUMNS: [&str; 10] = [
    "list",
    "email",
    "name",
    "digests",
    "paused_until",
    "consent_at",
    "consent_form",
    "consent_text",
    "consent_digests",
    "consent_ip",
];

/// The sign-up list named `name`, or an error naming the sign-up lists.
pub fn signup_list<'c>(config: &'c Config, name: &str) -> Result<&'c List> {
    match config.sending.lists.get(name) {
        Some(list) if list.signup.is_some() => Ok(list),
        _ => {
            let names: Vec<&str> = signup_lists(config).map(|l| l.name.as_str()).collect();
            bail!(
                "no sign-up list `{name}` (lists with `signup = true`: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        }
    }
}

/// The lists readers may join (`signup = true`), by name.
pub fn signup_lists(config: &Config) -> impl Iterator<Item = &List> {
    config.sending.lists.values().filter(|l| l.signup.is_some())
}

/// The digests that go to `list`, by id.
pub fn digests_of<'c>(config: &'c Config, list: &str) -> Vec<&'c crate::config::Digest> {
    config
        .digests
        .values()
        .filter(|d| d.lists.iter().any(|l| l == list))
        .collect()
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Writes the members of `list` (every sign-up list: `None`) as CSV with a header row.
pub fn export(store: &Store, list: Option<&str>, out: impl Write) -> Result<usize> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    let members = store.members(list)?;
    for m in &members {
        let c = &m.consent;
        w.write_record([
            m.list.as_str(),
            &m.send_to,
            m.name.as_deref().unwrap_or(""),
            &m.digests.join(" "),
            &time(m.paused_until),
            &time(Some(c.at)),
            &c.form,
            &c.text,
            &c.digests.join(" "),
            c.ip.as_deref().unwrap_or(""),
        ])?;
    }
    w.flush()?;
    Ok(members.len())
}

/// What [`import`] did.
#[derive(Debug, Default)]
pub struct Imported {
    /// Members added or updated.
    pub members: u64,
    /// Rows not imported, as `file:line: skipped: reason`.
    pub skipped: Vec<String>,
}

/// Imports members into the sign-up list `list` from a CSV file with a header row: `email`
/// required; `name`, `digests` (space-separated; default the list's default digests), and the
/// consent columns of an export (`consent_at` default now, `consent_form` default `import`,
/// `consent_text` default "imported by the operator") optional. A bad row is skipped and
/// reported with its line; the others still load, in one transaction.
pub fn import(
    config: &Config,
    store: &mut Store,
    list: &str,
    file: &Path,
    clock: &dyn Clock,
) -> Result<Imported> {
    let list = signup_list(config, list)?;
    let offered: Vec<String> = digests_of(config, &list.name)
        .iter()
        .map(|d| d.id.clone())
        .collect();
    let defaults = default_digests(config, list);
    let (mut reader, headers, email) = super::suppress::open_csv(file)?;
    let cols: Vec<Option<usize>> = COLUMNS
        .iter()
        .map(|c| super::suppress::column(&headers, c))
        .collect();
    let now = clock.now();
    let mut done = Imported::default();
    let mut members = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                done.skipped
                    .push(format!("{}:{line}: skipped: {e}", file.display()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |name: &str| {
            let i = COLUMNS.iter().position(|c| *c == name)?;
            cols[i]
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
        };
        match row(
            record.get(email).unwrap_or(""),
            &field,
            &offered,
            &defaults,
            now,
        ) {
            Ok((address, name, digests, consent)) => members.push(Member {
                list: list.name.clone(),
                address: address.key,
                send_to: address.address.to_string(),
                name,
                digests,
                paused_until: None,
                consent,
            }),
            Err(e) => done
                .skipped
                .push(format!("{}:{line}: skipped: {e}", file.display())),
        }
    }
    store.transaction(|s| {
        for m in &members {
            s.join(m)?;
        }
        Ok(())
    })?;
    done.members = members.len() as u64;
    Ok(done)
}

type Row = (address::Normalized, Option<String>, Vec<String>, Consent);

fn row<'r>(
    email: &str,
    field: &dyn Fn(&str) -> Option<&'r str>,
    offered: &[String],
    defaults: &[String],
    now: DateTime<Utc>,
) -> Result<Row, String> {
    let address = address::normalize(email)?;
    let digests = match field("digests") {
        None => defaults.to_vec(),
        Some(d) => d.split_whitespace().map(str::to_owned).collect(),
    };
    if let Some(unknown) = digests.iter().find(|d| !offered.contains(d)) {
        return Err(format!("digest `{unknown}` does not go to this list"));
    }
    let at = match field("consent_at") {
        None => now,
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map_err(|e| format!("consent_at {t:?}: {e}"))?
            .with_timezone(&Utc),
    };
    let name = field("name").map(|n| crate::text::one_line(n, 100));
    let consent = Consent {
        at,
        form: field("consent_form").unwrap_or("import").to_string(),
        text: field("consent_text")
            .unwrap_or("imported by the operator")
            .to_string(),
        digests: field("consent_digests").map_or_else(
            || digests.clone(),
            |d| d.split_whitespace().map(str::to_owned).collect(),
        ),
        ip: field("consent_ip").map(str::to_owned),
    };
    Ok((address, name, digests, consent))
}

/// The digests a new member of `list` gets ticked: `default_digests`, else every digest that
/// goes to the list.
pub fn default_digests(config: &Config, list: &List) -> Vec<String> {
    let offered = digests_of(config, &list.name);
    match list
        .signup
        .as_ref()
        .and_then(|s| s.default_digests.as_ref())
    {
        Some(chosen) => offered
            .iter()
            .filter(|d| chosen.contains(&d.id))
            .map(|d| d.id.clone())
            .collect(),
        None => offered.iter().map(|d| d.id.clone()).collect(),
    }
}

/// Forgets `raw` (an address): see [`Store::forget`]. Its key and what was erased.
pub fn forget(store: &mut Store, raw: &str, clock: &dyn Clock) -> Result<(String, Forgotten)> {
    let key = address::normalize(raw)
        .map(|a| a.key)
        .map_err(|e| anyhow!(e))?;
    let forgotten = store.forget(&key, clock.now())?;
    Ok((key, forgotten))
}
