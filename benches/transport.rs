//! The TCP_NODELAY trap, kept in sight. lettre never sets TCP_NODELAY and writes a message's body
//! and its final `.` separately, so with small messages each one waits for a delayed ACK. The same
//! small messages go through digest's SMTP connection (`src/mail/transport/smtp.rs`: our own
//! nodelay socket handed to lettre) and through lettre's stock connection
//! (`AsyncSmtpConnection::connect_tokio1`), `connections` workers each, runs interleaved. If the
//! fix regressed, the first figure would fall to the second.
//!
//! `transport CONFIG_DIR MESSAGES CONNECTIONS SIZE RUNS` sends to the project's `[smtp]` relay and
//! prints `digest_msgs_per_s=… stock_msgs_per_s=…` (medians of RUNS passes, new connections each).

#[path = "common/args.rs"]
mod args;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};
use digest::config::Config;
use digest::mail::transport::smtp::Connector;
use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;

/// Which SMTP connection a pass uses.
#[derive(Clone, Copy)]
enum Kind {
    Digest,
    Stock,
}

/// A plain-text message of about `size` bytes (64-byte lines).
fn message(size: usize) -> Result<Vec<u8>> {
    let line = format!("{}\r\n", "x".repeat(62));
    let message = lettre::Message::builder()
        .from("Bench <bench@example.com>".parse()?)
        .to("Reader <reader@example.net>".parse()?)
        .subject("transport benchmark")
        .body(line.repeat(size / line.len()))?;
    Ok(message.formatted())
}

/// Sends messages `next..messages` (a shared counter) over one connection of `kind`.
async fn worker(
    kind: Kind,
    connector: Arc<Connector>,
    server: String,
    bytes: Arc<Vec<u8>>,
    next: Arc<AtomicU64>,
    messages: u64,
) -> Result<()> {
    let from: Address = "bench@example.com".parse()?;
    let envelope = |i: u64| -> Result<Envelope> {
        let to: Address = format!("reader{i}@example.net").parse()?;
        Ok(Envelope::new(Some(from.clone()), vec![to])?)
    };
    let take = || Some(next.fetch_add(1, Ordering::Relaxed)).filter(|&i| i < messages);
    match kind {
        Kind::Digest => {
            let mut conn = connector.connect().await?;
            while let Some(i) = take() {
                conn.send(&envelope(i)?, &bytes).await?;
            }
            conn.close().await;
        }
        Kind::Stock => {
            let hello = ClientId::default();
            let mut conn =
                AsyncSmtpConnection::connect_tokio1(server.as_str(), None, &hello, None, None)
                    .await?;
            while let Some(i) = take() {
                conn.send(&envelope(i)?, &bytes).await?;
            }
            conn.quit().await?;
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = args::positional();
    let [dir, messages, connections, size, runs] = args.as_slice() else {
        return Err(anyhow!(
            "usage: transport CONFIG_DIR MESSAGES CONNECTIONS SIZE RUNS"
        ));
    };
    let messages: u64 = messages.parse().context("MESSAGES")?;
    let connections: usize = connections.parse().context("CONNECTIONS")?;
    let size: usize = size.parse().context("SIZE")?;
    let runs: usize = runs.parse().context("RUNS")?;
    let config = Config::load(Path::new(dir)).map_err(|e| anyhow!("{e}"))?;
    let smtp = config
        .sending
        .smtp
        .as_ref()
        .context("no [smtp] relay configured")?;
    let server = format!("{}:{}", smtp.host, smtp.port);
    let connector = Arc::new(Connector::new(smtp)?);
    let bytes = Arc::new(message(size)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let pass = |kind: Kind| -> Result<Duration> {
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        runtime.block_on(async {
            let workers: Vec<_> = (0..connections)
                .map(|_| {
                    let (c, b, n) = (connector.clone(), bytes.clone(), next.clone());
                    tokio::spawn(worker(kind, c, server.clone(), b, n, messages))
                })
                .collect();
            for w in workers {
                w.await??;
            }
            anyhow::Ok(())
        })?;
        Ok(started.elapsed())
    };
    // Interleaved, so both see the same machine.
    let (mut ours, mut stock) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        ours.push(pass(Kind::Digest)?);
        stock.push(pass(Kind::Stock)?);
    }
    let rate = |mut times: Vec<Duration>| {
        times.sort();
        messages as f64 / times[times.len() / 2].as_secs_f64()
    };
    println!(
        "digest_msgs_per_s={:.1} stock_msgs_per_s={:.1}",
        rate(ours),
        rate(stock)
    );
    Ok(())
}
