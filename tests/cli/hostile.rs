//! Hostile article text comes out escaped or dropped: HTML, links, headers, text.

use scraper::{Html, Selector};

use crate::common::{Project, config};

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

#[test]
fn hostile_text_stays_on_one_line_in_subject_and_text_part() {
    let p = hostile_project();
    p.ok(&["build", "d", "--period", "2024-07"]);
    // A title carrying CR/LF reaches the subject through the title template.
    let path = "digests/d/2024-07/issue.json";
    let edited = p.read(path).replace(
        "Best of Distributed Systems — July 2024",
        "July\\r\\nBcc: victim@example.com",
    );
    p.write(path, &edited);
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
    let p = hostile_project();
    p.ok(&["build", "d", "--period", "2024-07"]);
    let path = "digests/d/2024-07/issue.json";
    let tampered = p.read(path).replace(
        "https://evil.example/a?x=%22%3E%3Cscript%3E",
        "javascript:alert(1)",
    );
    p.write(path, &tampered);
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
