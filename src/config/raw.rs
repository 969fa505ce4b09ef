//! The configuration as written (serde shapes) and its validation into [`super::Config`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ::config::{Map, Value};
use serde::Deserialize;

use super::{Config, Daemon, Digest, Paths, Problem, Site, Source, Web, typed};
use crate::catalog::tag;
use crate::daemon::schedule::{self, Schedule};
use crate::period::PeriodKind;

/// Top-level sections this version understands.
const SECTIONS: &[&str] = &[
    "site",
    "paths",
    "sources",
    "digests",
    "mail",
    "smtp",
    "lists",
    "unsubscribe",
    "dkim",
    "daemon",
    "web",
];

/// Placeholders a title template may use.
const TITLE_PLACEHOLDERS: &[&str] = &["tag", "period", "number"];

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

/// What a source file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// JSON Lines catalogue, one article per line (see README "Catalogue format").
    Jsonl,
}

impl SourceKind {
    const NAMES: &[(&str, SourceKind)] = &[("jsonl", SourceKind::Jsonl)];
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawDaemon {
    max_lateness: Option<String>,
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
    path: String,
}

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
    schedule: Option<String>,
    #[serde(default)]
    ingest_before: bool,
    max_lateness: Option<String>,
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

/// `[digests.<id>.scoring]`: score = (upvotes × `upvotes` + comments × `comments`) × decay, where
/// decay = 0.5^(age / `half_life_hours`) with age measured back from the end of the window, or 1
/// when no half-life is set.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scoring {
    /// Weight of one upvote.
    pub upvotes: f64,
    /// Weight of one comment.
    pub comments: f64,
    /// Optional half-life of a score, in hours, for rolling windows.
    pub half_life_hours: Option<f64>,
}

impl Default for Scoring {
    fn default() -> Self {
        Scoring {
            upvotes: 1.0,
            comments: 2.0,
            half_life_hours: None,
        }
    }
}

/// Collects problems while turning raw values into typed settings.
pub(super) struct Checker {
    pub(super) root: PathBuf,
    problems: Vec<Problem>,
    /// Names under `[lists]`, for checking the lists digests name.
    lists: Vec<String>,
    /// `[daemon] max_lateness`, the default of every digest's.
    max_lateness: chrono::Duration,
}

impl Checker {
    pub(super) fn new(root: &Path) -> Self {
        Checker {
            root: root.to_path_buf(),
            problems: Vec::new(),
            lists: Vec::new(),
            max_lateness: DEFAULT_MAX_LATENESS,
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
        let origin = table
            .get(first)
            .or_else(|| table.values().next())
            .and_then(origin);
        self.problem(origin.as_deref(), format!("{key}.{field}"), message);
    }

    pub(super) fn typed<T: serde::de::DeserializeOwned>(
        &mut self,
        key: &str,
        value: Value,
    ) -> Option<T> {
        typed(key, value).map_err(|p| self.problems.push(p)).ok()
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
        let sources = self.named("sources", top.remove("sources"), Self::source);
        let sending = self.sending(&mut top);
        self.lists = sending.lists.keys().cloned().collect();
        let digests = self.named("digests", top.remove("digests"), Self::digest);
        Some(Config {
            dir: dir.to_path_buf(),
            root: self.root.clone(),
            site: site?,
            paths,
            sources,
            digests,
            sending,
            daemon,
            web: web?,
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

    fn source(&mut self, key: &str, name: &str, value: Value) -> Option<Source> {
        let (table, raw): (_, RawSource) = self.section(key, value)?;
        let kind = match one_of(&raw.kind, SourceKind::NAMES) {
            Ok(kind) => kind,
            Err(msg) => {
                self.field_problem(&table, key, "kind", msg);
                return None;
            }
        };
        Some(Source {
            name: name.to_string(),
            kind,
            path: self.root.join(raw.path),
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
        if !(1..=100).contains(&raw.size) {
            errors.push((
                "size",
                format!("must be between 1 and 100, not {}", raw.size),
            ));
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
        if !raw.min_score.is_finite() {
            errors.push(("min_score", "must be a finite number".into()));
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
        if let Some(h) = s.half_life_hours.filter(|h| !h.is_finite() || *h <= 0.0) {
            errors.push((
                "scoring.half_life_hours",
                format!("must be > 0 hours, not {h}"),
            ));
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
            schedule,
            ingest_before: raw.ingest_before,
            max_lateness,
        })
    }
}

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

/// Where a value came from; a table takes the origin of its first entry (tables made by a
/// `[header]` carry none of their own).
pub(super) fn origin(value: &Value) -> Option<String> {
    if let Some(o) = value.origin() {
        return Some(o.to_owned());
    }
    match &value.kind {
        ::config::ValueKind::Table(t) => t.values().find_map(origin),
        _ => None,
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
