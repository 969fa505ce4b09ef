//! Story clustering end to end: three outlets' tellings of one story become one item with "More on
//! this story", in `issue.json`, the HTML and the text; the off switch; `--explain`; `check`.

use scraper::{Html, Selector};
use serde_json::json;

use crate::common::{Project, assert_plain_text, config, repo};

/// One catalogue line with its own summary, source and counts.
fn line(url: &str, title: &str, summary: &str, source: &str, day: u32, upvotes: u64) -> String {
    json!({
        "url": url, "title": title, "summary": summary, "kind": "article",
        "source": {"id": source.to_lowercase().replace(' ', "-"), "name": source},
        "tags": ["distributed-systems"],
        "published_at": format!("2024-07-{day:02}T12:00:00Z"), "upvotes": upvotes, "comments": 0
    })
    .to_string()
}

/// A July catalogue: one story told by three outlets, and five other stories, two of which
/// ("Raft in practice", "Paxos in practice") share most of their words.
fn catalogue() -> Vec<String> {
    vec![
        line(
            "https://verge.example/crowdstrike-windows",
            "CrowdStrike update crashes Windows computers worldwide",
            "A faulty CrowdStrike Falcon update crashed Windows computers worldwide, grounding \
             flights and taking banks offline.",
            "The Verge",
            19,
            300,
        ),
        line(
            "https://ars.example/faulty-crowdstrike-update",
            "Faulty CrowdStrike update takes down Windows PCs around the world",
            "Windows PCs around the world crashed with blue screens after a faulty CrowdStrike \
             Falcon sensor update.",
            "Ars Technica",
            19,
            200,
        ),
        line(
            "https://bbc.example/global-it-outage",
            "Global outage: CrowdStrike update crashes Windows machines",
            "Airlines, banks and broadcasters were hit after a CrowdStrike update crashed \
             Windows machines.",
            "BBC News",
            20,
            100,
        ),
        line(
            "https://blog.rust.example/rust-1.80",
            "Announcing Rust 1.80.0",
            "LazyCell and LazyLock are stabilized, and exclusive ranges are allowed in patterns.",
            "Rust Blog",
            25,
            250,
        ),
        line(
            "https://postgres.example/17",
            "PostgreSQL 17 released with incremental backups",
            "PostgreSQL 17 adds incremental backup with pg_basebackup and a leaner vacuum.",
            "PostgreSQL",
            26,
            150,
        ),
        line(
            "https://one.example/raft-in-practice",
            "Raft in practice",
            "What we learned running Raft in production for three years: disk latency, slow \
             followers and the bugs our fault injection found in log replication.",
            "Engineering One",
            10,
            90,
        ),
        line(
            "https://two.example/paxos-in-practice",
            "Paxos in practice",
            "What we learned running Multi-Paxos in production for three years: disk latency, \
             leases and the bugs our fault injection found in log replication.",
            "Engineering Two",
            11,
            80,
        ),
    ]
}

/// The project of [`catalogue`], clustering on unless `extra` says otherwise.
fn project(extra: &str) -> Project {
    let extra = if extra.contains("cluster = ") {
        extra.to_string()
    } else {
        format!("cluster = true\n{extra}")
    };
    let p = Project::new(&config("ds", &extra));
    p.catalog(&catalogue());
    p
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

#[test]
fn three_outlets_of_one_story_become_one_item_with_more_on_this_story() {
    // Without clustering the story would fill three of the issue's places; a measure fooled by
    // shared words would also fold "Paxos in practice" into "Raft in practice".
    let p = project("");
    p.ok(&["build", "ds", "--period", "2024-07"]);
    let issue = p.issue("ds", "2024-07");
    let titles: Vec<&str> = issue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "CrowdStrike update crashes Windows computers worldwide",
            "Announcing Rust 1.80.0",
            "PostgreSQL 17 released with incremental backups",
            "Raft in practice",
            "Paxos in practice",
        ]
    );
    assert_eq!(
        issue["items"][0]["more"],
        json!([
            {"title": "Faulty CrowdStrike update takes down Windows PCs around the world",
             "url": "https://ars.example/faulty-crowdstrike-update", "source": "Ars Technica"},
            {"title": "Global outage: CrowdStrike update crashes Windows machines",
             "url": "https://bbc.example/global-it-outage", "source": "BBC News"},
        ])
    );
    assert!(issue["items"][1].get("more").is_none(), "{issue}");

    p.ok(&["preview", "ds", "--period", "2024-07", "--out", "out.html"]);
    let doc = Html::parse_document(&p.read("out.html"));
    let more: Vec<_> = doc.select(&sel("p.more")).collect();
    assert_eq!(more.len(), 1, "one item has other tellings");
    let text: String = more[0].text().collect();
    assert_eq!(text, "More on this story: Ars Technica · BBC News");
    let links: Vec<(String, String)> = more[0]
        .select(&sel("a.more-link"))
        .map(|a| {
            let v = a.value();
            (
                v.attr("href").unwrap().to_string(),
                v.attr("title").unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        links,
        [
            (
                "https://ars.example/faulty-crowdstrike-update".to_string(),
                "Faulty CrowdStrike update takes down Windows PCs around the world".to_string()
            ),
            (
                "https://bbc.example/global-it-outage".to_string(),
                "Global outage: CrowdStrike update crashes Windows machines".to_string()
            ),
        ]
    );
    // The line sits in the lead item's body, after its summary.
    let first_body = doc.select(&sel("td.item-body")).next().unwrap();
    assert_eq!(first_body.select(&sel("p.more")).count(), 1);

    p.ok(&[
        "preview", "ds", "--period", "2024-07", "--text", "--out", "out.txt",
    ]);
    let text = p.read("out.txt");
    assert_plain_text(&text);
    let golden = std::fs::read_to_string(repo().join("tests/fixtures/clusters/golden.txt"))
        .unwrap()
        .replace("\r\n", "\n");
    let start = text.find(" 1. ").expect("first item");
    let end = text.find(" 2. ").expect("second item");
    assert_eq!(&text[start..end], golden, "the text of the clustered item");
}

#[test]
fn cluster_false_keeps_every_telling_as_an_item_of_its_own() {
    // The off switch would be ignored if clustering ran regardless of the digest's setting; and
    // a digest that says nothing must keep every item too (clustering is opt-in).
    for extra in [
        "cluster = false",
        "cluster = false\ncluster_threshold = 0.1",
    ] {
        let p = project(extra);
        p.ok(&["build", "ds", "--period", "2024-07"]);
        assert!(!p.read("digests/ds/2024-07/issue.json").contains("\"more\""));
    }
    let p = Project::new(&config("ds", ""));
    p.catalog(&catalogue());
    p.ok(&["build", "ds", "--period", "2024-07"]);
    let issue = p.issue("ds", "2024-07");
    let items = issue["items"].as_array().unwrap();
    let sources: Vec<&str> = items
        .iter()
        .map(|i| i["source"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        [
            "The Verge",
            "Rust Blog",
            "Ars Technica",
            "PostgreSQL",
            "BBC News"
        ]
    );
    assert!(items.iter().all(|i| i.get("more").is_none()), "{issue}");
}

#[test]
fn explain_shows_each_story_its_members_and_their_similarity() {
    // Without the stories section an editor could not see why an item vanished from the issue.
    let p = project("");
    let out = p.ok(&["preview", "ds", "--period", "2024-07", "--explain"]);
    let s = &out.stdout;
    assert!(
        s.contains("stories told by several candidates: 1 (similarity threshold 0.18)"),
        "{s}"
    );
    assert!(
        s.contains(
            "  story #1: CrowdStrike update crashes Windows computers worldwide (The Verge)"
        ),
        "{s}"
    );
    for other in [
        "Faulty CrowdStrike update takes down Windows PCs around the world (Ars Technica)",
        "Global outage: CrowdStrike update crashes Windows machines (BBC News)",
    ] {
        let row = s
            .lines()
            .find(|l| l.ends_with(other))
            .unwrap_or_else(|| panic!("{other} in {s}"));
        let similarity: f64 = row.split_whitespace().next().unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&similarity), "{row}");
    }
    assert_eq!(s.matches("story of #1").count(), 2, "{s}");

    let out = p.ok(&["build", "ds", "--period", "2024-07", "--explain"]);
    assert!(
        out.stdout.contains("  story #1: CrowdStrike"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("froze issue #1 (5 items)"),
        "{}",
        out.stdout
    );

    let off = project("cluster = false");
    let out = off.ok(&["preview", "ds", "--period", "2024-07", "--explain"]);
    assert!(
        out.stdout
            .contains("story clustering: off (cluster = true switches it on)"),
        "{}",
        out.stdout
    );
}

#[test]
fn check_refuses_a_threshold_outside_zero_to_one_naming_the_key() {
    // A threshold of 0 would merge every pair that passes the guards; above 1, none ever.
    for bad in ["0", "1.5", "-0.2"] {
        let p = project(&format!("cluster_threshold = {bad}"));
        let out = p.fails(&["check"]);
        assert!(
            out.stderr.contains(&format!(
                "digests.ds.cluster_threshold: must be a number above 0 and at most 1, not {bad}"
            )),
            "{}",
            out.stderr
        );
    }
    let p = project("cluster = true\ncluster_threshold = 0.3");
    p.ok(&["check"]);
}
