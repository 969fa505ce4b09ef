//! Ingest: tag normalization, URL canonicalization and dedupe, bad lines, caps and minimums.

use crate::common::{Project, article, config};

#[test]
fn every_spelling_of_the_tag_selects() {
    let p = Project::new(&config("d", ""));
    p.catalog(&[
        article(
            "https://a.example/1",
            "Dashed",
            "a",
            &["Distributed-Systems"],
            "2024-07-02T00:00:00Z",
            10,
        ),
        article(
            "https://a.example/2",
            "Spaced",
            "b",
            &["distributed systems"],
            "2024-07-03T00:00:00Z",
            10,
        ),
        article(
            "https://a.example/3",
            "Underscored",
            "c",
            &["DISTRIBUTED_SYSTEMS"],
            "2024-07-04T00:00:00Z",
            10,
        ),
        article(
            "https://a.example/4",
            "Other tag",
            "d",
            &["distributed"],
            "2024-07-05T00:00:00Z",
            10,
        ),
    ]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    assert_eq!(
        p.titles("d", "2024-07"),
        ["Underscored", "Spaced", "Dashed"]
    );
}

#[test]
fn the_same_article_under_several_links_is_stored_once_and_reingest_updates_counts() {
    let p = Project::new(&config("d", ""));
    let tags = &["distributed-systems"];
    p.catalog(&[
        article(
            "https://A.example:443/post/?utm_source=x&b=2&a=1#top",
            "Post",
            "a",
            tags,
            "2024-07-02T00:00:00Z",
            10,
        ),
        article(
            "https://a.example/post?a=1&b=2&fbclid=zz",
            "Post",
            "a",
            tags,
            "2024-07-02T00:00:00Z",
            12,
        ),
    ]);
    let out = p.ok(&["ingest"]);
    assert!(
        out.stdout
            .contains("main: 1 new, 1 updated, 0 unchanged, 0 skipped"),
        "{}",
        out.stdout
    );
    let out = p.ok(&["ingest"]);
    assert!(
        out.stdout
            .contains("main: 0 new, 0 updated, 2 unchanged, 0 skipped"),
        "{}",
        out.stdout
    );
    p.catalog(&[article(
        "https://a.example/post?b=2&a=1",
        "Post",
        "a",
        tags,
        "2024-07-02T00:00:00Z",
        40,
    )]);
    let out = p.ok(&["ingest"]);
    assert!(
        out.stdout.contains("main: 0 new, 1 updated, 0 unchanged"),
        "{}",
        out.stdout
    );
    p.ok(&["build", "d", "--period", "2024-07"]);
    let issue = p.issue("d", "2024-07");
    let items = issue["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["url"], "https://a.example/post?a=1&b=2");
    assert_eq!(items[0]["upvotes"], 40);
}

#[test]
fn a_later_line_about_the_same_article_corrects_an_earlier_one_in_the_same_file() {
    // Ingest stores each batch in URL order; lines about one URL must keep their file order.
    let p = Project::new(&config("d", ""));
    let tags = &["distributed-systems"];
    let at = "2024-07-02T00:00:00Z";
    p.catalog(&[
        article("https://z.example/post", "First draft", "z", tags, at, 5),
        article("https://a.example/other", "Other", "a", tags, at, 1),
        article("https://z.example/post#x", "Second draft", "z", tags, at, 5),
        article("https://m.example/x", "Middle", "m", tags, at, 1),
        article("https://Z.example/post/", "Final title", "z", tags, at, 5),
    ]);
    let out = p.ok(&["ingest"]);
    assert!(
        out.stdout.contains("main: 3 new, 2 updated"),
        "{}",
        out.stdout
    );
    p.ok(&["build", "d", "--period", "2024-07"]);
    assert_eq!(p.titles("d", "2024-07"), ["Final title", "Other", "Middle"]);
}

#[test]
fn bad_lines_are_reported_by_file_and_line_and_good_lines_load() {
    let p = Project::new(&config("d", ""));
    let good = article(
        "https://a.example/1",
        "Good",
        "a",
        &["distributed-systems"],
        "2024-07-02T00:00:00Z",
        10,
    );
    p.write(
        "catalog/main.jsonl",
        &[
            good.clone(),
            "{not json".into(),
            good.replace("https://a.example/1", "javascript:alert(1)"),
            good.replace("2024-07-02T00:00:00Z", "2024-07-02"),
            String::new(),
            good.replace("https://a.example/1", "https://a.example/2"),
        ]
        .join("\n"),
    );
    let out = p.ok(&["ingest"]);
    assert!(
        out.stdout
            .contains("main: 2 new, 0 updated, 0 unchanged, 3 skipped"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("catalog/main.jsonl:2: key must be a string"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("catalog/main.jsonl:3: field `url`: only http and https links are allowed, not `javascript:`"), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "catalog/main.jsonl:4: field `published_at`: \"2024-07-02\" is not an RFC 3339 time"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_source_is_an_error_naming_it() {
    let p = Project::new(&config("d", ""));
    std::fs::remove_file(p.path("catalog/main.jsonl")).unwrap();
    let out = p.run(&["ingest"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("main: failed: source `main`: opening catalog/main.jsonl"),
        "{}",
        out.stderr
    );
}

#[test]
fn per_source_cap_and_min_score_shape_the_issue() {
    let p = Project::new(&config("d", "max_per_source = 1\nmin_score = 20"));
    let tags = &["distributed-systems"];
    p.catalog(&[
        article(
            "https://a.example/1",
            "A best",
            "a",
            tags,
            "2024-07-02T00:00:00Z",
            90,
        ),
        article(
            "https://a.example/2",
            "A second",
            "a",
            tags,
            "2024-07-03T00:00:00Z",
            80,
        ),
        article(
            "https://b.example/1",
            "B",
            "b",
            tags,
            "2024-07-04T00:00:00Z",
            30,
        ),
        article(
            "https://c.example/1",
            "C weak",
            "c",
            tags,
            "2024-07-05T00:00:00Z",
            19,
        ),
    ]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    assert_eq!(p.titles("d", "2024-07"), ["A best", "B"]);
}

#[test]
fn below_min_items_there_is_no_issue_and_the_reason_is_said() {
    let p = Project::new(&config("d", "").replace("min_items = 1", "min_items = 3"));
    p.catalog(&[article(
        "https://a.example/1",
        "Alone",
        "a",
        &["distributed-systems"],
        "2024-07-02T00:00:00Z",
        9,
    )]);
    let out = p.run(&["build", "d", "--period", "2024-07"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("no issue of d for 2024-07: 1 item(s) qualify, fewer than min_items = 3"),
        "{}",
        out.stderr
    );
    assert!(!p.path("digests/d/2024-07/issue.json").exists());
}

#[test]
fn equal_scores_come_out_in_the_same_order_whatever_the_file_order() {
    let tags = &["distributed-systems"];
    let lines = vec![
        article(
            "https://a.example/b",
            "B older",
            "a",
            tags,
            "2024-07-02T00:00:00Z",
            10,
        ),
        article(
            "https://a.example/a",
            "A older",
            "b",
            tags,
            "2024-07-02T00:00:00Z",
            10,
        ),
        article(
            "https://a.example/c",
            "C newer",
            "c",
            tags,
            "2024-07-09T00:00:00Z",
            10,
        ),
    ];
    let mut orders = Vec::new();
    for reverse in [false, true] {
        let p = Project::new(&config("d", ""));
        let mut l = lines.clone();
        if reverse {
            l.reverse();
        }
        p.catalog(&l);
        p.ok(&["build", "d", "--period", "2024-07"]);
        orders.push(p.titles("d", "2024-07"));
    }
    assert_eq!(orders[0], ["C newer", "A older", "B older"]);
    assert_eq!(orders[0], orders[1]);
}

#[test]
fn every_skipped_line_is_listed_with_its_reason_in_a_report_file_the_terminal_and_status_name() {
    // Ingest printed 50 reasons, then "… and 9 more" with no line numbers and nowhere to find them.
    let p = Project::new(&config("d", ""));
    let good = article(
        "https://a.example/1",
        "Good",
        "a",
        &["distributed-systems"],
        "2024-07-02T00:00:00Z",
        10,
    );
    let mut lines = vec![good];
    lines.extend((0..59).map(|i| format!("{{not json {i}")));
    p.catalog(&lines);
    let out = p.ok(&["ingest"]);
    assert!(
        out.stdout
            .contains("main: 1 new, 0 updated, 0 unchanged, 59 skipped")
    );
    let list = "reports/main.skipped.txt";
    assert_eq!(
        out.stderr.matches("  skipped catalog/main.jsonl:").count(),
        50
    );
    assert!(
        out.stderr
            .contains(&format!("  … and 9 more (all 59 in {list})")),
        "{}",
        out.stderr
    );
    let listed: Vec<String> = p.read(list).lines().map(String::from).collect();
    assert_eq!(listed.len(), 59);
    for (i, line) in listed.iter().enumerate() {
        let at = format!("catalog/main.jsonl:{}: key must be a string", i + 2);
        assert!(line.ends_with(&at), "{line:?} lacks {at:?}");
    }
    let status = p.ok(&["status", "d"]);
    assert!(
        status.stdout.contains(&format!(
            "  last ingest skipped 59 line(s), each listed with its reason in {list}"
        )),
        "{}",
        status.stdout
    );

    // The list is replaced by each ingest that reads the source: a clean catalogue removes it.
    p.catalog(&lines[..1]);
    p.ok(&["ingest"]);
    assert!(!p.path(list).exists());
    let status = p.ok(&["status", "d"]);
    assert!(!status.stdout.contains("skipped"), "{}", status.stdout);
}

#[test]
fn links_and_avatars_longer_than_2048_bytes_are_skipped_lines_with_the_reason() {
    // A 100 KB link was stored and mailed whole: one article made a 145,829-byte email.
    let p = Project::new(&config("d", ""));
    let good = article(
        "https://a.example/1",
        "Good",
        "a",
        &["distributed-systems"],
        "2024-07-02T00:00:00Z",
        10,
    );
    let long = format!("https://a.example/{}", "x".repeat(100_000));
    p.catalog(&[
        good.replace("https://a.example/1", &long),
        good.replace("https://img.example/a.png", &long),
        good.clone(),
    ]);
    let out = p.ok(&["ingest"]);
    assert!(
        out.stdout
            .contains("main: 1 new, 0 updated, 0 unchanged, 2 skipped"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(
            "skipped catalog/main.jsonl:1: field `url`: longer than 2048 bytes (100018 bytes)"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "skipped catalog/main.jsonl:2: field `source.avatar`: longer than 2048 bytes (100018 bytes)"
        ),
        "{}",
        out.stderr
    );
}
