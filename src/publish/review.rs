//! Review before sending (`review = "required"`): the daemon freezes the issue, mails it to the
//! reviewers with signed links to approve it and to its draft page, and sends it only once
//! approved, or at the review deadline as `on_deadline` says. `digest approve`, the web side's
//! approve button and `digest send` (which refuses an issue awaiting review) go through here.
//!
//! The approval state lives in the store (see [`crate::store::Review`] for why).

use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

use crate::clock::Clock;
use crate::config::{Config, Digest, OnDeadline, Problem, Review as Settings};
use crate::issue::Issue;
use crate::mail::campaign;
use crate::mail::transport::Transport;
use crate::model::token::{self, Keys};
use crate::period::Period;
use crate::render;
use crate::render::review::Request;
use crate::schedule::local_time;
use crate::store::{Approval, Review, ReviewState, Store};

/// What the review settings need to work, blamed on each digest's `review`.
pub fn problems(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    for d in config.digests.values().filter(|d| d.review.is_some()) {
        let key = format!("digests.{}.review", d.id);
        if config.sending.unsubscribe_keys.is_none() {
            problems.push(config.problem_at(
                &key,
                "review needs signing keys for its approve links: set the environment variable \
                 DIGEST__UNSUBSCRIBE__KEYS to `id:secret` (a secret of 32 bytes or more)",
            ));
        }
        if config.sending.mail.is_none() {
            problems.push(config.problem_at(
                &key,
                "review mails the reviewers, which needs a [mail] section with `from`",
            ));
        }
        if d.schedule.is_some() && config.sending.smtp.is_none() {
            problems.push(config.problem_at(
                &key,
                "the daemon mails this digest's reviewers, which needs an [smtp] section",
            ));
        }
    }
    problems
}

/// The settings of a digest that asks for review, or an error saying it does not.
fn settings(digest: &Digest) -> Result<&Settings> {
    digest.review.as_ref().ok_or_else(|| {
        anyhow!(
            "{} does not ask for review (set review = \"required\" and reviewers in its table)",
            digest.id
        )
    })
}

/// "it is sent anyway" / "the period is skipped".
fn then(on: OnDeadline) -> &'static str {
    match on {
        OnDeadline::Send => "it is sent anyway",
        OnDeadline::Skip => "it is not sent (the period is skipped)",
    }
}

/// Whether a scheduled run may send its issue now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Approved (or decided at the deadline to send anyway: `unreviewed`).
    Go {
        /// Sent without an approval, at the deadline.
        unreviewed: bool,
    },
    /// Not yet: the run waits, with this detail for the runs table.
    Wait(String),
}

/// The review gate of a scheduled run of `issue`, due at `scheduled_at`: opens the review (once),
/// mails the reviewers (once, through `transport`), and says whether to send.
pub fn gate(
    config: &Config,
    digest: &Digest,
    issue: &Issue,
    scheduled_at: DateTime<Utc>,
    store: &mut Store,
    transport: impl FnOnce() -> Result<Arc<dyn Transport>>,
    clock: &dyn Clock,
) -> Result<Gate> {
    let settings = settings(digest)?;
    let deadline = scheduled_at + settings.deadline;
    let review = store.request_review(&digest.id, issue.period, deadline, clock.now())?;
    match review.state {
        ReviewState::Approved => return Ok(Gate::Go { unreviewed: false }),
        ReviewState::SentAtDeadline => return Ok(Gate::Go { unreviewed: true }),
        ReviewState::Skipped => {
            return Ok(Gate::Wait(format!(
                "skipped at the review deadline; `digest approve {} --period {}` to send it",
                digest.id, issue.period
            )));
        }
        ReviewState::Awaiting => {}
    }
    let deadline = review.deadline.unwrap_or(deadline);
    if review.mailed_at.is_none() {
        let sent = mail_reviewers(config, digest, issue, deadline, &*transport()?, clock)?;
        store.reviewers_mailed(&digest.id, issue.period, clock.now())?;
        tracing::info!(digest = %digest.id, period = %issue.period, reviewers = sent, "review requested");
    }
    Ok(Gate::Wait(format!(
        "issue #{}, {} items; awaiting review by {} until {} (then: {})",
        issue.number,
        issue.items.len(),
        addresses(&settings.reviewers),
        local_time(deadline, digest.timezone),
        settings.on_deadline.as_str()
    )))
}

fn addresses(reviewers: &[Mailbox]) -> String {
    let all: Vec<String> = reviewers.iter().map(|m| m.email.to_string()).collect();
    all.join(", ")
}

/// The approve page of `digest` `period` for `reviewer`, signed with `keys`, valid until
/// `expires`; the draft page is the same URL followed by `/draft`.
pub fn approve_url(
    config: &Config,
    keys: &Keys,
    digest: &str,
    period: Period,
    reviewer: &str,
    expires: DateTime<Utc>,
) -> String {
    let token = keys.review(digest, &period.to_string(), reviewer, expires.timestamp());
    format!("{}/review/{token}", config.site.base_url)
}

/// Mails every reviewer of `digest` the review message of `issue` through `transport`: the issue
/// as readers will see it (stand-in recipient values), below a banner with the reviewer's own
/// approve and draft links, valid until `deadline`. The number of messages sent.
pub fn mail_reviewers(
    config: &Config,
    digest: &Digest,
    issue: &Issue,
    deadline: DateTime<Utc>,
    transport: &dyn Transport,
    clock: &dyn Clock,
) -> Result<usize> {
    let settings = settings(digest)?;
    let keys = campaign::keys(config)?;
    let mail = config
        .sending
        .mail
        .as_ref()
        .ok_or_else(|| anyhow!("no [mail] section in the configuration: set mail.from"))?;
    let from = digest.from.clone().unwrap_or_else(|| mail.from.clone());
    let shown = crate::publish::preview::rendered(config, issue)?;
    let (html, text, subject) = (shown.html, shown.text, shown.email.subject);
    let deadline_text = local_time(deadline, digest.timezone);
    let mut messages = Vec::new();
    for reviewer in &settings.reviewers {
        let address = reviewer.email.to_string();
        let approve = approve_url(config, &keys, &digest.id, issue.period, &address, deadline);
        let draft = format!("{approve}/draft");
        let request = Request {
            approve_url: &approve,
            draft_url: &draft,
            deadline: &deadline_text,
            then: then(settings.on_deadline),
        };
        let banner = render::review::banner(issue, &request).into_string();
        let message = Message::builder()
            .from(from.clone())
            .to(reviewer.clone())
            .subject(format!("[Review] {subject}"))
            .date(clock.now().into())
            .multipart(MultiPart::alternative_plain_html(
                format!("{}{text}", render::review::banner_text(issue, &request)),
                render::review::with_banner(&html, &banner),
            ))
            .context("building the review message")?;
        messages.push((address, message));
    }
    for (address, message) in &messages {
        crate::publish::send::send_one(config, transport, message, clock.now())?
            .map_err(|e| anyhow!("review message to {address} not sent: {e}"))?;
    }
    Ok(messages.len())
}

/// At the review deadline of `digest` `period`: decides it as `on_deadline` says, unless an
/// approval came first; the review as it then stands.
pub fn at_deadline(
    store: &mut Store,
    digest: &Digest,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Review> {
    let state = match settings(digest)?.on_deadline {
        OnDeadline::Send => ReviewState::SentAtDeadline,
        OnDeadline::Skip => ReviewState::Skipped,
    };
    store.decide_at_deadline(&digest.id, period, state, now)
}

/// Approves the frozen issue of `digest` for `period` on behalf of `by` (a reviewer's address, or
/// `cli`). A scheduled run waiting for it sends it at the daemon's next look (within a minute);
/// otherwise `digest send` may now send it.
pub fn approve(
    config: &Config,
    digest: &Digest,
    period: Period,
    by: &str,
    store: &mut Store,
    clock: &dyn Clock,
) -> Result<Approval> {
    settings(digest)?;
    crate::issue::find(&config.paths.digests, &digest.id, period)?.ok_or_else(|| {
        anyhow!(
            "{} {period} is not built yet: there is nothing to approve",
            digest.id
        )
    })?;
    store.approve(&digest.id, period, by, clock.now())
}

/// `digest send` refuses an issue that awaits review.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "issue #{number} of {digest} for {period} awaits review ({why}): it is sent only once a \
     reviewer approves it (the link in the review message, or `digest approve {digest} --period \
     {period}`)"
)]
pub struct AwaitsReview {
    /// Digest id.
    pub digest: String,
    /// Period.
    pub period: Period,
    /// Issue number.
    pub number: u32,
    /// Where the review stands, for people.
    pub why: String,
}

/// `Ok` if `issue` of `digest` may be sent: its digest does not ask for review, or it was
/// approved (or sent anyway at its deadline).
pub fn ensure_cleared(store: &Store, digest: &Digest, issue: &Issue) -> Result<()> {
    if digest.review.is_none() {
        return Ok(());
    }
    let review = store.review(&digest.id, issue.period)?;
    let why = match &review {
        Some(r) if r.state.clears() => return Ok(()),
        Some(r) if r.state == ReviewState::Skipped => {
            "skipped at its review deadline, nobody approved it".to_string()
        }
        Some(r) => match r.deadline {
            Some(d) => format!(
                "nobody approved it yet; deadline {}",
                local_time(d, digest.timezone)
            ),
            None => "nobody approved it yet".into(),
        },
        None => "review = \"required\" and nobody approved it".into(),
    };
    Err(AwaitsReview {
        digest: digest.id.clone(),
        period: issue.period,
        number: issue.number,
        why,
    }
    .into())
}

/// Who a valid review token was given to, and for which issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    /// Digest id.
    pub digest: String,
    /// The issue's period.
    pub period: Period,
    /// The reviewer's address, as configured.
    pub address: String,
    /// When the token expires.
    pub expires: DateTime<Utc>,
}

/// The reviewer of a review token: signed by the configured keys, not expired at `now`, for a
/// digest that asks for review and one of its current reviewers. `None` for anything else, with
/// no reason given (a public endpoint gives no oracle).
pub fn reviewer(config: &Config, token: &str, now: DateTime<Utc>) -> Option<Reviewer> {
    let keys = campaign::keys(config).ok()?;
    let claim = keys.verify_review(token, now.timestamp())?;
    let digest = config.digests.get(&claim.digest)?;
    let period = Period::parse_as(digest.period, &claim.period).ok()?;
    let address = digest
        .review
        .as_ref()?
        .reviewers
        .iter()
        .map(|m| m.email.to_string())
        .find(|a| token::reviewer_tag(a) == claim.reviewer)?;
    Some(Reviewer {
        digest: digest.id.clone(),
        period,
        address,
        expires: DateTime::from_timestamp(claim.expires, 0)?,
    })
}
