//! Applying one message that came back: classify it, match each finding to the ledger, record it
//! in `inbound_events` and suppress as the policy says, all in one transaction and once only: a
//! message whose own Message-ID or content was processed before changes nothing.

use anyhow::Result;
use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};

use crate::config::Bounces;
use crate::events::{Event, Events};
use crate::inbound::matching::{Match, MatchedBy, Matcher, key_of};
use crate::inbound::policy::{self, Suppress};
use crate::inbound::process::{Source, Tally};
use crate::inbound::{Class, Classified, Finding, Kind, MAX_MESSAGE, classify};
use crate::publish::suppress;
use crate::store::{ALL_DIGESTS, Event as StoredEvent, Reason, Store};
use crate::text::one_line;

/// Longest suppression detail kept, in characters.
const MAX_DETAIL: usize = 600;

/// Processes messages into one store.
pub struct Processor<'a> {
    /// Ties findings to subscribers and issues.
    pub matcher: Matcher<'a>,
    /// `[bounces]`.
    pub policy: &'a Bounces,
    /// Where the `bounce`, `complaint` and `unsubscribe` events of what is recorded go (the
    /// daemon's webhooks; [`Events::default`] drops them).
    pub events: Events,
}

impl Processor<'_> {
    /// Processes one raw message (`name`: its file, for the record when it has no Message-ID),
    /// in one transaction. Content never makes it fail (only the store can); it never panics.
    pub fn process(
        &self,
        store: &mut Store,
        raw: &[u8],
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<Tally> {
        let raw = &raw[..raw.len().min(MAX_MESSAGE)];
        let classified = classify(raw);
        let own_id = own_message_id(raw);
        let hash = format!("sha256:{:x}", Sha256::digest(raw));
        let id_key = own_id.as_ref().map(|id| format!("id:{id}"));
        let keys: Vec<&str> = id_key.iter().map(String::as_str).chain([&*hash]).collect();
        let id = own_id.unwrap_or_else(|| one_line(name, 200));
        let source = Source {
            what: "message",
            id: &id,
        };
        self.record(store, &keys, &classified, &source, now)
    }

    /// Records what `classified` says, in one transaction, unless one of `keys` (the message's
    /// or report's identities) was processed before: matches each finding to the ledger, records
    /// it in `inbound_events` and suppresses as the policy says (an unsubscribe request through
    /// [`suppress::unsubscribe`], the path of the one-click link), recording `source` with each
    /// event and suppression. Once committed, emits an event for each hard or soft bounce, each
    /// complaint and each new unsubscribe ([`Event::bounced`], [`Event::complained`],
    /// [`Event::unsubscribed`]). Used for mailed reports and providers' webhooks alike.
    pub fn record(
        &self,
        store: &mut Store,
        keys: &[&str],
        classified: &Classified,
        source: &Source<'_>,
        now: DateTime<Utc>,
    ) -> Result<Tally> {
        let (tally, outgoing) = store.transaction(|store| {
            let mut tally = Tally {
                messages: 1,
                ..Tally::default()
            };
            let mut outgoing = Vec::new();
            if !store.claim_message(keys, now)? {
                tally.duplicates = 1;
                return Ok((tally, outgoing));
            }
            for finding in classified.rows() {
                let (m, suppress) = match finding {
                    Some(f) => self.apply(store, classified, f)?,
                    None => (unmatched(), None),
                };
                let class = finding.and_then(|f| f.class);
                tally.count(classified.kind, class);
                let status = finding.and_then(|f| f.status).map(|s| s.to_string());
                let diagnostic = finding.map(|f| f.diagnostic.as_str());
                let delayed = finding.is_some_and(|f| f.delayed);
                store.record_event(&StoredEvent {
                    received_at: now,
                    kind: classified.kind.as_str(),
                    class: class.map(Class::as_str),
                    status: status.as_deref(),
                    recipient: m.key.as_deref(),
                    subscriber: m.subscriber,
                    issue: m.issue.as_deref(),
                    matched_by: m.by.as_str(),
                    message_id: Some(source.id),
                    detail: diagnostic.filter(|d| !d.is_empty()),
                    delayed,
                })?;
                outgoing.extend(event(class, status.as_deref(), &m, delayed, now));
                // An unsubscribe request: the one path every unsubscribe takes.
                if let Some(s) = suppress {
                    let via = format!("mailto: {}", detail(source, classified, finding, &m));
                    let new = suppress::unsubscribe(store, &s.key, s.scope.as_deref(), &via, now)?;
                    if new {
                        let scope = s.scope.as_deref().unwrap_or(ALL_DIGESTS);
                        outgoing.push(Event::unsubscribed(scope, now));
                    }
                    tally.suppressed += u64::from(new);
                    continue;
                }
                // After the event: soft bounces are counted from the recorded ones.
                let suppress = match class {
                    Some(class) if classified.kind != Kind::Unsubscribe => {
                        policy::for_class(store, self.policy, class, &m, now)?
                    }
                    _ => None,
                };
                if let Some(s) = suppress {
                    let detail = detail(source, classified, finding, &m);
                    let new = store.suppress_until(
                        &s.key,
                        s.scope.as_deref(),
                        s.reason,
                        Some(&detail),
                        now,
                        s.expires,
                    )?;
                    tally.suppressed += u64::from(new);
                }
            }
            Ok((tally, outgoing))
        })?;
        for e in outgoing {
            self.events.emit(e);
        }
        Ok(tally)
    }

    /// The match of one finding, and for an unsubscribe request with a valid token the
    /// suppression it asks for (the token's digest, as the one-click endpoint does).
    fn apply(
        &self,
        store: &Store,
        classified: &Classified,
        finding: &Finding,
    ) -> Result<(Match, Option<Suppress>)> {
        if classified.kind != Kind::Unsubscribe {
            return Ok((self.matcher.find(store, classified, finding)?, None));
        }
        let claim = classified
            .token
            .as_deref()
            .and_then(|t| self.matcher.keys.verify(t));
        let address = match &claim {
            Some(c) => store.subscriber_address(c.subscriber)?,
            None => None,
        };
        let (Some(claim), Some(key)) = (claim, address) else {
            let key = finding.recipient.as_deref().map(key_of);
            let m = Match { key, ..unmatched() };
            return Ok((m, None));
        };
        let suppress = Suppress {
            key: key.clone(),
            scope: Some(claim.digest.clone()),
            reason: Reason::Unsubscribed,
            expires: None,
        };
        let m = Match {
            key: Some(key),
            subscriber: Some(claim.subscriber),
            issue: None,
            by: MatchedBy::Token,
        };
        Ok((m, Some(suppress)))
    }
}

/// The outgoing event of a finding of `class`: `bounce` for a hard or soft one (not a delay
/// warning, which may yet be delivered), `complaint` for a complaint; about the issue `m` matched,
/// never the address.
fn event(
    class: Option<Class>,
    status: Option<&str>,
    m: &Match,
    delayed: bool,
    now: DateTime<Utc>,
) -> Option<Event> {
    let issue = m.issue.as_deref();
    match class? {
        c @ (Class::Hard | Class::Soft) if !delayed => {
            Some(Event::bounced(c.as_str(), status, issue, now))
        }
        Class::Complaint => Some(Event::complained(issue, now)),
        _ => None,
    }
}

/// A match of nothing.
fn unmatched() -> Match {
    Match {
        key: None,
        subscriber: None,
        issue: None,
        by: MatchedBy::None,
    }
}

/// Where a suppression came from: the message, the issue, the class and status, the diagnostic.
fn detail(source: &Source<'_>, c: &Classified, finding: Option<&Finding>, m: &Match) -> String {
    let class = finding.and_then(|f| f.class).map_or("-", Class::as_str);
    let status = finding
        .and_then(|f| f.status)
        .map_or_else(|| "-".to_string(), |s| s.to_string());
    let text = format!(
        "{} {class} {status} from {} {}, issue {}, matched by {}: {}",
        c.kind.as_str(),
        source.what,
        source.id,
        m.issue.as_deref().unwrap_or("-"),
        m.by.as_str(),
        finding.map_or("", |f| f.diagnostic.as_str()),
    );
    one_line(&text, MAX_DETAIL)
}

/// The message's own Message-ID (without angle brackets), bounded, if it has one.
fn own_message_id(raw: &[u8]) -> Option<String> {
    let headers = crate::inbound::parser().parse_headers(raw)?;
    let id = one_line(headers.message_id()?, 330);
    (!id.is_empty() && id.len() <= 320).then_some(id)
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod tests;
