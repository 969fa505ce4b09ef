//! Bounces and complaints reported by mail providers over HTTP (webhooks) instead of mailed back:
//! Amazon SES through SNS ([`sns`]), Postmark ([`postmark`]), Mailgun ([`mailgun`]) and SendGrid
//! ([`sendgrid`]).
//!
//! Each module authenticates a request as its provider specifies and turns what it reports into
//! [`Event`]s: the same [`Classified`] a mailed report gives, so one code path
//! ([`crate::publish::inbound::process::Processor::record`]) applies both. Untrusted text is
//! cleaned and bounded as in [`super::classify`]; nothing here panics on any input.

pub mod mailgun;
pub mod postmark;
pub mod sendgrid;
pub mod sns;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::process::Source;
use super::{Class, Classified, Finding, Kind, MAX_FIELD, Original, finding, reason, scan};
use crate::mail::error::Enhanced;
use crate::text::one_line;

/// A mail provider that reports over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Amazon SES, through an SNS topic.
    Ses,
    /// Postmark.
    Postmark,
    /// Mailgun.
    Mailgun,
    /// SendGrid (Twilio).
    Sendgrid,
}

impl Provider {
    /// The name used in paths, logs and records: `ses`, `postmark`, `mailgun`, `sendgrid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Ses => "ses",
            Provider::Postmark => "postmark",
            Provider::Mailgun => "mailgun",
            Provider::Sendgrid => "sendgrid",
        }
    }
}

/// One report a provider made, classified as a mailed one would be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Who reported it.
    pub provider: Provider,
    /// The provider's id of the report (bounded), recorded as its source.
    pub id: String,
    /// The keys that make it processed once (`provider:id`, and for Mailgun the request's token):
    /// a replay of any of them changes nothing.
    pub keys: Vec<String>,
    /// What it says.
    pub classified: Classified,
}

impl Event {
    /// Where it came from, as recorded: `<provider> event` and its id.
    pub fn source(&self) -> Source<'_> {
        let what = match self.provider {
            Provider::Ses => "ses event",
            Provider::Postmark => "postmark event",
            Provider::Mailgun => "mailgun event",
            Provider::Sendgrid => "sendgrid event",
        };
        Source { what, id: &self.id }
    }
}

/// Why a webhook request was refused. Callers answer every [`Refusal::Unauthenticated`] alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The request is not shown to come from the provider (bad or missing signature or
    /// credentials, stale timestamp, untrusted certificate or topic); the text is for the log.
    #[error("not authenticated: {0}")]
    Unauthenticated(String),
    /// Authenticated, but its content is not what the provider documents.
    #[error("malformed: {0}")]
    Malformed(String),
}

/// A refusal for the log.
fn denied(why: impl Into<String>) -> Refusal {
    Refusal::Unauthenticated(why.into())
}

/// A malformed body.
fn malformed(why: impl Into<String>) -> Refusal {
    Refusal::Malformed(why.into())
}

/// Whether `at` is within `max_age` of `now` (either side: clocks drift).
fn fresh(at: DateTime<Utc>, now: DateTime<Utc>, max_age: chrono::Duration) -> bool {
    (now - at).abs() <= max_age
}

/// Seconds since the epoch (an integer or decimal string or number) as a time.
fn epoch(value: &Value) -> Option<DateTime<Utc>> {
    let secs = match value {
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        other => other.as_f64()?,
    };
    (secs.is_finite() && secs.abs() < 1e11)
        .then(|| DateTime::from_timestamp(secs.trunc() as i64, 0))
        .flatten()
}

/// The string at `key` of `v`, if any.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A bounded id (one line, at most [`MAX_FIELD`] characters), if usable.
fn id(s: &str) -> Option<String> {
    let s = one_line(s, MAX_FIELD + 1);
    (!s.is_empty() && s.chars().count() <= MAX_FIELD).then_some(s)
}

/// A lower-cased address found in `s`, if any.
fn address(s: &str) -> Option<String> {
    scan::first_address(s)
}

/// The finding of a failed delivery to `recipient`: the status (`status`, else the most specific
/// one in `diagnostic`) and the class the diagnostic gives, as for a mailed report; `fallback`
/// when the text tells nothing (a provider's own label, such as "permanent").
fn failure(
    recipient: Option<String>,
    status: Option<&str>,
    diagnostic: &str,
    transient: bool,
    fallback: Class,
) -> Finding {
    let reported = status.and_then(|s| Enhanced::parse_prefix(s.trim()).map(|(e, _)| e));
    let status = reason::best_status(reported, diagnostic);
    let class = match reason::class(status, diagnostic, "", transient) {
        Class::Unknown => fallback,
        class => class,
    };
    finding(recipient, Some(class), status, diagnostic)
}

/// A classified report of `kind` with `findings`, about the message whose Message-ID is
/// `message_id`.
fn classified(kind: Kind, findings: Vec<Finding>, message_id: Option<&str>) -> Classified {
    let message_id = message_id.map(|m| m.trim().trim_start_matches('<').trim_end_matches('>'));
    Classified {
        kind,
        original: Original {
            message_id: message_id.and_then(id),
            to: findings.first().and_then(|f| f.recipient.clone()),
            ..Original::default()
        },
        findings,
        envelope_to: None,
        token: None,
    }
}

/// The key and the subject public key (bits) of a DER SubjectPublicKeyInfo, if its algorithm is
/// `algorithm` (and, for an EC key, its curve `curve`).
fn public_key<'a>(spki: &'a [u8], algorithm: &str, curve: Option<&str>) -> Option<&'a [u8]> {
    let info = spki::SubjectPublicKeyInfoRef::try_from(spki).ok()?;
    if info.algorithm.oid.to_string() != algorithm {
        return None;
    }
    if let Some(curve) = curve
        && info.algorithm.parameters_oid().ok()?.to_string() != curve
    {
        return None;
    }
    info.subject_public_key.as_bytes()
}

/// Whether `signature` is an RSA PKCS#1 v1.5 signature of `message` (SHA-1 when `sha1`, else
/// SHA-256) by the RSA key of the DER SubjectPublicKeyInfo `spki` (2048 to 8192 bits).
fn rsa_signed(spki: &[u8], message: &[u8], signature: &[u8], sha1: bool) -> bool {
    let Some(key) = public_key(spki, "1.2.840.113549.1.1.1", None) else {
        return false;
    };
    let algorithm: &'static dyn ring::signature::VerificationAlgorithm = if sha1 {
        &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
    } else {
        &ring::signature::RSA_PKCS1_2048_8192_SHA256
    };
    ring::signature::UnparsedPublicKey::new(algorithm, key)
        .verify(message, signature)
        .is_ok()
}

/// Whether `signature` (ASN.1 DER) is an ECDSA P-256 SHA-256 signature of `message` by the key
/// of the DER SubjectPublicKeyInfo `spki`.
fn p256_signed(spki: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Some(key) = public_key(spki, "1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) else {
        return false;
    };
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, key)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests;
