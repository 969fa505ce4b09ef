//! The optional MX check of sign-up addresses (`[signup] check_mx`) against a real DNS server:
//! dnsmasq, started by each test on a free loopback port with the test's own records, asked by the
//! daemon over UDP (and TCP). Confirmation mails are read back from the aiosmtpd server of
//! `signup.rs`.

use std::net::{TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Daemon;
use crate::serve::http_get;
use crate::signup::{project, smtp, subscribe, wait_mails};
use crate::unsubscribe::status_and_body;

/// A dnsmasq answering only for its own records: `withmx.test` has an MX, `aonly.test` only an A
/// record, any other name under `.test` does not exist (NXDOMAIN), `timeout.test` is forwarded to
/// a server that never answers, and every other name is refused (REFUSED).
pub struct Dnsmasq {
    child: Child,
    /// The upstream of timeout.test: bound, never read.
    _silent: UdpSocket,
    /// The port it listens on (UDP and TCP, 127.0.0.1).
    pub port: u16,
}

impl Dnsmasq {
    /// Starts one, or `None` (the test is skipped; with `CI=true` it fails) if dnsmasq is missing.
    pub fn start() -> Option<Dnsmasq> {
        let binary = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let Some(binary) = binary else {
            crate::smtp::unavailable("dnsmasq (Debian dnsmasq-base)");
            return None;
        };
        // A silent UDP socket: the upstream of timeout.test, which never answers.
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let upstream = silent.local_addr().unwrap().port();
        for _ in 0..5 {
            let port = UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let user =
                String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
            let mut child = Command::new(binary)
                .args([
                    "--keep-in-foreground",
                    "--conf-file=/dev/null",
                    "--pid-file=",
                    "--no-hosts",
                    "--no-resolv",
                    "--bind-interfaces",
                    "--listen-address=127.0.0.1",
                    "--log-facility=-",
                    "--log-queries",
                    "--local=/test/",
                    "--mx-host=withmx.test,mail.withmx.test,10",
                    "--host-record=aonly.test,192.0.2.10",
                ])
                .arg(format!("--server=/timeout.test/127.0.0.1#{upstream}"))
                .arg(format!("--port={port}"))
                .arg(format!("--user={}", user.trim()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start dnsmasq");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    let _silent = silent;
                    return Some(Dnsmasq {
                        child,
                        _silent,
                        port,
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("dnsmasq did not start");
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The response `raw` as compared across addresses: its status line, its header names and
/// values but the date, and its body with `address` taken out.
fn answer(raw: &str, address: &str) -> (String, Vec<String>, String) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or("").to_string();
    let headers = lines
        .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
        .map(str::to_string)
        .collect();
    (status, headers, body.replace(address, "ADDRESS"))
}

/// An SMTP server, a dnsmasq, and a project mailing through the one with `check_mx` asking the
/// other, its daemon running; `None` if a server is missing.
fn checking() -> Option<(crate::smtp::Server, Dnsmasq, crate::common::Project, Daemon)> {
    let server = smtp()?;
    let dns = Dnsmasq::start()?;
    let settings = format!("check_mx = true\ndns_server = \"127.0.0.1:{}\"", dns.port);
    let p = project(&server, &settings);
    let daemon = Daemon::start(&p, &[], "digest=info");
    Some((server, dns, p, daemon))
}

#[test]
fn the_mx_check_mails_domains_with_mx_or_an_address_and_answers_alike_for_a_domain_without() {
    // Without the check a typo'd or made-up domain would get a confirmation mail (and a bounce);
    // without the RFC 5321 fallback a domain whose own host takes mail would be refused; and an
    // answer that differed would tell a stranger which domains were refused.
    let Some((server, _dns, _p, mut daemon)) = checking() else {
        return;
    };
    let addr = daemon.addr().to_string();

    let post = |address: &str| {
        let body = format!("email={}&digest=d", address.replace('@', "%40"));
        let raw = crate::unsubscribe::http_post(&addr, "/subscribe", crate::signup::FORM, &body);
        answer(&raw, address)
    };
    let mx = post("ann@withmx.test");
    assert_eq!(mx.0, "HTTP/1.1 200 OK");
    assert!(mx.2.contains("Check your inbox"), "{}", mx.2);
    // Addresses of one length, so that even Content-Length must match.
    assert_eq!(
        post("bobb@aonly.test"),
        mx,
        "A record only: the same answer"
    );
    assert_eq!(post("carol@none.test"), mx, "NXDOMAIN: the same answer");
    daemon.wait_for("the address's domain takes no mail");

    let mails = wait_mails(&server, 2);
    let mut to: Vec<&str> = mails.iter().filter_map(|m| m["rcpt"][0].as_str()).collect();
    to.sort();
    assert_eq!(to, ["ann@withmx.test", "bobb@aonly.test"]);
    assert_eq!(server.accepted().len(), 2, "no mail to carol@none.test");

    let (_, metrics) = status_and_body(&http_get(&addr, "/metrics"));
    for result in ["mx", "address", "no_mail"] {
        let line = format!("digest_signup_domain_checks_total{{result=\"{result}\"}} 1");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
}

#[test]
fn a_failed_mx_lookup_mails_the_reader_anyway_and_is_logged_and_counted() {
    // Refusing on a DNS failure would turn readers away for the site's own DNS trouble, silently.
    let Some((server, _dns, _p, mut daemon)) = checking() else {
        return;
    };
    let addr = daemon.addr().to_string();
    let (status, body) = subscribe(&addr, "email=dan%40refused.example&digest=d");
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let failed = daemon.wait_for("MX check of the address's domain failed");
    assert!(failed.contains("mailing anyway"), "{failed}");
    subscribe(&addr, "email=eve%40timeout.test&digest=d");
    daemon.wait_for("MX check of the address's domain failed");
    let mails = wait_mails(&server, 2);
    let mut to: Vec<&str> = mails.iter().filter_map(|m| m["rcpt"][0].as_str()).collect();
    to.sort();
    assert_eq!(to, ["dan@refused.example", "eve@timeout.test"]);
    let (_, metrics) = status_and_body(&http_get(&addr, "/metrics"));
    let line = "digest_signup_domain_checks_total{result=\"unknown\"} 2";
    assert!(metrics.contains(line), "{line} in\n{metrics}");
}

#[test]
fn without_check_mx_a_domain_that_does_not_exist_is_mailed_as_before() {
    // The check is off by default: turning it on silently would need DNS that some sites lack.
    let Some(server) = smtp() else { return };
    let p = project(&server, "");
    let daemon = Daemon::start(&p, &[], "digest=info");
    subscribe(daemon.addr(), "email=cat%40none.test&digest=d");
    let mails = wait_mails(&server, 1);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["rcpt"][0], "cat@none.test");
}
