//! Stage 0, configuration: `config/digest.toml`, optional `config/local.toml`, then environment
//! variables `DIGEST__SECTION__KEY`, merged by the `config` crate and validated into typed settings.
//!
//! Every section (and every digest, source and list) is deserialized on its own, so [`Config::load`]
//! reports all problems at once, each with the file, the key and, where the file has it, the line.

mod imap;
mod locate;
mod mail;
mod ops;
mod providers;
mod raw;
mod review;
mod shared;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ::config::{Environment, File, FileFormat, Map};
use chrono_tz::Tz;

use crate::cli::UsageError;
use crate::period::PeriodKind;
use crate::schedule::Schedule;
pub use imap::{Imap, ImapTls};
pub use mail::{
    Credentials, Dkim, DkimAlgorithm, DkimEd25519, List, Mail, Member, RateLimits, Secret, Sending,
    Signup, Smtp, Tls, is_loopback,
};
pub use ops::{Monitoring, WEBHOOK_EVENTS, Webhooks};
pub use providers::{
    DEFAULT_SNS_CERT_HOSTS, MailgunHook, PostmarkHook, Providers, SendgridHook, SesHook,
    host_allowed,
};
pub use raw::{DEFAULT_LISTEN, DEFAULT_MAX_LATENESS, DEFAULT_SUMMARY_LENGTH, Scoring, SourceKind};
pub use review::{DEFAULT_REVIEW_DEADLINE, OnDeadline, Review};
pub use shared::SharedConfig;

use crate::model::Kind;
use crate::model::engagement::Field;

/// Prefix of environment overrides: `DIGEST__SITE__BASE_URL` sets `site.base_url`.
pub const ENV_PREFIX: &str = "DIGEST";

/// The origin the `config` crate gives values from environment variables.
const ENVIRONMENT: &str = "the environment";

/// The environment variable that sets the dotted `key`: `site.base_url` → `DIGEST__SITE__BASE_URL`.
pub fn env_var(key: &str) -> String {
    let mut var = ENV_PREFIX.to_string();
    for part in key.split('.') {
        var.push_str("__");
        var.push_str(&part.to_uppercase());
    }
    var
}

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The configuration folder (`--config`, default `./config`).
    pub dir: PathBuf,
    /// The files read, in order: `digest.toml`, then `local.toml` if present.
    pub files: Vec<PathBuf>,
    /// The project root: relative paths in the configuration are resolved against it.
    pub root: PathBuf,
    /// Site identity used in emails and the archive.
    pub site: Site,
    /// Where the store, built issues and templates live.
    pub paths: Paths,
    /// How feeds are fetched over HTTP(S).
    pub fetch: Fetch,
    /// Catalogue sources by name.
    pub sources: BTreeMap<String, Source>,
    /// Digest definitions by id.
    pub digests: BTreeMap<String, Digest>,
    /// Mail, SMTP, lists and keys.
    pub sending: Sending,
    /// Daemon defaults.
    pub daemon: Daemon,
    /// The daemon's web server.
    pub web: Web,
    /// What bounces and complaints do (`[bounces]`).
    pub bounces: Bounces,
    /// Where returned mail is, for the daemon (`[inbound]`), if anywhere.
    pub inbound: Option<Inbound>,
    /// Run reports to the operators (`[monitoring]`).
    pub monitoring: Monitoring,
    /// Signed event POSTs (`[webhooks]`), if any.
    pub webhooks: Option<Webhooks>,
    /// How the sign-up pages guard against abuse (`[signup]`).
    pub signup: SignupSettings,
    /// The providers whose bounce and complaint webhooks the web side takes (`[providers]`).
    pub providers: Providers,
}

/// `[signup]`: abuse resistance of the sign-up pages (the lists readers may join say
/// `signup = true` themselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupSettings {
    /// Proof-of-work difficulty in leading zero bits of SHA-256 (`pow_bits`; 0, the default:
    /// off). On, the form needs JavaScript.
    pub pow_bits: u32,
    /// Mail a welcome message with the subscription-page link after a confirmation (`welcome`).
    pub welcome: bool,
    /// Form posts accepted per IP address (IPv6: per /64) per hour (default 20).
    pub per_ip_per_hour: u32,
    /// Confirmation mails per address per day (default 3).
    pub per_address_per_day: u32,
    /// Sign-up and link mails per hour in all (default 200): a flood cannot burn the sender.
    pub mails_per_hour: u32,
    /// Look up the MX (or else A/AAAA) records of an address's domain before mailing it a
    /// confirmation (`check_mx`; default off).
    pub check_mx: bool,
    /// The DNS server `check_mx` asks (`dns_server`, "IP" or "IP:port"); default: the system's
    /// (`/etc/resolv.conf`).
    pub dns_server: Option<std::net::SocketAddr>,
    /// The reverse proxies whose `X-Forwarded-For` names the client (`trusted_proxies`,
    /// addresses or networks; default none: the TCP peer is the client).
    pub trusted_proxies: Vec<crate::model::cidr::Cidr>,
}

impl SignupSettings {
    /// Highest `pow_bits` allowed (about a million hashes on average).
    pub const MAX_POW_BITS: u32 = 20;
}

impl Default for SignupSettings {
    fn default() -> Self {
        SignupSettings {
            pow_bits: 0,
            welcome: false,
            per_ip_per_hour: 20,
            per_address_per_day: 3,
            mails_per_hour: 200,
            check_mx: false,
            dns_server: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// `[inbound]`: where returned mail is, which `digest daemon` processes as `digest inbound
/// --maildir` and `--imap` do: a Maildir, an IMAP mailbox, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The Maildir (resolved path), if any.
    pub maildir: Option<PathBuf>,
    /// The IMAP mailbox (`[inbound.imap]`), if any.
    pub imap: Option<Imap>,
    /// Time between two looks (`poll_secs`, default 60).
    pub poll: std::time::Duration,
}

/// `[bounces]`: what the findings of `digest inbound` do to a reader. A hard bounce suppresses at
/// once and a complaint for every digest; soft bounces suppress for a while once frequent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounces {
    /// Soft bounces (over [`Bounces::soft_window`] issues) that suppress the reader: default 3.
    pub soft_limit: u32,
    /// The reader's latest issues in which soft bounces are counted: default 5.
    pub soft_window: u32,
    /// How long a suppression for soft bounces lasts: default 90 days.
    pub soft_expiry: chrono::Duration,
}

impl Default for Bounces {
    fn default() -> Self {
        Bounces {
            soft_limit: 3,
            soft_window: 5,
            soft_expiry: chrono::Duration::days(90),
        }
    }
}

/// `[daemon]`: defaults for scheduled runs.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// Default `max_lateness` of every digest (6 hours unless set).
    pub max_lateness: chrono::Duration,
}

/// `[web]`: where the daemon serves the archive, status and health pages.
#[derive(Debug, Clone)]
pub struct Web {
    /// Address to listen on; loopback unless `public`.
    pub listen: std::net::SocketAddr,
    /// Whether a non-loopback `listen` address was explicitly allowed.
    pub public: bool,
}

/// `[site]`: the publisher's identity.
#[derive(Debug, Clone)]
pub struct Site {
    /// Display name, e.g. "Distributed Digest".
    pub name: String,
    /// Public base URL (http or https) for archive and unsubscribe links, without trailing slash.
    pub base_url: String,
}

/// `[paths]`: resolved file locations.
#[derive(Debug, Clone)]
pub struct Paths {
    /// SQLite store file.
    pub store: PathBuf,
    /// Folder of frozen issues: `<digests>/<digest>/<period>/issue.json`.
    pub digests: PathBuf,
    /// Theme folder (`theme.toml`, `email.css`).
    pub templates: PathBuf,
}

/// `[fetch]`: how feeds are fetched over HTTP(S).
#[derive(Debug, Clone)]
pub struct Fetch {
    /// `User-Agent` header; default `digest/<version> (+<site.base_url>)`.
    pub user_agent: String,
    /// Limit on connecting plus reading one feed.
    pub timeout: std::time::Duration,
    /// Largest body read (after decompression); a longer one is an error.
    pub max_bytes: u64,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Consecutive failures after which a source is reported unhealthy.
    pub unhealthy_after: u32,
    /// Feeds fetched at the same time, at most.
    pub concurrency: usize,
    /// Feeds fetched at the same time from one host (the host of the configured URL), at most.
    pub per_host: usize,
}

impl Fetch {
    /// Default [`Fetch::max_bytes`]: 5 MiB.
    pub const DEFAULT_MAX_BYTES: u64 = 5 << 20;
    /// Default [`Fetch::concurrency`].
    pub const DEFAULT_CONCURRENCY: usize = 64;
    /// Largest [`Fetch::concurrency`] allowed (one thread per fetch under way).
    pub const MAX_CONCURRENCY: usize = 256;
    /// Default [`Fetch::per_host`]: polite to each server.
    pub const DEFAULT_PER_HOST: usize = 2;
    /// Largest [`Fetch::per_host`] allowed.
    pub const MAX_PER_HOST: usize = 16;
}

/// `[sources.<name>]`: one catalogue input.
#[derive(Debug, Clone)]
pub struct Source {
    /// The key under `[sources]`; also the publisher id of a feed's items.
    pub name: String,
    /// What the source holds.
    pub kind: SourceKind,
    /// Where it is read from.
    pub location: Location,
    /// Ranking weight of its articles (default 1).
    pub weight: f64,
    /// How a feed's items become articles (defaults for other kinds).
    pub feed: FeedSettings,
}

/// Where a source is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local file (resolved path).
    File(PathBuf),
    /// An http(s) URL.
    Url(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Url(u) => f.write_str(u),
        }
    }
}

/// The settings of a feed source that shape its items.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSettings {
    /// Publisher name shown in the email; default the feed's title, else the source key.
    pub display_name: Option<String>,
    /// Publisher avatar (http(s)); default the feed's icon, logo or image.
    pub avatar: Option<String>,
    /// Tags given to every item (normalized).
    pub tags: Vec<String>,
    /// Kind of every item; default: video when its media say so, else article.
    pub item_kind: Option<Kind>,
    /// Feed category (normalized) → digest tags.
    pub tag_map: BTreeMap<String, Vec<String>>,
    /// What becomes of categories missing from `tag_map`.
    pub unmapped: Unmapped,
    /// Extension fields read as engagement.
    pub engagement: Engagement,
    /// Longest summary, in characters (cut at a word).
    pub summary_length: usize,
}

impl Default for FeedSettings {
    fn default() -> Self {
        FeedSettings {
            display_name: None,
            avatar: None,
            tags: Vec::new(),
            item_kind: None,
            tag_map: BTreeMap::new(),
            unmapped: Unmapped::Keep,
            engagement: Engagement::default(),
            summary_length: DEFAULT_SUMMARY_LENGTH,
        }
    }
}

/// What becomes of feed categories that `tag_map` does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmapped {
    /// They become tags as they are (normalized).
    Keep,
    /// They are ignored.
    Drop,
}

/// `[sources.<name>.engagement]`: item fields holding counts, beyond the built-in
/// `slash:comments` and `thr:total`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Engagement {
    /// Field read as upvotes.
    pub upvotes: Option<Field>,
    /// Field read as comments.
    pub comments: Option<Field>,
}

/// `[digests.<id>]`: one newsletter.
#[derive(Debug, Clone)]
pub struct Digest {
    /// The key under `[digests]`; also a folder name, so `[a-z0-9-]` only.
    pub id: String,
    /// Title template with `{tag}`, `{period}` and `{number}` placeholders.
    pub title: String,
    /// Normalized tags; an article matches if it carries any of them.
    pub tags: Vec<String>,
    /// How the tag is shown in titles, e.g. "Distributed Systems".
    pub tag_name: String,
    /// Length of one issue's window.
    pub period: PeriodKind,
    /// Time zone in which period windows start and end.
    pub timezone: Tz,
    /// Maximum number of items in an issue.
    pub size: usize,
    /// Maximum items from one source (`None`: no cap).
    pub max_per_source: Option<usize>,
    /// Candidates scoring below this are dropped.
    pub min_score: f64,
    /// Below this many items no issue is built.
    pub min_items: usize,
    /// Ranking weights.
    pub scoring: Scoring,
    /// Lists (keys under `[lists]`) the digest is sent to.
    pub lists: Vec<String>,
    /// From: for this digest (default `mail.from`).
    pub from: Option<lettre::message::Mailbox>,
    /// Reply-To for this digest (default `mail.reply_to`).
    pub reply_to: Option<lettre::message::Mailbox>,
    /// Envelope sender for this digest (default `mail.return_path`).
    pub return_path: Option<lettre::Address>,
    /// When the daemon builds (and sends) the issue of the period that just closed; `None`: never.
    pub schedule: Option<Schedule>,
    /// Whether a scheduled run ingests the configured sources first.
    pub ingest_before: bool,
    /// How late a scheduled run may start (after downtime) before it is skipped instead.
    pub max_lateness: chrono::Duration,
    /// Story clustering: the similarity threshold (`cluster_threshold`) when switched on
    /// (`cluster = true`), else `None` (the default). See [`crate::cluster`].
    pub cluster: Option<f64>,
    /// Review before sending (`review = "required"`); `None`: issues go out unreviewed.
    pub review: Option<Review>,
}

impl Digest {
    /// The title of the issue for `period_label` and `number`, from the template.
    pub fn title_for(&self, period_label: &str, number: u32) -> String {
        self.title
            .replace("{tag}", &self.tag_name)
            .replace("{period}", period_label)
            .replace("{number}", &number.to_string())
    }
}

/// One thing wrong with the configuration, located as precisely as the sources allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// File the value came from, or "the environment".
    pub origin: Option<String>,
    /// 1-based line in `origin`, when known.
    pub line: Option<usize>,
    /// Dotted key, e.g. `digests.weekly.timezone`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.origin, self.line) {
            (Some(origin), _) if origin == ENVIRONMENT && !self.key.is_empty() => {
                write!(f, "{origin} variable {}: ", env_var(&self.key))?
            }
            (Some(origin), Some(line)) => write!(f, "{origin}:{line}: ")?,
            (Some(origin), None) => write!(f, "{origin}: ")?,
            _ => {}
        }
        if self.key.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// All the problems found in a configuration.
#[derive(Debug, thiserror::Error)]
pub struct Invalid(pub Vec<Problem>);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "invalid configuration ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

impl Config {
    /// Loads and validates the configuration in `dir`, with overrides from the process environment.
    pub fn load(dir: &Path) -> Result<Config, Invalid> {
        Self::load_with_env(dir, None)
    }

    /// Like [`Config::load`], with the environment given as a map (for tests).
    pub fn load_with_env(dir: &Path, env: Option<Map<String, String>>) -> Result<Config, Invalid> {
        let main = dir.join("digest.toml");
        if !main.is_file() {
            return Err(Invalid(vec![Problem {
                origin: Some(main.display().to_string()),
                line: None,
                key: String::new(),
                message: "file not found (is --config pointing at the configuration folder?)"
                    .into(),
            }]));
        }
        let mut env_source = Environment::with_prefix(ENV_PREFIX).separator("__");
        if let Some(map) = env {
            env_source = env_source.source(Some(map));
        }
        let local = dir.join("local.toml");
        let files: Vec<PathBuf> = [main, local].into_iter().filter(|f| f.is_file()).collect();
        let merged = files
            .iter()
            .fold(::config::Config::builder(), |builder, file| {
                builder.add_source(File::from(file.clone()).format(FileFormat::Toml))
            })
            .add_source(env_source)
            .build()
            .and_then(|c| c.cache.into_table());
        let table = match merged {
            Ok(table) => table,
            Err(e) => return Err(Invalid(vec![locate::parse_problem(e)])),
        };
        // `config` → "" (the working folder), `/srv/news/config` → `/srv/news`.
        let root = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut checker = raw::Checker::new(&root, &files);
        let config = checker.config(dir, table);
        let mut problems = checker.into_problems();
        if problems.is_empty()
            && let Some(config) = config
        {
            return Ok(config);
        }
        locate::lines(&mut problems);
        // Tables are hash maps: report in file order, whatever order they were checked in.
        problems.sort_by(|a, b| (&a.origin, a.line, &a.key).cmp(&(&b.origin, b.line, &b.key)));
        problems.dedup();
        Err(Invalid(problems))
    }

    /// A problem at `key`, located in `local.toml` if it sets the key, else in `digest.toml`.
    pub fn problem_at(&self, key: &str, message: impl Into<String>) -> Problem {
        let files: Vec<PathBuf> = self.files.iter().rev().cloned().collect();
        let (origin, line) = locate::find(&files, key);
        Problem {
            origin,
            line,
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// The digest with this id, or a [`UsageError`] listing the configured ones.
    pub fn digest(&self, id: &str) -> Result<&Digest, UsageError> {
        self.digests.get(id).ok_or_else(|| {
            let known: Vec<&str> = self.digests.keys().map(String::as_str).collect();
            UsageError(format!(
                "no digest `{id}` in {}; configured: {}",
                self.dir.join("digest.toml").display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })
    }
}

/// A configuration of a test `[site]` followed by `rest`, loaded from a temporary folder.
#[cfg(test)]
pub(crate) fn for_test(rest: &str) -> Config {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!("[site]\nname = \"S\"\nbase_url = \"https://s.example\"\n\n{rest}");
    std::fs::write(dir.path().join("digest.toml"), toml).unwrap();
    Config::load(dir.path()).unwrap_or_else(|e| panic!("{e}"))
}
