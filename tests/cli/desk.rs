//! The editorial desk: edits of a frozen issue (`digest edit`), review before sending
//! (`digest approve`, `digest send` refusing, `digest status`, the settings in `digest check`),
//! and the whole review flow with the daemon against maildev.

use serde_json::Value;

use crate::common::{Project, article, assert_contains, config};

const TAGS: &[&str] = &["distributed-systems"];

/// A digest `d` (size 5) with `extra` settings, six July 2024 articles (the sixth ranks last and
/// stays out) and one on another tag; its July issue is frozen.
fn frozen(extra: &str) -> Project {
    let p = Project::new(&config("d", extra));
    let mut lines: Vec<String> = (1..=6)
        .map(|i| {
            article(
                &format!("https://a.example/{i}"),
                &format!("Story {i}"),
                "a",
                TAGS,
                &format!("2024-07-{:02}T10:00:00Z", 10 + i),
                100 - 10 * i,
            )
        })
        .collect();
    lines.push(article(
        "https://other.example/x",
        "Off-tag piece",
        "o",
        &["databases"],
        "2024-06-02T10:00:00Z",
        1,
    ));
    p.catalog(&lines);
    p.ok(&["ingest"]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    p
}

fn edit(p: &Project, args: &[&str]) -> crate::common::Output {
    let mut all = vec!["edit", "d", "--period", "2024-07"];
    all.extend_from_slice(args);
    p.run(&all)
}

/// The issue's item titles and numbers.
fn items(issue: &Value) -> Vec<(u64, String)> {
    issue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["number"].as_u64().unwrap(),
                i["title"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn each_edit_keeps_the_number_rerenders_the_preview_and_is_recorded() {
    // An edit that renumbered the issue, left a stale preview or no trace would mislead editors.
    let p = frozen("");
    let before = p.issue("d", "2024-07");
    assert!(
        before.get("edits").is_none(),
        "a fresh issue.json has no edit fields"
    );
    let number = before["number"].clone();

    let out = edit(&p, &["--drop", "2"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_contains(&out.stdout, &["dropped item 2 (https://a.example/2)"]);
    let preview = p.read("digests/d/2024-07/preview.html");
    assert!(!preview.contains("Story 2") && preview.contains("Story 3"));

    assert_eq!(edit(&p, &["--move", "3", "1"]).code, 0);
    let out = edit(&p, &["--pin", "https://other.example/x", "--at", "2"]);
    assert_eq!(out.code, 0, "{}", out.all());
    p.write(
        "note.md",
        "Two *great* reads.\n\n- see [the talk](https://talk.example/v)\n",
    );
    assert_eq!(
        edit(
            &p,
            &[
                "--note",
                "note.md",
                "--subject",
                "Our July picks",
                "--preheader",
                "Raft, Paxos and a pinned piece"
            ]
        )
        .code,
        0
    );

    let issue = p.issue("d", "2024-07");
    assert_eq!(issue["number"], number);
    assert_eq!(
        items(&issue),
        [
            (1, "Story 4".to_string()),
            (2, "Off-tag piece".into()),
            (3, "Story 1".into()),
            (4, "Story 3".into()),
            (5, "Story 5".into()),
        ]
    );
    assert_eq!(issue["subject"], "Our July picks");
    assert_eq!(issue["preheader"], "Raft, Paxos and a pinned piece");
    let ops: Vec<&str> = issue["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["drop", "move", "pin", "note", "subject", "preheader"]);
    let first = &issue["edits"][0];
    assert_eq!(
        (first["by"].as_str(), first["position"].as_u64()),
        (Some("cli"), Some(2))
    );
    assert!(first["at"].as_str().unwrap().ends_with('Z'), "{first}");

    // HTML: the note above the items, the preheader; text: the note, its link spelled out.
    let preview = p.read("digests/d/2024-07/preview.html");
    let note = preview.find("Two <em").expect("the note in the HTML");
    assert!(
        note < preview.find("Story 4").unwrap(),
        "the note comes first"
    );
    assert_contains(
        &preview,
        &[
            "href=\"https://talk.example/v\"",
            "Raft, Paxos and a pinned piece",
            "<title>",
        ],
    );
    let text = p.ok(&[
        "preview", "d", "--period", "2024-07", "--text", "--out", "p.txt",
    ]);
    assert_eq!(text.code, 0);
    let text = p.read("p.txt");
    assert_contains(
        &text,
        &[
            "Two great reads.",
            "- see the talk <https://talk.example/v>",
        ],
    );
    assert!(text.find("Two great").unwrap() < text.find("Story 4").unwrap());
    // The archive's page of the issue shows the note too.
    p.ok(&["archive", "--out", "site"]);
    let page = p.read("site/archive/d/2024-07/index.html");
    assert!(page.contains("Two <em>great</em> reads."), "{page}");
}

#[test]
fn hostile_markdown_in_a_note_comes_out_inert() {
    // A note is pasted text: script, a javascript: link or an image handler must not survive.
    let p = frozen("");
    p.write(
        "evil.md",
        "<script>alert(1)</script>\n\nHello <img src=x onerror=alert(2)> [go](javascript:alert(3)) \
         ![px](https://tracker.example/p.gif) <a href=\"javascript:alert(4)\" onclick=\"x()\">a</a>\n\n\
         <iframe src=\"https://evil.example\"></iframe>\n",
    );
    let out = edit(&p, &["--note", "evil.md"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let html = p.read("digests/d/2024-07/preview.html");
    p.ok(&[
        "preview", "d", "--period", "2024-07", "--text", "--out", "p.txt",
    ]);
    let text = p.read("p.txt");
    let note_html = &html[html.find("Hello").expect("the note's text stays")..];
    for bad in [
        "<script",
        "alert(",
        "onerror",
        "javascript:",
        "tracker.example",
        "onclick",
        "<iframe",
        "evil.example",
    ] {
        assert!(!note_html.contains(bad), "{bad} in the HTML: {note_html}");
        assert!(!text.contains(bad), "{bad} in the text: {text}");
    }
    assert!(note_html.contains("go") && note_html.contains("px"));
}

#[test]
fn edits_are_refused_when_wrong_unbuilt_or_once_sending_started() {
    // A bad edit must leave issue.json untouched; an edit after sending began would make two
    // versions of one issue.
    let p = frozen(
        "lists = [\"main\"]\n\n[mail]\nfrom = \"digest@news.example.org\"\n\n[lists.main]\nmembers = [\"ann@x.example\"]\n",
    );
    let before = p.read("digests/d/2024-07/issue.json");
    for (args, want) in [
        (
            &["--drop", "9"][..],
            "--drop: no item 9 (the issue has items 1 to 5)",
        ),
        (&["--move", "1", "0"][..], "--move: no item 0"),
        (
            &["--pin", "https://nowhere.example/a"][..],
            "is not in the catalogue",
        ),
        (&["--pin", "https://a.example/1"][..], "is item 1 already"),
        (&["--pin", "javascript:alert(1)"][..], "--pin"),
        (
            &["--pin", "https://other.example/x", "--at", "7"][..],
            "--at: position 7 is outside 1 to 6",
        ),
    ] {
        let out = edit(&p, args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.all());
        assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
    }
    assert_eq!(
        p.read("digests/d/2024-07/issue.json"),
        before,
        "refusals change nothing"
    );
    let unbuilt = p.run(&["edit", "d", "--period", "2024-06", "--drop", "1"]);
    assert_eq!(unbuilt.code, 1);
    assert!(
        unbuilt.stderr.contains("is not built yet"),
        "{}",
        unbuilt.stderr
    );
    let none = p.run(&["edit", "d", "--period", "2024-07"]);
    assert_eq!(
        none.code,
        2,
        "no operation is a usage error: {}",
        none.all()
    );

    p.ok(&["send", "d", "--period", "2024-07", "--yes", "--eml", "out"]);
    let out = edit(&p, &["--drop", "1"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_contains(
        &out.stderr,
        &["has started sending (1 sent, 0 deferred, 0 failed): it can no longer be edited"],
    );
    assert_eq!(p.read("digests/d/2024-07/issue.json"), before);
}

/// Settings of a digest with review and a list, mailing `.eml` files only.
const REVIEWED: &str = "lists = [\"main\"]\nreview = \"required\"\nreviewers = [\"ed@x.example\"]\n\n\
    [mail]\nfrom = \"digest@news.example.org\"\n\n[lists.main]\nmembers = [\"ann@x.example\"]\n";

#[test]
fn send_refuses_an_issue_awaiting_review_until_it_is_approved() {
    // Sending an unapproved issue by hand would defeat the review.
    let p = frozen(REVIEWED);
    let out = p.run(&["send", "d", "--period", "2024-07", "--yes", "--eml", "out"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_contains(
        &out.stderr,
        &[
            "issue #1 of d for 2024-07 awaits review",
            "digest approve d --period 2024-07",
        ],
    );
    assert!(!p.path("out").exists() || std::fs::read_dir(p.path("out")).unwrap().next().is_none());
    // A rehearsal is still allowed, and shows an edited subject.
    assert_eq!(edit(&p, &["--subject", "Reviewed picks"]).code, 0);
    let dry = p.ok(&["send", "d", "--period", "2024-07", "--dry-run"]);
    assert_contains(&dry.stdout, &["subject: Reviewed picks"]);
    let status = p.ok(&["status", "d"]);
    assert_contains(&status.stdout, &["review: AWAITING REVIEW"]);

    let approved = p.ok(&["approve", "d", "--period", "2024-07"]);
    assert_contains(&approved.stdout, &["approved d 2024-07"]);
    let again = p.ok(&["approve", "d", "--period", "2024-07"]);
    assert_contains(&again.stdout, &["was decided already: approved by cli"]);
    let status = p.ok(&["status", "d"]);
    assert_contains(&status.stdout, &["review: approved by cli at"]);
    p.ok(&["send", "d", "--period", "2024-07", "--yes", "--eml", "out"]);
    assert_eq!(std::fs::read_dir(p.path("out")).unwrap().count(), 1);

    // A digest without review has nothing to approve.
    let plain = frozen("");
    let out = plain.run(&["approve", "d", "--period", "2024-07"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("d does not ask for review"),
        "{}",
        out.stderr
    );
}

#[test]
fn check_reports_bad_review_settings_at_file_and_line() {
    // A typo in `review` silently meaning "none" would send unreviewed issues.
    let p = Project::new(&config(
        "d",
        "review = \"maybe\"\n\n[digests.e]\ntag = \"t\"\nperiod = \"monthly\"\nreview = \"required\"\n\
         reviewers = [\"not an address\"]\nreview_deadline = \"soon\"\non_deadline = \"panic\"\n\n\
         [digests.f]\ntag = \"t\"\nperiod = \"monthly\"\nreviewers = [\"ed@x.example\"]\n\n\
         [digests.g]\ntag = \"t\"\nperiod = \"monthly\"\nreview = \"required\"\n",
    ));
    let out = p.run(&["check"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let toml = p.read("config/digest.toml");
    let line = |needle: &str| toml.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let file = "config/digest.toml";
    assert_contains(
        &out.stderr,
        &[
            &format!(
                "{file}:{}: digests.d.review: unknown value \"maybe\" (use one of: none, required)",
                line("review = \"maybe\"")
            ),
            &format!(
                "{file}:{}: digests.e.reviewers: \"not an address\" is not an address",
                line("reviewers = [\"not")
            ),
            &format!(
                "{file}:{}: digests.e.review_deadline:",
                line("review_deadline")
            ),
            &format!(
                "{file}:{}: digests.e.on_deadline: unknown value \"panic\" (use one of: send, skip)",
                line("on_deadline")
            ),
            &format!(
                "{file}:{}: digests.f.reviewers: only applies with review = \"required\"",
                line("reviewers = [\"ed")
            ),
            "digests.g.reviewers: review = \"required\" needs at least one reviewer address",
        ],
    );
}

/// Sends one HTTP/1.1 POST with the form `body` and returns the whole response.
fn http_post(addr: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response
}

/// The `href` of the link whose text is `text` in `html`.
fn link(html: &str, text: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let a = scraper::Selector::parse("a").unwrap();
    doc.select(&a)
        .find(|a| a.text().collect::<String>() == text)
        .and_then(|a| a.value().attr("href"))
        .unwrap_or_else(|| panic!("no link {text:?}"))
        .to_string()
}

#[test]
fn the_daemon_mails_the_reviewers_and_sends_once_approved_by_two_at_once() {
    // A GET that approved, or two approvals that sent twice, would mail readers unreviewed or
    // twice.
    use crate::common::Daemon;
    use crate::maildev::{body, daemon_project, maildev, messages, source};
    use crate::serve::http_get;
    use digest::store::{ReviewState, RunStatus, Store};
    let Some((smtp, web)) = maildev() else { return };
    let (p, port, domain, period) = daemon_project(
        "review",
        &smtp,
        "review = \"required\"\nreviewers = [\"ed@{domain}\", \"kim@{domain}\"]\n\
         review_deadline = \"1h\"",
    );

    let mut daemon = Daemon::start(&p, &[], "digest=debug");
    let waiting = daemon.wait_for("run finished");
    assert!(waiting.contains("status=awaiting_review"), "{waiting}");
    let mailed = messages(&web, &domain);
    let mut to: Vec<String> = mailed
        .iter()
        .map(|m| m["to"][0]["address"].as_str().unwrap().to_string())
        .collect();
    to.sort();
    assert_eq!(
        to,
        [format!("ed@{domain}"), format!("kim@{domain}")],
        "only the reviewers"
    );
    let raw = |who: &str| {
        let m = mailed
            .iter()
            .find(|m| m["to"][0]["address"] == format!("{who}@{domain}"))
            .unwrap();
        assert!(
            m["subject"].as_str().unwrap().starts_with("[Review] "),
            "{m}"
        );
        let raw = source(&web, m);
        let parsed = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        (
            parsed.body_html(0).unwrap().to_string(),
            parsed.body_text(0).unwrap().to_string(),
        )
    };
    let (ed_html, ed_text) = raw("ed");
    let (kim_html, _) = raw("kim");
    // The issue as readers see it, below the links.
    assert!(ed_html.contains("Last month's pick") && ed_text.contains("Last month's pick"));
    let approve_ed = link(&ed_html, "Approve this issue");
    let approve_kim = link(&kim_html, "Approve this issue");
    assert_ne!(
        approve_ed, approve_kim,
        "each reviewer has a link of their own"
    );
    assert!(
        ed_text.contains(&approve_ed),
        "the text part has the link too"
    );
    let prefix = format!("http://127.0.0.1:{port}");
    let path = |url: &str| url.strip_prefix(&prefix).unwrap().to_string();
    assert_eq!(
        link(&ed_html, "Open the draft page (edit it)"),
        format!("{approve_ed}/draft")
    );

    // GETs change nothing.
    let addr = daemon.addr().to_string();
    let page = http_get(&addr, &path(&approve_ed));
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Approve and send") && page.contains(&format!("ed@{domain}")));
    assert!(
        page.to_ascii_lowercase()
            .contains("referrer-policy: no-referrer"),
        "{page}"
    );
    let draft = http_get(&addr, &format!("{}/draft", path(&approve_ed)));
    assert!(draft.starts_with("HTTP/1.1 200") && body(&draft).contains("Last month's pick"));
    let status = http_get(&addr, "/status");
    assert!(
        body(&status).contains("\"awaiting_review\": [\n        {"),
        "{status}"
    );
    let tampered = format!("{}A", path(&approve_ed));
    assert!(http_get(&addr, &tampered).starts_with("HTTP/1.1 404"));
    assert!(http_post(&addr, &tampered, "").starts_with("HTTP/1.1 404"));
    let note = "op=note&note=Read+*this*+first.+%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let edit = format!("{}/edit", path(&approve_kim));
    assert!(http_post(&addr, &format!("{tampered}/edit"), note).starts_with("HTTP/1.1 404"));
    assert!(
        p.issue("d", &period.to_string()).get("note").is_none(),
        "a forged edit changes nothing"
    );
    // A reviewer edits on the draft page: recorded under their address, shown in the draft.
    let edited = http_post(&addr, &edit, note);
    assert!(edited.starts_with("HTTP/1.1 303"), "{edited}");
    let issue = p.issue("d", &period.to_string());
    assert_eq!(
        issue["note"],
        "Read *this* first. <script>alert(1)</script>"
    );
    assert_eq!(issue["edits"][0]["by"], format!("kim@{domain}"));
    let draft = http_get(&addr, &format!("{}/draft", path(&approve_ed)));
    assert!(
        body(&draft).contains("Read <em>this</em> first."),
        "{draft}"
    );
    assert!(!body(&draft).contains("<script>alert"), "{draft}");
    let refused = http_post(&addr, &edit, "op=drop&n=7");
    assert!(
        refused.contains("Not edited: --drop: no item 7"),
        "{refused}"
    );
    let store = Store::open(&p.path("digest.db")).unwrap();
    let run = store.run("d", period).unwrap().unwrap();
    assert_eq!(run.status, RunStatus::AwaitingReview, "{}", run.detail);
    assert_eq!(
        store.review("d", period).unwrap().unwrap().state,
        ReviewState::Awaiting
    );
    assert_eq!(messages(&web, &domain).len(), 2, "no reader mailed yet");

    // Both reviewers press the button at once: one approval, one send.
    let posts: Vec<_> = [path(&approve_ed), path(&approve_kim)]
        .into_iter()
        .map(|url| {
            let addr = addr.clone();
            std::thread::spawn(move || http_post(&addr, &url, ""))
        })
        .collect();
    let answers: Vec<String> = posts.into_iter().map(|t| t.join().unwrap()).collect();
    for a in &answers {
        assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    }
    let approved = answers
        .iter()
        .filter(|a| a.contains("Approved: the issue goes out"))
        .count();
    let unchanged = answers
        .iter()
        .filter(|a| a.contains("Nothing changed"))
        .count();
    assert_eq!((approved, unchanged), (1, 1), "{answers:?}");
    let sent = daemon.wait_for("run finished");
    assert!(
        sent.contains("status=sent") && sent.contains("sent 2, failed 0"),
        "{sent}"
    );
    daemon.wait_for("waiting");
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");
    assert_eq!(log.matches("run started").count(), 2, "{log}");
    let all = messages(&web, &domain);
    let readers: Vec<&str> = all
        .iter()
        .filter_map(|m| m["to"][0]["address"].as_str())
        .filter(|a| a.starts_with("ann@") || a.starts_with("bob@"))
        .collect();
    assert_eq!(readers.len(), 2, "each reader once: {readers:?}");
    let review = store.review("d", period).unwrap().unwrap();
    assert_eq!(review.state, ReviewState::Approved);
    assert!(review.decided_by.unwrap().ends_with(&domain));
}

#[test]
fn an_edited_issue_is_rendered_once_and_spliced_like_any_other() {
    // The note and subject must reach both ways a message is built, identically.
    use digest::mail::{address, message::To};
    let p = Project::example();
    let (d, period) = ("best-of-distributed-systems", "2024-07");
    p.ok(&["build", d, "--period", period]);
    p.write(
        "note.md",
        "A *short* note with [a link](https://n.example/a?b=1&c=2).\n",
    );
    p.ok(&[
        "edit",
        d,
        "--period",
        period,
        "--note",
        "note.md",
        "--subject",
        "Edited: July's best",
    ]);
    let prepared = p.prepared(d, period);
    let date = chrono::DateTime::parse_from_rfc3339("2024-08-01T08:00:00Z")
        .unwrap()
        .to_utc();
    let a = address::normalize("ann@example.com").unwrap();
    let to = To {
        subscriber: 7,
        key: &a.key,
        address: &a.address,
        name: None,
    };
    let (_, fast) = prepared.bytes(&to, date).unwrap();
    let slow = prepared.message(&to, date, false).unwrap().formatted();
    let body = |m: &[u8]| m[m.windows(4).position(|w| w == b"\r\n\r\n").unwrap()..].to_vec();
    assert_eq!(body(&fast), body(&slow), "same bodies");
    let parsed = mail_parser::MessageParser::default().parse(&fast).unwrap();
    assert_eq!(parsed.subject(), Some("Edited: July's best"));
    let html = parsed.body_html(0).unwrap();
    assert!(
        html.contains("A <em>short</em> note with <a href=\"https://n.example/a?b=1&amp;c=2\""),
        "{html}"
    );
    assert!(
        parsed
            .body_text(0)
            .unwrap()
            .contains("A short note with a link <https://n.example/a?b=1&c=2>")
    );
}
