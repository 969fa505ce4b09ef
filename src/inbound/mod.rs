//! Hearing back: what a message that came back to digest says.
//!
//! [`classify`] reads one raw message (as received: a bounce, a complaint, an auto-reply, a mailed
//! unsubscribe request, or a human reply) and says what [`Kind`] it is and, for each recipient it
//! reports on, a [`Finding`]: the recipient, the [`Class`] of the failure (hard, soft, policy…),
//! the RFC 3463 enhanced status code and the diagnostic text. It also extracts what later matching
//! against the ledger needs ([`Original`]: the returned message's Message-ID, `To`, List-Id and
//! unsubscribe token) and the envelope recipient of the message itself (the return path, for
//! VERP). It changes nothing and needs no configuration: applying a result is the caller's work.
//!
//! Formats read: RFC 3464 delivery status notifications (with the returned message as
//! `message/rfc822` or `text/rfc822-headers`), the plain-text bounces of MTAs that send none
//! (qmail, Exim, Sendmail, Exchange, Gmail, Yahoo … : the failed addresses and the lines that
//! follow them), Amazon SES notifications, ARF complaints (RFC 5965) and Microsoft JMRP
//! complaints, RFC 3834 auto-replies and vacation notices, and mails
//! to the `mailto:` of digest's `List-Unsubscribe` (`subject=unsubscribe%20TOKEN`).
//!
//! Input is untrusted: [`classify`] never panics, reads at most [`MAX_MESSAGE`] bytes of a message,
//! and every text it returns is on one line, without control or bidi characters, and bounded; at
//! most [`MAX_FINDINGS`] recipients are read from one message.

mod dsn;
pub mod imap;
pub mod matching;
pub mod policy;
pub mod process;
pub mod providers;
mod reason;
mod scan;
mod ses;

use mail_parser::{Message, MessageParser, MimeHeaders as _, PartType};

use crate::mail::error::Enhanced;
use crate::text::one_line;

/// How much of a message is read: a longer one is classified from its first 10 MiB (a bounce's
/// report comes first; only the returned copy of a large message is cut).
pub const MAX_MESSAGE: usize = 10 * 1024 * 1024;

/// Longest diagnostic kept, in characters.
pub const MAX_DIAGNOSTIC: usize = 400;

/// Most findings (recipients) read from one message; a report on more is cut there.
pub const MAX_FINDINGS: usize = 1000;

/// Longest address, Message-ID, List-Id or token kept, in characters (longer ones are dropped).
const MAX_FIELD: usize = 320;

/// The one message parser of inbound mail: it parses only the headers classification reads as
/// typed values (MIME headers, `Subject`, `From`, `To`, `Message-ID`) and skips the rest, which
/// are read raw through their offsets (`header_raw`). The default parser also tokenised every
/// `Received` line of every returned copy: the largest single cost of classifying a bounce.
pub fn parser() -> &'static MessageParser {
    static PARSER: std::sync::LazyLock<MessageParser> = std::sync::LazyLock::new(|| {
        MessageParser::new()
            .with_mime_headers()
            .header_text(mail_parser::HeaderName::Subject)
            .header_address(mail_parser::HeaderName::From)
            .header_address(mail_parser::HeaderName::To)
            .header_id(mail_parser::HeaderName::MessageId)
            .default_header_ignore()
    });
    &PARSER
}

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A delivery failure (or delay) report: a DSN or an MTA's plain-text bounce.
    Bounce,
    /// A complaint: an abuse or opt-out feedback report (ARF, RFC 5965).
    Complaint,
    /// An automatic reply: vacation, out of office (RFC 3834).
    AutoReply,
    /// A request to unsubscribe, mailed to the `List-Unsubscribe` `mailto:` address.
    Unsubscribe,
    /// Anything else, such as a person's reply.
    Other,
}

impl Kind {
    /// The name used in output: `bounce`, `complaint`, `auto_reply`, `unsubscribe`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bounce => "bounce",
            Kind::Complaint => "complaint",
            Kind::AutoReply => "auto_reply",
            Kind::Unsubscribe => "unsubscribe",
            Kind::Other => "other",
        }
    }
}

/// What a report means for one recipient's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// The address does not work: user or host unknown (5.1.x), the mailbox moved or is not
    /// accepted. Mailing it again is pointless.
    Hard,
    /// The address exists but could not take mail now: mailbox full or over quota, disabled,
    /// delivery expired, a temporary or remote-system failure.
    Soft,
    /// Refused for a reason that is not the address's fault: blocked, spam, content, size, sender
    /// authentication, relaying.
    Policy,
    /// The recipient complained (marked the message as spam or asked out through a feedback loop).
    Complaint,
    /// An automatic reply; the message was delivered.
    AutoReply,
    /// A failure whose cause the report does not tell.
    Unknown,
}

impl Class {
    /// The name used in output: `hard`, `soft`, `policy`, `complaint`, `auto_reply`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Hard => "hard",
            Class::Soft => "soft",
            Class::Policy => "policy",
            Class::Complaint => "complaint",
            Class::AutoReply => "auto_reply",
            Class::Unknown => "unknown",
        }
    }
}

/// What a message says about one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The recipient reported on, lower-cased: the failed address of a bounce, the complaining
    /// recipient of a complaint, the sender of an auto-reply or unsubscribe request; `None` when
    /// the message does not say.
    pub recipient: Option<String>,
    /// What it means for the address; `None` for an unsubscribe request, which reports no
    /// failure.
    pub class: Option<Class>,
    /// The enhanced status code reported (the most specific one found), if any.
    pub status: Option<Enhanced>,
    /// The server's or report's explanation (one line, at most [`MAX_DIAGNOSTIC`] characters;
    /// empty when there is none).
    pub diagnostic: String,
    /// A delay warning (a DSN with `Action: delayed`): the sending server is still trying, and the
    /// message may yet arrive. Recorded, but never counted toward a soft-bounce suppression.
    pub delayed: bool,
}

/// What a report tells about the message digest sent, for matching it to the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Original {
    /// Its Message-ID, without the angle brackets.
    pub message_id: Option<String>,
    /// The first address of its `To`, lower-cased.
    pub to: Option<String>,
    /// Its `List-Id` (the part in angle brackets when there is one).
    pub list_id: Option<String>,
    /// The token of its `List-Unsubscribe` `mailto:` (`subject=unsubscribe%20TOKEN`).
    pub unsubscribe_token: Option<String>,
}

/// The classification of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// What the message is.
    pub kind: Kind,
    /// One finding per recipient reported on; empty for [`Kind::Other`].
    pub findings: Vec<Finding>,
    /// What the message tells about the message digest sent (from a returned copy or its headers,
    /// or an ARF report's original part).
    pub original: Original,
    /// The envelope recipient of this message (`Delivered-To`, `X-Original-To`, else `To`),
    /// lower-cased: the return path a bounce was sent to, where VERP encodes the recipient.
    pub envelope_to: Option<String>,
    /// The unsubscribe token of an unsubscribe request (in its subject or `To` address).
    pub token: Option<String>,
}

impl Classified {
    /// Each finding, or one `None` for a message with none: a report keeps a row per message.
    pub fn rows(&self) -> Vec<Option<&Finding>> {
        match self.findings.is_empty() {
            true => vec![None],
            false => self.findings.iter().map(Some).collect(),
        }
    }
}

/// Classifies one raw message (RFC 5322 bytes, any line endings). Never panics; reads at most
/// [`MAX_MESSAGE`] bytes.
pub fn classify(raw: &[u8]) -> Classified {
    let raw = &raw[..raw.len().min(MAX_MESSAGE)];
    let Some(message) = parser().parse(raw) else {
        return Classified {
            kind: Kind::Other,
            findings: Vec::new(),
            original: Original::default(),
            envelope_to: None,
            token: None,
        };
    };
    let envelope_to = ["Delivered-To", "X-Original-To"]
        .into_iter()
        .find_map(|h| message.header_raw(h).and_then(scan::first_address))
        .or_else(|| first_address_of(message.to()));
    let parts = Parts::of(&message);
    // A bounce forwarded as an attachment (by a person or a mail system): the report inside.
    let (message, parts) = forwarded_report(&message, &parts).unwrap_or((&message, parts));
    let original = parts.original();
    let (kind, findings, token) = judge(message, &parts, &original);
    Classified {
        kind,
        findings,
        original,
        envelope_to,
        token,
    }
}

/// The message's kind, findings and unsubscribe-request token.
fn judge(
    message: &Message<'_>,
    parts: &Parts,
    original: &Original,
) -> (Kind, Vec<Finding>, Option<String>) {
    let subject = message.subject().unwrap_or_default();
    let sender = first_address_of(message.from());
    if parts.feedback.is_some() || parts.jmrp.is_some() {
        let report = parts.feedback.as_deref().unwrap_or_default();
        let mut recipients: Vec<Option<String>> = dsn::feedback_recipients(report)
            .into_iter()
            .map(Some)
            .collect();
        if recipients.is_empty() {
            recipients.push(parts.jmrp.clone().or_else(|| original.to.clone()));
        }
        let diagnostic = dsn::field(report, "Feedback-Type").unwrap_or_default();
        let findings = recipients
            .into_iter()
            .map(|r| finding(r, Some(Class::Complaint), None, &diagnostic))
            .collect();
        return (Kind::Complaint, findings, None);
    }
    if let Some((kind, findings)) = ses::notification(&parts.report) {
        return (kind, findings, None);
    }
    if let Some(token) = unsubscribe_request(subject, message) {
        return (
            Kind::Unsubscribe,
            vec![finding(sender, None, None, subject)],
            token,
        );
    }
    let auto_reply = is_auto_reply(message, subject);
    let looks_bounced = parts.is_report
        || scan::is_bounce(message, subject, &sender)
        || (parts.returned.is_some() && scan::says_undelivered(&parts.report));
    // Delivery-status fields in a message's text count only in a bounce (a person may quote one).
    let mut reports = dsn::recipients(&parts.status);
    if reports.is_empty() && looks_bounced {
        reports = dsn::recipients(&parts.report);
    }
    reports.retain(|r| !r.delivered);
    if !reports.is_empty() && (looks_bounced || !auto_reply) {
        let explained = scan::failures(&parts.report, &[]);
        let general = general_text(&parts.report, explained.len(), &[]);
        let findings = reports
            .into_iter()
            .map(|r| {
                // The report's lines about this address, else what it says of all.
                let context = explained
                    .iter()
                    .find(|f| f.address == r.address && !f.text.is_empty())
                    .map_or(general, |f| f.text.as_str());
                let text = if r.diagnostic.is_empty() {
                    context
                } else {
                    &r.diagnostic
                };
                let status = reason::best_status(r.status, text);
                let class = reason::class(status, text, context, r.delayed);
                Finding {
                    delayed: r.delayed,
                    ..finding(Some(r.address), Some(class), status, text)
                }
            })
            .collect();
        return (Kind::Bounce, findings, None);
    }
    if auto_reply && !looks_bounced {
        return (
            Kind::AutoReply,
            vec![finding(sender, Some(Class::AutoReply), None, subject)],
            None,
        );
    }
    if looks_bounced {
        let to = first_address_of(message.to());
        let exclude = [sender.as_deref(), to.as_deref()];
        let mut found = scan::failures(&parts.report, &exclude);
        let general = general_text(&parts.report, found.len(), &exclude);
        if found.is_empty() {
            let whole = scan::Failure {
                address: original.to.clone().unwrap_or_default(),
                text: parts.report.clone(),
            };
            found.push(whole);
        }
        let findings = found
            .into_iter()
            .map(|f| {
                let status = reason::best_status(None, &f.text);
                let class = reason::class(status, &f.text, general, false);
                let recipient = (!f.address.is_empty()).then_some(f.address);
                finding(recipient, Some(class), status, &f.text)
            })
            .collect();
        return (Kind::Bounce, findings, None);
    }
    (Kind::Other, Vec::new(), None)
}

/// What a bounce's text `report` says of every address: all of it, unless it explains more than
/// one failed address (`failures` of them): then only its text before the first, as the rest
/// explains other addresses ("User unknown" for one must not make another's refusal hard).
fn general_text<'r>(report: &'r str, failures: usize, exclude: &[Option<&str>]) -> &'r str {
    match failures {
        0 | 1 => report,
        _ => scan::preamble(report, exclude),
    }
}

/// The delivery report a message forwards: its attached message, when the message is no report
/// itself and the attached one is a `multipart/report` with a delivery-status part. (A bounce
/// returns the message digest sent, which is never a report.)
fn forwarded_report<'m>(
    message: &'m Message<'m>,
    parts: &Parts,
) -> Option<(&'m Message<'m>, Parts)> {
    if parts.is_report || !parts.status.is_empty() || parts.feedback.is_some() {
        return None;
    }
    let inner = message.parts.iter().find_map(|part| match &part.body {
        PartType::Message(inner) => Some(inner),
        _ => None,
    })?;
    let inner_parts = Parts::of(inner);
    (inner_parts.is_report && !inner_parts.status.is_empty()).then_some((inner, inner_parts))
}

/// A finding with its diagnostic cleaned and bounded.
fn finding(
    recipient: Option<String>,
    class: Option<Class>,
    status: Option<Enhanced>,
    diagnostic: &str,
) -> Finding {
    Finding {
        recipient,
        class,
        status,
        diagnostic: one_line(diagnostic, MAX_DIAGNOSTIC),
        delayed: false,
    }
}

/// The token of a mailed unsubscribe request (`Some(None)` for a request without one): a subject
/// `unsubscribe [TOKEN]`, or a `To` address `…+unsubscribe-TOKEN@…`.
fn unsubscribe_request(subject: &str, message: &Message<'_>) -> Option<Option<String>> {
    let words: Vec<&str> = subject.split_whitespace().collect();
    let in_subject = match words.as_slice() {
        [first, rest @ ..] if first.eq_ignore_ascii_case("unsubscribe") && rest.len() <= 1 => {
            Some(rest.first().and_then(|t| token(t)))
        }
        _ => None,
    };
    in_subject.or_else(|| {
        // Not lower-cased: tokens are case-sensitive.
        let to = message.to()?.first()?.address()?;
        let local = to.split('@').next()?;
        let (_, tail) = local.split_once("+unsubscribe-")?;
        Some(token(tail))
    })
}

/// `word` if it can be an unsubscribe token (base64url, bounded).
fn token(word: &str) -> Option<String> {
    let ok = !word.is_empty()
        && word.len() <= MAX_FIELD
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| word.to_string())
}

/// Whether the message says it is an automatic reply (RFC 3834 `Auto-Submitted: auto-replied`,
/// or the headers and subjects of common vacation responders).
fn is_auto_reply(message: &Message<'_>, subject: &str) -> bool {
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if header("Auto-Submitted").is_some_and(|v| v.starts_with("auto-replied")) {
        return true;
    }
    if [
        "X-Autoreply",
        "X-Autorespond",
        "X-Vacation",
        "X-Apple-Action",
    ]
    .iter()
    .any(|h| header(h).is_some())
        || header("Precedence").is_some_and(|v| v == "auto_reply")
        || header("X-Auto-Response-Suppress").is_some_and(|v| v.contains("oof"))
    {
        return true;
    }
    let subject = subject.to_lowercase();
    [
        "auto reply",
        "auto-reply",
        "autoreply",
        "automatic reply",
        "autorespons",
        "out of office",
        "out of the office",
        "vacation",
        "abwesenheitsnotiz",
        "réponse automatique",
    ]
    .iter()
    .any(|p| subject.contains(p))
}

/// The first address of a header, lower-cased and bounded.
fn first_address_of(address: Option<&mail_parser::Address<'_>>) -> Option<String> {
    address?.first()?.address().and_then(scan::first_address)
}

/// The parts of a message that classification reads.
#[derive(Default)]
struct Parts {
    /// Whether it is a `multipart/report`.
    is_report: bool,
    /// The `message/delivery-status` parts, concatenated.
    status: String,
    /// The `message/feedback-report` part of an ARF report.
    feedback: Option<String>,
    /// The human-readable text: the text parts outside the returned message, up to where a
    /// returned copy starts.
    report: String,
    /// Headers of the returned message, from a `message/rfc822` or `text/rfc822-headers` part
    /// or the copy inlined in the text.
    returned: Option<String>,
    /// The complaining recipient of a Microsoft JMRP complaint (no ARF part: the message is
    /// returned with an `X-HmXmrOriginalRecipient` header).
    jmrp: Option<String>,
}

impl Parts {
    fn of(message: &Message<'_>) -> Parts {
        let mut parts = Parts {
            is_report: message.content_type().is_some_and(|c| {
                c.ctype().eq_ignore_ascii_case("multipart")
                    && c.subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            }),
            ..Parts::default()
        };
        let mut html = String::new();
        for part in &message.parts {
            let (ctype, subtype) = part.content_type().map_or(("text", "plain"), |c| {
                (c.ctype(), c.subtype().unwrap_or(""))
            });
            let ctype = ctype.to_ascii_lowercase();
            let subtype = subtype.to_ascii_lowercase();
            match (&part.body, ctype.as_str(), subtype.as_str()) {
                (PartType::Multipart(_), _, _) => {}
                (PartType::Message(inner), _, _) if parts.returned.is_none() => {
                    parts.returned = Some(headers_text(inner));
                }
                (_, "message", "delivery-status" | "global-delivery-status") => {
                    parts
                        .status
                        .push_str(&String::from_utf8_lossy(part.contents()));
                    parts.status.push_str("\n\n");
                }
                (_, "message", "feedback-report") => {
                    parts.feedback = Some(String::from_utf8_lossy(part.contents()).into_owned());
                }
                (_, "text" | "message", "rfc822-headers") => {
                    parts
                        .returned
                        .get_or_insert_with(|| String::from_utf8_lossy(part.contents()).into());
                }
                (PartType::Text(text), _, _) => {
                    parts.report.push_str(text);
                    parts.report.push('\n');
                }
                (PartType::Html(text), _, _) => {
                    html.push_str(text);
                    html.push('\n');
                }
                _ => {}
            }
        }
        if parts.report.trim().is_empty() {
            parts.report = scan::html_to_text(&html);
        }
        if parts.report.trim().is_empty() && parts.status.is_empty() {
            // Malformed MIME (a multipart whose boundary is not where it belongs): its raw body.
            parts.report = String::from_utf8_lossy(body_of(message)).into_owned();
        }
        if let Some(start) = scan::returned_copy(&parts.report) {
            parts
                .returned
                .get_or_insert_with(|| parts.report[start..].to_string());
            parts.report.truncate(start);
        }
        parts.jmrp = parts.returned.as_deref().and_then(|returned| {
            let headers = parser().parse_headers(returned.as_bytes())?;
            headers
                .header_raw("X-HmXmrOriginalRecipient")
                .and_then(scan::first_address)
        });
        parts
    }

    /// What the returned copy (or an ARF report's original part) tells of the original message.
    fn original(&self) -> Original {
        let Some(returned) = &self.returned else {
            return Original::default();
        };
        let Some(headers) = parser().parse_headers(returned.as_bytes()) else {
            return Original::default();
        };
        let bounded = |s: &str| {
            let s = one_line(s, MAX_FIELD + 1);
            (!s.is_empty() && s.chars().count() <= MAX_FIELD).then_some(s)
        };
        let list_id = headers.header_raw("List-Id").and_then(|v| {
            let inner = v.rsplit_once('<').and_then(|(_, r)| r.split_once('>'));
            bounded(inner.map_or(v, |(id, _)| id))
        });
        let unsubscribe_token = headers.header_raw("List-Unsubscribe").and_then(|v| {
            let lower = v.to_ascii_lowercase();
            let at = lower.find("subject=unsubscribe%20")? + "subject=unsubscribe%20".len();
            let tail = v.get(at..)?;
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(tail.len());
            token(&tail[..end])
        });
        Original {
            message_id: headers.message_id().and_then(bounded),
            to: first_address_of(headers.to()),
            list_id,
            unsubscribe_token,
        }
    }
}

/// Where the body of a parsed message starts in its raw bytes.
fn body_offset(message: &Message<'_>) -> usize {
    let raw = message.raw_message();
    message
        .root_part()
        .raw_body_offset()
        .try_into()
        .map_or(raw.len(), |end: usize| end.min(raw.len()))
}

/// The header section of a parsed (returned) message, as text.
fn headers_text(message: &Message<'_>) -> String {
    let raw = message.raw_message();
    String::from_utf8_lossy(&raw[..body_offset(message)]).into_owned()
}

/// The raw body of a parsed message.
fn body_of<'m>(message: &'m Message<'_>) -> &'m [u8] {
    let raw = message.raw_message();
    &raw[body_offset(message)..]
}

#[cfg(test)]
mod tests;
