//! Postmark's bounce and spam-complaint webhooks. Postmark signs nothing; it recommends HTTP basic
//! authentication, the credentials written in the webhook URL (`https://user:password@host/…`),
//! so the request's `Authorization` header must carry the configured user and password (compared
//! in constant time). One record per request; a record id seen before changes nothing.

use base64::Engine as _;
use hmac::Mac as _;
use serde_json::Value;

use super::{Event, Provider, Refusal, classified, denied, failure, finding, id, malformed, text};
use crate::config::PostmarkHook;
use crate::inbound::{Class, Kind};

/// Whether the `Authorization` header `authorization` carries `hook`'s credentials.
pub fn authorized(authorization: Option<&str>, hook: &PostmarkHook) -> Result<(), Refusal> {
    let given = authorization
        .and_then(|a| a.trim().strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .ok_or_else(|| denied("no basic credentials"))?;
    let wanted = format!("{}:{}", hook.user, hook.password.expose());
    // Compared as HMACs of both under one key: constant time whatever the lengths.
    let tag = |bytes: &[u8]| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(wanted.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(bytes);
        mac
    };
    let expected = tag(wanted.as_bytes()).finalize().into_bytes();
    tag(&given)
        .verify_slice(&expected)
        .map_err(|_| denied("wrong credentials"))
}

/// The events of an authenticated Postmark webhook `body`: a `Bounce` or `SpamComplaint`
/// record; none for any other record type (deliveries, opens, clicks, subscription changes).
pub fn events(body: &[u8]) -> Result<Vec<Event>, Refusal> {
    let record: Value =
        serde_json::from_slice(body).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let record_type = text(&record, "RecordType").unwrap_or_default();
    if !matches!(record_type, "Bounce" | "SpamComplaint") {
        return Ok(Vec::new());
    }
    let record_id = match record.get("ID") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => return Err(malformed("no ID")),
    };
    let record_id = id(&record_id).ok_or_else(|| malformed("no ID"))?;
    let recipient = text(&record, "Email").and_then(super::address);
    let bounce_type = text(&record, "Type").unwrap_or_default();
    let details = text(&record, "Details").unwrap_or_default();
    let description = text(&record, "Description").unwrap_or_default();
    let diagnostic = if details.trim().is_empty() {
        description
    } else {
        details
    };
    let (kind, finding) = match bounce_type {
        "SpamComplaint" => (
            Kind::Complaint,
            finding(recipient, Some(Class::Complaint), None, bounce_type),
        ),
        "AutoResponder" => (
            Kind::AutoReply,
            finding(recipient, Some(Class::AutoReply), None, diagnostic),
        ),
        _ => {
            let (transient, class) = type_class(bounce_type);
            let f = failure(recipient, None, diagnostic, transient, class);
            // Postmark's own verdict decides a hard bounce; the text may refine the others.
            let f = match class {
                Class::Hard => super::super::Finding {
                    class: Some(Class::Hard),
                    ..f
                },
                _ => f,
            };
            (Kind::Bounce, f)
        }
    };
    // `MessageID` is Postmark's own id, not the Message-ID digest wrote: matched by address.
    Ok(vec![Event {
        provider: Provider::Postmark,
        keys: vec![format!("postmark:{record_type}:{record_id}")],
        id: record_id,
        classified: classified(kind, vec![finding], None),
    }])
}

/// Whether a Postmark bounce `Type` is transient, and its class when the text tells nothing.
fn type_class(bounce_type: &str) -> (bool, Class) {
    match bounce_type {
        "HardBounce" | "BadEmailAddress" | "AddressChange" => (false, Class::Hard),
        "SoftBounce" | "Transient" | "DnsError" => (true, Class::Soft),
        "SpamNotification"
        | "Blocked"
        | "DMARCPolicy"
        | "VirusNotification"
        | "ChallengeVerification"
        | "ManuallyDeactivated" => (false, Class::Policy),
        _ => (false, Class::Unknown),
    }
}
