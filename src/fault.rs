//! Fault injection for the crash harness (cargo feature `fault-injection`; without it every point
//! compiles to nothing). With `DIGEST_FAULT=<point>:<n>` the process aborts, as abruptly as
//! `kill -9` (no unwinding, no destructors), the n-th time it reaches `point`. Points:
//!
//! - `accepted`: a worker has the server's 250 for a message, before the ledger knows;
//! - `record`: the ledger's transaction has its updates, before it commits;
//! - `recorded`: just after the ledger committed a batch of outcomes;
//! - `freeze`: a new `issue.json` is written to its temporary file, before it is moved into place;
//! - `ingest-chunk`: a chunk of JSON Lines articles is stored inside the load's open transaction;
//! - `inbound-committed`: a message from the IMAP mailbox is recorded, before it is moved out.

/// Aborts the process if `DIGEST_FAULT` names this point and this is its n-th arrival.
#[cfg(feature = "fault-injection")]
pub fn point(name: &str) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static ARRIVALS: AtomicU64 = AtomicU64::new(0);
    let target = TARGET.get_or_init(|| {
        let spec = std::env::var("DIGEST_FAULT").ok()?;
        let (point, n) = spec.split_once(':')?;
        Some((point.to_string(), n.parse().ok()?))
    });
    if let Some((point, n)) = target
        && point == name
        && ARRIVALS.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        eprintln!("fault injected at {name}:{n}");
        std::process::abort();
    }
}

/// Aborts the process if `DIGEST_FAULT` names this point (only with `fault-injection`).
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &str) {}
