//! What a matched finding does to its reader (`[bounces]`): a hard bounce suppresses at once and a
//! complaint too, both for every digest; soft bounces suppress for a while once the reader's
//! latest issues bounced often enough; a policy refusal, an unknown failure or an auto-reply
//! suppress no one; a mailed unsubscribe request leaves the token's digest.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Class;
use super::matching::Match;
use crate::config::Bounces;
use crate::store::{Reason, Store};

/// A suppression to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppress {
    /// The address key.
    pub key: String,
    /// The digest, or `None` for every digest.
    pub scope: Option<String>,
    /// Why.
    pub reason: Reason,
    /// When it ends, if it does.
    pub expires: Option<DateTime<Utc>>,
}

/// The suppression a bounce or complaint finding of class `class` calls for, once its event is
/// recorded (soft bounces are counted from the recorded events), if any.
pub fn for_class(
    store: &Store,
    policy: &Bounces,
    class: Class,
    m: &Match,
    now: DateTime<Utc>,
) -> Result<Option<Suppress>> {
    // Only subscribers are suppressed: a report naming any other address (forged, or about a
    // forwarding target) is recorded and changes nothing.
    let (Some(key), Some(subscriber)) = (m.key.clone(), m.subscriber) else {
        return Ok(None);
    };
    let (reason, expires) = match class {
        Class::Hard => (Reason::Bounced, None),
        Class::Complaint => (Reason::Complained, None),
        Class::Soft => {
            if store.soft_bounced_issues(subscriber, policy.soft_window)? < policy.soft_limit {
                return Ok(None);
            }
            (Reason::Bounced, Some(now + policy.soft_expiry))
        }
        Class::Policy | Class::AutoReply | Class::Unknown => return Ok(None),
    };
    Ok(Some(Suppress {
        key,
        scope: None,
        reason,
        expires,
    }))
}
