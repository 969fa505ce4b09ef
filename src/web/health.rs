//! `GET /healthz` (liveness: the process answers and the store is reachable), `GET /readyz`
//! (readiness: nothing keeps the daemon from sending: the store, the unsubscribe keys, each
//! digest's last run) and `GET /status` (per digest: schedule, next runs, last runs) as JSON.
//! None of them changes anything.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{AppState, blocking};
use crate::publish::check;
use crate::publish::status::Status;

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

/// 200 `ready` when [`check::readiness`] finds nothing wrong, else 503 `not ready` followed by
/// one reason per line; the same shape whatever the reasons.
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    let config = state.config.get();
    let store = state.store.clone();
    let reasons = tokio::task::spawn_blocking(move || {
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        check::readiness(&config, &store)
    })
    .await
    .unwrap_or_else(|e| vec![format!("readiness check failed: {e}")]);
    if reasons.is_empty() {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let body = format!("not ready\n{}\n", reasons.join("\n"));
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
