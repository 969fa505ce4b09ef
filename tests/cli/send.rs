//! `digest send` against a real SMTP server: retries, permanent failures, lost connections, a
//! server that is down, interruption and resume, TLS, login, suppressions and `--dry-run`.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Output, Project, config, output};
use crate::smtp::{Server, certificate, mail_project, members};

/// A project whose digest `d` (issue 2024-07 frozen) goes to `to` through 127.0.0.1:`port`.
fn project(port: u16, smtp_extra: &str, to: &[String]) -> Project {
    let smtp = format!("concurrency = 2\nmax_attempts = 3\n{smtp_extra}");
    mail_project(port, &smtp, &members(to))
}

fn addresses(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| format!("{n}@mail.example.net"))
        .collect()
}

fn send(p: &Project, extra: &[&str]) -> Output {
    let mut args = vec!["send", "d", "--period", "2024-07", "--yes"];
    args.extend_from_slice(extra);
    p.run(&args)
}

fn status(p: &Project) -> String {
    p.ok(&["status", "d", "--period", "2024-07"]).stdout
}

/// How many times each address was delivered.
fn deliveries(server: &Server) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in server.recipients() {
        *counts.entry(r).or_default() += 1;
    }
    counts
}

#[test]
fn a_451_is_retried_and_the_message_delivered_once() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let to = addresses(&["tempfail2-ann", "bob"]);
    let p = project(server.port, "", &to);
    let out = send(&p, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("2 sent, 0 failed, 0 deferred, 0 suppressed, 2 retries"),
        "{}",
        out.stdout
    );
    let d = deliveries(&server);
    assert_eq!(d.get("tempfail2-ann@mail.example.net"), Some(&1));
    assert_eq!(d.get("bob@mail.example.net"), Some(&1));
    // A second run sends nothing.
    let out = send(&p, &[]);
    assert!(out.stdout.contains("nothing to send"), "{}", out.stdout);
    assert_eq!(server.recipients().len(), 2);
}

#[test]
fn a_550_is_recorded_with_the_reply_and_the_others_are_delivered() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let to = addresses(&["reject-ann", "bob", "cat"]);
    let p = project(server.port, "", &to);
    let out = send(&p, &[]);
    assert_eq!(
        out.code, 1,
        "a failed recipient makes the exit code non-zero"
    );
    assert!(
        out.stdout.contains("2 sent, 1 failed, 0 deferred"),
        "{}",
        out.stdout
    );
    assert_eq!(server.recipients(), addresses(&["bob", "cat"]));
    let s = status(&p);
    assert!(
        s.contains("3 recipients: 2 sent, 0 pending, 0 deferred, 1 failed"),
        "{s}"
    );
    assert!(
        s.contains("failed reject-ann@mail.example.net after 1 attempt(s)")
            && s.contains("550")
            && s.contains("5.1.1"),
        "{s}"
    );
    // A hard bounce is suppressed for the future.
    let list = p.ok(&["suppress", "list"]).stdout;
    assert!(
        list.contains("reject-ann@mail.example.net\tbounced\tall digests"),
        "{list}"
    );
    // Permanent failures are not retried, unless asked.
    assert!(send(&p, &[]).stdout.contains("nothing to send"));
    let out = send(&p, &["--retry-failed"]);
    assert!(
        out.stdout
            .contains("0 sent, 0 failed, 0 deferred, 1 suppressed"),
        "{}",
        out.stdout
    );
    assert_eq!(server.recipients().len(), 2, "no message was sent twice");
}

#[test]
fn a_policy_rejection_is_not_taken_for_a_bounce() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let p = project(server.port, "", &addresses(&["spam-ann"]));
    let out = send(&p, &[]);
    assert_eq!(out.code, 1);
    assert!(status(&p).contains("554"), "the server's reply is recorded");
    assert_eq!(
        p.ok(&["suppress", "list"]).stdout,
        "",
        "554 on DATA does not suppress the address"
    );
}

#[test]
fn a_connection_lost_mid_send_is_retried_on_a_new_connection() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let to = addresses(&["ann", "drop-bob", "cat", "dan"]);
    let p = project(server.port, "", &to);
    let out = send(&p, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("4 sent, 0 failed"), "{}", out.stdout);
    let d = deliveries(&server);
    assert!(to.iter().all(|a| d.get(a) == Some(&1)), "{d:?}");
    assert!(server.connections() >= 2, "a new connection after the drop");
}

#[test]
fn a_server_that_is_down_gives_a_clear_error_and_nothing_is_marked_sent() {
    // Bind and release a port so nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = project(
        port,
        "outage_tolerance_secs = 0.5",
        &addresses(&["ann", "bob"]),
    );
    let out = send(&p, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("stopped: the relay was unreachable for 0.")
            && out
                .stdout
                .contains(&format!("127.0.0.1:{port} (plain text): connecting")),
        "{}",
        out.stdout
    );
    let s = status(&p);
    assert!(
        s.contains("2 recipients: 0 sent, 2 pending, 0 deferred, 0 failed"),
        "{s}"
    );
}

#[test]
fn suppressed_addresses_are_skipped_and_counted() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let p = project(server.port, "", &addresses(&["ann", "Bob", "cat"]));
    let other = "[digests.other]\ntag = \"x\"\nperiod = \"monthly\"\n\n[mail]";
    p.write(
        "config/digest.toml",
        &p.read("config/digest.toml").replacen("[mail]", other, 1),
    );
    p.ok(&[
        "suppress",
        "add",
        "BOB@Mail.Example.net",
        "--reason",
        "unsubscribed",
    ]);
    p.ok(&[
        "suppress",
        "add",
        "cat@mail.example.net",
        "--digest",
        "other",
    ]);
    let out = send(&p, &[]);
    assert!(out.stdout.contains("suppressed"), "{}", out.stdout);
    assert_eq!(
        server.recipients(),
        addresses(&["ann", "cat"]),
        "a suppression for another digest does not apply"
    );
    assert!(status(&p).contains("1 suppressed"));
    assert!(
        server.connections() <= 2,
        "connections are reused: at most one per worker"
    );
}

#[test]
fn dry_run_opens_no_connection_and_reports_the_audience() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let mut to = addresses(&["ann", "bob", "ann", "ANN"]);
    to.push("not-an-address".into());
    let p = project(server.port, "[smtp.rate]\nper_second = 1", &to);
    p.ok(&["suppress", "add", "bob@mail.example.net"]);
    let out = p.ok(&["send", "d", "--period", "2024-07", "--dry-run"]);
    let s = &out.stdout;
    for want in [
        "nothing is sent, no connection is opened",
        "audience: 5 entries read; 2 new in the ledger, 2 listed more than once (mailed once)",
        "recipients: 1 to send, 0 already sent, 1 suppressed, 0 failed earlier, 1 invalid, 0 inactive",
        "invalid: lists.main.members[4]: \"not-an-address\" has no @",
        "subject: Best of Distributed Systems — July 2024",
        "message size: ",
        "estimated duration: 0s under the configured rate limits",
        "samples: 1 .eml file(s) in digests/d/2024-07/samples",
    ] {
        assert!(s.contains(want), "missing {want:?} in:\n{s}");
    }
    assert_eq!(server.connections(), 0, "no connection during a dry run");
    let samples: Vec<_> = std::fs::read_dir(p.path("digests/d/2024-07/samples"))
        .unwrap()
        .collect();
    assert_eq!(samples.len(), 1);
    assert!(
        status(&p).contains("0 recipients"),
        "the dry run left the ledger untouched"
    );
    assert!(!s.contains("test-secret"), "no secret printed");
}

#[test]
fn to_sends_one_marked_test_message_outside_the_ledger() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let p = project(server.port, "", &addresses(&["ann"]));
    let out = p.ok(&[
        "send",
        "d",
        "--period",
        "2024-07",
        "--to",
        "editor@news.example.org",
    ]);
    assert!(
        out.stdout
            .contains("sent a test message to editor@news.example.org"),
        "{}",
        out.stdout
    );
    let accepted = server.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0]["subject"],
        "[TEST] Best of Distributed Systems — July 2024"
    );
    assert_eq!(accepted[0]["rcpt"][0], "editor@news.example.org");
    assert!(status(&p).contains("0 recipients"));
}

#[test]
fn sending_needs_a_frozen_issue_and_the_unsubscribe_keys() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let p = project(server.port, "", &addresses(&["ann"]));
    let out = p.run(&["send", "d", "--period", "2024-06", "--yes"]);
    assert!(
        out.stderr.contains("d 2024-06 is not built yet")
            && out.stderr.contains("digest build d --period 2024-06"),
        "{}",
        out.stderr
    );
    let out = output(
        p.command(&["send", "d", "--period", "2024-07", "--yes"])
            .env_remove("DIGEST__UNSUBSCRIBE__KEYS"),
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("no unsubscribe keys: set DIGEST__UNSUBSCRIBE__KEYS"),
        "{}",
        out.stderr
    );
    assert!(server.accepted().is_empty());
}

#[test]
fn without_a_terminal_sending_needs_yes() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let p = project(server.port, "", &addresses(&["ann"]));
    let out = output(
        p.command(&["send", "d", "--period", "2024-07"])
            .stdin(Stdio::null()),
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("pass --yes to send"), "{}", out.stderr);
    assert!(server.accepted().is_empty());
}

#[test]
fn starttls_and_implicit_tls_deliver_with_a_private_ca_and_plain_servers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let (cert_s, key_s) = (cert.to_str().unwrap(), key.to_str().unwrap());
    for mode in ["starttls", "implicit"] {
        let Some(server) = Server::start(&["--mode", mode, "--cert", cert_s, "--key", key_s])
        else {
            return;
        };
        let extra = format!("ca_file = {cert_s:?}");
        let p = project(server.port, &extra, &addresses(&["ann"]));
        let toml = p
            .read("config/digest.toml")
            .replace("host = \"127.0.0.1\"", "host = \"localhost\"");
        p.write(
            "config/digest.toml",
            &toml.replace("tls = \"none\"", &format!("tls = {mode:?}")),
        );
        let out = send(&p, &[]);
        assert_eq!(out.code, 0, "{mode}: {}", out.all());
        assert_eq!(server.recipients(), addresses(&["ann"]), "{mode}");
    }
    // A server without STARTTLS: refused before anything is sent, nothing marked.
    let Some(plain) = Server::start(&[]) else {
        return;
    };
    let p = project(
        plain.port,
        &format!("ca_file = {cert_s:?}"),
        &addresses(&["ann"]),
    );
    let toml = p
        .read("config/digest.toml")
        .replace("host = \"127.0.0.1\"", "host = \"localhost\"");
    p.write(
        "config/digest.toml",
        &toml.replace("tls = \"none\"", "tls = \"starttls\""),
    );
    let out = send(&p, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("does not offer STARTTLS"),
        "{}",
        out.stdout
    );
    assert!(plain.accepted().is_empty());
    assert!(status(&p).contains("0 sent, 1 pending"));
}

#[test]
fn plain_text_to_a_remote_host_is_refused_by_the_configuration() {
    let p =
        Project::new(&(config("d", "") + "[smtp]\nhost = \"smtp.example.com\"\ntls = \"none\"\n"));
    let out = p.run(&["check"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "smtp.tls: tls = \"none\" sends in plain text and is only allowed for a loopback host"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_refused_login_stops_the_send_without_printing_the_secret() {
    let Some(server) = Server::start(&["--auth", "digest:right-password"]) else {
        return;
    };
    let p = project(server.port, "", &addresses(&["ann"]));
    let out = output(
        p.command(&["send", "d", "--period", "2024-07", "--yes"])
            .env("DIGEST__SMTP__USERNAME", "digest")
            .env("DIGEST__SMTP__PASSWORD", "wrong-password"),
    );
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("login refused"), "{}", out.all());
    assert!(
        !out.all().contains("wrong-password"),
        "the password is never printed"
    );
    assert!(status(&p).contains("0 sent, 1 pending"));
    let out = output(
        p.command(&["send", "d", "--period", "2024-07", "--yes"])
            .env("DIGEST__SMTP__USERNAME", "digest")
            .env("DIGEST__SMTP__PASSWORD", "right-password"),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(server.recipients(), addresses(&["ann"]));
}

#[test]
fn a_password_in_a_file_is_refused() {
    let p = Project::new(
        &(config("d", "")
            + "[smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"u\"\npassword = \"hunter2\"\n"),
    );
    let out = p.run(&["check"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("smtp.password: secrets come from the environment only: remove it here and set DIGEST__SMTP__PASSWORD"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2"));
}

/// A CSV list of `n` recipients.
fn csv_list(p: &Project, n: usize) -> Vec<String> {
    let to: Vec<String> = (0..n)
        .map(|i| format!("reader{i:05}@mail.example.net"))
        .collect();
    let mut csv = String::from("email,name\n");
    for (i, a) in to.iter().enumerate() {
        csv.push_str(&format!("{a},Reader {i}\n"));
    }
    p.write("lists/big.csv", &csv);
    let toml = p.read("config/digest.toml");
    let start = toml.find("[lists.main]").unwrap();
    p.write(
        "config/digest.toml",
        &format!("{}[lists.main]\nfile = \"lists/big.csv\"\n", &toml[..start]),
    );
    to
}

#[test]
fn a_send_killed_with_sigkill_resumes_and_loses_nobody() {
    let Some(server) = Server::start(&["--delay-ms", "2"]) else {
        return;
    };
    let p = project(server.port, "", &addresses(&["seed"]));
    let p_toml = p
        .read("config/digest.toml")
        .replace("concurrency = 2", "concurrency = 4");
    p.write("config/digest.toml", &p_toml);
    let to = csv_list(&p, 2000);
    let mut child = p
        .command(&["send", "d", "--period", "2024-07", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while server.accepted().len() < 300 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = server.accepted().len();
    assert!(at_kill < to.len(), "killed partway ({at_kill} delivered)");
    let out = send(&p, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    let d = deliveries(&server);
    let missing: Vec<_> = to.iter().filter(|a| !d.contains_key(*a)).collect();
    assert!(missing.is_empty(), "lost recipients: {missing:?}");
    let duplicates: usize = d.values().map(|n| n - 1).sum();
    eprintln!("killed after {at_kill} deliveries; duplicates after resume: {duplicates} (bound 8)");
    assert!(
        duplicates <= 2 * 4,
        "duplicates {duplicates} exceed 2 × concurrency"
    );
    assert!(status(&p).contains("2000 recipients: 2000 sent"));
}

#[test]
fn sigterm_stops_taking_recipients_and_the_rerun_sends_the_rest_once() {
    let Some(server) = Server::start(&["--delay-ms", "5"]) else {
        return;
    };
    let p = project(server.port, "", &addresses(&["seed"]));
    let to = csv_list(&p, 400);
    let child = p
        .command(&["send", "d", "--period", "2024-07", "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while server.accepted().len() < 50 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(
        stdout.contains("interrupted:") && stdout.contains("run the same command again to resume"),
        "{stdout}"
    );
    let first = server.accepted().len();
    assert!(first < to.len());
    let out = send(&p, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    let d = deliveries(&server);
    assert_eq!(d.len(), to.len(), "everyone got it");
    assert!(
        d.values().all(|&n| n == 1),
        "a clean stop records every in-flight message: no duplicates"
    );
}

#[test]
fn a_title_with_crlf_cannot_inject_a_header() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let p = project(server.port, "", &addresses(&["ann"]));
    let path = "digests/d/2024-07/issue.json";
    let edited = p.read(path).replace(
        "Best of Distributed Systems — July 2024",
        "July\\r\\nBcc: victim@example.com",
    );
    p.write(path, &edited);
    let out = send(&p, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        server.recipients(),
        addresses(&["ann"]),
        "no Bcc recipient appeared"
    );
    assert_eq!(
        server.accepted()[0]["subject"],
        "July Bcc: victim@example.com"
    );
}

#[test]
fn hostile_and_unusual_addresses_are_normalized_reported_or_refused_never_sent_twice() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let p = project(server.port, "", &addresses(&["seed"]));
    let csv = "email,name\n\
        ann@bücher.example,Ann\n\
        ANN@Bücher.Example,Ann again\n\
        \"\"\"john doe\"\"@mail.example.net\",John\n\
        eve@mail.example.net,\"Eve\r\nBcc: victim@example.com\"\n\
        jörg@mail.example.net,Jörg\n\
        not-an-address,Nobody\n\
        a@b@mail.example.net,Two ats\n\
        \"x@mail.example.net\r\nBcc: victim@example.com\",Injector\n";
    p.write("lists/big.csv", csv);
    let toml = p.read("config/digest.toml");
    let start = toml.find("[lists.main]").unwrap();
    p.write(
        "config/digest.toml",
        &format!("{}[lists.main]\nfile = \"lists/big.csv\"\n", &toml[..start]),
    );
    let out = send(&p, &[]);
    let all = out.all();
    assert!(all.contains("3 invalid"), "{all}");
    // Eve's quoted name holds a CR/LF, so her row spans lines 5 and 6.
    assert!(
        all.contains("big.csv:8: \"not-an-address\" has no @"),
        "{all}"
    );
    assert!(
        all.contains("big.csv:9: \"a@b@mail.example.net\" is not a valid address"),
        "{all}"
    );
    assert!(
        all.contains("big.csv:10: ") && all.contains("contains control characters"),
        "{all}"
    );
    assert!(
        all.contains("1 listed more than once"),
        "case variants are one recipient: {all}"
    );
    let got = server.recipients();
    assert!(
        got.contains(&"ann@xn--bcher-kva.example".to_string()),
        "IDN domain in ASCII form: {got:?}"
    );
    assert!(
        got.contains(&"\"john doe\"@mail.example.net".to_string()),
        "{got:?}\n{}",
        status(&p)
    );
    assert!(got.contains(&"eve@mail.example.net".to_string()));
    assert!(
        !got.iter().any(|r| r.contains("victim")),
        "no injected recipient: {got:?}"
    );
    assert_eq!(got.len(), 3, "{got:?}");
    // A non-ASCII local part needs SMTPUTF8, which this server lacks: recorded, not retried.
    let status = status(&p);
    assert!(
        status.contains("failed jörg@mail.example.net after 1 attempt(s)")
            && status.contains("SMTPUTF8"),
        "{status}"
    );
    assert!(
        server
            .accepted()
            .iter()
            .all(|m| !m["subject"].as_str().unwrap().contains('\n'))
    );
}

#[test]
fn a_suppression_csv_is_imported_with_bad_rows_reported_and_removal_works() {
    let p = Project::new(&config("d", ""));
    p.write(
        "unsubs.csv",
        "Email,Reason\nAnn@Example.com,unsubscribed\nbob@example.com,\nnot-an-address,bounced\ncat@example.com,angry\n",
    );
    let out = p.ok(&["suppress", "import", "unsubs.csv", "--reason", "complained"]);
    assert!(
        out.stdout
            .contains("imported 2 suppression(s) from unsubs.csv; 2 row(s) skipped"),
        "{}",
        out.all()
    );
    assert!(
        out.stderr
            .contains("unsubs.csv:4: skipped: \"not-an-address\" has no @"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("unsubs.csv:5: skipped: unknown reason \"angry\""),
        "{}",
        out.stderr
    );
    let list = p.ok(&["suppress", "list"]).stdout;
    assert!(
        list.contains("ann@example.com\tunsubscribed\tall digests"),
        "{list}"
    );
    assert!(
        list.contains("bob@example.com\tcomplained\tall digests"),
        "the default reason: {list}"
    );
    let out = p.ok(&["suppress", "remove", "ANN@example.com"]);
    assert!(
        out.stdout.contains("no longer suppressed: ann@example.com"),
        "{}",
        out.stdout
    );
    assert!(!p.ok(&["suppress", "list"]).stdout.contains("ann@"));
    let out = p.run(&["suppress", "add", "x@example.com", "--reason", "nope"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "unknown reason \"nope\" (use one of: unsubscribed, bounced, complained, manual)"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn the_default_hello_name_is_fully_qualified_so_a_strict_relay_accepts_every_message() {
    // EHLO sent the short host name (e.g. `vm`): a Postfix with reject_non_fqdn_helo_hostname
    // refused every recipient with "504 5.5.2 need fully-qualified hostname".
    let Some(server) = Server::start(&["--strict-helo"]) else {
        return;
    };
    let to = addresses(&["ann", "bob"]);
    let p = project(server.port, "", &to);
    let out = send(&p, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("2 sent, 0 failed"), "{}", out.stdout);
    let names: Vec<String> = server
        .events()
        .iter()
        .filter(|e| e["event"] == "ehlo")
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.is_empty(), "no EHLO logged");
    for name in &names {
        assert!(name.contains('.'), "EHLO {name:?} is not fully qualified");
    }
    // The control: the server refuses a short name, as Postfix does.
    let script = "import smtplib, sys\n\
        s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='vm')\n\
        s.ehlo()\n\
        s.mail('a@news.example.org')\n\
        code, reply = s.rcpt('b@mail.example.net')\n\
        print(code, reply.decode())\n";
    let refused = std::process::Command::new("python3")
        .args(["-c", script, &server.port.to_string()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&refused.stdout).trim(),
        "504 5.5.2 <vm>: Helo command rejected: need fully-qualified hostname",
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // And a configured short name is refused before any connection.
    p.write(
        "config/digest.toml",
        &p.read("config/digest.toml")
            .replace("tls = \"none\"", "tls = \"none\"\nhello_name = \"vm\""),
    );
    let out = p.fails(&["check"]);
    assert!(
        out.stderr
            .contains("smtp.hello_name: \"vm\" is not a fully qualified host name"),
        "{}",
        out.stderr
    );
}
