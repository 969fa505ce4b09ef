//! What one scheduled run does, behind the [`Runner`] seam: [`Build`] ingests (when asked) and
//! freezes the issue of the period; sending plugs in after the freeze (see [`Build::run`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::catalog;
use crate::clock::Clock;
use crate::config::{Config, Digest};
use crate::issue::{self, TooFew};
use crate::period::Period;
use crate::select;
use crate::store::{RunStatus, Store};

/// A shutdown request, shared between the signal handler and a run in progress.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Asks runs to stop: no new run starts, and a run in progress stops after its in-flight work.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

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
    /// The issue is frozen.
    Built {
        /// Issue number.
        number: u32,
        /// Items in the issue.
        items: usize,
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
            RunOutcome::TooFew(_) => RunStatus::SkippedTooFew,
            RunOutcome::Interrupted => RunStatus::Running,
        }
    }

    /// The detail recorded for this outcome.
    pub fn detail(&self) -> String {
        match self {
            RunOutcome::Built { number, items } => format!("issue #{number}, {items} items"),
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

/// The default runner: ingest first if the digest asks (or the store holds no articles yet), then
/// freeze the issue.
#[derive(Clone)]
pub struct Build {
    clock: Arc<dyn Clock>,
}

impl Build {
    /// A runner stamping issues with `clock`'s time.
    pub fn new(clock: Arc<dyn Clock>) -> Build {
        Build { clock }
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
                match catalog::ingest(source, &mut store, &fetcher, self.clock.now()) {
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

impl Runner for Build {
    fn run(&self, config: &Config, job: &Job<'_>, stop: &Stop) -> Result<RunOutcome> {
        let store = self.store(config, job.digest)?;
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
        // Sending plugs in here: send `issue` through the ledger (resuming where it stopped),
        // checking `stop` between messages and returning `RunOutcome::Interrupted` if it is set.
        Ok(RunOutcome::Built {
            number: issue.number,
            items: issue.items.len(),
        })
    }
}
