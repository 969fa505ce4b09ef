//! The configured sources of returned mail (`[inbound]`: a Maildir, an IMAP mailbox), which the
//! daemon polls and `digest inbound --imap` reads: each run is recorded as the source's health
//! (consecutive failures, last error), which `/readyz` and `digest status` report.

use std::path::Path;

use anyhow::Result;

use super::{MaildirRun, maildir, processor};
use crate::clock::Clock;
use crate::config::{Config, Imap};
use crate::events::Events;
use crate::inbound::imap::Mailbox;
use crate::mail::campaign;
use crate::store::{SourceHealth, Store};
use crate::text::one_line;

/// One configured source of returned mail.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// `[inbound] maildir`.
    Maildir(&'a Path),
    /// `[inbound.imap]`.
    Imap(&'a Imap),
}

impl Source<'_> {
    /// The name its health is recorded under (with the feed sources' health: a `[sources]` key
    /// never holds a dot).
    pub fn name(&self) -> &'static str {
        match self {
            Source::Maildir(_) => "inbound.maildir",
            Source::Imap(_) => "inbound.imap",
        }
    }

    /// Where it is, for people: the Maildir's path or `imaps://user@host:port/mailbox`.
    pub fn describe(&self) -> String {
        match self {
            Source::Maildir(dir) => one_line(&dir.display().to_string(), 500),
            Source::Imap(imap) => imap.describe(),
        }
    }
}

/// The sources `[inbound]` configures, the Maildir first.
pub fn configured(config: &Config) -> Vec<Source<'_>> {
    let Some(inbound) = &config.inbound else {
        return Vec::new();
    };
    let maildir = inbound.maildir.as_deref().map(Source::Maildir);
    maildir
        .into_iter()
        .chain(inbound.imap.as_ref().map(Source::Imap))
        .collect()
}

/// Processes what `source` holds and records how that went as its health; emits to `events`.
pub fn run(
    config: &Config,
    source: Source<'_>,
    clock: &dyn Clock,
    events: &Events,
) -> Result<MaildirRun> {
    let done = match source {
        Source::Maildir(dir) => maildir(config, dir, clock, events),
        Source::Imap(imap) => self::imap(config, imap, clock, events),
    };
    let mut store = Store::open(&config.paths.store)?;
    let (name, now) = (source.name(), clock.now());
    match &done {
        Ok(_) => store.record_success(name, &source.describe(), None, now)?,
        Err(e) => store.record_failure(name, &one_line(&format!("{e:#}"), 1000), now)?,
    };
    done
}

/// Processes `source` for `digest inbound` run by hand. A Maildir named on the command line need
/// not be the configured one, so no health is recorded for it (the configured IMAP mailbox's is);
/// the daemon's webhooks are not sent from here.
pub fn by_hand(config: &Config, source: Source<'_>, clock: &dyn Clock) -> Result<MaildirRun> {
    let none = Events::default();
    match source {
        Source::Maildir(dir) => maildir(config, dir, clock, &none),
        Source::Imap(_) => run(config, source, clock, &none),
    }
}

/// The recorded health of each configured source that has run, with its description.
pub fn health(config: &Config, store: &Store) -> Result<Vec<(String, SourceHealth)>> {
    let recorded = store.source_health()?;
    Ok(configured(config)
        .iter()
        .filter_map(|s| {
            let h = recorded.iter().find(|h| h.name == s.name())?;
            Some((s.describe(), h.clone()))
        })
        .collect())
}

/// Processes every message of the IMAP mailbox, each moved to the processed mailbox once its
/// findings are committed (a crash in between processes it again, which records nothing twice).
/// Emits to `events`.
pub fn imap(
    config: &Config,
    imap: &Imap,
    clock: &dyn Clock,
    events: &Events,
) -> Result<MaildirRun> {
    let keys = campaign::keys(config)?;
    let processor = processor(config, &keys, events);
    let mut store = Store::open(&config.paths.store)?;
    crate::publish::runtime()?.block_on(async {
        let mut mailbox = Mailbox::open(imap).await?;
        let mut run = MaildirRun::default();
        let read = async {
            for uid in mailbox.pending().await? {
                let Some(raw) = mailbox.fetch(uid).await? else {
                    continue;
                };
                // Named for the record (when it has no Message-ID) for good: UIDVALIDITY and UID.
                let validity = mailbox.uid_validity;
                let name = format!("{} UIDVALIDITY {validity} UID {uid}", imap.describe());
                run.tally += processor.process(&mut store, &raw, &name, clock.now())?;
                crate::fault::point("inbound-committed");
                mailbox.done(uid).await?;
            }
            anyhow::Ok(())
        };
        // What was read before a failure is committed: say how much that was.
        if let Err(e) = read.await {
            return Err(e.context(format!("stopped after {}", run.tally)));
        }
        mailbox.close().await;
        Ok(run)
    })
}
