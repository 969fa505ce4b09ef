//! Mail providers' webhooks over real HTTP against the daemon's web side, one test per provider:
//! a valid hard bounce (or complaint) suppresses the reader with the provider recorded as the
//! source; a tampered or unauthenticated one gets 401/403 and changes nothing; a replay changes
//! nothing; an unknown address gets the same answer as a known one. Amazon SNS messages are signed
//! with a test certificate (openssl) served over HTTPS by the test, as SNS serves its own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hmac::Mac as _;

use crate::common::{Daemon, Project, WEB_ANY_PORT, output};
use crate::smtp::{Server, certificate, mail_project, members};

/// The readers each test sends the July issue to.
const READERS: &[&str] = &["gone@x.example", "angry@x.example", "fine@x.example"];

/// Sends an HTTP/1.1 POST with extra `headers`; the status line and the body.
pub fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(s, "{head}\r\n{body}").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

/// A project whose July issue went to [`READERS`] through `server`, with `providers` (TOML) and
/// the web side on any free port.
fn sent(server: &Server, providers: &str) -> Project {
    let readers: Vec<String> = READERS.iter().map(|r| r.to_string()).collect();
    let p = mail_project(server.port, "", &members(&readers));
    p.ok(&["send", "d", "--period", "2024-07", "--yes"]);
    // After the send: a provider's secret is needed by every command once it is configured.
    p.write(
        "config/local.toml",
        &format!("{WEB_ANY_PORT}\n{providers}\n"),
    );
    p
}

/// The suppressions as `address\treason\tdetail` lines.
fn suppressions(p: &Project) -> String {
    let store = digest::store::Store::open(&p.path("digest.db")).unwrap();
    let all = store.suppressions().unwrap();
    all.iter()
        .map(|s| {
            let detail = s.detail.as_deref().unwrap_or("");
            format!("{}\t{}\t{detail}\n", s.address, s.reason.as_str())
        })
        .collect()
}

/// A documented payload from tests/fixtures/providers with its `{{placeholders}}` filled.
pub fn fixture(name: &str, fields: &[(&str, &str)]) -> String {
    let path = crate::common::repo()
        .join("tests/fixtures/providers")
        .join(name);
    let mut text = std::fs::read_to_string(path).unwrap();
    for (k, v) in fields {
        text = text.replace(&format!("{{{{{k}}}}}"), v);
    }
    text
}

fn now_secs() -> i64 {
    #[allow(clippy::disallowed_methods)] // the daemon runs on the system clock
    chrono::Utc::now().timestamp()
}

/// Stops the daemon; its log.
fn stop(daemon: Daemon) -> String {
    daemon.signal("TERM");
    let (code, log) = daemon.wait();
    assert_eq!(code, 0, "{log}");
    log
}

fn start(p: &Project, env: &[(&str, &str)]) -> Daemon {
    Daemon::start_with_env(p, &[], "digest=info", env)
}

fn sign_mailgun(key: &str, ts: &str, token: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{ts}{token}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn mailgun_webhook_suppresses_on_a_signed_bounce_and_refuses_tampered_stale_and_replayed_ones() {
    // Would fail if the HMAC, the timestamp window or the token memory were not checked.
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let key = "key-mailgun-test-signing";
    let p = sent(&server, "[providers.mailgun]\nmax_age_secs = 600\n");
    let daemon = start(&p, &[("DIGEST__PROVIDERS__MAILGUN__SIGNING_KEY", key)]);
    let addr = daemon.addr().to_string();
    let ts = now_secs().to_string();
    let body = |ts: &str, token: &str, id: &str, to: &str, signature: Option<&str>| {
        let signed = sign_mailgun(key, ts, token);
        fixture(
            "mailgun-failed.json",
            &[
                ("TIMESTAMP", ts),
                ("TOKEN", token),
                ("SIGNATURE", signature.unwrap_or(&signed)),
                ("ID", id),
                ("RECIPIENT", to),
            ],
        )
    };
    // Tampered: signed by another key, or a signature for another token.
    let forged = sign_mailgun("another-key", &ts, "t-1");
    let r = post(
        &addr,
        "/hooks/mailgun",
        &[],
        &body(&ts, "t-1", "e-1", "gone@x.example", Some(&forged)),
    );
    assert_eq!(r.0, "HTTP/1.1 403 Forbidden");
    let other = sign_mailgun(key, &ts, "t-other");
    let r = post(
        &addr,
        "/hooks/mailgun",
        &[],
        &body(&ts, "t-1", "e-1", "gone@x.example", Some(&other)),
    );
    assert_eq!(r.0, "HTTP/1.1 403 Forbidden");
    // Stale: correctly signed an hour ago.
    let old = (now_secs() - 3600).to_string();
    let r = post(
        &addr,
        "/hooks/mailgun",
        &[],
        &body(&old, "t-old", "e-old", "gone@x.example", None),
    );
    assert_eq!(r.0, "HTTP/1.1 403 Forbidden");
    assert_eq!(suppressions(&p).lines().count(), 0, "nothing changed");

    // Valid: suppressed, Mailgun recorded as the source.
    let valid = body(&ts, "t-1", "e-1", "gone@x.example", None);
    let first = post(&addr, "/hooks/mailgun", &[], &valid);
    assert_eq!(first, ("HTTP/1.1 200 OK".into(), "ok\n".into()));
    // An unknown address: the same answer.
    let unknown = post(
        &addr,
        "/hooks/mailgun",
        &[],
        &body(&ts, "t-2", "e-2", "nobody@x.example", None),
    );
    assert_eq!(unknown, first);
    // Replayed token: refused as Mailgun documents (406: do not retry), nothing recorded again.
    let replay = post(&addr, "/hooks/mailgun", &[], &valid);
    assert_eq!(replay.0, "HTTP/1.1 406 Not Acceptable");
    let log = stop(daemon);
    assert!(log.contains("webhook refused"), "{log}");
    assert!(!log.contains(key), "the key is never logged");
    let list = suppressions(&p);
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(
        list.contains("gone@x.example\tbounced") && list.contains("mailgun event e-1"),
        "{list}"
    );
}

#[test]
fn postmark_webhook_needs_basic_credentials_and_records_bounces_and_complaints() {
    // Would fail if a request without the right credentials changed anything.
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let p = sent(&server, "[providers.postmark]\nuser = \"pm\"\n");
    let daemon = start(
        &p,
        &[("DIGEST__PROVIDERS__POSTMARK__PASSWORD", "pm-pass-1234")],
    );
    let addr = daemon.addr().to_string();
    let basic = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    let bounce = fixture(
        "postmark-bounce.json",
        &[
            ("ID", "4323372036854775807"),
            ("RECIPIENT", "gone@x.example"),
        ],
    );
    for auth in [
        basic("pm:wrong"),
        basic("other:pm-pass-1234"),
        String::new(),
    ] {
        let headers: Vec<(&str, &str)> = match auth.is_empty() {
            true => vec![],
            false => vec![("Authorization", auth.as_str())],
        };
        let r = post(&addr, "/hooks/postmark", &headers, &bounce);
        assert_eq!(r.0, "HTTP/1.1 401 Unauthorized", "{auth}");
    }
    assert_eq!(suppressions(&p).lines().count(), 0);
    let good = basic("pm:pm-pass-1234");
    let auth = [("Authorization", good.as_str())];
    let first = post(&addr, "/hooks/postmark", &auth, &bounce);
    assert_eq!(first, ("HTTP/1.1 200 OK".into(), "ok\n".into()));
    assert_eq!(
        post(&addr, "/hooks/postmark", &auth, &bounce),
        first,
        "replay"
    );
    let spam = fixture(
        "postmark-spam-complaint.json",
        &[("ID", "77"), ("RECIPIENT", "angry@x.example")],
    );
    assert_eq!(post(&addr, "/hooks/postmark", &auth, &spam), first);
    let unknown = fixture(
        "postmark-bounce.json",
        &[("ID", "78"), ("RECIPIENT", "nobody@x.example")],
    );
    assert_eq!(post(&addr, "/hooks/postmark", &auth, &unknown), first);
    // Providers without a table are not served.
    assert_eq!(
        post(&addr, "/hooks/sendgrid", &[], "[]").0,
        "HTTP/1.1 404 Not Found"
    );
    let log = stop(daemon);
    assert!(
        !log.contains("pm-pass-1234"),
        "the password is never logged"
    );
    let list = suppressions(&p);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(
        list.contains("gone@x.example\tbounced")
            && list.contains("postmark event 4323372036854775807"),
        "{list}"
    );
    assert!(list.contains("angry@x.example\tcomplained"), "{list}");
}

#[path = "../support/sendgrid_key.rs"]
mod sendgrid_key;

#[test]
fn sendgrid_signed_event_webhook_suppresses_hard_bounces_only_and_refuses_tampered_batches() {
    // Would fail if the ECDSA signature were not checked over timestamp and body, or a block
    // (policy) suppressed its reader.
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let key = sendgrid_key::SigningKey::generate();
    let public_key = base64::engine::general_purpose::STANDARD.encode(key.public_key());
    let p = sent(
        &server,
        &format!("[providers.sendgrid]\npublic_key = \"{public_key}\"\n"),
    );
    let daemon = start(&p, &[]);
    let addr = daemon.addr().to_string();
    let ts = now_secs().to_string();
    let batch = fixture(
        "sendgrid-events.json",
        &[
            ("DELIVERED", "fine@x.example"),
            ("RECIPIENT", "gone@x.example"),
            ("BLOCKED", "angry@x.example"),
            ("TIMESTAMP", &ts),
            ("ID", "sg1"),
        ],
    );
    let sign = |ts: &str, body: &str| key.sign(ts, body);
    let signature = sign(&ts, &batch);
    let headers = |sig: &str, ts: &str| {
        vec![
            (
                "X-Twilio-Email-Event-Webhook-Signature".to_string(),
                sig.to_string(),
            ),
            (
                "X-Twilio-Email-Event-Webhook-Timestamp".to_string(),
                ts.to_string(),
            ),
        ]
    };
    let send = |h: Vec<(String, String)>, body: &str| {
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        post(&addr, "/hooks/sendgrid", &h, body)
    };
    let tampered = batch.replace("\"type\": \"blocked\"", "\"type\": \"bounce\"");
    assert_ne!(tampered, batch);
    assert_eq!(
        send(headers(&signature, &ts), &tampered).0,
        "HTTP/1.1 403 Forbidden"
    );
    assert_eq!(send(vec![], &batch).0, "HTTP/1.1 403 Forbidden");
    let old = (now_secs() - 7200).to_string();
    assert_eq!(
        send(headers(&sign(&old, &batch), &old), &batch).0,
        "HTTP/1.1 403 Forbidden"
    );
    assert_eq!(suppressions(&p).lines().count(), 0);
    let first = send(headers(&signature, &ts), &batch);
    assert_eq!(first, ("HTTP/1.1 200 OK".into(), "ok\n".into()));
    assert_eq!(send(headers(&signature, &ts), &batch), first, "replay");
    stop(daemon);
    let list = suppressions(&p);
    assert_eq!(list.lines().count(), 1, "only the hard bounce: {list}");
    assert!(
        list.contains("gone@x.example\tbounced") && list.contains("sendgrid event sg1-bounce"),
        "{list}"
    );
}

/// An HTTPS server (the test certificate) standing in for SNS: serves the signing certificate
/// at any `*.pem` path and records every other path requested (subscription confirmations).
struct SnsEndpoint {
    port: u16,
    requested: Arc<Mutex<Vec<String>>>,
}

impl SnsEndpoint {
    fn start(cert: &Path, key: &Path) -> SnsEndpoint {
        use rustls_pki_types::pem::PemObject as _;
        let pem = std::fs::read(cert).unwrap();
        let chain = vec![rustls_pki_types::CertificateDer::from_pem_slice(&pem).unwrap()];
        let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requested = Arc::new(Mutex::new(Vec::new()));
        let seen = requested.clone();
        // Serves until the test process ends (the port is this test's own).
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let connection = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, stream);
                let mut reader = BufReader::new(&mut tls);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header) {
                        Ok(n) if n > 2 => {}
                        _ => break,
                    }
                }
                let body = if path.ends_with(".pem") {
                    pem.clone()
                } else {
                    seen.lock().unwrap().push(path);
                    b"<ConfirmSubscriptionResponse/>".to_vec()
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes());
                let _ = tls.write_all(&body);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        SnsEndpoint { port, requested }
    }
}

/// An SNS message of `fields` signed (version `version`) with the private key `key`.
fn sns_message(fields: &[(&str, &str)], key: &Path, version: &str) -> String {
    let mut value = serde_json::Map::new();
    for (k, v) in fields {
        value.insert(k.to_string(), v.to_string().into());
    }
    // The canonical string: checked against SNS's documented form in the library's unit tests.
    let canonical = digest::inbound::providers::sns::canonical(&value.clone().into()).unwrap();
    // Signed by openssl (`dgst -sign`, PKCS#1 v1.5), as SNS signs.
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("canonical"), dir.path().join("signature"));
    std::fs::write(&input, &canonical).unwrap();
    let digest = if version == "1" { "-sha1" } else { "-sha256" };
    let status = std::process::Command::new("openssl")
        .args(["dgst", digest, "-sign"])
        .arg(key)
        .arg("-out")
        .arg(&output)
        .arg(&input)
        .status()
        .expect("openssl");
    assert!(status.success());
    let signature = std::fs::read(&output).unwrap();
    value.insert("SignatureVersion".into(), version.into());
    value.insert(
        "Signature".into(),
        base64::engine::general_purpose::STANDARD
            .encode(signature)
            .into(),
    );
    serde_json::Value::Object(value).to_string()
}

#[test]
fn ses_through_sns_verifies_the_signature_with_the_fetched_certificate_and_confirms_allowed_topics()
{
    // Would fail if an SNS message were taken without its RSA signature, from an untrusted
    // certificate URL or topic, twice, or too old; or a subscription were confirmed for a topic
    // not configured.
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let sns = SnsEndpoint::start(&cert, &key);
    let topic = "arn:aws:sns:us-east-1:123456789012:digest-bounces";
    let p = sent(
        &server,
        &format!(
            "[providers.ses]\ntopics = [\"{topic}\"]\ncert_hosts = [\"localhost\"]\nca_file = \"{}\"\n",
            cert.display()
        ),
    );
    let daemon = start(&p, &[]);
    let addr = daemon.addr().to_string();
    let cert_url = format!(
        "https://localhost:{}/SimpleNotificationService-test.pem",
        sns.port
    );
    #[allow(clippy::disallowed_methods)] // the daemon runs on the system clock
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let bounce = fixture("ses-bounce.json", &[("RECIPIENT", "gone@x.example")]);
    let complaint = fixture("ses-complaint.json", &[("RECIPIENT", "angry@x.example")]);
    let notification = |id: &str, message: &str, topic: &str, at: &str, url: &str| {
        vec![
            ("Type".to_string(), "Notification".to_string()),
            ("MessageId".into(), id.into()),
            ("TopicArn".into(), topic.into()),
            ("Message".into(), message.into()),
            ("Timestamp".into(), at.into()),
            ("SigningCertURL".into(), url.into()),
            (
                "UnsubscribeURL".into(),
                "https://localhost/unsubscribe".into(),
            ),
        ]
    };
    let signed = |fields: Vec<(String, String)>, version: &str| {
        let f: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        sns_message(&f, &key, version)
    };
    let hook = |body: &str| post(&addr, "/hooks/ses", &[], body);
    let forbidden = "HTTP/1.1 403 Forbidden";

    // A subscription confirmation for another topic is not followed.
    let confirm = |topic: &str, token: &str| {
        signed(
            vec![
                ("Type".into(), "SubscriptionConfirmation".into()),
                ("MessageId".into(), format!("c-{token}")),
                ("Token".into(), token.into()),
                ("TopicArn".into(), topic.into()),
                ("Message".into(), "You have chosen to subscribe".into()),
                (
                    "SubscribeURL".into(),
                    format!(
                        "https://localhost:{}/?Action=ConfirmSubscription&Token={token}",
                        sns.port
                    ),
                ),
                ("Timestamp".into(), now.clone()),
                ("SigningCertURL".into(), cert_url.clone()),
            ],
            "1",
        )
    };
    assert_eq!(
        hook(&confirm("arn:aws:sns:us-east-1:666:other", "tk-other")).0,
        forbidden
    );
    assert!(sns.requested.lock().unwrap().is_empty());
    assert_eq!(hook(&confirm(topic, "tk-1")).0, "HTTP/1.1 200 OK");
    assert_eq!(
        *sns.requested.lock().unwrap(),
        ["/?Action=ConfirmSubscription&Token=tk-1"],
        "confirmed by GET of its SubscribeURL"
    );

    // Tampered after signing; an untrusted certificate URL (http, other host); too old.
    let valid = signed(notification("n-1", &bounce, topic, &now, &cert_url), "1");
    let tampered = valid.replace("gone@x.example", "fine@x.example");
    assert_ne!(tampered, valid);
    assert_eq!(hook(&tampered).0, forbidden);
    let http_url = cert_url.replace("https://", "http://");
    let evil_url = format!("https://127.0.0.1:{}/cert.pem", sns.port);
    for url in [&http_url, &evil_url] {
        let r = hook(&signed(notification("n-2", &bounce, topic, &now, url), "1"));
        assert_eq!(r.0, forbidden, "{url}");
    }
    let old = "2020-01-01T00:00:00.000Z";
    assert_eq!(
        hook(&signed(
            notification("n-3", &bounce, topic, old, &cert_url),
            "1"
        ))
        .0,
        forbidden
    );
    assert_eq!(suppressions(&p).lines().count(), 0, "nothing changed");

    // Valid (SignatureVersion 1 and 2), and a replay.
    let first = hook(&valid);
    assert_eq!(first, ("HTTP/1.1 200 OK".into(), "ok\n".into()));
    assert_eq!(
        hook(&valid),
        first,
        "a replay answers alike and changes nothing"
    );
    let v2 = signed(notification("n-4", &complaint, topic, &now, &cert_url), "2");
    assert_eq!(hook(&v2), first);
    let unknown = fixture("ses-bounce.json", &[("RECIPIENT", "nobody@x.example")]);
    assert_eq!(
        hook(&signed(
            notification("n-5", &unknown, topic, &now, &cert_url),
            "2"
        )),
        first
    );
    let log = stop(daemon);
    assert!(log.contains("confirmed the SNS subscription"), "{log}");
    let list = suppressions(&p);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(
        list.contains("gone@x.example\tbounced") && list.contains("ses event n-1"),
        "{list}"
    );
    assert!(list.contains("angry@x.example\tcomplained"), "{list}");
}

#[test]
fn provider_secrets_written_in_a_file_are_refused_at_their_line() {
    // Would fail if a Mailgun signing key or a Postmark password could live in a config file.
    let p = Project::new(&crate::common::config("d", ""));
    p.write(
        "config/local.toml",
        "[providers.mailgun]\nsigning_key = \"k\"\n\n[providers.postmark]\npassword = \"p\"\n",
    );
    let out = p.fails(&["check"]);
    crate::common::assert_contains(
        &out.stderr,
        &[
            "config/local.toml:2: providers.mailgun.signing_key: secrets come from the environment \
             only: remove it here and set DIGEST__PROVIDERS__MAILGUN__SIGNING_KEY",
            "config/local.toml:5: providers.postmark.password: secrets come from the environment \
             only: remove it here and set DIGEST__PROVIDERS__POSTMARK__PASSWORD",
        ],
    );
    // From the environment they are taken, and a bad SendGrid key is named.
    p.write(
        "config/local.toml",
        "[providers.mailgun]\n\n[providers.sendgrid]\npublic_key = \"not base64!\"\n",
    );
    let out = output(
        p.command(&["check"])
            .env("DIGEST__PROVIDERS__MAILGUN__SIGNING_KEY", "k"),
    );
    assert_eq!(out.code, 1, "{}", out.all());
    crate::common::assert_contains(
        &out.stderr,
        &["config/local.toml:4: providers.sendgrid.public_key: is not base64"],
    );
    assert!(!out.stderr.contains("mailgun"), "{}", out.stderr);
}
