//! The send loop. One task owns the ledger: it reads unsent rows in id order, checks each
//! recipient against the suppressions right before handing it to a worker, and records every
//! outcome as soon as it arrives. Workers (one connection each, `concurrency` of them) build the
//! message, wait for the shared rate limiter and hand it to the transport, retrying transient
//! failures with exponential backoff and jitter.
//!
//! A row becomes `sent` only after the server accepted the message, so an interruption at any
//! point loses nobody; the worst case after `kill -9` is a second copy of the messages that were
//! in flight (at most `2 × concurrency`: one per worker and one queued per worker).

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use anyhow::Result;
use lettre::Address;
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

use super::Error;
use super::message::{Prepared, To};
use super::rate::Limiter;
use super::transport::{Connection, Connector};
use crate::clock::Clock;
use crate::model::IssueKey;
use crate::stop::Stop;
use crate::store::{Pending, Reason, State, Store};

/// Rows read from the ledger at a time.
const PAGE: usize = 256;

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
    /// After an interruption, how long in-flight messages may take to finish.
    pub grace: Duration,
    /// Also retry rows that failed permanently before.
    pub retry_failed: bool,
    /// Suppress addresses the server reports as non-existent.
    pub suppress_hard_bounces: bool,
}

/// Running totals of one send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// Rows to work on when the send started.
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
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    /// The issue.
    pub issue: Option<IssueKey>,
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

struct Job {
    pending: Pending,
    address: Address,
    date: chrono::DateTime<chrono::Utc>,
}

enum Outcome {
    Done {
        job: Job,
        state: State,
        attempts: u32,
        reply: String,
        bounce: bool,
    },
    /// Not attempted (the send is stopping) or stopped by a fatal error: stays unsent.
    Untouched { fatal: Option<String> },
}

/// What a send needs besides the ledger.
pub struct Setup {
    /// The issue, rendered.
    pub prepared: Arc<Prepared>,
    /// Where messages go.
    pub connector: Connector,
    /// Shared rate limits.
    pub limiter: Arc<Limiter>,
    /// Behaviour.
    pub options: Options,
}

/// What every worker shares.
struct Shared {
    prepared: Arc<Prepared>,
    connector: Connector,
    limiter: Arc<Limiter>,
    options: Options,
    stopping: AtomicBool,
    /// Consecutive failed connection attempts across workers; reset by any success.
    connect_failures: AtomicU32,
}

impl Shared {
    /// Tells workers to take no new message; the moment the grace period ends.
    fn stop(&self) -> Option<Instant> {
        self.stopping.store(true, Ordering::SeqCst);
        Some(Instant::now() + self.options.grace)
    }
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
        connector,
        limiter,
        options,
    } = setup;
    let issue = prepared.issue_key.clone();
    let digest = prepared.digest().to_string();
    let counts = store.counts(&issue)?;
    let mut progress = Progress {
        total: counts.pending
            + counts.deferred
            + if options.retry_failed {
                counts.failed
            } else {
                0
            },
        ..Progress::default()
    };
    report(&progress);
    let (job_tx, job_rx) = mpsc::channel::<Job>(options.concurrency);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outcome>();
    let shared = Arc::new(Shared {
        prepared,
        connector,
        limiter,
        options: options.clone(),
        stopping: AtomicBool::new(false),
        connect_failures: AtomicU32::new(0),
    });
    let job_rx = Arc::new(Mutex::new(job_rx));
    let workers: Vec<_> = (0..options.concurrency)
        .map(|_| tokio::spawn(worker(job_rx.clone(), out_tx.clone(), shared.clone())))
        .collect();
    drop(out_tx);

    let started = Instant::now();
    let mut summary = Summary {
        issue: Some(issue.clone()),
        ..Summary::default()
    };
    let mut job_tx = Some(job_tx);
    let mut buffer: VecDeque<Pending> = VecDeque::new();
    let (mut cursor, mut exhausted) = (0i64, false);
    let mut deadline: Option<Instant> = None;
    loop {
        if job_tx.is_some() && buffer.is_empty() && !exhausted {
            buffer.extend(store.pending(&issue, cursor, PAGE, options.retry_failed)?);
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
        tokio::select! {
            biased;
            outcome = out_rx.recv() => {
                let Some(first) = outcome else { break };
                let mut batch = vec![first];
                while let Ok(more) = out_rx.try_recv() {
                    batch.push(more);
                }
                let fatal = record(store, &issue, batch, &mut progress, &options, clock)?;
                if let Some(message) = fatal.filter(|_| summary.fatal.is_none()) {
                    summary.fatal = Some(message);
                    job_tx = None;
                    deadline = shared.stop();
                }
                report(&progress);
            }
            () = stop.requested_now(), if job_tx.is_some() => {
                summary.interrupted = true;
                job_tx = None;
                deadline = shared.stop();
            }
            permit = async { sender.expect("guarded").reserve_owned().await }, if can_send => {
                let Ok(permit) = permit else { break };
                let pending = buffer.pop_front().expect("guarded");
                if store.suppressed(&pending.key, &digest)?.is_some() {
                    store.record(&issue, &[(pending.subscriber_id, State::Suppressed, 0, None)], clock.now())?;
                    progress.suppressed += 1;
                    report(&progress);
                    continue;
                }
                match Address::from_str(&pending.send_to) {
                    Ok(address) => {
                        permit.send(Job { pending, address, date: clock.now() });
                    }
                    Err(e) => {
                        let reply = format!("invalid address in the ledger: {e}");
                        store.record(&issue, &[(pending.subscriber_id, State::Failed, 0, Some(reply))], clock.now())?;
                        progress.failed += 1;
                    }
                }
            }
            () = sleep_until(deadline), if deadline.is_some() => break,
        }
    }
    shared.stopping.store(true, Ordering::SeqCst);
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

/// Records a batch of outcomes in one transaction; the first fatal error among them, if any.
fn record(
    store: &mut Store,
    issue: &IssueKey,
    batch: Vec<Outcome>,
    progress: &mut Progress,
    options: &Options,
    clock: &dyn Clock,
) -> Result<Option<String>> {
    let now = clock.now();
    let mut rows = Vec::with_capacity(batch.len());
    let mut fatal = None;
    for outcome in batch {
        match outcome {
            Outcome::Done {
                job,
                state,
                attempts,
                reply,
                bounce,
            } => {
                progress.retries += u64::from(attempts.saturating_sub(1));
                match state {
                    State::Sent => progress.sent += 1,
                    State::Failed => progress.failed += 1,
                    _ => progress.deferred += 1,
                }
                if bounce && options.suppress_hard_bounces {
                    store.suppress(&job.pending.key, None, Reason::Bounced, Some(&reply), now)?;
                }
                tracing::debug!(to = %job.address, state = state.as_str(), attempts, %reply, "delivery");
                rows.push((job.pending.subscriber_id, state, attempts, Some(reply)));
            }
            Outcome::Untouched {
                fatal: Some(message),
            } => fatal = fatal.or(Some(message)),
            Outcome::Untouched { fatal: None } => {}
        }
    }
    store.record(issue, &rows, now)?;
    crate::fault::point("recorded");
    Ok(fatal)
}

async fn worker(
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
    out: mpsc::UnboundedSender<Outcome>,
    shared: Arc<Shared>,
) {
    let mut conn: Option<Connection> = None;
    loop {
        let job = jobs.lock().await.recv().await;
        let Some(job) = job else { break };
        let outcome = if shared.stopping.load(Ordering::SeqCst) {
            Outcome::Untouched { fatal: None }
        } else {
            deliver(job, &mut conn, &shared).await
        };
        let fatal = matches!(outcome, Outcome::Untouched { fatal: Some(_) });
        if out.send(outcome).is_err() || fatal {
            break;
        }
    }
    if let Some(c) = conn {
        c.close().await;
    }
}

/// Delivers one message, retrying transient failures.
async fn deliver(job: Job, conn: &mut Option<Connection>, shared: &Shared) -> Outcome {
    let options = &shared.options;
    let p = &job.pending;
    let to = To {
        subscriber: p.subscriber_id,
        key: &p.key,
        address: &job.address,
        name: p.name.as_deref(),
    };
    let (envelope, bytes) = match shared.prepared.bytes(&to, job.date) {
        Ok(message) => message,
        Err(e) => {
            let reply = format!("could not build the message: {e:#}");
            return Outcome::Done {
                job,
                state: State::Failed,
                attempts: 0,
                reply,
                bounce: false,
            };
        }
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        shared.limiter.acquire().await;
        let result = match conn.as_mut() {
            Some(c) => c.send(&envelope, &bytes).await,
            None => match shared.connector.connect().await {
                Ok(mut c) => {
                    shared.connect_failures.store(0, Ordering::SeqCst);
                    let r = c.send(&envelope, &bytes).await;
                    *conn = Some(c);
                    r
                }
                Err(e) => Err(connect_failed(e, shared)),
            },
        };
        let error = match result {
            Ok(reply) => {
                crate::fault::point("accepted");
                return Outcome::Done {
                    job,
                    state: State::Sent,
                    attempts: attempt,
                    reply,
                    bounce: false,
                };
            }
            Err(e) => e,
        };
        // Any failure ends the connection: lettre closes it after a failed command, and after a
        // timeout it is stuck mid-transaction. The next attempt opens a new one.
        conn.take();
        match &error {
            Error::Fatal(message) => {
                return Outcome::Untouched {
                    fatal: Some(message.clone()),
                };
            }
            Error::Permanent(reply) => {
                let bounce = error.is_hard_bounce();
                return Outcome::Done {
                    job,
                    state: State::Failed,
                    attempts: attempt,
                    reply: reply.clone(),
                    bounce,
                };
            }
            Error::Transient(reply) | Error::Connection(reply)
                if attempt >= options.max_attempts =>
            {
                return Outcome::Done {
                    job,
                    state: State::Deferred,
                    attempts: attempt,
                    reply: reply.clone(),
                    bounce: false,
                };
            }
            _ => {}
        }
        let wait = backoff(options, attempt, p.subscriber_id);
        if error.is_throttle() {
            shared.limiter.pause(wait);
        }
        tracing::info!(to = %job.address, attempt, error = %error, wait_ms = wait.as_millis() as u64, "retrying");
        tokio::time::sleep(wait).await;
        if shared.stopping.load(Ordering::SeqCst) {
            // Stopped between attempts: the row stays pending for the next run.
            return Outcome::Untouched { fatal: None };
        }
    }
}

/// A connection that could not be opened is retried like a transient failure, until
/// `max_attempts` attempts in a row (across workers) failed: then the server is unreachable and
/// the whole send stops, leaving every unsent row pending.
fn connect_failed(e: Error, shared: &Shared) -> Error {
    if !e.is_transient() {
        return e;
    }
    let failures = shared.connect_failures.fetch_add(1, Ordering::SeqCst) + 1;
    if failures >= shared.options.max_attempts {
        Error::Fatal(format!(
            "giving up after {failures} failed connection attempts in a row: {e}"
        ))
    } else {
        e
    }
}

/// `base × 2^(attempt-1)`, capped, with ±25% jitter derived from the recipient and attempt.
fn backoff(options: &Options, attempt: u32, salt: i64) -> Duration {
    let exp =
        options.retry_base.as_secs_f64() * 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
    let capped = exp.min(options.retry_max.as_secs_f64());
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(salt);
    h.write_u32(attempt);
    let jitter = 0.75 + (h.finish() % 1000) as f64 / 2000.0;
    Duration::from_secs_f64(capped * jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let o = Options {
            concurrency: 1,
            max_attempts: 5,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(10),
            grace: Duration::from_secs(1),
            retry_failed: false,
            suppress_hard_bounces: true,
        };
        for (attempt, nominal) in [
            (1, 1.0),
            (2, 2.0),
            (3, 4.0),
            (4, 8.0),
            (5, 10.0),
            (20, 10.0),
        ] {
            let d = backoff(&o, attempt, 42).as_secs_f64();
            assert!(
                (nominal * 0.75..=nominal * 1.25).contains(&d),
                "attempt {attempt}: {d}"
            );
        }
    }
}
