//! `GET /metrics`: the Prometheus exposition, OpenMetrics when the scraper's `Accept` asks for it
//! (Prometheus does), else the classic text format. The gauges of durable state are read from the
//! store at each scrape (see [`crate::metrics`]); nothing changes.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::{AppState, blocking};
use crate::metrics::Format;

/// The metrics, with the store's figures as of now.
pub(super) async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = Format::negotiate(accept);
    let config = state.config.get();
    let now = state.clock.now();
    let store = state.store.clone();
    let metrics = state.metrics.clone();
    let rendered = blocking("collecting the metrics", move || {
        let mut snapshot = {
            let store = store.lock().unwrap_or_else(|e| e.into_inner());
            store.metrics_snapshot(now)?
        };
        snapshot.period_seconds = config
            .digests
            .values()
            .filter(|d| d.schedule.is_some())
            .map(|d| (d.id.clone(), d.period.nominal_seconds()))
            .collect();
        Ok(metrics.expose(&snapshot, format))
    })
    .await;
    match rendered {
        Ok(text) => ([(header::CONTENT_TYPE, format.content_type())], text).into_response(),
        Err(response) => response,
    }
}
