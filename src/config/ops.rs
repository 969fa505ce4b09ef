//! `[monitoring]` (who gets the run reports) and `[webhooks]` (where events are POSTed, signed
//! with a secret from the environment only).

use std::time::Duration;

use ::config::Value;
use lettre::message::Mailbox;
use serde::Deserialize;

use super::raw::Checker;
use super::{Secret, Sending};

/// Event names a webhook may subscribe to.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "run.started",
    "run.finished",
    "run.failed",
    "unsubscribe",
    "bounce",
    "complaint",
];

/// `[monitoring]`: the operator's side of the daemon.
#[derive(Debug, Clone, Default)]
pub struct Monitoring {
    /// Who gets a run report after each scheduled run and each failure (none: no reports).
    pub operators: Vec<Mailbox>,
}

/// `[webhooks]`: signed HTTPS POSTs of the daemon's events.
#[derive(Debug, Clone)]
pub struct Webhooks {
    /// Where every event is POSTed (https; http only to a loopback address).
    pub urls: Vec<url::Url>,
    /// Signs each POST (HMAC-SHA256): `DIGEST__WEBHOOKS__SECRET`, never from a file.
    pub secret: Secret,
    /// The events sent (`events`, default all of [`WEBHOOK_EVENTS`]).
    pub events: Vec<String>,
    /// Attempts per event and URL before it is dropped (`max_attempts`, default 8).
    pub max_attempts: u32,
    /// The first retry delay, doubled after each failure up to an hour (`retry_secs`, default 10).
    pub retry_base: Duration,
    /// How long one POST may take (`timeout_secs`, default 10).
    pub timeout: Duration,
}

impl Webhooks {
    /// Whether `event` is sent.
    pub fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawMonitoring {
    operators: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhooks {
    urls: Vec<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    events: Option<Vec<String>>,
    #[serde(default = "eight")]
    max_attempts: u32,
    #[serde(default = "ten")]
    retry_secs: u64,
    #[serde(default = "ten")]
    timeout_secs: u64,
}

fn eight() -> u32 {
    8
}

fn ten() -> u64 {
    10
}

impl Checker {
    /// `[monitoring]`; operators need a way to mail them (`[mail] from` and `[smtp]` in `sending`).
    pub(super) fn monitoring(&mut self, value: Option<Value>, sending: &Sending) -> Monitoring {
        let Some(value) = value else {
            return Monitoring::default();
        };
        let Some(table) = self.table("monitoring", value.clone()) else {
            return Monitoring::default();
        };
        let raw: RawMonitoring = self.typed("monitoring", value).unwrap_or_default();
        let operators = raw
            .operators
            .iter()
            .filter_map(|a| self.mailbox(&table, "monitoring", "operators", a))
            .collect::<Vec<_>>();
        if !operators.is_empty() && (sending.mail.is_none() || sending.smtp.is_none()) {
            let msg = "run reports are mailed: they need a [mail] section with `from` and an [smtp] section";
            self.field_problem(&table, "monitoring", "operators", msg);
        }
        Monitoring { operators }
    }

    pub(super) fn webhooks(&mut self, value: Value) -> Option<Webhooks> {
        let secrets_ok = self.secrets_from_env_only("webhooks", &["secret"]);
        let table = self.table("webhooks", value.clone())?;
        let raw: RawWebhooks = self.typed("webhooks", value)?;
        let before = self.problem_count();
        let mut urls = Vec::new();
        if raw.urls.is_empty() {
            self.field_problem(&table, "webhooks", "urls", "must list at least one URL");
        }
        for written in &raw.urls {
            match webhook_url(written) {
                Ok(u) => urls.push(u),
                Err(msg) => self.field_problem(&table, "webhooks", "urls", msg),
            }
        }
        let events = raw
            .events
            .unwrap_or_else(|| WEBHOOK_EVENTS.iter().map(|e| e.to_string()).collect());
        for e in &events {
            if !WEBHOOK_EVENTS.contains(&e.as_str()) {
                let known = WEBHOOK_EVENTS.join(", ");
                let msg = format!("unknown event {e:?} (known: {known})");
                self.field_problem(&table, "webhooks", "events", msg);
            }
        }
        if !(1..=50).contains(&raw.max_attempts) {
            let msg = format!("must be between 1 and 50, not {}", raw.max_attempts);
            self.field_problem(&table, "webhooks", "max_attempts", msg);
        }
        if !(1..=3600).contains(&raw.retry_secs) {
            let msg = format!("must be between 1 and 3600 seconds, not {}", raw.retry_secs);
            self.field_problem(&table, "webhooks", "retry_secs", msg);
        }
        if !(1..=300).contains(&raw.timeout_secs) {
            let msg = format!(
                "must be between 1 and 300 seconds, not {}",
                raw.timeout_secs
            );
            self.field_problem(&table, "webhooks", "timeout_secs", msg);
        }
        let secret = match raw.secret {
            Some(s) if s.len() >= 16 => Some(Secret::new(s)),
            Some(_) => {
                let msg = "DIGEST__WEBHOOKS__SECRET must be at least 16 characters";
                self.field_problem(&table, "webhooks", "secret", msg);
                None
            }
            None if secrets_ok => {
                let msg =
                    "webhooks are signed: set the environment variable DIGEST__WEBHOOKS__SECRET";
                self.field_problem(&table, "webhooks", "secret", msg);
                None
            }
            None => None,
        };
        if !secrets_ok || self.problem_count() > before {
            return None;
        }
        Some(Webhooks {
            urls,
            secret: secret?,
            events,
            max_attempts: raw.max_attempts,
            retry_base: Duration::from_secs(raw.retry_secs),
            timeout: Duration::from_secs(raw.timeout_secs),
        })
    }
}

/// An https URL, or an http one to a loopback address (a local collector, or a test).
fn webhook_url(written: &str) -> Result<url::Url, String> {
    let u =
        url::Url::parse(written.trim()).map_err(|e| format!("{written:?} is not a URL: {e}"))?;
    let loopback = match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match u.scheme() {
        "https" if u.host().is_some() => Ok(u),
        "http" if loopback => Ok(u),
        _ => Err(format!(
            "{written:?}: webhooks go over https (http only to a loopback address)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const SITE: &str = "[site]\nname = \"S\"\nbase_url = \"https://s.example\"\n";

    /// Loads `toml` (after `[site]`) with `env`; the configuration or every problem, one a line.
    fn load(toml: &str, env: &[(&str, &str)]) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("digest.toml"), format!("{SITE}{toml}")).unwrap();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load_with_env(dir.path(), Some(env)).map_err(|e| {
            let lines: Vec<String> = e.0.iter().map(ToString::to_string).collect();
            lines.join("\n")
        })
    }

    #[test]
    fn webhooks_need_a_secret_from_the_environment_and_known_events() {
        // Unsigned webhooks could be forged; a secret in a file ends up in version control.
        let hooks = "[webhooks]\nurls = [\"https://h.example/x\"]\n";
        let secret = ("DIGEST__WEBHOOKS__SECRET", "0123456789abcdef0123");
        let config = load(hooks, &[secret]).unwrap();
        let w = config.webhooks.unwrap();
        assert_eq!(w.secret.expose(), secret.1);
        assert!(w.wants("run.failed") && w.wants("unsubscribe"));
        assert_eq!((w.max_attempts, w.retry_base), (8, Duration::from_secs(10)));
        let e = load(hooks, &[]).unwrap_err();
        assert!(
            e.contains("set the environment variable DIGEST__WEBHOOKS__SECRET"),
            "{e}"
        );
        let in_file = format!("{hooks}secret = \"0123456789abcdef0123\"\n");
        let e = load(&in_file, &[]).unwrap_err();
        assert!(
            e.contains("digest.toml:6: webhooks.secret: secrets come from the environment only"),
            "{e}"
        );
        let unknown = format!("{hooks}events = [\"run.exploded\"]\n");
        let e = load(&unknown, &[secret]).unwrap_err();
        assert!(e.contains("unknown event \"run.exploded\""), "{e}");
    }

    #[test]
    fn operators_need_mail_and_smtp_to_be_reported_to() {
        // Without [mail] or [smtp] every run report would fail, after the daemon had started.
        let ops = "[monitoring]\noperators = [\"ops@example.org\"]\n";
        let e = load(ops, &[]).unwrap_err();
        assert!(
            e.contains("monitoring.operators: run reports are mailed"),
            "{e}"
        );
        let sending = format!(
            "{ops}\n[mail]\nfrom = \"d@example.org\"\n\n[smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\n"
        );
        let config = load(&sending, &[]).unwrap();
        assert_eq!(
            config.monitoring.operators[0].email.to_string(),
            "ops@example.org"
        );
        let e = load("[monitoring]\noperators = [\"not an address\"]\n", &[]).unwrap_err();
        assert!(e.contains("is not an address"), "{e}");
    }

    #[test]
    fn webhook_urls_must_be_https_unless_loopback() {
        // A plain-http URL on the network would send signed events (and readers' unsubscribe
        // notices) in the clear.
        assert!(webhook_url("https://hooks.example.org/digest").is_ok());
        assert!(webhook_url("http://127.0.0.1:9000/x").is_ok());
        assert!(webhook_url("http://[::1]:9000/x").is_ok());
        let e = webhook_url("http://hooks.example.org/digest").unwrap_err();
        assert!(e.contains("over https"), "{e}");
        assert!(webhook_url("ftp://127.0.0.1/").is_err());
    }
}
