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
use super::signup::{Ctx, Peer, all, field, fields, respond};
use super::{AppState, blocking};
use crate::events::Event;
use crate::model::signup::Pending;
use crate::publish::signup::{self as use_case, Subscription};
use crate::render::signup::{self as pages, Choice, ManageView};
use crate::store::ALL_DIGESTS;

fn view(cx: &Ctx, s: &Subscription, notice: Option<String>) -> Response {
    let texts = &cx.texts;
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
        .filter(|t| *t > cx.now)
        .map(|t| t.format("%Y-%m-%d").to_string());
    let site = &cx.config.site.name;
    let v = ManageView {
        address: &s.address,
        choices,
        paused_until,
        notice,
        site,
    };
    let title = texts.get("manage.title", &[]);
    respond(
        StatusCode::OK,
        pages::page(&cx.theme, site, &title, pages::manage(texts, &v)),
    )
}

fn invalid(cx: &Ctx) -> Response {
    let (texts, site) = (&cx.texts, &cx.config.site.name);
    let title = texts.get("manage.invalid_title", &[]);
    let content = html! {
        p { (texts.get("manage.invalid_text", &[])) }
        (pages::fresh_form(texts, site))
    };
    respond(
        StatusCode::BAD_REQUEST,
        pages::page(&cx.theme, site, &title, content),
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
    let cx = match Ctx::of(&state, None).await {
        Ok(cx) => cx,
        Err(r) => return r,
    };
    match subscription(&state, token).await {
        Err(r) => r,
        Ok(None) => invalid(&cx),
        Ok(Some(s)) => view(&cx, &s, None),
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
    let cx = match Ctx::of(&state, Some((&limits, ip))).await {
        Ok(cx) => cx,
        Err(r) => return r,
    };
    let s = match subscription(&state, token).await {
        Err(r) => return r,
        Ok(None) => return invalid(&cx),
        Ok(Some(s)) => s,
    };
    let (f, now, texts) = (fields(&body), cx.now, &cx.texts);
    match field(&f, "action") {
        "choose" => {
            let chosen = all(&f, "digest");
            let weeks: i64 = field(&f, "pause_weeks").parse().unwrap_or(0);
            let (store, sub) = (state.store.clone(), s.clone());
            let done = blocking("saving choices", move || {
                let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
                use_case::choose(&mut store, &sub, &chosen, weeks, now)?;
                use_case::reread(&store, &sub)
            })
            .await;
            match done {
                Ok(s) => view(&cx, &s, Some(texts.get("manage.saved", &[]))),
                Err(r) => r,
            }
        }
        "address" => {
            let (Ok(new), Some((first, _))) = (
                crate::mail::address::normalize(field(&f, "email")),
                s.memberships.first(),
            ) else {
                let error = texts.get("subscribe.bad_address", &[("reason", "?")]);
                return view(&cx, &s, Some(error));
            };
            let pending = Pending {
                list: first.list.clone(),
                address: new.address.to_string(),
                name: first.name.clone(),
                digests: first.digests.clone(),
                issued: now.timestamp(),
                replaces: Some(s.address.clone()),
            };
            cx.mail_later(
                limits,
                pending.address.clone(),
                "address change",
                move |c| {
                    let keys = use_case::keys(c)?;
                    use_case::confirmation_mail(c, &keys, &pending)
                },
            );
            view(&cx, &s, Some(texts.get("manage.address_sent", &[])))
        }
        "leave" => {
            let (store, sub) = (state.store.clone(), s.clone());
            let done = blocking("unsubscribing from the subscription page", move || {
                let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
                use_case::unsubscribe_all(&mut store, &sub, now)
            })
            .await;
            match done {
                Err(r) => return r,
                Ok(true) => state.events.emit(Event::unsubscribed(ALL_DIGESTS, now)),
                Ok(false) => {}
            }
            tracing::info!(
                subscriber = s.reader.0,
                "unsubscribed from everything on the subscription page"
            );
            let text = texts.get("manage.left_text", &[("site", &cx.config.site.name)]);
            cx.message(StatusCode::OK, "manage.left_title", &[text], None)
        }
        _ => view(&cx, &s, None),
    }
}

/// `GET /manage`: the form asking for a fresh link.
pub(super) async fn fresh_form(State(state): State<AppState>) -> Response {
    let cx = match Ctx::of(&state, None).await {
        Ok(cx) => cx,
        Err(r) => return r,
    };
    let (site, title) = (&cx.config.site.name, cx.texts.get("fresh.title", &[]));
    let form = pages::fresh_form(&cx.texts, site);
    respond(StatusCode::OK, pages::page(&cx.theme, site, &title, form))
}

/// `POST /manage` (`email`): mails a fresh link if the reader is known; the same answer always.
pub(super) async fn fresh(
    State(state): State<AppState>,
    Extension(limits): Extension<Arc<Limits>>,
    Peer(ip): Peer,
    body: Bytes,
) -> Response {
    let cx = match Ctx::of(&state, Some((&limits, ip))).await {
        Ok(cx) => cx,
        Err(r) => return r,
    };
    let f = fields(&body);
    let typed = field(&f, "email").trim().to_string();
    let (store, c, raw) = (state.store.clone(), cx.config.clone(), typed.clone());
    let found = blocking("looking up a reader", move || {
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        use_case::fresh_link(&c, &mut store, &raw)
    })
    .await;
    match found {
        Err(r) => return r,
        Ok(Some((to, url))) => {
            cx.mail_later(limits, to, "fresh subscription link", move |c| {
                use_case::link_to_manage(c, "fresh_mail", &url, "")
            });
        }
        Ok(None) => {}
    }
    let site = &cx.config.site.name;
    let text = cx
        .texts
        .get("fresh.sent_text", &[("address", &typed), ("site", site)]);
    cx.message(StatusCode::OK, "fresh.title", &[text], None)
}
