//! Sending errors, classified the way the send loop needs: retry later, give up on this recipient,
//! give up on the message, or stop the whole send. A server's refusal keeps its reply code, its
//! RFC 3463 enhanced status code and its text, and is classified by the codes, never the wording.

use std::fmt;

/// An RFC 3463 enhanced status code, `class.subject.detail` (e.g. `5.1.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Enhanced {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    /// What the code is about: 1 addressing, 2 mailbox, 3 mail system, 4 network, 5 protocol,
    /// 6 content, 7 security or policy.
    pub subject: u16,
    /// The detail within the subject.
    pub detail: u16,
}

impl Enhanced {
    /// Parses an enhanced code at the start of `text` (RFC 3463: `class "." subject "." detail`,
    /// class 2, 4 or 5, subject and detail of 1 to 3 digits, followed by a space or the end); the
    /// code and the rest of the text after the separating space.
    pub fn parse_prefix(text: &str) -> Option<(Enhanced, &str)> {
        let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
        let mut parts = word.split('.');
        let number = |part: Option<&str>, max_len: usize| {
            part.filter(|p| {
                (1..=max_len).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
            })
            .and_then(|p| p.parse::<u16>().ok())
        };
        let class = number(parts.next(), 1)?;
        let subject = number(parts.next(), 3)?;
        let detail = number(parts.next(), 3)?;
        if parts.next().is_some() || !matches!(class, 2 | 4 | 5) {
            return None;
        }
        let class = class as u8;
        Some((
            Enhanced {
                class,
                subject,
                detail,
            },
            rest,
        ))
    }
}

impl fmt::Display for Enhanced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// A server's reply: `550 5.1.1 <x@y>: User unknown`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    /// The three-digit reply code.
    pub code: u16,
    /// The enhanced status code the text starts with, when it has one that agrees with the code.
    pub enhanced: Option<Enhanced>,
    /// The text after the enhanced code (the lines of a multi-line reply joined by spaces).
    pub text: String,
}

impl Reply {
    /// A reply with `code` and `text`; an enhanced code at the start of the text is taken out of
    /// it, if its class agrees with the reply code (RFC 2034 section 4).
    pub fn new(code: u16, text: &str) -> Reply {
        match Enhanced::parse_prefix(text) {
            Some((enhanced, rest)) if u16::from(enhanced.class) == code / 100 => Reply {
                code,
                enhanced: Some(enhanced),
                text: rest.to_string(),
            },
            _ => Reply {
                code,
                enhanced: None,
                text: text.to_string(),
            },
        }
    }

    /// Parses a reply line as a server writes it (`550 5.1.1 <x@y>: User unknown`); `None` unless
    /// it starts with a three-digit code from 200 to 599.
    pub fn parse(line: &str) -> Option<Reply> {
        let digits = line.get(..3)?;
        let rest = &line[3..];
        if !digits.bytes().all(|b| b.is_ascii_digit())
            || !(rest.is_empty() || rest.starts_with([' ', '-']))
        {
            return None;
        }
        let code: u16 = digits.parse().ok()?;
        (200..600)
            .contains(&code)
            .then(|| Reply::new(code, rest.get(1..).unwrap_or("")))
    }

    /// The reply of a lettre error, if the server replied at all.
    fn from_lettre(e: &lettre::transport::smtp::Error) -> Option<Reply> {
        let c = e.status()?;
        let code = u16::from(c.severity as u8) * 100
            + u16::from(c.category as u8) * 10
            + u16::from(c.detail as u8);
        // lettre keeps the reply's lines, joined by spaces, as the error's source.
        let text = std::error::Error::source(e)
            .map(ToString::to_string)
            .unwrap_or_default();
        Some(Reply::new(code, &text))
    }

    /// A 4xx reply: the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        self.code / 100 == 4
    }

    /// What the reply means for the send, from its codes.
    pub fn class(&self) -> ReplyClass {
        let enhanced = self.enhanced.map(|e| (e.class, e.subject, e.detail));
        match (enhanced, self.code) {
            (Some((_, 2, 2)), _) => ReplyClass::MailboxFull,
            (Some((4, 7, _)), _) | (_, 421 | 451 | 452 | 454) => ReplyClass::Throttle,
            (Some((5, 1, _)), _) => ReplyClass::BadAddress,
            // RFC 1870: 552 is the reply to a message over the declared or fixed size limit.
            (Some((5, 3, 4)), _) | (None, 552) => ReplyClass::TooBig,
            (Some((5, 6 | 7, _)), _) => ReplyClass::Refused,
            _ if self.is_transient() => ReplyClass::OtherTransient,
            _ => ReplyClass::OtherPermanent,
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = self.enhanced {
            write!(f, " {e}")?;
        }
        if !self.text.is_empty() {
            write!(f, " {}", self.text)?;
        }
        Ok(())
    }
}

/// What a refusal means, by its reply code and enhanced status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyClass {
    /// The server asks everyone to slow down: 421, 451, 452, 454 or any 4.7.x (SES:
    /// `454 Throttling failure: Maximum sending rate exceeded`).
    Throttle,
    /// The address does not exist or cannot be delivered to (5.1.x): a hard bounce.
    BadAddress,
    /// The mailbox is full (4.2.2 or 5.2.2).
    MailboxFull,
    /// The message is too big (5.3.4, or 552 without an enhanced code).
    TooBig,
    /// The content or a policy was refused (5.6.x, 5.7.x).
    Refused,
    /// Any other 4xx.
    OtherTransient,
    /// Any other 5xx.
    OtherPermanent,
}

impl ReplyClass {
    /// A short name for metrics and reports: `throttle`, `bad_address`, `mailbox_full`,
    /// `too_big`, `refused`, `other_transient`, `other_permanent`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyClass::Throttle => "throttle",
            ReplyClass::BadAddress => "bad_address",
            ReplyClass::MailboxFull => "mailbox_full",
            ReplyClass::TooBig => "too_big",
            ReplyClass::Refused => "refused",
            ReplyClass::OtherTransient => "other_transient",
            ReplyClass::OtherPermanent => "other_permanent",
        }
    }
}

/// Where in the SMTP dialogue a refusal came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The greeting or EHLO, before any message.
    Greeting,
    /// `MAIL FROM`: about the sender or the message as a whole (its declared size).
    Mail,
    /// `RCPT TO`: about this recipient.
    Rcpt,
    /// The `DATA` command, before the body is sent.
    Data,
    /// The reply after the body: about the message as delivered to this recipient.
    Body,
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The server refused, with a 4xx or 5xx reply.
    #[error("{reply}")]
    Rejected {
        /// Where the refusal came.
        stage: Stage,
        /// The server's reply.
        reply: Reply,
    },
    /// The message cannot go to this recipient over this server (e.g. a non-ASCII address and no
    /// SMTPUTF8, or the message could not be built): permanent, nothing was sent.
    #[error("{0}")]
    Unsendable(String),
    /// The connection failed or broke (refused, reset, timeout): try again on a new connection.
    #[error("{0}")]
    Connection(String),
    /// Nothing can be sent with this configuration (TLS unavailable, login refused): stop.
    #[error("{0}")]
    Fatal(String),
}

impl Error {
    /// The reply, if the server refused.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Error::Rejected { reply, .. } => Some(reply),
            _ => None,
        }
    }

    /// Worth retrying (4xx, connection trouble).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Rejected { reply, .. } => reply.is_transient(),
            Error::Connection(_) => true,
            Error::Unsendable(_) | Error::Fatal(_) => false,
        }
    }

    /// A permanent failure for this recipient (5xx, or a message that cannot be sent).
    pub fn is_permanent(&self) -> bool {
        match self {
            Error::Rejected { reply, .. } => !reply.is_transient(),
            Error::Unsendable(_) => true,
            Error::Connection(_) | Error::Fatal(_) => false,
        }
    }

    /// The whole send must stop.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Error::Fatal(_))
    }

    /// Whether the server asked everyone to slow down.
    pub fn is_throttle(&self) -> bool {
        self.reply()
            .is_some_and(|r| r.class() == ReplyClass::Throttle)
    }

    /// Whether a permanent failure says the recipient's address does not exist (a hard bounce:
    /// 5.1.x about a recipient, not about the sender on `MAIL FROM`).
    pub fn is_hard_bounce(&self) -> bool {
        matches!(self, Error::Rejected { stage: Stage::Rcpt | Stage::Data | Stage::Body, reply }
            if !reply.is_transient() && reply.class() == ReplyClass::BadAddress)
    }

    /// Whether a permanent failure is about the message itself, so that it would repeat for every
    /// recipient: any refusal of `MAIL FROM` (the sender, or the declared size), and a size,
    /// content or policy refusal of the message (5.3.4, 5.6.x, 5.7.x on `DATA` or after the body).
    /// A refusal on `RCPT TO` is about the recipient, whatever its code.
    pub fn is_message_level(&self) -> bool {
        match self {
            Error::Rejected { stage, reply } if !reply.is_transient() => match stage {
                Stage::Mail => true,
                Stage::Data | Stage::Body => {
                    matches!(reply.class(), ReplyClass::TooBig | ReplyClass::Refused)
                }
                Stage::Greeting | Stage::Rcpt => false,
            },
            _ => false,
        }
    }

    /// Whether the connection is in doubt after this error and must not be used again: an I/O
    /// error or timeout, or a 421 (the server is closing the channel).
    pub fn drops_connection(&self) -> bool {
        match self {
            Error::Connection(_) | Error::Fatal(_) => true,
            Error::Rejected { reply, .. } => reply.code == 421,
            Error::Unsendable(_) => false,
        }
    }

    /// Whether the connection is left mid-transaction and needs `RSET` before the next message: a
    /// refusal before the body (after the body, the transaction is over either way).
    pub fn needs_reset(&self) -> bool {
        matches!(
            self,
            Error::Rejected {
                stage: Stage::Mail | Stage::Rcpt | Stage::Data,
                ..
            }
        ) && !self.drops_connection()
    }

    /// Classifies a lettre SMTP error at `stage`: the server's reply if there is one; a client
    /// error (lettre refused the message for this server) cannot succeed on a retry; anything
    /// else is connection trouble.
    pub fn from_smtp(stage: Stage, e: &lettre::transport::smtp::Error) -> Error {
        match Reply::from_lettre(e) {
            Some(reply) => Error::Rejected { stage, reply },
            None if e.is_client() => Error::Unsendable(e.to_string()),
            None => Error::Connection(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(stage: Stage, line: &str) -> Error {
        Error::Rejected {
            stage,
            reply: Reply::parse(line).unwrap(),
        }
    }

    #[test]
    fn a_reply_keeps_its_codes_and_reads_as_the_server_wrote_it() {
        let r = Reply::parse("550 5.1.1 <x@y>: User unknown").unwrap();
        assert_eq!(r.code, 550);
        assert_eq!(
            r.enhanced,
            Some(Enhanced {
                class: 5,
                subject: 1,
                detail: 1
            })
        );
        assert_eq!(r.text, "<x@y>: User unknown");
        assert_eq!(r.to_string(), "550 5.1.1 <x@y>: User unknown");
        // No enhanced code, one that disagrees with the reply code, or one later in the text.
        for (line, text) in [
            ("554 no thanks", "no thanks"),
            ("550 4.1.1 odd", "4.1.1 odd"),
            ("550 user 5.1.1 unknown", "user 5.1.1 unknown"),
            ("550 5.1 short", "5.1 short"),
            ("550 5.1.1234 long", "5.1.1234 long"),
            ("550 5.1.1.1 extra", "5.1.1.1 extra"),
        ] {
            let r = Reply::parse(line).unwrap();
            assert_eq!((r.enhanced, r.text.as_str()), (None, text), "{line}");
            assert_eq!(r.to_string(), line);
        }
        assert_eq!(Reply::parse("250").unwrap().to_string(), "250");
        for bad in ["", "55", "5x0 no", "550x", "150 low", "650 high", "ünï"] {
            assert_eq!(Reply::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn throttling_replies_pause_the_sender() {
        for line in [
            "421 4.7.0 too many connections",
            "451 4.3.0 try later",
            "452 4.5.3 too many recipients",
            "454 Throttling failure: Maximum sending rate exceeded",
            "450 4.7.1 rate limited",
        ] {
            let e = rejected(Stage::Rcpt, line);
            assert!(e.is_throttle() && e.is_transient(), "{line}");
        }
        assert!(!rejected(Stage::Rcpt, "450 4.2.1 mailbox busy").is_throttle());
        assert!(!Error::Connection("connection reset".into()).is_throttle());
    }

    #[test]
    fn an_unknown_address_is_a_hard_bounce_but_not_a_policy_or_sender_refusal() {
        let bounce = rejected(Stage::Rcpt, "550 5.1.1 <x@y>: User unknown");
        assert!(bounce.is_hard_bounce() && bounce.is_permanent());
        assert!(!bounce.is_message_level());
        assert!(rejected(Stage::Body, "550 5.1.10 null MX").is_hard_bounce());
        assert!(!rejected(Stage::Rcpt, "450 4.1.1 try later").is_hard_bounce());
        assert!(!rejected(Stage::Rcpt, "550 no such user here").is_hard_bounce());
        assert!(!rejected(Stage::Body, "554 5.7.1 spam").is_hard_bounce());
        // 5.1.8 on MAIL FROM is about our sender address, and repeats for everyone.
        let sender = rejected(Stage::Mail, "553 5.1.8 sender domain does not exist");
        assert!(!sender.is_hard_bounce() && sender.is_message_level());
    }

    #[test]
    fn a_full_mailbox_is_neither_a_bounce_nor_about_the_message() {
        for (line, transient) in [
            ("552 5.2.2 mailbox full", false),
            ("452 4.2.2 over quota", true),
        ] {
            let e = rejected(Stage::Rcpt, line);
            assert_eq!(
                e.reply().unwrap().class(),
                ReplyClass::MailboxFull,
                "{line}"
            );
            assert_eq!(e.is_transient(), transient);
            assert!(!e.is_hard_bounce() && !e.is_message_level() && !e.is_throttle());
        }
    }

    #[test]
    fn a_message_too_big_is_about_the_message() {
        let e = rejected(Stage::Body, "552 5.3.4 message size exceeds fixed limit");
        assert_eq!(e.reply().unwrap().class(), ReplyClass::TooBig);
        assert!(e.is_message_level() && e.is_permanent());
        // aiosmtpd refuses a declared SIZE with a bare 552 (RFC 1870).
        let declared = rejected(
            Stage::Mail,
            "552 Error: message size exceeds fixed maximum message size",
        );
        assert_eq!(declared.reply().unwrap().class(), ReplyClass::TooBig);
        assert!(declared.is_message_level());
    }

    #[test]
    fn content_and_policy_refusals_are_about_the_message_unless_given_on_rcpt() {
        for line in [
            "554 5.7.1 message rejected as spam",
            "550 5.6.0 bad content",
        ] {
            assert_eq!(
                Reply::parse(line).unwrap().class(),
                ReplyClass::Refused,
                "{line}"
            );
            assert!(rejected(Stage::Body, line).is_message_level(), "{line}");
            assert!(rejected(Stage::Data, line).is_message_level(), "{line}");
            assert!(!rejected(Stage::Rcpt, line).is_message_level(), "{line}");
        }
    }

    #[test]
    fn connection_trouble_and_configuration_errors_stay_distinct() {
        let c = Error::Connection("reset by peer".into());
        assert!(c.is_transient() && c.drops_connection() && !c.is_fatal());
        let f = Error::Fatal("login refused".into());
        assert!(f.is_fatal() && !f.is_transient() && !f.is_permanent());
        // 421 closes the channel; other refusals keep the connection, after RSET if mid-way.
        assert!(rejected(Stage::Rcpt, "421 4.7.0 closing").drops_connection());
        let rcpt = rejected(Stage::Rcpt, "550 5.1.1 unknown");
        assert!(!rcpt.drops_connection() && rcpt.needs_reset());
        assert!(!rejected(Stage::Body, "554 5.7.1 spam").needs_reset());
        let other = rejected(Stage::Rcpt, "550 mailbox unavailable");
        assert_eq!(other.reply().unwrap().class(), ReplyClass::OtherPermanent);
        assert!(other.is_permanent() && !other.is_message_level());
    }
}
