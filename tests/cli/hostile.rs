//! Hostile article text comes out escaped or dropped: HTML, links, headers, text.

use scraper::{Html, Selector};

use digest::store::{RunStatus, Store};

use crate::common::{Daemon, Project, WEB_ANY_PORT, article, config, last_month_pick};

pub const TITLE: &str = "<script>alert(\"x\")</script> Fish & \"Chips\"\r\nBcc: victim@example.com";

pub fn hostile_project() -> Project {
    let p = Project::new(&config("d", ""));
    let line = |url: &str, avatar: &str| {
        serde_json::json!({
            "url": url, "title": TITLE,
            "summary": "<img src=x onerror=alert(1)> it's <b>bold</b> & \u{202E}reversed\u{0}",
            "kind": "article",
            "source": {"id": "evil", "name": "Evil <i>Corp</i>\r\n", "avatar": avatar},
            "tags": ["distributed-systems"], "published_at": "2024-07-02T00:00:00Z",
            "upvotes": 10, "comments": 0
        })
        .to_string()
    };
    p.catalog(&[
        line(
            "https://evil.example/a?x=\"><script>",
            "javascript:alert(1)",
        ),
        line(
            "javascript:alert(document.cookie)",
            "https://img.example/a.png",
        ),
    ]);
    p
}

#[test]
fn hostile_text_is_escaped_in_html_and_links_are_http_only() {
    let p = hostile_project();
    let out = p.ok(&["build", "d", "--period", "2024-07"]);
    assert!(
        out.stdout.contains("(1 items)"),
        "the javascript: article is refused: {}",
        out.stdout
    );
    p.ok(&["preview", "d", "--period", "2024-07", "--out", "p.html"]);
    let raw = p.read("p.html");
    assert!(!raw.contains("<script"), "no script element");
    assert!(!raw.contains("<img src=x"), "no injected tag");
    assert!(!raw.to_lowercase().contains("javascript:"));
    assert!(!raw.contains('\u{202E}') && !raw.contains('\0'));

    let doc = Html::parse_document(&raw);
    let link = doc
        .select(&Selector::parse("h2 a").unwrap())
        .next()
        .unwrap();
    let text: String = link.text().collect();
    assert_eq!(
        text,
        "<script>alert(\"x\")</script> Fish & \"Chips\" Bcc: victim@example.com"
    );
    assert_eq!(
        link.value().attr("href"),
        Some("https://evil.example/a?x=%22%3E%3Cscript%3E")
    );
    for el in doc
        .root_element()
        .descendants()
        .filter_map(scraper::ElementRef::wrap)
    {
        for (name, value) in el.value().attrs() {
            assert!(!name.starts_with("on"), "event attribute {name}");
            if name == "href" || name == "src" {
                assert!(value.starts_with("https://"), "{name}={value}");
            }
        }
    }
    assert_eq!(
        doc.select(&Selector::parse("img.avatar").unwrap()).count(),
        0,
        "javascript: avatar dropped"
    );
}

/// The hostile project with its July issue frozen, then edited on disk: `from` becomes `to`.
fn hostile_issue(from: &str, to: &str) -> Project {
    let p = hostile_project();
    p.ok(&["build", "d", "--period", "2024-07"]);
    let path = "digests/d/2024-07/issue.json";
    let edited = p.read(path).replace(from, to);
    assert_ne!(edited, p.read(path), "{from:?} is in the issue");
    p.write(path, &edited);
    p
}

#[test]
fn hostile_text_stays_on_one_line_in_subject_and_text_part() {
    // A title carrying CR/LF reaches the subject through the title template.
    let p = hostile_issue(
        "Best of Distributed Systems — July 2024",
        "July\\r\\nBcc: victim@example.com",
    );
    let out = p.ok(&[
        "preview", "d", "--period", "2024-07", "--text", "--out", "p.txt",
    ]);
    let subject = out
        .stdout
        .lines()
        .find(|l| l.starts_with("subject: "))
        .unwrap();
    assert_eq!(subject, "subject: July Bcc: victim@example.com");
    let body = p.read("p.txt");
    assert!(!body.contains('\r'));
    assert!(
        body.contains(" 1. <script>alert(\"x\")</script> Fish & \"Chips\" Bcc:"),
        "{body}"
    );
    assert!(
        !body.lines().any(|l| l.starts_with("Bcc:")),
        "no line can pose as a header"
    );
    assert!(body.contains("Article · Evil <i>Corp</i> ·"));
}

#[test]
fn a_tampered_issue_file_cannot_smuggle_a_script_link() {
    let p = hostile_issue(
        "https://evil.example/a?x=%22%3E%3Cscript%3E",
        "javascript:alert(1)",
    );
    p.ok(&["preview", "d", "--period", "2024-07", "--out", "p.html"]);
    let raw = p.read("p.html");
    assert!(!raw.contains("javascript:"));
    let doc = Html::parse_document(&raw);
    let h2 = doc.select(&Selector::parse("h2").unwrap()).next().unwrap();
    assert_eq!(
        h2.select(&Selector::parse("a").unwrap()).count(),
        0,
        "title shown without a link"
    );
}

/// Peak resident memory (KiB) of `digest args…` run in `p`, measured by the kernel (getrusage).
fn peak_kib(p: &Project, args: &[&str]) -> u64 {
    let out = crate::common::output(
        std::process::Command::new("python3")
            .args(["-c", "import resource,subprocess,sys; r=subprocess.run(sys.argv[1:]); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"])
            .arg(env!("CARGO_BIN_EXE_digest"))
            .args(args)
            .current_dir(p.root()),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    out.stdout.lines().last().unwrap().trim().parse().unwrap()
}

/// The text of each item summary in a rendered email.
fn summaries(html: &str) -> Vec<String> {
    Html::parse_document(html)
        .select(&Selector::parse("p.summary").unwrap())
        .map(|s| s.text().collect())
        .collect()
}

#[test]
fn ten_thousand_items_and_megabyte_summaries_stay_bounded() {
    let p = Project::new(&config("d", "").replace("size = 5", "size = 14"));
    let huge = "word ".repeat(200_000); // 1 MB
    let mut lines = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        let summary = if i % 500 == 0 { huge.as_str() } else { "short" };
        lines.push(
            serde_json::json!({
                "url": format!("https://example.com/{i}"), "title": format!("Item {i} {}", "t".repeat(280)),
                "summary": summary, "kind": "article",
                "source": {"id": format!("s{}", i % 50), "name": "Source"},
                "tags": ["distributed-systems"], "published_at": format!("2024-07-{:02}T10:00:00Z", 1 + i % 28),
                "upvotes": 100_000 - i, "comments": 0
            })
            .to_string(),
        );
    }
    p.catalog(&lines);
    let ingest = peak_kib(&p, &["ingest"]);
    let build = peak_kib(&p, &["build", "d", "--period", "2024-07"]);
    eprintln!(
        "10,000 items, 20 of 1 MB: ingest peak {} MiB, build peak {} MiB",
        ingest / 1024,
        build / 1024
    );
    assert!(
        ingest < 100 * 1024 && build < 100 * 1024,
        "bounded memory: {ingest} KiB, {build} KiB"
    );
    assert_eq!(
        p.issue("d", "2024-07")["items"].as_array().unwrap().len(),
        14
    );
    p.ok(&["preview", "d", "--period", "2024-07", "--out", "p.html"]);
    let html = p.read("p.html");
    assert!(
        html.len() < 102 * 1024,
        "under Gmail's clipping size: {} bytes",
        html.len()
    );
    let summaries = summaries(&html);
    assert_eq!(summaries.len(), 14);
    assert!(
        summaries
            .iter()
            .all(|s| s.chars().count() <= digest::catalog::MAX_SUMMARY)
    );
}

#[test]
fn hostile_feed_documents_are_refused_or_tamed_without_blowing_up() {
    let nested = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>c</title><item><title>Deep</title><link>https://x.example/deep</link><description>{}x{}</description><pubDate>Tue, 02 Jul 2024 10:00:00 GMT</pubDate><category>distributed-systems</category></item></channel></rss>",
        "&lt;div&gt;".repeat(100_000),
        "&lt;/div&gt;".repeat(100_000)
    );
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;"><!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>c</title><item><title>&lol9; &xxe;</title><link>https://x.example/lol</link><pubDate>Tue, 02 Jul 2024 10:00:00 GMT</pubDate><category>distributed-systems</category></item></channel></rss>"#;
    let toml = config("d", "").replace(
        "[sources.main]\nkind = \"jsonl\"\npath = \"catalog/main.jsonl\"",
        "[sources.nested]\nkind = \"feed\"\npath = \"feeds/nested.xml\"\n\n[sources.laughs]\nkind = \"feed\"\npath = \"feeds/laughs.xml\"",
    );
    let p = Project::new(&toml);
    p.write("feeds/nested.xml", &nested);
    p.write("feeds/laughs.xml", laughs);
    let peak = peak_kib(&p, &["ingest"]);
    eprintln!(
        "nested (100,000 levels) and billion-laughs feeds: ingest peak {} MiB",
        peak / 1024
    );
    assert!(peak < 100 * 1024, "bounded memory: {peak} KiB");
    p.ok(&[
        "preview", "d", "--period", "2024-07", "--out", "p.html", "--text",
    ]);
    let text = p.read("p.html");
    assert!(!text.contains("root:"), "no external entity was read");
    assert!(
        !text.contains("lollollollollollollollollollol"),
        "no entity expansion"
    );
    assert!(
        !text.contains("&lt;div") && !text.contains("<div"),
        "feed markup never reaches the email"
    );
}

#[test]
fn the_largest_issue_fits_under_gmails_clipping_size_with_the_same_cut_in_both_parts() {
    let p = Project::new(&config("d", "").replace("size = 5", "size = 40"));
    let huge = "word ".repeat(200_000);
    let lines: Vec<String> = (0..40)
        .map(|i| {
            serde_json::json!({
                "url": format!("https://example.com/{i}"), "title": format!("{i} {}", "T".repeat(300)),
                "summary": huge, "source": {"id": format!("s{i}"), "name": "Source"},
                "tags": ["distributed-systems"], "published_at": "2024-07-02T10:00:00Z", "upvotes": 100 - i
            })
            .to_string()
        })
        .collect();
    p.catalog(&lines);
    p.ok(&["build", "d", "--period", "2024-07"]);
    p.ok(&["preview", "d", "--period", "2024-07", "--out", "p.html"]);
    p.ok(&[
        "preview", "d", "--period", "2024-07", "--text", "--out", "p.txt",
    ]);
    let html = p.read("p.html");
    assert!(
        html.len() <= digest::render::HTML_BUDGET,
        "{} bytes",
        html.len()
    );
    let summaries = summaries(&html);
    assert_eq!(summaries.len(), 40);
    let first = &summaries[0];
    assert!(
        first.ends_with('…') && first.len() < 1000,
        "cut, at a word: {first:?}"
    );
    let text = p
        .read("p.txt")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains(first.as_str()),
        "the text part carries the same cut summary"
    );
    // The frozen issue keeps the stored summaries: only the email shows them shorter.
    let stored = p.issue("d", "2024-07")["items"][0]["summary"]
        .as_str()
        .unwrap()
        .chars()
        .count();
    assert!(
        stored > first.chars().count() && stored <= digest::catalog::MAX_SUMMARY,
        "{stored}"
    );
}

/// `size` catalogue lines whose links are `link_bytes` long (under the 2048-byte bound), published
/// at `published`.
fn long_links(size: usize, link_bytes: usize, published: &str) -> Vec<String> {
    (0..size)
        .map(|i| {
            let url = format!("https://example.com/{i:02}/");
            let url = format!("{url}{}", "x".repeat(link_bytes - url.len()));
            article(
                &url,
                &format!("Item {i}"),
                &format!("s{i}"),
                &["distributed-systems"],
                published,
                100,
            )
        })
        .collect()
}

/// The line of `text` that starts with `prefix`.
fn line_of<'t>(text: &'t str, prefix: &str) -> &'t str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"))
}

#[test]
fn an_issue_over_the_clip_limit_is_not_frozen_unless_allowed_and_the_error_says_size_and_limit() {
    // 40 items with 1.4 KB links made a 134,803-byte email: a WARN was logged and it was frozen.
    let p = Project::new(&config("d", "").replace("size = 5", "size = 40"));
    p.catalog(&long_links(40, 1400, "2024-07-02T10:00:00Z"));
    let out = p.fails(&["build", "d", "--period", "2024-07"]);
    let error = line_of(&out.stderr, "error: ");
    eprintln!("{error}");
    assert!(
        error.contains("the email of d 2024-07 would have ")
            && error.contains(" bytes of HTML, over the limit of 100000 bytes")
            && error.contains("allow it with --allow-oversize"),
        "{error}"
    );
    assert!(
        !p.path("digests/d/2024-07/issue.json").exists(),
        "nothing frozen"
    );

    let out = p.ok(&["build", "d", "--period", "2024-07", "--allow-oversize"]);
    assert!(
        out.stdout.contains("froze issue #1 (40 items)"),
        "{}",
        out.stdout
    );
    p.ok(&["preview", "d", "--period", "2024-07", "--out", "p.html"]);
    let bytes = p.read("p.html").len();
    eprintln!("40 items with 1,400-byte links: {bytes} bytes of HTML, frozen only when allowed");
    assert!(bytes > digest::render::HTML_BUDGET);
}

#[test]
fn an_oversize_frozen_issue_is_not_sent_unless_allowed() {
    // A frozen issue edited to carry a 100 KB link made a 145,829-byte email, and the send went on.
    let p = hostile_project();
    let mail = "lists = [\"main\"]\n\n[mail]\nfrom = \"Digest <news@example.org>\"\n\n\
                [lists.main]\nmembers = [\"reader@example.org\"]\n";
    p.write("config/digest.toml", &(p.read("config/digest.toml") + mail));
    p.ok(&["build", "d", "--period", "2024-07"]);
    let path = "digests/d/2024-07/issue.json";
    let long = format!("https://evil.example/{}", "x".repeat(100_000));
    p.write(
        path,
        &p.read(path)
            .replace("https://evil.example/a?x=%22%3E%3Cscript%3E", &long),
    );
    let refused = p.fails(&["send", "d", "--period", "2024-07", "--dry-run"]);
    let error = line_of(&refused.stderr, "error: ");
    assert!(error.contains("over the limit of 100000 bytes"), "{error}");
    assert!(
        !p.path("digests/d/2024-07/samples").exists(),
        "nothing written"
    );

    let allowed = p.ok(&[
        "send",
        "d",
        "--period",
        "2024-07",
        "--dry-run",
        "--allow-oversize",
    ]);
    let size = line_of(&allowed.stdout, "message size: ");
    eprintln!("one 100 KB link, sent only when allowed: {size}");
}

#[test]
fn a_scheduled_run_of_an_oversize_issue_is_recorded_as_failed_with_the_reason() {
    // The daemon froze and sent an issue Gmail clips, with only a WARN in its log.
    let p = Project::new(
        &config("d", &format!("schedule = \"* * * * * *\"\n{WEB_ANY_PORT}"))
            .replace("size = 5", "size = 40"),
    );
    let period = last_month_pick(&p);
    let published = format!(
        "{}T12:00:00Z",
        period.first_day() + chrono::Duration::days(9)
    );
    p.catalog(&long_links(40, 1400, &published));
    let mut daemon = Daemon::start(&p, &[], "info");
    let failed = daemon.wait_for("run failed");
    daemon.signal("TERM");
    daemon.wait();
    assert!(
        failed.contains("over the limit of 100000 bytes"),
        "{failed}"
    );
    let store = Store::open(&p.path("digest.db")).unwrap();
    let run = store.run("d", period).unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.detail
            .contains("bytes of HTML, over the limit of 100000 bytes"),
        "{}",
        run.detail
    );
    assert!(!p.path(&format!("digests/d/{period}/issue.json")).exists());
}

#[test]
fn two_hundred_thousand_skipped_lines_are_all_listed_in_bounded_memory() {
    // Only the first 50 reasons were kept; the list must stream to its file, not pile up in memory.
    let p = Project::new(&config("d", ""));
    let bad = format!(
        "{{\"url\": \"https://x.example/\", \"kind\": \"{}\"}}",
        "k".repeat(400)
    );
    p.write("catalog/main.jsonl", &vec![bad; 200_000].join("\n"));
    let peak = peak_kib(&p, &["ingest"]);
    let list = p.read("reports/main.skipped.txt");
    eprintln!(
        "200,000 skipped lines: ingest peak {} MiB, list {} MiB",
        peak / 1024,
        list.len() >> 20
    );
    assert_eq!(list.lines().count(), 200_000);
    assert!(
        list.lines()
            .last()
            .unwrap()
            .starts_with("catalog/main.jsonl:200000: unknown variant")
    );
    assert!(peak < 64 * 1024, "bounded memory: {peak} KiB");
}

#[test]
fn a_feed_item_whose_link_passes_2048_bytes_is_skipped_with_the_reason() {
    // Feed links were unbounded: a 100 KB link went from the feed into the issue and the email.
    let item = |title: &str, link: &str| {
        format!(
            "<item><title>{title}</title><link>{link}</link>\
             <pubDate>Tue, 02 Jul 2024 10:00:00 GMT</pubDate></item>"
        )
    };
    let long = format!("https://x.example/{}", "x".repeat(100_000));
    let feed = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>c</title>{}{}</channel></rss>",
        item("Long", &long),
        item("Fine", "https://x.example/fine")
    );
    let toml = config("d", "").replace(
        "[sources.main]\nkind = \"jsonl\"\npath = \"catalog/main.jsonl\"",
        "[sources.f]\nkind = \"feed\"\npath = \"feeds/f.xml\"",
    );
    let p = Project::new(&toml);
    p.write("feeds/f.xml", &feed);
    let out = p.ok(&["ingest"]);
    assert!(
        out.stdout
            .contains("f: 1 new, 0 updated, 0 unchanged, 1 skipped"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("item 1 (\"Long\"): link longer than 2048 bytes (100018 bytes)"),
        "{}",
        out.stderr
    );
}
