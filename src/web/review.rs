//! The reviewers' pages, at the links of the review message: `GET /review/<token>` shows the
//! issue's review state, its draft and the editing forms, and changes nothing; `POST` approves;
//! `GET /review/<token>/draft` is the issue as readers will see it; `POST /review/<token>/edit`
//! makes one edit and shows the page again. The token is signed and expires at the review
//! deadline; a malformed, tampered, expired or foreign one gets the same 404 (no oracle). Pages
//! are not cached and send no Referer (the token is in the URL).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::{AppState, blocking};
use crate::issue::{self, Issue};
use crate::publish::edit::{self, EditError, Op};
use crate::publish::review::{self, Reviewer};
use crate::render;
use crate::schedule::local_time;
use crate::store::{Approval, Review};

/// Headers of every review response.
const PRIVATE: [(header::HeaderName, &str); 2] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// The answer to a token that is not (or no longer) valid.
fn not_found() -> Response {
    let page = frame(
        "Review",
        html! {
            h1 { "This review link is not valid" }
            p { "It may have expired (at the review deadline), or the digest's reviewers changed." }
        },
    );
    (StatusCode::NOT_FOUND, PRIVATE, Html(page.into_string())).into_response()
}

/// The reviewer of `token` now (`None`, logged, for a token that is not valid).
fn check(state: &AppState, token: &str) -> Option<Reviewer> {
    let config = state.config.get();
    let who = review::reviewer(&config, token, state.clock.now());
    if who.is_none() {
        let shown: String = token.chars().take(8).collect();
        tracing::warn!(token = %shown, "review link with an invalid, expired or tampered token");
    }
    who
}

/// `GET /review/<token>`: the review page. Changes nothing.
pub(super) async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(who) = check(&state, &token) else {
        return not_found();
    };
    show(state, token, who, None).await
}

/// Renders the review page, with `notice` (what the last POST did) on top.
async fn show(state: AppState, token: String, who: Reviewer, notice: Option<String>) -> Response {
    let config = state.config.get();
    let store = state.store.clone();
    let found = blocking("showing a review page", move || {
        let issue = issue::find(&config.paths.digests, &who.digest, who.period)?;
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        let review = store.review(&who.digest, who.period)?;
        let tz = config.digest(&who.digest)?.timezone;
        Ok((issue, review, tz, who))
    })
    .await;
    let (issue, review, tz, who) = match found {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(issue) = issue else {
        return not_found();
    };
    let body = review_page(&token, &issue, review.as_ref(), tz, &who, notice.as_deref());
    (PRIVATE, Html(body.into_string())).into_response()
}

fn review_page(
    token: &str,
    issue: &Issue,
    review: Option<&Review>,
    tz: chrono_tz::Tz,
    who: &Reviewer,
    notice: Option<&str>,
) -> Markup {
    let base = format!("/review/{token}");
    let state = match review {
        Some(r) if r.state.clears() || r.decided_at.is_some() => format!(
            "{} by {} at {}",
            r.state,
            r.decided_by.as_deref().unwrap_or("?"),
            r.decided_at.map_or_else(String::new, |t| local_time(t, tz))
        ),
        Some(r) => match r.deadline {
            Some(d) => format!("awaiting approval until {}", local_time(d, tz)),
            None => "awaiting approval".into(),
        },
        None => "awaiting approval".into(),
    };
    let awaiting = review.is_none_or(|r| !r.state.clears());
    frame(
        &issue.title,
        html! {
            @if let Some(n) = notice { p.notice style="padding:8px 12px;background:#ecfdf5;border:1px solid #10b981;border-radius:6px" { (n) } }
            h1 { "Review: " (issue.title) }
            p { "Issue #" (issue.number) " · " (issue.period_label) " · " (issue.items.len()) " items · you are " (who.address) }
            p id="state" { strong { "State: " } (state) }
            @if awaiting {
                form id="approve" method="post" action=(base) {
                    button type="submit" style="font-size:1.1rem;padding:8px 20px" { "Approve and send" }
                }
            }
            h2 { "Edit" }
            (edit_forms(&base, issue))
            @if !issue.edits.is_empty() {
                h2 { "Edits so far" }
                ol id="edits" {
                    @for e in &issue.edits {
                        li { (e.at.to_rfc3339()) " · " (e.by) " · " (serde_json::to_string(&e.change).unwrap_or_default()) }
                    }
                }
            }
            h2 { "The issue as readers will see it" }
            p { a href={ (base) "/draft" } { "Open the draft on its own" } }
            iframe src={ (base) "/draft" } title="Draft" style="width:100%;height:1200px;border:1px solid #d1d5db" {}
        },
    )
}

fn edit_forms(base: &str, issue: &Issue) -> Markup {
    let action = format!("{base}/edit");
    html! {
        form.edit method="post" action=(action) {
            input type="hidden" name="op" value="drop";
            label { "Drop item " input type="number" name="n" min="1" max=(issue.items.len()) required; }
            button type="submit" { "Drop" }
        }
        form.edit method="post" action=(action) {
            input type="hidden" name="op" value="move";
            label { "Move item " input type="number" name="from" min="1" required; }
            label { " to " input type="number" name="to" min="1" required; }
            button type="submit" { "Move" }
        }
        form.edit method="post" action=(action) {
            input type="hidden" name="op" value="pin";
            label { "Pin the article at " input type="url" name="url" required; }
            label { " at position " input type="number" name="at" min="1"; }
            button type="submit" { "Pin" }
        }
        form.edit method="post" action=(action) {
            input type="hidden" name="op" value="note";
            label { "Editor's note (Markdown)" br; textarea name="note" rows="5" cols="70" { (issue.note.as_deref().unwrap_or("")) } }
            br; button type="submit" { "Save the note" }
        }
        form.edit method="post" action=(action) {
            input type="hidden" name="op" value="subject";
            label { "Subject " input type="text" name="value" size="70" value=(render::subject(issue)); }
            button type="submit" { "Set" }
        }
        form.edit method="post" action=(action) {
            input type="hidden" name="op" value="preheader";
            label { "Preheader " input type="text" name="value" size="70" value=(render::summary_line(issue)); }
            button type="submit" { "Set" }
        }
    }
}

/// `POST /review/<token>`: approves the issue (once; a second approval is told who came first).
pub(super) async fn approve(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(who) = check(&state, &token) else {
        return not_found();
    };
    let config = state.config.get();
    let store = state.store.clone();
    let clock = state.clock.clone();
    let reviewer = who.clone();
    let done = blocking("approving an issue", move || {
        let digest = config.digest(&reviewer.digest)?;
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        review::approve(
            &config,
            digest,
            reviewer.period,
            &reviewer.address,
            &mut store,
            &*clock,
        )
    })
    .await;
    let notice = match done {
        Ok(Approval::Approved(_)) => {
            tracing::info!(digest = %who.digest, period = %who.period, by = %who.address, "issue approved");
            "Approved: the issue goes out at the daemon's next look (within a minute).".to_string()
        }
        Ok(Approval::AlreadyDecided(r)) => format!(
            "Nothing changed: it was decided already ({} by {}).",
            r.state,
            r.decided_by.as_deref().unwrap_or("?")
        ),
        Err(r) => return r,
    };
    show(state, token, who, Some(notice)).await
}

/// `GET /review/<token>/draft`: the issue's email as readers will see it (stand-in recipient).
pub(super) async fn draft(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(who) = check(&state, &token) else {
        return not_found();
    };
    let config = state.config.get();
    let rendered = blocking("rendering a draft", move || {
        let Some(issue) = issue::find(&config.paths.digests, &who.digest, who.period)? else {
            return Ok(None);
        };
        Ok(Some(
            crate::publish::preview::rendered(&config, &issue)?.html,
        ))
    })
    .await;
    match rendered {
        Ok(Some(html)) => (PRIVATE, Html(html)).into_response(),
        Ok(None) => not_found(),
        Err(r) => r,
    }
}

/// The edit a draft-page form asks for.
fn op(form: &HashMap<String, String>) -> Result<Op, String> {
    let number = |name: &str| -> Result<u32, String> {
        form.get(name)
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| format!("{name}: give a position (1, 2, …)"))
    };
    let text = |name: &str| form.get(name).cloned().unwrap_or_default();
    match form.get("op").map(String::as_str) {
        Some("drop") => Ok(Op::Drop(number("n")?)),
        Some("move") => Ok(Op::Move(number("from")?, number("to")?)),
        Some("pin") => Ok(Op::Pin {
            url: text("url"),
            at: form
                .get("at")
                .filter(|v| !v.trim().is_empty())
                .map(|_| number("at"))
                .transpose()?,
        }),
        Some("note") => Ok(Op::Note(text("note"))),
        Some("subject") => Ok(Op::Subject(text("value"))),
        Some("preheader") => Ok(Op::Preheader(text("value"))),
        _ => Err("unknown edit".into()),
    }
}

/// `POST /review/<token>/edit`: one edit of the issue, by the token's reviewer; then the page
/// again (a 303 to it on success, so a reload does not repeat the edit).
pub(super) async fn edit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(who) = check(&state, &token) else {
        return not_found();
    };
    let op = match op(&form) {
        Ok(op) => op,
        Err(message) => return show(state, token, who, Some(message)).await,
    };
    let config = state.config.get();
    let store = state.store.clone();
    let clock = state.clock.clone();
    let reviewer = who.clone();
    let done = blocking("editing an issue", move || {
        let digest = config.digest(&reviewer.digest)?;
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        let by = reviewer.address.clone();
        Ok(
            match edit::apply(
                &config,
                digest,
                reviewer.period,
                &[op],
                &by,
                &store,
                &*clock,
            ) {
                Ok(_) => None,
                Err(EditError::Failed(e)) => return Err(e),
                Err(refused) => Some(refused.to_string()),
            },
        )
    })
    .await;
    match done {
        Ok(None) => (PRIVATE, Redirect::to(&format!("/review/{token}"))).into_response(),
        Ok(Some(refused)) => show(state, token, who, Some(format!("Not edited: {refused}"))).await,
        Err(r) => r,
    }
}

fn frame(title: &str, content: Markup) -> Markup {
    super::frame(&format!("Review · {title}"), "56rem", content)
}
