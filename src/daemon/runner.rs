//! What one scheduled run does, behind the [`Runner`] seam: [`Publish`] ingests (when asked),
//! freezes the issue of the period and sends it to the digest's lists through the same ledger as
//! `digest send`, so a run interrupted by a shutdown or a crash resumes where it stopped.

use std::sync::Arc;

use std::time::Duration;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use crate::catalog;
use crate::clock::Clock;
use crate::config::{Config, Digest};
use crate::issue::{self, Issue, TooFew};
use crate::mail::send::{self, Summary};
use crate::mail::{campaign, ledger};
use crate::period::Period;
use crate::select;
use crate::stop::Stop;
use crate::store::{RunStatus, Store};

/// One run to do: the issue of `digest` for `period`, due at `scheduled_at`.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// The digest.
    pub digest: &'a Digest,
    /// The period that closed.
    pub period: Period,
    /// The fire time the run was due at.
    pub scheduled_at: DateTime<Utc>,
}

/// How a run ended (an `Err` from [`Runner::run`] is recorded as `failed`).
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// The issue is frozen (a digest without lists is not sent).
    Built {
        /// Issue number.
        number: u32,
        /// Items in the issue.
        items: usize,
    },
    /// The issue is frozen and every recipient was dealt with.
    Sent {
        /// Issue number.
        number: u32,
        /// Items in the issue.
        items: usize,
        /// Messages accepted now.
        sent: u64,
        /// Permanent failures now.
        failed: u64,
        /// Recipients skipped as suppressed now.
        suppressed: u64,
    },
    /// Too few items qualified: no issue, nothing to send.
    TooFew(TooFew),
    /// A stop was requested before the run finished; the run stays open and resumes on restart.
    Interrupted,
}

impl RunOutcome {
    /// The status recorded for this outcome.
    pub fn status(&self) -> RunStatus {
        match self {
            RunOutcome::Built { .. } => RunStatus::Built,
            RunOutcome::Sent { .. } => RunStatus::Sent,
            RunOutcome::TooFew(_) => RunStatus::SkippedTooFew,
            RunOutcome::Interrupted => RunStatus::Running,
        }
    }

    /// The detail recorded for this outcome.
    pub fn detail(&self) -> String {
        match self {
            RunOutcome::Built { number, items } => format!("issue #{number}, {items} items"),
            RunOutcome::Sent {
                number,
                items,
                sent,
                failed,
                suppressed,
            } => format!(
                "issue #{number}, {items} items; sent {sent}, failed {failed}, suppressed {suppressed}"
            ),
            RunOutcome::TooFew(too_few) => too_few.to_string(),
            RunOutcome::Interrupted => "interrupted by shutdown; resumes on restart".into(),
        }
    }
}

/// Does one run. Called on the scheduler's thread (never on the async runtime), once per claimed
/// (digest, period), and again after a crash or an interruption: it must be idempotent.
pub trait Runner: Send + Sync {
    /// Builds (and, once wired, sends) the issue of `job`, checking `stop` between steps.
    fn run(&self, config: &Config, job: &Job<'_>, stop: &Stop) -> Result<RunOutcome>;
}

/// The daemon's runner: ingest first if the digest asks (or the store holds no articles yet),
/// freeze the issue, then send it to the digest's lists.
#[derive(Clone)]
pub struct Publish {
    clock: Arc<dyn Clock>,
}

impl Publish {
    /// A runner stamping issues and messages with `clock`'s time.
    pub fn new(clock: Arc<dyn Clock>) -> Publish {
        Publish { clock }
    }

    /// Sends `issue` to every recipient of `digest` not yet sent to, stopping (with in-flight
    /// messages finished and recorded) when `stop` is requested.
    fn send(
        &self,
        config: &Config,
        digest: &Digest,
        issue: &Issue,
        store: &mut Store,
        stop: &Stop,
    ) -> Result<Summary> {
        let prepared = Arc::new(campaign::prepare(config, digest, issue)?);
        let lists = ledger::lists(config, digest)?;
        let resolution = ledger::resolve(store, &prepared.issue_key, &lists, self.clock.now())?;
        for skipped in &resolution.invalid {
            tracing::warn!(digest = %digest.id, "skipped invalid recipient {skipped}");
        }
        let connector = campaign::smtp_connector(config)?;
        let setup = campaign::setup(config, prepared, connector, store, &*self.clock, false)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let mut logged = std::time::Instant::now();
            send::run(store, setup, &*self.clock, stop, |p| {
                if logged.elapsed() >= Duration::from_secs(10) {
                    logged = std::time::Instant::now();
                    tracing::info!(digest = %digest.id, sent = p.sent, failed = p.failed, deferred = p.deferred, total = p.total, "sending");
                }
            })
            .await
        })
    }

    /// Opens the store, ingesting every configured source first when the digest has
    /// `ingest_before` or the store holds no articles. A failing source is logged; the others
    /// still load.
    fn store(&self, config: &Config, digest: &Digest) -> Result<Store> {
        let mut store = Store::open(&config.paths.store)?;
        if digest.ingest_before || store.article_counts()?.0 == 0 {
            // The scheduler thread is not inside tokio, so the blocking HTTP client is fine here.
            let fetcher = catalog::fetch::Fetcher::new(&config.fetch);
            for source in config.sources.values() {
                match catalog::ingest(source, &mut store, &fetcher, self.clock.now(), &|_| {}) {
                    Ok(report) if report.failure.is_none() => tracing::info!(
                        source = %source.name,
                        new = report.stats.new,
                        updated = report.stats.updated,
                        skipped = report.error_count,
                        "ingested"
                    ),
                    Ok(report) => tracing::warn!(
                        source = %source.name,
                        "ingest failed: {}",
                        report.failure.unwrap_or_default()
                    ),
                    Err(e) => tracing::warn!(source = %source.name, "ingest failed: {e:#}"),
                }
            }
        }
        Ok(store)
    }
}

impl Runner for Publish {
    fn run(&self, config: &Config, job: &Job<'_>, stop: &Stop) -> Result<RunOutcome> {
        let mut store = self.store(config, job.digest)?;
        if stop.requested() {
            return Ok(RunOutcome::Interrupted);
        }
        let frozen = issue::freeze(
            &config.paths.digests,
            job.digest,
            job.period,
            false,
            self.clock.now(),
            || select::rank_period(&config.sources, &store, job.digest, job.period),
        );
        let (issue, _) = match frozen {
            Ok(frozen) => frozen,
            Err(e) => return e.downcast::<TooFew>().map(RunOutcome::TooFew),
        };
        let (number, items) = (issue.number, issue.items.len());
        if job.digest.lists.is_empty() {
            return Ok(RunOutcome::Built { number, items });
        }
        let summary = self.send(config, job.digest, &issue, &mut store, stop)?;
        let p = summary.progress;
        if summary.interrupted {
            return Ok(RunOutcome::Interrupted);
        }
        if let Some(fatal) = summary.fatal {
            bail!("sending stopped: {fatal}");
        }
        if p.deferred > 0 {
            // Recorded as failed, so the daemon retries the run: the ledger resends only these.
            bail!(
                "{} recipient(s) deferred after transient failures ({} sent)",
                p.deferred,
                p.sent
            );
        }
        Ok(RunOutcome::Sent {
            number,
            items,
            sent: p.sent,
            failed: p.failed,
            suppressed: p.suppressed,
        })
    }
}
