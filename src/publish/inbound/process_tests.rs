//! Matching, policy and processing against a real store in a temporary folder.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::config::Config;
use crate::inbound::Original;
use crate::model::IssueKey;
use crate::model::token::Keys;
use crate::store::{Row, State, Suppression};

const KEYS: &str = "t1:0123456789abcdef0123456789abcdef";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-08-01T08:00:00Z")
        .unwrap()
        .to_utc()
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    keys: Keys,
    config: Config,
}

/// A store where `readers` were sent the monthly issues of digest `d` from 2024-01 on, one a
/// month: `issues` of them.
fn fixture(readers: &[&str], issues: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("digest.db")).unwrap();
    for month in 1..=issues {
        let issue = IssueKey::new("d", format!("2024-{month:02}").parse().unwrap());
        let rows: Vec<Row<'_>> = readers
            .iter()
            .map(|r| Row {
                key: r,
                send_to: r,
                name: None,
            })
            .collect();
        store.begin_resolution().unwrap();
        let at = now() - Duration::days(i64::from(40 * (issues - month)));
        store.enqueue(&issue, &rows, at).unwrap();
        let sent: Vec<_> = readers
            .iter()
            .map(|r| {
                (
                    store.subscriber_of(r).unwrap().unwrap(),
                    State::Sent,
                    1,
                    None,
                )
            })
            .collect();
        store.record(&issue, &sent, at).unwrap();
    }
    let config = crate::config::for_test(
        "[mail]\nfrom = \"D <digest@news.example.org>\"\n\n[digests.d]\ntag = \"t\"\nperiod = \"monthly\"\n",
    );
    Fixture {
        _dir: dir,
        store,
        keys: Keys::parse(KEYS).unwrap(),
        config,
    }
}

impl Fixture {
    fn processor(&self) -> Processor<'_> {
        Processor {
            matcher: Matcher {
                keys: &self.keys,
                config: &self.config,
            },
            policy: &self.config.bounces,
            events: Events::default(),
        }
    }

    fn find(&self, c: &Classified) -> Match {
        self.processor()
            .matcher
            .find(&self.store, c, &c.findings[0])
            .unwrap()
    }

    fn suppression(&self, address: &str) -> Option<Suppression> {
        let all = self.store.suppressions().unwrap();
        all.into_iter().find(|s| s.address == address)
    }
}

/// A bounce of one recipient, as classify reads one.
fn bounce(recipient: &str, class: Class, message_id: Option<String>, to: &str) -> Classified {
    Classified {
        kind: Kind::Bounce,
        findings: vec![Finding {
            recipient: Some(recipient.to_string()),
            class: Some(class),
            status: None,
            diagnostic: String::new(),
            delayed: false,
        }],
        original: Original {
            message_id,
            ..Original::default()
        },
        envelope_to: Some(to.to_string()),
        token: None,
    }
}

#[test]
fn a_verp_token_matches_its_subscriber_and_issue_whoever_the_report_names() {
    let f = fixture(&["ann@example.net", "bob@example.net"], 3);
    let ann = f.store.subscriber_of("ann@example.net").unwrap().unwrap();
    let token = f.keys.verp(ann, "d/2024-02");
    let to = format!("bounces+{token}@news.example.org");
    let m = f.find(&bounce("alias@forward.example", Class::Hard, None, &to));
    assert_eq!(m.by, MatchedBy::Verp);
    assert_eq!(m.subscriber, Some(ann));
    assert_eq!(m.key.as_deref(), Some("ann@example.net"));
    assert_eq!(m.issue.as_deref(), Some("d/2024-02"));

    // A tampered token is no match: the recipient alone is, weaker.
    let mut forged = token.into_bytes();
    forged[3] = if forged[3] == b'a' { b'b' } else { b'a' };
    let to = format!(
        "bounces+{}@news.example.org",
        String::from_utf8(forged).unwrap()
    );
    let m = f.find(&bounce("bob@example.net", Class::Hard, None, &to));
    assert_eq!(m.by, MatchedBy::Recipient);
    assert_eq!(m.key.as_deref(), Some("bob@example.net"));
}

#[test]
fn the_returned_message_id_matches_its_issue_and_the_address_alone_the_latest_issue() {
    let f = fixture(&["ann@example.net"], 3);
    let id = f
        .keys
        .message_id("d/2024-01", "ann@example.net", "news.example.org");
    let bare = id.trim_matches(['<', '>']).to_string();
    let m = f.find(&bounce(
        "Ann@Example.net",
        Class::Soft,
        Some(bare),
        "bounces@news.example.org",
    ));
    assert_eq!(
        (m.by, m.issue.as_deref()),
        (MatchedBy::MessageId, Some("d/2024-01"))
    );

    let m = f.find(&bounce(
        "ann@example.net",
        Class::Soft,
        Some("someone-else@mx.example".into()),
        "bounces@news.example.org",
    ));
    assert_eq!(
        (m.by, m.issue.as_deref()),
        (MatchedBy::Recipient, Some("d/2024-03"))
    );

    let m = f.find(&bounce(
        "nobody@example.net",
        Class::Hard,
        None,
        "x@y.example",
    ));
    assert_eq!(m.by, MatchedBy::None);
    assert_eq!(m.subscriber, None);
}

/// Records a soft bounce of `key` for `issue`, as processing does, and what the policy says.
fn soft_bounce(f: &mut Fixture, key: &str, issue: &str) -> Option<policy::Suppress> {
    let subscriber = f.store.subscriber_of(key).unwrap();
    let m = Match {
        key: Some(key.into()),
        subscriber,
        issue: Some(issue.into()),
        by: MatchedBy::MessageId,
    };
    f.store
        .record_event(&StoredEvent {
            received_at: now(),
            kind: "bounce",
            class: Some("soft"),
            status: Some("4.2.2"),
            recipient: Some(key),
            subscriber,
            issue: Some(issue),
            matched_by: "message_id",
            message_id: None,
            detail: None,
            delayed: false,
        })
        .unwrap();
    policy::for_class(&f.store, &f.config.bounces, Class::Soft, &m, now()).unwrap()
}

#[test]
fn soft_bounces_suppress_after_three_of_the_last_five_issues_until_they_expire() {
    let mut f = fixture(&["ann@example.net"], 7);
    let ann = "ann@example.net";
    // Bounces of issues older than the last five do not count.
    assert_eq!(soft_bounce(&mut f, ann, "d/2024-01"), None);
    assert_eq!(soft_bounce(&mut f, ann, "d/2024-02"), None);
    assert_eq!(soft_bounce(&mut f, ann, "d/2024-04"), None);
    assert_eq!(
        soft_bounce(&mut f, ann, "d/2024-04"),
        None,
        "one issue counts once"
    );
    assert_eq!(soft_bounce(&mut f, ann, "d/2024-05"), None);
    let s = soft_bounce(&mut f, ann, "d/2024-07").expect("3 of the last 5");
    assert_eq!(s.reason, Reason::Bounced);
    assert_eq!(s.scope, None);
    assert_eq!(s.expires, Some(now() + Duration::days(90)));

    f.store
        .suppress_until(ann, None, s.reason, Some("soft"), now(), s.expires)
        .unwrap();
    let suppressed = |f: &Fixture, at| f.store.suppressed(ann, "d", at).unwrap();
    assert_eq!(
        suppressed(&f, now() + Duration::days(89)),
        Some(Reason::Bounced)
    );
    assert_eq!(suppressed(&f, now() + Duration::days(90)), None, "expired");
    // A hard bounce later makes it permanent.
    assert!(
        f.store
            .suppress(ann, None, Reason::Bounced, Some("hard"), now())
            .unwrap()
    );
    assert_eq!(
        suppressed(&f, now() + Duration::days(900)),
        Some(Reason::Bounced)
    );
    assert_eq!(f.suppression(ann).unwrap().expires_at, None);
}

/// A raw ARF complaint about `to` for the returned message `id`, itself `own`.
fn complaint(own: &str, to: &str, id: &str) -> Vec<u8> {
    format!(
        "From: fbl@isp.example\r\nTo: abuse@news.example.org\r\nMessage-ID: <{own}>\r\n\
         Subject: complaint\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n\
         --b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n\
         Version: 1\r\nOriginal-Rcpt-To: {to}\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: digest@news.example.org\r\n\
         To: {to}\r\nMessage-ID: {id}\r\nSubject: Best of\r\n\r\n--b--\r\n"
    )
    .into_bytes()
}

#[test]
fn a_complaint_suppresses_for_every_digest_once_however_often_it_is_processed() {
    let mut f = fixture(&["ann@example.net"], 2);
    let id = f
        .keys
        .message_id("d/2024-01", "ann@example.net", "news.example.org");
    let raw = complaint("fbl-1@isp.example", "ann@example.net", &id);
    let p = Processor {
        matcher: Matcher {
            keys: &f.keys,
            config: &f.config,
        },
        policy: &f.config.bounces,
        events: Events::default(),
    };
    let first = p.process(&mut f.store, &raw, "m1", now()).unwrap();
    assert_eq!(
        (first.complaints, first.suppressed, first.duplicates),
        (1, 1, 0)
    );
    let again = p.process(&mut f.store, &raw, "m1", now()).unwrap();
    assert_eq!((again.complaints, again.duplicates), (0, 1));
    // Another copy with the same Message-ID (a header rewritten on the way) is the same message.
    let mut copy = b"X-Spam: no\r\n".to_vec();
    copy.extend_from_slice(&raw);
    assert_eq!(
        p.process(&mut f.store, &copy, "m2", now())
            .unwrap()
            .duplicates,
        1
    );
    let s = f.suppression("ann@example.net").unwrap();
    assert_eq!((s.reason, s.scope.as_str()), (Reason::Complained, "*"));
    let detail = s.detail.unwrap();
    assert!(
        detail.contains("fbl-1@isp.example") && detail.contains("d/2024-01"),
        "{detail}"
    );
    let key = IssueKey::new("d", "2024-01".parse().unwrap());
    assert_eq!(f.store.issue_bounces(&key).unwrap().complaints, 1);
}

#[test]
fn a_mailed_unsubscribe_with_a_valid_token_leaves_its_digest_and_a_forged_one_nothing() {
    let f = fixture(&["ann@example.net", "bob@example.net"], 1);
    let ann = f.store.subscriber_of("ann@example.net").unwrap().unwrap();
    let bob = f.store.subscriber_of("bob@example.net").unwrap().unwrap();
    let request = |token: &str| {
        format!(
            "From: someone@example.net\r\nTo: unsubscribe@news.example.org\r\n\
             Subject: unsubscribe {token}\r\n\r\n\r\n"
        )
        .into_bytes()
    };
    let forged = Keys::parse("t1:fedcba9876543210fedcba9876543210").unwrap();
    let p = f.processor();
    let mut store = Store::open(f.store.path()).unwrap();
    let t = p
        .process(&mut store, &request(&f.keys.sign(ann, "d")), "a", now())
        .unwrap();
    assert_eq!((t.unsubscribes, t.suppressed), (1, 1));
    let t = p
        .process(&mut store, &request(&forged.sign(bob, "d")), "b", now())
        .unwrap();
    assert_eq!((t.unsubscribes, t.suppressed), (1, 0));
    let s = f.suppression("ann@example.net").unwrap();
    assert_eq!((s.reason, s.scope.as_str()), (Reason::Unsubscribed, "d"));
    // Through the one path every unsubscribe takes, saying it came by mail and which message.
    let detail = s.detail.unwrap();
    assert!(
        detail.starts_with("mailto: unsubscribe") && detail.contains(" a,"),
        "{detail}"
    );
    assert_eq!(f.suppression("bob@example.net"), None);
}

#[test]
fn a_policy_refusal_and_other_mail_are_recorded_and_suppress_no_one() {
    let f = fixture(&["ann@example.net"], 1);
    let p = f.processor();
    let mut store = Store::open(f.store.path()).unwrap();
    let refusal = b"From: MAILER-DAEMON@mx.example\r\nTo: bounces@news.example.org\r\n\
        Subject: failure notice\r\n\r\n<ann@example.net>:\r\n\
        554 5.7.1 Message rejected as spam by content filter\r\n";
    let t = p.process(&mut store, refusal, "r", now()).unwrap();
    assert_eq!((t.policy, t.suppressed), (1, 0), "{t}");
    let t = p
        .process(&mut store, b"\xff\xfe not a message at all", "junk", now())
        .unwrap();
    assert_eq!((t.other, t.messages), (1, 1));
    assert_eq!(f.suppression("ann@example.net"), None);
    let key = IssueKey::new("d", "2024-01".parse().unwrap());
    assert_eq!(f.store.issue_bounces(&key).unwrap().policy, 1);
}

/// A Postfix delivery status notification about `to`, for the message `id`, with `action`
/// (`delayed`: a warning, still being retried; `failed`: given up), shaped like a real one.
fn postfix_dsn(own: &str, to: &str, id: &str, action: &str) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@relay.example\r\nTo: bounces@news.example.org\r\n\
         Message-Id: <{own}>\r\nSubject: Delayed Mail (still being retried)\r\n\
         Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\n# THIS IS A WARNING ONLY. #\r\n\
         <{to}>: host 127.0.0.1[127.0.0.1] said: 452 4.2.2 Mailbox full (in reply to RCPT TO \
         command)\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; relay.example\r\n\r\n\
         Final-Recipient: rfc822; {to}\r\nOriginal-Recipient: rfc822;{to}\r\n\
         Action: {action}\r\nStatus: 4.2.2\r\n\
         Diagnostic-Code: smtp; 452 4.2.2 Mailbox full\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: digest@news.example.org\r\n\
         To: {to}\r\nMessage-ID: {id}\r\nSubject: Best of\r\n\r\n--b--\r\n"
    )
    .into_bytes()
}

// Postfix warns "Delayed Mail (still being retried)" while a message sits in its queue; such a
// warning was counted as a soft bounce, so a reader whose mail was merely slow in three of five
// issues (and then delivered) was suppressed for 90 days.
#[test]
fn delay_warnings_are_recorded_but_never_count_toward_a_soft_bounce_suppression() {
    let mut f = fixture(&["ann@example.net"], 5);
    let ann = "ann@example.net";
    let p = Processor {
        matcher: Matcher {
            keys: &f.keys,
            config: &f.config,
        },
        policy: &f.config.bounces,
        events: Events::default(),
    };
    let store = &mut f.store;
    for month in 3..=5 {
        let issue = format!("d/2024-{month:02}");
        let id = f.keys.message_id(&issue, ann, "news.example.org");
        let raw = postfix_dsn(&format!("delay-{month}@relay.example"), ann, &id, "delayed");
        let tally = p.process(store, &raw, "m", now()).unwrap();
        assert_eq!((tally.messages, tally.suppressed), (1, 0), "{issue}");
        let key = IssueKey::new("d", format!("2024-{month:02}").parse().unwrap());
        assert_eq!(store.issue_bounces(&key).unwrap().soft, 0, "{issue}");
    }
    assert_eq!(store.suppressed(ann, "d", now()).unwrap(), None);
    // The same report with `Action: failed` in a third issue does suppress: the rule still works.
    for month in 3..=5 {
        let issue = format!("d/2024-{month:02}");
        let id = f.keys.message_id(&issue, ann, "news.example.org");
        let raw = postfix_dsn(&format!("failed-{month}@relay.example"), ann, &id, "failed");
        p.process(store, &raw, "m", now()).unwrap();
    }
    assert_eq!(
        store.suppressed(ann, "d", now()).unwrap(),
        Some(Reason::Bounced)
    );
}
