//! `GET /healthz` (the process answers and the store is reachable) and `GET /status` (per digest:
//! schedule, next runs, last runs) as JSON.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{AppState, blocking};
use crate::config::Config;
use crate::period::PeriodKind;
use crate::model::IssueKey;
use crate::store::{Counts, Run, Store};

/// How many next and last runs `/status` shows per digest.
const SHOWN: usize = 3;

/// 200 `ok` when the store answers a query, else 503 with the reason.
pub(super) async fn healthz(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        store.ping()
    })
    .await;
    match checked {
        Ok(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => unavailable(format!("{e:#}")),
        Err(e) => unavailable(e.to_string()),
    }
}

fn unavailable(reason: String) -> Response {
    tracing::error!("health check: store unreachable: {reason}");
    let body = format!("store unreachable: {reason}\n");
    (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
}

/// The daemon's view of every digest.
pub(super) async fn status(State(state): State<AppState>) -> Response {
    let config = state.config.get();
    let now = state.clock.now();
    let store = state.store.clone();
    let collected = blocking("collecting the status", move || {
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        let status = Status::collect(&config, &store, now)?;
        Ok(serde_json::to_string_pretty(&status)? + "\n")
    })
    .await;
    match collected {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(response) => response,
    }
}

/// What `/status` answers.
#[derive(Debug, Serialize)]
pub struct Status {
    /// When the status was taken.
    pub now: DateTime<Utc>,
    /// Every configured digest, by id.
    pub digests: Vec<DigestStatus>,
}

/// One digest in `/status`.
#[derive(Debug, Serialize)]
pub struct DigestStatus {
    /// Digest id.
    pub id: String,
    /// Daily, weekly or monthly.
    pub period: PeriodKind,
    /// IANA time zone of its schedule and windows.
    pub timezone: String,
    /// The schedule as configured; `null`: the daemon never runs it.
    pub schedule: Option<String>,
    /// The next fire times, in RFC 3339 with the time zone's offset.
    pub next_runs: Vec<String>,
    /// The latest recorded runs, newest first.
    pub last_runs: Vec<Run>,
    /// Ledger counts of the latest run's issue (`null` before the first run).
    pub ledger: Option<Counts>,
}

impl Status {
    /// The status of every digest of `config` at `now`.
    pub fn collect(config: &Config, store: &Store, now: DateTime<Utc>) -> anyhow::Result<Status> {
        let mut digests = Vec::new();
        for d in config.digests.values() {
            let next_runs = d.schedule.as_ref().map_or_else(Vec::new, |s| {
                s.upcoming(now, d.timezone, SHOWN)
                    .iter()
                    .map(|t| t.with_timezone(&d.timezone).to_rfc3339())
                    .collect()
            });
            let last_runs = store.recent_runs(&d.id, SHOWN)?;
            digests.push(DigestStatus {
                id: d.id.clone(),
                period: d.period,
                timezone: d.timezone.name().to_string(),
                schedule: d.schedule.as_ref().map(|s| s.as_written().to_string()),
                next_runs,
                ledger: match last_runs.first() {
                    Some(run) => Some(store.counts(&IssueKey::new(&d.id, run.period))?),
                    None => None,
                },
                last_runs,
            });
        }
        Ok(Status { now, digests })
    }
}
