//! Hostile-input fuzzing with proptest (cargo-fuzz needs a nightly toolchain, which this project
//! cannot rely on). Every parser of untrusted input is fed random and structured-hostile inputs for
//! a time budget: `FUZZ_SECONDS` per target (default 2; `scripts/reliability` runs longer). A
//! panic fails the target; beyond not panicking, each target checks the invariants its output
//! promises. Prints cases tried per target.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};

use digest::catalog::jsonl;
use digest::config::{Config, List};
use digest::mail::audience::{self, Entry};
use digest::model::token::Keys;
use digest::period::Period;

const KEYS: &str = "k1:fuzz-secret-fuzz-secret-fuzz-secret-01";

fn budget() -> Duration {
    let secs = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(secs)
}

/// Runs `check` on inputs from `strategy` until the budget is spent; panics (with the shrunk
/// input) on the first failure, and reports how many cases ran.
fn fuzz<S: Strategy>(name: &str, strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let deadline = Instant::now() + budget();
    let mut cases = 0u64;
    let mut round = 0u32;
    while Instant::now() < deadline {
        let config = RunnerConfig {
            cases: 256,
            failure_persistence: None,
            ..RunnerConfig::default()
        };
        let mut runner = TestRunner::new_with_rng(
            config,
            proptest::test_runner::TestRng::from_seed(
                proptest::test_runner::RngAlgorithm::ChaCha,
                &[round as u8; 32],
            ),
        );
        if let Err(e) = runner.run(&strategy, &check) {
            panic!("{name}: {e}");
        }
        cases += 256;
        round += 1;
    }
    eprintln!("fuzz {name}: {cases} cases, 0 panics");
}

/// Text an attacker would try: markup, script URLs, control and bidi characters, long runs.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,80}",
        Just("<script>alert(1)</script>".to_string()),
        Just("\"><img src=x onerror=alert(1)>".to_string()),
        Just("line\r\nBcc: victim@example.com".to_string()),
        Just("\u{202E}evil\u{2066}\0\u{1}\u{1}email\u{1}".to_string()),
        Just("x".repeat(5000)),
        "[\\PC\\p{Cc}\\u{200B}\\u{202A}-\\u{202E}]{0,40}",
    ]
}

fn hostile_url() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("javascript:alert(1)".to_string()),
        Just("data:text/html,<b>x</b>".to_string()),
        Just("vbscript:msgbox".to_string()),
        Just(" JaVaScRiPt:alert(1)".to_string()),
        Just("https://example.com/a?utm_source=x#f".to_string()),
        "https?://[a-z0-9.-]{0,20}(:[0-9]{1,6})?/[ -~]{0,30}",
        ".{0,40}",
    ]
}

#[test]
fn catalogue_lines() {
    let structured = (hostile_url(), hostile_text(), hostile_text(), "[a-z]{0,8}", ".{0,30}", any::<i64>()).prop_map(
        |(url, title, summary, kind, date, votes)| {
            serde_json::json!({
                "url": url, "title": title, "summary": summary, "kind": kind,
                "source": {"id": "s", "name": title, "avatar": url},
                "tags": [title.clone(), "Distributed-Systems"], "published_at": date, "upvotes": votes
            })
            .to_string()
        },
    );
    fuzz(
        "catalogue lines",
        prop_oneof![".{0,200}", structured],
        |line| {
            if let Ok(a) = jsonl::parse_line(&line) {
                prop_assert!(
                    a.url.starts_with("http://") || a.url.starts_with("https://"),
                    "{}",
                    a.url
                );
                prop_assert!(!a.title.chars().any(char::is_control), "{:?}", a.title);
                prop_assert!(a.title.chars().count() <= digest::catalog::MAX_TITLE);
                prop_assert!(a.summary.chars().count() <= digest::catalog::MAX_SUMMARY);
                prop_assert!(
                    a.publisher
                        .avatar
                        .as_deref()
                        .is_none_or(|u| u.starts_with("http"))
                );
            }
            Ok(())
        },
    );
}

/// A project with one feed source, for the feed target.
fn feed_source() -> (tempfile::TempDir, digest::config::Source) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/digest.toml"),
        "[site]\nname = \"S\"\nbase_url = \"https://x.example\"\n\n[sources.f]\nkind = \"feed\"\npath = \"f.xml\"\n",
    )
    .unwrap();
    let config =
        Config::load_with_env(&dir.path().join("config"), Some(Default::default())).unwrap();
    let source = config.sources["f"].clone();
    (dir, source)
}

#[test]
fn feed_documents() {
    let (_dir, source) = feed_source();
    let rss = (hostile_text(), hostile_url(), hostile_text(), "[a-zA-Z0-9 :,+-]{0,40}", 0usize..300).prop_map(
        |(title, link, desc, date, depth)| {
            format!(
                "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>c</title><item><title><![CDATA[{title}]]></title>\
                 <link>{}</link><description>{}{}{}</description><pubDate>{date}</pubDate><category>{}</category></item></channel></rss>",
                link.replace('&', "&amp;").replace('<', "&lt;"),
                "&lt;div&gt;".repeat(depth),
                desc.replace('&', "&amp;").replace('<', "&lt;"),
                "&lt;/div&gt;".repeat(depth),
                title.replace('&', "&amp;").replace('<', "&lt;"),
            )
            .into_bytes()
        },
    );
    let laughs = Just(
        br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY xxe SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel><item><title>&lol3;&xxe;</title><link>https://x.example/a</link></item></channel></rss>"#
            .to_vec(),
    );
    let bytes = proptest::collection::vec(any::<u8>(), 0..400);
    fuzz("feed documents", prop_oneof![bytes, rss, laughs], |doc| {
        if let Ok(parsed) = digest::catalog::feed::parse(&doc, None, &source) {
            for item in &parsed.items {
                let a = &item.article;
                prop_assert!(
                    a.url.starts_with("http://") || a.url.starts_with("https://"),
                    "{}",
                    a.url
                );
                prop_assert!(!a.title.chars().any(char::is_control));
                prop_assert!(!a.title.contains("root:"), "no external entity was read");
                prop_assert!(a.summary.chars().count() <= digest::catalog::MAX_SUMMARY);
            }
        }
        Ok(())
    });
}

#[test]
fn configuration_files() {
    let value = prop_oneof![
        Just("\"x\"".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("\"Mars/Base\"".to_string()),
        Just("\"* * * * *\"".to_string()),
        "\"[ -~]{0,20}\"",
        "[0-9.e+-]{1,10}",
    ];
    let key = prop_oneof![
        Just("size"),
        Just("period"),
        Just("timezone"),
        Just("tag"),
        Just("schedule"),
        Just("lists"),
        Just("min_items"),
        Just("max_lateness"),
        Just("title"),
        Just("bogus"),
    ];
    let structured = proptest::collection::vec((key, value), 0..6).prop_map(|pairs| {
        let mut toml =
            "[site]\nname = \"S\"\nbase_url = \"https://x.example\"\n\n[digests.d]\n".to_string();
        for (k, v) in pairs {
            toml.push_str(&format!("{k} = {v}\n"));
        }
        toml
    });
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    std::fs::create_dir_all(&config_dir).unwrap();
    fuzz(
        "configuration files",
        prop_oneof![".{0,200}", structured],
        |text| {
            std::fs::write(config_dir.join("digest.toml"), &text).unwrap();
            match Config::load_with_env(&config_dir, Some(Default::default())) {
                Ok(_) => {}
                Err(invalid) => {
                    prop_assert!(!invalid.0.is_empty());
                    for p in &invalid.0 {
                        prop_assert!(!p.message.is_empty());
                    }
                }
            }
            Ok(())
        },
    );
}

#[test]
fn csv_lists() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("list.csv");
    let row = ("[ -~\\r\\n\"]{0,40}", hostile_text()).prop_map(|(a, b)| format!("{a},{b}\n"));
    let doc = proptest::collection::vec(row, 0..20)
        .prop_map(|rows| format!("email,name,status\n{}", rows.concat()));
    let bytes = proptest::collection::vec(any::<u8>(), 0..300).prop_map(|mut b| {
        let mut doc = b"email,name\n".to_vec();
        doc.append(&mut b);
        doc
    });
    let as_bytes = doc.prop_map(String::into_bytes);
    fuzz("CSV lists", prop_oneof![as_bytes, bytes], |content| {
        std::fs::write(&file, &content).unwrap();
        let list = List {
            name: "l".into(),
            members: vec![],
            file: Some(file.clone()),
            signup: None,
        };
        let mut result = Ok(());
        let _ = audience::each(&[&list], |e| {
            if let Entry::Recipient(r) = e {
                let ok = !r
                    .address
                    .key
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace())
                    && r.name
                        .as_deref()
                        .is_none_or(|n| !n.chars().any(char::is_control));
                if !ok {
                    result = Err(TestCaseError::fail(format!("{r:?}")));
                }
            }
            Ok(())
        });
        result
    });
}

#[test]
fn unsubscribe_tokens() {
    let keys = Keys::parse(KEYS).unwrap();
    let valid = keys.sign(42, "digest");
    let mutated = (0..valid.len(), any::<char>()).prop_map(move |(i, c)| {
        let mut t: Vec<char> = valid.chars().collect();
        t[i] = c;
        t.into_iter().collect::<String>()
    });
    let b64 = proptest::collection::vec(any::<u8>(), 0..80).prop_map(|b| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    });
    let original = keys.sign(42, "digest");
    fuzz(
        "unsubscribe tokens",
        prop_oneof![".{0,100}", b64, mutated],
        |t| {
            if t != original {
                prop_assert!(keys.verify(&t).is_none(), "{t} verified");
            }
            Ok(())
        },
    );
}

#[test]
fn period_strings() {
    let structured = prop_oneof![
        ("[0-9]{1,5}", "[0-9]{1,3}").prop_map(|(y, m)| format!("{y}-{m}")),
        ("[0-9]{4}", "[0-9]{1,3}").prop_map(|(y, w)| format!("{y}-W{w}")),
        ("[0-9]{4}", "[0-9]{2}", "[0-9]{2}").prop_map(|(y, m, d)| format!("{y}-{m}-{d}")),
    ];
    fuzz("period strings", prop_oneof![".{0,20}", structured], |s| {
        if let Ok(p) = s.parse::<Period>() {
            prop_assert_eq!(
                p.to_string().parse::<Period>().ok(),
                Some(p),
                "round trip of {}",
                s
            );
            let w = p.window(chrono_tz::Europe::Berlin);
            prop_assert!(w.start < w.end);
        }
        Ok(())
    });
}

#[test]
fn cron_expressions() {
    let field = "[0-9*/,LW#?a-zA-Z-]{1,6}";
    let structured = proptest::collection::vec(field, 1..8).prop_map(|f| f.join(" "));
    let at = "@[a-z]{0,10}";
    fuzz(
        "cron expressions",
        prop_oneof![".{0,40}", structured, at],
        |s| {
            if let Ok(schedule) = s.parse::<digest::schedule::Schedule>() {
                let now = chrono::DateTime::parse_from_rfc3339("2024-10-27T00:30:00Z")
                    .unwrap()
                    .to_utc();
                let _ = schedule.next_after(now, chrono_tz::Europe::Berlin);
            }
            Ok(())
        },
    );
}

#[test]
fn inbound_messages() {
    use digest::inbound::{Kind, MAX_DIAGNOSTIC, classify};
    // Pieces of bounces, reports and replies, shuffled into messages with random bytes between.
    let piece = prop_oneof![
        Just("From: MAILER-DAEMON@mx.example\r\n".to_string()),
        Just("Subject: Undelivered Mail\r\n".to_string()),
        Just("Auto-Submitted: auto-replied\r\n".to_string()),
        Just(
            "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n"
                .to_string()
        ),
        Just("\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n".to_string()),
        Just("\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\n".to_string()),
        Just("\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n".to_string()),
        Just("\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n".to_string()),
        Just("\r\n--b--\r\n".to_string()),
        Just("Final-Recipient: rfc822; a@b.example\r\nStatus: 5.1.1\r\n".to_string()),
        Just("Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n".to_string()),
        Just("Original-Rcpt-To: a@b.example\r\n".to_string()),
        Just("<a@b.example>:\r\n550 no such user (#5.1.1)\r\n".to_string()),
        Just("Subject: unsubscribe AbC\r\n".to_string()),
        Just(
            "{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":[{}]}}".to_string()
        ),
        Just(
            "Return-Path: <x@y.example>\r\nList-Unsubscribe: <mailto:u@x?subject=unsubscribe%20"
                .to_string()
        ),
        Just("\r\n".to_string()),
        Just("\r".to_string()),
        "[ -~]{0,40}",
        hostile_text(),
    ];
    let structured = proptest::collection::vec(piece, 0..24).prop_map(|p| p.concat().into_bytes());
    let bytes = proptest::collection::vec(any::<u8>(), 0..2000);
    fuzz("inbound messages", prop_oneof![bytes, structured], |raw| {
        let c = classify(&raw);
        prop_assert!(c.kind != Kind::Other || c.findings.is_empty());
        for f in &c.findings {
            prop_assert!(f.diagnostic.chars().count() <= MAX_DIAGNOSTIC);
            prop_assert!(
                !f.diagnostic.chars().any(char::is_control),
                "{:?}",
                f.diagnostic
            );
            if let Some(r) = &f.recipient {
                prop_assert_eq!(r, &r.to_lowercase());
            }
        }
        Ok(())
    });
}
