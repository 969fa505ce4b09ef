//! One small hand-written message per format family.

use super::*;

/// The (recipient, class, status) of each finding.
fn findings(c: &Classified) -> Vec<(Option<&str>, Option<Class>, Option<String>)> {
    c.findings
        .iter()
        .map(|f| {
            (
                f.recipient.as_deref(),
                f.class,
                f.status.map(|s| s.to_string()),
            )
        })
        .collect()
}

const RETURNED: &str = "Message-ID: <issue-7.abc@news.example>\r\n\
    From: Digest <news@news.example>\r\n\
    To: Reader <Reader@Mail.Example>\r\n\
    List-Id: Weekly digest <weekly.news.example>\r\n\
    List-Unsubscribe: <https://news.example/u/TOKEN1>, <mailto:leave@news.example?subject=unsubscribe%20TOKEN1>\r\n\
    Subject: This week\r\n";

#[test]
fn an_rfc3464_dsn_gives_each_failed_recipient_with_status_and_the_returned_headers() {
    let raw = format!(
        "Return-Path: <>\r\nDelivered-To: bounces+r1@news.example\r\n\
         From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nTo: bounces+r1@news.example\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.example\r\n\r\n\
         Final-Recipient: rfc822; Reader@Mail.Example\r\nAction: failed\r\nStatus: 5.0.0\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <reader@mail.example>: Recipient address\r\n \
         rejected: User unknown in local recipient table\r\n\r\n\
         Final-Recipient: rfc822; full@mail.example\r\nAction: failed\r\nStatus: 5.2.2\r\n\
         Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\r\n\r\n\
         Final-Recipient: rfc822; fine@mail.example\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\n{RETURNED}\r\n--B--\r\n"
    );
    let c = classify(raw.as_bytes());
    assert_eq!(c.kind, Kind::Bounce);
    assert_eq!(
        findings(&c),
        [
            (
                Some("reader@mail.example"),
                Some(Class::Hard),
                Some("5.1.1".into())
            ),
            (
                Some("full@mail.example"),
                Some(Class::Soft),
                Some("5.2.2".into())
            ),
        ]
    );
    assert_eq!(
        c.findings[0].diagnostic,
        "550 5.1.1 <reader@mail.example>: Recipient address rejected: User unknown in local \
         recipient table"
    );
    assert_eq!(
        c.original,
        Original {
            message_id: Some("issue-7.abc@news.example".into()),
            to: Some("reader@mail.example".into()),
            list_id: Some("weekly.news.example".into()),
            unsubscribe_token: Some("TOKEN1".into()),
        }
    );
    assert_eq!(c.envelope_to.as_deref(), Some("bounces+r1@news.example"));
}

#[test]
fn an_arf_report_is_a_complaint_about_its_original_recipient() {
    let raw = format!(
        "From: Feedback Loop <fbl@isp.example>\r\nTo: abuse@news.example\r\n\
         Subject: Abuse report\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n\
         --F\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\r\n\
         --F\r\nContent-Type: message/feedback-report\r\n\r\n\
         Feedback-Type: abuse\r\nUser-Agent: FBL/1.0\r\nVersion: 1\r\n\
         Original-Rcpt-To: <reader@mail.example>\r\n\r\n\
         --F\r\nContent-Type: message/rfc822\r\n\r\n{RETURNED}\r\nHello\r\n\r\n--F--\r\n"
    );
    let c = classify(raw.as_bytes());
    assert_eq!(c.kind, Kind::Complaint);
    assert_eq!(
        findings(&c),
        [(Some("reader@mail.example"), Some(Class::Complaint), None)]
    );
    assert_eq!(c.findings[0].diagnostic, "abuse");
    assert_eq!(
        c.original.message_id.as_deref(),
        Some("issue-7.abc@news.example")
    );
}

#[test]
fn an_rfc3834_auto_reply_is_about_its_sender_and_no_bounce() {
    let raw = "From: Reader <Reader@mail.example>\r\nTo: news@news.example\r\n\
               Subject: Re: This week\r\nAuto-Submitted: auto-replied\r\n\r\n\
               I am away until Monday; your message could not be answered.\r\n";
    let c = classify(raw.as_bytes());
    assert_eq!(c.kind, Kind::AutoReply);
    assert_eq!(
        findings(&c),
        [(Some("reader@mail.example"), Some(Class::AutoReply), None)]
    );
}

#[test]
fn a_qmail_bounce_gives_the_address_and_the_lines_after_it() {
    let raw = format!(
        "From: MAILER-DAEMON@mx.example\r\nTo: bounces@news.example\r\n\
         Subject: failure notice\r\n\r\n\
         Hi. This is the qmail-send program at mx.example.\r\n\
         I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
         This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n\
         <reader@mail.example>:\r\n\
         192.0.2.1 does not like recipient.\r\n\
         Remote host said: 550 sorry, no mailbox here by that name. (#5.1.1)\r\n\
         Giving up on 192.0.2.1.\r\n\r\n\
         --- Below this line is a copy of the message.\r\n\r\n\
         Return-Path: <bounces@news.example>\r\n{RETURNED}\r\nHello\r\n"
    );
    let c = assert_reader_hard_bounced(&raw);
    assert!(c.findings[0].diagnostic.contains("no mailbox here"));
    assert_eq!(c.original.unsubscribe_token.as_deref(), Some("TOKEN1"));
}

#[test]
fn an_exim_bounce_gives_each_indented_address_with_its_smtp_error() {
    let raw = format!(
        "From: Mail Delivery System <Mailer-Daemon@mx.example>\r\nTo: bounces@news.example\r\n\
         Subject: Mail delivery failed: returning message to sender\r\n\r\n\
         This message was created automatically by mail delivery software.\r\n\r\n\
         A message that you sent could not be delivered to one or more of its\r\n\
         recipients. This is a permanent error. The following address(es) failed:\r\n\r\n\
         \x20 reader@mail.example\r\n\
         \x20   SMTP error from remote mail server after RCPT TO:<reader@mail.example>:\r\n\
         \x20   host mx.mail.example [192.0.2.2]: 550 5.7.1 Message rejected as spam\r\n\
         \x20 other@mail.example\r\n\
         \x20   host mx.mail.example [192.0.2.2]: 452 4.2.2 Mailbox over quota\r\n\r\n\
         ------ This is a copy of the message, including all the headers. ------\r\n\r\n\
         Return-path: <bounces@news.example>\r\n{RETURNED}\r\nHello\r\n"
    );
    let c = classify(raw.as_bytes());
    assert_eq!(c.kind, Kind::Bounce);
    assert_eq!(
        findings(&c),
        [
            (
                Some("reader@mail.example"),
                Some(Class::Policy),
                Some("5.7.1".into())
            ),
            (
                Some("other@mail.example"),
                Some(Class::Soft),
                Some("4.2.2".into())
            ),
        ]
    );
}

#[test]
fn a_mail_to_the_unsubscribe_address_is_a_request_with_its_token() {
    let raw = "From: Reader <reader@mail.example>\r\nTo: leave@news.example\r\n\
               Subject: unsubscribe AbC_-9xyz\r\n\r\n";
    let c = classify(raw.as_bytes());
    assert_eq!(c.kind, Kind::Unsubscribe);
    assert_eq!(c.token.as_deref(), Some("AbC_-9xyz"));
    assert_eq!(findings(&c), [(Some("reader@mail.example"), None, None)]);
    // The token in the address instead; a bare "unsubscribe" has none.
    let raw = "From: reader@mail.example\r\nTo: leave+unsubscribe-Tok3n@news.example\r\n\
               Subject: please remove me\r\n\r\n";
    let c = classify(raw.as_bytes());
    assert_eq!(
        (c.kind, c.token.as_deref()),
        (Kind::Unsubscribe, Some("Tok3n"))
    );
    let raw = "From: reader@mail.example\r\nTo: leave@news.example\r\nSubject: Unsubscribe\r\n\r\n";
    let c = classify(raw.as_bytes());
    assert_eq!((c.kind, c.token), (Kind::Unsubscribe, None));
}

/// Asserts that `raw` is a bounce of reader@mail.example, hard, 5.1.1, and nothing else; its
/// classification.
fn assert_reader_hard_bounced(raw: &str) -> Classified {
    let c = classify(raw.as_bytes());
    assert_eq!(c.kind, Kind::Bounce);
    assert_eq!(
        findings(&c),
        [(
            Some("reader@mail.example"),
            Some(Class::Hard),
            Some("5.1.1".into())
        )]
    );
    c
}

#[test]
fn an_amazon_ses_notification_gives_its_recipients() {
    let raw = "From: SES <no-reply@sns.amazonaws.com>\r\nTo: ops@news.example\r\n\
               Subject: AWS Notification Message\r\n\r\n\
               {\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\",\
               \"bouncedRecipients\":[{\"emailAddress\":\"Reader@mail.example\",\"status\":\"5.1.1\",\
               \"diagnosticCode\":\"smtp; 550 5.1.1 user unknown\"}]}}\r\n--\r\nfooter\r\n";
    assert_reader_hard_bounced(raw);
}

// Before: the notification inside the SNS envelope of an SNS e-mail subscription (a JSON string,
// its long line broken by the transport) was not read, and its recipient was missed.
#[test]
fn an_amazon_ses_notification_in_an_sns_envelope_gives_its_recipients() {
    let raw = "From: SES <no-reply@sns.amazonaws.com>\r\nTo: ops@news.example\r\n\
               Subject: AWS Notification Message\r\n\r\n{\r\n  \"Type\" : \"Notification\",\r\n  \
               \"Message\" : \"{\\\"notificationType\\\":\\\"Bounce\\\",\\\"bounce\\\":{\\\"bounceType\\\":\
               \\\"Permanent\\\",\\\"bouncedRecipients\\\":[{\\\"emailAddress\\\":\\\"Reader@mail.ex!\r\n \
               ample\\\",\\\"status\\\":\\\"5.1.1\\\",\\\"diagnosticCode\\\":\\\"smtp; 550 5.1.1 user unknown\\\"}]}}\",\r\n  \
               \"Timestamp\" : \"2016-10-21T06:58:02.294Z\"\r\n}\r\n";
    assert_reader_hard_bounced(raw);
    // Any other JSON with a `Message` is no notification.
    let other = raw.replace("\"Notification\"", "\"SubscriptionConfirmation\"");
    assert_ne!(classify(other.as_bytes()).kind, Kind::Bounce);
}

// Before: an address whose own lines did not tell why (a connection reset) took its class from
// the whole report, and so from another address's "User unknown": hard.
#[test]
fn a_bounce_of_several_addresses_does_not_lend_one_address_s_reason_to_another() {
    let raw = "From: MAILER-DAEMON@mx.example\r\nTo: bounces@news.example\r\n\
               Subject: Returned mail: see transcript for details\r\n\r\n\
               ----- Transcript of session follows -----\r\n\
               554 <a@x.example>... Remote protocol error: Connection reset by peer\r\n\
               550 <b@y.example>... User unknown\r\n";
    let c = classify(raw.as_bytes());
    assert_eq!(
        findings(&c),
        [
            (Some("a@x.example"), Some(Class::Unknown), None),
            (Some("b@y.example"), Some(Class::Hard), None),
        ]
    );
}

// Before: a bounce forwarded as an attachment was read as a bounce of the forwarded message's
// own recipient (the address it was forwarded to), and the failed address was missed.
#[test]
fn a_forwarded_delivery_report_gives_the_recipients_it_reports() {
    let raw = "From: Postmaster <postmaster@relay.example>\r\nTo: bounces@news.example\r\n\
               Subject: Returned mail\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n\
               --o\r\nContent-Type: text/plain\r\n\r\n\
               The following addresses had permanent delivery errors\r\n\r\n\
               --o\r\nContent-Type: message/rfc822\r\n\r\n\
               From: MAILER-DAEMON@mx.example\r\nTo: someone@relay.example\r\n\
               Subject: Returned mail: User unknown\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/report; report-type=delivery-status; boundary=\"i\"\r\n\r\n\
               --i\r\nContent-Type: text/plain\r\n\r\nUser unknown\r\n\
               --i\r\nContent-Type: message/delivery-status\r\n\r\n\
               Reporting-MTA: dns; mx.example\r\n\r\n\
               Final-Recipient: rfc822; reader@mail.example\r\nAction: failed\r\n\
               Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n\
               --i--\r\n\r\n--o--\r\n";
    let c = assert_reader_hard_bounced(raw);
    assert_eq!(c.envelope_to.as_deref(), Some("bounces@news.example"));
}

// Before: a bounce whose MIME structure was broken (the inner multipart's boundary on a line of
// its own, not folded) had no readable text, and its failed address was missed.
#[test]
fn a_bounce_with_broken_mime_is_read_from_its_raw_body() {
    let raw = "From: post_master@mail.example\r\nTo: bounces@news.example\r\n\
               Subject: Re: Best of\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
               --b\r\nContent-Type: multipart/alternative;\r\nboundary=\"a\"\r\n\r\n\
               --a\r\nContent-Type: text/plain\r\n\r\nError: Invalid user address\r\n\r\n\
               Error message below:\r\n550 - Requested action not taken: no such user here\r\n\r\n\
               Message details:\r\n  RCPT TO: reader@mail.example\r\n\r\n--a--\r\n\r\n--b--\r\n";
    let c = classify(raw.as_bytes());
    assert_eq!(c.kind, Kind::Bounce);
    assert_eq!(
        findings(&c).first().map(|f| (f.0, f.1)),
        Some((Some("reader@mail.example"), Some(Class::Hard)))
    );
}

#[test]
fn a_person_s_reply_is_other_and_garbage_is_other() {
    let raw = "From: Reader <reader@mail.example>\r\nTo: news@news.example\r\n\
               Subject: Re: This week\r\n\r\nThanks, the second article was great.\r\n";
    let c = classify(raw.as_bytes());
    assert_eq!((c.kind, c.findings.len()), (Kind::Other, 0));
    // Quoting a bounce does not make a reply one.
    let raw = "From: Reader <reader@mail.example>\r\nTo: news@news.example\r\n\
               Subject: Re: why?\r\n\r\nI got this:\r\n\r\n\
               Final-Recipient: rfc822; friend@mail.example\r\nAction: failed\r\n\
               Status: 5.1.1\r\n\r\n<friend@mail.example>: 550 user unknown\r\n";
    let c = classify(raw.as_bytes());
    assert_eq!((c.kind, c.findings.len()), (Kind::Other, 0));
    for garbage in [&b""[..], b"\0\xff\xfe", b"\r\r\r\n\n", b"no headers at all"] {
        assert_eq!(classify(garbage).kind, Kind::Other, "{garbage:?}");
    }
}

#[test]
fn diagnostics_lose_control_characters_and_stay_bounded() {
    let long = "x".repeat(5000);
    let raw = format!(
        "From: MAILER-DAEMON@mx.example\r\nSubject: failure notice\r\n\r\n\
         <reader@mail.example>:\r\n550 no such user \x1b[31mred\x1b[0m \u{202e}evil {long}\r\n"
    );
    let c = classify(raw.as_bytes());
    let d = &c.findings[0].diagnostic;
    assert!(
        !d.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{d:?}"
    );
    assert!(d.chars().count() <= MAX_DIAGNOSTIC);
    assert!(d.starts_with("550 no such user [31mred"), "{d:?}");
}
