//! The configuration as written (serde shapes) and its validation into [`super::Config`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ::config::{Map, Value, ValueKind};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{
    Bounces, Config, Daemon, Digest, ENVIRONMENT, Engagement, FeedSettings, Fetch, Inbound,
    Location, Paths, Problem, Sending, SignupSettings, Site, Source, Unmapped, Web, env_var,
    locate,
};
use crate::model::engagement::Field;
use crate::model::{Kind, MAX_SUMMARY, canonical, tag};
use crate::period::PeriodKind;
use crate::schedule::{self, Schedule};

/// Top-level sections this version understands.
const SECTIONS: &[&str] = &[
    "site",
    "paths",
    "fetch",
    "sources",
    "digests",
    "mail",
    "smtp",
    "lists",
    "unsubscribe",
    "dkim",
    "daemon",
    "web",
    "bounces",
    "inbound",
    "monitoring",
    "webhooks",
    "signup",
    "providers",
];

/// Placeholders a title template may use.
const TITLE_PLACEHOLDERS: &[&str] = &["tag", "period", "number"];

/// Most items an issue may have: with 300-character titles, more do not fit under Gmail's
/// 102 KB clipping size however short the summaries (see `render::HTML_BUDGET`).
pub const MAX_SIZE: usize = 40;

/// Default title template.
pub const DEFAULT_TITLE: &str = "Best of {tag} — {period}";

/// Default `max_lateness`: how late a missed run may still be caught up.
pub const DEFAULT_MAX_LATENESS: chrono::Duration = chrono::Duration::hours(6);

/// Default `[web] listen` address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8026";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: String,
    base_url: String,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawPaths {
    store: Option<String>,
    digests: Option<String>,
    templates: Option<String>,
}

/// What a source holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// JSON Lines catalogue, one article per line (see README "Catalogue format").
    Jsonl,
    /// An RSS 0.9x/1.0/2.0, Atom or JSON Feed document, from a file or over HTTP(S).
    Feed,
}

impl SourceKind {
    const NAMES: &[(&str, SourceKind)] =
        &[("jsonl", SourceKind::Jsonl), ("feed", SourceKind::Feed)];
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawDaemon {
    max_lateness: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawBounces {
    soft_limit: Option<u32>,
    soft_window: Option<u32>,
    soft_expiry_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInbound {
    maildir: Option<String>,
    imap: Option<super::imap::RawImap>,
    #[serde(default = "sixty_secs")]
    poll_secs: u64,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawSignup {
    pow_bits: u32,
    welcome: bool,
    per_ip_per_hour: Option<u32>,
    per_address_per_day: Option<u32>,
    mails_per_hour: Option<u32>,
    check_mx: bool,
    dns_server: Option<String>,
    trusted_proxies: Vec<String>,
}

fn sixty_secs() -> u64 {
    60
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawWeb {
    listen: Option<String>,
    public: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    kind: String,
    path: Option<String>,
    url: Option<String>,
    #[serde(default = "one_f64")]
    weight: f64,
    // Feed sources only.
    name: Option<String>,
    avatar: Option<String>,
    tags: Option<Vec<String>>,
    item_kind: Option<String>,
    tag_map: Option<BTreeMap<String, OneOrMany>>,
    unmapped: Option<String>,
    engagement: Option<RawEngagement>,
    summary_length: Option<usize>,
}

/// A tag or a list of tags.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl RawSource {
    /// The feed-only keys that are set, by name.
    fn feed_keys(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("avatar", self.avatar.is_some()),
            ("tags", self.tags.is_some()),
            ("item_kind", self.item_kind.is_some()),
            ("tag_map", self.tag_map.is_some()),
            ("unmapped", self.unmapped.is_some()),
            ("engagement", self.engagement.is_some()),
            ("summary_length", self.summary_length.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default, deny_unknown_fields)]
struct RawEngagement {
    upvotes: Option<String>,
    comments: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawFetch {
    user_agent: Option<String>,
    timeout_seconds: Option<f64>,
    max_bytes: Option<u64>,
    max_redirects: Option<usize>,
    unhealthy_after: Option<u32>,
    concurrency: Option<usize>,
    per_host: Option<usize>,
}

/// Default summary length of feed items, in characters.
pub const DEFAULT_SUMMARY_LENGTH: usize = 400;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    title: Option<String>,
    tag: Option<String>,
    tags: Option<Vec<String>>,
    tag_name: Option<String>,
    period: String,
    #[serde(default = "utc")]
    timezone: String,
    #[serde(default = "default_size")]
    size: usize,
    max_per_source: Option<usize>,
    #[serde(default)]
    min_score: f64,
    #[serde(default = "one")]
    min_items: usize,
    #[serde(default)]
    scoring: Scoring,
    #[serde(default)]
    lists: Vec<String>,
    from: Option<String>,
    reply_to: Option<String>,
    return_path: Option<String>,
    schedule: Option<String>,
    #[serde(default)]
    ingest_before: bool,
    max_lateness: Option<String>,
    #[serde(default)]
    cluster: bool,
    cluster_threshold: Option<f64>,
    // Review before sending (see `review.rs`).
    review: Option<String>,
    reviewers: Option<Vec<String>>,
    review_deadline: Option<String>,
    on_deadline: Option<String>,
}

fn utc() -> String {
    "UTC".into()
}
fn default_size() -> usize {
    10
}
fn one() -> usize {
    1
}
fn one_f64() -> f64 {
    1.0
}

/// `[digests.<id>.scoring]`: the weights of the ranking formula (see [`crate::select`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scoring {
    /// Weight of one upvote.
    pub upvotes: f64,
    /// Weight of one comment.
    pub comments: f64,
    /// Optional half-life of a score, in hours, for rolling windows.
    pub half_life_hours: Option<f64>,
    /// Fallback for items without votes or comments: the score of one published at the very end
    /// of the window (falling linearly to 0 at its start).
    pub recency: f64,
}

impl Default for Scoring {
    fn default() -> Self {
        Scoring {
            upvotes: 1.0,
            comments: 2.0,
            half_life_hours: None,
            recency: 1.0,
        }
    }
}

/// Collects problems while turning raw values into typed settings.
pub(super) struct Checker {
    pub(super) root: PathBuf,
    /// The configuration files read, in order.
    files: Vec<PathBuf>,
    problems: Vec<Problem>,
    /// Names under `[lists]`, for checking the lists digests name.
    lists: Vec<String>,
    /// `[daemon] max_lateness`, the default of every digest's.
    max_lateness: chrono::Duration,
    /// `[mail] verp`, which bounds the length of every `return_path`.
    pub(super) verp: bool,
}

impl Checker {
    pub(super) fn new(root: &Path, files: &[PathBuf]) -> Self {
        Checker {
            root: root.to_path_buf(),
            files: files.to_vec(),
            problems: Vec::new(),
            lists: Vec::new(),
            max_lateness: DEFAULT_MAX_LATENESS,
            verp: false,
        }
    }

    pub(super) fn problem_count(&self) -> usize {
        self.problems.len()
    }

    pub(super) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    pub(super) fn problem(
        &mut self,
        origin: Option<&str>,
        key: String,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            origin: origin.map(str::to_owned),
            line: None,
            key,
            message: message.into(),
        });
    }

    /// Reports a problem on `field` (maybe dotted) of the table at `key`, at the field's origin.
    pub(super) fn field_problem(
        &mut self,
        table: &Map<String, Value>,
        key: &str,
        field: &str,
        message: impl Into<String>,
    ) {
        let first = field.split('.').next().unwrap_or(field);
        let origin = match table.get(first) {
            Some(value) => origin(value),
            None => table_origin(table),
        };
        self.problem(origin.as_deref(), format!("{key}.{field}"), message);
    }

    /// Reports every secret among `fields` of `[section]` that a configuration file sets, at its
    /// line, whatever the environment sets; `true` when none is.
    pub(super) fn secrets_from_env_only(&mut self, section: &str, fields: &[&str]) -> bool {
        let before = self.problem_count();
        for field in fields {
            let key = format!("{section}.{field}");
            for (file, line) in locate::find_all(&self.files, &key) {
                let message = format!(
                    "secrets come from the environment only: remove it here and set {}",
                    env_var(&key)
                );
                self.problems.push(Problem {
                    origin: Some(file),
                    line: Some(line),
                    key: key.clone(),
                    message,
                });
            }
        }
        self.problem_count() == before
    }

    /// Deserializes `value`, reporting every unknown or mistyped key it holds, not just the first:
    /// each offending key is reported, left out and the rest deserialized again, so a typed value
    /// (with defaults in their place) still comes back for the checks that follow.
    pub(super) fn typed<T: DeserializeOwned>(&mut self, key: &str, mut value: Value) -> Option<T> {
        let mut left_out: Vec<String> = Vec::new();
        loop {
            let error = match value.clone().try_deserialize::<T>() {
                Ok(typed) => return Some(typed),
                Err(e) => e,
            };
            let (inner, message) = locate::describe(error);
            let inner = inner.unwrap_or_default();
            // A key left out and now missing was reported already.
            if left_out.contains(&inner) {
                return None;
            }
            let full = match inner.as_str() {
                "" => key.to_string(),
                inner => format!("{key}.{inner}"),
            };
            let at = origin_at(&value, &inner);
            self.problem(at.as_deref(), full, message);
            if inner.is_empty() || !remove_at(&mut value, &inner) {
                return None;
            }
            left_out.push(inner);
        }
    }

    pub(super) fn table(&mut self, key: &str, value: Value) -> Option<Map<String, Value>> {
        let at = origin(&value);
        match value.into_table() {
            Ok(t) => Some(t),
            Err(_) => {
                self.problem(at.as_deref(), key.into(), "expected a table");
                None
            }
        }
    }

    /// The table at `key` and its typed form.
    fn section<T: serde::de::DeserializeOwned>(
        &mut self,
        key: &str,
        value: Value,
    ) -> Option<(Map<String, Value>, T)> {
        let table = self.table(key, value.clone())?;
        Some((table, self.typed(key, value)?))
    }

    pub(super) fn config(&mut self, dir: &Path, mut top: Map<String, Value>) -> Option<Config> {
        let mut unknown: Vec<_> = top
            .iter()
            .filter(|(k, _)| !SECTIONS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), origin(v)))
            .collect();
        unknown.sort();
        for (key, origin) in unknown {
            let known = SECTIONS.join(", ");
            self.problem(
                origin.as_deref(),
                key,
                format!("unknown section (known: {known})"),
            );
        }
        let site = match top.remove("site") {
            Some(v) => self.site(v),
            None => {
                self.problem(
                    None,
                    "site".into(),
                    "missing section [site] (name, base_url)",
                );
                None
            }
        };
        let paths = self.paths(top.remove("paths"));
        let daemon = self.daemon(top.remove("daemon"));
        let web = self.web(top.remove("web"));
        let fetch = self.fetch(top.remove("fetch"), site.as_ref());
        let sources = self.named("sources", top.remove("sources"), Self::source);
        let sending = self.sending(&mut top);
        self.lists = sending.lists.keys().cloned().collect();
        let digests = self.named("digests", top.remove("digests"), Self::digest);
        let bounces = self.bounces(top.remove("bounces"));
        let inbound = top.remove("inbound").and_then(|v| self.inbound(v));
        let monitoring = self.monitoring(top.remove("monitoring"), &sending);
        let webhooks = top.remove("webhooks").and_then(|v| self.webhooks(v));
        let signup = self.signup(top.remove("signup"));
        self.default_digests(&sending, &digests);
        let providers = self.providers(top.remove("providers"));
        Some(Config {
            dir: dir.to_path_buf(),
            files: self.files.clone(),
            root: self.root.clone(),
            site: site?,
            paths,
            fetch,
            sources,
            digests,
            sending,
            daemon,
            web: web?,
            bounces,
            inbound,
            monitoring,
            webhooks,
            signup,
            providers,
        })
    }

    fn site(&mut self, value: Value) -> Option<Site> {
        let (table, raw): (_, RawSite) = self.section("site", value)?;
        let name = crate::text::one_line(&raw.name, 200);
        if name.is_empty() {
            self.field_problem(&table, "site", "name", "must not be empty");
        }
        let base_url = raw.base_url.trim().trim_end_matches('/').to_string();
        match url::Url::parse(&base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                if u.query().is_some() || u.fragment().is_some() {
                    let msg = "must not have a query or fragment";
                    self.field_problem(&table, "site", "base_url", msg);
                }
            }
            Ok(_) => self.field_problem(&table, "site", "base_url", "must be an http(s) URL"),
            Err(e) => self.field_problem(&table, "site", "base_url", format!("not a URL: {e}")),
        }
        Some(Site { name, base_url })
    }

    fn paths(&mut self, value: Option<Value>) -> Paths {
        let raw: RawPaths = value
            .and_then(|v| self.typed("paths", v))
            .unwrap_or_default();
        let resolve =
            |p: Option<String>, default: &str| self.root.join(p.as_deref().unwrap_or(default));
        Paths {
            store: resolve(raw.store, "digest.db"),
            digests: resolve(raw.digests, "digests"),
            templates: resolve(raw.templates, "templates"),
        }
    }

    fn daemon(&mut self, value: Option<Value>) -> Daemon {
        let section = value.and_then(|v| self.section::<RawDaemon>("daemon", v));
        if let Some((
            table,
            RawDaemon {
                max_lateness: Some(written),
            },
        )) = section
        {
            match lateness(&written) {
                Ok(d) => self.max_lateness = d,
                Err(msg) => self.field_problem(&table, "daemon", "max_lateness", msg),
            }
        }
        Daemon {
            max_lateness: self.max_lateness,
        }
    }

    fn bounces(&mut self, value: Option<Value>) -> Bounces {
        let Some((table, raw)) = value.and_then(|v| self.section::<RawBounces>("bounces", v))
        else {
            return Bounces::default();
        };
        let defaults = Bounces::default();
        let soft_window = raw.soft_window.unwrap_or(defaults.soft_window);
        let soft_limit = raw.soft_limit.unwrap_or(defaults.soft_limit);
        let expiry_days = raw.soft_expiry_days.unwrap_or(90);
        if !(1..=100).contains(&soft_window) {
            let msg = format!("must be between 1 and 100 issues, not {soft_window}");
            self.field_problem(&table, "bounces", "soft_window", msg);
        }
        if !(1..=soft_window.max(1)).contains(&soft_limit) {
            let msg =
                format!("must be between 1 and soft_window ({soft_window}), not {soft_limit}");
            self.field_problem(&table, "bounces", "soft_limit", msg);
        }
        if !(1..=3650).contains(&expiry_days) {
            let msg = format!("must be between 1 and 3650 days, not {expiry_days}");
            self.field_problem(&table, "bounces", "soft_expiry_days", msg);
        }
        Bounces {
            soft_limit,
            soft_window,
            soft_expiry: chrono::Duration::days(i64::from(expiry_days)),
        }
    }

    /// Every `default_digests` entry of a sign-up list names a digest that goes to that list.
    fn default_digests(&mut self, sending: &Sending, digests: &BTreeMap<String, Digest>) {
        for list in sending.lists.values() {
            let chosen = list
                .signup
                .as_ref()
                .and_then(|s| s.default_digests.as_ref());
            for id in chosen.into_iter().flatten() {
                if !digests
                    .get(id)
                    .is_some_and(|d| d.lists.contains(&list.name))
                {
                    let key = format!("lists.{}.default_digests", list.name);
                    let msg =
                        format!("no digest `{id}` goes to this list (its `lists` must name it)");
                    self.problem(None, key, msg);
                }
            }
        }
    }

    fn signup(&mut self, value: Option<Value>) -> SignupSettings {
        let defaults = SignupSettings::default();
        let Some((table, raw)) = value.and_then(|v| self.section::<RawSignup>("signup", v)) else {
            return defaults;
        };
        if raw.pow_bits > SignupSettings::MAX_POW_BITS {
            let msg = format!(
                "must be at most {} bits, not {}",
                SignupSettings::MAX_POW_BITS,
                raw.pow_bits
            );
            self.field_problem(&table, "signup", "pow_bits", msg);
        }
        let dns_server = raw.dns_server.as_deref().and_then(|s| {
            let parsed = s.parse::<std::net::SocketAddr>().or_else(|_| {
                let ip = s.parse::<std::net::IpAddr>()?;
                Ok::<_, std::net::AddrParseError>(std::net::SocketAddr::new(ip, 53))
            });
            let msg = format!("{s:?} is not an IP address with an optional port (127.0.0.1:53)");
            parsed
                .map_err(|_| self.field_problem(&table, "signup", "dns_server", msg))
                .ok()
        });
        let trusted_proxies = (raw.trusted_proxies.iter())
            .filter_map(|p| {
                p.parse::<crate::model::cidr::Cidr>()
                    .map_err(|e| self.field_problem(&table, "signup", "trusted_proxies", e))
                    .ok()
            })
            .collect();
        let mut positive = |key: &str, v: Option<u32>, default: u32| match v {
            Some(0) => {
                self.field_problem(&table, "signup", key, "must be at least 1");
                default
            }
            Some(n) => n,
            None => default,
        };
        SignupSettings {
            check_mx: raw.check_mx,
            dns_server,
            trusted_proxies,
            pow_bits: raw.pow_bits.min(SignupSettings::MAX_POW_BITS),
            welcome: raw.welcome,
            per_ip_per_hour: positive(
                "per_ip_per_hour",
                raw.per_ip_per_hour,
                defaults.per_ip_per_hour,
            ),
            per_address_per_day: positive(
                "per_address_per_day",
                raw.per_address_per_day,
                defaults.per_address_per_day,
            ),
            mails_per_hour: positive(
                "mails_per_hour",
                raw.mails_per_hour,
                defaults.mails_per_hour,
            ),
        }
    }

    fn inbound(&mut self, value: Value) -> Option<Inbound> {
        let (table, raw) = self.section::<RawInbound>("inbound", value)?;
        if !(1..=86_400).contains(&raw.poll_secs) {
            let msg = format!("must be between 1 and 86400 seconds, not {}", raw.poll_secs);
            self.field_problem(&table, "inbound", "poll_secs", msg);
            return None;
        }
        if raw.maildir.is_none() && raw.imap.is_none() {
            let msg = "say where returned mail is: maildir = \"DIR\" or an [inbound.imap] table";
            self.field_problem(&table, "inbound", "maildir", msg);
            return None;
        }
        let imap = match raw.imap {
            Some(imap) => Some(self.imap(&table, imap)?),
            None => None,
        };
        Some(Inbound {
            maildir: raw.maildir.map(|m| self.root.join(m)),
            imap,
            poll: std::time::Duration::from_secs(raw.poll_secs),
        })
    }

    fn web(&mut self, value: Option<Value>) -> Option<Web> {
        let (table, raw) = match value {
            Some(v) => self.section::<RawWeb>("web", v)?,
            None => Default::default(),
        };
        let written = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: std::net::SocketAddr = match written.trim().parse() {
            Ok(addr) => addr,
            Err(_) => {
                let msg = format!(
                    "{written:?} is not an address: write an IP and a port, e.g. {DEFAULT_LISTEN}"
                );
                self.field_problem(&table, "web", "listen", msg);
                return None;
            }
        };
        if !listen.ip().is_loopback() && !raw.public {
            let msg = format!(
                "{listen} is reachable from other machines; set `public = true` in [web] to \
                 serve the archive, status and unsubscribe pages there (or listen on {DEFAULT_LISTEN})"
            );
            self.field_problem(&table, "web", "listen", msg);
        }
        Some(Web {
            listen,
            public: raw.public,
        })
    }

    /// Validates a `[section.<name>]` table of entries with `each`.
    pub(super) fn named<T>(
        &mut self,
        section: &str,
        value: Option<Value>,
        each: fn(&mut Self, &str, &str, Value) -> Option<T>,
    ) -> BTreeMap<String, T> {
        let mut out = BTreeMap::new();
        let Some(value) = value else { return out };
        let Some(table) = self.table(section, value) else {
            return out;
        };
        for (name, v) in table {
            let key = format!("{section}.{name}");
            if !is_id(&name) {
                let msg = "name must be lowercase letters, digits and '-' (it is used in paths)";
                self.problem(origin(&v).as_deref(), key.clone(), msg);
                continue;
            }
            if let Some(item) = each(self, &key, &name, v) {
                out.insert(name, item);
            }
        }
        out
    }

    fn fetch(&mut self, value: Option<Value>, site: Option<&Site>) -> Fetch {
        let table = value.as_ref().and_then(|v| v.clone().into_table().ok());
        let raw: RawFetch = value
            .and_then(|v| self.typed("fetch", v))
            .unwrap_or_default();
        let mut errors: Vec<(&str, String)> = Vec::new();
        let mut timeout = raw.timeout_seconds.unwrap_or(30.0);
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 3600.0) {
            errors.push((
                "timeout_seconds",
                format!("must be between 0 and 3600, not {timeout}"),
            ));
            timeout = 30.0;
        }
        let max_bytes = raw.max_bytes.unwrap_or(Fetch::DEFAULT_MAX_BYTES);
        if max_bytes < 1024 {
            errors.push((
                "max_bytes",
                format!("must be at least 1024, not {max_bytes}"),
            ));
        }
        let max_redirects = raw.max_redirects.unwrap_or(5);
        if max_redirects > 20 {
            errors.push((
                "max_redirects",
                format!("must be at most 20, not {max_redirects}"),
            ));
        }
        let unhealthy_after = raw.unhealthy_after.unwrap_or(3);
        if unhealthy_after == 0 {
            errors.push(("unhealthy_after", "must be at least 1".into()));
        }
        let limits = [
            (
                "concurrency",
                raw.concurrency,
                Fetch::DEFAULT_CONCURRENCY,
                Fetch::MAX_CONCURRENCY,
            ),
            (
                "per_host",
                raw.per_host,
                Fetch::DEFAULT_PER_HOST,
                Fetch::MAX_PER_HOST,
            ),
        ];
        let [concurrency, per_host] = limits.map(|(field, value, default, max)| {
            let n = value.unwrap_or(default);
            if !(1..=max).contains(&n) {
                errors.push((field, format!("must be between 1 and {max}, not {n}")));
            }
            n
        });
        let user_agent = match raw.user_agent.map(|u| crate::text::one_line(&u, 200)) {
            Some(ua) if ua.is_empty() || !ua.bytes().all(|b| b.is_ascii_graphic() || b == b' ') => {
                let msg = "must be printable ASCII, not empty";
                errors.push(("user_agent", msg.into()));
                ua
            }
            Some(ua) => ua,
            None => {
                let contact = site.map_or(String::new(), |s| format!(" (+{})", s.base_url));
                format!("digest/{}{contact}", env!("CARGO_PKG_VERSION"))
            }
        };
        if let Some(table) = &table {
            for (field, msg) in errors {
                self.field_problem(table, "fetch", field, msg);
            }
        }
        Fetch {
            user_agent,
            timeout: std::time::Duration::from_secs_f64(timeout),
            max_bytes,
            max_redirects,
            unhealthy_after,
            concurrency,
            per_host,
        }
    }

    fn source(&mut self, key: &str, name: &str, value: Value) -> Option<Source> {
        let (table, raw): (_, RawSource) = self.section(key, value)?;
        let kind = match one_of(&raw.kind, SourceKind::NAMES) {
            Ok(kind) => kind,
            Err(msg) => {
                self.field_problem(&table, key, "kind", msg);
                return None;
            }
        };
        let mut errors: Vec<(&str, String)> = Vec::new();
        if !raw.weight.is_finite() || raw.weight < 0.0 {
            errors.push((
                "weight",
                format!("must be a number ≥ 0, not {}", raw.weight),
            ));
        }
        let location = match (kind, &raw.path, &raw.url) {
            (_, Some(path), None) => Some(Location::File(self.root.join(path))),
            (SourceKind::Feed, None, Some(url)) => match canonical::parse_http(url) {
                Ok(u) => Some(Location::Url(u.into())),
                Err(e) => {
                    errors.push(("url", e.to_string()));
                    None
                }
            },
            (SourceKind::Jsonl, _, Some(_)) => {
                errors.push(("url", "JSON Lines sources are files: use `path`".into()));
                None
            }
            (SourceKind::Feed, Some(_), Some(_)) => {
                errors.push(("url", "give either `path` or `url`, not both".into()));
                None
            }
            (SourceKind::Feed, None, None) => {
                errors.push((
                    "url",
                    "missing: set `url` (or `path` for a local file)".into(),
                ));
                None
            }
            (SourceKind::Jsonl, None, None) => {
                errors.push(("path", "missing".into()));
                None
            }
        };
        let feed = match kind {
            SourceKind::Feed => feed_settings(&raw, &mut errors),
            SourceKind::Jsonl => {
                for k in raw.feed_keys() {
                    errors.push((k, "only for sources of kind = \"feed\"".into()));
                }
                FeedSettings::default()
            }
        };
        let valid = errors.is_empty();
        for (field, msg) in errors {
            self.field_problem(&table, key, field, msg);
        }
        if !valid {
            return None;
        }
        Some(Source {
            name: name.to_string(),
            kind,
            location: location?,
            weight: raw.weight,
            feed,
        })
    }

    fn digest(&mut self, key: &str, id: &str, value: Value) -> Option<Digest> {
        let (table, raw): (_, RawDigest) = self.section(key, value)?;
        let mut errors: Vec<(&str, String)> = Vec::new();
        let period = one_of(&raw.period, PERIODS).unwrap_or_else(|msg| {
            errors.push(("period", msg));
            PeriodKind::Monthly
        });

        let title = raw.title.unwrap_or_else(|| DEFAULT_TITLE.to_string());
        if let Some(p) = unknown_placeholder(&title) {
            let known = TITLE_PLACEHOLDERS.join("}, {");
            errors.push((
                "title",
                format!("unknown placeholder {{{p}}} (known: {{{known}}})"),
            ));
        }
        let tags: Vec<String> = match (raw.tag, raw.tags) {
            (Some(t), None) => vec![tag::normalize(&t)],
            (None, Some(ts)) => ts.iter().map(|t| tag::normalize(t)).collect(),
            (Some(_), Some(_)) => {
                errors.push(("tags", "give either `tag` or `tags`, not both".into()));
                Vec::new()
            }
            (None, None) => {
                errors.push(("tag", "missing: set `tag` (or `tags`)".into()));
                Vec::new()
            }
        };
        if tags.iter().any(String::is_empty) || (tags.is_empty() && errors.is_empty()) {
            errors.push(("tags", "a tag must contain a letter or digit".into()));
        }
        let tag_name = raw
            .tag_name
            .map(|n| crate::text::one_line(&n, 100))
            .unwrap_or_else(|| {
                tags.first()
                    .map(|t| tag::display_name(t))
                    .unwrap_or_default()
            });
        let timezone = raw.timezone.parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
            let msg = format!(
                "unknown time zone {:?} (use an IANA name such as Europe/Berlin)",
                raw.timezone
            );
            errors.push(("timezone", msg));
            chrono_tz::UTC
        });
        if !(1..=MAX_SIZE).contains(&raw.size) {
            let msg = format!(
                "must be between 1 and {MAX_SIZE}, not {} (more items do not fit under Gmail's 102 KB clipping size)",
                raw.size
            );
            errors.push(("size", msg));
        } else if raw.min_items == 0 || raw.min_items > raw.size {
            let msg = format!(
                "must be between 1 and size ({}), not {}",
                raw.size, raw.min_items
            );
            errors.push(("min_items", msg));
        }
        if raw.max_per_source == Some(0) {
            errors.push((
                "max_per_source",
                "must be at least 1 (omit it for no cap)".into(),
            ));
        }
        if !raw.min_score.is_finite() || raw.min_score < 0.0 {
            let msg = format!("must be a number ≥ 0, not {}", raw.min_score);
            errors.push(("min_score", msg));
        }
        let s = &raw.scoring;
        for (field, w) in [
            ("scoring.upvotes", s.upvotes),
            ("scoring.comments", s.comments),
        ] {
            if !w.is_finite() || w < 0.0 {
                errors.push((field, format!("must be a number ≥ 0, not {w}")));
            }
        }
        if !s.recency.is_finite() || s.recency < 0.0 {
            let msg = format!("must be a number ≥ 0, not {}", s.recency);
            errors.push(("scoring.recency", msg));
        }
        if let Some(h) = s.half_life_hours.filter(|h| !h.is_finite() || *h <= 0.0) {
            errors.push((
                "scoring.half_life_hours",
                format!("must be > 0 hours, not {h}"),
            ));
        }
        let threshold = raw
            .cluster_threshold
            .unwrap_or(crate::cluster::DEFAULT_THRESHOLD);
        if !(threshold > 0.0 && threshold <= 1.0) {
            let msg = format!("must be a number above 0 and at most 1, not {threshold}");
            errors.push(("cluster_threshold", msg));
        }
        let schedule = raw.schedule.and_then(|written| {
            written
                .parse::<Schedule>()
                .map_err(|msg| errors.push(("schedule", msg)))
                .ok()
        });
        let max_lateness = match raw.max_lateness.as_deref().map(lateness) {
            None => self.max_lateness,
            Some(Ok(d)) => d,
            Some(Err(msg)) => {
                errors.push(("max_lateness", msg));
                self.max_lateness
            }
        };
        let review = super::review::RawReview {
            review: raw.review,
            reviewers: raw.reviewers,
            review_deadline: raw.review_deadline,
            on_deadline: raw.on_deadline,
        }
        .check(lateness, &mut errors);
        for list in raw.lists.iter().filter(|l| !self.lists.contains(l)) {
            errors.push(("lists", format!("no list `{list}` under [lists]")));
        }
        let before = self.problem_count();
        for (field, msg) in errors {
            self.field_problem(&table, key, field, msg);
        }
        let from = raw
            .from
            .as_deref()
            .and_then(|f| self.mailbox(&table, key, "from", f));
        let reply_to = raw
            .reply_to
            .as_deref()
            .and_then(|r| self.mailbox(&table, key, "reply_to", r));
        let return_path = raw
            .return_path
            .as_deref()
            .and_then(|r| self.return_path(&table, key, r));
        (self.problem_count() == before).then(|| Digest {
            id: id.to_string(),
            title,
            tags,
            tag_name,
            period,
            timezone,
            size: raw.size,
            max_per_source: raw.max_per_source,
            min_score: raw.min_score,
            min_items: raw.min_items,
            scoring: raw.scoring,
            lists: raw.lists,
            from,
            reply_to,
            return_path,
            schedule,
            ingest_before: raw.ingest_before,
            max_lateness,
            cluster: raw.cluster.then_some(threshold),
            review,
        })
    }
}

/// Validates the keys only feed sources have.
fn feed_settings(raw: &RawSource, errors: &mut Vec<(&'static str, String)>) -> FeedSettings {
    let display_name = raw
        .name
        .as_deref()
        .map(|n| crate::text::one_line(n, 100))
        .filter(|n| !n.is_empty());
    let avatar = raw
        .avatar
        .as_deref()
        .and_then(|a| match canonical::parse_http(a) {
            Ok(u) => Some(String::from(u)),
            Err(e) => {
                errors.push(("avatar", e.to_string()));
                None
            }
        });
    let tags = tag::normalize_all(raw.tags.iter().flatten().map(String::as_str));
    if raw
        .tags
        .as_ref()
        .is_some_and(|t| !t.is_empty() && tags.is_empty())
    {
        errors.push(("tags", "a tag must contain a letter or digit".into()));
    }
    let item_kind = raw.item_kind.as_deref().and_then(|k| {
        one_of(k, ITEM_KINDS)
            .map_err(|msg| errors.push(("item_kind", msg)))
            .ok()
    });
    let unmapped = raw.unmapped.as_deref().map_or(Unmapped::Keep, |u| {
        one_of(u, UNMAPPED).unwrap_or_else(|msg| {
            errors.push(("unmapped", msg));
            Unmapped::Keep
        })
    });
    let mut tag_map = BTreeMap::new();
    for (category, to) in raw.tag_map.iter().flatten() {
        let from = tag::normalize(category);
        if from.is_empty() {
            errors.push((
                "tag_map",
                format!("category {category:?} has no letter or digit"),
            ));
            continue;
        }
        let to = match to {
            OneOrMany::One(t) => tag::normalize_all([t.as_str()]),
            OneOrMany::Many(ts) => tag::normalize_all(ts.iter().map(String::as_str)),
        };
        tag_map.insert(from, to);
    }
    let raw_engagement = raw.engagement.clone().unwrap_or_default();
    let mut field = |name: &'static str, value: Option<String>| {
        value.and_then(|v| {
            Field::parse(&v)
                .map_err(|msg| errors.push((name, msg)))
                .ok()
        })
    };
    let engagement = Engagement {
        upvotes: field("engagement.upvotes", raw_engagement.upvotes),
        comments: field("engagement.comments", raw_engagement.comments),
    };
    let summary_length = raw.summary_length.unwrap_or(DEFAULT_SUMMARY_LENGTH);
    if !(20..=MAX_SUMMARY).contains(&summary_length) {
        errors.push((
            "summary_length",
            format!("must be between 20 and {MAX_SUMMARY}, not {summary_length}"),
        ));
    }
    FeedSettings {
        display_name,
        avatar,
        tags,
        item_kind,
        tag_map,
        unmapped,
        engagement,
        summary_length,
    }
}

const ITEM_KINDS: &[(&str, Kind)] = &[("article", Kind::Article), ("video", Kind::Video)];

const UNMAPPED: &[(&str, Unmapped)] = &[("keep", Unmapped::Keep), ("drop", Unmapped::Drop)];

const PERIODS: &[(&str, PeriodKind)] = &[
    ("daily", PeriodKind::Daily),
    ("weekly", PeriodKind::Weekly),
    ("monthly", PeriodKind::Monthly),
];

/// The value named `name` among `choices`, or a message listing them.
pub(super) fn one_of<T: Copy>(name: &str, choices: &[(&str, T)]) -> Result<T, String> {
    choices
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            format!("unknown value {name:?} (use one of: {})", names.join(", "))
        })
}

/// A `max_lateness` value: a duration from one minute to a year.
fn lateness(written: &str) -> Result<chrono::Duration, String> {
    let d = schedule::parse_duration(written)?;
    if d < chrono::Duration::minutes(1) || d > chrono::Duration::days(365) {
        return Err(format!("must be between 1m and 365d, not {written:?}"));
    }
    Ok(d)
}

/// Where a value came from. Tables made by a `[header]` carry no origin of their own: a table
/// takes that of its entries (see [`table_origin`]).
pub(super) fn origin(value: &Value) -> Option<String> {
    if let Some(o) = value.origin() {
        return Some(o.to_owned());
    }
    match &value.kind {
        ValueKind::Table(t) => table_origin(t),
        _ => None,
    }
}

/// Where a table came from: of its entries' origins, a file before the environment, and of files
/// the first by name (`digest.toml` before `local.toml`). Never "whichever entry the hash map
/// yields first", which changed from run to run.
fn table_origin(table: &Map<String, Value>) -> Option<String> {
    table
        .values()
        .filter_map(origin)
        .min_by(|a, b| (a == ENVIRONMENT, a).cmp(&(b == ENVIRONMENT, b)))
}

/// The parts of a dotted key inside a value, without array indices: `members[0].email` →
/// `members`, `email`.
fn parts(path: &str) -> impl Iterator<Item = &str> {
    path.split('.')
        .map(|part| part.split('[').next().unwrap_or(part))
        .filter(|part| !part.is_empty())
}

/// Where the value at the dotted `path` inside `value` came from: that of the deepest part of the
/// path present (a key reported inside a table is blamed on its own origin, not the table's).
fn origin_at(value: &Value, path: &str) -> Option<String> {
    let mut at = value;
    for part in parts(path) {
        match &at.kind {
            ValueKind::Table(t) if let Some(inner) = t.get(part) => at = inner,
            _ => break,
        }
    }
    origin(at)
}

/// Removes the entry at the dotted `path` inside `value`; whether there was one.
fn remove_at(value: &mut Value, path: &str) -> bool {
    let parts: Vec<&str> = parts(path).collect();
    let Some((last, parents)) = parts.split_last() else {
        return false;
    };
    let mut at = value;
    for part in parents {
        match &mut at.kind {
            ValueKind::Table(t) => match t.get_mut(*part) {
                Some(inner) => at = inner,
                None => return false,
            },
            _ => return false,
        }
    }
    match &mut at.kind {
        ValueKind::Table(t) => t.remove(*last).is_some(),
        _ => false,
    }
}

/// Whether `s` is usable as a digest or source id (and so as a folder name).
pub fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

/// The first `{name}` in `template` that is not a known placeholder.
fn unknown_placeholder(template: &str) -> Option<String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let name = &after[..close];
        if !TITLE_PLACEHOLDERS.contains(&name) {
            return Some(name.to_string());
        }
        rest = &after[close + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_folder_names() {
        assert!(is_id("best-of-distributed-systems"));
        assert!(!is_id("../etc"));
        assert!(!is_id("Best"));
        assert!(!is_id(""));
        assert!(!is_id("-x"));
    }

    #[test]
    fn max_lateness_defaults_to_the_daemon_section_and_digests_override_it() {
        let config = super::super::for_test(
            "[daemon]\nmax_lateness = \"2h\"\n\n[digests.a]\ntag = \"t\"\nperiod = \"daily\"\n\n\
             [digests.b]\ntag = \"t\"\nperiod = \"daily\"\nmax_lateness = \"1d30m\"\n",
        );
        let lateness = |id: &str| config.digests[id].max_lateness;
        assert_eq!(lateness("a"), chrono::Duration::hours(2));
        assert_eq!(lateness("b"), chrono::Duration::minutes(24 * 60 + 30));
        assert_eq!(config.web.listen.to_string(), DEFAULT_LISTEN);
        let plain = super::super::for_test("[digests.a]\ntag = \"t\"\nperiod = \"daily\"\n");
        assert_eq!(plain.digests["a"].max_lateness, DEFAULT_MAX_LATENESS);
        assert!(plain.digests["a"].schedule.is_none());
    }

    #[test]
    fn title_placeholders_are_checked() {
        assert_eq!(unknown_placeholder("Best of {tag} — {period}"), None);
        assert_eq!(
            unknown_placeholder("#{number}: {tags}"),
            Some("tags".into())
        );
    }
}
