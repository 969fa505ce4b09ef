//! Sign-up with double opt-in: `GET /subscribe` (the form), `POST /subscribe` (mails a
//! confirmation link; the same answer whether the address is new, pending or subscribed, and the
//! mail goes out after the answer, so its timing says nothing either), `GET /confirm/<token>` (a
//! page with a button; link scanners that fetch it confirm nothing) and `POST /confirm/<token>`
//! (stores the member and the consent record). A plain HTML form on another site may post to
//! `/subscribe` (no CORS needed for a form; scripts get `Access-Control-Allow-Origin: *`, as no
//! cookie or credential is involved).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::Markup;

use super::limits::{Limits, ip_key};
use super::{AppState, blocking};
use crate::config::Config;
use crate::model::signup::{CONFIRM_TTL, Pending};
use crate::publish::signup::{self as use_case, Confirmed, Form, Refusal};
use crate::render::Theme;
use crate::render::signup::{self as pages, Choice, SignupForm, Texts};

/// A rendered page with its status, never cached.
pub(super) fn respond(status: StatusCode, page: Markup) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(page.into_string()),
    )
        .into_response()
}

/// The theme and texts, read on the blocking pool.
pub(super) async fn look(config: &Arc<Config>) -> Result<(Theme, Texts), Response> {
    let config = config.clone();
    blocking("reading the theme and texts", move || {
        use_case::look(&config)
    })
    .await
}

/// The client's IP address (the TCP peer), when the server records it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(Peer(peer.map(|c| c.0.ip())))
    }
}

/// Whether the client at `ip` may post a form now.
pub(super) fn ip_allowed(limits: &Limits, ip: Option<IpAddr>, now: DateTime<Utc>) -> bool {
    limits
        .per_ip
        .allow(&ip.map_or_else(|| "unknown".into(), ip_key), now)
}

/// The "too many requests" page.
pub(super) fn too_many(theme: &Theme, texts: &Texts, site: &str) -> Response {
    let title = texts.get("subscribe.too_many", &[]);
    let page = pages::page(theme, site, &title, pages::message(&[], None));
    let mut r = respond(StatusCode::TOO_MANY_REQUESTS, page);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
    r
}

/// The fields of a form-urlencoded body, in order (a key may repeat).
pub(super) fn fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .take(64)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of `name`, or "".
pub(super) fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Every value of `name`.
pub(super) fn all(fields: &[(String, String)], name: &str) -> Vec<String> {
    fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// Mails `mail` to `to` after the response, if the per-address and overall limits allow;
/// failures are logged (the address never is).
pub(super) fn mail_later(
    config: Arc<Config>,
    limits: Arc<Limits>,
    now: DateTime<Utc>,
    key: String,
    to: String,
    what: &'static str,
    mail: impl FnOnce(&Config) -> anyhow::Result<pages::Mail> + Send + 'static,
) {
    tokio::spawn(async move {
        if !limits.per_address.allow(&key, now) {
            tracing::info!("{what}: this address had its mails for today; none sent");
            return;
        }
        if !limits.mails.allow("all", now) {
            tracing::warn!("{what}: the hourly limit of sign-up mails is reached; none sent");
            return;
        }
        let sent = async {
            let mail = mail(&config)?;
            let (envelope, bytes) = use_case::message(&config, &to, &mail)?;
            use_case::deliver(&config, &envelope, &bytes).await
        }
        .await;
        match sent {
            Ok(()) => tracing::info!("{what}: mail sent"),
            Err(e) => tracing::error!("{what}: the mail could not be sent: {e:#}"),
        }
    });
}

/// The `?list=` of the sign-up page.
#[derive(Debug, serde::Deserialize)]
pub(super) struct ListQuery {
    list: Option<String>,
}

fn choices<'a>(
    offers: &'a [use_case::Offer],
    texts: &Texts,
    ticked: Option<&[String]>,
) -> Vec<Choice<'a>> {
    offers
        .iter()
        .map(|o| Choice {
            id: &o.id,
            label: o.label(texts),
            checked: ticked.map_or(o.default, |t| t.contains(&o.id)),
        })
        .collect()
}

/// Renders the sign-up form of `list` (`None`: the first sign-up list) with `status`.
fn form_page(
    now: DateTime<Utc>,
    config: &Config,
    theme: &Theme,
    texts: &Texts,
    list: Option<&str>,
    values: Option<&Form>,
    error: Option<String>,
) -> Response {
    let site = config.site.name.as_str();
    let title = texts.get("subscribe.title", &[("site", site)]);
    let Some(list) = use_case::list(config, list) else {
        let page = pages::page(
            theme,
            site,
            &title,
            pages::message(&[texts.get("subscribe.no_list", &[])], None),
        );
        return respond(StatusCode::NOT_FOUND, page);
    };
    let offers = use_case::offers(config, list);
    let several = use_case::list(config, None).is_some_and(|first| first.name != list.name);
    let pow = (config.signup.pow_bits > 0)
        .then(|| use_case::keys(config).ok())
        .flatten()
        .map(|k| (use_case::pow_challenge(&k, now), config.signup.pow_bits));
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let form = SignupForm {
        list: several.then_some(list.name.as_str()),
        choices: choices(&offers, texts, values.map(|v| v.digests.as_slice())),
        email: values.map_or("", |v| v.email.as_str()),
        name: values.map_or("", |v| v.name.as_str()),
        error,
        pow,
    };
    let content = maud::html! {
        p { (texts.get("subscribe.intro", &[("site", site)])) }
        (pages::signup_form(texts, &form, "/subscribe"))
    };
    respond(status, pages::page(theme, site, &title, content))
}

/// `GET /subscribe[?list=L]`: the form.
pub(super) async fn form(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let config = state.config.get();
    let (theme, texts) = match look(&config).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let now = state.clock.now();
    form_page(now, &config, &theme, &texts, q.list.as_deref(), None, None)
}

/// `OPTIONS /subscribe`: the CORS preflight of a script posting the form from another site.
pub(super) async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "POST"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type"),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
        .into_response()
}

/// `POST /subscribe`: checks the form and answers "check your inbox"; the confirmation mail goes
/// out afterwards.
pub(super) async fn subscribe(
    State(state): State<AppState>,
    Extension(limits): Extension<Arc<Limits>>,
    Peer(ip): Peer,
    body: Bytes,
) -> Response {
    let mut response = subscribe_inner(state, limits, ip, &body).await;
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

async fn subscribe_inner(
    state: AppState,
    limits: Arc<Limits>,
    ip: Option<IpAddr>,
    body: &[u8],
) -> Response {
    let config = state.config.get();
    let (theme, texts) = match look(&config).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let site = config.site.name.clone();
    let now = state.clock.now();
    if !ip_allowed(&limits, ip, now) {
        return too_many(&theme, &texts, &site);
    }
    let f = fields(body);
    let form = Form {
        list: Some(field(&f, "list").to_string()).filter(|l| !l.is_empty()),
        email: field(&f, "email").to_string(),
        name: field(&f, "name").to_string(),
        digests: all(&f, "digest"),
    };
    let sent = |address: &str| {
        let title = texts.get("subscribe.sent_title", &[]);
        let text = texts.get("subscribe.sent_text", &[("address", address)]);
        respond(
            StatusCode::OK,
            pages::page(&theme, &site, &title, pages::message(&[text], None)),
        )
    };
    if !field(&f, "website").is_empty() {
        tracing::info!("sign-up: honeypot field filled; nothing sent");
        return sent(form.email.trim());
    }
    if config.signup.pow_bits > 0 {
        let solved = use_case::keys(&config).is_ok_and(|k| {
            use_case::pow_ok(
                &k,
                field(&f, "pow_challenge"),
                field(&f, "pow_nonce"),
                config.signup.pow_bits,
                now,
            )
        });
        if !solved {
            let error = texts.get("subscribe.pow_failed", &[]);
            return form_page(
                now,
                &config,
                &theme,
                &texts,
                form.list.as_deref(),
                Some(&form),
                Some(error),
            );
        }
    }
    match use_case::pending(&config, &form, now) {
        Err(refusal) => {
            let error = match refusal {
                Refusal::Address(reason) => {
                    texts.get("subscribe.bad_address", &[("reason", &reason)])
                }
                Refusal::NoDigest => texts.get("subscribe.no_digest", &[]),
                Refusal::NoList => texts.get("subscribe.no_list", &[]),
            };
            form_page(
                now,
                &config,
                &theme,
                &texts,
                form.list.as_deref(),
                Some(&form),
                Some(error),
            )
        }
        Ok((pending, address)) => {
            let shown = pending.address.clone();
            let to = pending.address.clone();
            mail_later(
                config,
                limits,
                now,
                address.key,
                to,
                "sign-up confirmation",
                move |config| {
                    let keys = use_case::keys(config)?;
                    use_case::confirmation_mail(config, &keys, &pending)
                },
            );
            sent(&shown)
        }
    }
}

/// The sign-up a confirmation token carries (genuine and unexpired), read without changing
/// anything, with the consent text its page shows.
fn consent(config: &Config, texts: &Texts, token: &str, now: i64) -> Option<(Pending, String)> {
    let keys = use_case::keys(config).ok()?;
    let (pending, _) = Pending::open(&keys, token, now)?;
    let offers =
        use_case::list(config, Some(&pending.list)).map(|l| use_case::offers(config, l))?;
    let digests = use_case::labels(&offers, &pending.digests, texts);
    let text = texts.get(
        "confirm.consent",
        &[
            ("digests", &digests),
            ("site", &config.site.name),
            ("address", &pending.address),
        ],
    );
    Some((pending, text))
}

fn invalid(config: &Config, theme: &Theme, texts: &Texts) -> Response {
    let days = (CONFIRM_TTL / 86_400).to_string();
    let title = texts.get("confirm.invalid_title", &[]);
    let text = texts.get("confirm.invalid_text", &[("days", &days)]);
    let again = ("/subscribe", texts.get("confirm.signup_again", &[]));
    let page = pages::page(
        theme,
        &config.site.name,
        &title,
        pages::message(&[text], Some(again)),
    );
    respond(StatusCode::BAD_REQUEST, page)
}

/// `GET /confirm/<token>`: the landing page with the button; nothing changes.
pub(super) async fn landing(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let config = state.config.get();
    let (theme, texts) = match look(&config).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    match consent(&config, &texts, &token, state.clock.now().timestamp()) {
        None => invalid(&config, &theme, &texts),
        Some((_, text)) => {
            let title = texts.get("confirm.title", &[]);
            respond(
                StatusCode::OK,
                pages::page(
                    &theme,
                    &config.site.name,
                    &title,
                    pages::confirm_form(&texts, &text),
                ),
            )
        }
    }
}

/// `POST /confirm/<token>`: makes the member and records the consent.
pub(super) async fn confirm(
    State(state): State<AppState>,
    Extension(limits): Extension<Arc<Limits>>,
    Peer(ip): Peer,
    Path(token): Path<String>,
) -> Response {
    let config = state.config.get();
    let (theme, texts) = match look(&config).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let site = config.site.name.clone();
    let now = state.clock.now();
    if !ip_allowed(&limits, ip, now) {
        return too_many(&theme, &texts, &site);
    }
    let Some((_, text)) = consent(&config, &texts, &token, state.clock.now().timestamp()) else {
        tracing::warn!("confirmation with an invalid, tampered or expired token");
        return invalid(&config, &theme, &texts);
    };
    let (store, clock, c) = (state.store.clone(), state.clock.clone(), config.clone());
    let done = blocking("confirming a sign-up", move || {
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        use_case::confirm(&c, &mut store, &token, ip, &text, &*clock)
    })
    .await;
    match done {
        Err(r) => r,
        Ok(Confirmed::Invalid) => invalid(&config, &theme, &texts),
        Ok(Confirmed::Used) => {
            let (title, text) = (
                texts.get("confirm.used_title", &[]),
                texts.get("confirm.used_text", &[]),
            );
            respond(
                StatusCode::OK,
                pages::page(&theme, &site, &title, pages::message(&[text], None)),
            )
        }
        Ok(Confirmed::Joined(pending, id)) => {
            tracing::info!(list = %pending.list, "sign-up confirmed");
            let offers = use_case::list(&config, Some(&pending.list))
                .map_or_else(Vec::new, |l| use_case::offers(&config, l));
            let digests = use_case::labels(&offers, &pending.digests, &texts);
            let url = use_case::keys(&config)
                .map(|k| use_case::manage_url(&config, &k, crate::model::signup::Reader(id)))
                .unwrap_or_default();
            if config.signup.welcome {
                let (u, d) = (url.clone(), digests.clone());
                let key = crate::mail::address::normalize(&pending.address)
                    .map(|a| a.key)
                    .unwrap_or_default();
                mail_later(
                    config.clone(),
                    limits,
                    now,
                    key,
                    pending.address.clone(),
                    "welcome",
                    move |c| use_case::link_to_manage(c, "welcome_mail", &u, &d),
                );
            }
            let title = texts.get("confirm.done_title", &[]);
            let text = texts.get(
                "confirm.done_text",
                &[("digests", &digests), ("address", &pending.address)],
            );
            let link = (url.as_str(), texts.get("confirm.manage_link", &[]));
            respond(
                StatusCode::OK,
                pages::page(&theme, &site, &title, pages::message(&[text], Some(link))),
            )
        }
    }
}
