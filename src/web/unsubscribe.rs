//! One-click unsubscribe (RFC 8058) at the List-Unsubscribe URL, `/unsubscribe/<token>`.
//!
//! `POST` with the body `List-Unsubscribe=One-Click` (form-urlencoded, as mail providers send it,
//! or multipart) records a suppression of the token's subscriber for the token's digest and
//! answers 200 with no redirect; doing it twice changes nothing. `GET` only shows a page with a
//! button that makes the same POST, so link scanners that follow URLs unsubscribe nobody. A
//! malformed, tampered or unknown token gets exactly the response a valid one gets (no oracle) and
//! is logged.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::{AppState, blocking};
use crate::events::Event;
use crate::mail::campaign;
use crate::store::Reason;

/// The field and value RFC 8058 requires in the POST body.
const FIELD: &str = "List-Unsubscribe";
const ONE_CLICK: &str = "One-Click";

/// `GET /unsubscribe/<token>`: a confirmation page; nothing changes.
pub(super) async fn confirm(
    State(state): State<AppState>,
    Path(_token): Path<String>,
) -> Html<String> {
    let site = state.config.get().site.name.clone();
    Html(
        page(
            &site,
            html! {
                h1 { "Unsubscribe" }
                p { "Press the button to stop receiving this digest." }
                form method="post" {
                    input type="hidden" name=(FIELD) value=(ONE_CLICK);
                    button type="submit" { "Unsubscribe" }
                }
            },
        )
        .into_string(),
    )
}

/// `POST /unsubscribe/<token>`: records the suppression (when the token is valid) and confirms.
pub(super) async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    if !is_one_click(request, &state).await {
        let msg = "expected the body List-Unsubscribe=One-Click (RFC 8058)\n";
        return (StatusCode::BAD_REQUEST, msg).into_response();
    }
    let config = state.config.get();
    let site = config.site.name.clone();
    let store = state.store.clone();
    let events = state.events.clone();
    let now = state.clock.now();
    let recorded = blocking("recording an unsubscribe", move || {
        let keys = campaign::keys(&config)?;
        let shown: String = token.chars().take(8).collect();
        let Some(claim) = keys.verify(&token) else {
            tracing::warn!(token = %shown, "unsubscribe with an invalid or tampered token");
            return Ok(None);
        };
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        match store.subscriber_address(claim.subscriber)? {
            Some(address) => {
                let new = store.suppress(&address, Some(&claim.digest), Reason::Unsubscribed, Some("one-click"), now)?;
                tracing::info!(digest = %claim.digest, subscriber = claim.subscriber, new, "unsubscribed");
                return Ok(new.then_some(claim.digest));
            }
            None => tracing::warn!(token = %shown, "unsubscribe token for an unknown subscriber"),
        }
        Ok(None)
    })
    .await;
    match recorded {
        Err(response) => return response,
        Ok(Some(scope)) => events.emit(Event::unsubscribed(&scope, now)),
        Ok(None) => {}
    }
    let done = page(
        &site,
        html! {
            h1 { "You are unsubscribed" }
            p { "You will not receive this digest again." }
        },
    );
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(done.into_string()),
    )
        .into_response()
}

/// Whether the request body carries `List-Unsubscribe=One-Click`.
async fn is_one_click(request: Request, state: &AppState) -> bool {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let Ok(mut form) = Multipart::from_request(request, state).await else {
            return false;
        };
        while let Ok(Some(field)) = form.next_field().await {
            if field.name() == Some(FIELD) {
                return field.text().await.is_ok_and(|v| v.trim() == ONE_CLICK);
            }
        }
        return false;
    }
    let Ok(body) = Bytes::from_request(request, state).await else {
        return false;
    };
    url::form_urlencoded::parse(&body).any(|(k, v)| k == FIELD && v.trim() == ONE_CLICK)
}

fn page(site: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { "Unsubscribe · " (site) }
            }
            body style="font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #111827;" {
                (content)
                p style="color: #4b5563; font-size: 0.875rem;" { (site) }
            }
        }
    }
}
