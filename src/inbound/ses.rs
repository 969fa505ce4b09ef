//! Amazon SES notifications mailed through SNS: a JSON body (`notificationType` `Bounce` or
//! `Complaint`) instead of a DSN, bare or inside the SNS envelope (`"Type": "Notification"`, the
//! notification as the string `Message`). The mail transport may have broken its long line
//! (Sendmail marks such a break with `!` and a newline and space).

use serde_json::Value;

use crate::mail::error::Enhanced;

use super::{Class, Finding, Kind, finding, reason};

/// The kind and findings of an SES notification in `text`, if it is one: the notification's JSON
/// itself, or the SNS envelope an SNS e-mail subscription mails, whose `Message` string holds it.
pub(super) fn notification(text: &str) -> Option<(Kind, Vec<Finding>)> {
    let bare = text.find("{\"notificationType\"");
    let start = bare.or_else(|| text.find('{').filter(|_| text.contains("\"Message\"")))?;
    let json = text[start..]
        .replace("!\r\n ", "")
        .replace("!\n ", "")
        .replace("\r\n ", "")
        .replace("\n ", "");
    let value: Value = serde_json::Deserializer::from_str(&json)
        .into_iter::<Value>()
        .next()?
        .ok()?;
    if bare.is_some() {
        return parse(&value);
    }
    if value.get("Type").and_then(Value::as_str) != Some("Notification") {
        return None;
    }
    let inner: Value = serde_json::from_str(value.get("Message")?.as_str()?).ok()?;
    parse(&inner)
}

/// The kind and findings of the SES notification (`notificationType`) or event (`eventType`)
/// `value`; `None` for any other (a delivery, a send, an open …).
pub(super) fn parse(value: &Value) -> Option<(Kind, Vec<Finding>)> {
    let str_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let list = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let kind = value
        .get("notificationType")
        .or_else(|| value.get("eventType"))?;
    match kind.as_str()? {
        "Bounce" => {
            let bounce = value.get("bounce")?;
            let transient = str_of(bounce, "bounceType").as_deref() == Some("Transient");
            let findings = list(bounce, "bouncedRecipients")
                .iter()
                .map(|r| {
                    let diagnostic = str_of(r, "diagnosticCode").unwrap_or_default();
                    let diagnostic = diagnostic
                        .strip_prefix("smtp;")
                        .unwrap_or(&diagnostic)
                        .trim();
                    let status = str_of(r, "status")
                        .and_then(|s| Enhanced::parse_prefix(&s).map(|(e, _)| e));
                    let status = reason::best_status(status, diagnostic);
                    let class = reason::class(status, diagnostic, "", transient);
                    let address =
                        str_of(r, "emailAddress").and_then(|a| super::scan::first_address(&a));
                    finding(address, Some(class), status, diagnostic)
                })
                .collect();
            Some((Kind::Bounce, findings))
        }
        "Complaint" => {
            let complaint = value.get("complaint")?;
            let kind = str_of(complaint, "complaintFeedbackType").unwrap_or_default();
            let findings = list(complaint, "complainedRecipients")
                .iter()
                .map(|r| {
                    let address =
                        str_of(r, "emailAddress").and_then(|a| super::scan::first_address(&a));
                    finding(address, Some(Class::Complaint), None, &kind)
                })
                .collect();
            Some((Kind::Complaint, findings))
        }
        _ => None,
    }
}
