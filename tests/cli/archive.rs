//! The archive over real HTTP (pages, Atom feed, redirects, 404s), `/healthz` and `/status`, and
//! `digest archive --out DIR` writing the same site as static files.

use scraper::{Html, Selector};

use crate::common::{Daemon, Project, WEB_ANY_PORT, article, config};
use crate::hostile::{TITLE, hostile_project};
use crate::serve::http_get;

const DIGEST: &str = "best-of-distributed-systems";

/// Status line, headers (lowercased) and body of a raw HTTP response.
fn split(response: &str) -> (String, String, String) {
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_string(), headers.to_lowercase(), body.to_string())
}

/// The HTML content of a feed's first entry.
fn first_content(feed: &feed_rs::model::Feed) -> String {
    let content = feed.entries[0].content.as_ref().expect("content");
    content.body.clone().expect("a body")
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn texts(doc: &Html, selector: &str) -> Vec<String> {
    doc.select(&sel(selector))
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

/// The example project with July 2024 frozen, and the daemon serving it.
fn example_served() -> (Project, Daemon) {
    let p = Project::example();
    let toml = p.read("config/digest.toml") + WEB_ANY_PORT;
    p.write("config/digest.toml", &toml);
    p.ok(&["build", DIGEST, "--period", "2024-07"]);
    let daemon = Daemon::start(&p, &[], "info");
    (p, daemon)
}

#[test]
fn the_daemon_serves_issue_pages_with_the_email_components() {
    let (p, daemon) = example_served();
    let (status, headers, body) = split(&http_get(
        daemon.addr(),
        &format!("/archive/{DIGEST}/2024-07/"),
    ));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: text/html; charset=utf-8"),
        "{headers}"
    );
    let doc = Html::parse_document(&body);
    assert_eq!(
        texts(&doc, "h1.title"),
        ["Best of Distributed Systems — July 2024"]
    );
    assert_eq!(
        texts(&doc, "p.issue-meta"),
        ["Issue #1 · July 2024 · 14 picks"]
    );
    assert_eq!(
        texts(&doc, "td.item-body h2 a"),
        p.titles(DIGEST, "2024-07")
    );
    assert_eq!(texts(&doc, ".number-badge").len(), 14);
    let feed = doc
        .select(&sel("link[rel=alternate][type='application/atom+xml']"))
        .next()
        .expect("a feed link");
    assert_eq!(feed.value().attr("href"), Some("../feed.xml"));
    assert!(
        !body.contains("Unsubscribe"),
        "no per-recipient footer on the web"
    );

    let (_, _, index) = split(&http_get(daemon.addr(), "/archive/"));
    let index = Html::parse_document(&index);
    let links: Vec<&str> = index
        .select(&sel("a.item-link"))
        .filter_map(|a| a.value().attr("href"))
        .collect();
    assert_eq!(links, [format!("{DIGEST}/"), format!("{DIGEST}/2024-07/")]);
}

#[test]
fn archive_addresses_redirect_to_their_slash_and_unknown_ones_are_404() {
    let (_p, daemon) = example_served();
    let get = |path: &str| split(&http_get(daemon.addr(), path));
    let (status, headers, _) = get(&format!("/archive/{DIGEST}/2024-07"));
    assert_eq!(status, "HTTP/1.1 308 Permanent Redirect");
    assert!(
        headers.contains(&format!("location: /archive/{DIGEST}/2024-07/")),
        "{headers}"
    );
    assert!(get("/archive").1.contains("location: /archive/"));
    assert!(get("/").1.contains("location: /archive/"));
    for path in [
        "/archive/nope/",
        &format!("/archive/{DIGEST}/2023-01/"),
        &format!("/archive/{DIGEST}/2024-W27/"),
        "/archive/../config/digest.toml",
        &format!("/archive/{DIGEST}/%2e%2e/"),
    ] {
        assert_eq!(get(path).0, "HTTP/1.1 404 Not Found", "{path}");
    }
}

#[test]
fn each_digest_has_an_atom_feed_of_its_issues_newest_first() {
    let p = Project::new(&config("d", WEB_ANY_PORT));
    let tag = &["distributed-systems"];
    let lines: Vec<String> = [("June", "06"), ("July", "07")]
        .iter()
        .map(|(name, mm)| {
            let url = format!("https://a.example/{mm}");
            let at = format!("2024-{mm}-10T00:00:00Z");
            article(&url, &format!("{name} pick"), name, tag, &at, 10)
        })
        .collect();
    p.catalog(&lines);
    for period in ["2024-06", "2024-07"] {
        p.ok(&["build", "d", "--period", period]);
    }
    let daemon = Daemon::start(&p, &[], "info");
    let (status, headers, body) = split(&http_get(daemon.addr(), "/archive/d/feed.xml"));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: application/atom+xml; charset=utf-8"),
        "{headers}"
    );
    let feed = feed_rs::parser::parse(body.as_bytes()).expect("a feed reader reads it");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(feed.id, "https://news.example.org/archive/d/");
    assert_eq!(
        feed.title.as_ref().unwrap().content,
        "Test Site — Distributed Systems"
    );
    let entries: Vec<(String, String, String)> = feed
        .entries
        .iter()
        .map(|e| {
            (
                e.title.as_ref().unwrap().content.clone(),
                e.links[0].href.clone(),
                e.published.unwrap().to_rfc3339(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (
                "Best of Distributed Systems — July 2024".to_string(),
                "https://news.example.org/archive/d/2024-07/".to_string(),
                "2024-08-01T00:00:00+00:00".to_string()
            ),
            (
                "Best of Distributed Systems — June 2024".to_string(),
                "https://news.example.org/archive/d/2024-06/".to_string(),
                "2024-07-01T00:00:00+00:00".to_string()
            ),
        ]
    );
    let content = first_content(&feed);
    assert!(content.contains(">July pick</a>"), "{content}");
}

#[test]
fn healthz_and_status_report_the_process_the_store_and_the_schedule() {
    let p = Project::new(&config(
        "d",
        &format!(
            "timezone = \"Europe/Berlin\"\nschedule = \"0 8 1 * *\"\n\n\
             [digests.old]\ntag = \"x\"\nperiod = \"monthly\"\n\
             schedule = \"0 0 8 1 1 * 2020\"\n{WEB_ANY_PORT}"
        ),
    ));
    let mut daemon = Daemon::start(&p, &[], "info");
    // `old` last fired on 1 January 2020: far beyond max_lateness.
    let skipped = daemon.wait_for("digest=old");
    assert!(
        skipped.contains("due at Wed 2020-01-01 08:00:00 UTC"),
        "{skipped}"
    );
    let (status, _, body) = split(&http_get(daemon.addr(), "/healthz"));
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "ok\n")
    );

    let (status, headers, body) = split(&http_get(daemon.addr(), "/status"));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: application/json"),
        "{headers}"
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (d, old) = (&json["digests"][0], &json["digests"][1]);
    assert_eq!(d["id"], "d");
    assert_eq!(d["schedule"], "0 8 1 * *");
    assert_eq!(d["timezone"], "Europe/Berlin");
    let next: Vec<&str> = d["next_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(next.len(), 3);
    for t in next {
        // 08:00 on the 1st, Berlin time: +01:00 or +02:00.
        assert!(t.contains("-01T08:00:00+0"), "{t}");
    }
    assert_eq!(old["next_runs"], serde_json::json!([]));
    let last = &old["last_runs"][0];
    assert_eq!(last["period"], "2019-12");
    assert_eq!(last["status"], "skipped_late");
    assert_eq!(last["scheduled_at"], "2020-01-01T08:00:00Z");
}

#[test]
fn archive_out_writes_the_same_site_the_daemon_serves() {
    let (p, daemon) = example_served();
    let out = p.ok(&["archive", "--out", "site"]);
    assert!(
        out.stdout.contains("wrote 4 pages to site/archive"),
        "{}",
        out.stdout
    );
    for (path, file) in [
        ("/archive/", "site/archive/index.html"),
        (
            &format!("/archive/{DIGEST}/") as &str,
            &format!("site/archive/{DIGEST}/index.html") as &str,
        ),
        (
            &format!("/archive/{DIGEST}/feed.xml"),
            &format!("site/archive/{DIGEST}/feed.xml"),
        ),
        (
            &format!("/archive/{DIGEST}/2024-07/"),
            &format!("site/archive/{DIGEST}/2024-07/index.html"),
        ),
    ] {
        let (_, _, served) = split(&http_get(daemon.addr(), path));
        assert_eq!(served, p.read(file), "{path} differs from {file}");
    }
}

#[test]
fn hostile_issue_text_is_escaped_in_pages_and_in_the_feed() {
    let p = hostile_project();
    p.ok(&["build", "d", "--period", "2024-07"]);
    p.ok(&["archive", "--out", "site"]);
    let page = p.read("site/archive/d/2024-07/index.html");
    let feed = p.read("site/archive/d/feed.xml");
    for text in [&page, &feed] {
        assert!(!text.contains("<script"), "no script element");
        assert!(!text.contains("<img src=x"), "no injected tag");
        assert!(!text.to_lowercase().contains("javascript:"));
        assert!(!text.contains('\u{202E}') && !text.contains('\0'));
    }
    let doc = Html::parse_document(&page);
    let one_line = TITLE.replace("\r\n", " ");
    assert_eq!(texts(&doc, "h2 a"), std::slice::from_ref(&one_line));
    let parsed = feed_rs::parser::parse(feed.as_bytes()).expect("still a valid feed");
    let content = first_content(&parsed);
    let inner = Html::parse_fragment(&content);
    assert_eq!(texts(&inner, "h2"), [one_line]);
}
