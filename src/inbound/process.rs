//! What applying messages that came back did ([`Tally`]) and where a report came from
//! ([`Source`]): the values the processing (`publish::inbound::process`) records and returns.

use std::fmt;

use super::{Class, Kind};

/// What processing messages did, added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Messages read.
    pub messages: u64,
    /// Messages processed before (nothing recorded again).
    pub duplicates: u64,
    /// Hard bounce findings.
    pub hard: u64,
    /// Soft bounce findings.
    pub soft: u64,
    /// Policy refusals.
    pub policy: u64,
    /// Bounces of unknown cause.
    pub unknown: u64,
    /// Complaints.
    pub complaints: u64,
    /// Auto-replies.
    pub auto_replies: u64,
    /// Unsubscribe requests.
    pub unsubscribes: u64,
    /// Other messages (replies, anything else): kept and counted.
    pub other: u64,
    /// New suppressions.
    pub suppressed: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Self) {
        self.messages += o.messages;
        self.duplicates += o.duplicates;
        self.hard += o.hard;
        self.soft += o.soft;
        self.policy += o.policy;
        self.unknown += o.unknown;
        self.complaints += o.complaints;
        self.auto_replies += o.auto_replies;
        self.unsubscribes += o.unsubscribes;
        self.other += o.other;
        self.suppressed += o.suppressed;
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} message(s) ({} already processed): bounces {} hard, {} soft, {} policy, {} unknown; \
             {} complaint(s), {} auto-reply(ies), {} unsubscribe(s), {} other; {} new suppression(s)",
            self.messages,
            self.duplicates,
            self.hard,
            self.soft,
            self.policy,
            self.unknown,
            self.complaints,
            self.auto_replies,
            self.unsubscribes,
            self.other,
            self.suppressed
        )
    }
}

impl Tally {
    /// Counts one row of a message of `kind`: a finding of `class`, or the message itself.
    pub fn count(&mut self, kind: Kind, class: Option<Class>) {
        match (kind, class) {
            (Kind::Unsubscribe, _) => self.unsubscribes += 1,
            (Kind::Other, _) => self.other += 1,
            (_, Some(Class::Hard)) => self.hard += 1,
            (_, Some(Class::Soft)) => self.soft += 1,
            (_, Some(Class::Policy)) => self.policy += 1,
            (_, Some(Class::Complaint)) => self.complaints += 1,
            (_, Some(Class::AutoReply)) => self.auto_replies += 1,
            (_, Some(Class::Unknown) | None) => self.unknown += 1,
        }
    }
}

/// Where a report came from, as recorded with its events and suppressions.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// What it was: `message` (mailed back), `ses event`, `mailgun event` …
    pub what: &'a str,
    /// Its id: the message's Message-ID (else its file name), the provider's event id.
    pub id: &'a str,
}
