//! Mail providers' webhooks, `POST /hooks/<provider>`: bounces and complaints reported by Amazon
//! SES (through SNS), Postmark, Mailgun and SendGrid, each authenticated as its provider specifies
//! (see [`crate::inbound::providers`]) and applied like mailed reports
//! ([`crate::publish::inbound::events`]).
//!
//! A provider without a `[providers.<name>]` table answers 404. A request that does not
//! authenticate answers 403 (Postmark: 401 asking for basic credentials), whatever it holds, and
//! changes nothing; an authenticated one answers 200 `ok` whether or not its addresses are known
//! (no oracle), and a replay changes nothing (Mailgun, which documents it, gets 406 for a reused
//! token so it stops retrying).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};

use super::{AppState, blocking};
use crate::inbound::process::Tally;
use crate::inbound::providers::{Event, Provider, Refusal, mailgun, postmark, sendgrid, sns};

/// The webhook routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hooks/ses", post(ses))
        .route("/hooks/postmark", post(postmark))
        .route("/hooks/mailgun", post(mailgun))
        .route("/hooks/sendgrid", post(sendgrid))
        .layer(Extension(Arc::new(sns::Certs::default())))
}

/// What a request came to.
enum Answer {
    /// Authenticated and applied.
    Applied(Tally),
    /// Refused (the reason is logged).
    Refused,
    /// Authenticated but not understood.
    Malformed,
}

/// `POST /hooks/ses`: an SNS message (subscription confirmation or SES notification).
async fn ses(
    State(state): State<AppState>,
    Extension(certs): Extension<Arc<sns::Certs>>,
    body: Bytes,
) -> Response {
    let Some(hook) = state.config.get().providers.ses.clone() else {
        return not_found();
    };
    let now = state.clock.now();
    handle(&state, Provider::Ses, move || {
        Ok(match sns::check(&body, &hook, &certs, now) {
            Ok(sns::Message::Confirm { topic, url }) => {
                sns::confirm(&url, &hook)?;
                tracing::info!(topic = %topic, "confirmed the SNS subscription");
                Ok(Vec::new())
            }
            Ok(sns::Message::Notification(events)) => Ok(events),
            Ok(sns::Message::Unsubscribed) => Ok(Vec::new()),
            Err(refusal) => Err(refusal),
        })
    })
    .await
}

/// `POST /hooks/postmark`: a Postmark bounce or spam-complaint record, with basic credentials.
async fn postmark(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(hook) = state.config.get().providers.postmark.clone() else {
        return not_found();
    };
    let authorization = header_text(&headers, header::AUTHORIZATION.as_str());
    let mut response = handle(&state, Provider::Postmark, move || {
        Ok(postmark::authorized(authorization.as_deref(), &hook)
            .and_then(|()| postmark::events(&body)))
    })
    .await;
    if response.status() == StatusCode::FORBIDDEN {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Basic realm=\"digest webhooks\""),
        );
    }
    response
}

/// `POST /hooks/mailgun`: a signed Mailgun event.
async fn mailgun(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(hook) = state.config.get().providers.mailgun.clone() else {
        return not_found();
    };
    let now = state.clock.now();
    handle(&state, Provider::Mailgun, move || {
        Ok(mailgun::events(&body, &hook, now))
    })
    .await
}

/// `POST /hooks/sendgrid`: a signed batch of SendGrid events.
async fn sendgrid(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(hook) = state.config.get().providers.sendgrid.clone() else {
        return not_found();
    };
    let now = state.clock.now();
    let signature = header_text(&headers, sendgrid::SIGNATURE);
    let timestamp = header_text(&headers, sendgrid::TIMESTAMP);
    handle(&state, Provider::Sendgrid, move || {
        Ok(sendgrid::events(
            &body,
            signature.as_deref(),
            timestamp.as_deref(),
            &hook,
            now,
        ))
    })
    .await
}

/// Runs `check` (authentication and parsing, which may fetch) on the blocking pool, applies the
/// events it gives and answers.
async fn handle(
    state: &AppState,
    provider: Provider,
    check: impl FnOnce() -> anyhow::Result<Result<Vec<Event>, Refusal>> + Send + 'static,
) -> Response {
    let config = state.config.get();
    let store = state.store.clone();
    let emit = state.events.clone();
    let now = state.clock.now();
    let name = provider.as_str();
    let answer = blocking("applying a provider webhook", move || {
        let events = match check()? {
            Ok(events) => events,
            Err(refusal) => {
                tracing::warn!(provider = name, "webhook refused: {refusal}");
                return Ok(match refusal {
                    Refusal::Unauthenticated(_) => Answer::Refused,
                    Refusal::Malformed(_) => Answer::Malformed,
                });
            }
        };
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        let tally = crate::publish::inbound::events(&config, &mut store, &events, &emit, now)?;
        tracing::info!(provider = name, "webhook: {tally}");
        Ok(Answer::Applied(tally))
    })
    .await;
    match answer {
        Err(response) => response,
        Ok(Answer::Refused) => (StatusCode::FORBIDDEN, "forbidden\n").into_response(),
        Ok(Answer::Malformed) => (StatusCode::BAD_REQUEST, "malformed\n").into_response(),
        Ok(Answer::Applied(tally)) if provider == Provider::Mailgun && tally.duplicates > 0 => {
            (StatusCode::NOT_ACCEPTABLE, "already processed\n").into_response()
        }
        Ok(Answer::Applied(_)) => (StatusCode::OK, "ok\n").into_response(),
    }
}

/// A header's value as text, if present and visible ASCII.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The answer for a provider that is not configured.
fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}
