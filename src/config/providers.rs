//! `[providers]`: the mail providers whose webhooks the daemon's web side takes (bounces and
//! complaints reported over HTTP rather than mailed back). A provider is enabled by its table;
//! its secrets (Postmark's password, Mailgun's signing key) come from the environment only.

use std::path::PathBuf;

use ::config::Value;
use base64::Engine as _;
use serde::Deserialize;

use super::Secret;
use super::raw::Checker;

/// The certificate hosts SNS signs with: `sns.<region>.amazonaws.com`.
pub const DEFAULT_SNS_CERT_HOSTS: &[&str] = &["sns.*.amazonaws.com"];

/// `[providers]`: one table per provider; a provider without one gets 404 on its webhook.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    /// Amazon SES notifications through SNS (`[providers.ses]`).
    pub ses: Option<SesHook>,
    /// Postmark bounce and spam-complaint webhooks (`[providers.postmark]`).
    pub postmark: Option<PostmarkHook>,
    /// Mailgun event webhooks (`[providers.mailgun]`).
    pub mailgun: Option<MailgunHook>,
    /// SendGrid's signed event webhook (`[providers.sendgrid]`).
    pub sendgrid: Option<SendgridHook>,
}

/// `[providers.ses]`: which SNS topics are trusted and where their signing certificates may come
/// from.
#[derive(Debug, Clone)]
pub struct SesHook {
    /// Topic ARNs whose subscriptions are confirmed and whose notifications are taken.
    pub topics: Vec<String>,
    /// Host patterns a `SigningCertURL` or `SubscribeURL` may name (`*` stands for one DNS
    /// label); default [`DEFAULT_SNS_CERT_HOSTS`]. Only https URLs are ever fetched.
    pub cert_hosts: Vec<String>,
    /// An extra PEM root certificate trusted when fetching them (`ca_file`; for a test or a
    /// private endpoint), besides the public web roots.
    pub ca_file: Option<PathBuf>,
    /// How old a message's `Timestamp` may be (`max_age_secs`, default 3600).
    pub max_age: chrono::Duration,
}

/// `[providers.postmark]`: the HTTP basic-auth credentials set in Postmark's webhook URL.
#[derive(Debug, Clone)]
pub struct PostmarkHook {
    /// The user name (`user`, default `postmark`).
    pub user: String,
    /// The password: `DIGEST__PROVIDERS__POSTMARK__PASSWORD`.
    pub password: Secret,
}

/// `[providers.mailgun]`: the webhook signing key and how old a signature may be.
#[derive(Debug, Clone)]
pub struct MailgunHook {
    /// The HTTP webhook signing key: `DIGEST__PROVIDERS__MAILGUN__SIGNING_KEY`.
    pub signing_key: Secret,
    /// How old a signature's timestamp may be (`max_age_secs`, default 900).
    pub max_age: chrono::Duration,
}

/// `[providers.sendgrid]`: the verification key of the signed event webhook.
#[derive(Debug, Clone)]
pub struct SendgridHook {
    /// The ECDSA P-256 public key (`public_key`: the base64 SubjectPublicKeyInfo SendGrid shows),
    /// decoded.
    pub public_key: Vec<u8>,
    /// How old a request's timestamp may be (`max_age_secs`, default 900).
    pub max_age: chrono::Duration,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawProviders {
    ses: Option<RawSes>,
    postmark: Option<RawPostmark>,
    mailgun: Option<RawMailgun>,
    sendgrid: Option<RawSendgrid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSes {
    #[serde(default)]
    topics: Vec<String>,
    cert_hosts: Option<Vec<String>>,
    ca_file: Option<String>,
    max_age_secs: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPostmark {
    user: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMailgun {
    signing_key: Option<String>,
    max_age_secs: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSendgrid {
    public_key: String,
    max_age_secs: Option<u32>,
}

impl Checker {
    pub(super) fn providers(&mut self, value: Option<Value>) -> Providers {
        let secrets_ok =
            self.secrets_from_env_only("providers", &["postmark.password", "mailgun.signing_key"]);
        let Some(value) = value else {
            return Providers::default();
        };
        let Some(table) = self.table("providers", value.clone()) else {
            return Providers::default();
        };
        let Some(raw) = self.typed::<RawProviders>("providers", value) else {
            return Providers::default();
        };
        let age = |field: &str, written: Option<u32>, default: u32, this: &mut Checker| {
            let secs = written.unwrap_or(default);
            if !(1..=86_400).contains(&secs) {
                let msg = format!("must be between 1 and 86400 seconds, not {secs}");
                this.field_problem(&table, "providers", field, msg);
            }
            chrono::Duration::seconds(i64::from(secs))
        };
        let ses = raw.ses.map(|s| SesHook {
            max_age: age("ses.max_age_secs", s.max_age_secs, 3600, self),
            topics: s.topics.iter().map(|t| t.trim().to_string()).collect(),
            cert_hosts: s.cert_hosts.unwrap_or_else(|| {
                DEFAULT_SNS_CERT_HOSTS
                    .iter()
                    .map(|h| h.to_string())
                    .collect()
            }),
            ca_file: s.ca_file.map(|f| self.root.join(f)),
        });
        let postmark = raw.postmark.and_then(|p| {
            let Some(password) = p.password.filter(|p| !p.is_empty()) else {
                let msg = "missing: set DIGEST__PROVIDERS__POSTMARK__PASSWORD";
                self.field_problem(&table, "providers", "postmark.password", msg);
                return None;
            };
            Some(PostmarkHook {
                user: p.user.unwrap_or_else(|| "postmark".into()),
                password: Secret::new(password),
            })
        });
        let mailgun = raw.mailgun.and_then(|m| {
            let max_age = age("mailgun.max_age_secs", m.max_age_secs, 900, self);
            let Some(key) = m.signing_key.filter(|k| !k.is_empty()) else {
                let msg = "missing: set DIGEST__PROVIDERS__MAILGUN__SIGNING_KEY";
                self.field_problem(&table, "providers", "mailgun.signing_key", msg);
                return None;
            };
            Some(MailgunHook {
                signing_key: Secret::new(key),
                max_age,
            })
        });
        let sendgrid = raw.sendgrid.and_then(|s| {
            let max_age = age("sendgrid.max_age_secs", s.max_age_secs, 900, self);
            let Ok(public_key) = base64::engine::general_purpose::STANDARD.decode(
                s.public_key
                    .split_whitespace()
                    .collect::<String>()
                    .as_bytes(),
            ) else {
                let msg = "is not base64 (paste the verification key SendGrid shows)";
                self.field_problem(&table, "providers", "sendgrid.public_key", msg);
                return None;
            };
            Some(SendgridHook {
                public_key,
                max_age,
            })
        });
        if !secrets_ok {
            return Providers::default();
        }
        Providers {
            ses,
            postmark,
            mailgun,
            sendgrid,
        }
    }
}

/// Whether `host` matches one of `patterns` (`*` standing for one DNS label), ignoring case.
pub fn host_allowed(host: &str, patterns: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    patterns.iter().any(|p| {
        let p = p.trim().to_ascii_lowercase();
        let wanted: Vec<&str> = p.split('.').collect();
        wanted.len() == labels.len()
            && wanted.iter().zip(&labels).all(|(w, l)| {
                !l.is_empty()
                    && (*w == *l
                        || (*w == "*" && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')))
            })
    })
}
