//! Server faults, one table: every case sends to ten ordinary recipients plus the faulty ones
//! through the scriptable server, and must end with each recipient delivered exactly once or
//! recorded with the server's reply (or, when the server cannot be used at all, everyone pending
//! and a clear error). Prints delivered / expected, retries and time per case.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;

use crate::common::output;
use crate::smtp::{Server, certificate, mail_project, members};

/// What a case must end with.
#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    /// Everyone delivered exactly once.
    AllDelivered,
    /// The faulty recipients recorded as failed with this reply code; the others delivered once.
    FaultyFailed(&'static str),
    /// Nothing sent; everyone still pending; this in the error.
    NothingSent(&'static str),
}

struct Case {
    name: &'static str,
    server: Vec<String>,
    faulty: &'static [&'static str],
    smtp: String,
    env: &'static [(&'static str, &'static str)],
    end: End,
}

#[test]
fn every_server_fault_ends_with_each_recipient_delivered_once_or_recorded() {
    let dir = tempfile::tempdir().unwrap();
    // Only the certificate: the client trusts it; the plain server never offers TLS.
    let (cert, _) = certificate(dir.path());
    let ca = format!("ca_file = {:?}", cert.to_str().unwrap());
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cases = [
        Case {
            name: "greeting 421 (2 connections)",
            server: s(&["--greeting-421", "2"]),
            faulty: &[],
            smtp: String::new(),
            env: &[],
            end: End::AllDelivered,
        },
        Case {
            name: "451 on RCPT for a subset",
            server: vec![],
            faulty: &["tempfail2-a", "tempfail1-b", "tempfail3-c"],
            smtp: String::new(),
            env: &[],
            end: End::AllDelivered,
        },
        Case {
            name: "452 too many recipients",
            server: vec![],
            faulty: &["toomany1-a", "toomany2-b"],
            smtp: String::new(),
            env: &[],
            end: End::AllDelivered,
        },
        Case {
            name: "421 on RCPT (slow down)",
            server: vec![],
            faulty: &["busy-a"],
            smtp: String::new(),
            env: &[],
            end: End::AllDelivered,
        },
        Case {
            name: "550 on one address",
            server: vec![],
            faulty: &["reject-a"],
            smtp: String::new(),
            env: &[],
            end: End::FaultyFailed("550"),
        },
        Case {
            name: "554 on DATA",
            server: vec![],
            faulty: &["spam-a"],
            smtp: String::new(),
            env: &[],
            end: End::FaultyFailed("554"),
        },
        Case {
            name: "disconnect after DATA",
            server: vec![],
            faulty: &["drop-a", "drop-b"],
            smtp: String::new(),
            env: &[],
            end: End::AllDelivered,
        },
        Case {
            name: "accepts, then stalls",
            server: vec![],
            faulty: &["stall-a"],
            smtp: "timeout_secs = 1".into(),
            env: &[],
            end: End::AllDelivered,
        },
        Case {
            name: "TLS required, unavailable",
            server: vec![],
            faulty: &[],
            smtp: ca.clone(),
            env: &[("TLS", "starttls")],
            end: End::NothingSent("does not offer STARTTLS"),
        },
        Case {
            name: "authentication failure",
            server: s(&["--auth", "digest:right"]),
            faulty: &[],
            smtp: String::new(),
            env: &[
                ("DIGEST__SMTP__USERNAME", "digest"),
                ("DIGEST__SMTP__PASSWORD", "wrong-secret"),
            ],
            end: End::NothingSent("login refused"),
        },
    ];
    let mut table = vec![format!(
        "{:<30} {:>9} {:>6} {:>7} {:>6}",
        "case", "delivered", "failed", "retries", "time"
    )];
    for case in cases {
        let args: Vec<&str> = case.server.iter().map(String::as_str).collect();
        let Some(server) = Server::start(&args) else {
            return;
        };
        let mut to: Vec<String> = (0..10)
            .map(|i| format!("ok{i}@faults.example.net"))
            .collect();
        to.extend(
            case.faulty
                .iter()
                .map(|f| format!("{f}@faults.example.net")),
        );
        let smtp = format!("concurrency = 2\nmax_attempts = 4\n{}", case.smtp);
        let p = mail_project(server.port, &smtp, &members(&to));
        let mut command = p.command(&["send", "d", "--period", "2024-07", "--yes", "--json"]);
        for (k, v) in case.env {
            if *k == "TLS" {
                let toml = p
                    .read("config/digest.toml")
                    .replace("host = \"127.0.0.1\"", "host = \"localhost\"");
                p.write(
                    "config/digest.toml",
                    &toml.replace("tls = \"none\"", &format!("tls = {v:?}")),
                );
            } else {
                command.env(k, v);
            }
        }
        let started = Instant::now();
        let out = output(&mut command);
        let seconds = started.elapsed().as_secs_f64();
        let mut delivered: HashMap<String, usize> = HashMap::new();
        for r in server.recipients() {
            *delivered.entry(r).or_default() += 1;
        }
        let status = p.ok(&["status", "d", "--period", "2024-07"]).stdout;
        let summary: Option<Value> = out
            .stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok());
        let field = |k: &str| summary.as_ref().and_then(|s| s[k].as_u64()).unwrap_or(0);
        assert!(
            !out.all().contains("wrong-secret"),
            "{}: a secret was printed",
            case.name
        );
        match case.end {
            End::AllDelivered => {
                assert_eq!(out.code, 0, "{}: {}\n{status}", case.name, out.all());
                assert!(
                    to.iter().all(|a| delivered.get(a) == Some(&1)),
                    "{}: {delivered:?}",
                    case.name
                );
            }
            End::FaultyFailed(code) => {
                assert_eq!(out.code, 1, "{}", case.name);
                for a in &to {
                    let faulty = case.faulty.iter().any(|f| a.starts_with(f));
                    if faulty {
                        assert!(!delivered.contains_key(a), "{}: {a} delivered", case.name);
                        let line = status
                            .lines()
                            .find(|l| l.contains(a.as_str()))
                            .unwrap_or_default();
                        assert!(
                            line.contains("failed") && line.contains(code),
                            "{}: {a}: {status}",
                            case.name
                        );
                    } else {
                        assert_eq!(delivered.get(a), Some(&1), "{}: {a}", case.name);
                    }
                }
            }
            End::NothingSent(why) => {
                assert_eq!(out.code, 1, "{}", case.name);
                assert!(out.all().contains(why), "{}: {}", case.name, out.all());
                assert!(delivered.is_empty(), "{}", case.name);
                assert!(
                    status.contains(&format!(
                        "{} recipients: 0 sent, {} pending",
                        to.len(),
                        to.len()
                    )),
                    "{}: {status}",
                    case.name
                );
            }
        }
        table.push(format!(
            "{:<30} {:>5}/{:<3} {:>6} {:>7} {:>5.1}s",
            case.name,
            delivered.len(),
            to.len(),
            field("failed"),
            field("retries"),
            seconds
        ));
    }
    eprintln!("server faults:\n{}", table.join("\n"));
}
