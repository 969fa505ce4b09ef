//! `[digests.<id>]` review settings: `review`, `reviewers`, `review_deadline` and `on_deadline`,
//! validated into a [`Review`] (or none, for `review = "none"`).

use std::str::FromStr;

use lettre::message::Mailbox;
use serde::Deserialize;

use super::raw::one_of;

/// Default `review_deadline`: a day after the scheduled time.
pub const DEFAULT_REVIEW_DEADLINE: chrono::Duration = chrono::Duration::hours(24);

/// What happens to an issue nobody approved by its review deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDeadline {
    /// Send it anyway.
    Send,
    /// Skip the period: the issue stays frozen and unsent.
    Skip,
}

impl OnDeadline {
    const NAMES: &[(&str, OnDeadline)] = &[("send", OnDeadline::Send), ("skip", OnDeadline::Skip)];

    /// The configured name, `send` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnDeadline::Send => "send",
            OnDeadline::Skip => "skip",
        }
    }
}

/// `review = "required"`: the daemon mails each issue to the reviewers and sends it only once one
/// of them approves it, or at the deadline as `on_deadline` says.
#[derive(Debug, Clone)]
pub struct Review {
    /// Who is asked to approve.
    pub reviewers: Vec<Mailbox>,
    /// How long after the scheduled time the reviewers have.
    pub deadline: chrono::Duration,
    /// What happens then.
    pub on_deadline: OnDeadline,
}

/// The review keys of a digest table, as written.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawReview {
    pub(super) review: Option<String>,
    pub(super) reviewers: Option<Vec<String>>,
    pub(super) review_deadline: Option<String>,
    pub(super) on_deadline: Option<String>,
}

impl RawReview {
    /// The validated settings; each problem goes to `errors` as (key, message).
    pub(super) fn check(
        self,
        lateness: impl Fn(&str) -> Result<chrono::Duration, String>,
        errors: &mut Vec<(&'static str, String)>,
    ) -> Option<Review> {
        let required = match self.review.as_deref().unwrap_or("none") {
            "none" => false,
            "required" => true,
            other => {
                errors.push((
                    "review",
                    format!("unknown value {other:?} (use one of: none, required)"),
                ));
                return None;
            }
        };
        if !required {
            for (key, given) in [
                ("reviewers", self.reviewers.is_some()),
                ("review_deadline", self.review_deadline.is_some()),
                ("on_deadline", self.on_deadline.is_some()),
            ] {
                if given {
                    errors.push((key, "only applies with review = \"required\"".into()));
                }
            }
            return None;
        }
        let mut reviewers = Vec::new();
        for written in self.reviewers.unwrap_or_default() {
            match Mailbox::from_str(written.trim()) {
                Ok(m) => reviewers.push(m),
                Err(e) => errors.push(("reviewers", format!("{written:?} is not an address: {e}"))),
            }
        }
        if reviewers.is_empty() && !errors.iter().any(|(k, _)| *k == "reviewers") {
            errors.push((
                "reviewers",
                "review = \"required\" needs at least one reviewer address".into(),
            ));
        }
        let deadline = match self.review_deadline.as_deref().map(lateness) {
            None => DEFAULT_REVIEW_DEADLINE,
            Some(Ok(d)) => d,
            Some(Err(msg)) => {
                errors.push(("review_deadline", msg));
                DEFAULT_REVIEW_DEADLINE
            }
        };
        let on_deadline = match self
            .on_deadline
            .as_deref()
            .map(|w| one_of(w, OnDeadline::NAMES))
        {
            None => OnDeadline::Skip,
            Some(Ok(o)) => o,
            Some(Err(msg)) => {
                errors.push(("on_deadline", msg));
                OnDeadline::Skip
            }
        };
        Some(Review {
            reviewers,
            deadline,
            on_deadline,
        })
    }
}
