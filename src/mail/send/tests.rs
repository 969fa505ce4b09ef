//! The send loop against the scripted stub transport, on a real ledger in a temporary folder, in
//! tokio's paused time: outages, backoff and rate limits take no real time and the results do not
//! depend on the machine's speed.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::worker::{backoff, jitter};
use super::*;
use crate::clock::FixedClock;
use crate::config::{Config, RateLimits};
use crate::issue::Issue;
use crate::mail::error::Stage;
use crate::mail::rate::Recent;
use crate::mail::transport::stub::{Script, Stub};
use crate::period::Period;
use crate::store::Row;

const USER_UNKNOWN: &str = "550 5.1.1 <x@example.net>: User unknown";
const TOO_BIG: &str = "552 5.3.4 Message size exceeds fixed limit";
const SPAM: &str = "554 5.7.1 Message rejected as spam";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-08-01T08:00:00Z")
        .unwrap()
        .to_utc()
}

/// A ledger with rows for some recipients of a rendered issue, and a stub to send it to.
struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    prepared: Arc<Prepared>,
    issue: IssueKey,
    stub: Stub,
}

/// `n` recipients, `reader00@example.net`, … in subscriber id order.
fn readers(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("reader{i:02}@example.net"))
        .collect()
}

fn fixture(to: &[String]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::create_dir_all(root.join("templates")).unwrap();
    for file in ["theme.toml", "email.css"] {
        std::fs::copy(
            repo.join("templates").join(file),
            root.join("templates").join(file),
        )
        .unwrap();
    }
    std::fs::write(
        root.join("config/digest.toml"),
        r#"[site]
name = "Test Site"
base_url = "https://news.example.org"

[sources.main]
kind = "jsonl"
path = "catalog/main.jsonl"

[digests.d]
tag = "distributed-systems"
period = "monthly"

[mail]
from = "Test Digest <digest@news.example.org>"
"#,
    )
    .unwrap();
    let env = [(
        "DIGEST__UNSUBSCRIBE__KEYS".to_string(),
        "t1:test-secret-test-secret-test-secret-0001".to_string(),
    )]
    .into_iter()
    .collect();
    let config = Config::load_with_env(&root.join("config"), Some(env)).unwrap();
    let digest = config.digest("d").unwrap();
    let period: Period = "2024-07".parse().unwrap();
    let issue = Issue {
        format: crate::issue::FORMAT,
        digest: "d".into(),
        number: 1,
        title: "Best of July 2024".into(),
        period,
        period_label: "July 2024".into(),
        timezone: "UTC".into(),
        window: period.window(chrono_tz::UTC),
        built_at: now(),
        items: Vec::new(),
    };
    let prepared = Arc::new(crate::mail::campaign::prepare(&config, digest, &issue).unwrap());
    let key = prepared.issue_key.clone();
    let mut store = Store::open(&root.join("store.sqlite")).unwrap();
    store.begin_resolution().unwrap();
    let rows: Vec<Row<'_>> = to
        .iter()
        .map(|a| Row {
            key: a,
            send_to: a,
            name: None,
        })
        .collect();
    store.enqueue(&key, &rows, now()).unwrap();
    Fixture {
        _dir: dir,
        store,
        prepared,
        issue: key,
        stub: Stub::new(),
    }
}

/// The defaults of `[smtp]`.
fn options() -> Options {
    Options {
        concurrency: 4,
        max_attempts: 4,
        retry_base: Duration::from_secs(1),
        retry_max: Duration::from_secs(60),
        outage_tolerance: OUTAGE_TOLERANCE,
        grace: Duration::from_secs(30),
        retry_failed: false,
        suppress_hard_bounces: true,
    }
}

fn one_connection() -> Options {
    Options {
        concurrency: 1,
        ..options()
    }
}

impl Fixture {
    /// Sends through the stub with `options` and no rate limits; the summary, and every progress
    /// report after checking that none counts more done than its total.
    async fn send(&mut self, options: Options) -> (Summary, Vec<Progress>) {
        self.send_until(options, &Stop::new()).await
    }

    async fn send_until(&mut self, options: Options, stop: &Stop) -> (Summary, Vec<Progress>) {
        let setup = Setup {
            prepared: self.prepared.clone(),
            transport: Arc::new(self.stub.clone()),
            limiter: Arc::new(Limiter::new(&RateLimits::default(), Recent::default())),
            options,
            observer: None,
        };
        let mut reports = Vec::new();
        let summary = run(&mut self.store, setup, &FixedClock(now()), stop, |p| {
            assert!(p.done() <= p.total, "{p:?}");
            reports.push(*p);
        })
        .await
        .unwrap();
        (summary, reports)
    }

    fn counts(&self) -> Counts {
        self.store.counts(&self.issue).unwrap()
    }
}

// Before: with 4 connections and 4 attempts, four refused connections counted as "4 failed
// connection attempts in a row" and the send gave up after 1.1 s.
#[tokio::test(start_paused = true)]
async fn a_relay_down_for_two_minutes_is_waited_out() {
    let to = readers(10);
    let mut f = fixture(&to);
    f.stub.down_for(Duration::from_secs(120));
    let (summary, _) = f.send(options()).await;
    assert!(summary.is_clean(), "{summary:?}");
    assert_eq!(summary.progress.sent, 10);
    assert_eq!(
        summary.progress.retries, 0,
        "connecting is not a recipient's attempt"
    );
    let mut delivered = f.stub.delivered();
    delivered.sort();
    assert_eq!(delivered, to, "everyone delivered once");
    let from = f.stub.envelopes()[0].from().map(ToString::to_string);
    assert_eq!(from.as_deref(), Some("digest@news.example.org"));
    assert!(f.stub.connect_attempts() > 8, "kept trying with backoff");
}

#[tokio::test(start_paused = true)]
async fn a_relay_down_past_the_tolerance_stops_the_send_with_everyone_pending() {
    let mut f = fixture(&readers(6));
    f.stub.down_for(Duration::from_secs(3600));
    let (summary, _) = f.send(options()).await;
    let fatal = summary.fatal.clone().unwrap_or_default();
    assert!(
        fatal.starts_with("the relay was unreachable for 5m00s (smtp.outage_tolerance_secs = 300)")
            && fatal.contains("connection refused"),
        "{fatal}"
    );
    assert!(!summary.is_clean());
    assert_eq!(summary.progress.done(), 0);
    assert_eq!(f.counts().pending, 6);
    assert!(f.stub.delivered().is_empty());
}

#[tokio::test(start_paused = true)]
async fn refused_connections_do_not_use_up_the_recipients_attempts() {
    let mut f = fixture(&readers(3));
    f.stub.refuse_connections(12);
    let (summary, _) = f
        .send(Options {
            max_attempts: 1,
            ..options()
        })
        .await;
    assert!(summary.is_clean(), "{summary:?}");
    assert_eq!(summary.progress.sent, 3);
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_an_outage_ends_the_send_with_everyone_pending() {
    let mut f = fixture(&readers(4));
    f.stub.down_for(Duration::from_secs(3600));
    let stop = Stop::new();
    let asker = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(20)).await;
        asker.request();
    });
    let (summary, _) = f.send_until(options(), &stop).await;
    assert!(
        summary.interrupted && summary.fatal.is_none(),
        "{summary:?}"
    );
    assert_eq!(f.counts().pending, 4);
}

// Before: with a message over Postfix's message_size_limit, 40 recipients meant 40 uploads and 40
// `552 5.3.4` failures.
#[tokio::test(start_paused = true)]
async fn a_message_refused_for_its_size_stops_the_send_after_three_refusals() {
    let mut f = fixture(&readers(40));
    f.stub.script(Script::reply(Stage::Body, TOO_BIG));
    let (summary, _) = f.send(one_connection()).await;
    let fatal = summary.fatal.clone().unwrap_or_default();
    assert!(
        fatal.contains("refused the message itself 3 times in a row (552 5.3.4 Message size")
            && fatal.contains("the other recipients stay pending"),
        "{fatal}"
    );
    assert_eq!(f.stub.uploads(), 3);
    let c = f.counts();
    assert_eq!((c.failed, c.pending, c.sent), (3, 37, 0));
    assert!(f.store.suppressions().unwrap().is_empty(), "not a bounce");
}

#[tokio::test(start_paused = true)]
async fn a_declared_size_refused_on_mail_from_uploads_nothing() {
    let mut f = fixture(&readers(10));
    f.stub.script(Script::reply(Stage::Mail, TOO_BIG));
    let (summary, _) = f.send(options()).await;
    assert!(summary.fatal.is_some(), "{summary:?}");
    assert_eq!(f.stub.uploads(), 0);
    let c = f.counts();
    assert!(
        c.failed >= 3 && c.pending > 0 && c.failed + c.pending == 10,
        "{c:?}"
    );
    assert_eq!(
        f.stub.resets() as u64,
        c.failed,
        "RSET after each refused MAIL"
    );
}

#[tokio::test(start_paused = true)]
async fn a_policy_refusal_on_rcpt_is_about_the_recipient_and_does_not_stop_the_send() {
    let mut f = fixture(&readers(5));
    f.stub.script(Script::reply(Stage::Rcpt, SPAM));
    let (summary, _) = f.send(one_connection()).await;
    assert!(summary.fatal.is_none(), "{summary:?}");
    assert_eq!(summary.progress.failed, 5);
}

#[tokio::test(start_paused = true)]
async fn refusals_with_deliveries_between_them_do_not_stop_the_send() {
    let to = readers(8);
    let mut f = fixture(&to);
    for a in to.iter().step_by(2) {
        f.stub.script(Script::reply(Stage::Body, SPAM).to(a));
    }
    let (summary, _) = f.send(one_connection()).await;
    assert!(summary.fatal.is_none(), "{summary:?}");
    assert_eq!((summary.progress.sent, summary.progress.failed), (4, 4));
}

// Before: a 42-recipient send with some rejections opened 21 one-message sessions.
#[tokio::test(start_paused = true)]
async fn a_rejected_recipient_keeps_the_connection() {
    let to = readers(42);
    let mut f = fixture(&to);
    for a in to.iter().step_by(2) {
        f.stub
            .script(Script::reply(Stage::Rcpt, USER_UNKNOWN).to(a));
    }
    let (summary, _) = f.send(one_connection()).await;
    assert_eq!((summary.progress.sent, summary.progress.failed), (21, 21));
    assert_eq!(f.stub.connections(), 1);
    assert_eq!(f.stub.resets(), 21, "RSET after each refused RCPT");
    // Hard bounces are suppressed for the future.
    assert_eq!(f.store.suppressions().unwrap().len(), 21);

    let to = readers(42);
    let mut f = fixture(&to);
    for a in to.iter().step_by(2) {
        f.stub
            .script(Script::reply(Stage::Rcpt, USER_UNKNOWN).to(a));
    }
    f.send(options()).await;
    assert!(
        f.stub.connections() <= 4,
        "{} connections",
        f.stub.connections()
    );
}

#[tokio::test(start_paused = true)]
async fn a_greylisted_recipient_is_retried_on_the_same_connection() {
    let mut f = fixture(&readers(3));
    f.stub.script(
        Script::reply(Stage::Rcpt, "451 4.7.1 greylisted")
            .to("reader01@example.net")
            .times(2),
    );
    let (summary, _) = f.send(one_connection()).await;
    assert!(summary.is_clean(), "{summary:?}");
    assert_eq!((summary.progress.sent, summary.progress.retries), (3, 2));
    assert_eq!((f.stub.connections(), f.stub.resets()), (1, 2));
}

#[tokio::test(start_paused = true)]
async fn a_connection_in_doubt_is_dropped_and_the_message_retried_on_a_new_one() {
    for script in [
        Script::drop_connection(Stage::Body),
        Script::reply(Stage::Rcpt, "421 4.7.0 closing, slow down"),
    ] {
        let to = readers(3);
        let mut f = fixture(&to);
        f.stub.script(script.to("reader01@example.net").times(1));
        let (summary, _) = f.send(one_connection()).await;
        assert!(summary.is_clean(), "{summary:?}");
        assert_eq!(f.stub.delivered(), to);
        assert_eq!((f.stub.connections(), f.stub.resets()), (2, 0));
    }
}

#[tokio::test(start_paused = true)]
async fn a_throttling_reply_holds_every_connection_back() {
    let mut f = fixture(&readers(6));
    f.stub.script(
        Script::reply(
            Stage::Rcpt,
            "454 Throttling failure: Maximum sending rate exceeded",
        )
        .to("reader00@example.net")
        .times(1),
    );
    let t0 = tokio::time::Instant::now();
    let (summary, _) = f
        .send(Options {
            concurrency: 2,
            ..options()
        })
        .await;
    assert!(summary.is_clean(), "{summary:?}");
    // The first retry waits at least 0.75 s; without the shared pause, the other connection would
    // have sent the other five at once.
    let late = f
        .stub
        .accepted_at()
        .iter()
        .filter(|at| **at >= t0 + Duration::from_millis(750))
        .count();
    assert!(late >= 5, "{late} of 6 sent after the pause");
}

// Before: the progress line printed "200/199 done" and "40/18 done, 1 sent": rows found
// suppressed at send time counted as done but not in the total.
#[tokio::test(start_paused = true)]
async fn done_never_passes_the_total_and_reaches_it_at_the_end() {
    let to = readers(10);
    let mut f = fixture(&to);
    for a in &to[..3] {
        f.store
            .suppress(a, None, Reason::Unsubscribed, None, now())
            .unwrap();
    }
    f.stub
        .script(Script::reply(Stage::Rcpt, USER_UNKNOWN).to(&to[5]));
    let (summary, reports) = f.send(options()).await;
    let p = summary.progress;
    assert_eq!(p.total, 10);
    assert_eq!((p.sent, p.failed, p.suppressed), (6, 1, 3));
    assert_eq!(p.done(), p.total);
    assert_eq!(reports.last(), Some(&p));
}

// Before: `--retry-failed` announced "0 to send … 3 failed earlier" and then sent 3.
#[tokio::test(start_paused = true)]
async fn retrying_failed_rows_counts_them_in_the_total() {
    let to = readers(5);
    let mut f = fixture(&to);
    for a in &to[..3] {
        f.stub
            .script(Script::reply(Stage::Rcpt, SPAM).to(a).times(1));
    }
    f.send(options()).await;
    let c = f.counts();
    assert_eq!((c.failed, to_send(&c, false), to_send(&c, true)), (3, 0, 3));
    let retry = Options {
        retry_failed: true,
        ..options()
    };
    assert_eq!(f.store.unsent(&f.issue, true).unwrap(), 3);
    let (summary, _) = f.send(retry).await;
    assert_eq!((summary.progress.total, summary.progress.sent), (3, 3));
}

// Before: the progress line said "11 failed" where the summary said "5 failed, 6 deferred".
#[tokio::test(start_paused = true)]
async fn failed_and_deferred_are_counted_apart() {
    let to = readers(6);
    let mut f = fixture(&to);
    f.stub
        .script(Script::reply(Stage::Rcpt, USER_UNKNOWN).to(&to[0]))
        .script(Script::reply(Stage::Rcpt, "450 4.2.1 mailbox busy").to(&to[1]))
        .script(Script::reply(Stage::Rcpt, "450 4.2.1 mailbox busy").to(&to[2]));
    let (summary, _) = f.send(options()).await;
    let p = summary.progress;
    assert_eq!((p.sent, p.failed, p.deferred), (3, 1, 2));
    assert_eq!(p.retries, 2 * 3, "each deferred row used its 4 attempts");
    let c = f.counts();
    assert_eq!((c.sent, c.failed, c.deferred), (3, 1, 2));
}

#[tokio::test(start_paused = true)]
async fn a_hard_bounce_is_suppressed_and_a_policy_refusal_is_not() {
    let to = readers(2);
    let mut f = fixture(&to);
    f.stub
        .script(Script::reply(Stage::Rcpt, USER_UNKNOWN).to(&to[0]))
        .script(Script::reply(Stage::Body, SPAM).to(&to[1]));
    f.send(options()).await;
    let suppressed: Vec<String> = f
        .store
        .suppressions()
        .unwrap()
        .into_iter()
        .map(|s| s.address)
        .collect();
    assert_eq!(suppressed, [to[0].clone()]);
}

// Before: the jitter came from a randomly seeded hasher, although its doc said it was derived
// from the recipient and the attempt.
#[test]
fn the_retry_jitter_is_stable_and_bounded() {
    let o = options();
    for salt in 0..200 {
        for attempt in 1..6 {
            let d = backoff(&o, attempt, salt);
            assert_eq!(d, backoff(&o, attempt, salt), "the same every time");
            let nominal = (1u64 << (attempt - 1)) as f64;
            let s = d.as_secs_f64();
            assert!(
                (nominal * 0.75..nominal * 1.25).contains(&s),
                "{salt}/{attempt}: {s}"
            );
        }
    }
    // The same across builds and runs (SHA-256 of the recipient and the attempt).
    assert_eq!(
        [jitter(42, 1), jitter(42, 2)],
        [0.75 + 856.0 / 2000.0, 0.75 + 5.0 / 2000.0]
    );
    let spread: std::collections::HashSet<Duration> =
        (0..50).map(|salt| backoff(&o, 1, salt)).collect();
    assert!(spread.len() > 40, "recipients spread out");
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let o = Options {
        retry_max: Duration::from_secs(10),
        ..options()
    };
    for (attempt, nominal) in [(4, 8.0), (5, 10.0), (20, 10.0)] {
        let d = backoff(&o, attempt, 42).as_secs_f64();
        assert!(
            (nominal * 0.75..=nominal * 1.25).contains(&d),
            "attempt {attempt}: {d}"
        );
    }
}
