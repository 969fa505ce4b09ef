//! End to end against maildev (started by scripts/test): the example issue sent to 50 addresses,
//! every message read back through maildev's REST API and checked with an independent MIME
//! parser (mail-parser): recipients, each required header exactly once, the structure, the decoded
//! subject and the 14 items.

use std::collections::HashSet;

use mail_parser::{MessageParser, MimeHeaders};
use serde_json::Value;

use crate::common::{Daemon, MESSAGE_HEADERS, Project, config, last_month_pick, repo};
use crate::serve::http_get;
use crate::smtp::unavailable;

/// maildev's SMTP and HTTP addresses (scripts/test starts it on these).
pub fn maildev() -> Option<(String, String)> {
    let smtp =
        std::env::var("DIGEST_TEST_MAILDEV_SMTP").unwrap_or_else(|_| "127.0.0.1:1025".into());
    let web = std::env::var("DIGEST_TEST_MAILDEV_WEB").unwrap_or_else(|_| "127.0.0.1:1080".into());
    if std::net::TcpStream::connect(&web).is_err() || std::net::TcpStream::connect(&smtp).is_err() {
        unavailable("maildev");
        return None;
    }
    Some((smtp, web))
}

/// The body of an HTTP response.
fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// The messages maildev holds for recipients at `domain`.
pub fn messages(web: &str, domain: &str) -> Vec<Value> {
    let all: Value = serde_json::from_str(body(&http_get(web, "/api/email"))).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["to"][0]["address"]
                .as_str()
                .is_some_and(|a| a.ends_with(domain))
        })
        .cloned()
        .collect()
}

/// The raw source of one maildev message.
pub fn source(web: &str, message: &Value) -> String {
    let id = message["id"].as_str().unwrap();
    body(&http_get(web, &format!("/api/email/{id}/source"))).to_string()
}

/// The names of the top-level header fields of a raw message, in order.
fn header_names(raw: &str) -> Vec<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    head.lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('\t'))
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_ascii_lowercase()))
        .collect()
}

#[test]
fn fifty_recipients_each_get_one_intact_message() {
    let Some((smtp, web)) = maildev() else { return };
    let port = smtp.rsplit(':').next().unwrap();
    let domain = format!(
        "maildev-{}-{}.example.net",
        std::process::id(),
        chrono_stamp()
    );
    let to: Vec<String> = (0..50).map(|i| format!("reader{i:02}@{domain}")).collect();
    let p = Project::example();
    let members: Vec<String> = to.iter().map(|a| format!("{a:?}")).collect();
    let config = p
        .read("config/digest.toml")
        .replace("port = 1025", &format!("port = {port}"));
    let start = config.find("[lists.readers]").unwrap();
    p.write(
        "config/digest.toml",
        &format!(
            "{}[lists.readers]\nmembers = [{}]\n",
            &config[..start],
            members.join(", ")
        ),
    );
    p.ok(&[
        "build",
        "best-of-distributed-systems",
        "--period",
        "2024-07",
    ]);
    let out = p.ok(&[
        "send",
        "best-of-distributed-systems",
        "--period",
        "2024-07",
        "--yes",
    ]);
    assert!(out.stdout.contains("50 sent, 0 failed"), "{}", out.stdout);

    let ours = messages(&web, &domain);
    assert_eq!(ours.len(), 50, "one message per recipient");
    let mut seen = HashSet::new();
    for m in &ours {
        let raw = source(&web, m);
        let names = header_names(&raw);
        for h in MESSAGE_HEADERS {
            assert_eq!(
                names.iter().filter(|n| n == h).count(),
                1,
                "{h} exactly once in:\n{raw:.800}"
            );
        }
        let msg = MessageParser::default()
            .parse(raw.as_bytes())
            .expect("parses");
        let rcpt = msg
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap()
            .to_string();
        assert!(seen.insert(rcpt.clone()), "{rcpt} twice");
        assert_eq!(
            msg.subject(),
            Some("Best of Distributed Systems — July 2024")
        );
        assert_eq!(
            msg.content_type().map(|c| (c.ctype(), c.subtype())),
            Some(("multipart", Some("alternative")))
        );
        let parts: Vec<String> = msg
            .parts
            .iter()
            .skip(1)
            .filter_map(|p| {
                p.content_type()
                    .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
            })
            .collect();
        assert_eq!(parts, ["text/plain", "text/html"], "text first, HTML last");
        let text = msg.body_text(0).unwrap();
        let html = msg.body_html(0).unwrap();
        for n in 1..=14 {
            assert!(
                text.contains(&format!("\n{n:>2}. ")),
                "item {n} in the text part"
            );
        }
        assert_eq!(html.matches("class=\"item-body\"").count(), 14);
        // The unsubscribe URL is the same in the header, the text and the HTML.
        let header = msg.header_raw("List-Unsubscribe").unwrap().trim();
        let url = header.trim_start_matches('<').split('>').next().unwrap();
        assert!(
            url.starts_with("https://digest.example.com/unsubscribe/"),
            "{url}"
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.windows(2).any(|w| w == ["Unsubscribe:", url]) && html.contains(url));
        assert!(text.contains(&rcpt), "the footer names the recipient");
        assert_eq!(
            msg.header_raw("List-Unsubscribe-Post").map(str::trim),
            Some("List-Unsubscribe=One-Click")
        );
    }
    assert_eq!(seen, to.iter().cloned().collect::<HashSet<_>>());
}

/// A per-run stamp so reruns against a long-lived maildev do not see old messages.
pub fn chrono_stamp() -> u128 {
    std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .map_or(0, |d| d.as_nanos())
}

/// A free TCP port on 127.0.0.1 (bound and released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether Node with playwright-core and a Chromium are here to drive a browser.
fn browser() -> bool {
    let here = repo()
        .join("tests/node/node_modules/playwright-core")
        .is_dir()
        && std::path::Path::new(
            &std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        )
        .exists();
    if !here {
        unavailable("playwright-core with Chromium");
    }
    here
}

#[test]
fn the_daemon_delivers_once_and_a_reader_unsubscribes_in_a_real_browser() {
    let Some((smtp, web)) = maildev() else { return };
    if !browser() {
        return;
    }
    let port = free_port();
    let domain = format!(
        "daemon-{}-{}.example.net",
        std::process::id(),
        chrono_stamp()
    );
    let extra = format!(
        "schedule = \"* * * * * *\"\nlists = [\"main\"]\n\n[mail]\nfrom = \"digest@news.example.org\"\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\n\
         [lists.main]\nmembers = [\"ann@{domain}\", \"bob@{domain}\"]\n\n[web]\nlisten = \"127.0.0.1:{port}\"\n",
        smtp.rsplit(':').next().unwrap()
    );
    let toml = config("d", &extra).replace(
        "https://news.example.org",
        &format!("http://127.0.0.1:{port}"),
    );
    let p = Project::new(&toml);
    last_month_pick(&p);

    let mut daemon = Daemon::start(&p, &[], "info");
    let finished = daemon.wait_for("run finished");
    assert!(
        finished.contains("status=sent") && finished.contains("sent 2, failed 0"),
        "{finished}"
    );
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");
    assert_eq!(messages(&web, &domain).len(), 2, "one message per reader");

    // Restarted: nothing is sent again; the web server answers the unsubscribe link.
    let mut again = Daemon::start(&p, &[], "digest=debug");
    again.wait_for("waiting");
    again.wait_for("waiting");
    let delivered = messages(&web, &domain);
    assert_eq!(delivered.len(), 2, "a restart does not resend");
    let ann = delivered
        .iter()
        .find(|m| m["to"][0]["address"] == format!("ann@{domain}"))
        .unwrap();
    let raw = source(&web, ann);
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    let html = msg.body_html(0).unwrap();
    let doc = scraper::Html::parse_document(&html);
    let link = scraper::Selector::parse("a.footer-link").unwrap();
    let href = doc
        .select(&link)
        .find(|a| a.text().collect::<String>() == "Unsubscribe")
        .and_then(|a| a.value().attr("href"))
        .unwrap()
        .to_string();
    assert!(
        href.starts_with(&format!("http://127.0.0.1:{port}/unsubscribe/")),
        "{href}"
    );
    let clicked = std::process::Command::new("node")
        .arg(repo().join("tests/node/unsubscribe.mjs"))
        .arg(&href)
        .output()
        .unwrap();
    assert!(
        clicked.status.success(),
        "{}",
        String::from_utf8_lossy(&clicked.stderr)
    );
    let result: Value = serde_json::from_slice(&clicked.stdout).unwrap();
    assert_eq!(result["getStatus"], 200);
    assert_eq!(result["before"], "Unsubscribe");
    assert_eq!(result["after"], "You are unsubscribed");
    again.signal("TERM");
    let (code, log) = again.wait();
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains("run started"), "{log}");
    let list = p.ok(&["suppress", "list"]).stdout;
    assert_eq!(list.lines().collect::<Vec<_>>().len(), 1, "{list}");
    assert!(
        list.starts_with(&format!("ann@{domain}\tunsubscribed\td\t")),
        "{list}"
    );
}
