//! The daemon's web side (axum): one-click unsubscribe, the archive, `/healthz`, `/readyz`,
//! `/status` and `/metrics`.
//! Handlers do their file and store work on tokio's blocking pool.

mod archive;
mod health;
mod metrics;
pub mod preview;
mod unsubscribe;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::clock::Clock;
use crate::config::SharedConfig;
use crate::store::Store;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The configuration in force (replaced on SIGHUP).
    pub config: SharedConfig,
    /// A store connection for the web side (the scheduler has its own).
    pub store: Arc<Mutex<Store>>,
    /// The time source, for next run times.
    pub clock: Arc<dyn Clock>,
    /// The daemon's metrics, exposed at `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Where events for the webhooks go (unsubscribes).
    pub events: crate::events::Events,
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to(crate::archive::ROOT) }))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/status", get(health::status))
        .route("/metrics", get(metrics::scrape))
        .route("/archive", get(archive::page))
        .route("/archive/", get(archive::page))
        .route("/archive/{*rest}", get(archive::page))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::confirm).post(unsubscribe::unsubscribe),
        )
        .with_state(state)
}

/// Runs `work` on the blocking pool; a failure is logged and answered with a 500.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, Response> {
    let failed = |message: String| {
        tracing::error!("{what}: {message}");
        (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(failed(format!("{e:#}"))),
        Err(e) => Err(failed(e.to_string())),
    }
}
