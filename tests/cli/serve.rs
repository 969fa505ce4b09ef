//! `digest preview --serve` answers real HTTP requests with the rendered issue; the daemon's
//! `/readyz` and `/healthz` over real HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use crate::common::{Daemon, Project, TEST_KEYS, WEB_ANY_PORT, config, last_month_pick};

/// Sends one HTTP/1.1 GET and returns the whole response.
pub fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_answers_http_with_the_preview_on_loopback() {
    let p = Project::example();
    let mut child = Command::new(env!("CARGO_BIN_EXE_digest"))
        .args([
            "preview",
            "best-of-distributed-systems",
            "--period",
            "2024-07",
            "--serve",
            "127.0.0.1:0",
        ])
        .current_dir(p.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let addr = stdout
        .lines()
        .map(|l| l.unwrap())
        .find_map(|l| {
            Some(
                l.strip_prefix("serving http://")?
                    .split('/')
                    .next()?
                    .to_string(),
            )
        })
        .expect("a serving line");
    let response = http_get(&addr, "/");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response:.200}");
    assert!(
        response
            .to_lowercase()
            .contains("content-type: text/html; charset=utf-8")
    );
    assert!(response.contains("<h1 class=\"title\""));
    assert!(response.contains("Best of Distributed Systems — July 2024"));
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
}

/// The status line and body of a GET to the daemon.
pub fn get(daemon: &Daemon, path: &str) -> (String, String) {
    let response = http_get(daemon.addr(), path);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    let status = head.lines().next().unwrap_or_default().to_string();
    (status, body.to_string())
}

#[test]
fn readyz_answers_ready_when_nothing_keeps_the_daemon_from_sending() {
    // There was no /readyz: only /healthz, which says nothing about sending.
    let p = Project::new(&config("d", WEB_ANY_PORT));
    let daemon = Daemon::start(&p, &[], "info");
    assert_eq!(
        get(&daemon, "/readyz"),
        ("HTTP/1.1 200 OK".into(), "ready\n".into())
    );
    assert_eq!(
        get(&daemon, "/healthz"),
        ("HTTP/1.1 200 OK".into(), "ok\n".into())
    );
    daemon.signal("TERM");
    assert_eq!(daemon.wait().0, 0);
}

#[test]
fn readyz_answers_503_with_the_reason_when_the_last_run_failed_while_healthz_stays_200() {
    // Every scheduled run failed and /healthz still answered 200 `ok`: nothing said the daemon
    // could not send.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = Project::new(&config(
        "d",
        &format!(
            "schedule = \"* * * * * *\"\nlists = [\"main\"]\n\n\
             [mail]\nfrom = \"Digest <digest@news.example.org>\"\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nmax_attempts = 1\n\
             outage_tolerance_secs = 0\n\n\
             [lists.main]\nmembers = [\"ann@example.org\"]\n{WEB_ANY_PORT}"
        ),
    ));
    let period = last_month_pick(&p);
    let mut daemon = Daemon::start(&p, &[], "info");
    let failed = daemon.wait_for("run failed");
    assert!(failed.contains(&format!("period={period}")), "{failed}");
    let (status, body) = get(&daemon, "/readyz");
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable", "{body}");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 2, "{body}");
    assert_eq!(lines[0], "not ready");
    assert!(
        lines[1].starts_with("digest d: last run failed: sending stopped: "),
        "{body}"
    );
    assert!(!body.contains(TEST_KEYS), "{body}");
    assert_eq!(
        get(&daemon, "/healthz"),
        ("HTTP/1.1 200 OK".into(), "ok\n".into())
    );
    daemon.signal("TERM");
    assert_eq!(daemon.wait().0, 0);
}
