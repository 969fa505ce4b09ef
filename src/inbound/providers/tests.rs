//! Authentication and reading of each provider's webhook, from the documented payloads in
//! tests/fixtures/providers (the SNS signature over real HTTPS is tested in tests/cli/providers.rs).

use chrono::{DateTime, Duration, Utc};
use hmac::Mac as _;

use super::*;
use crate::config::{MailgunHook, PostmarkHook, Secret, SendgridHook, host_allowed};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn fixture(name: &str, fields: &[(&str, &str)]) -> String {
    let path = format!(
        "{}/tests/fixtures/providers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = std::fs::read_to_string(path).unwrap();
    for (k, v) in fields {
        text = text.replace(&format!("{{{{{k}}}}}"), v);
    }
    text
}

fn only(events: &[Event]) -> &Finding {
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].classified.findings.len(), 1, "{events:?}");
    &events[0].classified.findings[0]
}

#[path = "../../../tests/support/sendgrid_key.rs"]
mod sendgrid_key;

#[test]
fn a_signed_sendgrid_batch_is_read_and_a_tampered_stale_or_foreign_one_refused() {
    // Would fail if the signature covered only the body, or the key were read wrongly.
    let key = sendgrid_key::SigningKey::generate();
    let hook = SendgridHook {
        public_key: key.public_key(),
        max_age: Duration::minutes(15),
    };
    let ts = now().timestamp().to_string();
    let body = fixture(
        "sendgrid-events.json",
        &[
            ("DELIVERED", "ok@x.example"),
            ("RECIPIENT", "Gone@X.example"),
            ("BLOCKED", "blocked@x.example"),
            ("TIMESTAMP", &ts),
            ("ID", "ev1"),
        ],
    );
    let sign = |ts: &str, body: &str| key.sign(ts, body);
    let good = sign(&ts, &body);
    let events = sendgrid::events(body.as_bytes(), Some(&good), Some(&ts), &hook, now()).unwrap();
    let got: Vec<(String, Option<String>, Option<Class>)> = events
        .iter()
        .map(|e| {
            let f = &e.classified.findings[0];
            (e.id.clone(), f.recipient.clone(), f.class)
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "ev1-bounce".to_string(),
                Some("gone@x.example".to_string()),
                Some(Class::Hard)
            ),
            (
                "ev1-blocked".to_string(),
                Some("blocked@x.example".to_string()),
                Some(Class::Policy)
            ),
        ],
        "the delivery is no finding"
    );
    assert_eq!(events[0].keys, ["sendgrid:ev1-bounce"]);
    let tampered = body.replace("Gone@X.example", "other@x.example");
    assert_ne!(tampered, body);
    let refused = |r: Result<Vec<Event>, Refusal>| matches!(r, Err(Refusal::Unauthenticated(_)));
    assert!(refused(sendgrid::events(
        tampered.as_bytes(),
        Some(&good),
        Some(&ts),
        &hook,
        now()
    )));
    // The timestamp is signed too: another one does not verify.
    let later = (now().timestamp() + 1).to_string();
    assert!(refused(sendgrid::events(
        body.as_bytes(),
        Some(&good),
        Some(&later),
        &hook,
        now()
    )));
    // Correctly signed but an hour old.
    let old = (now() - Duration::hours(1)).timestamp().to_string();
    let old_sig = sign(&old, &body);
    assert!(refused(sendgrid::events(
        body.as_bytes(),
        Some(&old_sig),
        Some(&old),
        &hook,
        now()
    )));
    // Signed by another key.
    let foreign = SendgridHook {
        public_key: sendgrid_key::SigningKey::generate().public_key(),
        ..hook.clone()
    };
    assert!(refused(sendgrid::events(
        body.as_bytes(),
        Some(&good),
        Some(&ts),
        &foreign,
        now()
    )));
    assert!(refused(sendgrid::events(
        body.as_bytes(),
        None,
        Some(&ts),
        &hook,
        now()
    )));
}

fn mailgun_body(key: &str, ts: &str, token: &str, name: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{ts}{token}").as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    fixture(
        name,
        &[
            ("TIMESTAMP", ts),
            ("TOKEN", token),
            ("SIGNATURE", &signature),
            ("ID", "mg-event-1"),
            ("RECIPIENT", "gone@x.example"),
        ],
    )
}

#[test]
fn a_mailgun_event_needs_its_hmac_and_a_fresh_timestamp() {
    // Would fail if the HMAC were not checked, or checked over the wrong fields.
    let hook = MailgunHook {
        signing_key: Secret::new("key-test-signing"),
        max_age: Duration::minutes(15),
    };
    let ts = now().timestamp().to_string();
    let body = mailgun_body("key-test-signing", &ts, "tok1", "mailgun-failed.json");
    let events = mailgun::events(body.as_bytes(), &hook, now()).unwrap();
    let f = only(&events);
    assert_eq!(f.recipient.as_deref(), Some("gone@x.example"));
    assert_eq!(f.class, Some(Class::Hard));
    assert_eq!(f.status.map(|s| s.to_string()).as_deref(), Some("5.1.1"));
    assert_eq!(events[0].keys, ["mailgun-token:tok1", "mailgun:mg-event-1"]);
    assert_eq!(
        events[0].classified.original.message_id.as_deref(),
        Some("20130503192659.13651.20287@news.example.org")
    );
    let complaint = mailgun_body("key-test-signing", &ts, "tok2", "mailgun-complained.json");
    let events = mailgun::events(complaint.as_bytes(), &hook, now()).unwrap();
    assert_eq!(events[0].classified.kind, Kind::Complaint);
    assert_eq!(only(&events).class, Some(Class::Complaint));

    let refused = |body: &str| {
        matches!(
            mailgun::events(body.as_bytes(), &hook, now()),
            Err(Refusal::Unauthenticated(_))
        )
    };
    assert!(
        refused(&body.replace("\"tok1\"", "\"tok9\"")),
        "token signed"
    );
    assert!(refused(&mailgun_body(
        "another-key",
        &ts,
        "tok1",
        "mailgun-failed.json"
    )));
    let old = (now() - Duration::hours(2)).timestamp().to_string();
    assert!(refused(&mailgun_body(
        "key-test-signing",
        &old,
        "tok3",
        "mailgun-failed.json"
    )));
    assert!(refused("{}"));
}

#[test]
fn postmark_needs_its_basic_credentials_and_maps_its_types() {
    // Would fail if any password (or none) were accepted, or a spam complaint read as a bounce.
    let hook = PostmarkHook {
        user: "postmark".into(),
        password: Secret::new("s3cret-pw"),
    };
    let basic = |s: &str| {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    assert!(postmark::authorized(Some(&basic("postmark:s3cret-pw")), &hook).is_ok());
    for bad in [
        Some(basic("postmark:s3cret-pX")),
        Some(basic("postmark:s3cret-pw-longer")),
        Some(basic("other:s3cret-pw")),
        Some("Bearer s3cret-pw".to_string()),
        None,
    ] {
        assert!(
            postmark::authorized(bad.as_deref(), &hook).is_err(),
            "{bad:?}"
        );
    }
    let bounce = fixture(
        "postmark-bounce.json",
        &[("ID", "42"), ("RECIPIENT", "gone@x.example")],
    );
    let events = postmark::events(bounce.as_bytes()).unwrap();
    assert_eq!(events[0].keys, ["postmark:Bounce:42"]);
    assert_eq!(only(&events).class, Some(Class::Hard));
    let soft = bounce.replace("\"HardBounce\"", "\"SoftBounce\"").replace(
        "550 5.1.1 The email account that you tried to reach does not exist.",
        "452 4.2.2 Mailbox full",
    );
    assert_eq!(
        only(&postmark::events(soft.as_bytes()).unwrap()).class,
        Some(Class::Soft)
    );
    let spam = fixture(
        "postmark-spam-complaint.json",
        &[("ID", "43"), ("RECIPIENT", "angry@x.example")],
    );
    let events = postmark::events(spam.as_bytes()).unwrap();
    assert_eq!(events[0].classified.kind, Kind::Complaint);
    assert_eq!(only(&events).recipient.as_deref(), Some("angry@x.example"));
    let delivery = r#"{"RecordType":"Delivery","ID":1,"Recipient":"a@x.example"}"#;
    assert!(postmark::events(delivery.as_bytes()).unwrap().is_empty());
    assert!(matches!(
        postmark::events(b"not json"),
        Err(Refusal::Malformed(_))
    ));
}

#[test]
fn sns_signs_the_documented_fields_in_order_and_subject_only_when_present() {
    // Would fail if a field were left out, reordered, or Subject were signed when absent.
    let notification = serde_json::json!({
        "Type": "Notification", "MessageId": "m1", "TopicArn": "arn:t", "Message": "{}",
        "Timestamp": "2026-03-01T12:00:00.000Z", "SignatureVersion": "1",
    });
    let envelope = sns_envelope(&notification);
    assert_eq!(
        envelope.unwrap(),
        "Message\n{}\nMessageId\nm1\nTimestamp\n2026-03-01T12:00:00.000Z\nTopicArn\narn:t\nType\nNotification\n"
    );
    let mut with_subject = notification.clone();
    with_subject["Subject"] = "Hi".into();
    assert!(
        sns_envelope(&with_subject)
            .unwrap()
            .contains("MessageId\nm1\nSubject\nHi\nTimestamp\n")
    );
    let confirmation = serde_json::json!({
        "Type": "SubscriptionConfirmation", "MessageId": "m2", "TopicArn": "arn:t",
        "Message": "You have chosen…", "Timestamp": "2026-03-01T12:00:00.000Z", "Token": "tk",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
    });
    assert_eq!(
        sns_envelope(&confirmation).unwrap(),
        "Message\nYou have chosen…\nMessageId\nm2\nSubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription\nTimestamp\n2026-03-01T12:00:00.000Z\nToken\ntk\nTopicArn\narn:t\nType\nSubscriptionConfirmation\n"
    );
    let mut missing = confirmation.clone();
    missing.as_object_mut().unwrap().remove("Token");
    assert!(sns_envelope(&missing).is_err());
}

fn sns_envelope(value: &serde_json::Value) -> Result<String, Refusal> {
    sns::canonical(value)
}

#[test]
fn certificate_hosts_match_label_by_label() {
    // Would fail if `sns.*.amazonaws.com` let through a look-alike host.
    let patterns = vec!["sns.*.amazonaws.com".to_string()];
    assert!(host_allowed("sns.us-east-1.amazonaws.com", &patterns));
    assert!(host_allowed("SNS.eu-west-3.amazonaws.com", &patterns));
    for bad in [
        "sns.amazonaws.com",
        "sns.a.b.amazonaws.com",
        "sns.us-east-1.amazonaws.com.evil.example",
        "evil.example",
        "sns..amazonaws.com",
        "sns.us_east.amazonaws.com",
    ] {
        assert!(!host_allowed(bad, &patterns), "{bad}");
    }
}

#[test]
fn ses_notifications_give_bounces_and_complaints_and_nothing_for_a_delivery() {
    // Would fail if a delivery notification were recorded as a bounce.
    let read = |name: &str| {
        let text = fixture(name, &[("RECIPIENT", "Gone@x.example")]);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        sns::events_of(&value, "sns-1")
    };
    let bounce = read("ses-bounce.json");
    assert_eq!(only(&bounce).class, Some(Class::Hard));
    assert_eq!(only(&bounce).recipient.as_deref(), Some("gone@x.example"));
    assert_eq!(bounce[0].keys, ["ses:sns-1"]);
    let complaint = read("ses-complaint.json");
    assert_eq!(only(&complaint).class, Some(Class::Complaint));
    assert!(read("ses-delivery.json").is_empty());
}
