//! A throw-away project folder and a runner for the real `digest` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use digest::config::Config;
use digest::mail::campaign;
use digest::mail::message::Prepared;
use digest::period::Period;
use serde_json::{Value, json};

/// The repository root (for the bundled config, theme and catalogue).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a command printed and how it exited.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout and stderr together, for assertions that do not care which.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A project folder in a temporary directory: `config/`, `templates/`, `catalog/`.
pub struct Project {
    dir: tempfile::TempDir,
}

/// A minimal `digest.toml` with one digest on `tag`, plus `extra` TOML appended.
pub fn config(digest: &str, extra: &str) -> String {
    format!(
        r#"[site]
name = "Test Site"
base_url = "https://news.example.org"

[sources.main]
kind = "jsonl"
path = "catalog/main.jsonl"

[digests.{digest}]
tag = "distributed-systems"
period = "monthly"
size = 5
min_items = 1
{extra}
"#
    )
}

/// One catalogue line.
pub fn article(
    url: &str,
    title: &str,
    source: &str,
    tags: &[&str],
    published: &str,
    upvotes: u64,
) -> String {
    json!({
        "url": url, "title": title, "summary": format!("About {title}."), "kind": "article",
        "source": {"id": source, "name": source.to_uppercase(), "avatar": format!("https://img.example/{source}.png")},
        "tags": tags, "published_at": published, "upvotes": upvotes, "comments": 0
    })
    .to_string()
}

/// Fails the test unless `text` contains every one of `wants`, showing `text`.
pub fn assert_contains(text: &str, wants: &[&str]) {
    for want in wants {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// The headers every message carries exactly once (lower-case), besides its MIME headers.
pub const MESSAGE_HEADERS: &[&str] = &[
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
];

/// Fails unless `text` reads as a plain-text email part: lines of at most 78 columns (only a URL,
/// which is never broken, may run past, alone on its line) and no HTML entities.
pub fn assert_plain_text(text: &str) {
    for line in text.lines() {
        let url_alone = line.trim_start().starts_with("https://") && !line.trim().contains(' ');
        assert!(
            line.chars().count() <= 78 || url_alone,
            "long line: {line:?}"
        );
        for entity in ["&amp;", "&lt;", "&gt;", "&quot;", "&#"] {
            assert!(!line.contains(entity), "HTML entity in {line:?}");
        }
    }
}

impl Project {
    /// A project with the given `digest.toml`, the repository's theme and an empty catalogue.
    pub fn new(digest_toml: &str) -> Project {
        let p = Project {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        p.write("config/digest.toml", digest_toml);
        for file in ["theme.toml", "email.css"] {
            let text = std::fs::read_to_string(repo().join("templates").join(file)).unwrap();
            p.write(&format!("templates/{file}"), &text);
        }
        p.write("catalog/main.jsonl", "");
        p
    }

    /// A copy of the bundled example project.
    pub fn example() -> Project {
        let config = std::fs::read_to_string(repo().join("config/digest.toml")).unwrap();
        let p = Project::new(&config);
        let catalog = std::fs::read_to_string(repo().join("catalog/articles-2024.jsonl")).unwrap();
        p.write("catalog/articles-2024.jsonl", &catalog);
        p
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    /// Writes the catalogue `catalog/main.jsonl` from lines.
    pub fn catalog(&self, lines: &[String]) {
        self.write("catalog/main.jsonl", &(lines.join("\n") + "\n"));
    }

    /// A `digest` command in the project folder, with a test unsubscribe key in its environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_digest"));
        c.args(args)
            .current_dir(self.root())
            .env_remove("DIGEST_CONFIG")
            .env("DIGEST__UNSUBSCRIBE__KEYS", TEST_KEYS)
            .env("NO_COLOR", "1");
        c
    }

    /// Runs `digest` in the project folder.
    pub fn run(&self, args: &[&str]) -> Output {
        output(&mut self.command(args))
    }
}

/// The unsubscribe keys given to every command the tests run.
pub const TEST_KEYS: &str = "t1:test-secret-test-secret-test-secret-0001";

/// Runs a command and collects what it printed.
pub fn output(command: &mut Command) -> Output {
    let out = command.output().expect("running digest");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Project {
    /// Runs `digest` and fails the test unless it exits 0.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(out.code, 0, "digest {args:?} failed:\n{}", out.all());
        out
    }

    /// Runs `digest` and fails the test unless it exits 1.
    pub fn fails(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(out.code, 1, "digest {args:?} should fail:\n{}", out.all());
        out
    }

    /// The frozen issue of `digest` for `period`, parsed.
    pub fn issue(&self, digest: &str, period: &str) -> Value {
        serde_json::from_str(&self.read(&format!("digests/{digest}/{period}/issue.json"))).unwrap()
    }

    /// The frozen issue of `digest` for `period`, prepared for sending as `digest send` prepares
    /// it, with the test unsubscribe keys as the only environment.
    pub fn prepared(&self, digest: &str, period: &str) -> Prepared {
        self.prepared_with(digest, period, &[])
    }

    /// [`Project::prepared`] with the environment variables `env` as well.
    pub fn prepared_with(&self, digest: &str, period: &str, env: &[(&str, &str)]) -> Prepared {
        let mut env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.insert("DIGEST__UNSUBSCRIBE__KEYS".into(), TEST_KEYS.into());
        let config =
            Config::load_with_env(&self.path("config"), Some(env.into_iter().collect())).unwrap();
        let d = config.digest(digest).unwrap();
        let period = Period::parse_as(d.period, period).unwrap();
        let issue = digest::issue::find(&config.paths.digests, &d.id, period)
            .unwrap()
            .unwrap_or_else(|| panic!("{digest} {period} is not frozen"));
        campaign::prepare(&config, d, &issue).unwrap()
    }

    /// Titles of the items of a frozen issue, in order.
    pub fn titles(&self, digest: &str, period: &str) -> Vec<String> {
        self.issue(digest, period)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect()
    }
}

/// `[web]` on a free loopback port, for tests that start the daemon.
pub const WEB_ANY_PORT: &str = "\n[web]\nlisten = \"127.0.0.1:0\"\n";

/// A running `digest daemon`, killed on drop if a test fails before stopping it.
pub struct Daemon {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
    /// Index in `seen` of the first line `wait_for` has not matched past.
    cursor: usize,
    addr: String,
}

/// How long to wait for a log line before calling the daemon stuck (a guard against hanging
/// tests, far above any expected delay).
const STUCK: std::time::Duration = std::time::Duration::from_secs(120);

impl Daemon {
    /// Starts `digest daemon` with `args` in the project and waits until its web server listens.
    pub fn start(p: &Project, args: &[&str], log: &str) -> Daemon {
        Daemon::start_with_env(p, args, log, &[])
    }

    /// [`Daemon::start`] with `env` added to the daemon's environment.
    pub fn start_with_env(p: &Project, args: &[&str], log: &str, env: &[(&str, &str)]) -> Daemon {
        let mut command = p.command(&["daemon"]);
        command.envs(env.iter().copied());
        let mut child = command
            .args(args)
            .envs(env.iter().copied())
            .env("DIGEST_LOG", log)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting digest daemon");
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines() {
                if send.send(line.unwrap_or_default()).is_err() {
                    break;
                }
            }
        });
        let mut d = Daemon {
            child,
            lines,
            seen: Vec::new(),
            cursor: 0,
            addr: String::new(),
        };
        // Found without moving the cursor: what the scheduler logged first is still there to find.
        let (_, line) = d.find("listening on http://", 0);
        d.addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap()
            .to_string();
        d
    }

    /// The web server's `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Returns the next log line (after those already matched) containing `text`, waiting for it;
    /// fails if the daemon exits first.
    pub fn wait_for(&mut self, text: &str) -> String {
        let (at, line) = self.find(text, self.cursor);
        self.cursor = at + 1;
        line
    }

    /// The first log line from index `from` on that contains `text`, and its index.
    fn find(&mut self, text: &str, from: usize) -> (usize, String) {
        let mut at = from;
        loop {
            while at < self.seen.len() {
                if self.seen[at].contains(text) {
                    return (at, self.seen[at].clone());
                }
                at += 1;
            }
            match self.lines.recv_timeout(STUCK) {
                Ok(line) => self.seen.push(line),
                Err(e) => panic!("no log line with {text:?} ({e}):\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Sends `signal` (e.g. "TERM") to the daemon.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal}");
    }

    /// Waits for the daemon to exit; its exit code and every log line it wrote.
    pub fn wait(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.iter());
        (status.code().unwrap_or(-1), self.seen.join("\n"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a catalogue of one article ("Last month's pick") in the monthly period that closed last
/// by the system clock, which is what a real daemon process builds; returns that period.
pub fn last_month_pick(p: &Project) -> digest::period::Period {
    use digest::period::{Period, PeriodKind};
    #[allow(clippy::disallowed_methods)] // the real daemon runs on the system clock
    let period = Period::last_closed(PeriodKind::Monthly, chrono::Utc::now(), chrono_tz::UTC);
    let published = format!(
        "{}T12:00:00Z",
        period.first_day() + chrono::Duration::days(9)
    );
    p.catalog(&[article(
        "https://a.example/1",
        "Last month's pick",
        "a",
        &["distributed-systems"],
        &published,
        10,
    )]);
    period
}
