//! One-click unsubscribe over real HTTP against the daemon's web server: both POST encodings
//! suppress, GET does not, a tampered token gets the same answer, and the next send skips the
//! suppressed addresses.

use std::io::{Read, Write};
use std::net::TcpStream;

use digest::model::token::Keys;
use digest::store::Store;

use crate::common::{Daemon, Project, TEST_KEYS, WEB_ANY_PORT, article, config};
use crate::serve::http_get;
use crate::smtp::Server;

/// Sends an HTTP/1.1 POST and returns the whole response.
pub fn http_post(addr: &str, path: &str, content_type: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response
}

pub fn status_and_body(response: &str) -> (String, String) {
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

fn multipart(boundary: &str) -> String {
    format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--{boundary}--\r\n"
    )
}

/// A project whose digest `d` (issue 2024-07 frozen; an August article too) goes to
/// `<name>@x.example` for each of `names` through `server`, its daemon on any free port.
fn built(server: &Server, names: &[&str]) -> Project {
    let members: Vec<String> = names.iter().map(|n| format!("\"{n}@x.example\"")).collect();
    let extra = format!(
        "lists = [\"main\"]\n\n[mail]\nfrom = \"digest@news.example.org\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\n[lists.main]\nmembers = [{}]\n{WEB_ANY_PORT}",
        server.port,
        members.join(", ")
    );
    let p = Project::new(&config("d", &extra));
    let tags = &["distributed-systems"];
    p.catalog(&[
        article(
            "https://a.example/1",
            "July",
            "a",
            tags,
            "2024-07-10T00:00:00Z",
            10,
        ),
        article(
            "https://a.example/2",
            "August",
            "a",
            tags,
            "2024-08-10T00:00:00Z",
            10,
        ),
    ]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    p
}

#[test]
fn one_click_post_suppresses_get_does_not_and_tampered_tokens_look_the_same() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let p = built(&server, &["ann", "bob", "cat", "dan"]);
    p.ok(&["send", "d", "--period", "2024-07", "--yes"]);
    assert_eq!(server.recipients().len(), 4);

    let keys = Keys::parse(TEST_KEYS).unwrap();
    let token = |address: &str| {
        let mut store = Store::open(&p.path("digest.db")).unwrap();
        keys.sign(store.subscriber_id(address).unwrap(), "d")
    };
    let daemon = Daemon::start(&p, &[], "digest=info");
    let addr = daemon.addr().to_string();

    // GET shows a button and changes nothing.
    let (status, body) = status_and_body(&http_get(
        &addr,
        &format!("/unsubscribe/{}", token("cat@x.example")),
    ));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        body.contains("<form method=\"post\">")
            && body.contains("name=\"List-Unsubscribe\" value=\"One-Click\""),
        "{body}"
    );
    // POST, form-urlencoded (as mail providers send it) and multipart.
    let url = |a: &str| format!("/unsubscribe/{}", token(a));
    let form = http_post(
        &addr,
        &url("ann@x.example"),
        "application/x-www-form-urlencoded",
        ONE_CLICK,
    );
    let boundary = "digest-test-boundary";
    let multi = http_post(
        &addr,
        &url("bob@x.example"),
        &format!("multipart/form-data; boundary={boundary}"),
        &multipart(boundary),
    );
    let (form_status, form_body) = status_and_body(&form);
    assert_eq!(form_status, "HTTP/1.1 200 OK", "no redirect");
    assert!(form_body.contains("You are unsubscribed"));
    assert_eq!(
        status_and_body(&multi),
        (form_status.clone(), form_body.clone())
    );
    // Again: idempotent.
    let again = http_post(
        &addr,
        &url("ann@x.example"),
        "application/x-www-form-urlencoded",
        ONE_CLICK,
    );
    assert_eq!(
        status_and_body(&again),
        (form_status.clone(), form_body.clone())
    );
    // Tampered and nonsense tokens: the same answer, nothing recorded.
    let mut tampered = token("dan@x.example");
    tampered.replace_range(10..11, if &tampered[10..11] == "A" { "B" } else { "A" });
    for bad in [tampered.as_str(), "not-a-token", "AAAA"] {
        let r = http_post(
            &addr,
            &format!("/unsubscribe/{bad}"),
            "application/x-www-form-urlencoded",
            ONE_CLICK,
        );
        assert_eq!(
            status_and_body(&r),
            (form_status.clone(), form_body.clone()),
            "{bad}"
        );
    }
    // A POST without the RFC 8058 body is refused, whatever the token.
    let (status, _) = status_and_body(&http_post(
        &addr,
        &url("cat@x.example"),
        "application/x-www-form-urlencoded",
        "x=1",
    ));
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("invalid or tampered token"),
        "invalid tokens are logged:\n{log}"
    );
    assert!(!log.contains(&tampered), "the token is not logged in full");

    let list = p.ok(&["suppress", "list"]).stdout;
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(
        list.contains("ann@x.example\tunsubscribed\td")
            && list.contains("bob@x.example\tunsubscribed\td"),
        "{list}"
    );

    // The next issue skips them.
    p.ok(&["build", "d", "--period", "2024-08"]);
    let out = p.ok(&["send", "d", "--period", "2024-08", "--yes"]);
    assert!(
        out.stdout
            .contains("2 sent, 0 failed, 0 deferred, 2 suppressed"),
        "{}",
        out.stdout
    );
    let mut second: Vec<String> = server.recipients();
    second.sort();
    assert_eq!(
        second,
        [
            "ann@x.example",
            "bob@x.example",
            "cat@x.example",
            "cat@x.example",
            "dan@x.example",
            "dan@x.example"
        ]
    );
}

#[test]
fn a_dry_run_sample_forwarded_for_review_unsubscribes_nobody() {
    // The samples carried the reader's real token: whoever clicked a forwarded sample
    // unsubscribed that reader, although the dry run said the links "are not live".
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let p = built(&server, &["ann"]);
    p.ok(&["send", "d", "--period", "2024-07", "--dry-run"]);
    let dir = p.path("digests/d/2024-07/samples");
    let sample = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let eml = std::fs::read_to_string(sample).unwrap();
    let path = eml
        .lines()
        .find_map(|l| l.strip_prefix("List-Unsubscribe: <https://news.example.org"))
        .and_then(|rest| rest.split('>').next())
        .unwrap_or_else(|| panic!("no List-Unsubscribe URL in:\n{eml}"))
        .to_string();
    let token = path.trim_start_matches("/unsubscribe/");
    assert!(
        Keys::parse(TEST_KEYS).unwrap().verify(token).is_none(),
        "{token}"
    );
    let daemon = Daemon::start(&p, &[], "digest=info");
    let answer = http_post(
        daemon.addr(),
        &path,
        "application/x-www-form-urlencoded",
        ONE_CLICK,
    );
    assert_eq!(
        p.ok(&["suppress", "list"]).stdout,
        "",
        "nobody unsubscribed: {answer}"
    );
    // The real send still carries a live link.
    p.ok(&["send", "d", "--period", "2024-07", "--yes"]);
    assert_eq!(server.recipients(), ["ann@x.example"]);
}
