//! `digest preview --serve`: one rendered page at every path, until Ctrl-C.

use std::net::SocketAddr;

use anyhow::{Context as _, Result};

/// Serves `body` (HTML, or plain text with `text`) at every path of `addr` until Ctrl-C, telling
/// `listening` the address once bound.
pub fn serve(
    addr: SocketAddr,
    body: String,
    text: bool,
    listening: impl FnOnce(SocketAddr),
) -> Result<()> {
    let content_type = match text {
        true => "text/plain; charset=utf-8",
        false => "text/html; charset=utf-8",
    };
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, content_type)], body) }
    });
    crate::publish::runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        listening(listener.local_addr()?);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving the preview")
    })
}
