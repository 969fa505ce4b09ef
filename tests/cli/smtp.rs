//! Real SMTP servers for the sending tests: the scriptable aiosmtpd server in
//! tests/servers/smtp_server.py (one per test, on a free port), and the maildev started by
//! scripts/test. Without them a test is skipped, unless `CI=true`, where it fails.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::repo;

/// Whether a missing server must fail the test (in CI) rather than skip it.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (or, in CI, fails) a test whose server is missing.
pub fn unavailable(what: &str) {
    assert!(
        !required(),
        "{what} is not available, and CI=true requires it"
    );
    eprintln!("skipped: {what} is not available (scripts/test installs or starts it)");
}

/// One running scriptable SMTP server.
pub struct Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server with extra `args` (see smtp_server.py), or `None` if aiosmtpd is missing.
    pub fn start(args: &[&str]) -> Option<Server> {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.jsonl");
        let spawned = Command::new("python3")
            .arg(repo().join("tests/servers/smtp_server.py"))
            .arg("--log")
            .arg(&log)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let Ok(mut child) = spawned else {
            unavailable("python3");
            return None;
        };
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(port) = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
        else {
            let _ = child.kill();
            unavailable("the aiosmtpd test server (pip install aiosmtpd)");
            return None;
        };
        Some(Server {
            child,
            port,
            log,
            _dir: dir,
        })
    }

    /// Every logged event.
    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The accepted messages.
    pub fn accepted(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == "accepted")
            .collect()
    }

    /// Recipients of accepted messages, one entry per delivery.
    pub fn recipients(&self) -> Vec<String> {
        let mut r: Vec<String> = self
            .accepted()
            .iter()
            .flat_map(|e| {
                e["rcpt"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
            })
            .collect();
        r.sort();
        r
    }

    /// Connections the server saw.
    pub fn connections(&self) -> usize {
        self.events()
            .iter()
            .filter(|e| e["event"] == "connect")
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate for `localhost` and its key, as (cert path, key path).
pub fn certificate(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success());
    (cert, key)
}

/// A project whose digest `d` goes to the list `main` (`list`: the body of `[lists.main]`) through
/// the server on 127.0.0.1:`port`, with `smtp` added to `[smtp]`; its July 2024 issue is frozen.
pub fn mail_project(port: u16, smtp: &str, list: &str) -> crate::common::Project {
    use crate::common::{Project, article, config};
    let extra = format!(
        "lists = [\"main\"]\n\n[mail]\nfrom = \"Test Digest <digest@news.example.org>\"\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nretry_base_secs = 0.05\nretry_max_secs = 0.2\n{smtp}\n\n\
         [lists.main]\n{list}\n"
    );
    let p = Project::new(&config("d", &extra));
    let tags = &["distributed-systems"];
    p.catalog(&[
        article(
            "https://a.example/1",
            "First \"pick\" & more",
            "a",
            tags,
            "2024-07-10T00:00:00Z",
            20,
        ),
        article(
            "https://b.example/2",
            "Second pick",
            "b",
            tags,
            "2024-07-11T00:00:00Z",
            10,
        ),
    ]);
    p.ok(&["build", "d", "--period", "2024-07"]);
    p
}

/// `members = […]` for `addresses`.
pub fn members(addresses: &[String]) -> String {
    let quoted: Vec<String> = addresses.iter().map(|a| format!("{a:?}")).collect();
    format!("members = [{}]", quoted.join(", "))
}
