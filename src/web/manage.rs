//! The subscription page behind every digest's "Manage your subscription" link,
//! `/manage/<token>`: choose digests, pause, change address (confirmed at the new address), leave
//! everything (the same suppression a one-click unsubscribe writes). `GET /manage` and
//! `POST /manage` mail a fresh link to a reader whose link was mangled, answering the same
//! whether the address is known or not.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::limits::Limits;
use super::signup::{Peer, all, field, fields, ip_allowed, look, mail_later, respond, too_many};
use super::{AppState, blocking};
use crate::config::Config;
use crate::model::signup::Pending;
use crate::publish::signup::{self as use_case, Subscription};
use crate::render::Theme;
use crate::render::signup::{self as pages, Choice, ManageView, Texts};

fn view(
    config: &Config,
    theme: &Theme,
    texts: &Texts,
    s: &Subscription,
    notice: Option<String>,
) -> Response {
    let mut choices: Vec<Choice<'_>> = Vec::new();
    for (m, offers) in &s.memberships {
        for o in offers {
            if !choices.iter().any(|c| c.id == o.id) {
                choices.push(Choice {
                    id: &o.id,
                    label: o.label(texts),
                    checked: m.digests.contains(&o.id),
                });
            }
        }
    }
    let paused_until = s
        .memberships
        .iter()
        .filter_map(|(m, _)| m.paused_until)
        .max()
        .map(|t| t.format("%Y-%m-%d").to_string());
    let v = ManageView {
        address: &s.address,
        choices,
        paused_until,
        notice,
        site: &config.site.name,
    };
    let title = texts.get("manage.title", &[]);
    respond(
        StatusCode::OK,
        pages::page(theme, &config.site.name, &title, pages::manage(texts, &v)),
    )
}

fn invalid(config: &Config, theme: &Theme, texts: &Texts) -> Response {
    let title = texts.get("manage.invalid_title", &[]);
    let content = html! {
        p { (texts.get("manage.invalid_text", &[])) }
        (pages::fresh_form(texts, &config.site.name))
    };
    respond(
        StatusCode::BAD_REQUEST,
        pages::page(theme, &config.site.name, &title, content),
    )
}

async fn subscription(state: &AppState, token: String) -> Result<Option<Subscription>, Response> {
    let (config, store) = (state.config.get(), state.store.clone());
    blocking("reading a subscription", move || {
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        use_case::subscription(&config, &store, &token)
    })
    .await
}

/// `GET /manage/<token>`: the page; nothing changes.
pub(super) async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let config = state.config.get();
    let (theme, texts) = match look(&config).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    match subscription(&state, token).await {
        Err(r) => r,
        Ok(None) => invalid(&config, &theme, &texts),
        Ok(Some(s)) => view(&config, &theme, &texts, &s, None),
    }
}

/// `POST /manage/<token>`: `action` = `choose` (`digest`…, `pause_weeks`), `address` (`email`)
/// or `leave`.
pub(super) async fn act(
    State(state): State<AppState>,
    Extension(limits): Extension<Arc<Limits>>,
    Peer(ip): Peer,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let config = state.config.get();
    let (theme, texts) = match look(&config).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let now = state.clock.now();
    if !ip_allowed(&limits, ip, now) {
        return too_many(&theme, &texts, &config.site.name);
    }
    let s = match subscription(&state, token).await {
        Err(r) => return r,
        Ok(None) => return invalid(&config, &theme, &texts),
        Ok(Some(s)) => s,
    };
    let f = fields(&body);
    let site = config.site.name.clone();
    match field(&f, "action") {
        "choose" => {
            let chosen = all(&f, "digest");
            let weeks: i64 = field(&f, "pause_weeks").parse().unwrap_or(0);
            let (store, sub) = (state.store.clone(), s.clone());
            let done = blocking("saving choices", move || {
                let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
                use_case::choose(&mut store, &sub, &chosen, weeks, now)
            })
            .await;
            if let Err(r) = done {
                return r;
            }
            let token = use_case::keys(&config)
                .map(|k| s.reader.seal(&k))
                .unwrap_or_default();
            match subscription(&state, token).await {
                Ok(Some(s)) => view(
                    &config,
                    &theme,
                    &texts,
                    &s,
                    Some(texts.get("manage.saved", &[])),
                ),
                Ok(None) => invalid(&config, &theme, &texts),
                Err(r) => r,
            }
        }
        "address" => {
            let notice = texts.get("manage.address_sent", &[]);
            let (Ok(new), Some((first, _))) = (
                crate::mail::address::normalize(field(&f, "email")),
                s.memberships.first(),
            ) else {
                let error = texts.get("subscribe.bad_address", &[("reason", "?")]);
                return view(&config, &theme, &texts, &s, Some(error));
            };
            let pending = Pending {
                list: first.list.clone(),
                address: new.address.to_string(),
                name: first.name.clone(),
                digests: first.digests.clone(),
                issued: now.timestamp(),
                replaces: Some(s.address.clone()),
            };
            mail_later(
                config.clone(),
                limits,
                now,
                new.key,
                pending.address.clone(),
                "address change",
                move |c| {
                    let keys = use_case::keys(c)?;
                    use_case::confirmation_mail(c, &keys, &pending)
                },
            );
            view(&config, &theme, &texts, &s, Some(notice))
        }
        "leave" => {
            let (store, sub) = (state.store.clone(), s.clone());
            let done = blocking("unsubscribing from the subscription page", move || {
                let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
                use_case::unsubscribe_all(&mut store, &sub, now)
            })
            .await;
            if let Err(r) = done {
                return r;
            }
            tracing::info!(
                subscriber = s.reader.0,
                "unsubscribed from everything on the subscription page"
            );
            let title = texts.get("manage.left_title", &[]);
            let text = texts.get("manage.left_text", &[("site", &site)]);
            respond(
                StatusCode::OK,
                pages::page(&theme, &site, &title, pages::message(&[text], None)),
            )
        }
        _ => view(&config, &theme, &texts, &s, None),
    }
}

/// `GET /manage`: the form asking for a fresh link.
pub(super) async fn fresh_form(State(state): State<AppState>) -> Response {
    let config = state.config.get();
    let (theme, texts) = match look(&config).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let title = texts.get("fresh.title", &[]);
    respond(
        StatusCode::OK,
        pages::page(
            &theme,
            &config.site.name,
            &title,
            pages::fresh_form(&texts, &config.site.name),
        ),
    )
}

/// `POST /manage` (`email`): mails a fresh link if the reader is known; the same answer always.
pub(super) async fn fresh(
    State(state): State<AppState>,
    Extension(limits): Extension<Arc<Limits>>,
    Peer(ip): Peer,
    body: Bytes,
) -> Response {
    let config = state.config.get();
    let (theme, texts) = match look(&config).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let now = state.clock.now();
    let site = config.site.name.clone();
    if !ip_allowed(&limits, ip, now) {
        return too_many(&theme, &texts, &site);
    }
    let f = fields(&body);
    let typed = field(&f, "email").trim().to_string();
    let (store, c, raw) = (state.store.clone(), config.clone(), typed.clone());
    let found = blocking("looking up a reader", move || {
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        use_case::fresh_link(&c, &mut store, &raw)
    })
    .await;
    match found {
        Err(r) => return r,
        Ok(Some((to, url))) => {
            let key = crate::mail::address::normalize(&to)
                .map(|a| a.key)
                .unwrap_or_default();
            mail_later(
                config.clone(),
                limits,
                now,
                key,
                to,
                "fresh subscription link",
                move |c| use_case::link_to_manage(c, "fresh_mail", &url, ""),
            );
        }
        Ok(None) => {}
    }
    let title = texts.get("fresh.title", &[]);
    let text = texts.get("fresh.sent_text", &[("address", &typed), ("site", &site)]);
    respond(
        StatusCode::OK,
        pages::page(&theme, &site, &title, pages::message(&[text], None)),
    )
}
