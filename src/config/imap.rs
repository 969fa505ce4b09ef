//! `[inbound.imap]`: the IMAP mailbox of returned mail that `digest inbound --imap` and the daemon
//! read, over TLS only. The password comes from the environment only
//! (`DIGEST__INBOUND__IMAP__PASSWORD`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ::config::{Map, Value};
use serde::Deserialize;

use super::Secret;
use super::raw::{Checker, one_of};

/// How the IMAP connection is secured. There is no plain-text mode: the password and the
/// readers' addresses never cross the network in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapTls {
    /// TLS from the first byte (IMAPS, port 993).
    Implicit,
    /// STARTTLS, required: a server that does not offer it is an error (port 143).
    StartTls,
}

const IMAP_TLS: &[(&str, ImapTls)] = &[
    ("implicit", ImapTls::Implicit),
    ("starttls", ImapTls::StartTls),
];

/// `[inbound.imap]`, validated.
#[derive(Clone, PartialEq, Eq)]
pub struct Imap {
    /// Server host name (also the name its certificate must carry).
    pub host: String,
    /// Port: default 993 (implicit TLS) or 143 (STARTTLS).
    pub port: u16,
    /// How the connection is secured.
    pub tls: ImapTls,
    /// Login name.
    pub username: String,
    /// Password, from `DIGEST__INBOUND__IMAP__PASSWORD` only; `None` when unset (which `digest
    /// check` reports).
    pub password: Option<Secret>,
    /// The mailbox read (default `INBOX`).
    pub mailbox: String,
    /// The mailbox processed messages are moved to (default `processed`), created if missing.
    pub processed: String,
    /// Extra trusted CA certificates (PEM), besides the bundled web roots.
    pub ca_file: Option<PathBuf>,
    /// Limit on each step (connect, TLS, login, each command).
    pub timeout: Duration,
}

impl Imap {
    /// `imaps://user@host:port/mailbox` (`imap+starttls://…`): names the source in logs and
    /// messages; never the password.
    pub fn describe(&self) -> String {
        let scheme = match self.tls {
            ImapTls::Implicit => "imaps",
            ImapTls::StartTls => "imap+starttls",
        };
        format!(
            "{scheme}://{}@{}:{}/{}",
            self.username, self.host, self.port, self.mailbox
        )
    }
}

impl fmt::Debug for Imap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never prints the password.
        f.write_str(&self.describe())
    }
}

/// `[inbound.imap]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImap {
    host: String,
    port: Option<u16>,
    #[serde(default = "implicit")]
    tls: String,
    username: String,
    password: Option<String>,
    #[serde(default = "inbox")]
    mailbox: String,
    #[serde(default = "processed")]
    processed: String,
    ca_file: Option<String>,
    #[serde(default = "thirty")]
    timeout_secs: u64,
}

fn implicit() -> String {
    "implicit".into()
}

fn inbox() -> String {
    "INBOX".into()
}

fn processed() -> String {
    "processed".into()
}

fn thirty() -> u64 {
    30
}

impl Checker {
    /// Validates `[inbound.imap]`; `table` is the `[inbound]` table, for the problems' origins.
    pub(super) fn imap(&mut self, table: &Map<String, Value>, raw: RawImap) -> Option<Imap> {
        const KEY: &str = "inbound";
        let secrets_ok = self.secrets_from_env_only("inbound.imap", &["password"]);
        let before = self.problem_count();
        let tls = one_of(&raw.tls, IMAP_TLS)
            .map_err(|m| self.field_problem(table, KEY, "imap.tls", m))
            .ok();
        let host = raw.host.trim().to_string();
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
            let msg = format!("{:?} is not a host name", raw.host);
            self.field_problem(table, KEY, "imap.host", msg);
        }
        if raw.port == Some(0) {
            self.field_problem(table, KEY, "imap.port", "must be between 1 and 65535");
        }
        for (field, value) in [
            ("username", &raw.username),
            ("mailbox", &raw.mailbox),
            ("processed", &raw.processed),
        ] {
            if value.trim().is_empty() || value.chars().any(char::is_control) {
                let msg = "must not be empty or hold control characters";
                self.field_problem(table, KEY, &format!("imap.{field}"), msg);
            }
        }
        if raw.mailbox.eq_ignore_ascii_case(&raw.processed) {
            let msg = "must differ from mailbox: processed messages are moved out of it";
            self.field_problem(table, KEY, "imap.processed", msg);
        }
        if !(1..=600).contains(&raw.timeout_secs) {
            let msg = format!(
                "must be between 1 and 600 seconds, not {}",
                raw.timeout_secs
            );
            self.field_problem(table, KEY, "imap.timeout_secs", msg);
        }
        // Missing, it is a problem for `digest check` and the daemon, which read the mailbox,
        // not for every other command.
        let password = raw.password.filter(|p| secrets_ok && !p.is_empty());
        let tls = tls?;
        (self.problem_count() == before).then(|| Imap {
            port: raw.port.unwrap_or(match tls {
                ImapTls::Implicit => 993,
                ImapTls::StartTls => 143,
            }),
            host,
            tls,
            username: raw.username,
            password: password.map(Secret::new),
            mailbox: raw.mailbox,
            processed: raw.processed,
            ca_file: raw.ca_file.map(|f| self.root.join(f)),
            timeout: Duration::from_secs(raw.timeout_secs),
        })
    }
}
