//! `digest inbound --stdin`, `--maildir` and `--imap`: apply what came back (bounces, complaints, mailed
//! unsubscribe requests) to the store, each message once.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::Config;
use crate::events::Events;
use crate::inbound::matching::Matcher;
use crate::inbound::process::Tally;
use crate::inbound::providers::Event;
use crate::inbound::{Classified, MAX_MESSAGE, classify};
use crate::mail::campaign;
use crate::model::token::Keys;
use crate::store::Store;
use crate::text::one_line;

pub mod process;
mod sources;

use process::Processor;
pub use sources::{Source, by_hand, configured, health, imap, run};

/// The Maildir++ folder processed messages are moved to, inside the Maildir.
pub const PROCESSED: &str = ".processed";

/// Runs `f` with a [`Processor`] for `config` (its unsubscribe keys and `[bounces]`) emitting to
/// `events`.
fn with_processor<T>(
    config: &Config,
    events: &Events,
    f: impl FnOnce(&Processor<'_>) -> Result<T>,
) -> Result<T> {
    let keys = campaign::keys(config)?;
    f(&processor(config, &keys, events))
}

/// A [`Processor`] for `config` with its unsubscribe `keys`, emitting to `events`.
fn processor<'a>(config: &'a Config, keys: &'a Keys, events: &Events) -> Processor<'a> {
    Processor {
        matcher: Matcher { keys, config },
        policy: &config.bounces,
        events: events.clone(),
    }
}

/// Processes the one message in `input` (read up to [`MAX_MESSAGE`] bytes, the rest drained so
/// a piping MTA sees it all taken). Emits no webhook events: those are the daemon's.
pub fn message(config: &Config, input: &mut dyn std::io::Read, clock: &dyn Clock) -> Result<Tally> {
    let mut raw = Vec::new();
    input
        .take(MAX_MESSAGE as u64)
        .read_to_end(&mut raw)
        .context("reading the message")?;
    std::io::copy(input, &mut std::io::sink()).context("reading the message")?;
    with_processor(config, &Events::default(), |p| {
        let mut store = Store::open(&config.paths.store)?;
        p.process(&mut store, &raw, "stdin", clock.now())
    })
}

/// Applies the events a provider's webhook reported to `store`, each once (a replayed one
/// changes nothing and counts as a duplicate), through the same policy as mailed reports,
/// emitting to `emit`.
pub fn events(
    config: &Config,
    store: &mut Store,
    events: &[Event],
    emit: &Events,
    now: DateTime<Utc>,
) -> Result<Tally> {
    with_processor(config, emit, |p| {
        let mut tally = Tally::default();
        for event in events {
            let keys: Vec<&str> = event.keys.iter().map(String::as_str).collect();
            tally += p.record(store, &keys, &event.classified, &event.source(), now)?;
        }
        Ok(tally)
    })
}

/// What a Maildir run did.
#[derive(Debug, Default)]
pub struct MaildirRun {
    /// What the messages said.
    pub tally: Tally,
    /// Messages that could not be read or moved, as `file: error` (left where they are).
    pub problems: Vec<String>,
}

/// Processes the messages of the Maildir `dir` (`new/`, and `cur/` but those flagged seen),
/// moving each to [`PROCESSED`]`/cur` once its findings are committed (a crash in between
/// processes it again, which records nothing twice). Never deletes mail. Emits to `events`.
pub fn maildir(
    config: &Config,
    dir: &Path,
    clock: &dyn Clock,
    events: &Events,
) -> Result<MaildirRun> {
    let files = unseen(dir)?;
    let target = processed_folder(dir)?;
    with_processor(config, events, |p| {
        let mut store = Store::open(&config.paths.store)?;
        let mut run = MaildirRun::default();
        for file in files {
            let shown = crate::text::one_line(&file.display().to_string(), 500);
            let raw = match read(&file) {
                Ok(raw) => raw,
                Err(e) => {
                    run.problems.push(format!("{shown}: {e}"));
                    continue;
                }
            };
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            run.tally += p.process(&mut store, &raw, &name, clock.now())?;
            if let Err(e) = move_to(&file, &target) {
                run.problems.push(format!("{shown}: moving it: {e}"));
            }
        }
        Ok(run)
    })
}

/// The messages of a Maildir to process, sorted by name: every file in `new/`, and those in `cur/`
/// without the `S` (seen) flag.
fn unseen(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let folder = dir.join(sub);
        let entries = std::fs::read_dir(&folder)
            .with_context(|| format!("reading the Maildir folder {}", folder.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", folder.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let seen = name
                .rsplit_once(":2,")
                .is_some_and(|(_, flags)| flags.contains('S'));
            if name.starts_with('.') || (sub == "cur" && seen) || !entry.file_type()?.is_file() {
                continue;
            }
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// `dir/.processed/cur`, created as a Maildir++ subfolder if missing.
fn processed_folder(dir: &Path) -> Result<PathBuf> {
    let folder = dir.join(PROCESSED);
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(folder.join(sub))
            .with_context(|| format!("creating {}", folder.join(sub).display()))?;
    }
    let marker = folder.join("maildirfolder");
    if !marker.exists() {
        std::fs::write(&marker, b"").with_context(|| format!("creating {}", marker.display()))?;
    }
    Ok(folder.join("cur"))
}

/// The first [`MAX_MESSAGE`] bytes of a message file.
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_MESSAGE as u64)
        .read_to_end(&mut raw)?;
    Ok(raw)
}

/// What `digest inbound classify` prints for each of `files`, in their order: its [`report`]
/// lines, or why it could not be read. The files are independent, so they are read and
/// classified on every core; nothing is printed until all are done.
pub fn classify_files(files: &[PathBuf], json: bool) -> Vec<std::io::Result<Vec<String>>> {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    let slots: Vec<OnceLock<std::io::Result<Vec<String>>>> =
        files.iter().map(|_| OnceLock::new()).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let lines = read(path).map(|raw| report(path, &classify(&raw), json));
                    let _ = slots[i].set(lines);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|| Err(std::io::Error::other("not read")))
        })
        .collect()
}

/// Moves the message `file` into the `cur` folder `target`, with the `:2,` info a message in
/// `cur` has, never over an existing file.
fn move_to(file: &Path, target: &Path) -> std::io::Result<()> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if name.contains(":2,") {
        name
    } else {
        format!("{name}:2,")
    };
    let mut to = target.join(&name);
    let mut n = 1;
    while to.exists() {
        to = target.join(format!("{name}.{n}"));
        n += 1;
    }
    std::fs::rename(file, to)
}

/// What `digest inbound classify` prints for the message file `path`: one line per finding (one
/// for the file when there is none), JSON objects with `json`, else `file: kind recipient class
/// status diagnostic`. Untrusted text is cleaned of control characters.
pub fn report(path: &Path, classified: &Classified, json: bool) -> Vec<String> {
    let file = path.to_string_lossy();
    let original = &classified.original;
    classified
        .rows()
        .into_iter()
        .map(|finding| {
            let recipient = finding.and_then(|f| f.recipient.as_deref());
            let class = finding.and_then(|f| f.class).map(|c| c.as_str());
            let status = finding.and_then(|f| f.status).map(|s| s.to_string());
            let diagnostic = finding.map(|f| f.diagnostic.as_str());
            if json {
                return serde_json::json!({
                    "file": file,
                    "kind": classified.kind.as_str(),
                    "recipient": recipient,
                    "class": class,
                    "status": status,
                    "diagnostic": diagnostic,
                    "message_id": original.message_id,
                    "original_to": original.to,
                    "list_id": original.list_id,
                    "original_token": original.unsubscribe_token,
                    "envelope_to": classified.envelope_to,
                    "token": classified.token,
                })
                .to_string();
            }
            format!(
                "{}: {} {} {} {}{}",
                one_line(&file, 500),
                classified.kind.as_str(),
                recipient.unwrap_or("-"),
                class.unwrap_or("-"),
                status.as_deref().unwrap_or("-"),
                diagnostic
                    .filter(|d| !d.is_empty())
                    .map(|d| format!(" {d}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}
