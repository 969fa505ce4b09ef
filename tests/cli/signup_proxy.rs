//! The client address behind a reverse proxy (`[signup] trusted_proxies`) over real TCP: the
//! per-IP limit and the consent record's network come from `X-Forwarded-For` only when the peer is
//! a trusted proxy, and then from its right-most untrusted entry.

use std::io::{Read, Write};
use std::net::TcpStream;

use digest::store::Store;

use crate::common::{Daemon, Project};
use crate::signup::{FORM, link, project, smtp, text, wait_mails};
use crate::smtp::Server;
use crate::unsubscribe::status_and_body;

/// POSTs `body` to `path` with `X-Forwarded-For: forwarded` (none if empty); status and body.
fn post(addr: &str, path: &str, forwarded: &str, body: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let header = match forwarded {
        "" => String::new(),
        f => format!("X-Forwarded-For: {f}\r\n"),
    };
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {FORM}\r\nContent-Length: {}\r\n{header}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    status_and_body(&response)
}

fn status(response: (String, String)) -> String {
    response.0.trim_start_matches("HTTP/1.1 ").to_string()
}

/// Signs `address` up (from `forwarded`), confirms it from `forwarded` with the link the mail
/// brings (the `n`th mail `server` accepts), and returns the consent network the store recorded.
fn join(
    p: &Project,
    server: &Server,
    addr: &str,
    address: &str,
    n: usize,
    forwarded: &str,
) -> String {
    let body = format!("email={}&digest=d", address.replace('@', "%40"));
    assert_eq!(status(post(addr, "/subscribe", forwarded, &body)), "200 OK");
    let mails = wait_mails(server, n);
    let mail = mails
        .iter()
        .find(|m| m["rcpt"][0] == address)
        .unwrap_or_else(|| panic!("no confirmation for {address}"));
    let confirm = link(&text(mail), "/confirm/");
    let (status, done) = post(addr, &confirm, forwarded, "");
    assert_eq!(status, "HTTP/1.1 200 OK", "{done}");
    let members = Store::open(&p.path("digest.db"))
        .unwrap()
        .members(None)
        .unwrap();
    let member = members.iter().find(|m| m.address == address).unwrap();
    member.consent.ip.clone().unwrap_or_default()
}

#[test]
fn a_forwarded_for_header_from_an_untrusted_peer_is_ignored() {
    // Believing it would let any client pick a fresh rate-limit key per request, and write any
    // network it liked into the consent record.
    let Some(server) = smtp() else { return };
    let p = project(
        &server,
        "per_ip_per_hour = 4\ntrusted_proxies = [\"192.0.2.1\", \"10.0.0.0/8\"]",
    );
    let daemon = Daemon::start(&p, &[], "digest=info");
    let addr = daemon.addr().to_string();
    let consent = join(&p, &server, &addr, "ann@x.example", 1, "198.51.100.9");
    assert_eq!(consent, "127.0.0.0/24", "the TCP peer's network");
    let statuses: Vec<String> = (0..3)
        .map(|i| {
            let body = format!("email=r{i}%40x.example&digest=d");
            status(post(&addr, "/subscribe", &format!("203.0.113.{i}"), &body))
        })
        .collect();
    assert_eq!(
        statuses,
        ["200 OK", "200 OK", "429 Too Many Requests"],
        "one limit for the peer whatever it forwards"
    );
}

#[test]
fn through_a_trusted_proxy_each_forwarded_client_has_its_own_limit_and_network() {
    // Without it every reader behind the proxy would share one limit (and one consent network);
    // taking the left-most entry would let a client escape its limit by writing the header.
    let Some(server) = smtp() else { return };
    let p = project(
        &server,
        "per_ip_per_hour = 2\ntrusted_proxies = [\"127.0.0.0/8\", \"10.0.0.0/8\"]",
    );
    let daemon = Daemon::start(&p, &[], "digest=info");
    let addr = daemon.addr().to_string();
    let sign_up = |forwarded: &str, who: &str| {
        let body = format!("email={who}%40x.example&digest=d");
        status(post(&addr, "/subscribe", forwarded, &body))
    };
    let a = "198.51.100.7";
    assert_eq!(sign_up(a, "a1"), "200 OK");
    assert_eq!(sign_up(&format!("{a}, 10.0.0.3"), "a2"), "200 OK");
    assert_eq!(
        sign_up(a, "a3"),
        "429 Too Many Requests",
        "client A's limit"
    );
    assert_eq!(
        sign_up(&format!("203.0.113.50, {a}"), "a4"),
        "429 Too Many Requests",
        "A wrote an address of its own before the proxy's entry: still A"
    );
    assert_eq!(
        sign_up("", "p1"),
        "200 OK",
        "the proxy itself: its own limit"
    );

    // Client B has a limit of its own, and its network goes into the consent record.
    let consent = join(&p, &server, &addr, "bee@x.example", 4, "203.0.113.9");
    assert_eq!(consent, "203.0.113.0/24");
    assert_eq!(sign_up("203.0.113.9", "b2"), "429 Too Many Requests");
    let v6 = join(
        &p,
        &server,
        &addr,
        "cy@x.example",
        5,
        "2001:db8:1:2::5, 10.0.0.3",
    );
    assert_eq!(v6, "2001:db8:1::/48");
}

#[test]
fn bad_proxy_and_dns_server_settings_name_the_file_line_and_key() {
    // Without it a typo in trusted_proxies would silently trust no proxy (or the wrong one).
    let Some(server) = smtp() else { return };
    let p = project(
        &server,
        "trusted_proxies = [\"10.0.0.0/33\", \"proxy.example\"]\ndns_server = \"localhost:53\"",
    );
    let out = p.fails(&["check"]);
    let line = |key: &str| {
        let toml = p.read("config/digest.toml");
        1 + toml.lines().position(|l| l.starts_with(key)).unwrap()
    };
    let (proxies, dns) = (line("trusted_proxies"), line("dns_server"));
    for want in [
        format!(
            "config/digest.toml:{proxies}: signup.trusted_proxies: \"10.0.0.0/33\": the prefix length must be 0 to 32"
        ),
        format!(
            "config/digest.toml:{proxies}: signup.trusted_proxies: \"proxy.example\" is not an IP address"
        ),
        format!(
            "config/digest.toml:{dns}: signup.dns_server: \"localhost:53\" is not an IP address with an optional port"
        ),
    ] {
        assert!(
            out.stderr.contains(&want),
            "missing {want:?} in:\n{}",
            out.all()
        );
    }
}
