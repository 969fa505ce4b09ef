//! Sending a frozen issue: a [`Plan`] resolves its audience into the ledger, then rehearses
//! (`--dry-run`), sends one test message (`--to`) or runs the send to every unsent recipient.
//! `digest send` and the daemon's scheduled runs both go through it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};

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
use crate::model::IssueKey;
use crate::model::token::Keys;
use crate::period::Period;
use crate::render;
use crate::stop::Stop;
use crate::store::{Counts, Store};

/// Sample messages written by a rehearsal.
const SAMPLES: usize = 3;

/// A send of one frozen issue, rendered once.
pub struct Plan<'c> {
    config: &'c Config,
    digest: &'c Digest,
    /// The issue.
    pub issue: Issue,
    /// The issue, rendered with its fixed headers.
    pub prepared: Arc<Prepared>,
    /// Told about every attempt and recipient of [`Plan::run`] (the daemon's metrics).
    observer: Option<Arc<dyn send::Observer>>,
}

/// The issue's audience as the ledger has it after resolving the digest's lists.
#[derive(Debug, Clone, Default)]
pub struct Audience {
    /// What resolving the lists found.
    pub resolution: Resolution,
    /// The ledger's rows by state.
    pub counts: Counts,
    /// Whether rows that failed earlier are sent again (`--retry-failed`).
    pub retry_failed: bool,
}

impl Audience {
    /// Recipients a send would deal with now.
    pub fn to_send(&self) -> u64 {
        send::to_send(&self.counts, self.retry_failed)
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (r, c) = (&self.resolution, &self.counts);
        writeln!(
            f,
            "audience: {} entries read; {} new in the ledger, {} listed more than once (mailed once)",
            r.read, r.enqueued.added, r.enqueued.duplicates
        )?;
        let failed = match self.retry_failed {
            true => format!("{} failed earlier (retried now)", c.failed),
            false => format!("{} failed earlier", c.failed),
        };
        writeln!(
            f,
            "recipients: {} to send, {} already sent, {} suppressed, {failed}, {} invalid, {} inactive",
            self.to_send(),
            c.sent,
            c.suppressed,
            r.invalid_count,
            r.inactive
        )?;
        for skipped in &r.invalid {
            writeln!(f, "  invalid: {skipped}")?;
        }
        let unlisted = r.invalid_count.saturating_sub(r.invalid.len() as u64);
        if unlisted > 0 {
            writeln!(f, "  … and {unlisted} more invalid")?;
        }
        Ok(())
    }
}

/// What a rehearsal found and wrote. Nothing was sent and no connection was opened.
#[derive(Debug)]
pub struct Rehearsal {
    /// The issue rehearsed.
    pub issue: IssueKey,
    /// Its number.
    pub number: u32,
    /// Its subject line.
    pub subject: String,
    /// The audience a real send would have (the ledger is left as it was).
    pub audience: Audience,
    /// The folder holding the sample messages.
    pub samples: PathBuf,
    /// Sample messages written (suppressed recipients are skipped).
    pub written: usize,
    /// Size of one message, if any was written.
    pub size: Option<usize>,
    /// Where a real send would go.
    pub transport: String,
    /// How long the send would take under the configured rate limits (`None`: no limits).
    pub estimate: Option<Duration>,
}

impl fmt::Display for Rehearsal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, number) = (&self.issue, self.number);
        writeln!(
            f,
            "dry run of issue #{number} of {} for {}: nothing is sent, no connection is opened",
            key.digest, key.period
        )?;
        writeln!(f, "subject: {}", self.subject)?;
        write!(f, "{}", self.audience)?;
        if let Some(size) = self.size {
            writeln!(f, "message size: {size} bytes")?;
        }
        writeln!(f, "transport: {}", self.transport)?;
        match self.estimate {
            Some(d) => writeln!(
                f,
                "estimated duration: {} under the configured rate limits",
                human(d)
            )?,
            None => writeln!(
                f,
                "estimated duration: no rate limits configured: as fast as the server accepts"
            )?,
        }
        writeln!(
            f,
            "samples: {} .eml file(s) in {} (their unsubscribe links are not live)",
            self.written,
            self.samples.display()
        )
    }
}

/// A duration for people: `45s`, `3m05s`, `2h10m`, `1d04h`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

impl<'c> Plan<'c> {
    /// The plan for the frozen issue of `digest` for `period`; an error saying how to build it if
    /// it is not frozen yet, or (see [`Plan::of`]) why it is too large to send.
    pub fn new(
        config: &'c Config,
        digest: &'c Digest,
        period: Period,
        allow_oversize: bool,
    ) -> Result<Plan<'c>> {
        let issue = issue::find(&config.paths.digests, &digest.id, period)?.ok_or_else(|| {
            anyhow!(
                "{} {period} is not built yet: send only sends frozen issues; run `digest build {} --period {period}` first",
                digest.id,
                digest.id
            )
        })?;
        Plan::of(config, digest, issue, allow_oversize)
    }

    /// The plan for `issue`, frozen already. An issue whose email would be clipped by Gmail
    /// (edited by hand, or frozen with `--allow-oversize`) is refused unless `allow_oversize`.
    pub fn of(
        config: &'c Config,
        digest: &'c Digest,
        issue: Issue,
        allow_oversize: bool,
    ) -> Result<Plan<'c>> {
        let prepared = Arc::new(campaign::prepare(config, digest, &issue)?);
        if !allow_oversize {
            render::check_size(prepared.html_bytes, &issue)?;
        }
        Ok(Plan {
            config,
            digest,
            issue,
            prepared,
            observer: None,
        })
    }

    /// The same plan telling `observer` about every attempt and recipient of [`Plan::run`].
    pub fn observed(self, observer: Arc<dyn send::Observer>) -> Plan<'c> {
        Plan {
            observer: Some(observer),
            ..self
        }
    }

    /// The ledger's name for the issue.
    pub fn key(&self) -> &IssueKey {
        &self.prepared.issue_key
    }

    /// Adds a ledger row for every recipient of the digest's lists not in it yet; the audience as
    /// the ledger then has it.
    pub fn resolve(
        &self,
        store: &mut Store,
        retry_failed: bool,
        clock: &dyn Clock,
    ) -> Result<Audience> {
        let lists = ledger::lists(self.config, self.digest)?;
        let resolution = ledger::resolve(store, self.key(), &lists, clock.now())?;
        Ok(Audience {
            resolution,
            counts: store.counts(self.key())?,
            retry_failed,
        })
    }

    /// `--dry-run`: the real audience resolution inside a transaction that is rolled back, and
    /// sample messages written to `samples/` beside the issue. No connection is opened. The
    /// samples' unsubscribe links are signed with [`Keys::rehearsal`]: forwarded for review, they
    /// unsubscribe nobody.
    pub fn rehearse(&self, store: &mut Store, clock: &dyn Clock) -> Result<Rehearsal> {
        let (audience, pending) = store.rehearse(|s| {
            let audience = self.resolve(s, false, clock)?;
            // Samples show messages that would really go out: suppressed recipients are skipped.
            let mut samples = Vec::with_capacity(SAMPLES);
            for p in s.pending(self.key(), 0, 64, false)? {
                if samples.len() < SAMPLES
                    && s.suppressed(&p.key, &self.digest.id, clock.now())?
                        .is_none()
                {
                    samples.push(p);
                }
            }
            Ok((audience, samples))
        })?;
        let dir = issue::path(
            &self.config.paths.digests,
            &self.digest.id,
            self.key().period,
        )
        .with_file_name("samples");
        let folder = folder(&dir)?;
        let sample =
            campaign::prepare_with(self.config, self.digest, &self.issue, &Keys::rehearsal())?;
        let mut size = None;
        for p in &pending {
            let address = address::normalize(&p.send_to).map_err(|e| anyhow!(e))?;
            let to = To {
                subscriber: p.subscriber_id,
                key: &p.key,
                address: &address.address,
                name: p.name.as_deref(),
            };
            if size.is_none() {
                // The size a real recipient's message has (a sample's token is a little longer).
                size = Some(self.prepared.bytes(&to, clock.now())?.1.len());
            }
            let (envelope, bytes) = sample.bytes(&to, clock.now())?;
            folder.write(&envelope, &bytes).map_err(|e| anyhow!(e))?;
        }
        let smtp = self.config.sending.smtp.as_ref();
        let estimate = match smtp {
            Some(s) => rate::estimate(&s.rate, campaign::recent(store, clock)?, audience.to_send()),
            None => None,
        };
        Ok(Rehearsal {
            issue: self.key().clone(),
            number: self.issue.number,
            subject: self.prepared.subject.clone(),
            audience,
            samples: dir,
            written: pending.len(),
            size,
            transport: smtp.map_or("none configured ([smtp] missing)".into(), smtp::describe),
            estimate,
        })
    }

    /// `--to`: one message, marked as a test, outside the ledger; the server's reply.
    pub fn test(
        &self,
        transport: &dyn Transport,
        store: &mut Store,
        to: &str,
        clock: &dyn Clock,
    ) -> Result<String> {
        let address = address::normalize(to).map_err(|e| anyhow!("--to: {e}"))?;
        let subscriber = store.subscriber_id(&address.key)?;
        let to = To {
            subscriber,
            key: &address.key,
            address: &address.address,
            name: None,
        };
        let (envelope, bytes) = self.prepared.formatted(&to, clock.now(), true)?;
        send_bytes(transport, &envelope, &bytes)?
            .map_err(|e| anyhow!("test message to {} not sent: {e}", address.address))
    }

    /// Sends the issue through `transport` to every unsent row of its ledger (resolve the
    /// audience first), until done or until `stop` is requested: then the messages in flight
    /// finish and are recorded, and the rest stay for the next run. `progress` hears the totals
    /// after every change.
    pub fn run(
        &self,
        store: &mut Store,
        transport: Arc<dyn Transport>,
        retry_failed: bool,
        clock: &dyn Clock,
        stop: &Stop,
        progress: impl FnMut(&Progress),
    ) -> Result<Summary> {
        let mut setup = campaign::setup(
            self.config,
            self.prepared.clone(),
            transport,
            store,
            clock,
            retry_failed,
        )?;
        setup.observer = self.observer.clone();
        let signed = self.config.sending.dkim.is_some();
        crate::publish::send_runtime(signed)?
            .block_on(send::run(store, setup, clock, stop, progress))
    }
}

/// Sends one message outside any ledger over a connection of its own (a test message, a run
/// report); the server's reply, or why not.
pub fn send_one(
    config: &Config,
    transport: &dyn Transport,
    message: &lettre::Message,
    now: DateTime<Utc>,
) -> Result<Result<String, crate::mail::Error>> {
    let dkim = config.sending.dkim.as_ref();
    let bytes = crate::mail::dkim::signed(dkim, message.formatted(), now.timestamp())?;
    send_bytes(transport, message.envelope(), &bytes)
}

/// [`send_one`] for a message already formatted (and signed): `bytes` to `envelope`.
pub fn send_bytes(
    transport: &dyn Transport,
    envelope: &lettre::address::Envelope,
    bytes: &[u8],
) -> Result<Result<String, crate::mail::Error>> {
    Ok(crate::publish::runtime()?.block_on(async {
        let mut conn = transport.connect().await?;
        let reply = conn.send(envelope, bytes).await;
        conn.close().await;
        reply
    }))
}

/// Where a send goes: `.eml` files in `eml` if given, else the configured SMTP relay.
pub fn transport(config: &Config, eml: Option<&Path>) -> Result<Arc<dyn Transport>> {
    match eml {
        Some(dir) => Ok(Arc::new(folder(dir)?)),
        None => campaign::smtp_connector(config),
    }
}

fn folder(dir: &Path) -> Result<Folder> {
    Folder::new(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Requests `stop` when the process gets SIGINT or SIGTERM, after calling `notice` (which says
/// what happens now). The handlers are in place when this returns.
pub fn stop_on_signals(stop: &Stop, notice: impl FnOnce() + Send + 'static) -> Result<()> {
    let stop = stop.clone();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let runtime = crate::publish::runtime()?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let handlers = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                );
                let (Ok(mut interrupt), Ok(mut terminate)) = handlers else {
                    let _ = ready_tx.send(Err(anyhow!("cannot handle SIGINT and SIGTERM")));
                    return;
                };
                let _ = ready_tx.send(Ok(()));
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                notice();
                stop.request();
            })
        })?;
    ready.recv().context("the signal handler thread ended")?
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.progress;
        let rate = match self.elapsed_secs > 0.0 {
            true => p.sent as f64 / self.elapsed_secs,
            false => 0.0,
        };
        let issue = &self.issue;
        writeln!(
            f,
            "{issue}: {} sent, {} failed, {} deferred, {} suppressed, {} retries in {:.1}s ({rate:.0} msg/s)",
            p.sent, p.failed, p.deferred, p.suppressed, p.retries, self.elapsed_secs
        )?;
        if self.interrupted {
            let left = p.total.saturating_sub(p.done());
            writeln!(
                f,
                "interrupted: {left} not sent yet; run the same command again to resume"
            )?;
        }
        if let Some(fatal) = &self.fatal {
            writeln!(f, "stopped: {fatal}")?;
        }
        if p.failed + p.deferred > 0 {
            let (digest, period) = (&issue.digest, issue.period);
            writeln!(
                f,
                "see `digest status {digest} --period {period}` for the failures"
            )?;
        }
        Ok(())
    }
}
