//! Outgoing event webhooks: the daemon POSTs `run.started`, `run.finished`, `run.failed`,
//! `unsubscribe`, `bounce` and `complaint` events as JSON to the URLs of `[webhooks]`, each signed like Stripe's webhooks
//! (see [`sign`]). (Incoming provider webhooks are the web side's business, not this module's.)
//!
//! Never blocking: [`Events::emit`] only puts the event on a bounded in-memory queue (a full queue
//! drops the event, with a warning); a background task delivers it, retrying a failure (no answer,
//! or any status but 2xx) with exponential backoff from `retry_secs`, doubled up to an hour, at
//! most `max_attempts` times per URL. The queue and the retries are in memory: events not
//! delivered when the daemon stops are lost (the run records and the ledger stay the truth).
//!
//! Bounces, complaints and mailed unsubscribes are emitted where what came back is recorded
//! (mailed reports and providers' webhooks alike), once committed.

pub mod sign;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

use crate::clock::Clock;
use crate::config::{SharedConfig, Webhooks};
use crate::metrics::Metrics;

/// Events waiting for delivery before new ones are dropped.
const QUEUE: usize = 1024;

/// POSTs in flight at once.
const IN_FLIGHT: usize = 8;

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "Digest-Signature";

/// One event: its type (e.g. `run.finished`), when it happened and what it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `run.started`, `run.finished`, `run.failed`, `unsubscribe`, `bounce` or `complaint`.
    pub kind: &'static str,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The event's fields (never an address).
    pub data: Value,
}

impl Event {
    /// A run of `digest` for `period` started.
    pub fn run_started(digest: &str, period: &str, at: DateTime<Utc>) -> Event {
        let data = json!({ "digest": digest, "period": period });
        Event {
            kind: "run.started",
            at,
            data,
        }
    }

    /// A run ended with `status` (`failed` gives `run.failed`, anything else `run.finished`).
    pub fn run_ended(
        digest: &str,
        period: &str,
        status: &str,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Event {
        let kind = match status {
            "failed" => "run.failed",
            _ => "run.finished",
        };
        let data =
            json!({ "digest": digest, "period": period, "status": status, "detail": detail });
        Event { kind, at, data }
    }

    /// A reader unsubscribed from `scope` (a digest id, or `*` for every digest). The address is
    /// not sent.
    pub fn unsubscribed(scope: &str, at: DateTime<Utc>) -> Event {
        let data = json!({ "scope": scope });
        Event {
            kind: "unsubscribe",
            at,
            data,
        }
    }

    /// A hard or soft bounce (`class`) with its enhanced `status`, about `issue` (`digest/period`,
    /// `None` when it matched none). The address is not sent.
    pub fn bounced(
        class: &str,
        status: Option<&str>,
        issue: Option<&str>,
        at: DateTime<Utc>,
    ) -> Event {
        let data = json!({
            "class": class,
            "status": status,
            "digest": digest_of(issue),
            "issue": issue,
        });
        Event {
            kind: "bounce",
            at,
            data,
        }
    }

    /// A complaint (a feedback-loop report) about `issue` (`digest/period`, `None` when it
    /// matched none). The address is not sent.
    pub fn complained(issue: Option<&str>, at: DateTime<Utc>) -> Event {
        let data = json!({ "digest": digest_of(issue), "issue": issue });
        Event {
            kind: "complaint",
            at,
            data,
        }
    }

    /// The JSON body POSTed, with a unique `id` for receivers to deduplicate retries.
    pub fn body(&self, id: &str) -> String {
        json!({
            "id": id,
            "type": self.kind,
            "created": self.at.timestamp(),
            "data": self.data,
        })
        .to_string()
    }
}

/// The digest of an issue id (`digest/period`).
fn digest_of(issue: Option<&str>) -> Option<&str> {
    issue
        .and_then(|i| i.split_once('/'))
        .map(|(digest, _)| digest)
}

/// The handle events are emitted through; cheap to clone. [`Events::default`] drops everything.
#[derive(Clone, Default)]
pub struct Events {
    queue: Option<mpsc::Sender<Event>>,
}

impl Events {
    /// Starts the delivery task on the current tokio runtime, delivering to the `[webhooks]` of
    /// the configuration in force when each event is sent.
    pub fn start(config: SharedConfig, clock: Arc<dyn Clock>, metrics: Arc<Metrics>) -> Events {
        let (queue, inbox) = mpsc::channel(QUEUE);
        tokio::spawn(dispatch(inbox, config, clock, metrics));
        Events { queue: Some(queue) }
    }

    /// Queues `event` for delivery without waiting; a full queue drops it (logged).
    pub fn emit(&self, event: Event) {
        let Some(queue) = &self.queue else { return };
        match queue.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(e)) => {
                tracing::warn!(event = e.kind, "webhook queue full: event dropped")
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// Takes events off the queue and delivers each to every URL, at most [`IN_FLIGHT`] at once.
async fn dispatch(
    mut inbox: mpsc::Receiver<Event>,
    config: SharedConfig,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
) {
    let client = match reqwest::Client::builder().build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("webhooks: cannot build an HTTP client: {e}");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let sequence = AtomicU64::new(0);
    while let Some(event) = inbox.recv().await {
        let Some(hooks) = config.get().webhooks.clone() else {
            continue;
        };
        if !hooks.wants(event.kind) {
            continue;
        }
        let n = sequence.fetch_add(1, Ordering::Relaxed);
        let id = format!("evt_{}_{n}", event.at.timestamp_micros());
        let body = Arc::new(event.body(&id));
        for url in hooks.urls.clone() {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let delivery = Delivery {
                client: client.clone(),
                hooks: hooks.clone(),
                url,
                kind: event.kind,
                body: body.clone(),
                clock: clock.clone(),
                metrics: metrics.clone(),
            };
            tokio::spawn(async move {
                delivery.run().await;
                drop(slot);
            });
        }
    }
}

/// One event to one URL, with its retries.
struct Delivery {
    client: reqwest::Client,
    hooks: Webhooks,
    url: url::Url,
    kind: &'static str,
    body: Arc<String>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

impl Delivery {
    async fn run(self) {
        let h = &self.hooks;
        for attempt in 1..=h.max_attempts {
            let failure = match self.post().await {
                Ok(()) => {
                    self.metrics.webhook(self.kind, "delivered");
                    tracing::debug!(event = self.kind, url = %self.url, attempt, "webhook delivered");
                    return;
                }
                Err(why) => why,
            };
            if attempt == h.max_attempts {
                self.metrics.webhook(self.kind, "dropped");
                tracing::error!(event = self.kind, url = %self.url, attempt, "webhook not delivered, giving up: {failure}");
                return;
            }
            let wait = backoff(h.retry_base, attempt);
            self.metrics.webhook(self.kind, "retried");
            tracing::warn!(event = self.kind, url = %self.url, attempt, wait_secs = wait.as_secs(), "webhook not delivered, retrying: {failure}");
            tokio::time::sleep(wait).await;
        }
    }

    /// One POST, signed now; `Err` with why unless the answer is 2xx.
    async fn post(&self) -> Result<(), String> {
        let t = self.clock.now().timestamp();
        let signature = sign::header(self.hooks.secret.expose().as_bytes(), t, &self.body);
        let sent = self
            .client
            .post(self.url.clone())
            .timeout(self.hooks.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, "digest-webhooks")
            .header(SIGNATURE_HEADER, signature)
            .body(self.body.as_bytes().to_vec())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match sent.status() {
            s if s.is_success() => Ok(()),
            s => Err(format!("answered {s}")),
        }
    }
}

/// The wait after failed attempt `attempt` (1-based): `base × 2^(attempt-1)`, at most an hour.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_an_hour() {
        // An unbounded backoff would overflow after a few dozen failures, or wait for days.
        let base = Duration::from_secs(10);
        assert_eq!(backoff(base, 1), Duration::from_secs(10));
        assert_eq!(backoff(base, 2), Duration::from_secs(20));
        assert_eq!(backoff(base, 4), Duration::from_secs(80));
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
    }

    #[test]
    fn a_run_event_names_its_outcome_and_unsubscribe_bounce_and_complaint_events_name_the_issue_not_the_address()
     {
        // A failed run announced as `run.finished` would not page anybody.
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let failed = Event::run_ended("w", "2023-W46", "failed", "relay down", at);
        assert_eq!(failed.kind, "run.failed");
        assert_eq!(
            Event::run_ended("w", "2023-W46", "sent", "", at).kind,
            "run.finished"
        );
        let body: Value = serde_json::from_str(&failed.body("evt_1")).unwrap();
        assert_eq!(body["type"], "run.failed");
        assert_eq!(body["created"], 1_700_000_000);
        assert_eq!(body["data"]["detail"], "relay down");
        let unsub = Event::unsubscribed("w", at).body("evt_2");
        let bounce: Value = serde_json::from_str(
            &Event::bounced("hard", Some("5.1.1"), Some("w/2023-W46"), at).body("evt_3"),
        )
        .unwrap();
        assert_eq!(bounce["type"], "bounce");
        assert_eq!(
            bounce["data"],
            json!({"class": "hard", "status": "5.1.1", "digest": "w", "issue": "w/2023-W46"})
        );
        let complaint: Value =
            serde_json::from_str(&Event::complained(None, at).body("evt_4")).unwrap();
        assert_eq!(complaint["data"], json!({"digest": null, "issue": null}));
        assert_eq!(
            unsub,
            r#"{"created":1700000000,"data":{"scope":"w"},"id":"evt_2","type":"unsubscribe"}"#
        );
    }
}
