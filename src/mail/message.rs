//! Per-recipient messages. The issue's HTML and text bodies are quoted-printable encoded once, with
//! a soft line break at every hole, so each message only encodes its recipient's values and joins
//! the parts; the headers are built by lettre, which encodes untrusted text (RFC 2047) so a CR/LF
//! in a title can never start a header of its own.

use std::borrow::Cow;
use std::time::SystemTime;

use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};
use lettre::address::Envelope;
use lettre::message::header::{
    self, ContentTransferEncoding, ContentType, HeaderName, HeaderValue, Headers, MIME_VERSION_1_0,
};
use lettre::message::{Body, Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::{Address, Message};
use quoted_printable::{InputMode, Options};
use sha2::{Digest as _, Sha256};

use crate::config::{Digest, Site};
use crate::issue::Issue;
use crate::mail::dkim::Signer;
use crate::model::IssueKey;
use crate::model::token::Keys;
use crate::render::{self, Escape, Field, Piece, Template, Values};

/// The RFC 8058 one-click body, announced in `List-Unsubscribe-Post`.
const ONE_CLICK: &str = "List-Unsubscribe=One-Click";
/// `Auto-Submitted` of every message.
const AUTO_GENERATED: &str = "auto-generated";

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

/// The MIME boundary of one message: `=_digest_`, then the first [`BOUNDARY_HASH_BYTES`] bytes
/// of SHA-256 over the issue key (`digest/period`, e.g. `best-of-x/2024-07`), a zero byte and the
/// recipient's key ([`To::key`]), in lower-case hex: `best-of-distributed-systems/2024-07` to
/// `ada@example.com` is `=_digest_c4ad28f320648bbb`.
///
/// The hash function is the contract: a message of the same issue to the same recipient is the
/// same bytes (but for the Date header) on every run, every machine and every Rust release, and
/// each recipient's has its own boundary. It is no secret: whoever has the message has the
/// address and the issue too. It can never occur in a body: "=_" is not quoted-printable.
#[derive(Debug, Clone, Copy)]
struct Boundary([u8; BOUNDARY_LEN]);

/// What every boundary starts with.
const BOUNDARY_PREFIX: &[u8] = b"=_digest_";
/// Bytes of the hash a boundary shows (as twice as many hex digits).
const BOUNDARY_HASH_BYTES: usize = 8;
/// Length of every boundary.
const BOUNDARY_LEN: usize = BOUNDARY_PREFIX.len() + 2 * BOUNDARY_HASH_BYTES;

impl Boundary {
    /// The hash state after the issue part of the input, shared by the issue's messages.
    fn seed(issue: &IssueKey) -> Sha256 {
        Sha256::new()
            .chain_update(issue.to_string())
            .chain_update([0])
    }

    /// The boundary of the message to the recipient whose key is `recipient`, from the issue's
    /// [`Boundary::seed`].
    fn new(seed: &Sha256, recipient: &str) -> Boundary {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hash = seed.clone().chain_update(recipient).finalize();
        let mut b = [0; BOUNDARY_LEN];
        let (prefix, digits) = b.split_at_mut(BOUNDARY_PREFIX.len());
        prefix.copy_from_slice(BOUNDARY_PREFIX);
        for (pair, byte) in digits.chunks_exact_mut(2).zip(&hash) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0xf)];
        }
        Boundary(b)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a boundary is ASCII")
    }
}

/// Frame bytes with a hole for the message's boundary wherever it occurs.
struct Framed {
    bytes: Vec<u8>,
    /// Where each occurrence of the boundary starts in `bytes`.
    holes: Vec<usize>,
}

impl Framed {
    /// `text`, formatted with [`Frame::PLACEHOLDER`] as the boundary, which is looked for from byte
    /// `from` on only (what comes before can hold anything, e.g. a subject).
    fn new(text: String, from: usize) -> Framed {
        let placeholder = Frame::PLACEHOLDER.as_str();
        let holes = text[from..]
            .match_indices(placeholder)
            .map(|(at, _)| from + at)
            .collect();
        Framed {
            bytes: text.into_bytes(),
            holes,
        }
    }

    /// Appends the bytes with `boundary` in their holes to `out`.
    fn write(&self, boundary: &Boundary, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.bytes);
        for at in &self.holes {
            out[start + at..][..BOUNDARY_LEN].copy_from_slice(&boundary.0);
        }
    }
}

/// What every message of an issue shares outside its recipient's headers and values, formatted
/// once: the fixed headers (by lettre's encoders), the MIME frame and the part headers. Each
/// message fills in its own [`Boundary`], which has the same length for every recipient, so the
/// frame is formatted (and lettre folds its Content-Type header) the same way for all.
struct Frame {
    /// Fixed headers, the MIME headers, the blank line, and the text part's opening.
    head: Framed,
    /// The HTML part's opening.
    middle: Framed,
    /// The closing boundary.
    tail: Framed,
}

impl Frame {
    /// The boundary the frame is formatted with, replaced in every message.
    const PLACEHOLDER: Boundary = Boundary(*b"=_digest_0000000000000000");

    fn new(fixed: &Headers) -> Result<Frame> {
        let boundary = Frame::PLACEHOLDER.as_str();
        let mut mime = Headers::new();
        mime.set(MIME_VERSION_1_0);
        mime.set(ContentType::parse(&format!(
            "multipart/alternative; boundary=\"{boundary}\""
        ))?);
        let part = |kind: ContentType| {
            let mut h = Headers::new();
            h.set(kind);
            h.set(ContentTransferEncoding::QuotedPrintable);
            format!("--{boundary}\r\n{h}\r\n")
        };
        let fixed = fixed.to_string();
        Ok(Frame {
            head: Framed::new(
                format!("{fixed}{mime}\r\n{}", part(ContentType::TEXT_PLAIN)),
                fixed.len(),
            ),
            middle: Framed::new(format!("\r\n{}", part(ContentType::TEXT_HTML)), 0),
            tail: Framed::new(format!("\r\n--{boundary}--\r\n"), 0),
        })
    }
}

/// The headers and values that differ per recipient.
struct Personal {
    unsubscribe: String,
    manage: String,
    address: String,
    list_unsubscribe: String,
    mailbox: Mailbox,
    message_id: String,
    boundary: Boundary,
}

/// An issue ready to be sent: rendered, encoded and with its fixed headers decided.
pub struct Prepared {
    /// The ledger's name for the issue.
    pub issue_key: IssueKey,
    /// Bytes of the rendered HTML (before per-recipient values), for the size limit.
    pub html_bytes: usize,
    /// `issue_key` as text, written once: every Message-ID is signed over it.
    issue_name: String,
    digest: String,
    /// Subject line.
    pub subject: String,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    list_id: String,
    unsubscribe_base: String,
    manage_base: String,
    mailto: Option<Address>,
    feedback_id: Option<String>,
    html: Encoded,
    text: Encoded,
    keys: Keys,
    /// The envelope sender: the return path, else the From address.
    return_path: Address,
    /// Whether each envelope sender is the return path with the recipient's VERP token.
    verp: bool,
    id_domain: String,
    dkim: Option<Signer>,
    frame: Frame,
    /// [`Boundary::seed`] of the issue.
    boundary_seed: Sha256,
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
        let dkim = s.dkim.map(Signer::new).transpose()?;
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
        let frame = Frame::new(&fixed)?;
        let boundary_seed = Boundary::seed(&issue_key);
        let return_path = (s.digest.return_path.as_ref())
            .or(s.mail.return_path.as_ref())
            .unwrap_or(&from.email)
            .clone();
        Ok(Prepared {
            return_path,
            verp: s.mail.verp,
            frame,
            boundary_seed,
            issue_name: issue_key.to_string(),
            html_bytes: email.html_bytes,
            issue_key,
            digest: issue.digest.clone(),
            subject: email.subject.clone(),
            id_domain: from.email.domain().to_string(),
            reply_to,
            from,
            list_id,
            unsubscribe_base: format!("{}/unsubscribe/", s.site.base_url),
            manage_base: format!("{}/manage/", s.site.base_url),
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

    /// The sender address (From:).
    pub fn from(&self) -> &Address {
        &self.from.email
    }

    /// The envelope sender (`MAIL FROM`) of the message to `subscriber`: the return path, with
    /// `+TOKEN` after its local part under VERP (the token names the subscriber and the issue).
    pub fn return_path(&self, subscriber: i64) -> Result<Address> {
        if !self.verp {
            return Ok(self.return_path.clone());
        }
        let token = self.keys.verp(subscriber, &self.issue_name);
        let user = format!("{}+{token}", self.return_path.user());
        Address::new(user, self.return_path.domain()).context("building the VERP return path")
    }

    /// The one-click unsubscribe URL of a subscriber.
    pub fn unsubscribe_url(&self, subscriber: i64) -> String {
        format!(
            "{}{}",
            self.unsubscribe_base,
            self.keys.sign(subscriber, &self.digest)
        )
    }

    /// What differs for `to`: unsubscribe URL and header, address, mailbox, Message-ID, boundary.
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
        let manage = format!(
            "{}{}",
            self.manage_base,
            crate::model::signup::Reader(to.subscriber).seal(&self.keys)
        );
        Personal {
            address: to.address.to_string(),
            list_unsubscribe,
            unsubscribe,
            manage,
            mailbox: Mailbox::new(name, to.address.clone()),
            message_id: self
                .keys
                .message_id(&self.issue_name, to.key, &self.id_domain),
            boundary: Boundary::new(&self.boundary_seed, to.key),
        }
    }

    /// The envelope of a message to `to`, from its [`Prepared::return_path`]. Given explicitly:
    /// lettre's derivation from the To header drops quoted local parts, and parsing From and To
    /// back out is a fifth of building a message.
    fn envelope(&self, to: &To<'_>) -> Result<Envelope> {
        Envelope::new(
            Some(self.return_path(to.subscriber)?),
            vec![to.address.clone()],
        )
        .context("building the envelope")
    }

    /// The message for one recipient as lettre's `Message`, dated `date`, unsigned; a `test` message
    /// says so in its subject. [`Prepared::formatted`] is the same message as sent.
    pub fn message(&self, to: &To<'_>, date: DateTime<Utc>, test: bool) -> Result<Message> {
        let p = self.personal(to);
        let values = Values {
            unsubscribe_url: &p.unsubscribe,
            email: &p.address,
            manage_url: &p.manage,
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
        builder
            .multipart(
                MultiPart::alternative()
                    .boundary(p.boundary.as_str())
                    .singlepart(part(&self.text, ContentType::TEXT_PLAIN))
                    .singlepart(part(&self.html, ContentType::TEXT_HTML)),
            )
            .context("building the message")
    }

    /// [`Prepared::message`] as sent: its envelope and its bytes, signed when DKIM is configured.
    pub fn formatted(
        &self,
        to: &To<'_>,
        date: DateTime<Utc>,
        test: bool,
    ) -> Result<(Envelope, Vec<u8>)> {
        let message = self.message(to, date, test)?;
        let bytes = self.signed(message.formatted(), date)?;
        Ok((message.envelope().clone(), bytes))
    }

    /// `message` with its DKIM signatures in front when DKIM is configured, dated `date`.
    fn signed(&self, message: Vec<u8>, date: DateTime<Utc>) -> Result<Vec<u8>> {
        let Some(signer) = &self.dkim else {
            return Ok(message);
        };
        let mut out = signer.sign(&message, date.timestamp())?;
        out.extend_from_slice(&message);
        Ok(out)
    }

    /// The envelope and the bytes of the message for one recipient, as sent. The message is
    /// written straight into one buffer: the recipient's headers, then the frame and the bodies
    /// encoded once per issue, spliced with the recipient's values (the same message as
    /// [`Prepared::formatted`] makes through lettre's builder), and signed when DKIM is configured.
    pub fn bytes(&self, to: &To<'_>, date: DateTime<Utc>) -> Result<(Envelope, Vec<u8>)> {
        let envelope = self.envelope(to)?;
        let p = self.personal(to);
        let values = Values {
            unsubscribe_url: &p.unsubscribe,
            email: &p.address,
            manage_url: &p.manage,
        };
        let mut own = Headers::new();
        own.set(header::To::from(Mailboxes::new().with(p.mailbox)));
        own.set(header::Date::new(SystemTime::from(date)));
        own.set(header::MessageId::from(p.message_id));
        own.insert_raw(header("List-Unsubscribe", p.list_unsubscribe));
        let own = own.to_string();
        let f = &self.frame;
        let size = own.len()
            + f.head.bytes.len()
            + self.text.len
            + f.middle.bytes.len()
            + self.html.len
            + f.tail.bytes.len()
            + 1024;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(own.as_bytes());
        f.head.write(&p.boundary, &mut out);
        self.text.fill_into(&values, &mut out);
        f.middle.write(&p.boundary, &mut out);
        self.html.fill_into(&values, &mut out);
        f.tail.write(&p.boundary, &mut out);
        Ok((envelope, self.signed(out, date)?))
    }
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// Whether the `[dkim]` settings make signing keys (for `digest check`); the error names
/// the variable (`DIGEST__DKIM__KEY`, `DIGEST__DKIM__ED25519_KEY`) and what is wrong with its
/// format, never the key.
pub fn check_dkim(d: &crate::config::Dkim) -> Result<()> {
    Signer::new(d).map(drop)
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
            manage_url: "https://x.example/manage/Ab_-9",
        };
        let encoded = Encoded::new(&template).fill(&values);
        assert!(encoded.is_ascii());
        for line in encoded.split(|&b| b == b'\n') {
            assert!(line.len() <= 77, "line of {} bytes", line.len());
        }
        let want = template.fill(&values).replace('\n', "\r\n");
        assert_eq!(decode(&encoded), want);
    }

    // The boundary came from std's DefaultHasher, whose output may change with any Rust release.
    #[test]
    fn the_mime_boundary_is_the_same_across_rust_releases() {
        let issue = IssueKey::new("best-of-distributed-systems", "2024-07".parse().unwrap());
        let seed = Boundary::seed(&issue);
        // printf 'best-of-distributed-systems/2024-07\0ada@example.com' | sha256sum
        let ada = Boundary::new(&seed, "ada@example.com");
        assert_eq!(ada.as_str(), "=_digest_c4ad28f320648bbb");
        let grace = Boundary::new(&seed, "grace@example.com");
        assert_eq!(grace.as_str(), "=_digest_52370978014fb985");
    }

    #[test]
    fn only_the_mime_frame_takes_the_boundary_not_a_subject_that_looks_like_one() {
        let mut fixed = Headers::new();
        fixed.set(header::Subject::from(
            Frame::PLACEHOLDER.as_str().to_string(),
        ));
        let frame = Frame::new(&fixed).unwrap();
        let holes = [&frame.head, &frame.middle, &frame.tail].map(|f| f.holes.len());
        assert_eq!(holes, [2, 1, 1], "Content-Type and three delimiters");
        let boundary = Boundary::new(&Sha256::new(), "x");
        let mut head = Vec::new();
        frame.head.write(&boundary, &mut head);
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with(&format!("Subject: {}", Frame::PLACEHOLDER.as_str())));
        assert!(head.ends_with(&format!(
            "; boundary=\"{0}\"\r\n\r\n--{0}\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            boundary.as_str()
        )));
    }
}
