//! `digest send`: rehearse (`--dry-run`), test (`--to`) or send a frozen issue.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};

use super::target;
use crate::cli::SendArgs;
use crate::clock::Clock;
use crate::config::{Config, Digest};
use crate::issue::{self, Issue};
use crate::mail::address;
use crate::mail::campaign;
use crate::mail::ledger::{self, Resolution};
use crate::mail::message::{Prepared, To};
use crate::mail::rate;
use crate::mail::send::{self, Progress, Summary};
use crate::mail::transport::{Transport, file::Folder, smtp};
use crate::period::Period;
use crate::stop::Stop;
use crate::store::{Counts, Store};

/// Sample messages written by `--dry-run`.
const SAMPLES: usize = 3;

pub(super) fn run(config: &Config, args: &SendArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let (digest, period) = target(config, &args.target, clock)?;
    let issue = issue::find(&config.paths.digests, &digest.id, period)?.ok_or_else(|| {
        anyhow!(
            "{} {period} is not built yet: send only sends frozen issues; run `digest build {} --period {period}` first",
            digest.id,
            digest.id
        )
    })?;
    let prepared = Arc::new(campaign::prepare(config, digest, &issue)?);
    let mut store = Store::open(&config.paths.store)?;
    if args.dry_run {
        return dry_run(config, digest, period, &issue, &prepared, &mut store, clock);
    }
    let connector = connector(config, args)?;
    if let Some(to) = &args.to {
        return test_send(&prepared, &connector, &mut store, to, clock);
    }
    let lists = ledger::lists(config, digest)?;
    let resolution = ledger::resolve(&mut store, &prepared.issue_key, &lists, clock.now())?;
    let counts = store.counts(&prepared.issue_key)?;
    let to_send = send::to_send(&counts, args.retry_failed);
    print_audience(&resolution, &counts, to_send);
    if to_send == 0 {
        say!(
            "nothing to send: every recipient of issue #{} is already dealt with",
            issue.number
        );
        return Ok(ExitCode::SUCCESS);
    }
    let question = format!(
        "send issue #{} \"{}\" to {to_send} recipient(s) via {}?",
        issue.number,
        prepared.subject,
        connector.describe()
    );
    if !args.yes && !confirm(&question)? {
        say!("cancelled: nothing sent");
        return Ok(ExitCode::FAILURE);
    }
    let setup = campaign::setup(
        config,
        prepared,
        connector,
        &store,
        clock,
        args.retry_failed,
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let summary = runtime.block_on(async {
        let stop = Stop::new();
        let asker = stop.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            eprintln!("\nstopping: no new messages; waiting for the ones in flight…");
            asker.request();
        });
        let mut reporter = Reporter::new();
        send::run(&mut store, setup, clock, &stop, |p| reporter.report(p)).await
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    print_summary(&summary, args.json)?;
    Ok(match () {
        _ if summary.interrupted => ExitCode::from(130),
        _ if summary.is_clean() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

fn connector(config: &Config, args: &SendArgs) -> Result<Arc<dyn Transport>> {
    if let Some(dir) = &args.eml {
        let folder = Folder::new(dir).with_context(|| format!("creating {}", dir.display()))?;
        return Ok(Arc::new(folder));
    }
    campaign::smtp_connector(config)
}

/// `--dry-run`: the real audience resolution inside a transaction that is rolled back, and sample
/// messages written to files. No network connection is opened.
fn dry_run(
    config: &Config,
    digest: &Digest,
    period: Period,
    issue: &Issue,
    prepared: &Prepared,
    store: &mut Store,
    clock: &dyn Clock,
) -> Result<ExitCode> {
    let lists = ledger::lists(config, digest)?;
    let key = prepared.issue_key.clone();
    let (resolution, counts, samples) = store.rehearse(|s| {
        let resolution = ledger::resolve(s, &key, &lists, clock.now())?;
        let counts = s.counts(&key)?;
        // Samples show messages that would really go out: suppressed recipients are skipped.
        let mut samples = Vec::with_capacity(SAMPLES);
        for p in s.pending(&key, 0, 64, false)? {
            if samples.len() < SAMPLES && s.suppressed(&p.key, &digest.id)?.is_none() {
                samples.push(p);
            }
        }
        Ok((resolution, counts, samples))
    })?;
    say!(
        "dry run of issue #{} of {} for {period}: nothing is sent, no connection is opened",
        issue.number,
        digest.id
    );
    let to_send = send::to_send(&counts, false);
    print_audience(&resolution, &counts, to_send);
    say!("subject: {}", prepared.subject);
    let folder_path =
        issue::path(&config.paths.digests, &digest.id, period).with_file_name("samples");
    let folder =
        Folder::new(&folder_path).with_context(|| format!("creating {}", folder_path.display()))?;
    let mut size = None;
    for p in &samples {
        let address = address::normalize(&p.send_to).map_err(|e| anyhow!(e))?;
        let to = To {
            subscriber: p.subscriber_id,
            key: &p.key,
            address: &address.address,
            name: p.name.as_deref(),
        };
        let (envelope, bytes) = prepared.bytes(&to, clock.now())?;
        size.get_or_insert(bytes.len());
        folder.write(&envelope, &bytes).map_err(|e| anyhow!(e))?;
    }
    if let Some(size) = size {
        say!("message size: {size} bytes");
    }
    let smtp = config.sending.smtp.as_ref();
    let transport = smtp.map_or("none configured ([smtp] missing)".to_string(), |s| {
        smtp::describe(s)
    });
    say!("transport: {transport}");
    match smtp.and_then(|s| rate::estimate(&s.rate, campaign::recent(store, clock).ok()?, to_send))
    {
        Some(d) => say!(
            "estimated duration: {} under the configured rate limits",
            human(d)
        ),
        None => {
            say!("estimated duration: no rate limits configured: as fast as the server accepts")
        }
    }
    say!(
        "samples: {} .eml file(s) in {} (their unsubscribe links are not live)",
        samples.len(),
        folder_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `--to`: one message, marked as a test, outside the ledger.
fn test_send(
    prepared: &Prepared,
    connector: &Arc<dyn Transport>,
    store: &mut Store,
    to: &str,
    clock: &dyn Clock,
) -> Result<ExitCode> {
    let address = address::normalize(to).map_err(|e| anyhow!("--to: {e}"))?;
    let subscriber = store.subscriber_id(&address.key)?;
    let to = To {
        subscriber,
        key: &address.key,
        address: &address.address,
        name: None,
    };
    let message = prepared.message(&to, clock.now(), true)?;
    let bytes = message.formatted();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reply = runtime.block_on(async {
        let mut conn = connector.connect().await?;
        let reply = conn.send(message.envelope(), &bytes).await;
        conn.close().await;
        reply
    });
    match reply {
        Ok(reply) => {
            say!(
                "sent a test message to {} via {}: {reply}",
                address.address,
                connector.describe()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => bail!("test message to {} not sent: {e}", address.address),
    }
}

fn print_audience(r: &Resolution, c: &Counts, to_send: u64) {
    let e = &r.enqueued;
    say!(
        "audience: {} entries read; {} new in the ledger, {} duplicate(s) across lists",
        r.read,
        e.added,
        e.duplicates
    );
    say!(
        "recipients: {} to send, {} already sent, {} suppressed, {} failed earlier, {} invalid, {} inactive",
        to_send,
        c.sent,
        c.suppressed,
        c.failed,
        r.invalid_count,
        r.inactive
    );
    for skipped in &r.invalid {
        say!("  invalid: {skipped}");
    }
    if r.invalid_count > r.invalid.len() as u64 {
        say!(
            "  … and {} more invalid",
            r.invalid_count - r.invalid.len() as u64
        );
    }
}

fn print_summary(s: &Summary, json: bool) -> Result<()> {
    if json {
        say!("{}", serde_json::to_string(s)?);
        return Ok(());
    }
    let p = &s.progress;
    let key = s.issue.as_ref().expect("a send summary names its issue");
    let rate = if s.elapsed_secs > 0.0 {
        p.sent as f64 / s.elapsed_secs
    } else {
        0.0
    };
    say!(
        "{key}: {} sent, {} failed, {} deferred, {} suppressed, {} retries in {:.1}s ({rate:.0} msg/s)",
        p.sent,
        p.failed,
        p.deferred,
        p.suppressed,
        p.retries,
        s.elapsed_secs
    );
    if s.interrupted {
        say!(
            "interrupted: {} not sent yet; run the same command again to resume",
            p.total.saturating_sub(p.done())
        );
    }
    if let Some(fatal) = &s.fatal {
        say!("stopped: {fatal}");
    }
    if p.failed + p.deferred > 0 {
        say!(
            "see `digest status {} --period {}` for the failures",
            key.digest,
            key.period
        );
    }
    Ok(())
}

fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("not sending without confirmation: stdin is not a terminal; pass --yes to send");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// Progress: a bar on a terminal, a log line every few seconds otherwise.
struct Reporter {
    bar: Option<indicatif::ProgressBar>,
    last: std::time::Instant,
    started: std::time::Instant,
}

impl Reporter {
    fn new() -> Reporter {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} {msg} {per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        let now = std::time::Instant::now();
        Reporter {
            bar,
            last: now,
            started: now,
        }
    }

    fn report(&mut self, p: &Progress) {
        if let Some(bar) = &self.bar {
            bar.set_length(p.total);
            bar.set_position(p.done());
            bar.set_message(format!(
                "sent {}, failed {}, deferred {}",
                p.sent, p.failed, p.deferred
            ));
            if p.done() >= p.total {
                bar.finish_and_clear();
            }
            return;
        }
        if self.last.elapsed() >= Duration::from_secs(2) || p.done() >= p.total {
            self.last = std::time::Instant::now();
            let rate = p.sent as f64 / self.started.elapsed().as_secs_f64().max(0.001);
            eprintln!(
                "progress: {}/{} done, {} sent, {} failed, {} deferred, {} suppressed, {rate:.0} msg/s",
                p.done(),
                p.total,
                p.sent,
                p.failed,
                p.deferred,
                p.suppressed
            );
        }
    }
}
