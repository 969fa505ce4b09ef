//! Regression tests, in the style of ripgrep's `tests/regression.rs`: each is named after the
//! behaviour it protects, with a line saying what went wrong before.

use crate::common::*;
use crate::smtp::{Server, mail_project, members};

#[test]
fn a_store_created_empty_by_another_command_is_filled_before_the_first_build() {
    // The CLI filled only a store created by this very command, the daemon any store without
    // articles: a store made by `digest suppress` first stayed empty and the build found nothing.
    let p = Project::example();
    p.ok(&["suppress", "add", "someone@example.com"]);
    let out = p.ok(&[
        "build",
        "best-of-distributed-systems",
        "--period",
        "2024-07",
    ]);
    assert_contains(
        &out.all(),
        &[
            "ingesting the configured sources first",
            "froze issue #1 (14 items)",
        ],
    );
}

#[test]
fn duplicates_within_one_list_are_not_called_duplicates_across_lists() {
    // "3 duplicate(s) across lists" was printed when all three were within one list.
    let p = Project::example();
    p.write(
        "config/local.toml",
        "[mail]\nfrom = \"Digest <digest@example.org>\"\n\n[lists.one]\nmembers = [\n  \
         { email = \"a@example.org\" }, { email = \"a@example.org\" },\n  \
         { email = \"A@example.org\" }, { email = \"a@EXAMPLE.org\" },\n]\n\n\
         [digests.best-of-distributed-systems]\nlists = [\"one\"]\n",
    );
    p.ok(&[
        "build",
        "best-of-distributed-systems",
        "--period",
        "2024-07",
    ]);
    let out = p.ok(&[
        "send",
        "best-of-distributed-systems",
        "--period",
        "2024-07",
        "--dry-run",
    ]);
    assert_contains(
        &out.stdout,
        &["4 entries read; 1 new in the ledger, 3 listed more than once"],
    );
    assert!(!out.stdout.contains("across lists"), "{}", out.stdout);
}

#[test]
fn retry_failed_counts_the_rows_it_retries_as_to_send() {
    // `--retry-failed` announced "0 to send … 1 failed earlier" and then sent to them.
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let to = ["spam-ann@mail.example.net", "bob@mail.example.net"].map(String::from);
    let p = mail_project(server.port, "max_attempts = 1", &members(&to));
    let send = |extra: &[&str]| {
        let mut args = vec!["send", "d", "--period", "2024-07", "--yes"];
        args.extend_from_slice(extra);
        p.run(&args)
    };
    assert_contains(&send(&[]).stdout, &["1 sent, 1 failed"]);
    let again = send(&["--retry-failed"]);
    assert_contains(
        &again.stdout,
        &[
            "recipients: 1 to send, 1 already sent",
            "1 failed earlier (retried now)",
        ],
    );
    assert_eq!(
        server.recipients().len(),
        1,
        "bob got one message; ann's was refused twice"
    );
}
