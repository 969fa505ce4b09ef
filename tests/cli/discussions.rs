//! One link from several sources: the same article from its blog's feed, Hacker News (RSS with
//! `<comments>`) and Lobsters (JSON Lines with `discussion_url`) is one item whose email shows
//! "Discussed on …" with each place's counts and link, and whose score combines the sources.

use scraper::{Html, Selector};
use serde_json::json;

use crate::common::{Project, assert_plain_text};

const ARTICLE: &str = "https://blog.example/raft-at-scale";

/// An RSS feed titled `title` with one item per (link, title, extra elements).
fn rss(title: &str, items: &[(&str, &str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(link, t, extra)| {
            format!(
                "<item><title>{t}</title><link>{link}</link><description>About {t}.</description>\
                 <category>distributed-systems</category>\
                 <pubDate>Wed, 10 Jul 2024 08:00:00 GMT</pubDate>{extra}</item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:slash=\"http://purl.org/rss/1.0/modules/slash/\" \
         xmlns:hn=\"https://news.ycombinator.com/rss\"><channel><title>{title}</title>\
         <link>https://example.org/</link>{items}</channel></rss>"
    )
}

/// A JSON Lines catalogue line of the Lobsters source.
fn lobsters(url: &str, title: &str, upvotes: u64, comments: u64, discussion: &str) -> String {
    json!({
        "url": url, "title": title, "summary": format!("About {title}."),
        "source": {"id": "lobsters", "name": "Lobsters <b onmouseover=\"x()\">&</b>"},
        "tags": ["distributed-systems"], "published_at": "2024-07-10T08:00:00Z",
        "upvotes": upvotes, "comments": comments, "discussion_url": discussion
    })
    .to_string()
}

/// Three sources: the blog's feed (the article, no counts), Hacker News (the article with 100
/// points and 10 comments, a discussion link) and Lobsters (30 upvotes, 5 comments, a link; and
/// an article whose `discussion_url` is `javascript:`), plus a single-source article of 125
/// points.
fn project() -> Project {
    let config = r#"[site]
name = "Test Site"
base_url = "https://news.example.org"

[digests.d]
tag = "distributed-systems"
period = "monthly"
size = 5
min_items = 1

[sources.blog]
kind = "feed"
path = "feeds/blog.xml"

[sources.hn]
kind = "feed"
path = "feeds/hn.xml"
name = "Hacker News"

[sources.hn.engagement]
upvotes = "hn:points"

[sources.lobsters]
kind = "jsonl"
path = "catalog/lobsters.jsonl"
"#;
    let p = Project::new(config);
    std::fs::create_dir_all(p.path("feeds")).unwrap();
    p.write(
        "feeds/blog.xml",
        &rss(
            "The Blog",
            &[
                (ARTICLE, "Raft at scale", ""),
                ("https://blog.example/popular", "A popular post", ""),
            ],
        ),
    );
    p.write(
        "feeds/hn.xml",
        &rss(
            "HN front page",
            &[
                (
                    ARTICLE,
                    "Raft at scale (HN)",
                    "<hn:points>100</hn:points><slash:comments>10</slash:comments>\
                     <comments>https://news.ycombinator.com/item?id=41</comments>",
                ),
                (
                    "https://solo.example/post",
                    "Solo post",
                    "<hn:points>125</hn:points><comments>https://news.ycombinator.com/item?id=42</comments>",
                ),
            ],
        ),
    );
    p.write(
        "catalog/lobsters.jsonl",
        &[
            lobsters(
                ARTICLE,
                "Raft at scale (lobsters)",
                30,
                5,
                "https://lobste.rs/s/abc/raft",
            ),
            lobsters(
                "https://blog.example/popular",
                "A popular post",
                1,
                0,
                "javascript:alert(1)",
            ),
        ]
        .join("\n"),
    );
    p
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

#[test]
fn one_article_from_three_sources_is_one_item_discussed_on_two_with_a_combined_score() {
    // With engagement kept as the highest count per field (the rule for one source), the
    // article would score 100 + 10 × 2 = 120 and rank below the 125-point solo post; without
    // per-source records the email could not say where it was discussed.
    let p = project();
    p.ok(&["ingest"]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    let issue = p.issue("d", "2024-07");
    let items = issue["items"].as_array().unwrap();
    let urls: Vec<&str> = items.iter().map(|i| i["url"].as_str().unwrap()).collect();
    assert_eq!(
        urls,
        [
            ARTICLE,
            "https://solo.example/post",
            "https://blog.example/popular"
        ]
    );
    // The blog stored it first and owns its text.
    assert_eq!(items[0]["title"], "Raft at scale");
    // Best source 100 + 10 × 2 = 120, plus a quarter of Lobsters' 30 + 5 × 2 = 40 (and of the
    // blog's 0).
    assert_eq!(items[0]["score"], 130.0);
    assert_eq!(items[1]["score"], 125.0);
    assert_eq!(
        items[0]["discussions"],
        json!([
            {"source": "hn", "name": "Hacker News",
             "url": "https://news.ycombinator.com/item?id=41", "upvotes": 100, "comments": 10},
            {"source": "lobsters", "name": "Lobsters <b onmouseover=\"x()\">&</b>",
             "url": "https://lobste.rs/s/abc/raft", "upvotes": 30, "comments": 5},
        ])
    );
    // A single-source item with a link is discussed there; a `javascript:` link is dropped.
    assert_eq!(items[1]["discussions"][0]["name"], "Hacker News");
    assert!(items[2].get("discussions").is_none(), "{issue:#}");
    let explain: Vec<&str> = "preview d --period 2024-07 --explain --out x.html"
        .split(' ')
        .collect();
    let out = p.ok(&explain);
    assert!(
        out.stdout
            .contains("Raft at scale: others 10.0; blog 0/0, hn 100/10, lobsters 30/5"),
        "{}",
        out.stdout
    );

    p.ok(&["preview", "d", "--period", "2024-07", "--out", "out.html"]);
    let html = p.read("out.html");
    assert!(!html.contains("<b onmouseover"), "hostile name escaped");
    assert!(!html.contains("javascript:"), "no javascript: link");
    let doc = Html::parse_document(&html);
    let first = doc.select(&sel("td.item-body")).next().unwrap();
    let discussed: Vec<_> = first.select(&sel("p.discussed")).collect();
    assert_eq!(discussed.len(), 1);
    let text: String = discussed[0].text().collect();
    assert_eq!(
        text,
        "Discussed on Hacker News (100 points, 10 comments) · Lobsters <b \
         onmouseover=\"x()\">&</b> (30 points, 5 comments)"
    );
    let hrefs: Vec<&str> = discussed[0]
        .select(&sel("a"))
        .map(|a| a.value().attr("href").unwrap())
        .collect();
    assert_eq!(
        hrefs,
        [
            "https://news.ycombinator.com/item?id=41",
            "https://lobste.rs/s/abc/raft"
        ]
    );
    assert_eq!(doc.select(&sel("p.discussed")).count(), 2);

    p.ok(&[
        "preview", "d", "--period", "2024-07", "--text", "--out", "out.txt",
    ]);
    let text = p.read("out.txt");
    assert_plain_text(&text);
    let start = text.find(" 1. ").unwrap();
    let end = text.find(" 2. ").unwrap();
    let first = &text[start..end];
    assert!(
        first.contains(
            "    Discussed on:\n    - Hacker News (100 points, 10 comments)\n      \
             https://news.ycombinator.com/item?id=41\n    - Lobsters <b onmouseover=\"x()\">&</b> \
             (30 points, 5 comments)\n      https://lobste.rs/s/abc/raft\n"
        ),
        "{first}"
    );
    assert!(!text.contains("javascript:"));
}

#[test]
fn an_issue_frozen_before_discussions_existed_still_reads() {
    // A required field would make every issue.json written before it unreadable.
    let p = project();
    p.ok(&["ingest"]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    let path = "digests/d/2024-07/issue.json";
    let mut issue = p.issue("d", "2024-07");
    for item in issue["items"].as_array_mut().unwrap() {
        item.as_object_mut().unwrap().remove("discussions");
    }
    p.write(path, &serde_json::to_string_pretty(&issue).unwrap());
    p.ok(&["preview", "d", "--period", "2024-07", "--out", "old.html"]);
    assert!(!p.read("old.html").contains("Discussed on"));
}
