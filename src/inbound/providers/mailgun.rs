//! Mailgun's event webhooks (JSON). Each request carries `signature.timestamp`,
//! `signature.token` and `signature.signature`: the hex HMAC-SHA256 of the timestamp and the
//! token, concatenated, under the webhook signing key. A stale timestamp is refused, and a token
//! (or event id) seen before changes nothing: the store remembers them.

use chrono::{DateTime, Utc};
use hmac::Mac as _;
use serde_json::Value;

use super::{
    Event, Provider, Refusal, classified, denied, epoch, failure, finding, fresh, id, malformed,
    text,
};
use crate::config::MailgunHook;
use crate::inbound::{Class, Kind};

/// Authenticates the Mailgun webhook `body` for `hook` at `now`; its events: a `failed` delivery
/// or a `complained` recipient (none for any other event).
pub fn events(body: &[u8], hook: &MailgunHook, now: DateTime<Utc>) -> Result<Vec<Event>, Refusal> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| denied(format!("not JSON: {e}")))?;
    let signature = value
        .get("signature")
        .ok_or_else(|| denied("no signature"))?;
    let timestamp = text(signature, "timestamp").ok_or_else(|| denied("no timestamp"))?;
    let token = text(signature, "token").ok_or_else(|| denied("no token"))?;
    let given = text(signature, "signature")
        .and_then(hex)
        .ok_or_else(|| denied("no signature"))?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(hook.signing_key.expose().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    mac.verify_slice(&given)
        .map_err(|_| denied("bad signature"))?;
    let at = epoch(&Value::String(timestamp.into())).ok_or_else(|| denied("bad timestamp"))?;
    if !fresh(at, now, hook.max_age) {
        return Err(denied(format!(
            "timestamp {at} is too old or in the future"
        )));
    }
    let token = id(token).ok_or_else(|| denied("bad token"))?;
    let data = value
        .get("event-data")
        .ok_or_else(|| malformed("no event-data"))?;
    let event_id = text(data, "id")
        .and_then(id)
        .unwrap_or_else(|| token.clone());
    let recipient = text(data, "recipient").and_then(super::address);
    let message_id = data
        .get("message")
        .and_then(|m| m.get("headers"))
        .and_then(|h| text(h, "message-id"));
    let (kind, finding) = match text(data, "event").unwrap_or_default() {
        "failed" => {
            let status = data.get("delivery-status");
            let field = |k: &str| status.and_then(|s| text(s, k)).unwrap_or_default();
            let diagnostic = [field("message"), field("description")]
                .into_iter()
                .find(|t| !t.trim().is_empty())
                .unwrap_or_default();
            let transient = text(data, "severity") == Some("temporary");
            // Mailgun drops mail to an address that bounced before: that address is dead.
            let fallback = match (transient, text(data, "reason")) {
                (true, _) => Class::Soft,
                (false, Some("bounce" | "suppress-bounce")) => Class::Hard,
                _ => Class::Unknown,
            };
            let enhanced = status.and_then(|s| text(s, "enhanced-code"));
            let f = failure(recipient, enhanced, diagnostic, transient, fallback);
            (Kind::Bounce, f)
        }
        "complained" => (
            Kind::Complaint,
            finding(recipient, Some(Class::Complaint), None, "complained"),
        ),
        _ => return Ok(Vec::new()),
    };
    Ok(vec![Event {
        provider: Provider::Mailgun,
        keys: vec![
            format!("mailgun-token:{token}"),
            format!("mailgun:{event_id}"),
        ],
        id: event_id,
        classified: classified(kind, vec![finding], message_id),
    }])
}

/// The bytes of a hex string.
fn hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || s.len() > 256 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
