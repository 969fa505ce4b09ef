//! The operator's view of a running daemon: `/metrics` against the ledger during and after a real
//! send (and `promtool check metrics` on the scrape), the sample alerting rules (`promtool check
//! rules`), systemd's notify protocol on a socket the test creates, the run report in maildev, and
//! signed event webhooks received (and retried after a 500) by a local HTTP server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use digest::model::IssueKey;
use digest::model::token::Keys;
use digest::period::Period;
use digest::store::{RunStatus, Store};
use serde_json::Value;

use crate::common::{Daemon, Project, TEST_KEYS, WEB_ANY_PORT, config, last_month_pick, repo};
use crate::serve::http_get;
use crate::smtp::{Server, members, unavailable};

/// A digest `d` firing every second, sent to `addresses` through the SMTP server on `port` (one
/// attempt per recipient, one connection), with `extra` appended to the configuration.
fn sending_project(port: u16, addresses: &[String], extra: &str) -> (Project, Period) {
    let toml = config(
        "d",
        &format!(
            "schedule = \"* * * * * *\"\nlists = [\"main\"]\n\n\
             [mail]\nfrom = \"Test Digest <digest@news.example.org>\"\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nmax_attempts = 1\n\
             concurrency = 1\n\n[lists.main]\n{}\n{WEB_ANY_PORT}\n{extra}",
            members(addresses)
        ),
    );
    let p = Project::new(&toml);
    let period = last_month_pick(&p);
    (p, period)
}

/// The body of `GET /metrics` in the classic text format (what promtool reads), after checking
/// its status and content type.
fn scrape(addr: &str) -> String {
    scrape_as(addr, "text/plain", "text/plain; version=0.0.4")
}

/// The body of `GET /metrics` with `Accept: accept`, checking the content type starts `want`.
fn scrape_as(addr: &str, accept: &str, want: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let content_type = format!("content-type: {want}");
    assert!(head.to_ascii_lowercase().contains(&content_type), "{head}");
    body.to_string()
}

/// The value of the sample `series` (name and labels exactly as exposed), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// `promtool check <what> <args>` with `stdin`; fails the test on a finding. `None`: no promtool.
fn promtool(args: &[&str], stdin: &str) -> Option<String> {
    let spawned = Command::new("promtool")
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = spawned else {
        unavailable("promtool (Debian package prometheus; scripts/install-test-tools)");
        return None;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{said}\n{stdin}");
    Some(said)
}

#[test]
fn metrics_during_and_after_a_send_agree_with_the_ledger() {
    // An exposition computed from anything but the ledger (or lagging behind it) would tell the
    // operator a send went well while recipients were refused; a malformed one breaks the scrape.
    let Some(server) = Server::start(&["--delay-ms", "150"]) else {
        return;
    };
    let mut to: Vec<String> = (0..12)
        .map(|i| format!("reader{i:02}@example.org"))
        .collect();
    to.extend([
        "reject-one@example.org".into(),
        "reject-two@example.org".into(),
    ]);
    let (p, period) = sending_project(server.port, &to, "");
    let mut daemon = Daemon::start(&p, &[], "info");
    let key = IssueKey::new("d", period);
    let sent = "digest_ledger_messages{digest=\"d\",state=\"sent\"}";
    let pending = "digest_ledger_messages{digest=\"d\",state=\"pending\"}";

    // During the send: some rows sent, some still pending, and never more than the ledger has.
    let deadline = Instant::now() + Duration::from_secs(60);
    let during = loop {
        let text = scrape(daemon.addr());
        if value(&text, sent).unwrap_or(0.0) >= 1.0 {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no send seen in /metrics:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let ledger = Store::open(&p.path("digest.db"))
        .unwrap()
        .counts(&key)
        .unwrap();
    let scraped_sent = value(&during, sent).unwrap();
    assert!(value(&during, pending).unwrap() >= 1.0, "{during}");
    assert!(
        scraped_sent <= ledger.sent as f64,
        "{scraped_sent} > {ledger:?}"
    );
    promtool(&["check", "metrics"], &during);

    daemon.wait_for("run finished");
    let after = scrape(daemon.addr());
    // What Prometheus itself asks for: the same samples as OpenMetrics.
    let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    let open = scrape_as(
        daemon.addr(),
        accept,
        "application/openmetrics-text; version=1.0.0",
    );
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");

    let store = Store::open(&p.path("digest.db")).unwrap();
    let ledger = store.counts(&key).unwrap();
    let run = store.run("d", period).unwrap().unwrap();
    assert_eq!((ledger.sent, ledger.failed), (12, 2), "{ledger:?}");
    assert_eq!(run.status, RunStatus::Sent, "{}", run.detail);
    let expect = [
        (sent.to_string(), ledger.sent),
        (
            "digest_ledger_messages{digest=\"d\",state=\"failed\"}".into(),
            ledger.failed,
        ),
        (
            "digest_messages_total{digest=\"d\",outcome=\"sent\"}".into(),
            ledger.sent,
        ),
        (
            "digest_messages_total{digest=\"d\",outcome=\"failed\"}".into(),
            ledger.failed,
        ),
        (
            "digest_smtp_replies_total{class=\"accepted\"}".into(),
            ledger.sent,
        ),
        (
            "digest_smtp_replies_total{class=\"bad_address\"}".into(),
            ledger.failed,
        ),
        (
            "digest_send_duration_seconds_count".into(),
            ledger.sent + ledger.failed,
        ),
        ("digest_runs_total{digest=\"d\",outcome=\"sent\"}".into(), 1),
        (
            "digest_feed_fetches_total{source=\"main\",outcome=\"ok\"}".into(),
            1,
        ),
        ("digest_period_seconds{digest=\"d\"}".into(), 31 * 86_400),
    ];
    for (series, want) in expect {
        assert_eq!(
            value(&after, &series),
            Some(want as f64),
            "{series}:\n{after}"
        );
    }
    assert_eq!(value(&after, pending), None, "{after}");
    assert!(open.ends_with("# EOF\n"), "{open}");
    assert!(open.contains("# TYPE digest_messages counter\n"), "{open}");
    let sent_total = "digest_messages_total{digest=\"d\",outcome=\"sent\"}";
    assert_eq!(value(&open, sent_total), value(&after, sent_total));
    let finished = run.finished_at.unwrap().timestamp() as f64;
    let last = "digest_last_success_timestamp_seconds{digest=\"d\"}";
    assert_eq!(value(&after, last), Some(finished), "{after}");
    // No address and no period is ever a label value.
    assert!(!after.contains("example.org"), "{after}");
    assert!(!after.contains(&period.to_string()), "{after}");
    promtool(&["check", "metrics"], &after);
}

#[test]
fn the_sample_alerting_rules_pass_promtool_and_use_exposed_metrics() {
    // A rule file with a syntax error, or one watching a metric the daemon does not expose, would
    // never fire.
    let rules = std::fs::read_to_string(repo().join("deploy/digest.rules.yml")).unwrap();
    let Some(said) = promtool(&["check", "rules", "deploy/digest.rules.yml"], "") else {
        return;
    };
    assert!(said.contains("SUCCESS: 3 rules found"), "{said}");
    for metric in [
        "digest_runs_total",
        "digest_last_success_timestamp_seconds",
        "digest_period_seconds",
        "digest_inbound_events_total",
        "digest_messages_total",
    ] {
        assert!(rules.contains(metric), "{metric} not used");
        let family = metric.trim_end_matches("_total");
        let source = std::fs::read_to_string(repo().join("src/metrics.rs")).unwrap();
        let registered = family.trim_start_matches("digest_");
        assert!(
            source.contains(&format!("\"{registered}\"")),
            "{metric} is not registered in src/metrics.rs"
        );
    }
}

/// Reads datagrams from `socket` into `seen` until `done` holds for everything read.
fn notifications(socket: &UnixDatagram, seen: &mut Vec<String>, done: impl Fn(&[String]) -> bool) {
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(seen) {
        assert!(Instant::now() < deadline, "only {seen:?}");
        if let Ok(n) = socket.recv(&mut buf) {
            seen.extend(
                String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .map(str::to_string),
            );
        }
    }
}

#[test]
fn the_daemon_tells_systemd_it_is_ready_what_it_does_and_pings_the_watchdog() {
    // Under Type=notify a daemon that never says READY=1 is killed at start-up, and one that
    // stops pinging with WatchdogSec set is restarted as hung.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let p = Project::new(&config(
        "d",
        &format!("schedule = \"* * * * * *\"\n{WEB_ANY_PORT}"),
    ));
    let period = last_month_pick(&p);
    let env = [
        ("NOTIFY_SOCKET", path.to_str().unwrap()),
        ("WATCHDOG_USEC", "300000"),
    ];
    let mut daemon = Daemon::start_with_env(&p, &[], "info", &env);
    let mut seen = Vec::new();
    notifications(&socket, &mut seen, |s| s.iter().any(|l| l == "READY=1"));
    // READY=1 comes once the web side answers.
    let health = http_get(daemon.addr(), "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let running = format!("STATUS=running d for {period}");
    let built = format!("STATUS=idle; last run: d {period} built");
    notifications(&socket, &mut seen, |s| {
        s.contains(&running)
            && s.contains(&built)
            && s.iter().filter(|l| *l == "WATCHDOG=1").count() >= 3
    });
    daemon.wait_for("run finished");
    daemon.signal("TERM");
    notifications(&socket, &mut seen, |s| s.iter().any(|l| l == "STOPPING=1"));
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("systemd watchdog enabled every_ms=150"),
        "{log}"
    );
    let ready = seen.iter().position(|l| l == "READY=1").unwrap();
    assert!(
        seen[ready + 1].starts_with("STATUS=ready; 1 scheduled digest"),
        "{seen:?}"
    );
    // The unit asks for all of it.
    let unit = std::fs::read_to_string(repo().join("deploy/digest.service")).unwrap();
    for line in ["Type=notify", "WatchdogSec=", "NotifyAccess=main"] {
        assert!(unit.lines().any(|l| l.starts_with(line)), "{line} missing");
    }
}

#[test]
fn a_run_report_with_the_runs_figures_reaches_the_operators_in_maildev() {
    // Without the report an operator learns of refused and deferred readers only from the logs.
    let Some((smtp, web)) = crate::maildev::maildev() else {
        return;
    };
    let Some(server) = Server::start(&["--forward", &smtp]) else {
        return;
    };
    let domain = format!(
        "ops-{}-{}.example.net",
        std::process::id(),
        crate::maildev::chrono_stamp()
    );
    let to: Vec<String> = ["ann", "bob", "reject-cat", "tempfail9-dan", "eve"]
        .iter()
        .map(|n| format!("{n}@{domain}"))
        .collect();
    let operator = format!("ops@{domain}");
    let extra = format!("\n[monitoring]\noperators = [\"Operators <{operator}>\"]\n");
    let (p, period) = sending_project(server.port, &to, &extra);
    p.ok(&["suppress", "add", &format!("eve@{domain}")]);
    let mut daemon = Daemon::start(&p, &[], "info");
    let failed = daemon.wait_for("run failed");
    assert!(failed.contains("1 recipient(s) deferred"), "{failed}");
    daemon.wait_for("run report sent");
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");

    let reports: Vec<Value> = crate::maildev::messages(&web, &domain)
        .into_iter()
        .filter(|m| m["to"][0]["address"] == operator.as_str())
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let raw = crate::maildev::source(&web, &reports[0]);
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    assert_eq!(
        message.subject().unwrap(),
        format!("[digest] d {period}: failed (2 sent, 1 failed, 1 deferred)")
    );
    let text = message.body_text(0).unwrap();
    let store = Store::open(&p.path("digest.db")).unwrap();
    let ledger = store.counts(&IssueKey::new("d", period)).unwrap();
    assert_eq!(
        (
            ledger.sent,
            ledger.failed,
            ledger.deferred,
            ledger.suppressed
        ),
        (2, 1, 1, 1)
    );
    for want in [
        "Issue:       #1 ".to_string(),
        format!("(d/{period})"),
        "Run:         failed".to_string(),
        "Recipients:  5".to_string(),
        "Sent:        2".to_string(),
        "Deferred:    1".to_string(),
        "Failed:      1".to_string(),
        "Suppressed:  1".to_string(),
        "Top failure replies:".to_string(),
        "1 × 550".to_string(),
        "1 × 451".to_string(),
        "1 recipient(s) deferred after transient failures".to_string(),
    ] {
        assert!(text.contains(&want), "{want:?} missing:\n{text}");
    }
}

/// One request the webhook receiver got: its signature header and body, and the status answered.
pub struct Received {
    pub signature: String,
    pub body: String,
    pub status: u16,
}

/// A webhook receiver on a free port that answers 500 to its first request and 200 after; its
/// address and the requests as they come.
pub fn receiver() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut length, mut signature) = (0, String::new());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if lower.starts_with("digest-signature:") {
                    signature = line.split_once(':').unwrap().1.trim().to_string();
                }
                line.clear();
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let status = if n == 0 { 500 } else { 200 };
            let reason = if n == 0 {
                "Internal Server Error"
            } else {
                "OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let body = String::from_utf8(body).unwrap();
            if tx
                .send(Received {
                    signature,
                    body,
                    status,
                })
                .is_err()
            {
                break;
            }
        }
    });
    (addr, rx)
}

#[test]
fn signed_webhooks_reach_a_local_server_and_a_500_is_retried() {
    // An unsigned event can be forged by anyone who finds the URL; an event answered 500 and not
    // retried is lost.
    let secret = "whsec-test-0123456789abcdef";
    let (addr, requests) = receiver();
    let p = Project::new(&config(
        "d",
        &format!(
            "schedule = \"* * * * * *\"\n{WEB_ANY_PORT}\n\
             [webhooks]\nurls = [\"http://{addr}/hooks\"]\nretry_secs = 1\n"
        ),
    ));
    let period = last_month_pick(&p);
    let env = [("DIGEST__WEBHOOKS__SECRET", secret)];
    let mut daemon = Daemon::start_with_env(&p, &[], "info", &env);
    let mut got = Vec::new();
    while got.iter().filter(|r: &&Received| r.status == 200).count() < 2 {
        let r = requests
            .recv_timeout(Duration::from_secs(60))
            .expect("webhooks not received");
        got.push(r);
    }
    daemon.wait_for("webhook not delivered, retrying");
    // A one-click unsubscribe is an event too; the reader's address is not in it.
    let reader = "reader@example.org";
    let subscriber = Store::open(&p.path("digest.db"))
        .unwrap()
        .subscriber_id(reader)
        .unwrap();
    let token = Keys::parse(TEST_KEYS).unwrap().sign(subscriber, "d");
    let body = "List-Unsubscribe=One-Click";
    let mut s = std::net::TcpStream::connect(daemon.addr()).unwrap();
    write!(
        s,
        "POST /unsubscribe/{token} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let unsubscribed = loop {
        let r = requests
            .recv_timeout(Duration::from_secs(60))
            .expect("no unsubscribe webhook");
        if r.body.contains("\"unsubscribe\"") {
            break r;
        }
        got.push(r);
    };
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");

    #[allow(clippy::disallowed_methods)] // the receiver checks against its own clock
    let now = chrono::Utc::now().timestamp();
    let mut delivered = Vec::new();
    for r in &got {
        digest::events::sign::verify(secret.as_bytes(), &r.signature, &r.body, now, 300)
            .unwrap_or_else(|e| panic!("{e}: {} {}", r.signature, r.body));
        assert!(
            digest::events::sign::verify(
                b"wrong-secret-0123456789",
                &r.signature,
                &r.body,
                now,
                300
            )
            .is_err()
        );
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["data"]["digest"], "d", "{body}");
        assert_eq!(body["data"]["period"], period.to_string(), "{body}");
        if r.status == 200 {
            delivered.push((
                body["type"].as_str().unwrap().to_string(),
                body["id"].clone(),
            ));
        }
    }
    digest::events::sign::verify(
        secret.as_bytes(),
        &unsubscribed.signature,
        &unsubscribed.body,
        now,
        300,
    )
    .unwrap();
    let event: Value = serde_json::from_str(&unsubscribed.body).unwrap();
    assert_eq!(
        event["data"],
        serde_json::json!({ "scope": "d" }),
        "{event}"
    );
    assert!(!unsubscribed.body.contains(reader), "{event}");
    let mut types: Vec<&str> = delivered.iter().map(|(t, _)| t.as_str()).collect();
    types.sort();
    assert_eq!(types, ["run.finished", "run.started"], "{delivered:?}");
    // The event answered 500 came again, the same event (same id), and was then delivered.
    let refused: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(got[0].status, 500);
    assert!(
        delivered.iter().any(|(_, id)| *id == refused["id"]),
        "{refused} not retried: {delivered:?}"
    );
}
