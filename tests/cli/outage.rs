//! `digest send` against the scriptable server when the relay or the message is the problem: a
//! relay that comes up late, a message over the server's size limit or refused for its content,
//! and refused recipients on a long-lived connection.

use std::process::Stdio;

use crate::common::{Output, Project, output};
use crate::smtp::{Server, mail_project, members};

fn addresses(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("r{i:02}@outage.example.net"))
        .collect()
}

fn send_command(p: &Project) -> std::process::Command {
    p.command(&["send", "d", "--period", "2024-07", "--yes"])
}

fn status(p: &Project) -> String {
    p.ok(&["status", "d", "--period", "2024-07"]).stdout
}

/// The server's logged events of `kind` (`mail`, `data`, `rset`, `connect`, `accepted`).
fn events(server: &Server, kind: &str) -> Vec<serde_json::Value> {
    server
        .events()
        .into_iter()
        .filter(|e| e["event"] == kind)
        .collect()
}

// Before: with the defaults (4 connections, 4 attempts), four refused first connections counted as
// "4 failed connection attempts in a row" and the send gave up after 1.1 s.
#[test]
fn a_relay_down_for_two_seconds_is_waited_out() {
    // Bind and release a port: nothing listens on it until the server starts there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let to = addresses(6);
    // The default tolerance (5 min) would do; 60 s bounds the test if the server never starts.
    let p = mail_project(port, "outage_tolerance_secs = 60", &members(&to));
    let mut child = send_command(&p)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let Some(server) = Server::start(&["--port", &port.to_string()]) else {
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    let out = child.wait_with_output().unwrap();
    let out = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("6 sent, 0 failed, 0 deferred"),
        "{}",
        out.all()
    );
    let mut delivered = server.recipients();
    delivered.sort();
    assert_eq!(delivered, to, "everyone delivered once");
}

/// Sends to ten recipients over one connection through a server started with `server_args`; the
/// server, the project and the output.
fn refused_message(server_args: &[&str]) -> Option<(Server, Project, Output)> {
    let server = Server::start(server_args)?;
    let p = mail_project(server.port, "concurrency = 1", &members(&addresses(10)));
    let out = output(&mut send_command(&p));
    Some((server, p, out))
}

/// The send stopped after three refusals of the message with `reply`, three recipients failed
/// with a warning each, and the other seven are pending.
fn assert_stopped_after_three(p: &Project, out: &Output, reply: &str) {
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains(&format!(
            "stopped: the server refused the message itself 3 times in a row ({reply})"
        )),
        "{}",
        out.all()
    );
    let s = status(p);
    assert!(
        s.contains("10 recipients: 0 sent, 7 pending, 0 deferred, 3 failed"),
        "{s}"
    );
    let warnings: Vec<&str> = out.stderr.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 3, "{}", out.stderr);
    for (line, to) in warnings.iter().zip(addresses(3)) {
        assert!(line.contains(&to) && line.contains(reply), "{line}");
    }
}

// Before: with Postfix's message_size_limit below the message size, 40 recipients meant 40
// uploads and 40 `552 5.3.4` failures.
#[test]
fn a_message_over_the_servers_size_limit_is_refused_before_upload_and_stops_the_send() {
    let Some((server, p, out)) = refused_message(&["--size-limit", "1000"]) else {
        return;
    };
    assert_stopped_after_three(
        &p,
        &out,
        "552 Error: message size exceeds fixed maximum message size",
    );
    let mails = events(&server, "mail");
    assert_eq!(mails.len(), 3);
    for m in &mails {
        let size: usize = m["arg"]
            .as_str()
            .and_then(|a| a.split("SIZE=").nth(1))
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no SIZE declared: {m}"));
        assert!(size > 1000, "{m}");
    }
    assert!(
        events(&server, "data").is_empty(),
        "no message was uploaded"
    );
}

#[test]
fn a_message_refused_for_its_content_after_upload_stops_the_send() {
    let reply = "554 5.6.0 Content refused";
    let Some((server, p, out)) = refused_message(&["--data-reply", reply]) else {
        return;
    };
    assert_stopped_after_three(&p, &out, reply);
    assert_eq!(events(&server, "data").len(), 3);
    assert!(server.accepted().is_empty());
}

// Before: a 42-recipient send with some rejections opened 21 one-message sessions.
#[test]
fn a_rejected_recipient_keeps_the_connection() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let to: Vec<String> = (0..12)
        .map(|i| match i % 2 {
            0 => format!("reject-{i}@outage.example.net"),
            _ => format!("ok-{i}@outage.example.net"),
        })
        .collect();
    let p = mail_project(server.port, "concurrency = 2", &members(&to));
    let out = output(&mut send_command(&p));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("6 sent, 6 failed"), "{}", out.all());
    assert!(
        server.connections() <= 2,
        "{} connections",
        server.connections()
    );
    assert_eq!(
        events(&server, "rset").len(),
        6,
        "RSET after each refused RCPT"
    );
}
