//! The [`Class`] of a failure, from the diagnostic's wording and the enhanced status code.
//!
//! The wording is read first: many servers send a generic code (`5.0.0`, `5.5.0`, `4.0.0`) with a
//! precise text (`User unknown`, `Mailbox full`), and the same code means different things at
//! different providers. Then the code (RFC 3463 subjects: 1 address, 2 mailbox, 3 mail system,
//! 4 network, 5 protocol, 6 content, 7 policy). Then the wording of the whole report. [`class`]
//! gives the exact order.

use crate::mail::error::Enhanced;

use super::Class;

/// Wordings, lower-cased, in the order they are tried: an address that does not exist first (a
/// "user unknown" that also says "rejected" is about the address), then a full mailbox ("rejected:
/// mailbox full"), then policy (a block that says "try again later" is still a block), then other
/// reasons a mailbox or system cannot take mail now.
const WORDINGS: &[(Class, &[&str])] = &[
    (
        Class::Hard,
        &[
            "user unknown",
            "unknown user",
            "no such user",
            "unknown recipient",
            "recipient unknown",
            "no such recipient",
            "no such mailbox",
            "no such person",
            "no such address",
            "does not exist",
            "doesn't exist",
            "not exist",
            "no mailbox",
            "mailbox not found",
            "mailbox unavailable",
            "mailbox is unavailable",
            "invalid recipient",
            "invalid mailbox",
            "invalid address",
            "user not found",
            "address not found",
            "recipient not found",
            "unknown address",
            "address unknown",
            "unknown local part",
            "unrouteable address",
            "unroutable address",
            "host unknown",
            "unknown host",
            "host not found",
            "domain not found",
            "no such domain",
            "domain does not exist",
            "name or service not known",
            "couldn't be found",
            "could not be found",
            "wasn't found",
            "not our customer",
            "has moved",
            "no longer",
            "does not accept mail",
            "accepts no mail",
            "null mx",
            "bad destination",
            "unknown or illegal alias",
            "account does not exist",
            "not a valid",
            "is not valid",
            "no valid recipients",
            "user doesn't",
            "unknown account",
            "account is unknown",
            "invalid final delivery",
            "find a mail exchanger",
            "doesn't receive email",
        ],
    ),
    (
        Class::Soft,
        &[
            "mailbox full",
            "mailbox is full",
            "quota",
            "storage",
            "insufficient",
            "is full",
            "disk full",
        ],
    ),
    (
        Class::Policy,
        &[
            "sender rejected",
            "user complaints",
            "not accepting connections",
            "invalid ip",
            "client ip",
            "dns ptr",
            "ptr record",
            "sender address rejected",
            "spam",
            "blocked",
            "block list",
            "blocklist",
            "blacklist",
            "black list",
            "denied",
            "policy",
            "not permitted",
            "not allowed",
            "prohibited",
            "relay",
            "spf",
            "dkim",
            "dmarc",
            "authenticat",
            "reputation",
            "virus",
            "content",
            "too large",
            "too big",
            "size limit",
            "exceeds",
            "rbl",
            "listed",
            "filter",
            "security",
            "unsolicited",
        ],
    ),
    (
        Class::Soft,
        &[
            "too many connections",
            "too many messages",
            "too many recipients",
            "try again",
            "temporar",
            "timeout",
            "timed out",
            "retry time",
            "expired",
            "delayed",
            "deferred",
            "suspended",
            "disabled",
            "inactive",
            "not active",
            "deactivated",
            "connection refused",
            "unreachable",
            "system error",
            "local error",
            "mailer error",
            "resources",
            "loop",
            "retried",
            "retry",
            "failing for a long time",
            "delay",
            "attempts",
            "locked",
            "frozen",
            "retries",
            "requests to connect",
            "not reachable",
            "currently unavailable",
            "service unavailable",
        ],
    ),
];

/// Wordings that say little, tried after the code: "550 5.1.0 Address rejected" is about the
/// address, "554 Message rejected" (no code) is a policy.
const WEAK_WORDINGS: &[(Class, &[&str])] = &[(Class::Policy, &["rejected", "refused"])];

/// How much of a text its wording is read from, in bytes: a report says why at its start.
const MAX_READ: usize = 64 * 1024;

/// The class the first of `wordings` found in the start of `text` gives, if any.
fn by_wording(wordings: &[(Class, &[&str])], text: &str) -> Option<Class> {
    let mut end = text.len().min(MAX_READ);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = text[..end].to_lowercase();
    wordings
        .iter()
        .find(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(class, _)| *class)
}

/// The class an enhanced status code gives, if it is specific enough (`x.0.0` is not).
fn by_status(status: Enhanced) -> Option<Class> {
    let Enhanced {
        class,
        subject,
        detail,
    } = status;
    Some(match (subject, detail) {
        (0, 0) => return None,
        // Our own sender address refused (bad sender, sender domain unknown).
        (1, 7 | 8) => Class::Policy,
        (1, _) => Class::Hard,
        (3, 4) | (6 | 7, _) => Class::Policy,
        (2..=4, _) => Class::Soft,
        // Protocol errors (x.5.x) are used for anything by many servers.
        _ if class == 4 => Class::Soft,
        _ => return None,
    })
}

/// All enhanced status codes in `text` (words such as `5.1.1`, `(#5.1.1)`, `5.1.1:`).
fn statuses(text: &str) -> impl Iterator<Item = Enhanced> + '_ {
    text.split_whitespace().filter_map(|word| {
        let word = word.trim_matches(|c: char| !c.is_ascii_digit());
        Enhanced::parse_prefix(word).map(|(e, _)| e)
    })
}

/// The most specific status: a specific code in the server's own words (`text`) of the same
/// class as the reported one (a reporting MTA often writes a generic or a guessed `Status`), else
/// the reported one; without a reported one, the first specific code in `text`, else its first.
pub(super) fn best_status(reported: Option<Enhanced>, text: &str) -> Option<Enhanced> {
    let specific = |e: &Enhanced| e.subject != 0 || e.detail != 0;
    let class = reported.map(|r| r.class);
    statuses(text)
        .find(|e| specific(e) && class.is_none_or(|c| c == e.class))
        .or(reported)
        .or_else(|| statuses(text).next())
}

/// The class of a failure with `status` and `diagnostic`, in a report whose text is `report`;
/// `delayed` when the report says delivery is still being tried.
///
/// In order: a refusal of our own sender address (x.1.7, x.1.8, or any refusal of `MAIL FROM`)
/// is policy whatever its wording ("sender domain does not exist"); a full mailbox (x.2.2) is
/// soft; an unknown address by wording, or by a specific code (x.1.1, x.1.2 …; x.1.0 is used for
/// anything); the other wordings of the diagnostic; its code; its weak wordings ("rejected");
/// the wordings of the whole report. Then two corrections: a transient failure (4.x.x, or a
/// delay) is never hard, as the sending server keeps trying; and an address refused only after
/// the message was sent (in reply to `DATA`) had been accepted, so "user unknown" there is a
/// filter's answer: policy.
pub(super) fn class(
    status: Option<Enhanced>,
    diagnostic: &str,
    report: &str,
    delayed: bool,
) -> Class {
    let by_status = status.and_then(by_status);
    let sender_refused = status.is_some_and(|s| s.subject == 1 && matches!(s.detail, 7 | 8))
        || stage(diagnostic, &["after mail from", ">>> mail from"]);
    let mailbox_full = status.is_some_and(|s| s.subject == 2 && s.detail == 2);
    let wording = by_wording(WORDINGS, diagnostic);
    let class = (sender_refused.then_some(Class::Policy))
        .or(mailbox_full.then_some(Class::Soft))
        .or(wording.filter(|c| *c == Class::Hard))
        .or(by_status.filter(|c| *c == Class::Hard && status.is_some_and(|s| s.detail != 0)))
        .or(wording)
        .or(by_status)
        .or_else(|| by_wording(WEAK_WORDINGS, diagnostic))
        .or_else(|| by_wording(WORDINGS, report))
        .or_else(|| by_wording(WEAK_WORDINGS, report))
        .unwrap_or(if delayed { Class::Soft } else { Class::Unknown });
    let transient = delayed || status.is_some_and(|s| s.class == 4);
    match class {
        Class::Hard if transient => Class::Soft,
        Class::Hard if stage(diagnostic, &["end of data", "after data", "data command"]) => {
            Class::Policy
        }
        other => other,
    }
}

/// Whether the diagnostic says the refusal came at an SMTP stage, by one of `wordings`.
fn stage(diagnostic: &str, wordings: &[&str]) -> bool {
    let text = diagnostic.to_ascii_lowercase();
    wordings.iter().any(|p| text.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> Option<Enhanced> {
        Enhanced::parse_prefix(s).map(|(e, _)| e)
    }

    #[test]
    fn the_wording_decides_before_a_generic_code() {
        assert_eq!(
            class(code("5.5.0"), "550 Unknown user", "", false),
            Class::Hard
        );
        assert_eq!(class(code("5.0.0"), "Mailbox full", "", false), Class::Soft);
        assert_eq!(
            class(code("5.0.0"), "554 rejected as spam", "", false),
            Class::Policy
        );
    }

    #[test]
    fn a_specific_code_decides_when_the_wording_says_nothing() {
        for (status, expected) in [
            ("5.1.1", Class::Hard),
            ("5.1.10", Class::Hard),
            ("5.1.8", Class::Policy),
            ("4.2.2", Class::Soft),
            ("5.3.4", Class::Policy),
            ("4.4.7", Class::Soft),
            ("5.7.1", Class::Policy),
            ("5.5.0", Class::Unknown),
        ] {
            assert_eq!(
                class(code(status), "see you", "", false),
                expected,
                "{status}"
            );
        }
        assert_eq!(class(code("5.0.0"), "hm", "", false), Class::Unknown);
        assert_eq!(class(None, "hm", "", true), Class::Soft);
    }

    #[test]
    fn a_sender_refusal_a_transient_failure_or_a_refusal_after_data_is_not_hard() {
        let sender = "553 5.1.8 Domain of sender address does not exist";
        assert_eq!(class(code("5.1.8"), sender, "", false), Class::Policy);
        let nxdomain = "DNS Error: host not found";
        assert_eq!(class(code("4.0.0"), nxdomain, "", false), Class::Soft);
        assert_eq!(class(None, "550 user unknown", "", true), Class::Soft);
        let filter = "host said: 550 User unknown (in reply to end of DATA command)";
        assert_eq!(class(None, filter, "", false), Class::Policy);
        assert_eq!(
            class(
                None,
                "550 User unknown (in reply to RCPT TO command)",
                "",
                false
            ),
            Class::Hard
        );
    }

    #[test]
    fn a_specific_code_in_the_server_s_words_wins_over_the_reported_status() {
        let best = |r: &str, t| best_status(code(r), t).map(|e| e.to_string());
        assert_eq!(best("5.0.0", "550 5.1.1 <a@b>").as_deref(), Some("5.1.1"));
        assert_eq!(
            best("5.1.1", "552 5.2.2 Over quota").as_deref(),
            Some("5.2.2")
        );
        assert_eq!(best("4.4.7", "550 5.1.1 <a@b>").as_deref(), Some("4.4.7"));
        assert_eq!(
            best_status(None, "said: 550 ... (#5.1.1)")
                .map(|e| e.to_string())
                .as_deref(),
            Some("5.1.1")
        );
        assert_eq!(best_status(None, "host 192.0.2.1 version 4.72"), None);
    }
}
