//! The daemon's Prometheus metrics (a leaf: it knows no other module). [`Metrics`] holds the
//! registry: the send loop, the scheduler and ingest count events in it as they happen (through
//! the observer seams of `mail::send`, `daemon` and `publish::ingest`), and the web side sets the
//! gauges of durable state from the store at each scrape ([`Snapshot`]), so that those survive a
//! restart and always agree with the ledger.
//!
//! Labels are bounded: digest ids and source names come from the configuration, outcomes and
//! classes from fixed lists; no address and no period is ever a label value.

use std::sync::atomic::Ordering;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// A label set: `(name, value)` pairs.
type Labels = Vec<(&'static str, String)>;

/// The content type of [`Format::OpenMetrics`].
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of [`Format::Text`].
pub const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition formats [`Metrics::expose`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 (what Prometheus asks for): counters' samples end in `_total` under a
    /// family without it, `# UNIT` lines, a final `# EOF`.
    OpenMetrics,
    /// The classic Prometheus text format 0.0.4 (what `promtool check metrics` and older
    /// scrapers read): the same samples, with each counter's family named like its samples.
    Text,
}

impl Format {
    /// The format a scraper's `Accept` header asks for: OpenMetrics if it names it, else text.
    pub fn negotiate(accept: &str) -> Format {
        match accept.contains("application/openmetrics-text") {
            true => Format::OpenMetrics,
            false => Format::Text,
        }
    }

    /// The response's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS,
            Format::Text => TEXT,
        }
    }
}

/// Every metric the daemon exposes, in one registry.
pub struct Metrics {
    registry: Registry,
    runs: Family<Labels, Counter>,
    messages: Family<Labels, Counter>,
    replies: Family<Labels, Counter>,
    send_seconds: Histogram,
    fetches: Family<Labels, Counter>,
    webhooks: Family<Labels, Counter>,
    reports: Family<Labels, Counter>,
    ledger: Family<Labels, Gauge>,
    last_success: Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    period_seconds: Family<Labels, Gauge>,
    source_success: Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    source_failures: Family<Labels, Gauge>,
    suppressions: Family<Labels, Gauge>,
    inbound: Family<Labels, Counter>,
    signup_domains: Family<Labels, Counter>,
    /// Held while a scrape sets the store's gauges and renders, so two scrapes do not interleave.
    scraping: std::sync::Mutex<()>,
}

/// Durable state read from the store at scrape time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Ledger rows per (digest, state), over every issue.
    pub ledger: Vec<(String, String, u64)>,
    /// The end of each digest's last run that built or sent its issue (Unix seconds).
    pub last_success: Vec<(String, i64)>,
    /// The nominal length of each scheduled digest's period, in seconds.
    pub period_seconds: Vec<(String, i64)>,
    /// Per source: the last successful ingest (Unix seconds, if any) and the failures since.
    pub sources: Vec<(String, Option<i64>, u32)>,
    /// Suppressions in force, per reason (`unsubscribed`, `bounced`, `complained`, `manual`).
    pub suppressions: Vec<(String, u64)>,
    /// Inbound events (returned mail) recorded, per kind and class (bounce/hard, complaint/…).
    pub inbound: Vec<(String, String, u64)>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// An empty registry with every metric registered under the `digest_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("digest");
        let send_seconds = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        let m = Metrics {
            runs: Family::default(),
            messages: Family::default(),
            replies: Family::default(),
            send_seconds: send_seconds.clone(),
            fetches: Family::default(),
            webhooks: Family::default(),
            reports: Family::default(),
            ledger: Family::default(),
            last_success: Family::default(),
            period_seconds: Family::default(),
            source_success: Family::default(),
            source_failures: Family::default(),
            suppressions: Family::default(),
            inbound: Family::default(),
            signup_domains: Family::default(),
            scraping: std::sync::Mutex::new(()),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "runs",
            "Scheduled runs finished by this process, by digest and outcome (the run's status)",
            m.runs.clone(),
        );
        r.register(
            "messages",
            "Recipients dealt with by this process, by digest and outcome (sent, failed, deferred, suppressed)",
            m.messages.clone(),
        );
        r.register(
            "smtp_replies",
            "Answers to delivery attempts by class (accepted, throttle, bad_address, mailbox_full, too_big, refused, other_transient, other_permanent, no_reply)",
            m.replies.clone(),
        );
        r.register_with_unit(
            "send_duration",
            "Time from handing a message to the relay to its answer, per attempt",
            Unit::Seconds,
            send_seconds,
        );
        r.register(
            "feed_fetches",
            "Source ingests by this process, by source and outcome (ok, not_modified, failed)",
            m.fetches.clone(),
        );
        r.register(
            "webhook_deliveries",
            "Event webhook POSTs, by event and outcome (delivered, retried, dropped)",
            m.webhooks.clone(),
        );
        r.register(
            "run_reports",
            "Run reports mailed to the operators, by outcome (sent, failed)",
            m.reports.clone(),
        );
        r.register(
            "ledger_messages",
            "Ledger rows in the store over every issue, by digest and state",
            m.ledger.clone(),
        );
        r.register(
            "last_success_timestamp_seconds",
            "When each digest's last successful run (built or sent) finished, from the store",
            m.last_success.clone(),
        );
        r.register(
            "period_seconds",
            "The nominal length of each scheduled digest's period (a month counts 31 days)",
            m.period_seconds.clone(),
        );
        r.register(
            "source_last_success_timestamp_seconds",
            "When each source was last ingested successfully (a 304 counts), from the store",
            m.source_success.clone(),
        );
        r.register(
            "source_consecutive_failures",
            "Failed ingests of each source since its last successful one, from the store",
            m.source_failures.clone(),
        );
        r.register(
            "suppressions",
            "Suppressions in force in the store, by reason (unsubscribed, bounced, complained, manual)",
            m.suppressions.clone(),
        );
        r.register(
            "inbound_events",
            "Returned mail recorded in the store, by kind (bounce, complaint, …) and class (hard, soft, …)",
            m.inbound.clone(),
        );
        r.register(
            "signup_domain_checks",
            "MX checks of sign-up addresses' domains by this process, by result (mx, address, no_mail, unknown: the lookup failed and the mail went anyway)",
            m.signup_domains.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The MX check of a sign-up address's domain ended with `result`.
    pub fn signup_domain(&self, result: &str) {
        self.signup_domains
            .get_or_create(&vec![("result", result.to_string())])
            .inc();
    }

    /// A scheduled run of `digest` ended with `outcome` (a run status).
    pub fn run(&self, digest: &str, outcome: &str) {
        self.runs
            .get_or_create(&vec![
                ("digest", digest.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
    }

    /// A recipient of `digest` was dealt with: `outcome` is sent, failed, deferred or suppressed.
    pub fn message(&self, digest: &str, outcome: &str) {
        self.messages
            .get_or_create(&vec![
                ("digest", digest.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
    }

    /// A delivery attempt was answered with a reply of `class` after `took`.
    pub fn attempt(&self, class: &str, took: Duration) {
        self.replies
            .get_or_create(&vec![("class", class.to_string())])
            .inc();
        self.send_seconds.observe(took.as_secs_f64());
    }

    /// `source` was ingested with `outcome` (ok, not_modified or failed).
    pub fn fetch(&self, source: &str, outcome: &str) {
        self.fetches
            .get_or_create(&vec![
                ("source", source.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
    }

    /// A webhook POST for `event` ended with `outcome` (delivered, retried or dropped).
    pub fn webhook(&self, event: &str, outcome: &str) {
        self.webhooks
            .get_or_create(&vec![
                ("event", event.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
    }

    /// A run report was mailed (`sent`) or could not be (`failed`).
    pub fn report(&self, outcome: &str) {
        self.reports
            .get_or_create(&vec![("outcome", outcome.to_string())])
            .inc();
    }

    /// The exposition in `format` after replacing the gauges of durable state with `snapshot`
    /// (series no longer in it disappear).
    pub fn expose(&self, snapshot: &Snapshot, format: Format) -> String {
        let _one_at_a_time = self.scraping.lock().unwrap_or_else(|e| e.into_inner());
        self.set(snapshot);
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        match format {
            Format::OpenMetrics => out,
            Format::Text => classic(&out),
        }
    }

    fn set(&self, snapshot: &Snapshot) {
        let s = snapshot;
        self.ledger.clear();
        for (digest, state, n) in &s.ledger {
            let labels = vec![("digest", digest.clone()), ("state", state.clone())];
            self.ledger.get_or_create(&labels).set(gauge(*n));
        }
        self.last_success.clear();
        for (digest, at) in &s.last_success {
            let labels = vec![("digest", digest.clone())];
            self.last_success.get_or_create(&labels).set(*at as f64);
        }
        self.period_seconds.clear();
        for (digest, secs) in &s.period_seconds {
            let labels = vec![("digest", digest.clone())];
            self.period_seconds.get_or_create(&labels).set(*secs);
        }
        self.source_success.clear();
        self.source_failures.clear();
        for (source, at, failures) in &s.sources {
            let labels = vec![("source", source.clone())];
            if let Some(at) = at {
                self.source_success.get_or_create(&labels).set(*at as f64);
            }
            let failures = i64::from(*failures);
            self.source_failures.get_or_create(&labels).set(failures);
        }
        self.suppressions.clear();
        for (reason, n) in &s.suppressions {
            let labels = vec![("reason", reason.clone())];
            self.suppressions.get_or_create(&labels).set(gauge(*n));
        }
        // Counted in the store, which only ever adds events: a counter whose value is set.
        self.inbound.clear();
        for (kind, class, n) in &s.inbound {
            let labels = vec![("kind", kind.clone()), ("class", class.clone())];
            let counter = self.inbound.get_or_create(&labels);
            counter.inner().store(*n, Ordering::Relaxed);
        }
    }
}

/// The classic text format of an OpenMetrics exposition of this registry (counters, gauges and
/// histograms only): a counter family takes its samples' `_total` name, `# UNIT` and `# EOF` go.
fn classic(openmetrics: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for line in openmetrics.lines() {
        if let Some(name) = line
            .strip_prefix("# TYPE ")
            .and_then(|rest| rest.strip_suffix(" counter"))
        {
            counters.insert(name.to_string());
        }
    }
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|tag| {
            let rest = line.strip_prefix(tag)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{tag}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_store_gauges_appear_with_bounded_labels() {
        // A metric missing from the exposition, or a gauge keeping a series the store no longer
        // has, would make an alert fire on stale data.
        let m = Metrics::new();
        m.run("weekly", "sent");
        m.message("weekly", "sent");
        m.message("weekly", "sent");
        m.attempt("accepted", Duration::from_millis(20));
        m.fetch("blog", "failed");
        let mut snapshot = Snapshot {
            ledger: vec![("weekly".into(), "sent".into(), 2)],
            last_success: vec![("weekly".into(), 1_700_000_000)],
            suppressions: vec![("unsubscribed".into(), 3)],
            inbound: vec![("complaint".into(), "complaint".into(), 1)],
            ..Snapshot::default()
        };
        let text = m.expose(&snapshot, Format::OpenMetrics);
        for line in [
            "digest_runs_total{digest=\"weekly\",outcome=\"sent\"} 1",
            "digest_messages_total{digest=\"weekly\",outcome=\"sent\"} 2",
            "digest_smtp_replies_total{class=\"accepted\"} 1",
            "digest_send_duration_seconds_count 1",
            "digest_feed_fetches_total{source=\"blog\",outcome=\"failed\"} 1",
            "digest_ledger_messages{digest=\"weekly\",state=\"sent\"} 2",
            "digest_last_success_timestamp_seconds{digest=\"weekly\"} 1700000000",
            "digest_suppressions{reason=\"unsubscribed\"} 3",
            "digest_inbound_events_total{kind=\"complaint\",class=\"complaint\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        snapshot.ledger.clear();
        let text = m.expose(&snapshot, Format::Text);
        assert!(!text.contains("digest_ledger_messages{"));
        // The classic format names a counter's family like its samples, without `# EOF`.
        assert!(
            text.contains("# TYPE digest_runs_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP digest_runs_total Scheduled runs"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE digest_suppressions gauge\n"),
            "{text}"
        );
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{text}"
        );
        assert_eq!(
            Format::negotiate(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            ),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate("*/*"), Format::Text);
    }
}
