//! The send loop. One task owns the ledger: it reads unsent rows in id order, checks each
//! recipient against the suppressions right before handing it to a worker, and records every
//! outcome as soon as it arrives. Workers (one connection each, `concurrency` of them) build the
//! message, wait for the shared rate limiter and hand it to the transport, retrying transient
//! failures with exponential backoff and jitter (see `send/worker.rs`).
//!
//! A refused recipient does not cost the connection (`RSET`, then the next message); a relay that
//! cannot be reached is waited out, up to [`Options::outage_tolerance`]; a refusal of the message
//! itself (its size, content or sender) that repeats [`MESSAGE_REFUSALS`] times stops the send,
//! leaving the rest pending.
//!
//! A row becomes `sent` only after the server accepted the message, so an interruption at any
//! point loses nobody; the worst case after `kill -9` is a second copy of the messages that were
//! in flight (at most `2 × concurrency`: one per worker and one queued per worker).

use std::collections::VecDeque;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use lettre::Address;
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

use super::Error;
use super::error::Enhanced;
use super::message::Prepared;
use super::rate::Limiter;
use super::transport::Transport;
use crate::clock::Clock;
use crate::model::IssueKey;
use crate::stop::Stop;
use crate::store::{Counts, Pending, Reason, State, Store};

mod worker;

/// Rows read from the ledger at a time.
const PAGE: usize = 256;

/// How long the relay may stay unreachable before a send gives up, unless configured.
pub const OUTAGE_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Identical refusals of the message itself, in a row, that stop a send: the message would be
/// refused for every recipient.
pub const MESSAGE_REFUSALS: u32 = 3;

/// How a send behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Workers (connections, messages in flight).
    pub concurrency: usize,
    /// Attempts per message for transient failures.
    pub max_attempts: u32,
    /// First retry delay (doubled per attempt, with jitter).
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// How long the relay may stay unreachable (every connection attempt failing) before the send
    /// gives up, leaving every unsent row pending. Connection attempts are not charged to
    /// recipients.
    pub outage_tolerance: Duration,
    /// After an interruption, how long in-flight messages may take to finish.
    pub grace: Duration,
    /// Also retry rows that failed permanently before.
    pub retry_failed: bool,
    /// Suppress addresses the server reports as non-existent.
    pub suppress_hard_bounces: bool,
}

/// Running totals of one send. `done() <= total` at every report, and `done() == total` at the end
/// of a send that was neither interrupted nor stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// Rows this send goes through ([`Store::unsent`]), including those it finds suppressed.
    pub total: u64,
    /// Accepted by the server.
    pub sent: u64,
    /// Permanent failures.
    pub failed: u64,
    /// Transient failures that exhausted this run's attempts.
    pub deferred: u64,
    /// Skipped because suppressed.
    pub suppressed: u64,
    /// Extra attempts made after transient failures.
    pub retries: u64,
}

impl Progress {
    /// Rows done, whatever the outcome.
    pub fn done(&self) -> u64 {
        self.sent + self.failed + self.deferred + self.suppressed
    }
}

/// How a send ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// The issue.
    pub issue: IssueKey,
    /// Totals.
    #[serde(flatten)]
    pub progress: Progress,
    /// Stopped by a signal before the end.
    pub interrupted: bool,
    /// Stopped by an error no retry can fix.
    pub fatal: Option<String>,
    /// Seconds from first to last message.
    pub elapsed_secs: f64,
}

impl Summary {
    /// Whether every recipient was dealt with and none failed.
    pub fn is_clean(&self) -> bool {
        !self.interrupted
            && self.fatal.is_none()
            && self.progress.failed == 0
            && self.progress.deferred == 0
    }
}

/// A recipient handed to a worker.
struct Job {
    pending: Pending,
    address: Address,
    date: chrono::DateTime<chrono::Utc>,
}

/// What became of one recipient.
struct Delivery {
    subscriber_id: i64,
    /// The dedupe key (suppressions are by key).
    key: String,
    /// The address, for the log.
    to: String,
    /// Attempts made in this run.
    attempts: u32,
    /// The server's reply, or why not.
    result: Result<String, Error>,
}

impl Delivery {
    /// The ledger state: sent, failed (permanent) or deferred (transient, attempts exhausted).
    fn state(&self) -> State {
        match &self.result {
            Ok(_) => State::Sent,
            Err(e) if e.is_permanent() => State::Failed,
            Err(_) => State::Deferred,
        }
    }
}

enum Outcome {
    /// Attempted, or found unsendable.
    Done(Delivery),
    /// Not attempted (the send is stopping) or stopped by a fatal error: stays unsent.
    Untouched { fatal: Option<String> },
}

/// What a send needs besides the ledger.
pub struct Setup {
    /// The issue, rendered.
    pub prepared: Arc<Prepared>,
    /// Where messages go.
    pub transport: Arc<dyn Transport>,
    /// Shared rate limits.
    pub limiter: Arc<Limiter>,
    /// Behaviour.
    pub options: Options,
    /// Told about every attempt and every recipient done (the daemon's metrics), if any.
    pub observer: Option<Arc<dyn Observer>>,
}

/// Told about a send as it goes, besides the running totals: the daemon's metrics listen here.
pub trait Observer: Send + Sync {
    /// A delivery attempt was answered after `took`: `class` is `accepted`, a refusal's
    /// [`super::error::ReplyClass`] name, or `no_reply` (no connection, a timeout, a dropped
    /// connection).
    fn attempt(&self, class: &'static str, took: Duration);
    /// A recipient of `digest` is done: `state` is sent, failed, deferred or suppressed.
    fn done(&self, digest: &str, state: State);
}

/// The name [`Observer::attempt`] is told for an answer.
fn answer_class(result: &Result<String, Error>) -> &'static str {
    match result {
        Ok(_) => "accepted",
        Err(e) => e.reply().map_or("no_reply", |r| r.class().as_str()),
    }
}

/// What every worker shares.
struct Shared {
    prepared: Arc<Prepared>,
    transport: Arc<dyn Transport>,
    limiter: Arc<Limiter>,
    options: Options,
    observer: Option<Arc<dyn Observer>>,
    /// Asked when the send stops taking new messages (interrupted, or a fatal error).
    halt: Stop,
    /// When the relay became unreachable: the first failed connection attempt since the last one
    /// that succeeded.
    outage: std::sync::Mutex<Option<Instant>>,
    /// Refusals of the message itself, counted by the workers as they come, so that no worker
    /// takes another message once the count is reached.
    refusals: std::sync::Mutex<Refusals>,
}

impl Shared {
    /// Tells workers to take no new message; the moment the grace period ends.
    fn stop(&self) -> Option<Instant> {
        self.halt.request();
        Some(Instant::now() + self.options.grace)
    }
}

/// Recipients a send will try, by the ledger's `counts`: pending and deferred ones, and failed
/// ones with `retry_failed` (rows suppressed now are not among them).
pub fn to_send(counts: &Counts, retry_failed: bool) -> u64 {
    counts.pending + counts.deferred + if retry_failed { counts.failed } else { 0 }
}

/// Sends `prepared` to every unsent ledger row of its issue.
pub async fn run(
    store: &mut Store,
    setup: Setup,
    clock: &dyn Clock,
    stop: &Stop,
    mut report: impl FnMut(&Progress),
) -> Result<Summary> {
    let Setup {
        prepared,
        transport,
        limiter,
        options,
        observer,
    } = setup;
    let issue = prepared.issue_key.clone();
    let digest = prepared.digest().to_string();
    let mut progress = Progress {
        total: store.unsent(&issue, options.retry_failed)?,
        ..Progress::default()
    };
    report(&progress);
    let (job_tx, job_rx) = mpsc::channel::<Job>(options.concurrency);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outcome>();
    let shared = Arc::new(Shared {
        prepared,
        transport,
        limiter,
        options: options.clone(),
        observer: observer.clone(),
        halt: Stop::new(),
        outage: std::sync::Mutex::new(None),
        refusals: std::sync::Mutex::new(Refusals::default()),
    });
    let job_rx = Arc::new(Mutex::new(job_rx));
    let workers: Vec<_> = (0..options.concurrency)
        .map(|_| tokio::spawn(worker::run(job_rx.clone(), out_tx.clone(), shared.clone())))
        .collect();
    drop(out_tx);

    let started = Instant::now();
    let mut summary = Summary {
        issue: issue.clone(),
        progress: Progress::default(),
        interrupted: false,
        fatal: None,
        elapsed_secs: 0.0,
    };
    let mut ledger = Ledger {
        store,
        issue: &issue,
        options: &options,
        clock,
        observer: observer.as_deref(),
    };
    let mut job_tx = Some(job_tx);
    let mut buffer: VecDeque<Pending> = VecDeque::new();
    let (mut cursor, mut exhausted) = (0i64, false);
    let mut deadline: Option<Instant> = None;
    loop {
        if job_tx.is_some() && buffer.is_empty() && !exhausted {
            buffer.extend(
                ledger
                    .store
                    .pending(&issue, cursor, PAGE, options.retry_failed)?,
            );
            match buffer.back() {
                Some(last) => cursor = last.subscriber_id,
                None => exhausted = true,
            }
        }
        if exhausted && buffer.is_empty() {
            // Nothing left to hand out: workers finish what they hold and stop.
            job_tx = None;
        }
        // An owned handle, so the branches below may drop `job_tx`.
        let sender = job_tx.clone().filter(|_| !buffer.is_empty());
        let can_send = sender.is_some();
        let mut fatal = None;
        tokio::select! {
            biased;
            outcome = out_rx.recv() => {
                let Some(first) = outcome else { break };
                let mut batch = vec![first];
                while let Ok(more) = out_rx.try_recv() {
                    batch.push(more);
                }
                fatal = ledger.record(batch, &mut progress)?;
            }
            // Also once every row is handed out: workers may still be waiting out an outage.
            () = stop.requested_now(), if deadline.is_none() => {
                summary.interrupted = true;
                job_tx = None;
                deadline = shared.stop();
            }
            permit = async { sender.expect("guarded").reserve_owned().await }, if can_send => {
                let Ok(permit) = permit else { break };
                let pending = buffer.pop_front().expect("guarded");
                if ledger.store.suppressed(&pending.key, &digest, clock.now())?.is_some() {
                    let row = (pending.subscriber_id, State::Suppressed, 0, None);
                    ledger.store.record(&issue, &[row], clock.now())?;
                    progress.suppressed += 1;
                    if let Some(o) = &observer {
                        o.done(&digest, State::Suppressed);
                    }
                } else {
                    match Address::from_str(&pending.send_to) {
                        Ok(address) => {
                            permit.send(Job { pending, address, date: clock.now() });
                            continue;
                        }
                        Err(e) => {
                            let reply = format!("invalid address in the ledger: {e}");
                            let delivery = Delivery {
                                subscriber_id: pending.subscriber_id,
                                to: pending.send_to,
                                key: pending.key,
                                attempts: 0,
                                result: Err(Error::Unsendable(reply)),
                            };
                            fatal = ledger.record(vec![Outcome::Done(delivery)], &mut progress)?;
                        }
                    }
                }
            }
            () = sleep_until(deadline), if deadline.is_some() => break,
        }
        if let Some(message) = fatal.filter(|_| summary.fatal.is_none()) {
            summary.fatal = Some(message);
            job_tx = None;
            deadline = shared.stop();
        }
        report(&progress);
    }
    shared.halt.request();
    for w in workers {
        w.abort();
    }
    summary.progress = progress;
    summary.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The run's side of the ledger: records outcomes.
struct Ledger<'a> {
    store: &'a mut Store,
    issue: &'a IssueKey,
    options: &'a Options,
    clock: &'a dyn Clock,
    observer: Option<&'a dyn Observer>,
}

impl Ledger<'_> {
    /// Records a batch of outcomes in one transaction; the first reason to stop the send among
    /// them, if any.
    fn record(&mut self, batch: Vec<Outcome>, progress: &mut Progress) -> Result<Option<String>> {
        let now = self.clock.now();
        let mut rows = Vec::with_capacity(batch.len());
        let mut fatal = None;
        for outcome in batch {
            let d = match outcome {
                Outcome::Done(d) => d,
                Outcome::Untouched { fatal: message } => {
                    fatal = fatal.or(message);
                    continue;
                }
            };
            let state = d.state();
            progress.retries += u64::from(d.attempts.saturating_sub(1));
            match state {
                State::Sent => progress.sent += 1,
                State::Failed => progress.failed += 1,
                _ => progress.deferred += 1,
            }
            if let Some(o) = self.observer {
                o.done(&self.issue.digest, state);
            }
            let reply = match &d.result {
                Ok(reply) => reply.clone(),
                Err(e) => e.to_string(),
            };
            if let Err(e) = &d.result {
                if e.is_permanent() {
                    tracing::warn!(to = %d.to, attempts = d.attempts, %reply, "not delivered: permanent failure");
                }
                if e.is_hard_bounce() && self.options.suppress_hard_bounces {
                    self.store
                        .suppress(&d.key, None, Reason::Bounced, Some(&reply), now)?;
                }
            }
            tracing::debug!(to = %d.to, state = state.as_str(), attempts = d.attempts, %reply, "delivery");
            rows.push((d.subscriber_id, state, d.attempts, Some(reply)));
        }
        self.store.record(self.issue, &rows, now)?;
        crate::fault::point("recorded");
        Ok(fatal)
    }
}

/// Refusals of the message itself, in a row (see [`Error::is_message_level`]).
#[derive(Debug, Default)]
struct Refusals {
    /// The reply code and enhanced code of the last one, and how many in a row.
    last: Option<((u16, Option<Enhanced>), u32)>,
}

impl Refusals {
    /// Counts one outcome; the reason to stop once [`MESSAGE_REFUSALS`] identical refusals of
    /// the message came without a delivery in between.
    fn observe(&mut self, result: &Result<String, Error>) -> Option<String> {
        let e = match result {
            Ok(_) => {
                self.last = None;
                return None;
            }
            Err(e) => e,
        };
        let reply = e.reply().filter(|_| e.is_message_level())?;
        let key = (reply.code, reply.enhanced);
        let n = match self.last {
            Some((last, n)) if last == key => n + 1,
            _ => 1,
        };
        self.last = Some((key, n));
        (n >= MESSAGE_REFUSALS).then(|| {
            format!(
                "the server refused the message itself {n} times in a row ({reply}); the other recipients stay pending"
            )
        })
    }
}

#[cfg(test)]
mod tests;
