//! What the daemon tells its operator about the runs: the [`Watch`] seam the scheduler calls at
//! each run's start and end, and [`Ops`], which counts the run in the metrics, says it in systemd's
//! status line, emits the webhook event and mails the run report. Also the adapters that let the
//! send loop and ingest count into [`Metrics`].

use std::sync::Arc;
use std::time::Duration;

use crate::catalog::Report;
use crate::clock::Clock;
use crate::config::{Config, Source};
use crate::events::{Event, Events};
use crate::mail::send;
use crate::mail::transport::Transport;
use crate::metrics::Metrics;
use crate::publish::ingest::{self, Observer};
use crate::publish::report::{self, RunReport};
use crate::publish::send::transport;
use crate::store::{RunStatus, State, Store};

use super::{Job, notify};

/// Told by the scheduler when a run starts and ends (on the scheduler's thread: keep it short, or
/// bounded like a report's send).
pub trait Watch: Send + Sync {
    /// `job` was claimed and starts now.
    fn started(&self, config: &Config, job: &Job<'_>);
    /// `job` ended with `status` and `detail`, as recorded in `store`.
    fn finished(
        &self,
        config: &Config,
        store: &Store,
        job: &Job<'_>,
        status: RunStatus,
        detail: &str,
    );
}

/// Tells nobody.
pub struct Unwatched;

impl Watch for Unwatched {
    fn started(&self, _: &Config, _: &Job<'_>) {}
    fn finished(&self, _: &Config, _: &Store, _: &Job<'_>, _: RunStatus, _: &str) {}
}

/// The daemon's [`Watch`]: metrics, systemd status, webhooks and run reports.
pub struct Ops {
    metrics: Arc<Metrics>,
    events: Events,
    clock: Arc<dyn Clock>,
    transport: Option<Arc<dyn Transport>>,
}

impl Ops {
    /// Counting into `metrics`, emitting to `events`, telling time by `clock` and mailing run
    /// reports through the configured relay.
    pub fn new(metrics: Arc<Metrics>, events: Events, clock: Arc<dyn Clock>) -> Ops {
        Ops {
            metrics,
            events,
            clock,
            transport: None,
        }
    }

    /// The same, mailing run reports through `transport` instead.
    pub fn with_transport(self, transport: Arc<dyn Transport>) -> Ops {
        Ops {
            transport: Some(transport),
            ..self
        }
    }

    /// Mails the report of a run to the operators; a failure is logged, never passed on.
    fn report(
        &self,
        config: &Config,
        store: &Store,
        job: &Job<'_>,
        status: RunStatus,
        detail: &str,
    ) {
        if config.monitoring.operators.is_empty() {
            return;
        }
        let id = &job.digest.id;
        let mailed =
            RunReport::collect(config, store, id, job.period, status, detail).and_then(|r| {
                let transport = match &self.transport {
                    Some(t) => t.clone(),
                    None => transport(config, None)?,
                };
                report::mail(config, &*transport, &r, &*self.clock)
            });
        match mailed {
            Ok(reply) => {
                self.metrics.report("sent");
                let reply = reply.unwrap_or_default();
                tracing::info!(digest = %id, period = %job.period, %reply, "run report sent");
            }
            Err(e) => {
                self.metrics.report("failed");
                tracing::error!(digest = %id, period = %job.period, "run report not sent: {e:#}");
            }
        }
    }
}

impl Watch for Ops {
    fn started(&self, _: &Config, job: &Job<'_>) {
        let (id, period) = (&job.digest.id, job.period.to_string());
        notify::status(&format!("running {id} for {period}"));
        self.events
            .emit(Event::run_started(id, &period, self.clock.now()));
    }

    fn finished(
        &self,
        config: &Config,
        store: &Store,
        job: &Job<'_>,
        status: RunStatus,
        detail: &str,
    ) {
        let (id, period) = (&job.digest.id, job.period.to_string());
        if status == RunStatus::Running {
            // Interrupted by a shutdown: it resumes on restart and is reported then.
            self.metrics.run(id, "interrupted");
            return;
        }
        self.metrics.run(id, status.as_str());
        notify::status(&format!("idle; last run: {id} {period} {status}"));
        let now = self.clock.now();
        self.events
            .emit(Event::run_ended(id, &period, status.as_str(), detail, now));
        self.report(config, store, job, status, detail);
    }
}

impl send::Observer for Metrics {
    fn attempt(&self, class: &'static str, took: Duration) {
        Metrics::attempt(self, class, took);
    }

    fn done(&self, digest: &str, state: State) {
        self.message(digest, state.as_str());
    }
}

/// The daemon's ingest observer: logs as [`ingest::Log`] does and counts each source's outcome.
pub struct Metered<'a> {
    /// Where the counts go.
    pub metrics: &'a Metrics,
}

impl Observer for Metered<'_> {
    fn finished(&mut self, source: &Source, report: &Report) {
        ingest::Log.finished(source, report);
        let outcome = match (&report.failure, report.not_modified) {
            (Some(_), _) => "failed",
            (None, true) => "not_modified",
            (None, false) => "ok",
        };
        self.metrics.fetch(&source.name, outcome);
    }
}
