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
//! - [`init`]: a new project, ready for `digest check` and `digest preview`;
//! - [`review`] and [`edit`]: review before sending, and edits of a frozen, unsent issue.
//! - [`subscribers`] and [`signup`]: readers who join, choose and leave on their own.

pub mod build;
pub mod check;
pub mod edit;
pub mod inbound;
pub mod ingest;
pub mod init;
pub mod preview;
pub mod report;
pub mod review;
pub mod send;
pub mod signup;
pub mod status;
pub mod subscribers;
pub mod suppress;

use anyhow::Result;

/// The tokio runtime every asynchronous use case runs on (sends, the preview server, the daemon's
/// web side): built here, the same way, and nowhere else.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    runtime_of(2)
}

/// The runtime of a send run: messages are signed on the worker threads, so a signed send gets
/// [`runtime`]'s two; an unsigned one gets one. Its workers only splice and write, and a second
/// thread cost more in cross-thread wake-ups than it gave: 20,000 messages into `smtp-sink` took
/// about 150 µs of CPU each with one worker and 180 µs with two, and less time (BENCHMARKS.md).
pub(crate) fn send_runtime(signed: bool) -> Result<tokio::runtime::Runtime> {
    runtime_of(if signed { 2 } else { 1 })
}

fn runtime_of(workers: usize) -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?)
}
