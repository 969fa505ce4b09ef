//! The bundled example must produce the July 2024 digest of the seed, item for item.

use scraper::{Html, Selector};
use serde_json::Value;

use crate::common::{Output, Project, repo};

/// `digest preview` of the example digest for July 2024, with `extra` arguments.
fn preview_july(p: &Project, extra: &[&str]) -> Output {
    let mut args = vec![
        "preview",
        "best-of-distributed-systems",
        "--period",
        "2024-07",
    ];
    args.extend_from_slice(extra);
    p.ok(&args)
}

fn expected() -> Value {
    let path = repo().join("tests/fixtures/expected/best-of-distributed-systems-2024-07.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn text(e: scraper::ElementRef<'_>) -> String {
    e.text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn example_preview_html_is_the_seed_digest() {
    let p = Project::example();
    let out = preview_july(&p, &["--out", "out.html"]);
    assert!(out.stdout.contains("wrote out.html"), "{}", out.stdout);
    let want = expected();
    let doc = Html::parse_document(&p.read("out.html"));

    let h1: Vec<_> = doc.select(&sel("h1")).collect();
    assert_eq!(h1.len(), 1, "exactly one h1");
    assert_eq!(text(h1[0]), want["title"].as_str().unwrap());
    assert_eq!(
        text(doc.select(&sel("title")).next().unwrap()),
        want["title"].as_str().unwrap()
    );
    assert_eq!(doc.root_element().value().attr("lang"), Some("en"));

    let items: Vec<_> = doc.select(&sel("td.item-body")).collect();
    let numbers: Vec<String> = doc.select(&sel(".number-badge")).map(text).collect();
    let want_items = want["items"].as_array().unwrap();
    assert_eq!(items.len(), want_items.len());
    assert_eq!(items.len(), 14);
    for ((item, number), w) in items.iter().zip(&numbers).zip(want_items) {
        let pick = |s: &str| {
            text(
                item.select(&sel(s))
                    .next()
                    .unwrap_or_else(|| panic!("{s} in item {number}")),
            )
        };
        assert_eq!(number, &w["number"].to_string());
        assert_eq!(pick(".kind").to_lowercase(), w["kind"].as_str().unwrap());
        assert_eq!(pick(".source-name"), w["source"].as_str().unwrap());
        assert_eq!(pick("h2 a"), w["title"].as_str().unwrap());
        assert_eq!(pick(".summary"), w["summary"].as_str().unwrap());
        let link = item
            .select(&sel("h2 a"))
            .next()
            .unwrap()
            .value()
            .attr("href")
            .unwrap();
        assert!(link.starts_with("https://"), "{link}");
        let avatar = item.select(&sel("img.avatar")).next().unwrap().value();
        assert_eq!(
            avatar.attr("alt").unwrap(),
            format!("Avatar of {}", w["source"].as_str().unwrap())
        );
        assert!(pick(".age").starts_with('·'), "age shown after the source");
    }
    // Ages are relative to the date (1 August 2024), never to now.
    assert_eq!(text(doc.select(&sel(".age")).next().unwrap()), "· 3d");

    // Email-safe structure.
    for table in doc.select(&sel("table")) {
        assert_eq!(table.value().attr("role"), Some("presentation"));
    }
    let container = doc.select(&sel("table.container")).next().unwrap().value();
    assert_eq!(container.attr("width"), Some("600"));
    assert!(
        container
            .attr("style")
            .unwrap()
            .contains("max-width: 600px"),
        "styles are inlined"
    );
    for img in doc.select(&sel("img")) {
        assert!(img.value().attr("alt").is_some_and(|a| !a.is_empty()));
    }
    let footer = text(doc.select(&sel("td.footer")).next().unwrap());
    assert!(
        footer.contains("Distributed Digest") && footer.contains("Berlin"),
        "{footer}"
    );
    let links: Vec<_> = doc
        .select(&sel("td.footer a"))
        .map(|a| (text(a), a.value().attr("href").unwrap().to_string()))
        .collect();
    assert!(
        links.contains(&(
            "Unsubscribe".into(),
            "https://digest.example.com/unsubscribe/preview".into()
        )),
        "{links:?}"
    );
    assert!(
        links.contains(&(
            "View in browser".into(),
            "https://digest.example.com/archive/best-of-distributed-systems/2024-07/".into()
        )),
        "{links:?}"
    );
    assert_eq!(doc.select(&sel("script, form, iframe, svg")).count(), 0);
}

#[test]
fn example_text_part_carries_the_same_items() {
    let p = Project::example();
    preview_july(&p, &["--text", "--out", "out.txt"]);
    let body = p.read("out.txt");
    let want = expected();
    assert!(body.starts_with(&format!("{}\n", want["title"].as_str().unwrap())));
    // Wrapping only turns spaces into newlines and indentation: compare with white space folded.
    let folded = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut at = 0;
    for w in want["items"].as_array().unwrap() {
        let kind = if w["kind"] == "video" {
            "Video"
        } else {
            "Article"
        };
        let expected = format!(
            "{}. {} {kind} · {} · ",
            w["number"],
            w["title"].as_str().unwrap(),
            w["source"].as_str().unwrap()
        );
        at += folded[at..]
            .find(&expected)
            .unwrap_or_else(|| panic!("{expected:?} after {at}"));
        let summary = w["summary"].as_str().unwrap();
        at += folded[at..]
            .find(summary)
            .unwrap_or_else(|| panic!("summary of item {}", w["number"]));
    }
    for line in body.lines() {
        assert!(
            line.chars().count() <= 78 || !line.contains(' ') || line.contains("https://"),
            "long line: {line:?}"
        );
        assert!(
            !line.contains("&amp;") && !line.contains("&lt;"),
            "no entities: {line}"
        );
    }
    assert!(body.contains("Unsubscribe: https://digest.example.com/unsubscribe/preview\n"));
}

#[test]
fn explain_shows_score_parts_and_reasons() {
    let p = Project::example();
    let out = preview_july(&p, &["--explain", "--out", "x.html"]);
    assert!(out.stdout.contains("17 candidate(s)"), "{}", out.stdout);
    assert!(out.stdout.contains("score = (upvotes × 1 + comments × 2)"));
    assert_eq!(
        out.stdout.matches("below min score").count(),
        3,
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("kept #14"));
    let first = out.stdout.lines().find(|l| l.contains("kept #1 ")).unwrap();
    assert!(
        first.contains("940.0") && first.contains("812.0") && first.contains("128.0"),
        "{first}"
    );
}
