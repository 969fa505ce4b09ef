//! Sending settings: `[mail]` (sender identity), `[smtp]` (transport), `[lists.<name>]`
//! (audiences), `[unsubscribe]` and `[dkim]`. Secrets (SMTP credentials, unsubscribe keys, the DKIM
//! key) are accepted from the environment only, never from a file.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ::config::{Map, Value, ValueKind};
use lettre::Address;
use lettre::message::Mailbox;
use lettre::transport::smtp::extension::ClientId;
use serde::Deserialize;

use super::raw::{Checker, one_of};
use crate::model::token::VERP_MAX;

/// Longest local part of an address (RFC 5321).
const MAX_LOCAL_PART: usize = 64;

/// A secret value: never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret from its text (the configuration reads secrets from the environment only).
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret itself; use only where it is needed (authentication, signing).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// `[mail]`: who the digests come from.
#[derive(Debug, Clone)]
pub struct Mail {
    /// From: header and envelope sender.
    pub from: Mailbox,
    /// Optional Reply-To.
    pub reply_to: Option<Mailbox>,
    /// Optional address for `mailto:` unsubscribes, offered beside the https one.
    pub unsubscribe_mailto: Option<Address>,
    /// Optional Feedback-ID header value (Gmail's feedback loop).
    pub feedback_id: Option<String>,
    /// Add a suppression when a server reports an address as non-existent (5.1.x).
    pub suppress_hard_bounces: bool,
    /// Envelope sender (`MAIL FROM`), where bounces go; default the From address.
    pub return_path: Option<Address>,
    /// Whether each message's envelope sender is `local+TOKEN@domain` of the return path, the
    /// token naming the recipient and the issue (VERP).
    pub verp: bool,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// TLS from the first byte (port 465).
    Implicit,
    /// STARTTLS, required: a server that does not offer it is an error (port 587).
    StartTls,
    /// Plain text: only for a loopback host, and only when configured explicitly.
    None,
}

/// `[smtp.rate]`: limits shared by all connections; `None` means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// Messages per second.
    pub per_second: Option<u32>,
    /// Messages per minute.
    pub per_minute: Option<u32>,
    /// Messages per hour.
    pub per_hour: Option<u32>,
    /// Messages per day (counting earlier sends of the last 24 hours).
    pub per_day: Option<u32>,
}

/// SMTP login, from `DIGEST__SMTP__USERNAME` and `DIGEST__SMTP__PASSWORD`.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: Secret,
}

/// `[smtp]`: the relay the messages are handed to.
#[derive(Debug, Clone)]
pub struct Smtp {
    /// Host name or IP address.
    pub host: String,
    /// Port (default by TLS mode: 465, 587 or 25).
    pub port: u16,
    /// Connection protection.
    pub tls: Tls,
    /// Extra PEM root certificate(s) to trust, for private relays.
    pub ca_file: Option<PathBuf>,
    /// Name sent in EHLO: `hello_name`, else a fully qualified default: the host name if it has a
    /// dot, else the domain of `mail.from` (README, "Sending").
    pub hello_name: String,
    /// Timeout of each network step.
    pub timeout: Duration,
    /// Connections (and messages in flight) at once.
    pub concurrency: usize,
    /// Attempts per message per run for transient failures.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, with jitter.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// How long the relay may stay unreachable before a send gives up (`outage_tolerance_secs`,
    /// default 300).
    pub outage_tolerance: Duration,
    /// Rate limits.
    pub rate: RateLimits,
    /// Login, if the relay needs one.
    pub credentials: Option<Credentials>,
}

/// `[lists.<name>]`: an audience, inline members and/or a CSV file.
#[derive(Debug, Clone)]
pub struct List {
    /// The key under `[lists]`.
    pub name: String,
    /// Inline members.
    pub members: Vec<Member>,
    /// CSV file (header row; columns `email`, `name`, optional `status`), streamed.
    pub file: Option<PathBuf>,
    /// Whether readers may join on the daemon's sign-up page (`signup = true`), and what they get.
    pub signup: Option<Signup>,
}

/// `signup = true` on a list: readers join through `/subscribe` after confirming by mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signup {
    /// Digests a new member gets ticked on the form (`default_digests`); `None`: every digest
    /// that goes to the list.
    pub default_digests: Option<Vec<String>>,
}

/// An inline list member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Address as written.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
}

/// Signing algorithm of the DKIM key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimAlgorithm {
    /// RSA-SHA256 (PKCS#1 or PKCS#8 PEM key).
    Rsa,
    /// Ed25519-SHA256 (base64 key).
    Ed25519,
}

/// `[dkim]`: optional signing.
#[derive(Debug, Clone)]
pub struct Dkim {
    /// Signing domain (`d=`).
    pub domain: String,
    /// Selector (`s=`).
    pub selector: String,
    /// Key type.
    pub algorithm: DkimAlgorithm,
    /// Private key, from `DIGEST__DKIM__KEY`.
    pub key: Secret,
    /// A second signature, Ed25519 beside the RSA one (RFC 8463 dual signing).
    pub ed25519: Option<DkimEd25519>,
}

/// `[dkim] ed25519_selector` and `DIGEST__DKIM__ED25519_KEY`: the key of a second signature.
#[derive(Debug, Clone)]
pub struct DkimEd25519 {
    /// Selector (`s=`) of the Ed25519 key.
    pub selector: String,
    /// Private key, from `DIGEST__DKIM__ED25519_KEY`.
    pub key: Secret,
}

/// Everything sending needs; each part optional until a command needs it.
#[derive(Debug, Clone, Default)]
pub struct Sending {
    /// `[mail]`.
    pub mail: Option<Mail>,
    /// `[smtp]`.
    pub smtp: Option<Smtp>,
    /// `[lists]`.
    pub lists: std::collections::BTreeMap<String, List>,
    /// Unsubscribe signing keys, `DIGEST__UNSUBSCRIBE__KEYS` (`id:secret,…`, first signs).
    pub unsubscribe_keys: Option<Secret>,
    /// `[dkim]`.
    pub dkim: Option<Dkim>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    from: String,
    reply_to: Option<String>,
    unsubscribe_mailto: Option<String>,
    feedback_id: Option<String>,
    #[serde(default = "yes")]
    suppress_hard_bounces: bool,
    return_path: Option<String>,
    #[serde(default)]
    verp: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    port: Option<u16>,
    #[serde(default = "starttls")]
    tls: String,
    ca_file: Option<String>,
    hello_name: Option<String>,
    #[serde(default = "thirty")]
    timeout_secs: u64,
    #[serde(default = "four")]
    concurrency: usize,
    #[serde(default = "four")]
    max_attempts: usize,
    #[serde(default = "one")]
    retry_base_secs: f64,
    #[serde(default = "sixty")]
    retry_max_secs: f64,
    #[serde(default = "five_minutes")]
    outage_tolerance_secs: f64,
    username: Option<String>,
    password: Option<String>,
    #[serde(default)]
    rate: RateLimits,
}

fn starttls() -> String {
    "starttls".into()
}
fn thirty() -> u64 {
    30
}
fn four() -> usize {
    4
}
fn one() -> f64 {
    1.0
}
fn sixty() -> f64 {
    60.0
}
fn five_minutes() -> f64 {
    300.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    #[serde(default)]
    members: Vec<Value>,
    file: Option<String>,
    #[serde(default)]
    signup: bool,
    default_digests: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember {
    email: String,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnsubscribe {
    keys: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDkim {
    domain: String,
    selector: String,
    #[serde(default = "rsa")]
    algorithm: String,
    key: String,
    ed25519_selector: Option<String>,
    ed25519_key: Option<String>,
}

fn rsa() -> String {
    "rsa".into()
}

const TLS_MODES: &[(&str, Tls)] = &[
    ("implicit", Tls::Implicit),
    ("starttls", Tls::StartTls),
    ("none", Tls::None),
];
const DKIM_ALGORITHMS: &[(&str, DkimAlgorithm)] = &[
    ("rsa", DkimAlgorithm::Rsa),
    ("ed25519", DkimAlgorithm::Ed25519),
];

/// Whether `host` names this machine's loopback interface.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `name` can stand in EHLO at a server that wants a fully qualified name: a domain name
/// with a dot (not at either end), or an address literal `[…]`.
fn is_fully_qualified(name: &str) -> bool {
    let literal = name.starts_with('[') && name.ends_with(']') && name.len() > 2;
    let domain = name.contains('.')
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    literal || domain
}

/// The EHLO name when `[smtp] hello_name` is not set, as MTAs choose theirs: this machine's host
/// name `host` if it is fully qualified (Postfix's `myhostname`, Exim's `primary_hostname`);
/// otherwise the domain of `mail.from`, which resolves (it receives mail) and which the sender's
/// SPF record covers, rather than Postfix's invented `host.localdomain`; without `[mail]`,
/// `localhost.localdomain`. A short name such as `web1` is what servers with
/// `reject_non_fqdn_helo_hostname` refuse.
fn hello_name(host: Option<&str>, mail: Option<&Mail>) -> String {
    match (host, mail) {
        (Some(host), _) if is_fully_qualified(host) => host.to_string(),
        (_, Some(mail)) => mail.from.email.domain().to_string(),
        _ => "localhost.localdomain".to_string(),
    }
}

impl Checker {
    /// Validates the sending sections removed from the top-level table.
    pub(super) fn sending(&mut self, top: &mut Map<String, Value>) -> Sending {
        let mail = top.remove("mail").and_then(|v| self.mail(v));
        Sending {
            smtp: top.remove("smtp").and_then(|v| self.smtp(v, mail.as_ref())),
            mail,
            lists: self.named("lists", top.remove("lists"), Self::list),
            unsubscribe_keys: top.remove("unsubscribe").and_then(|v| self.unsubscribe(v)),
            dkim: top.remove("dkim").and_then(|v| self.dkim(v)),
        }
    }

    pub(super) fn mailbox(
        &mut self,
        table: &Map<String, Value>,
        key: &str,
        field: &str,
        raw: &str,
    ) -> Option<Mailbox> {
        Mailbox::from_str(raw.trim())
            .map_err(|e| {
                self.field_problem(table, key, field, format!("{raw:?} is not an address: {e}"))
            })
            .ok()
    }

    fn mail(&mut self, value: Value) -> Option<Mail> {
        let table = self.table("mail", value.clone())?;
        let raw: RawMail = self.typed("mail", value)?;
        let before = self.problem_count();
        let from = self.mailbox(&table, "mail", "from", &raw.from);
        let reply_to = raw
            .reply_to
            .and_then(|r| self.mailbox(&table, "mail", "reply_to", &r));
        let unsubscribe_mailto = raw.unsubscribe_mailto.and_then(|a| {
            Address::from_str(a.trim())
                .map_err(|e| {
                    self.field_problem(&table, "mail", "unsubscribe_mailto", format!("{a:?}: {e}"))
                })
                .ok()
        });
        if let Some(f) = &raw.feedback_id
            && (f.is_empty() || !f.chars().all(|c| c.is_ascii_graphic()))
        {
            self.field_problem(
                &table,
                "mail",
                "feedback_id",
                "must be printable ASCII without spaces",
            );
        }
        self.verp = raw.verp;
        if raw.verp && raw.return_path.is_none() {
            let msg = "needs `return_path` (the address bounces go to, e.g. bounces@example.org)";
            self.field_problem(&table, "mail", "verp", msg);
        }
        let return_path = raw
            .return_path
            .and_then(|r| self.return_path(&table, "mail", &r));
        (self.problem_count() == before).then_some(Mail {
            from: from?,
            reply_to,
            unsubscribe_mailto,
            feedback_id: raw.feedback_id,
            suppress_hard_bounces: raw.suppress_hard_bounces,
            return_path,
            verp: raw.verp,
        })
    }

    /// A `return_path` at `key`: an address whose local part leaves room for a VERP token when
    /// `[mail] verp` is on (64 characters at most in all, RFC 5321).
    pub(super) fn return_path(
        &mut self,
        table: &Map<String, Value>,
        key: &str,
        raw: &str,
    ) -> Option<Address> {
        let address = Address::from_str(raw.trim())
            .map_err(|e| self.field_problem(table, key, "return_path", format!("{raw:?}: {e}")))
            .ok()?;
        let room = MAX_LOCAL_PART - 1 - VERP_MAX;
        if self.verp && address.user().len() > room {
            let msg = format!(
                "with verp = true the part before @ must be at most {room} characters, to leave \
                 room for `+` and the token within the 64 of RFC 5321"
            );
            self.field_problem(table, key, "return_path", msg);
            return None;
        }
        Some(address)
    }

    fn smtp(&mut self, value: Value, mail: Option<&Mail>) -> Option<Smtp> {
        let secrets_ok = self.secrets_from_env_only("smtp", &["username", "password"]);
        let table = self.table("smtp", value.clone())?;
        let raw: RawSmtp = self.typed("smtp", value)?;
        let before = self.problem_count();
        let tls = one_of(&raw.tls, TLS_MODES)
            .map_err(|m| self.field_problem(&table, "smtp", "tls", m))
            .ok();
        let host = raw.host.trim().to_string();
        if host.is_empty() {
            self.field_problem(&table, "smtp", "host", "must not be empty");
        }
        if tls == Some(Tls::None) && !is_loopback(&host) {
            let msg = format!(
                "tls = \"none\" sends in plain text and is only allowed for a loopback host, not {host:?}"
            );
            self.field_problem(&table, "smtp", "tls", msg);
        }
        if let Some(name) = &raw.hello_name
            && !is_fully_qualified(name)
        {
            let msg = format!(
                "{name:?} is not a fully qualified host name: write one with a dot \
                 (mail.example.com) or an address literal ([192.0.2.1]); strict servers refuse \
                 a short name (504 5.5.2 need fully-qualified hostname)"
            );
            self.field_problem(&table, "smtp", "hello_name", msg);
        }
        let ranges: [(&str, f64, f64, f64); 6] = [
            ("timeout_secs", raw.timeout_secs as f64, 1.0, 600.0),
            ("concurrency", raw.concurrency as f64, 1.0, 64.0),
            ("max_attempts", raw.max_attempts as f64, 1.0, 20.0),
            ("retry_base_secs", raw.retry_base_secs, 0.001, 3600.0),
            ("retry_max_secs", raw.retry_max_secs, 0.001, 86400.0),
            (
                "outage_tolerance_secs",
                raw.outage_tolerance_secs,
                0.0,
                86400.0,
            ),
        ];
        for (field, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                self.field_problem(
                    &table,
                    "smtp",
                    field,
                    format!("must be between {lo} and {hi}, not {v}"),
                );
            }
        }
        let r = raw.rate;
        for (field, v) in [
            ("per_second", r.per_second),
            ("per_minute", r.per_minute),
            ("per_hour", r.per_hour),
            ("per_day", r.per_day),
        ] {
            if v == Some(0) {
                self.field_problem(
                    &table,
                    "smtp",
                    &format!("rate.{field}"),
                    "must be at least 1 (omit it for no limit)",
                );
            }
        }
        let credentials = match (raw.username, raw.password) {
            _ if !secrets_ok => None,
            (None, None) => None,
            (Some(username), Some(password)) => Some(Credentials {
                username,
                password: Secret(password),
            }),
            _ => {
                let msg = "set both DIGEST__SMTP__USERNAME and DIGEST__SMTP__PASSWORD, or neither";
                self.field_problem(&table, "smtp", "password", msg);
                None
            }
        };
        let tls = tls?;
        (self.problem_count() == before).then(|| Smtp {
            port: raw.port.unwrap_or(match tls {
                Tls::Implicit => 465,
                Tls::StartTls => 587,
                Tls::None => 25,
            }),
            host,
            tls,
            ca_file: raw.ca_file.map(|f| self.root.join(f)),
            hello_name: raw.hello_name.unwrap_or_else(|| {
                // lettre's default client id: gethostname(), else an address literal.
                let host = match ClientId::default() {
                    ClientId::Domain(host) => Some(host),
                    _ => None,
                };
                hello_name(host.as_deref(), mail)
            }),
            timeout: Duration::from_secs(raw.timeout_secs),
            concurrency: raw.concurrency,
            max_attempts: raw.max_attempts as u32,
            retry_base: Duration::from_secs_f64(raw.retry_base_secs),
            retry_max: Duration::from_secs_f64(raw.retry_max_secs),
            outage_tolerance: Duration::from_secs_f64(raw.outage_tolerance_secs),
            rate: raw.rate,
            credentials,
        })
    }

    fn list(&mut self, key: &str, name: &str, value: Value) -> Option<List> {
        let raw: RawList = self.typed(key, value)?;
        let mut members = Vec::with_capacity(raw.members.len());
        for (i, m) in raw.members.into_iter().enumerate() {
            // A member is an address, or a table with `email` and optional `name`.
            let member = match m.kind {
                ValueKind::String(email) => Some(Member { email, name: None }),
                _ => self
                    .typed::<RawMember>(&format!("{key}.members[{i}]"), m)
                    .map(|r| Member {
                        email: r.email,
                        name: r.name,
                    }),
            };
            members.extend(member);
        }
        if members.is_empty() && raw.file.is_none() && !raw.signup {
            self.problem(
                None,
                key.to_string(),
                "a list needs `members`, a CSV `file` or `signup = true`",
            );
        }
        if raw.default_digests.is_some() && !raw.signup {
            self.problem(
                None,
                format!("{key}.default_digests"),
                "only a list with `signup = true` has default digests",
            );
        }
        Some(List {
            name: name.to_string(),
            members,
            file: raw.file.map(|f| self.root.join(f)),
            signup: raw.signup.then_some(Signup {
                default_digests: raw.default_digests,
            }),
        })
    }

    fn unsubscribe(&mut self, value: Value) -> Option<Secret> {
        let secrets_ok = self.secrets_from_env_only("unsubscribe", &["keys"]);
        let table = self.table("unsubscribe", value.clone())?;
        let raw: RawUnsubscribe = self.typed("unsubscribe", value)?;
        if !secrets_ok {
            return None;
        }
        if let Err(e) = crate::model::token::Keys::parse(&raw.keys) {
            // The message never contains the secret itself.
            self.field_problem(&table, "unsubscribe", "keys", e);
            return None;
        }
        Some(Secret(raw.keys))
    }

    fn dkim(&mut self, value: Value) -> Option<Dkim> {
        let secrets_ok = self.secrets_from_env_only("dkim", &["key", "ed25519_key"]);
        let table = self.table("dkim", value.clone())?;
        let raw: RawDkim = self.typed("dkim", value)?;
        let algorithm = one_of(&raw.algorithm, DKIM_ALGORITHMS)
            .map_err(|m| self.field_problem(&table, "dkim", "algorithm", m))
            .ok()?;
        let ed25519 = match (raw.ed25519_selector, raw.ed25519_key) {
            (None, None) => None,
            (Some(_), _) if algorithm == DkimAlgorithm::Ed25519 => {
                let m = "a second signature is Ed25519 beside an RSA one: set algorithm = \"rsa\"";
                self.field_problem(&table, "dkim", "ed25519_selector", m);
                return None;
            }
            (Some(selector), Some(key)) => Some(DkimEd25519 {
                selector: selector.trim().to_string(),
                key: Secret(key),
            }),
            (Some(_), None) => {
                let m = "set DIGEST__DKIM__ED25519_KEY, the key of the Ed25519 signature";
                self.field_problem(&table, "dkim", "ed25519_selector", m);
                return None;
            }
            (None, Some(_)) => {
                let m = "missing: DIGEST__DKIM__ED25519_KEY is set, so the Ed25519 key needs its selector";
                self.field_problem(&table, "dkim", "ed25519_selector", m);
                return None;
            }
        };
        secrets_ok.then(|| Dkim {
            domain: raw.domain.trim().to_ascii_lowercase(),
            selector: raw.selector.trim().to_string(),
            algorithm,
            key: Secret(raw.key),
            ed25519,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(from: &str) -> Mail {
        Mail {
            from: from.parse().unwrap(),
            reply_to: None,
            unsubscribe_mailto: None,
            feedback_id: None,
            suppress_hard_bounces: true,
            return_path: None,
            verp: false,
        }
    }

    #[test]
    fn the_default_hello_name_is_fully_qualified() {
        // The default was the short host name (`vm`), which Postfix's
        // reject_non_fqdn_helo_hostname refuses with 504 5.5.2.
        let from = mail("Digest <digest@news.example.org>");
        assert_eq!(hello_name(Some("vm"), Some(&from)), "news.example.org");
        assert_eq!(
            hello_name(Some("mx1.example.net"), Some(&from)),
            "mx1.example.net"
        );
        assert_eq!(hello_name(None, Some(&from)), "news.example.org");
        assert_eq!(hello_name(Some("vm"), None), "localhost.localdomain");
        for name in ["a.example", "[192.0.2.1]", "[IPv6:2001:db8::1]"] {
            assert!(is_fully_qualified(name), "{name}");
        }
        for name in ["vm", "", ".example", "example.", "a b.example", "[]"] {
            assert!(!is_fully_qualified(name), "{name}");
        }
    }

    #[test]
    fn verp_needs_a_return_path_with_room_for_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let toml = "[site]\nname = \"S\"\nbase_url = \"https://s.example\"\n\n[mail]\n\
                    from = \"d@s.example\"\nverp = true\n\n[digests.d]\ntag = \"t\"\n\
                    period = \"daily\"\nreturn_path = \"a-very-long-bounce-address-name@s.example\"\n";
        std::fs::write(dir.path().join("digest.toml"), toml).unwrap();
        let problems = crate::config::Config::load(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            problems.contains("digest.toml:7: mail.verp: needs `return_path`"),
            "{problems}"
        );
        assert!(
            problems.contains("digest.toml:12: digests.d.return_path: with verp = true the part before @ must be at most 23"),
            "{problems}"
        );
        let ok = crate::config::for_test(
            "[mail]\nfrom = \"d@s.example\"\nreturn_path = \"bounces@s.example\"\nverp = true\n",
        );
        let mail = ok.sending.mail.unwrap();
        assert_eq!(mail.return_path.unwrap().to_string(), "bounces@s.example");
        assert!(mail.verp);
    }
}
