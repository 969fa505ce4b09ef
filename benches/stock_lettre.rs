//! The TCP_NODELAY counterfactual. The messages `digest send` builds, sent through lettre's stock
//! connection (`AsyncSmtpConnection::connect_tokio1`, which never sets TCP_NODELAY), one worker per
//! connection, as the send loop does. Set beside `digest send` and `smtp-source` in the same run,
//! it shows the delayed-ACK stall that `src/mail/transport/smtp.rs` avoids by handing lettre its
//! own nodelay socket; if that fix ever regressed, `digest send` would fall to this figure.
//!
//! `stock_lettre CONFIG_DIR DIGEST PERIOD HOST:PORT MESSAGES CONNECTIONS RUNS` prints the median
//! `msgs_per_s=…` of RUNS passes (fresh connections each).

mod common;
#[path = "common/timing.rs"]
mod timing;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, Result, anyhow};
use digest::clock::{Clock, SystemClock};
use digest::mail::message::{Prepared, To};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;

/// Sends messages `next..messages` (shared counter) over one stock connection.
async fn worker(
    prepared: Arc<Prepared>,
    server: String,
    next: Arc<AtomicU64>,
    messages: u64,
) -> Result<()> {
    let hello = ClientId::default();
    let mut conn =
        AsyncSmtpConnection::connect_tokio1(server.as_str(), None, &hello, None, None).await?;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= messages {
            break;
        }
        let (subscriber, key, address, name) = common::recipient(i);
        let to = To {
            subscriber,
            key: &key,
            address: &address,
            name: Some(&name),
        };
        let message = prepared.message(&to, SystemClock.now(), false)?;
        conn.send(message.envelope(), &message.formatted()).await?;
    }
    conn.quit().await?;
    Ok(())
}

fn main() -> Result<()> {
    let args = timing::args();
    let [dir, digest, period, server, messages, connections, runs] = args.as_slice() else {
        return Err(anyhow!(
            "usage: stock_lettre CONFIG_DIR DIGEST PERIOD HOST:PORT MESSAGES CONNECTIONS RUNS"
        ));
    };
    let messages: u64 = messages.parse().context("MESSAGES")?;
    let connections: usize = connections.parse().context("CONNECTIONS")?;
    let runs: usize = runs.parse().context("RUNS")?;
    let (_, prepared) = common::prepare(Path::new(dir), digest, period)?;
    let prepared = Arc::new(prepared);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (median, result) = timing::median(runs, || {
        let next = Arc::new(AtomicU64::new(0));
        runtime.block_on(async {
            let workers: Vec<_> = (0..connections)
                .map(|_| {
                    let (p, s, n) = (prepared.clone(), server.clone(), next.clone());
                    tokio::spawn(worker(p, s, n, messages))
                })
                .collect();
            for w in workers {
                w.await??;
            }
            anyhow::Ok(())
        })
    });
    result?;
    println!("msgs_per_s={:.1}", messages as f64 / median.as_secs_f64());
    Ok(())
}
