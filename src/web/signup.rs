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
use crate::mail::mx::Verdict;
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

/// What every handler starts with: the configuration, the look, the time.
pub(super) struct Ctx {
    /// The configuration in force.
    pub config: Arc<Config>,
    /// The theme.
    pub theme: Theme,
    /// The texts.
    pub texts: Texts,
    /// Now.
    pub now: DateTime<Utc>,
    /// The daemon's metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl Ctx {
    /// The context of a request; with `limit`, a client over its rate limit gets the "too many
    /// requests" page instead.
    pub async fn of(
        state: &AppState,
        limit: Option<(&Limits, Option<IpAddr>)>,
    ) -> Result<Ctx, Response> {
        let config = state.config.get();
        let c = config.clone();
        let (theme, texts) =
            blocking("reading the theme and texts", move || use_case::look(&c)).await?;
        let now = state.clock.now();
        if let Some((limits, ip)) = limit
            && !limits
                .per_ip
                .allow(&ip.map_or_else(|| "unknown".into(), ip_key), now)
        {
            return Err(too_many(&theme, &texts, &config.site.name));
        }
        Ok(Ctx {
            config,
            theme,
            texts,
            now,
            metrics: state.metrics.clone(),
        })
    }

    /// Mails `mail` to the address `to` after the response, if the per-address limit, the
    /// optional MX check of its domain and the overall limit allow; failures are logged (the
    /// address never is). As it all happens after the response, neither the answer nor its
    /// timing says how it went.
    pub fn mail_later(
        &self,
        limits: Arc<Limits>,
        to: String,
        what: &'static str,
        mail: impl FnOnce(&Config) -> anyhow::Result<pages::Mail> + Send + 'static,
    ) {
        let (config, now, metrics) = (self.config.clone(), self.now, self.metrics.clone());
        let normalized = crate::mail::address::normalize(&to).ok();
        let key = normalized
            .as_ref()
            .map_or_else(|| to.clone(), |a| a.key.clone());
        tokio::spawn(async move {
            if !limits.per_address.allow(&key, now) {
                tracing::info!("{what}: this address had its mails for today; none sent");
                return;
            }
            if let Some(address) = normalized.filter(|_| config.signup.check_mx) {
                let (server, domain) = (config.signup.dns_server, address.address.domain());
                let verdict = limits.domains.check(server, domain).await;
                metrics.signup_domain(verdict.label());
                match verdict {
                    Verdict::NoMail(why) => {
                        tracing::info!(
                            "{what}: the address's domain takes no mail ({why}); none sent"
                        );
                        return;
                    }
                    Verdict::Unknown(e) => tracing::warn!(
                        "{what}: the MX check of the address's domain failed ({e}); mailing anyway"
                    ),
                    Verdict::Mx | Verdict::Address => {}
                }
            }
            if !limits.mails.allow("all", now) {
                tracing::warn!("{what}: the hourly limit of sign-up mails is reached; none sent");
                return;
            }
            let sent = async {
                let mail = mail(&config)?;
                let (envelope, bytes) = use_case::message(&config, &to, &mail, now)?;
                use_case::deliver(&config, &envelope, &bytes).await
            }
            .await;
            match sent {
                Ok(()) => tracing::info!("{what}: mail sent"),
                Err(e) => tracing::error!("{what}: the mail could not be sent: {e:#}"),
            }
        });
    }

    /// A page of `paragraphs` (and a link) titled by the text at `title`, with `status`.
    pub fn message(
        &self,
        status: StatusCode,
        title: &str,
        paragraphs: &[String],
        link: Option<(&str, String)>,
    ) -> Response {
        let title = self.texts.get(title, &[]);
        let page = pages::page(
            &self.theme,
            &self.config.site.name,
            &title,
            pages::message(paragraphs, link),
        );
        respond(status, page)
    }
}

/// The client's IP address, when the server records it: the TCP peer, or behind a trusted
/// reverse proxy the client it names (see [`super::forwarded`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Peer(pub Option<IpAddr>);

impl axum::extract::FromRequestParts<AppState> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        let config = state.config.get();
        let trusted = &config.signup.trusted_proxies;
        let client = |c: &ConnectInfo<SocketAddr>| {
            super::forwarded::client(c.0.ip(), &parts.headers, trusted)
        };
        Ok(Peer(peer.map(client)))
    }
}

/// The "too many requests" page.
fn too_many(theme: &Theme, texts: &Texts, site: &str) -> Response {
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

/// Renders the sign-up form of `list` (`None`: the first sign-up list), again with `values` and
/// `error` when it is refused.
fn form_page(
    cx: &Ctx,
    list: Option<&str>,
    values: Option<&Form>,
    error: Option<String>,
) -> Response {
    let (config, texts) = (&*cx.config, &cx.texts);
    let site = config.site.name.as_str();
    let Some(list) = use_case::list(config, list) else {
        let text = texts.get("subscribe.no_list", &[]);
        return cx.message(StatusCode::NOT_FOUND, "subscribe.no_list", &[text], None);
    };
    let offers = use_case::offers(config, list);
    let several = use_case::list(config, None).is_some_and(|first| first.name != list.name);
    let pow = (config.signup.pow_bits > 0)
        .then(|| use_case::keys(config).ok())
        .flatten()
        .map(|k| (use_case::pow_challenge(&k, cx.now), config.signup.pow_bits));
    let status = match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
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
    let title = texts.get("subscribe.title", &[("site", site)]);
    respond(status, pages::page(&cx.theme, site, &title, content))
}

/// `GET /subscribe[?list=L]`: the form.
pub(super) async fn form(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    match Ctx::of(&state, None).await {
        Ok(cx) => form_page(&cx, q.list.as_deref(), None, None),
        Err(r) => r,
    }
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
    let mut response = match Ctx::of(&state, Some((&limits, ip))).await {
        Ok(cx) => subscribe_with(&cx, limits, &body),
        Err(r) => r,
    };
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

fn subscribe_with(cx: &Ctx, limits: Arc<Limits>, body: &[u8]) -> Response {
    let (config, texts) = (&*cx.config, &cx.texts);
    let f = fields(body);
    let form = Form {
        list: Some(field(&f, "list").to_string()).filter(|l| !l.is_empty()),
        email: field(&f, "email").to_string(),
        name: field(&f, "name").to_string(),
        digests: all(&f, "digest"),
    };
    let sent = |address: &str| {
        let text = texts.get("subscribe.sent_text", &[("address", address)]);
        cx.message(StatusCode::OK, "subscribe.sent_title", &[text], None)
    };
    if !field(&f, "website").is_empty() {
        tracing::info!("sign-up: honeypot field filled; nothing sent");
        return sent(form.email.trim());
    }
    let bits = config.signup.pow_bits;
    if bits > 0 {
        let (challenge, nonce) = (field(&f, "pow_challenge"), field(&f, "pow_nonce"));
        let solved = use_case::keys(config)
            .is_ok_and(|k| use_case::pow_ok(&k, challenge, nonce, bits, cx.now));
        if !solved {
            let key = match nonce.is_empty() {
                true => "subscribe.pow_missing",
                false => "subscribe.pow_failed",
            };
            let error = texts.get(key, &[]);
            return form_page(cx, form.list.as_deref(), Some(&form), Some(error));
        }
    }
    match use_case::pending(config, &form, cx.now) {
        Err(refusal) => {
            let error = match refusal {
                Refusal::Address(reason) => {
                    texts.get("subscribe.bad_address", &[("reason", &reason)])
                }
                Refusal::NoDigest => texts.get("subscribe.no_digest", &[]),
                Refusal::NoList => texts.get("subscribe.no_list", &[]),
            };
            form_page(cx, form.list.as_deref(), Some(&form), Some(error))
        }
        Ok((pending, _)) => {
            let to = pending.address.clone();
            cx.mail_later(limits, to.clone(), "sign-up confirmation", move |config| {
                let keys = use_case::keys(config)?;
                use_case::confirmation_mail(config, &keys, &pending)
            });
            sent(&to)
        }
    }
}

/// The sign-up a confirmation token carries (genuine and unexpired), read without changing
/// anything, with the consent text its page shows.
fn consent(cx: &Ctx, token: &str) -> Option<(Pending, String)> {
    let (config, texts) = (&*cx.config, &cx.texts);
    let keys = use_case::keys(config).ok()?;
    let (pending, _) = Pending::open(&keys, token, cx.now.timestamp())?;
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

fn invalid(cx: &Ctx) -> Response {
    let days = (CONFIRM_TTL / 86_400).to_string();
    let text = cx.texts.get("confirm.invalid_text", &[("days", &days)]);
    let again = ("/subscribe", cx.texts.get("confirm.signup_again", &[]));
    cx.message(
        StatusCode::BAD_REQUEST,
        "confirm.invalid_title",
        &[text],
        Some(again),
    )
}

/// `GET /confirm/<token>`: the landing page with the button; nothing changes.
pub(super) async fn landing(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let cx = match Ctx::of(&state, None).await {
        Ok(cx) => cx,
        Err(r) => return r,
    };
    match consent(&cx, &token) {
        None => invalid(&cx),
        Some((_, text)) => {
            let title = cx.texts.get("confirm.title", &[]);
            let form = pages::confirm_form(&cx.texts, &text);
            respond(
                StatusCode::OK,
                pages::page(&cx.theme, &cx.config.site.name, &title, form),
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
    let cx = match Ctx::of(&state, Some((&limits, ip))).await {
        Ok(cx) => cx,
        Err(r) => return r,
    };
    let Some((_, text)) = consent(&cx, &token) else {
        tracing::warn!("confirmation with an invalid, tampered or expired token");
        return invalid(&cx);
    };
    let (store, clock, c) = (state.store.clone(), state.clock.clone(), cx.config.clone());
    let done = blocking("confirming a sign-up", move || {
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        use_case::confirm(&c, &mut store, &token, ip, &text, &*clock)
    })
    .await;
    let (config, texts) = (&*cx.config, &cx.texts);
    match done {
        Err(r) => r,
        Ok(Confirmed::Invalid) => invalid(&cx),
        Ok(Confirmed::Used) => {
            let text = texts.get("confirm.used_text", &[]);
            cx.message(StatusCode::OK, "confirm.used_title", &[text], None)
        }
        Ok(Confirmed::Joined(pending, id)) => {
            tracing::info!(list = %pending.list, "sign-up confirmed");
            let offers = use_case::list(config, Some(&pending.list))
                .map_or_else(Vec::new, |l| use_case::offers(config, l));
            let digests = use_case::labels(&offers, &pending.digests, texts);
            let url = use_case::keys(config)
                .map(|k| use_case::manage_url(config, &k, crate::model::signup::Reader(id)))
                .unwrap_or_default();
            if config.signup.welcome {
                let (u, d) = (url.clone(), digests.clone());
                cx.mail_later(limits, pending.address.clone(), "welcome", move |c| {
                    use_case::link_to_manage(c, "welcome_mail", &u, &d)
                });
            }
            let text = texts.get(
                "confirm.done_text",
                &[("digests", &digests), ("address", &pending.address)],
            );
            let link = (url.as_str(), texts.get("confirm.manage_link", &[]));
            cx.message(StatusCode::OK, "confirm.done_title", &[text], Some(link))
        }
    }
}
