//! Per-recipient messages. The issue's HTML and text bodies are quoted-printable encoded once, with
//! a soft line break at every hole, so each message only encodes its recipient's values and joins
//! the parts; the headers are built by lettre, which encodes untrusted text (RFC 2047) so a CR/LF
//! in a title can never start a header of its own.

use std::borrow::Cow;
use std::time::SystemTime;

use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};
use lettre::address::Envelope;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::{
    self, ContentTransferEncoding, ContentType, HeaderName, HeaderValue, Headers, MIME_VERSION_1_0,
};
use lettre::message::{Body, Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::{Address, Message};
use quoted_printable::{InputMode, Options};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::der::zeroize::Zeroizing;
use rsa::pkcs8::{DecodePrivateKey, LineEnding};

use crate::config::{Digest, DkimAlgorithm, Site};
use crate::issue::Issue;
use crate::model::IssueKey;
use crate::model::token::Keys;
use crate::render::{self, Escape, Field, Piece, Template, Values};

/// The RFC 8058 one-click body, announced in `List-Unsubscribe-Post`.
const ONE_CLICK: &str = "List-Unsubscribe=One-Click";
/// `Auto-Submitted` of every message.
const AUTO_GENERATED: &str = "auto-generated";

/// Headers covered by the DKIM signature when present (RFC 8058 requires the List-Unsubscribe pair).
const SIGNED: &[&str] = &[
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Feedback-ID",
];

/// A body quoted-printable encoded once, with holes.
#[derive(Debug, Clone)]
struct Encoded {
    parts: Vec<Part>,
    escape: Escape,
    len: usize,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(Vec<u8>),
    Field(Field),
}

/// A quoted-printable soft line break: invisible once decoded. Ending every part with a line
/// break (this one, unless the part ends with a hard one) lets each part start at column 0, so
/// parts can be encoded separately.
const SOFT_BREAK: &[u8] = b"=\r\n";

/// Appends the quoted-printable form of `text` to `out`, ending at the start of a line.
fn qp_part(text: &str, out: &mut Vec<u8>) {
    let encoded = qp(text);
    out.extend_from_slice(encoded.as_bytes());
    if !encoded.is_empty() && !encoded.ends_with("\r\n") {
        out.extend_from_slice(SOFT_BREAK);
    }
}

fn qp(text: &str) -> String {
    // Text mode keeps CRLF line breaks as line breaks.
    let crlf: Cow<'_, str> = if text.contains('\n') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\n', "\r\n"))
    } else {
        Cow::Borrowed(text)
    };
    quoted_printable::encode_with_options(
        crlf.as_bytes(),
        Options::default().input_mode(InputMode::Text),
    )
}

impl Encoded {
    fn new(template: &Template) -> Encoded {
        let parts: Vec<Part> = template
            .pieces()
            .map(|p| match p {
                Piece::Literal(s) => {
                    let mut bytes = Vec::new();
                    qp_part(s, &mut bytes);
                    Part::Literal(bytes)
                }
                Piece::Field(f) => Part::Field(f),
            })
            .collect();
        let len = parts
            .iter()
            .map(|p| if let Part::Literal(b) = p { b.len() } else { 0 })
            .sum();
        Encoded {
            parts,
            escape: template.escape(),
            len,
        }
    }

    fn fill(&self, values: &Values<'_>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len + 512);
        self.fill_into(values, &mut out);
        out
    }

    /// Appends the body for one recipient to `out`.
    fn fill_into(&self, values: &Values<'_>, out: &mut Vec<u8>) {
        let mut value = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(bytes) => out.extend_from_slice(bytes),
                Part::Field(f) => {
                    value.clear();
                    self.escape.apply(values.get(*f), &mut value);
                    qp_part(&value, out);
                }
            }
        }
        // A soft break ending the body joins it with nothing: drop it (the CRLF before the
        // next MIME boundary belongs to the boundary).
        if out.ends_with(SOFT_BREAK) {
            out.truncate(out.len() - SOFT_BREAK.len());
        }
    }
}

/// Who one message goes to.
#[derive(Debug, Clone, Copy)]
pub struct To<'a> {
    /// Subscriber id, for the unsubscribe token.
    pub subscriber: i64,
    /// Dedupe key, for the Message-ID.
    pub key: &'a str,
    /// Address.
    pub address: &'a Address,
    /// Display name.
    pub name: Option<&'a str>,
}

/// What every message of an issue shares outside its recipient's headers and values, formatted
/// once: the fixed headers (by lettre's encoders), the MIME frame and the part headers.
struct Frame {
    /// Fixed headers through Content-Type, the blank line, and the text part's opening.
    head: Vec<u8>,
    /// The HTML part's opening.
    middle: Vec<u8>,
    /// The closing boundary.
    tail: Vec<u8>,
}

impl Frame {
    fn new(fixed: &Headers, boundary: &str) -> Result<Frame> {
        let mut headers = fixed.clone();
        headers.set(MIME_VERSION_1_0);
        headers.set(ContentType::parse(&format!(
            "multipart/alternative; boundary=\"{boundary}\""
        ))?);
        let part = |kind: ContentType| {
            let mut h = Headers::new();
            h.set(kind);
            h.set(ContentTransferEncoding::QuotedPrintable);
            format!("--{boundary}\r\n{h}\r\n")
        };
        Ok(Frame {
            head: format!("{headers}\r\n{}", part(ContentType::TEXT_PLAIN)).into_bytes(),
            middle: format!("\r\n{}", part(ContentType::TEXT_HTML)).into_bytes(),
            tail: format!("\r\n--{boundary}--\r\n").into_bytes(),
        })
    }
}

/// The headers and values that differ per recipient.
struct Personal {
    unsubscribe: String,
    address: String,
    list_unsubscribe: String,
    mailbox: Mailbox,
    message_id: String,
}

/// An issue ready to be sent: rendered, encoded and with its fixed headers decided.
pub struct Prepared {
    /// The ledger's name for the issue.
    pub issue_key: IssueKey,
    digest: String,
    /// Subject line.
    pub subject: String,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    list_id: String,
    unsubscribe_base: String,
    mailto: Option<Address>,
    feedback_id: Option<String>,
    html: Encoded,
    text: Encoded,
    keys: Keys,
    id_domain: String,
    dkim: Option<DkimConfig>,
    frame: Frame,
}

/// What [`Prepared::new`] needs from the configuration.
pub struct Settings<'a> {
    /// The publisher.
    pub site: &'a Site,
    /// The digest.
    pub digest: &'a Digest,
    /// `[mail]`.
    pub mail: &'a crate::config::Mail,
    /// Unsubscribe (and Message-ID) keys.
    pub keys: &'a Keys,
    /// `[dkim]`, if signing.
    pub dkim: Option<&'a crate::config::Dkim>,
}

impl Prepared {
    /// Prepares `issue`, rendered as `email`, for sending.
    pub fn new(issue: &Issue, email: &render::Email, s: &Settings<'_>) -> Result<Prepared> {
        let from = s.digest.from.clone().unwrap_or_else(|| s.mail.from.clone());
        let host = url::Url::parse(&s.site.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| anyhow!("site.base_url has no host"))?;
        let description = s.digest.tag_name.replace(['"', '\\'], "");
        let dkim = s.dkim.map(dkim_config).transpose()?;
        let reply_to = s
            .digest
            .reply_to
            .clone()
            .or_else(|| s.mail.reply_to.clone());
        let list_id = format!("\"{description}\" <{}.{host}>", issue.digest);
        let issue_key = IssueKey::new(&issue.digest, issue.period);
        let mut fixed = Headers::new();
        fixed.set(header::From::from(Mailboxes::new().with(from.clone())));
        if let Some(r) = &reply_to {
            fixed.set(header::ReplyTo::from(Mailboxes::new().with(r.clone())));
        }
        fixed.set(header::Subject::from(email.subject.clone()));
        fixed.insert_raw(self::header("List-Id", list_id.clone()));
        fixed.insert_raw(self::header("List-Unsubscribe-Post", ONE_CLICK.into()));
        fixed.insert_raw(self::header("Auto-Submitted", AUTO_GENERATED.into()));
        if let Some(id) = &s.mail.feedback_id {
            fixed.insert_raw(self::header("Feedback-ID", id.clone()));
        }
        // "=_" never occurs in quoted-printable text, so no body can contain the boundary.
        let boundary = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            issue_key.hash(&mut h);
            format!("=_digest_{:016x}", h.finish())
        };
        let frame = Frame::new(&fixed, &boundary)?;
        Ok(Prepared {
            frame,
            issue_key,
            digest: issue.digest.clone(),
            subject: email.subject.clone(),
            id_domain: from.email.domain().to_string(),
            reply_to,
            from,
            list_id,
            unsubscribe_base: format!("{}/unsubscribe/", s.site.base_url),
            mailto: s.mail.unsubscribe_mailto.clone(),
            feedback_id: s.mail.feedback_id.clone(),
            html: Encoded::new(&email.html),
            text: Encoded::new(&email.text),
            keys: s.keys.clone(),
            dkim,
        })
    }

    /// The digest this issue belongs to.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The sender address (envelope and From:).
    pub fn from(&self) -> &Address {
        &self.from.email
    }

    /// The one-click unsubscribe URL of a subscriber.
    pub fn unsubscribe_url(&self, subscriber: i64) -> String {
        format!(
            "{}{}",
            self.unsubscribe_base,
            self.keys.sign(subscriber, &self.digest)
        )
    }

    /// What differs for `to`: unsubscribe URL and header, address, mailbox, Message-ID.
    fn personal(&self, to: &To<'_>) -> Personal {
        let unsubscribe = self.unsubscribe_url(to.subscriber);
        let mut list_unsubscribe = format!("<{unsubscribe}>");
        if let Some(mailto) = &self.mailto {
            let token = &unsubscribe[self.unsubscribe_base.len()..];
            list_unsubscribe.push_str(&format!(
                ", <mailto:{mailto}?subject=unsubscribe%20{token}>"
            ));
        }
        let name = to.name.map(|n| crate::text::one_line(n, 100));
        Personal {
            address: to.address.to_string(),
            list_unsubscribe,
            unsubscribe,
            mailbox: Mailbox::new(name, to.address.clone()),
            message_id: self
                .keys
                .message_id(&self.issue_key.to_string(), to.key, &self.id_domain),
        }
    }

    /// The envelope of a message to `to`. Given explicitly: lettre's derivation from the To header
    /// drops quoted local parts, and parsing From and To back out is a fifth of building a message.
    fn envelope(&self, to: &To<'_>) -> Result<Envelope> {
        Envelope::new(Some(self.from.email.clone()), vec![to.address.clone()])
            .context("building the envelope")
    }

    /// The message for one recipient as lettre's `Message`, dated `date`; a `test` message says so
    /// in its subject. Signed when DKIM is configured.
    pub fn message(&self, to: &To<'_>, date: DateTime<Utc>, test: bool) -> Result<Message> {
        let p = self.personal(to);
        let values = Values {
            unsubscribe_url: &p.unsubscribe,
            email: &p.address,
        };
        let subject = if test {
            format!("[TEST] {}", self.subject)
        } else {
            self.subject.clone()
        };
        let mut builder = Message::builder()
            .envelope(self.envelope(to)?)
            .from(self.from.clone())
            .to(p.mailbox)
            .subject(subject)
            .date(SystemTime::from(date))
            .message_id(Some(p.message_id))
            .raw_header(header("List-Id", self.list_id.clone()))
            .raw_header(header("List-Unsubscribe", p.list_unsubscribe))
            .raw_header(header("List-Unsubscribe-Post", ONE_CLICK.into()))
            .raw_header(header("Auto-Submitted", AUTO_GENERATED.into()));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        if let Some(id) = &self.feedback_id {
            builder = builder.raw_header(header("Feedback-ID", id.clone()));
        }
        let part = |body: &Encoded, kind: ContentType| {
            SinglePart::builder()
                .header(kind)
                .body(Body::dangerous_pre_encoded(
                    body.fill(&values),
                    ContentTransferEncoding::QuotedPrintable,
                ))
        };
        let mut message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(&self.text, ContentType::TEXT_PLAIN))
                    .singlepart(part(&self.html, ContentType::TEXT_HTML)),
            )
            .context("building the message")?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(message)
    }

    /// The envelope and the bytes of the message for one recipient, as sent. Without DKIM the
    /// message is written straight into one buffer: the recipient's headers, then the frame and
    /// the bodies encoded once per issue, spliced with the recipient's values (the same message
    /// as [`Prepared::message`], which DKIM signing needs).
    pub fn bytes(&self, to: &To<'_>, date: DateTime<Utc>) -> Result<(Envelope, Vec<u8>)> {
        let envelope = self.envelope(to)?;
        if self.dkim.is_some() {
            return Ok((envelope, self.message(to, date, false)?.formatted()));
        }
        let p = self.personal(to);
        let values = Values {
            unsubscribe_url: &p.unsubscribe,
            email: &p.address,
        };
        let mut own = Headers::new();
        own.set(header::To::from(Mailboxes::new().with(p.mailbox)));
        own.set(header::Date::new(SystemTime::from(date)));
        own.set(header::MessageId::from(p.message_id));
        own.insert_raw(header("List-Unsubscribe", p.list_unsubscribe));
        let own = own.to_string();
        let f = &self.frame;
        let size = own.len()
            + f.head.len()
            + self.text.len
            + f.middle.len()
            + self.html.len
            + f.tail.len()
            + 1024;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(own.as_bytes());
        out.extend_from_slice(&f.head);
        self.text.fill_into(&values, &mut out);
        out.extend_from_slice(&f.middle);
        self.html.fill_into(&values, &mut out);
        out.extend_from_slice(&f.tail);
        Ok((envelope, out))
    }
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

fn dkim_config(d: &crate::config::Dkim) -> Result<DkimConfig> {
    let algorithm = match d.algorithm {
        DkimAlgorithm::Rsa => DkimSigningAlgorithm::Rsa,
        DkimAlgorithm::Ed25519 => DkimSigningAlgorithm::Ed25519,
    };
    // lettre reads RSA keys as PKCS#1 PEM; `openssl genrsa` writes PKCS#8 since OpenSSL 3.
    let pkcs1;
    let pem = match d.algorithm {
        DkimAlgorithm::Rsa if d.key.expose().contains("-----BEGIN PRIVATE KEY-----") => {
            pkcs1 = pkcs8_to_pkcs1(d.key.expose())?;
            pkcs1.as_str()
        }
        _ => d.key.expose(),
    };
    // The error is about the key's format; it never contains the key.
    let key = DkimSigningKey::new(pem, algorithm).map_err(|e| {
        anyhow!(
            "DIGEST__DKIM__KEY is not a valid {:?} private key: {e}",
            d.algorithm
        )
    })?;
    let headers = SIGNED
        .iter()
        .map(|h| HeaderName::new_from_ascii_str(h))
        .collect();
    let relaxed = DkimCanonicalization {
        header: DkimCanonicalizationType::Relaxed,
        body: DkimCanonicalizationType::Relaxed,
    };
    Ok(DkimConfig::new(
        d.selector.clone(),
        d.domain.clone(),
        key,
        headers,
        relaxed,
    ))
}

/// A PKCS#8 PEM RSA private key (`BEGIN PRIVATE KEY`) as PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`).
fn pkcs8_to_pkcs1(pem: &str) -> Result<Zeroizing<String>> {
    let key = RsaPrivateKey::from_pkcs8_pem(pem.trim())
        .map_err(|e| anyhow!("DIGEST__DKIM__KEY is not a valid PKCS#8 RSA private key: {e}"))?;
    key.to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| anyhow!("DIGEST__DKIM__KEY: converting the RSA key to PKCS#1: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> String {
        let raw = quoted_printable::decode(bytes, quoted_printable::ParseMode::Strict).unwrap();
        String::from_utf8(raw).unwrap()
    }

    #[test]
    fn spliced_quoted_printable_decodes_to_the_filled_template() {
        let long = "x".repeat(200);
        let body = format!(
            "<p>Hello — {long} = done</p>\n<a href=\"{}\">u</a> to {}\nend \n{}",
            Field::UnsubscribeUrl.marker(),
            Field::Email.marker(),
            Field::Email.marker()
        );
        let template = Template::new(&body, Escape::Html);
        let values = Values {
            unsubscribe_url: "https://x.example/unsubscribe/Ab_-9?a=1&b=2",
            email: "a@b.example",
        };
        let encoded = Encoded::new(&template).fill(&values);
        assert!(encoded.is_ascii());
        for line in encoded.split(|&b| b == b'\n') {
            assert!(line.len() <= 77, "line of {} bytes", line.len());
        }
        let want = template.fill(&values).replace('\n', "\r\n");
        assert_eq!(decode(&encoded), want);
    }
}
