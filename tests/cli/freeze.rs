//! Frozen issues: built once, numbered in build order, previewed and rebuilt on request only.

use crate::common::{Project, article, config};

const TAG: &[&str] = &["distributed-systems"];

fn project() -> Project {
    let p = Project::new(&config(
        "d",
        "title = \"#{number}: Best of {tag} — {period}\"",
    ));
    p.catalog(&[
        article(
            "https://a.example/1",
            "June pick",
            "a",
            TAG,
            "2024-06-10T00:00:00Z",
            10,
        ),
        article(
            "https://a.example/2",
            "July pick",
            "b",
            TAG,
            "2024-07-10T00:00:00Z",
            10,
        ),
        article(
            "https://a.example/3",
            "August pick",
            "c",
            TAG,
            "2024-08-10T00:00:00Z",
            10,
        ),
        article(
            "https://a.example/4",
            "September pick",
            "d",
            TAG,
            "2024-09-10T00:00:00Z",
            10,
        ),
    ]);
    p
}

#[test]
fn a_frozen_issue_is_left_untouched_until_rebuilt_and_keeps_its_number() {
    let p = project();
    let out = p.ok(&["build", "d", "--period", "2024-07"]);
    assert!(
        out.stdout
            .contains("froze issue #1 (1 items): digests/d/2024-07/issue.json"),
        "{}",
        out.stdout
    );
    let frozen = p.read("digests/d/2024-07/issue.json");
    assert_eq!(
        p.issue("d", "2024-07")["title"],
        "#1: Best of Distributed Systems — July 2024"
    );

    // The catalogue changes: a better July article arrives.
    p.catalog(&[article(
        "https://a.example/9",
        "Late July hit",
        "z",
        TAG,
        "2024-07-30T00:00:00Z",
        500,
    )]);
    p.ok(&["ingest"]);
    let out = p.ok(&["build", "d", "--period", "2024-07"]);
    assert!(
        out.stdout
            .contains("issue #1 is already frozen, left untouched (use --rebuild to replace it)"),
        "{}",
        out.stdout
    );
    assert_eq!(
        p.read("digests/d/2024-07/issue.json"),
        frozen,
        "byte for byte"
    );

    // Preview renders the frozen file, not the catalogue.
    let out = p.ok(&[
        "preview", "d", "--period", "2024-07", "--text", "--out", "p.txt",
    ]);
    assert!(out.stdout.contains("issue #1 is frozen"), "{}", out.stdout);
    assert!(!p.read("p.txt").contains("Late July hit"));

    let out = p.ok(&["build", "d", "--period", "2024-07", "--rebuild"]);
    assert!(
        out.stdout.contains("rebuilt issue #1 (2 items)"),
        "{}",
        out.stdout
    );
    assert_eq!(p.titles("d", "2024-07"), ["Late July hit", "July pick"]);
    assert_eq!(p.issue("d", "2024-07")["number"], 1);
}

#[test]
fn issues_are_numbered_per_digest_in_build_order() {
    let p = project();
    p.ok(&["build", "d", "--period", "2024-07"]);
    p.ok(&["build", "d", "--period", "2024-08"]);
    p.ok(&["build", "d", "--period", "2024-06"]);
    assert_eq!(p.issue("d", "2024-07")["number"], 1);
    assert_eq!(p.issue("d", "2024-08")["number"], 2);
    assert_eq!(p.issue("d", "2024-06")["number"], 3);
    // A draft preview of an unbuilt period shows the number it would get.
    let out = p.ok(&["preview", "d", "--period", "2024-09", "--out", "p.html"]);
    assert!(out.stdout.contains("draft of issue #4"), "{}", out.stdout);
    assert!(
        !p.path("digests/d/2024-09/issue.json").exists(),
        "preview never freezes"
    );
}

#[test]
fn an_edited_frozen_issue_is_what_preview_renders() {
    let p = project();
    p.ok(&["build", "d", "--period", "2024-07"]);
    let path = "digests/d/2024-07/issue.json";
    p.write(
        path,
        &p.read(path)
            .replace("\"July pick\"", "\"July pick (edited)\""),
    );
    p.ok(&["preview", "d", "--period", "2024-07", "--out", "p.html"]);
    assert!(p.read("p.html").contains("July pick (edited)"));
}

#[test]
fn a_damaged_issue_file_is_an_error_naming_it() {
    let p = project();
    p.write(
        "digests/d/2024-07/issue.json",
        "{\"format\": 1, \"digest\": ",
    );
    let out = p.run(&["preview", "d", "--period", "2024-07"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("digests/d/2024-07/issue.json: not a valid issue file"),
        "{}",
        out.stderr
    );
    let out = p.run(&["build", "d", "--period", "2024-07"]);
    assert_eq!(out.code, 1, "a damaged issue is never silently replaced");
}

#[test]
fn frozen_issues_render_the_same_forever() {
    let p = project();
    p.ok(&["build", "d", "--period", "2024-07"]);
    p.ok(&["preview", "d", "--period", "2024-07", "--out", "a.html"]);
    p.ok(&["preview", "d", "--period", "2024-07", "--out", "b.html"]);
    let a = p.read("a.html");
    assert_eq!(a, p.read("b.html"));
    assert!(
        a.contains("· 3w"),
        "age measured from the end of July, not from today"
    );
}

#[test]
fn build_refuses_a_period_that_has_not_closed_unless_asked_explicitly() {
    // `build --period 2030-01` froze issue #1 years early: the number was used up and the issue
    // missed the rest of its period.
    let p = project();
    let mut catalog = p.read("catalog/main.jsonl");
    catalog.push_str(&article(
        "https://a.example/future",
        "Future pick",
        "f",
        TAG,
        "2099-01-10T00:00:00Z",
        10,
    ));
    p.write("catalog/main.jsonl", &catalog);
    let out = p.run(&["build", "d", "--period", "2099-01"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("2099-01 has not closed yet")
            && out.stderr.contains("--open-period")
            && out.stderr.contains("digest preview d --period 2099-01"),
        "{}",
        out.stderr
    );
    assert!(!p.path("digests/d/2099-01/issue.json").exists());
    // The draft of an open period can still be previewed; nothing is frozen.
    let out = p.ok(&["preview", "d", "--period", "2099-01", "--out", "p.html"]);
    assert!(out.stdout.contains("draft of issue #1"), "{}", out.stdout);
    // No number was used up.
    p.ok(&["build", "d", "--period", "2024-07"]);
    assert_eq!(p.issue("d", "2024-07")["number"], 1);
    // Asked explicitly, it is frozen.
    let out = p.ok(&["build", "d", "--period", "2099-01", "--open-period"]);
    assert!(out.stdout.contains("froze issue #2"), "{}", out.stdout);
    assert_eq!(p.titles("d", "2099-01"), ["Future pick"]);
}
