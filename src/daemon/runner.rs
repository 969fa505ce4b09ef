//! What one scheduled run does, behind the [`Runner`] seam: [`Publish`] ingests (when asked),
//! freezes the issue of the period and sends it to the digest's lists through the same ledger as
//! `digest send`, so a run interrupted by a shutdown or a crash resumes where it stopped.

use std::sync::Arc;

use std::time::Duration;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::{Config, Digest};
use crate::mail::transport::Transport;
use crate::metrics::Metrics;
use crate::period::Period;
use crate::publish::build::{self, Allow, BuildError, TooFew};
use crate::publish::ingest::{self, Lazy, Refresh};
use crate::publish::send::{self, Plan};
use crate::stop::Stop;
use crate::store::{Counts, RunStatus};

use super::ops::Metered;

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
        /// The issue's ledger after the run: totals over every attempt, not only this one.
        ledger: Counts,
        /// Messages accepted by this attempt.
        sent_now: u64,
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
                ledger: c,
                sent_now,
            } => format!(
                "issue #{number}, {items} items; sent {}, failed {}, suppressed {} ({sent_now} sent by this attempt)",
                c.sent, c.failed, c.suppressed
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
/// freeze the issue, then send it to the digest's lists, all through [`crate::publish`].
#[derive(Clone)]
pub struct Publish {
    clock: Arc<dyn Clock>,
    transport: Option<Arc<dyn Transport>>,
    metrics: Option<Arc<Metrics>>,
}

impl Publish {
    /// A runner stamping issues and messages with `clock`'s time, sending through the configured
    /// relay.
    pub fn new(clock: Arc<dyn Clock>) -> Publish {
        Publish {
            clock,
            transport: None,
            metrics: None,
        }
    }

    /// The same runner counting ingests, attempts and recipients into `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Publish {
        Publish {
            metrics: Some(metrics),
            ..self
        }
    }

    /// The same runner sending through `transport` instead of the configured relay.
    pub fn with_transport(self, transport: Arc<dyn Transport>) -> Publish {
        Publish {
            transport: Some(transport),
            ..self
        }
    }
}

impl Runner for Publish {
    fn run(&self, config: &Config, job: &Job<'_>, stop: &Stop) -> Result<RunOutcome> {
        let clock = &*self.clock;
        let refresh = match job.digest.ingest_before {
            true => Refresh::Always,
            false => Refresh::IfEmpty,
        };
        let mut log = ingest::Log;
        let mut metered;
        let observer: &mut dyn ingest::Observer = match &self.metrics {
            Some(metrics) => {
                metered = Metered { metrics };
                &mut metered
            }
            None => &mut log,
        };
        let mut store = ingest::open(config, refresh, clock, observer)?;
        if stop.requested() {
            return Ok(RunOutcome::Interrupted);
        }
        let mut lazy = Lazy::opened(store);
        // A scheduled run never allows an oversize issue: it fails, saying why.
        let built = build::freeze(
            config,
            job.digest,
            job.period,
            Allow::default(),
            clock,
            &mut lazy,
        );
        store = lazy.into_store().expect("opened before freezing");
        let issue = match built {
            Ok(built) => built.issue,
            Err(BuildError::TooFew(too_few)) => return Ok(RunOutcome::TooFew(too_few)),
            Err(e @ BuildError::Open(_)) => return Err(e.into()),
            Err(BuildError::Failed(e)) => return Err(e),
        };
        let (number, items) = (issue.number, issue.items.len());
        if job.digest.lists.is_empty() {
            return Ok(RunOutcome::Built { number, items });
        }
        let mut plan = Plan::of(config, job.digest, issue, false)?;
        if let Some(metrics) = &self.metrics {
            plan = plan.observed(metrics.clone());
        }
        let audience = plan.resolve(&mut store, false, clock)?;
        for skipped in &audience.resolution.invalid {
            tracing::warn!(digest = %job.digest.id, "skipped invalid recipient {skipped}");
        }
        let transport = match &self.transport {
            Some(t) => t.clone(),
            None => send::transport(config, None)?,
        };
        let mut logged = std::time::Instant::now();
        let summary = plan.run(&mut store, transport, false, clock, stop, |p| {
            if logged.elapsed() >= Duration::from_secs(10) {
                logged = std::time::Instant::now();
                tracing::info!(digest = %job.digest.id, sent = p.sent, failed = p.failed, deferred = p.deferred, total = p.total, "sending");
            }
        })?;
        if summary.interrupted {
            return Ok(RunOutcome::Interrupted);
        }
        let ledger = store.counts(plan.key())?;
        if let Some(fatal) = summary.fatal {
            bail!("sending stopped: {fatal} (so far: {})", totals(&ledger));
        }
        if ledger.deferred > 0 {
            // Recorded as failed, so the daemon retries the run: the ledger resends only these.
            bail!(
                "{} recipient(s) deferred after transient failures ({})",
                ledger.deferred,
                totals(&ledger)
            );
        }
        Ok(RunOutcome::Sent {
            number,
            items,
            ledger,
            sent_now: summary.progress.sent,
        })
    }
}

/// The ledger's totals, for run details.
fn totals(c: &Counts) -> String {
    format!(
        "{} sent, {} failed, {} deferred, {} suppressed, {} pending in all",
        c.sent, c.failed, c.deferred, c.suppressed, c.pending
    )
}
