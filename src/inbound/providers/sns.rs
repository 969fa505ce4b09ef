//! Amazon SES notifications delivered by an Amazon SNS HTTPS subscription.
//!
//! Every SNS message is signed (`SignatureVersion` 1: SHA1withRSA, 2: SHA256withRSA) over the
//! canonical string SNS documents: for a `Notification` the fields `Message`, `MessageId`,
//! `Subject` (when present), `Timestamp`, `TopicArn` and `Type`; for a `SubscriptionConfirmation`
//! or `UnsubscribeConfirmation` `Message`, `MessageId`, `SubscribeURL`, `Timestamp`, `Token`,
//! `TopicArn` and `Type`; each as its name, a newline, its value and a newline. The certificate
//! is the one at `SigningCertURL`, fetched only over https from a host matching the configured
//! patterns (`sns.<region>.amazonaws.com`), and only the configured topics are taken. A message
//! older than `max_age` is refused; a message id seen before changes nothing (the store
//! remembers it).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Event, Provider, Refusal, classified, denied, fresh, id, malformed, text};
use crate::config::{SesHook, host_allowed};

/// Largest signing certificate fetched, in bytes.
const MAX_CERT: u64 = 64 * 1024;

/// How long fetching a certificate or confirming a subscription may take.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What an authenticated SNS message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Confirm the subscription of an allowed topic: GET `url`.
    Confirm {
        /// The topic.
        topic: String,
        /// Its `SubscribeURL` (checked: https, allowed host).
        url: url::Url,
    },
    /// A notification: the SES events it holds (none for a delivery or other event).
    Notification(Vec<Event>),
    /// The subscription was removed; nothing to do.
    Unsubscribed,
}

/// The string SNS signs for the message `value` (its `Type` decides the fields); refused when a
/// field it needs is missing.
pub fn canonical(value: &Value) -> Result<String, Refusal> {
    let kind = text(value, "Type").ok_or_else(|| denied("no Type"))?;
    Envelope { kind, value }.canonical()
}

/// The fields of an SNS message.
struct Envelope<'a> {
    kind: &'a str,
    value: &'a Value,
}

impl Envelope<'_> {
    fn field(&self, name: &str) -> Option<&str> {
        text(self.value, name)
    }

    /// The string SNS signs.
    fn canonical(&self) -> Result<String, Refusal> {
        let names: &[&str] = match self.kind {
            "Notification" => &[
                "Message",
                "MessageId",
                "Subject",
                "Timestamp",
                "TopicArn",
                "Type",
            ],
            "SubscriptionConfirmation" | "UnsubscribeConfirmation" => &[
                "Message",
                "MessageId",
                "SubscribeURL",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type",
            ],
            other => return Err(denied(format!("unknown SNS message type {other:?}"))),
        };
        let mut out = String::new();
        for name in names {
            match self.field(name) {
                Some(value) => {
                    out.push_str(name);
                    out.push('\n');
                    out.push_str(value);
                    out.push('\n');
                }
                None if *name == "Subject" => {}
                None => return Err(denied(format!("no {name}"))),
            }
        }
        Ok(out)
    }
}

/// Signing certificates' public keys by URL, fetched once each.
#[derive(Default)]
pub struct Certs {
    keys: Mutex<HashMap<String, Vec<u8>>>,
}

impl Certs {
    /// The DER SubjectPublicKeyInfo of the certificate at `url` (already checked), fetched with
    /// `hook`'s trust unless cached.
    fn key(&self, url: &url::Url, hook: &SesHook) -> Result<Vec<u8>, Refusal> {
        let cached = self.lock().get(url.as_str()).cloned();
        if let Some(key) = cached {
            return Ok(key);
        }
        let pem = fetch(url, hook).map_err(|e| denied(format!("fetching {url}: {e:#}")))?;
        let key = spki_of_pem(&pem).ok_or_else(|| denied(format!("{url}: no certificate")))?;
        let mut keys = self.lock();
        if keys.len() > 100 {
            keys.clear();
        }
        keys.insert(url.to_string(), key.clone());
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Authenticates the SNS message `body` for `hook` at `now` and says what it asks for.
pub fn check(
    body: &[u8],
    hook: &SesHook,
    certs: &Certs,
    now: DateTime<Utc>,
) -> Result<Message, Refusal> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| denied(format!("not an SNS message: {e}")))?;
    let signed_text = canonical(&value)?;
    let kind = text(&value, "Type").unwrap_or_default();
    let envelope = Envelope {
        kind,
        value: &value,
    };
    let topic = envelope.field("TopicArn").unwrap_or_default();
    if !hook.topics.iter().any(|t| t == topic) {
        return Err(denied(format!("topic {:?} is not configured", id(topic))));
    }
    let at = envelope
        .field("Timestamp")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| denied("no valid Timestamp"))?;
    if !fresh(at.with_timezone(&Utc), now, hook.max_age) {
        return Err(denied(format!(
            "Timestamp {at} is too old or in the future"
        )));
    }
    let sha1 = match envelope.field("SignatureVersion") {
        Some("1") => true,
        Some("2") => false,
        other => return Err(denied(format!("SignatureVersion {other:?}"))),
    };
    let signature = envelope
        .field("Signature")
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .ok_or_else(|| denied("no valid Signature"))?;
    let cert_url = allowed_url(envelope.field("SigningCertURL"), hook)?;
    let key = certs.key(&cert_url, hook)?;
    if !super::rsa_signed(&key, signed_text.as_bytes(), &signature, sha1) {
        return Err(denied("bad signature"));
    }
    let message_id = envelope
        .field("MessageId")
        .and_then(id)
        .ok_or_else(|| malformed("no MessageId"))?;
    match kind {
        "SubscriptionConfirmation" => Ok(Message::Confirm {
            topic: topic.to_string(),
            url: allowed_url(envelope.field("SubscribeURL"), hook)?,
        }),
        "UnsubscribeConfirmation" => Ok(Message::Unsubscribed),
        _ => {
            let inner: Value = serde_json::from_str(envelope.field("Message").unwrap_or_default())
                .map_err(|e| malformed(format!("Message is not JSON: {e}")))?;
            Ok(Message::Notification(events_of(&inner, &message_id)))
        }
    }
}

/// The events of one SES notification delivered as the SNS message `message_id` (one, covering
/// all its recipients; none for a delivery or another event).
pub(super) fn events_of(ses: &Value, message_id: &str) -> Vec<Event> {
    let Some((kind, findings)) = super::super::ses::parse(ses) else {
        return Vec::new();
    };
    let mail = ses.get("mail");
    let original = mail
        .and_then(|m| m.get("commonHeaders"))
        .and_then(|h| text(h, "messageId"))
        .or_else(|| {
            let headers = mail?.get("headers")?.as_array()?;
            headers
                .iter()
                .find(|h| text(h, "name").is_some_and(|n| n.eq_ignore_ascii_case("Message-ID")))
                .and_then(|h| text(h, "value"))
        });
    vec![Event {
        provider: Provider::Ses,
        id: message_id.to_string(),
        keys: vec![format!("ses:{message_id}")],
        classified: classified(kind, findings, original),
    }]
}

/// `written` as a URL SNS may send us to: https, on an allowed host, no credentials.
fn allowed_url(written: Option<&str>, hook: &SesHook) -> Result<url::Url, Refusal> {
    let written = written.ok_or_else(|| denied("no URL"))?;
    let url = url::Url::parse(written).map_err(|_| denied("not a URL"))?;
    let host = url.host_str().unwrap_or_default();
    if url.scheme() != "https"
        || !url.username().is_empty()
        || url.password().is_some()
        || !host_allowed(host, &hook.cert_hosts)
    {
        return Err(denied(format!("untrusted URL {:?}", id(written))));
    }
    Ok(url)
}

/// An HTTPS client trusting the web roots and `hook`'s `ca_file`.
fn client(hook: &SesHook) -> anyhow::Result<reqwest::blocking::Client> {
    use anyhow::Context as _;
    let mut builder = reqwest::blocking::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .https_only(true);
    if let Some(file) = &hook.ca_file {
        let pem = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let root = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{}: not a PEM certificate", file.display()))?;
        builder = builder.add_root_certificate(root);
    }
    Ok(builder.build()?)
}

/// The body of `url` (at most [`MAX_CERT`] bytes).
fn fetch(url: &url::Url, hook: &SesHook) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let response = client(hook)?.get(url.clone()).send()?.error_for_status()?;
    let mut body = Vec::new();
    response.take(MAX_CERT).read_to_end(&mut body)?;
    Ok(body)
}

/// Confirms a subscription: GET its `SubscribeURL` (already checked).
pub fn confirm(url: &url::Url, hook: &SesHook) -> anyhow::Result<()> {
    client(hook)?.get(url.clone()).send()?.error_for_status()?;
    Ok(())
}

/// The DER SubjectPublicKeyInfo of the first certificate in `pem`.
fn spki_of_pem(pem: &[u8]) -> Option<Vec<u8>> {
    use rustls_pki_types::pem::PemObject as _;
    let der = rustls_pki_types::CertificateDer::from_pem_slice(pem).ok()?;
    let cert = webpki::EndEntityCert::try_from(&der).ok()?;
    Some(cert.subject_public_key_info().to_vec())
}
