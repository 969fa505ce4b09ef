//! Period windows are computed in the digest's time zone: days, ISO weeks and months.

use clap::Parser;
use digest::cli::Cli;
use digest::clock::FixedClock;

use crate::common::{Project, article, config};

const TAG: &[&str] = &["distributed-systems"];

fn sorted_titles(p: &Project, digest: &str, period: &str) -> Vec<String> {
    let mut t = p.titles(digest, period);
    t.sort();
    t
}

#[test]
fn a_month_in_new_york_runs_from_local_midnight_to_local_midnight() {
    let p = Project::new(&config("ny", "timezone = \"America/New_York\""));
    p.catalog(&[
        article(
            "https://a.example/1",
            "Last evening",
            "a",
            TAG,
            "2024-07-31T23:30:00-04:00",
            10,
        ),
        article(
            "https://a.example/2",
            "Next midnight",
            "b",
            TAG,
            "2024-08-01T00:00:00-04:00",
            10,
        ),
        article(
            "https://a.example/3",
            "First midnight",
            "c",
            TAG,
            "2024-07-01T00:00:00-04:00",
            10,
        ),
        article(
            "https://a.example/4",
            "Just before",
            "d",
            TAG,
            "2024-06-30T23:59:59-04:00",
            10,
        ),
    ]);
    p.ok(&["build", "ny", "--period", "2024-07"]);
    assert_eq!(
        sorted_titles(&p, "ny", "2024-07"),
        ["First midnight", "Last evening"]
    );
    let issue = p.issue("ny", "2024-07");
    assert_eq!(issue["window"]["start"], "2024-07-01T04:00:00Z");
    assert_eq!(issue["window"]["end"], "2024-08-01T04:00:00Z");
    assert_eq!(issue["timezone"], "America/New_York");
}

#[test]
fn a_month_in_berlin_ends_before_utc_midnight() {
    let p = Project::new(&config("berlin", "timezone = \"Europe/Berlin\""));
    p.catalog(&[
        article(
            "https://a.example/1",
            "Late in Berlin",
            "a",
            TAG,
            "2024-07-31T23:30:00+02:00",
            10,
        ),
        // 2024-07-31T22:00Z: still July in UTC, already August in Berlin.
        article(
            "https://a.example/2",
            "August in Berlin",
            "b",
            TAG,
            "2024-08-01T00:00:00+02:00",
            10,
        ),
    ]);
    p.ok(&["build", "berlin", "--period", "2024-07"]);
    assert_eq!(sorted_titles(&p, "berlin", "2024-07"), ["Late in Berlin"]);
}

#[test]
fn an_iso_week_runs_monday_to_sunday() {
    let p = Project::new(&config("weekly", "").replace("\"monthly\"", "\"weekly\""));
    p.catalog(&[
        article(
            "https://a.example/1",
            "Sunday before",
            "a",
            TAG,
            "2024-06-30T23:59:59Z",
            10,
        ),
        article(
            "https://a.example/2",
            "Monday",
            "b",
            TAG,
            "2024-07-01T00:00:00Z",
            10,
        ),
        article(
            "https://a.example/3",
            "Sunday night",
            "c",
            TAG,
            "2024-07-07T23:59:59Z",
            10,
        ),
        article(
            "https://a.example/4",
            "Next Monday",
            "d",
            TAG,
            "2024-07-08T00:00:00Z",
            10,
        ),
    ]);
    p.ok(&["build", "weekly", "--period", "2024-W27"]);
    assert_eq!(
        sorted_titles(&p, "weekly", "2024-W27"),
        ["Monday", "Sunday night"]
    );
    assert_eq!(
        p.issue("weekly", "2024-W27")["period_label"],
        "Week 27, 2024"
    );
}

#[test]
fn a_day_is_one_local_day() {
    let p = Project::new(
        &config("daily", "timezone = \"Asia/Tokyo\"").replace("\"monthly\"", "\"daily\""),
    );
    p.catalog(&[
        article(
            "https://a.example/1",
            "Tokyo morning",
            "a",
            TAG,
            "2024-07-14T15:00:00Z",
            10,
        ),
        article(
            "https://a.example/2",
            "UTC morning",
            "b",
            TAG,
            "2024-07-15T15:00:00Z",
            10,
        ),
    ]);
    p.ok(&["build", "daily", "--period", "2024-07-15"]);
    assert_eq!(sorted_titles(&p, "daily", "2024-07-15"), ["Tokyo morning"]);
}

#[test]
fn a_period_of_the_wrong_kind_is_refused_with_an_example() {
    let p = Project::new(&config("d", ""));
    let out = p.run(&["build", "d", "--period", "2024-W27"]);
    assert_eq!(out.code, 2, "a bad argument");
    assert!(
        out.stderr.contains(
            "invalid period \"2024-W27\": this digest is monthly: give a period like 2024-07"
        ),
        "{}",
        out.stderr
    );
    let out = p.run(&["preview", "d", "--period", "July"]);
    assert!(
        out.stderr
            .contains("use 2024-07 (month), 2024-W27 (ISO week) or 2024-07-15 (day)"),
        "{}",
        out.stderr
    );
}

#[test]
fn without_a_period_the_last_closed_one_is_built() {
    let p = Project::new(&config("d", ""));
    p.catalog(&[article(
        "https://a.example/1",
        "July",
        "a",
        TAG,
        "2024-07-20T10:00:00Z",
        10,
    )]);
    let config = p.path("config");
    let cli = Cli::parse_from(["digest", "--config", config.to_str().unwrap(), "build", "d"]);
    let now = chrono::DateTime::parse_from_rfc3339("2024-08-03T09:00:00Z")
        .unwrap()
        .to_utc();
    digest::cmd::run_with(cli, std::sync::Arc::new(FixedClock(now))).unwrap();
    assert_eq!(p.titles("d", "2024-07"), ["July"]);
}

#[test]
fn invalid_periods_and_unknown_digests_exit_2_like_other_bad_arguments() {
    // The README promises exit code 2 for bad arguments; these exited 1.
    let p = Project::new(&config("d", ""));
    for period in ["2024-13", "2024-W54", "2024-02-30", "2024-7", "2024-07-15"] {
        for command in ["build", "preview", "send"] {
            let out = p.run(&[command, "d", "--period", period]);
            assert_eq!(out.code, 2, "{command} {period}: {}", out.all());
            assert!(
                out.stderr.contains(&format!("invalid period \"{period}\"")),
                "{}",
                out.stderr
            );
        }
        let out = p.run(&["status", "d", "--period", period]);
        assert_eq!(out.code, 2, "status {period}: {}", out.all());
    }
    for args in [
        &["build", "nope"][..],
        &["preview", "nope"],
        &["status", "nope"],
        &["suppress", "add", "a@example.org", "--digest", "nope"],
    ] {
        let out = p.run(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.all());
        assert!(out.stderr.contains("no digest `nope`"), "{}", out.stderr);
    }
}
