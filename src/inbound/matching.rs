//! Matching a finding back to the ledger: which subscriber, and which issue, it is about.
//!
//! In order of strength: the VERP token of the return path the message came back to (signed:
//! it names the subscriber and the issue); else the returned message's Message-ID, recomputed for
//! the subscriber's ledger issues (Message-IDs are keyed hashes of issue and address); else the
//! reported address alone, taken to be about the latest issue sent to it (a weaker match, recorded
//! as such). A mailed unsubscribe request is matched by its signed token.

use anyhow::Result;

use super::{Classified, Finding};
use crate::config::Config;
use crate::mail::address;
use crate::model::token::Keys;
use crate::store::Store;

/// How a finding was tied to the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// By the signed VERP token of the return path.
    Verp,
    /// By the returned message's Message-ID.
    MessageId,
    /// By the reported address alone, to the latest issue sent to it (weaker).
    Recipient,
    /// By the signed unsubscribe token of a mailed request.
    Token,
    /// Not matched.
    None,
}

impl MatchedBy {
    /// The name stored: `verp`, `message_id`, `recipient`, `token`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::Verp => "verp",
            MatchedBy::MessageId => "message_id",
            MatchedBy::Recipient => "recipient",
            MatchedBy::Token => "token",
            MatchedBy::None => "none",
        }
    }
}

/// Who and what a finding is about, as far as it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The address key: the subscriber's, else the one reported.
    pub key: Option<String>,
    /// The subscriber id, when the address is (or the token names) a subscriber.
    pub subscriber: Option<i64>,
    /// The issue (`digest/period`), when one matched.
    pub issue: Option<String>,
    /// How.
    pub by: MatchedBy,
}

/// Matches findings of messages against one store with the configured keys.
pub struct Matcher<'a> {
    /// The signing keys of tokens and Message-IDs.
    pub keys: &'a Keys,
    /// The configuration: the Message-ID domain of each digest.
    pub config: &'a Config,
}

impl Matcher<'_> {
    /// The match of `finding`, one of `classified`'s.
    pub fn find(&self, store: &Store, classified: &Classified, finding: &Finding) -> Result<Match> {
        if let Some(m) = self.by_verp(store, classified)? {
            return Ok(m);
        }
        let reported = finding
            .recipient
            .as_deref()
            .or(classified.original.to.as_deref())
            .map(key_of);
        let Some(key) = reported else {
            return Ok(Match {
                key: None,
                subscriber: None,
                issue: None,
                by: MatchedBy::None,
            });
        };
        let Some(subscriber) = store.subscriber_of(&key)? else {
            return Ok(Match {
                key: Some(key),
                subscriber: None,
                issue: None,
                by: MatchedBy::None,
            });
        };
        let issues = store.issues_of(subscriber)?;
        let by_id = classified.original.message_id.as_deref().and_then(|id| {
            issues.iter().find(|issue| {
                self.message_id(issue, &key)
                    .is_some_and(|m| same_id(&m, id))
            })
        });
        let (issue, by) = match by_id {
            Some(issue) => (Some(issue.clone()), MatchedBy::MessageId),
            None => (issues.first().cloned(), MatchedBy::Recipient),
        };
        Ok(Match {
            key: Some(key),
            subscriber: Some(subscriber),
            by: if issue.is_some() { by } else { MatchedBy::None },
            issue,
        })
    }

    /// The match named by a VERP token in the envelope recipient, if it carries a valid one for
    /// an issue of the subscriber's ledger.
    fn by_verp(&self, store: &Store, classified: &Classified) -> Result<Option<Match>> {
        let Some(token) = classified.envelope_to.as_deref().and_then(verp_token) else {
            return Ok(None);
        };
        let Some(claim) = self.keys.verify_verp(token) else {
            return Ok(None);
        };
        let Some(issue) = store
            .issues_of(claim.subscriber)?
            .into_iter()
            .find(|i| claim.is_for(i))
        else {
            return Ok(None);
        };
        Ok(Some(Match {
            key: store.subscriber_address(claim.subscriber)?,
            subscriber: Some(claim.subscriber),
            issue: Some(issue),
            by: MatchedBy::Verp,
        }))
    }

    /// The Message-ID digest gave the message of `issue` to `key`, if the issue's digest is
    /// configured.
    fn message_id(&self, issue: &str, key: &str) -> Option<String> {
        let digest = self.config.digests.get(issue.split('/').next()?)?;
        let from = digest
            .from
            .as_ref()
            .or(self.config.sending.mail.as_ref().map(|m| &m.from))?;
        Some(self.keys.message_id(issue, key, from.email.domain()))
    }
}

/// The token after the last `+` of the local part of `address`, if any.
fn verp_token(address: &str) -> Option<&str> {
    let (local, _) = address.rsplit_once('@')?;
    let (_, token) = local.rsplit_once('+')?;
    (!token.is_empty()).then_some(token)
}

/// Whether the Message-ID `ours` (`<…>`) is `reported` (with or without angle brackets).
fn same_id(ours: &str, reported: &str) -> bool {
    let reported = reported.trim();
    let reported = reported
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(reported);
    ours.get(1..ours.len() - 1)
        .is_some_and(|o| o.eq_ignore_ascii_case(reported))
}

/// The ledger's key of a reported address: normalized as lists are, else as reported.
pub fn key_of(address: &str) -> String {
    address::normalize(address).map_or_else(|_| address.trim().to_lowercase(), |a| a.key)
}
