//! Byte-exact snapshots of what the bundled example produces for July 2024: the frozen
//! `issue.json`, the email's HTML and text as rendered, and one complete message as sent.
//!
//! Nothing is redacted: the issue is frozen on a fixed clock and the message dated at a fixed
//! instant; everything else (Message-ID, unsubscribe token, MIME boundary) follows from the issue,
//! the recipient and the test keys. The snapshots are insta binary snapshots, next to this file in
//! `snapshots/`, each compared byte for byte (a text snapshot would ignore CRLF line ends and
//! trailing white space). After an intended change: `cargo insta review` (cargo-insta), or
//! `INSTA_UPDATE=always cargo test --test cli snapshots`; then read `git diff tests/cli/snapshots`.

use std::sync::Arc;

use clap::Parser as _;
use digest::cli::Cli;
use digest::clock::FixedClock;
use digest::mail::{address, message::To};

use crate::common::Project;

const DIGEST: &str = "best-of-distributed-systems";
const PERIOD: &str = "2024-07";

fn at(rfc3339: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .to_utc()
}

/// The example project with the July 2024 issue frozen on a fixed clock, in process: the binary
/// only has the system clock, which `built_at` would record.
fn frozen_example() -> Project {
    let p = Project::example();
    let config = p.path("config");
    let cli = Cli::parse_from([
        "digest",
        "--config",
        config.to_str().unwrap(),
        "build",
        DIGEST,
        "--period",
        PERIOD,
    ]);
    let clock = FixedClock(at("2024-08-01T06:00:00Z"));
    digest::cmd::run_with(cli, Arc::new(clock)).unwrap();
    p
}

/// The frozen example issue rendered by `digest preview` with `extra` arguments into `out`.
fn preview(out: &str, extra: &[&str]) -> Vec<u8> {
    let p = frozen_example();
    let mut args = vec!["preview", DIGEST, "--period", PERIOD, "--out", out];
    args.extend_from_slice(extra);
    p.ok(&args);
    p.read(out).into_bytes()
}

#[test]
fn the_frozen_example_issue_is_the_same_bytes() {
    let p = frozen_example();
    let issue = p.read(&format!("digests/{DIGEST}/{PERIOD}/issue.json"));
    insta::assert_binary_snapshot!("example_issue.json", issue.into_bytes());
}

#[test]
fn the_example_html_is_the_same_bytes() {
    insta::assert_binary_snapshot!("example_html.html", preview("email.html", &[]));
}

#[test]
fn the_example_text_is_the_same_bytes() {
    insta::assert_binary_snapshot!("example_text.txt", preview("email.txt", &["--text"]));
}

#[test]
fn a_message_of_the_example_is_the_same_bytes() {
    let p = frozen_example();
    let prepared = p.prepared(DIGEST, PERIOD);
    let ada = address::normalize("ada@example.com").unwrap();
    let to = To {
        subscriber: 1,
        key: &ada.key,
        address: &ada.address,
        name: Some("Ada"),
    };
    let (_, message) = prepared.bytes(&to, at("2024-08-01T08:00:00Z")).unwrap();
    insta::assert_binary_snapshot!("example_message.eml", message);
}
