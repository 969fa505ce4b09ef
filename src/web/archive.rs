//! `GET /archive/…`: the archive pages of [`crate::archive`], rendered on request from the frozen
//! issues (so a new or edited issue shows at once).

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::{AppState, blocking};
use crate::archive::{self, Page};
use crate::render::Theme;

/// Serves the page `uri` names; a page address missing its final slash is redirected to it.
pub(super) async fn page(State(state): State<AppState>, uri: Uri) -> Response {
    let config = state.config.get();
    let path = uri.path();
    let Some(page) = Page::from_url_path(&config, path) else {
        let slashed = format!("{path}/");
        if Page::from_url_path(&config, &slashed).is_some() {
            return Redirect::permanent(&slashed).into_response();
        }
        return not_found();
    };
    let content_type = page.content_type();
    let rendered = blocking("rendering the archive", move || {
        let theme = Theme::load(&config.paths.templates)?;
        archive::render(&config, &theme, &page)
    })
    .await;
    match rendered {
        Ok(Some(body)) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Ok(None) => not_found(),
        Err(response) => response,
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}
