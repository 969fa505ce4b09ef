//! The daemon's web side (axum): one-click unsubscribe, the archive, the reviewers' pages,
//! `/healthz`, `/readyz`, `/status` and `/metrics`, sign-up with its subscription pages
//! (`/subscribe`, `/confirm/…`, `/manage`) and the mail providers' webhooks (`/hooks/…`).
//! Handlers do their file and store work on tokio's blocking pool.

mod archive;
mod forwarded;
mod health;
pub mod limits;
mod manage;
mod metrics;
pub mod preview;
mod providers;
mod review;
mod signup;
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
        .route("/review/{token}", get(review::page).post(review::approve))
        .route("/review/{token}/draft", get(review::draft))
        .route("/review/{token}/edit", axum::routing::post(review::edit))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::confirm).post(unsubscribe::unsubscribe),
        )
        .route(
            "/subscribe",
            get(signup::form)
                .post(signup::subscribe)
                .options(signup::preflight),
        )
        .route(
            "/confirm/{token}",
            get(signup::landing).post(signup::confirm),
        )
        .route("/manage", get(manage::fresh_form).post(manage::fresh))
        .route("/manage/{token}", get(manage::page).post(manage::act))
        .layer(axum::Extension(Arc::new(limits::Limits::new(
            &state.config.get().signup,
        ))))
        .merge(providers::routes())
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

/// A plain page of the web side (not the archive's): `title`, and `content` in a column at most
/// `width` wide; not for search engines.
fn frame(title: &str, width: &str, content: maud::Markup) -> maud::Markup {
    maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
            }
            body style={ "font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; max-width: " (width) "; margin: 3rem auto; padding: 0 1rem; color: #111827;" } {
                (content)
            }
        }
    }
}
