//! The bundled example must produce the July 2024 digest of the seed, item for item.

use scraper::{Html, Selector};
use serde_json::Value;

use crate::common::{Output, Project, assert_plain_text, repo};

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
    // Ages are relative to the issue's date (1 August 2024), never to now.
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
    assert_email_client_rules(&p.read("out.html"), &doc);
}

/// Colours of the bundled theme that must be given explicitly (see templates/theme.toml).
const PAGE: &str = "#f3f4f6";
const CARD: &str = "#ffffff";

/// The conventions of HTML email beyond the structure checked above.
fn assert_email_client_rules(html: &str, doc: &Html) {
    assert!(html.len() < 80 * 1024, "HTML of {} bytes", html.len());

    // <head>: the charset first; one <style>, last, holding only @media rules, under Gmail's 16 KB.
    let head = doc.select(&sel("head")).next().unwrap();
    let children: Vec<_> = head
        .children()
        .filter_map(scraper::ElementRef::wrap)
        .collect();
    assert_eq!(children[0].value().attr("charset"), Some("utf-8"));
    assert_eq!(children.last().unwrap().value().name(), "style");
    let styles: Vec<_> = doc.select(&sel("style")).collect();
    assert_eq!(styles.len(), 1, "one <style>");
    let css = styles[0].text().collect::<String>();
    assert!(css.len() < 16 * 1024, "<style> of {} bytes", css.len());
    let preludes = top_level_preludes(&css);
    assert_eq!(preludes.len(), 2, "{preludes:?}");
    assert!(
        preludes.iter().all(|p| p.starts_with("@media")),
        "{preludes:?}"
    );
    assert!(css.contains("prefers-color-scheme: dark"));

    // Outlook's fixed-width table around the fluid 600px container.
    assert!(html.contains(r#"<!--[if mso]><table role="presentation" width="600" align="center""#));
    // Backgrounds given as attributes and inline, so dark-mode inversion has them to work on.
    for (selector, colour) in [
        ("body", PAGE),
        ("table.page", PAGE),
        ("table.container", CARD),
    ] {
        let e = doc.select(&sel(selector)).next().unwrap().value();
        assert_eq!(e.attr("bgcolor"), Some(colour), "{selector}");
        let style = e.attr("style").unwrap_or_default();
        assert!(
            style.contains(&format!("background-color: {colour}")),
            "{selector}: {style}"
        );
    }
    for cell in doc.select(&sel("td.masthead, td.heading, td.item, td.footer")) {
        let style = cell.value().attr("style").unwrap();
        assert!(
            style.contains("font-family: -apple-system") && style.contains("sans-serif;"),
            "system font stack: {style}"
        );
    }
    for img in doc.select(&sel("img")) {
        let img = img.value();
        assert!(img.attr("src").unwrap().starts_with("https://"));
        assert!(img.attr("width").is_some() && img.attr("height").is_some());
    }
    // Links: http(s), underlined, and saying where they go.
    for a in doc.select(&sel("a")) {
        let (href, label) = (a.value().attr("href").unwrap(), text(a));
        assert!(href.starts_with("https://"), "{href}");
        assert!(
            a.value()
                .attr("style")
                .unwrap()
                .contains("text-decoration: underline"),
            "{label}"
        );
        let generic = ["here", "click here", "link", "more", "read more"];
        assert!(
            label.len() > 3 && !generic.contains(&label.to_lowercase().as_str()),
            "{label:?}"
        );
    }

    // The preheader, hidden, sums up the issue truthfully.
    let preheader = doc.select(&sel("body > div.preheader")).next().unwrap();
    let style = preheader.value().attr("style").unwrap();
    assert!(
        style.contains("display:none") && style.contains("mso-hide:all"),
        "{style}"
    );
    assert!(
        text(preheader).starts_with(
            "14 picks from July 2024: 8 Strategies for Reducing Latency, 40 Must-Read White \
             Papers to Learn System Design and Software Architecture and 12 more."
        ),
        "{}",
        text(preheader)
    );
    // The footer names the site and its postal address (templates/theme.toml).
    let address = text(doc.select(&sel("p.footer-address")).next().unwrap());
    assert_eq!(
        address,
        "Distributed Digest · 1 Example Street · 10115 Berlin · Germany"
    );
}

/// The preludes of the top-level blocks of a stylesheet (`@media …`, or a selector).
fn top_level_preludes(css: &str) -> Vec<String> {
    let (mut preludes, mut depth, mut prelude) = (Vec::new(), 0, String::new());
    for c in css.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    preludes.push(prelude.trim().to_string());
                }
                depth += 1;
            }
            '}' => {
                depth -= 1;
                prelude.clear();
            }
            c if depth == 0 => prelude.push(c),
            _ => {}
        }
    }
    preludes
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
    assert_plain_text(&body);
    assert!(body.contains("\nUnsubscribe:\nhttps://digest.example.com/unsubscribe/preview\n"));
    assert!(body.contains(
        "\nView in browser:\nhttps://digest.example.com/archive/best-of-distributed-systems/2024-07/\n"
    ));
    assert!(body.ends_with("Distributed Digest · 1 Example Street · 10115 Berlin · Germany\n"));
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

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let p = Project::example();
    p.ok(&["ingest"]);
    let mut child = p
        .command(&[
            "preview",
            "best-of-distributed-systems",
            "--period",
            "2024-07",
            "--explain",
            "--out",
            "x.html",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before digest writes anything, as `| head -0` would: its first
    // write fails with a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
