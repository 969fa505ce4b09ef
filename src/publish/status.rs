//! Where things stand: the daemon's view of every digest (`/status`), an issue's ledger and the
//! sources' health (`digest status`).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read as _};
use std::path::Path;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Config, Digest};
use crate::issue::{self, Issue};
use crate::model::IssueKey;
use crate::period::{Period, PeriodKind};
use crate::schedule::local_time;
use crate::store::{Counts, IssueBounces, Review, ReviewState, Run, State, Store};

/// How many next and last runs `/status` shows per digest.
const SHOWN: usize = 3;

/// What `/status` answers.
#[derive(Debug, Serialize)]
pub struct Status {
    /// When the status was taken.
    pub now: DateTime<Utc>,
    /// Every configured digest, by id.
    pub digests: Vec<DigestStatus>,
    /// Each `[inbound]` source that has been looked at.
    pub inbound: Vec<InboundStatus>,
}

/// One source of returned mail in `/status`.
#[derive(Debug, Serialize)]
pub struct InboundStatus {
    /// The Maildir's path or `imaps://user@host:port/mailbox`.
    pub source: String,
    /// Failed looks since the last successful one (0: healthy).
    pub consecutive_failures: u32,
    /// The error of the latest look, if it failed.
    pub last_error: Option<String>,
    /// When it was last looked at successfully.
    pub last_success: Option<DateTime<Utc>>,
}

/// One digest in `/status`.
#[derive(Debug, Serialize)]
pub struct DigestStatus {
    /// Digest id.
    pub id: String,
    /// Daily, weekly or monthly.
    pub period: PeriodKind,
    /// IANA time zone of its schedule and windows.
    pub timezone: String,
    /// The schedule as configured; `null`: the daemon never runs it.
    pub schedule: Option<String>,
    /// The next fire times, in RFC 3339 with the time zone's offset.
    pub next_runs: Vec<String>,
    /// The latest recorded runs, newest first.
    pub last_runs: Vec<Run>,
    /// Ledger counts of the latest run's issue (`null` before the first run).
    pub ledger: Option<Counts>,
    /// Issues frozen and waiting for a reviewer's approval (`review = "required"`).
    pub awaiting_review: Vec<Review>,
}

impl Status {
    /// The status of every digest of `config` at `now`.
    pub fn collect(config: &Config, store: &Store, now: DateTime<Utc>) -> anyhow::Result<Status> {
        let mut digests = Vec::new();
        for d in config.digests.values() {
            let next_runs = d.schedule.as_ref().map_or_else(Vec::new, |s| {
                s.upcoming(now, d.timezone, SHOWN)
                    .iter()
                    .map(|t| t.with_timezone(&d.timezone).to_rfc3339())
                    .collect()
            });
            let last_runs = store.recent_runs(&d.id, SHOWN)?;
            digests.push(DigestStatus {
                id: d.id.clone(),
                period: d.period,
                timezone: d.timezone.name().to_string(),
                schedule: d.schedule.as_ref().map(|s| s.as_written().to_string()),
                next_runs,
                ledger: match last_runs.first() {
                    Some(run) => Some(store.counts(&IssueKey::new(&d.id, run.period))?),
                    None => None,
                },
                last_runs,
                awaiting_review: store.awaiting_reviews(&d.id)?,
            });
        }
        let inbound = crate::publish::inbound::health(config, store)?
            .into_iter()
            .map(|(source, h)| InboundStatus {
                source,
                consecutive_failures: h.consecutive_failures,
                last_error: h.last_error.filter(|_| h.consecutive_failures > 0),
                last_success: h.last_success,
            })
            .collect();
        Ok(Status {
            now,
            digests,
            inbound,
        })
    }
}

/// One frozen issue and its ledger.
#[derive(Debug)]
pub struct IssueLedger {
    /// The issue.
    pub issue: Issue,
    /// Its ledger's rows by state.
    pub counts: Counts,
    /// Failed and deferred rows with the server's last reply (asked for with a period).
    pub failures: Vec<(String, State, u32, String)>,
    /// Bounces and complaints recorded by `digest inbound`.
    pub bounces: IssueBounces,
    /// Where its review stands, for a digest with `review = "required"`.
    pub review: Option<String>,
}

/// Complaint rate (of messages sent) from which `digest status` warns: 0.1%, where the large
/// mailbox providers start filtering a sender.
pub const COMPLAINT_WARNING: f64 = 0.001;

/// Hard bounce rate (of messages sent) from which `digest status` warns: 2%.
pub const HARD_BOUNCE_WARNING: f64 = 0.02;

impl IssueLedger {
    /// `n` as a share of the messages sent (0 when none were).
    fn rate(&self, n: u64) -> f64 {
        match self.counts.sent {
            0 => 0.0,
            sent => n as f64 / sent as f64,
        }
    }

    /// The warnings about this issue's bounce and complaint rates.
    pub fn warnings(&self) -> Vec<String> {
        let b = &self.bounces;
        let mut out = Vec::new();
        if b.complaints > 0 && self.rate(b.complaints) >= COMPLAINT_WARNING {
            out.push(format!(
                "complaints at {:.2}% of sent (warning from {}%): providers filter senders above this",
                100.0 * self.rate(b.complaints),
                100.0 * COMPLAINT_WARNING
            ));
        }
        if b.hard > 0 && self.rate(b.hard) >= HARD_BOUNCE_WARNING {
            out.push(format!(
                "hard bounces at {:.2}% of sent (warning from {}%): clean the list",
                100.0 * self.rate(b.hard),
                100.0 * HARD_BOUNCE_WARNING
            ));
        }
        out
    }
}

impl std::fmt::Display for IssueLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (i, c) = (&self.issue, &self.counts);
        writeln!(
            f,
            "{} (issue #{}): {} recipients: {} sent, {} pending, {} deferred, {} failed, {} suppressed",
            IssueKey::new(&i.digest, i.period),
            i.number,
            c.total(),
            c.sent,
            c.pending,
            c.deferred,
            c.failed,
            c.suppressed
        )?;
        if let Some(review) = &self.review {
            writeln!(f, "  review: {review}")?;
        }
        let b = &self.bounces;
        let percent = |n| 100.0 * self.rate(n);
        if *b != IssueBounces::default() {
            writeln!(
                f,
                "  came back: {} hard bounce(s) ({:.2}%), {} soft ({:.2}%), {} policy, {} complaint(s) ({:.2}%)",
                b.hard,
                percent(b.hard),
                b.soft,
                percent(b.soft),
                b.policy,
                b.complaints,
                percent(b.complaints)
            )?;
        }
        for warning in self.warnings() {
            writeln!(f, "  WARNING: {warning}")?;
        }
        for (to, state, attempts, reply) in &self.failures {
            writeln!(
                f,
                "  {} {to} after {attempts} attempt(s): {reply}",
                state.as_str()
            )?;
        }
        Ok(())
    }
}

/// Where the review of `digest` `period` stands, for people (`None` without review).
fn review_line(store: &Store, digest: &Digest, period: Period) -> Result<Option<String>> {
    if digest.review.is_none() {
        return Ok(None);
    }
    let tz = digest.timezone;
    let at = |t: Option<DateTime<Utc>>| t.map_or_else(String::new, |t| local_time(t, tz));
    Ok(Some(match store.review(&digest.id, period)? {
        None => "AWAITING REVIEW (not requested by the daemon; `digest approve` to approve)".into(),
        Some(r) if r.state == ReviewState::Awaiting => {
            format!("AWAITING REVIEW until {}", at(r.deadline))
        }
        Some(r) => format!(
            "{} by {} at {}",
            r.state,
            r.decided_by.as_deref().unwrap_or("?"),
            at(r.decided_at)
        ),
    }))
}

/// Failures listed per issue.
const MAX_FAILURES: usize = 50;

/// The ledger of `digest`'s issue for `period` (with its failures), or of every frozen issue.
pub fn ledgers(
    config: &Config,
    store: &Store,
    digest: &Digest,
    period: Option<Period>,
) -> Result<Vec<IssueLedger>> {
    let issues = match period {
        Some(p) => issue::find(&config.paths.digests, &digest.id, p)?
            .into_iter()
            .collect(),
        None => issue::list(&config.paths.digests, &digest.id)?,
    };
    issues
        .into_iter()
        .map(|issue| {
            let key = IssueKey::new(&issue.digest, issue.period);
            let failures = match period {
                Some(_) => store.failures(&key, MAX_FAILURES)?,
                None => Vec::new(),
            };
            Ok(IssueLedger {
                counts: store.counts(&key)?,
                bounces: store.issue_bounces(&key)?,
                review: review_line(store, digest, issue.period)?,
                issue,
                failures,
            })
        })
        .collect()
}

/// One line per configured source that has been ingested: healthy, or failing and since when
/// (with the last error), and how many lines the last ingest that read it skipped, with the file
/// that lists them.
pub fn sources(config: &Config, store: &Store) -> Result<String> {
    let after = config.fetch.unhealthy_after;
    let mut out = String::new();
    for h in store
        .source_health()?
        .iter()
        .filter(|h| config.sources.contains_key(&h.name))
    {
        let last_ok = h.last_success.map_or("never".to_string(), |t| {
            t.format("%Y-%m-%d %H:%M UTC").to_string()
        });
        let state = if h.is_unhealthy(after) {
            format!("UNHEALTHY: {} failures in a row", h.consecutive_failures)
        } else if h.consecutive_failures > 0 {
            format!("{} recent failure(s)", h.consecutive_failures)
        } else {
            "healthy".to_string()
        };
        let _ = writeln!(out, "source {}: {state}; last success {last_ok}", h.name);
        if let Some(e) = h
            .last_error
            .as_deref()
            .filter(|_| h.consecutive_failures > 0)
        {
            let _ = writeln!(out, "  last error: {e}");
        }
        let list = crate::publish::ingest::skipped_path(config, &h.name);
        if let Some(n) = lines_in(&list)? {
            let _ = writeln!(
                out,
                "  last ingest skipped {n} line(s), each listed with its reason in {}",
                list.display()
            );
        }
    }
    Ok(out)
}

/// One line per `[inbound]` source that has been looked at: healthy, or failing with the last
/// error.
pub fn inbound(config: &Config, store: &Store) -> Result<String> {
    let mut out = String::new();
    for (source, h) in crate::publish::inbound::health(config, store)? {
        let last_ok = h.last_success.map_or("never".to_string(), |t| {
            t.format("%Y-%m-%d %H:%M UTC").to_string()
        });
        let _ = match (h.consecutive_failures, &h.last_error) {
            (0, _) | (_, None) => {
                writeln!(out, "inbound {source}: healthy; last success {last_ok}")
            }
            (n, Some(e)) => writeln!(
                out,
                "inbound {source}: FAILING: {n} look(s) in a row; last success {last_ok}\n  last error: {e}"
            ),
        };
    }
    Ok(out)
}

/// How many lines the file at `path` has, read in blocks; `None` if there is no such file.
fn lines_in(path: &Path) -> Result<Option<u64>> {
    let context = || format!("reading {}", path.display());
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(context),
    };
    let (mut buf, mut lines) = (vec![0; 64 * 1024], 0);
    loop {
        match file.read(&mut buf).with_context(context)? {
            0 => return Ok(Some(lines)),
            n => lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64,
        }
    }
}
