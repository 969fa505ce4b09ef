//! A worker: one connection, one message at a time. A connection that cannot be opened is retried
//! with backoff without charging the recipient an attempt, until the relay has been unreachable for
//! the outage tolerance. A refusal keeps the connection (after `RSET` when the transaction was
//! left part-way); only a connection in doubt (an I/O error, a timeout, a 421) is dropped.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

use super::{Delivery, Job, Options, Outcome, Shared};
use crate::mail::Error;
use crate::mail::message::To;
use crate::mail::transport::Connection;

/// Takes jobs until the channel closes or a fatal error; closes its connection politely at the end.
pub(super) async fn run(
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
    out: mpsc::UnboundedSender<Outcome>,
    shared: Arc<Shared>,
) {
    let mut conn: Option<Box<dyn Connection>> = None;
    loop {
        let job = jobs.lock().await.recv().await;
        let Some(job) = job else { break };
        let outcome = if shared.halt.requested() {
            Outcome::Untouched { fatal: None }
        } else {
            deliver(job, &mut conn, &shared).await
        };
        // A refusal of the message that makes the count stops every worker at once.
        let stop = match &outcome {
            Outcome::Done(d) => lock(&shared.refusals).observe(&d.result),
            Outcome::Untouched { .. } => None,
        };
        if stop.is_some() {
            shared.halt.request();
        }
        let fatal = matches!(outcome, Outcome::Untouched { fatal: Some(_) });
        if out.send(outcome).is_err() || fatal {
            break;
        }
        if let Some(reason) = stop {
            let _ = out.send(Outcome::Untouched {
                fatal: Some(reason),
            });
            break;
        }
    }
    if let Some(c) = conn {
        c.close().await;
    }
}

impl Job {
    fn done(self, attempts: u32, result: Result<String, Error>) -> Outcome {
        Outcome::Done(Delivery {
            subscriber_id: self.pending.subscriber_id,
            key: self.pending.key,
            to: self.address.to_string(),
            attempts,
            result,
        })
    }
}

/// Delivers one message, retrying transient failures.
async fn deliver(job: Job, conn: &mut Option<Box<dyn Connection>>, shared: &Shared) -> Outcome {
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
            let why = format!("could not build the message: {e:#}");
            return job.done(0, Err(Error::Unsendable(why)));
        }
    };
    let salt = p.subscriber_id;
    let mut attempt = 0;
    loop {
        let c = match conn {
            Some(c) => c,
            None => match open(shared, salt).await {
                Ok(c) => conn.insert(c),
                Err(fatal) => return Outcome::Untouched { fatal },
            },
        };
        attempt += 1;
        shared.limiter.acquire().await;
        let asked = Instant::now();
        let answer = c.send(&envelope, &bytes).await;
        if let Some(o) = &shared.observer {
            o.attempt(super::answer_class(&answer), asked.elapsed());
        }
        let error = match answer {
            Ok(reply) => {
                crate::fault::point("accepted");
                return job.done(attempt, Ok(reply));
            }
            Err(e) => e,
        };
        let keep = !error.drops_connection() && (!error.needs_reset() || c.reset().await.is_ok());
        if !keep {
            conn.take();
        }
        if error.is_fatal() {
            return Outcome::Untouched {
                fatal: Some(error.to_string()),
            };
        }
        if !error.is_transient() || attempt >= options.max_attempts {
            return job.done(attempt, Err(error));
        }
        let wait = backoff(options, attempt, salt);
        if error.is_throttle() {
            shared.limiter.pause(wait);
        }
        tracing::info!(to = %job.address, attempt, error = %error, wait_ms = wait.as_millis() as u64, "retrying");
        if !pause(shared, wait).await {
            // Stopped between attempts: the row stays pending for the next run.
            return Outcome::Untouched { fatal: None };
        }
    }
}

/// Opens a connection, waiting out a relay that cannot be reached (refused, timed out, a 4xx
/// greeting) with backoff, as long as the outage — counted from the first failed attempt of any
/// worker since the last success — is shorter than the tolerance. `Err(Some(reason))` stops the
/// send; `Err(None)` means the send is stopping anyway.
async fn open(shared: &Shared, salt: i64) -> Result<Box<dyn Connection>, Option<String>> {
    let tolerance = shared.options.outage_tolerance;
    let mut failures = 0;
    loop {
        let error = match shared.transport.connect().await {
            Ok(c) => {
                *lock(&shared.outage) = None;
                return Ok(c);
            }
            Err(e) if e.is_transient() => e,
            Err(e) => return Err(Some(e.to_string())),
        };
        failures += 1;
        let now = Instant::now();
        let since = *lock(&shared.outage).get_or_insert(now);
        let down = now.saturating_duration_since(since);
        if down >= tolerance {
            return Err(Some(format!(
                "the relay was unreachable for {} (smtp.outage_tolerance_secs = {}): {error}; the unsent recipients stay pending",
                span(down),
                tolerance.as_secs()
            )));
        }
        // Never sleeps past the tolerance: the last attempt comes right at its end.
        let wait = backoff(&shared.options, failures, salt).min(tolerance - down);
        tracing::warn!(attempt = failures, error = %error, wait_ms = wait.as_millis() as u64, "cannot reach the relay; trying again");
        if !pause(shared, wait).await {
            return Err(None);
        }
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sleeps for `wait`; false if the send started stopping meanwhile.
async fn pause(shared: &Shared, wait: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => !shared.halt.requested(),
        () = shared.halt.requested_now() => false,
    }
}

/// `2m05s`, or `4.2s` under a minute.
fn span(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// `base × 2^(attempt-1)`, capped, with ±25% jitter derived from `salt` (the recipient) and the
/// attempt: the same recipient and attempt always wait the same time, and recipients spread out.
pub(super) fn backoff(options: &Options, attempt: u32, salt: i64) -> Duration {
    let exp =
        options.retry_base.as_secs_f64() * 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
    let capped = exp.min(options.retry_max.as_secs_f64());
    Duration::from_secs_f64(capped * jitter(salt, attempt))
}

/// A factor in [0.75, 1.25), from SHA-256 of `salt` and `attempt`.
pub(super) fn jitter(salt: i64, attempt: u32) -> f64 {
    let hash = Sha256::new()
        .chain_update(salt.to_le_bytes())
        .chain_update(attempt.to_le_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    0.75 + (u64::from_le_bytes(first) % 1000) as f64 / 2000.0
}
