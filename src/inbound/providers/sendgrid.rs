//! SendGrid's signed event webhook. A request carries `X-Twilio-Email-Event-Webhook-Signature`
//! (base64 ASN.1 ECDSA P-256 signature) and `X-Twilio-Email-Event-Webhook-Timestamp`; the signed
//! bytes are the timestamp followed by the raw body, verified with the public key SendGrid shows.
//! A stale timestamp is refused; an event id (`sg_event_id`) seen before changes nothing.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    Event, Provider, Refusal, classified, denied, epoch, failure, finding, fresh, id, malformed,
    text,
};
use crate::config::SendgridHook;
use crate::inbound::{Class, Kind};

/// The signature header.
pub const SIGNATURE: &str = "X-Twilio-Email-Event-Webhook-Signature";
/// The timestamp header.
pub const TIMESTAMP: &str = "X-Twilio-Email-Event-Webhook-Timestamp";

/// Authenticates the SendGrid webhook `body` with the `signature` and `timestamp` headers for
/// `hook` at `now`; its events: bounces, blocks, drops of bounced or invalid addresses and spam
/// reports (none for deliveries, opens, clicks …).
pub fn events(
    body: &[u8],
    signature: Option<&str>,
    timestamp: Option<&str>,
    hook: &SendgridHook,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, Refusal> {
    let timestamp = timestamp
        .map(str::trim)
        .ok_or_else(|| denied(format!("no {TIMESTAMP}")))?;
    let signature = signature
        .and_then(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .ok()
        })
        .ok_or_else(|| denied(format!("no valid {SIGNATURE}")))?;
    let mut signed = Vec::with_capacity(timestamp.len() + body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.extend_from_slice(body);
    if !super::p256_signed(&hook.public_key, &signed, &signature) {
        return Err(denied("bad signature"));
    }
    let at = epoch(&Value::String(timestamp.into())).ok_or_else(|| denied("bad timestamp"))?;
    if !fresh(at, now, hook.max_age) {
        return Err(denied(format!(
            "timestamp {at} is too old or in the future"
        )));
    }
    let batch: Vec<Value> =
        serde_json::from_slice(body).map_err(|e| malformed(format!("not a JSON array: {e}")))?;
    Ok(batch.iter().filter_map(event).collect())
}

/// The event of one SendGrid record, if it reports a failure or a complaint.
fn event(record: &Value) -> Option<Event> {
    let event_id = text(record, "sg_event_id").and_then(id)?;
    let recipient = text(record, "email").and_then(super::address);
    let reason = text(record, "reason").unwrap_or_default();
    let status = text(record, "status");
    let (kind, finding) = match text(record, "event")? {
        "bounce" => {
            // `type` is `bounce` (permanent) or `blocked` (refused, not the address's fault).
            let fallback = match (text(record, "type"), text(record, "bounce_classification")) {
                (_, Some("Invalid Address")) => Class::Hard,
                (Some("blocked"), _) => Class::Policy,
                _ => Class::Hard,
            };
            let f = failure(recipient, status, reason, false, fallback);
            (Kind::Bounce, f)
        }
        "dropped" if matches!(reason, "Bounced Address" | "Invalid") => (
            Kind::Bounce,
            finding(recipient, Some(Class::Hard), None, reason),
        ),
        "spamreport" => (
            Kind::Complaint,
            finding(recipient, Some(Class::Complaint), None, "spamreport"),
        ),
        _ => return None,
    };
    let message_id = text(record, "smtp-id");
    Some(Event {
        provider: Provider::Sendgrid,
        keys: vec![format!("sendgrid:{event_id}")],
        id: event_id,
        classified: classified(kind, vec![finding], message_id),
    })
}
