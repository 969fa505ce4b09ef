//! The [`Class`] of a failure, from the diagnostic's wording and the enhanced status code.
//!
//! The wording is read first: many servers send a generic code (`5.0.0`, `5.5.0`, `4.0.0`) with a
//! precise text (`User unknown`, `Mailbox full`), and the same code means different things at
//! different providers. Then the code (RFC 3463 subjects: 1 address, 2 mailbox, 3 mail system,
//! 4 network, 5 protocol, 6 content, 7 policy). Then the wording of the whole report. [`class`]
//! gives the exact order.

use crate::mail::error::Enhanced;

use super::Class;

/// Wordings, lower-cased, in the order they are tried: a failed DNS lookup that says it is
/// temporary; an address that does not exist (a "user unknown" that also says "rejected" is about
/// the address); a full mailbox ("rejected: mailbox full"), a suspended account, a rate limit or a
/// loop; then policy (a block that says "try again later" is still a block); then other reasons a
/// mailbox or system cannot take mail now.
const WORDINGS: &[(Class, &[&str])] = &[
    (
        // The resolver's TRY_AGAIN: a lookup that failed for now, not a domain that does not
        // exist ("Name service error for domain …: Host not found, try again").
        Class::Soft,
        &["host not found, try again"],
    ),
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
            // Lotus Notes / Domino: "User not listed in public Name & Address Book".
            "not listed in",
            // Exchange Online's directory-based edge blocking of an address it does not host.
            "recipient address rejected: access denied",
            // InterScan: "Unable to deliver message to <…>. Please check if address is correct."
            "check if address is correct",
            // Hotmail's permanent refusal of a domain without mail servers: "554 The mail could
            // not be delivered to the recipient because the domain is not reachable".
            "domain is not reachable",
            // Japanese: "… does not exist", "… cannot be found" (Domino: "ユーザー … は Domino
            // ディレクトリには見つかりません"), "not in the directory's list" (Lotus Notes).
            "存在しません",
            "見つかりません",
            "ディレクトリのリストにありません",
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
            // The mailbox's state, not a block of our mail: "The recipient account is blocked".
            "account is blocked",
            // A rate limit or a loop: a block for now, which passes.
            "too many connections",
            "too many messages",
            "too many recipients",
            "frequency limited",
            "hop count",
            "mail loop",
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
            // Not "content" alone: it is in every report's `Content-Type`.
            "content rejected",
            "its content",
            "violation",
            "line limit",
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
            "not responding",
            "not delivered within",
            // A delivery given up after retrying: "Delivery … was aborted after 5.0 hour(s)".
            "aborted after",
        ],
    ),
];

/// How many groups of [`WORDINGS`] are strong enough to decide before a specific code: an
/// unknown address, a full mailbox, a rate limit ("550 5.1.1 … over quota", "550 5.1.1 … has sent
/// to too many recipients this hour": qmail and others put x.1.1 on any permanent failure).
const STRONG: usize = 3;

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
        // A transient failure is soft, even without a subject (`4.0.0`).
        (0, 0) | (2, 0) if class == 4 => Class::Soft,
        (0, 0) => return None,
        // "Other or undefined mailbox status" says no more than 5.0.0: servers send it with
        // anything from "Unknown user" to "Mail rejected" (spam).
        (2, 0) => return None,
        // Our own sender address refused (bad sender, sender domain unknown).
        (1, 7 | 8) => Class::Policy,
        (1, _) => Class::Hard,
        // Unable to route, for good: the domain has no usable mail servers (RFC 3463: "a DNS
        // lookup returning only an SOA record"); while transient, the soft rule below.
        (4, 4) if class == 5 => Class::Hard,
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
    let text = server_words(text);
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
/// is policy whatever its wording ("sender domain does not exist"), and so is a permanent refusal
/// at the connection or greeting (our IP or name, never the address); a full mailbox (x.2.2) is
/// soft; an unknown address by wording, or by a specific code (x.1.1, x.1.2 …; x.1.0 is used for
/// anything); the other wordings of the diagnostic; its code; a protocol error (reply 500 to 504:
/// our command was refused); its weak wordings ("rejected"); the wordings of the whole report.
/// Then two corrections: a transient failure (4.x.x, or a delay) is never hard, as the sending
/// server keeps trying, unless the domain says it takes no mail at all (null MX); and an address
/// refused only after the message was sent (in reply to `DATA`) had been accepted, so "user
/// unknown" there is a filter's answer: policy.
pub(super) fn class(
    status: Option<Enhanced>,
    diagnostic: &str,
    report: &str,
    delayed: bool,
) -> Class {
    let diagnostic = server_words(diagnostic);
    let by_status = status.and_then(by_status);
    let transient = delayed || status.is_some_and(|s| s.class == 4);
    let sender_refused = status.is_some_and(|s| s.subject == 1 && matches!(s.detail, 7 | 8))
        || stage(diagnostic, SENDER_STAGE)
        || replied_to(diagnostic, report, &["mail from"]);
    let connection_refused = !transient && stage(diagnostic, CONNECTION_STAGE);
    let mailbox_full = status.is_some_and(|s| s.subject == 2 && s.detail == 2);
    let wording = by_wording(WORDINGS, diagnostic);
    let class = ((sender_refused || connection_refused).then_some(Class::Policy))
        .or(mailbox_full.then_some(Class::Soft))
        .or(by_wording(&WORDINGS[..STRONG], diagnostic))
        .or(by_status.filter(|c| *c == Class::Hard && status.is_some_and(|s| s.detail != 0)))
        .or(wording)
        .or(by_status)
        .or_else(|| {
            reply_code(diagnostic)
                .filter(|c| (500..=504).contains(c))
                .map(|_| Class::Policy)
        })
        .or_else(|| by_wording(WEAK_WORDINGS, diagnostic))
        .or_else(|| by_wording(WORDINGS, report))
        .or_else(|| by_wording(WEAK_WORDINGS, report))
        .unwrap_or(if delayed { Class::Soft } else { Class::Unknown });
    match class {
        Class::Hard if transient && !stage(diagnostic, NO_MAIL) => Class::Soft,
        // The address had been accepted: a refusal of the message itself.
        Class::Hard | Class::Unknown
            if stage(diagnostic, DATA_STAGE)
                || replied_to(diagnostic, report, &["end of data", "data"]) =>
        {
            Class::Policy
        }
        other => other,
    }
}

/// Wordings of a refusal of our sender address (`MAIL FROM`).
const SENDER_STAGE: &[&str] = &[
    "after mail from",
    "in reply to mail from",
    ">>> mail from",
    "but sender was rejected",
];

/// Wordings of a refusal at the connection or greeting (Exim's "after initial connection",
/// qmail's "Connected to … but my name was rejected").
const CONNECTION_STAGE: &[&str] = &[
    "after initial connection",
    "but my name was rejected",
    "after helo",
    "after ehlo",
];

/// Wordings of a refusal in reply to `DATA` or the end of the message. Not a transcript's
/// `>>> DATA` nor mFILTER's "SMTP command DATA": with pipelining, the refusal of `RCPT` is read
/// after `DATA` was sent ("Recipient address rejected: User unknown in local recipient table …
/// SMTP command DATA").
const DATA_STAGE: &[&str] = &["end of data", "after data", "data command"];

/// Whether the report says, right after the diagnostic, that it came in reply to one of
/// `commands` (lower-cased): Postfix writes the stage in its text ("said: 550 Unknown user (in
/// reply to end of DATA command)", "(in reply to MAIL FROM command)") and not in the
/// `Diagnostic-Code`.
fn replied_to(diagnostic: &str, report: &str, commands: &[&str]) -> bool {
    let squeeze = |s: &str| {
        let end = (0..=s.len().min(MAX_READ))
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s[..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_lowercase()
    };
    let diagnostic = squeeze(diagnostic);
    if diagnostic.len() < 8 {
        return false;
    }
    let report = squeeze(report);
    report.match_indices(&diagnostic).any(|(at, _)| {
        let after = report[at + diagnostic.len()..].trim_start();
        after.strip_prefix("(in reply to ").is_some_and(|command| {
            commands
                .iter()
                .any(|c| command.starts_with(&format!("{c} command")))
        })
    })
}

/// Wordings of a domain that takes no mail at all (RFC 7505 null MX): definitive even when the
/// reporting server wrote a transient code.
const NO_MAIL: &[&str] = &[
    "null mx",
    "doesn't receive email",
    "does not accept mail",
    "accepts no mail",
];

/// The remote server's own words in a diagnostic: inside the quotes after Amazon SES's label
/// (`5.1.0 - Unknown address error 550-'5.2.2 <a@b>... Mailbox Full' (delivery attempts: 0)`,
/// where the label is SES's guess and the quoted reply is the server's), else all of it.
fn server_words(diagnostic: &str) -> &str {
    let ses = || {
        let (code, rest) = diagnostic.trim_start().split_once(" - ")?;
        Enhanced::parse_prefix(code).filter(|(_, tail)| tail.is_empty())?;
        let open = rest.find('\'')?;
        let (label, reply) = rest[..open].rsplit_once(' ')?;
        let reply_ok = reply.len() == 4
            && reply.as_bytes()[..3].iter().all(u8::is_ascii_digit)
            && reply.ends_with(['-', ' ']);
        let close = rest.rfind('\'')?;
        (reply_ok && !label.is_empty() && close > open).then(|| &rest[open + 1..close])
    };
    ses().unwrap_or(diagnostic)
}

/// The first SMTP reply code in `text` (a word of three digits from 200 to 599, alone or followed
/// by `-` or `:`).
fn reply_code(text: &str) -> Option<u16> {
    text.split_whitespace().find_map(|word| {
        let word = word.trim_start_matches(['(', '[', '<', '\'', '"']);
        let digits = word.get(..3)?;
        let rest = &word[3..];
        let code: u16 = digits.parse().ok()?;
        ((200..600).contains(&code)
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (rest.is_empty() || rest.starts_with(['-', ':', ')', ']'])))
        .then_some(code)
    })
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

    // Before: a null MX reported by Gmail with 4.0.0 was soft (transient codes were never hard).
    #[test]
    fn a_null_mx_is_hard_even_with_a_transient_code() {
        let gmail = "DNS Error: 80458680 DNS type 'mx' lookup of example.org responded with code \
                     NOERROR The domain example.org doesn't receive email according to the \
                     administrator: returned Null MX";
        assert_eq!(class(code("4.0.0"), gmail, "", false), Class::Hard);
        assert_eq!(
            class(code("4.4.1"), "host not found", "", false),
            Class::Soft
        );
    }

    // Before: Postfix's "Host not found, try again" (the resolver's TRY_AGAIN) was hard.
    #[test]
    fn a_dns_lookup_that_says_try_again_is_soft() {
        let postfix = "Name service error for domain example.com: Host not found, try again";
        assert_eq!(class(None, postfix, "", false), Class::Soft);
    }

    // Before: Lotus Notes' "not listed in public Name & Address Book" was policy ("listed"),
    // Exchange Online's "Recipient address rejected: Access denied" (5.4.1) policy, and
    // InterScan's "Please check if address is correct" policy (its name says "Security").
    #[test]
    fn directory_misses_of_notes_exchange_online_and_interscan_are_hard() {
        for text in [
            "User  not listed in public Name & Address Book",
            "550 5.4.1 <a@b.example>: Recipient address rejected: Access denied [x.outlook.com]",
            "Message from InterScan Messaging Security Suite Unable to deliver message to \
             <a@b.example>. Please check if address is correct.",
        ] {
            assert_eq!(
                class(best_status(None, text), text, "", false),
                Class::Hard,
                "{text}"
            );
        }
    }

    // Before: SES's own label ("5.1.0 - Unknown address error") decided, not the server's reply.
    #[test]
    fn amazon_ses_s_label_gives_way_to_the_quoted_server_reply() {
        let full = "5.1.0 - Unknown address error 550-'5.2.2 <a@b.example>... Mailbox Full' \
                    (delivery attempts: 0)";
        let status = best_status(code("5.1.0"), full);
        assert_eq!(status.map(|s| s.to_string()).as_deref(), Some("5.2.2"));
        assert_eq!(class(status, full, "", false), Class::Soft);
        let denied = "5.1.0 - Unknown address error 550-'5.7.1 <x@ses.example>... Access denied' \
                      (delivery attempts: 0)";
        let status = best_status(code("5.1.0"), denied);
        assert_eq!(class(status, denied, "", false), Class::Policy);
        assert_eq!(
            server_words("5.1.1 - no quotes here"),
            "5.1.1 - no quotes here"
        );
    }

    // Before: the x.1.1 that qmail and others put on any permanent failure made these hard, and
    // a recipient account "blocked" (suspended) or a mail loop was policy.
    #[test]
    fn a_full_mailbox_a_rate_limit_a_suspended_account_or_a_loop_is_soft() {
        for (status, text) in [
            (
                "5.1.1",
                "552 sorry, mailbox a@b.example is over quota temporarily (#5.1.1)",
            ),
            (
                "5.1.1",
                "550 5.1.1 <a@b.example> - 192.0.2.1 has sent to too many recipients this hour",
            ),
            (
                "5.5.0",
                "550 5.5.0 The recipient account is blocked. LPN007_426",
            ),
            (
                "5.0.0",
                "550 Connection frequency limited. Blocked IP 192.0.2.22",
            ),
            ("5.4.6", "554 5.4.6 Hop count exceeded - possible mail loop"),
        ] {
            assert_eq!(class(code(status), text, "", false), Class::Soft, "{text}");
        }
        // A code still decides over a weaker wording.
        let apple = "550 5.1.1 <a@icloud.example>: inactive email address";
        assert_eq!(class(code("5.1.1"), apple, "", false), Class::Hard);
    }

    // Before: a refusal at the connection or greeting, or of our sender by qmail's wording, was
    // soft or unknown ("daily relay quota", "in the queue too long").
    #[test]
    fn a_permanent_refusal_at_connection_greeting_or_sender_is_policy() {
        for text in [
            "SMTP error from remote mail server after initial connection: host mx.example: \
             554 You've reached your daily relay quota - 203.0.113.0",
            "Connected to 192.0.2.112 but my name was rejected. Remote host said: 501 5.0.0 \
             Invalid domain name I'm not going to try again",
            "Connected to 192.0.2.225 but sender was rejected. Remote host said: 550 user unknown",
        ] {
            assert_eq!(
                class(best_status(None, text), text, "", false),
                Class::Policy,
                "{text}"
            );
        }
        let later = "SMTP error from remote mail server after initial connection: 421 too busy";
        assert_eq!(class(None, later, "", true), Class::Soft);
    }

    // Before: 4.0.0 without telling words was unknown; 5.2.0 ("other mailbox status") made
    // "Mail rejected" after the end of data soft.
    #[test]
    fn a_transient_generic_code_is_soft_and_5_2_0_says_nothing() {
        let drd = "451 Could not load DRD for domain (example.com)";
        assert_eq!(class(code("4.0.0"), drd, "", false), Class::Soft);
        let orange = "SMTP error from remote mail server after end of data: 550 5.2.0 Mail \
                      rejete. Mail rejected. OFR_506";
        assert_eq!(class(code("5.2.0"), orange, "", false), Class::Policy);
        let client = "450 4.7.1 <c.example[192.0.2.56]>: Client host rejected";
        assert_eq!(class(code("4.7.1"), client, "", false), Class::Policy);
    }

    // Before: protocol errors (500 to 504), "Protocol violation", "Line limit exceeded" and an
    // unexplained refusal after the end of data were unknown.
    #[test]
    fn a_protocol_error_or_a_refusal_of_the_message_is_policy() {
        for (status, text) in [
            ("5.5.0", "503 Improper sequence of commands"),
            ("5.0.0", "504 Command parameter not implemented"),
            ("5.0.0", "550 Protocol violation (in reply to DATA command)"),
            ("5.0.0", "after end of data: 500 Line limit exceeded"),
            (
                "5.0.0",
                "SMTP error from remote mail server after end of data: 550 Go away",
            ),
        ] {
            assert_eq!(
                class(code(status), text, "", false),
                Class::Policy,
                "{text}"
            );
        }
        assert_eq!(
            reply_code("host mx [192.0.2.1] said: 550-5.1.1 no"),
            Some(550)
        );
        assert_eq!(reply_code("at 23:34:45 on 2010-04-29 port 2525"), None);
    }

    // Before: "content" matched every report's `Content-Type` (policy); an ezweb "not delivered
    // within 0 days and 1 hours. Remote host is not responding" was unknown.
    #[test]
    fn a_content_type_header_is_no_content_refusal_and_no_answer_is_soft() {
        let headers = "Subject: Hi MIME-Version: 1.0 Content-type: text/html; charset=utf-8";
        assert_eq!(class(None, headers, "", false), Class::Unknown);
        assert_eq!(
            class(None, "550 5.7.1 Message content rejected, UBE", "", false),
            Class::Policy
        );
        let ezweb = "Your message was not delivered within 0 days and 1 hours. \
                     Remote host is not responding.";
        assert_eq!(class(None, "", ezweb, false), Class::Soft);
    }

    // Before: Domino's and Lotus Notes' Japanese "not found in the directory" were unknown,
    // Hotmail's "554 … the domain is not reachable" soft, and a delivery "aborted after 5.0
    // hour(s)" of retries unknown.
    #[test]
    fn japanese_directory_misses_and_an_unreachable_domain_are_hard_and_a_given_up_delivery_soft() {
        for text in [
            "ユーザー Neko (a@b.example) は Domino ディレクトリには見つかりません。",
            "ディレクトリのリストにありません",
            "554 The mail could not be delivered to the recipient because the domain is not \
             reachable. Please check the domain and try again",
        ] {
            assert_eq!(class(code("5.0.0"), text, "", false), Class::Hard, "{text}");
        }
        let later = "451 The domain is not reachable";
        assert_eq!(class(code("4.4.0"), later, "", false), Class::Soft);
        let x3 = "Delevery to the following recipients was aborted after 5.0 hour(s): \
                  Routing: Could not find a gateway for a@b.example";
        assert_eq!(class(None, x3, "", false), Class::Soft);
    }

    // Before: 5.4.4 (unable to route: the domain has no usable mail servers) was soft like any
    // network failure, so a domain whose DNS gives no route was mailed for ever.
    #[test]
    fn a_permanent_failure_to_route_is_hard_and_a_transient_one_soft() {
        let postfix = "Name service error for name=example.org type=MX: Malformed or \
                       unexpected name server reply";
        assert_eq!(class(code("5.4.4"), postfix, "", false), Class::Hard);
        assert_eq!(class(code("4.4.4"), postfix, "", false), Class::Soft);
        assert_eq!(class(code("5.4.1"), "no answer", "", false), Class::Soft);
    }

    // Before: Postfix's "(in reply to MAIL FROM command)" was not read as a refusal of our sender,
    // so "554 Transaction failed" there was unknown and a sender listed at Spamhaus with 5.1.0
    // could be hard.
    #[test]
    fn a_refusal_in_reply_to_mail_from_is_policy() {
        for (status, text) in [
            (
                "5.0.0",
                "host mx.example[192.0.2.2] said: 554 Transaction failed (in reply to MAIL FROM \
                 command)",
            ),
            (
                "5.1.0",
                "said: 550 5.1.0 MailFrom domain is listed in Spamhaus (in reply to MAIL FROM \
                 command)",
            ),
        ] {
            assert_eq!(
                class(code(status), text, "", false),
                Class::Policy,
                "{text}"
            );
        }
        // The stage written only in the report's text, after the reply.
        let report = "<a@b.example>: host mx.b.example[192.0.2.1] said: 554 Transaction failed\n    \
                      (in reply to MAIL FROM command)\n";
        let diagnostic = "554 Transaction failed";
        assert_eq!(
            class(code("5.0.0"), diagnostic, report, false),
            Class::Policy
        );
        let rcpt = report.replace("MAIL FROM", "RCPT TO");
        assert_eq!(
            class(code("5.0.0"), diagnostic, &rcpt, false),
            Class::Unknown
        );
    }

    // Before: Postfix's DSN gave "550 Unknown user" as the Diagnostic-Code and the stage only in
    // its text, so the refusal after the end of data was hard.
    #[test]
    fn the_stage_written_after_the_reply_in_the_report_text_counts() {
        let report = "<a@b.example>: host mx.b.example[192.0.2.1] said: 550 Unknown user\n    \
                      a@b.example (in reply to end of DATA command)\n";
        let diagnostic = "550 Unknown user a@b.example";
        assert_eq!(
            class(code("5.0.0"), diagnostic, report, false),
            Class::Policy
        );
        let rcpt = report.replace("end of DATA", "RCPT TO");
        assert_eq!(class(code("5.0.0"), diagnostic, &rcpt, false), Class::Hard);
        // mFILTER's "SMTP command DATA" does not date the refusal (pipelining).
        let mfilter = "-------server message 550 5.1.1 <a@b.example>: Recipient address rejected: \
                       User unknown in local recipient table -------SMTP command DATA";
        assert_eq!(class(code("5.1.1"), mfilter, "", false), Class::Hard);
    }
}
