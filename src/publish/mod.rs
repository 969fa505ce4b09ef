//! The use cases, written once: what the commands (`cmd/`), the daemon (`daemon/`) and the web side
//! (`web/`) do with the stages. Each driver parses its input, asks these functions and shows the
//! outcome; none of them strings the stages together itself.
//!
//! - [`ingest`]: load the configured sources, and the one rule for when a store is filled first;
//! - [`build`]: freeze (or draft) the issue of a period;
//! - [`send`]: a [`send::Plan`] for a frozen issue: rehearse it, test it, or run it to the ledger;
//! - [`status`]: where things stand, for `digest status` and the daemon's `/status`;
//! - [`inbound`]: apply the bounces, complaints and unsubscribe requests that came back;
//! - [`check`], [`preview`] and [`suppress`]: what `digest check`, `preview` and `suppress` do;
//! - [`init`]: a new project, ready for `digest check` and `digest preview`.

pub mod build;
pub mod check;
pub mod inbound;
pub mod ingest;
pub mod init;
pub mod preview;
pub mod report;
pub mod send;
pub mod status;
pub mod suppress;

use anyhow::Result;

/// The tokio runtime every asynchronous use case runs on (sends, the preview server, the daemon's
/// web side): built here, the same way, and nowhere else.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}
