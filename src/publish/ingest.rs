//! Loading the configured sources into the store, and when a store is filled first.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::catalog::{self, Input, Report, fetch::Fetcher};
use crate::clock::Clock;
use crate::config::{Config, Source};
use crate::files::Staged;
use crate::store::Store;

/// Told about an ingest as it goes: the CLI draws a progress bar and prints each report, the
/// daemon logs.
pub trait Observer {
    /// The store at `store` holds no article yet: every source is loaded before it is used.
    fn filling(&mut self, _store: &Path) {}
    /// `source` is about to be loaded.
    fn started(&mut self, _source: &Source) {}
    /// A JSON Lines source has read `lines` lines so far.
    fn lines_read(&mut self, _source: &Source, _lines: usize) {}
    /// `source` is done; `report` says what happened.
    fn finished(&mut self, source: &Source, report: &Report);
}

/// What ingesting every (or one) source found.
#[derive(Debug, Default)]
pub struct Ingested {
    /// Sources that could not be loaded at all.
    pub failed: Vec<String>,
}

/// Ingests every configured source (or only the one named `only`), telling `observer` about each.
/// A failing source is reported and the others still load; only a store failure is an `Err`.
///
/// Feed URLs are fetched concurrently ([`Fetcher::fetch_all`]: `fetch.concurrency` at a time, at
/// most `fetch.per_host` per host), each conditionally with the validators the store holds for
/// it; parsing and storing stay on this thread, with the one store. File sources are loaded first,
/// in configuration order, while the feeds are fetched; then each feed as its fetch completes. So
/// `observer` hears about every source once, files in configuration order, feeds in completion
/// order.
pub fn ingest(
    config: &Config,
    store: &mut Store,
    only: Option<&str>,
    clock: &dyn Clock,
    observer: &mut dyn Observer,
) -> Result<Ingested> {
    if let Some(name) = only
        && !config.sources.contains_key(name)
    {
        let known: Vec<&str> = config.sources.keys().map(String::as_str).collect();
        bail!("no source `{name}`; configured: {}", known.join(", "));
    }
    let (mut files, mut feeds, mut jobs) = (Vec::new(), Vec::new(), Vec::new());
    for source in config
        .sources
        .values()
        .filter(|s| only.is_none_or(|n| n == s.name))
    {
        match catalog::fetch_job(source, store)? {
            Some(job) => {
                feeds.push(source);
                jobs.push(job);
            }
            None => files.push(source),
        }
    }
    let fetcher = Fetcher::new(&config.fetch);
    let mut loader = Loader {
        config,
        store,
        clock,
        observer,
        ingested: Ingested::default(),
    };
    fetcher.fetch_all(&jobs, |answers| -> Result<()> {
        for source in files {
            loader.load(source, Input::File)?;
        }
        for (i, answer) in answers {
            loader.load(feeds[i], Input::Fetched(answer))?;
        }
        Ok(())
    })?;
    Ok(loader.ingested)
}

/// Loads sources one at a time into the store, telling the observer, keeping the failures.
struct Loader<'a> {
    config: &'a Config,
    store: &'a mut Store,
    clock: &'a dyn Clock,
    observer: &'a mut dyn Observer,
    ingested: Ingested,
}

impl Loader<'_> {
    fn load(&mut self, source: &Source, input: Input) -> Result<()> {
        self.observer.started(source);
        let mut list = SkippedList::new(skipped_path(self.config, &source.name));
        let observer = &mut *self.observer;
        let mut report = catalog::load(
            source,
            input,
            self.store,
            self.config.fetch.max_bytes,
            self.clock.now(),
            &mut |n| observer.lines_read(source, n),
            &mut |reason| list.push(reason),
        )?;
        report.skipped_list = list.finish(&report)?;
        if report.failure.is_some() {
            self.ingested.failed.push(source.name.clone());
        }
        self.observer.finished(source, &report);
        Ok(())
    }
}

/// Where the last ingest that read `source` listed every line or item it skipped, with its reason:
/// `reports/<source>.skipped.txt` beside the store (the name percent-encoded past `[A-Za-z0-9_-]`).
pub fn skipped_path(config: &Config, source: &str) -> PathBuf {
    let mut name = String::with_capacity(source.len());
    for b in source.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' => name.push(char::from(b)),
            _ => name.push_str(&format!("%{b:02X}")),
        }
    }
    let store = &config.paths.store;
    let dir = store.parent().unwrap_or(Path::new("."));
    dir.join("reports").join(format!("{name}.skipped.txt"))
}

/// Every skipped line of one source's ingest, streamed to a staged file (one reason per line) so
/// memory stays bounded; the file is created at the first skipped line.
struct SkippedList {
    path: PathBuf,
    file: Option<Staged>,
    error: Option<io::Error>,
}

impl SkippedList {
    fn new(path: PathBuf) -> SkippedList {
        SkippedList {
            path,
            file: None,
            error: None,
        }
    }

    /// Appends `reason`; the first write error is kept for [`SkippedList::finish`].
    fn push(&mut self, reason: &str) {
        if self.error.is_some() {
            return;
        }
        let written = match &mut self.file {
            Some(file) => writeln!(file, "{reason}"),
            None => Staged::create(&self.path).and_then(|mut file| {
                writeln!(file, "{reason}")?;
                self.file = Some(file);
                Ok(())
            }),
        };
        if let Err(e) = written {
            self.file = None;
            self.error = Some(e);
        }
    }

    /// Puts the list in place of the previous one once `report`'s source was read: the path when
    /// lines were skipped; an old list is removed when none were. A source that failed or had not
    /// changed (HTTP 304) keeps the list of the ingest that last read it.
    fn finish(self, report: &Report) -> Result<Option<PathBuf>> {
        if report.failure.is_some() || report.not_modified {
            return Ok(None);
        }
        let context = || format!("writing the skipped lines to {}", self.path.display());
        if let Some(e) = self.error {
            return Err(e).with_context(context);
        }
        match self.file {
            Some(file) => {
                file.commit().with_context(context)?;
                Ok(Some(self.path))
            }
            None => match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e).with_context(|| {
                    format!(
                        "removing the old list of skipped lines {}",
                        self.path.display()
                    )
                }),
                _ => Ok(None),
            },
        }
    }
}

/// When [`open`] fills the store from the sources before handing it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Only when the store holds no article yet (a fresh checkout previews without an `ingest`).
    IfEmpty,
    /// Every time (a digest with `ingest_before`).
    Always,
}

/// Opens the store, first ingesting every configured source if `refresh` asks for it. One rule for
/// every driver: an empty store (new, or holding no article) is always filled first.
pub fn open(
    config: &Config,
    refresh: Refresh,
    clock: &dyn Clock,
    observer: &mut dyn Observer,
) -> Result<Store> {
    let mut store = Store::open(&config.paths.store)?;
    let empty = store.article_counts()?.0 == 0;
    if empty {
        observer.filling(store.path());
    }
    if refresh == Refresh::Always || empty {
        ingest(config, &mut store, None, clock, observer)?;
    }
    Ok(store)
}

/// The store, opened (and filled per [`Refresh`]) the first time it is needed: `digest build` of an
/// issue frozen already, or a preview of one, never touches the catalogue.
pub struct Lazy<'a>(State<'a>);

enum State<'a> {
    Later {
        config: &'a Config,
        refresh: Refresh,
        clock: &'a dyn Clock,
        observer: &'a mut dyn Observer,
    },
    Open(Store),
}

impl<'a> Lazy<'a> {
    /// A store to [`open`] on first use.
    pub fn new(
        config: &'a Config,
        refresh: Refresh,
        clock: &'a dyn Clock,
        observer: &'a mut dyn Observer,
    ) -> Lazy<'a> {
        Lazy(State::Later {
            config,
            refresh,
            clock,
            observer,
        })
    }

    /// A store opened already.
    pub fn opened(store: Store) -> Lazy<'a> {
        Lazy(State::Open(store))
    }

    /// The store, opened now if it was not yet.
    pub fn get(&mut self) -> Result<&mut Store> {
        if let State::Later {
            config,
            refresh,
            clock,
            observer,
        } = &mut self.0
        {
            self.0 = State::Open(open(config, *refresh, *clock, &mut **observer)?);
        }
        match &mut self.0 {
            State::Open(store) => Ok(store),
            State::Later { .. } => unreachable!("opened above"),
        }
    }

    /// The store, if it was opened.
    pub fn into_store(self) -> Option<Store> {
        match self.0 {
            State::Open(store) => Some(store),
            State::Later { .. } => None,
        }
    }
}

/// What one source's [`Report`] tells people: a line of counts, and the trouble (why the source
/// failed, the lines skipped and why, an unhealthy source).
#[derive(Debug, Default)]
pub struct Told {
    /// The counts: `name: 3 new, 1 updated, …`; `None` when the source failed.
    pub done: Option<String>,
    /// Failure, skipped lines and health warnings, one per line.
    pub trouble: Vec<String>,
}

impl Told {
    /// What `report` on the source `name` tells; a source with `unhealthy_after` failures in a row
    /// is flagged.
    pub fn new(name: &str, report: &Report, unhealthy_after: u32) -> Told {
        let mut told = Told::default();
        if let Some(failure) = &report.failure {
            told.trouble.push(format!("{name}: failed: {failure}"));
        } else if report.not_modified {
            told.done = Some(format!(
                "{name}: not modified since the last fetch (HTTP 304), nothing to load"
            ));
        } else {
            let s = report.stats;
            let undated = match report.undated {
                0 => String::new(),
                n => format!(", {n} undated (kept, but no period selects them)"),
            };
            told.done = Some(format!(
                "{name}: {} new, {} updated, {} unchanged, {} skipped{undated}",
                s.new, s.updated, s.unchanged, report.error_count
            ));
        }
        told.trouble
            .extend(report.errors.iter().map(|e| format!("  skipped {e}")));
        if report.error_count > report.errors.len() {
            let more = report.error_count - report.errors.len();
            let all = match &report.skipped_list {
                Some(path) => format!(" (all {} in {})", report.error_count, path.display()),
                None => String::new(),
            };
            told.trouble.push(format!("  … and {more} more{all}"));
        }
        if let Some(h) = report
            .health
            .as_ref()
            .filter(|h| h.is_unhealthy(unhealthy_after))
        {
            let since = h.last_success.map_or("never loaded".to_string(), |t| {
                format!("last success {}", t.to_rfc3339())
            });
            told.trouble.push(format!(
                "{name}: unhealthy: {} consecutive failures ({since})",
                h.consecutive_failures
            ));
        }
        told
    }
}

/// An observer that logs (the daemon's): one line per source.
#[derive(Debug, Default)]
pub struct Log;

impl Observer for Log {
    fn finished(&mut self, source: &Source, report: &Report) {
        match &report.failure {
            None => tracing::info!(
                source = %source.name,
                new = report.stats.new,
                updated = report.stats.updated,
                skipped = report.error_count,
                skipped_list = report.skipped_list.as_ref().map(|p| p.display().to_string()),
                "ingested"
            ),
            Some(failure) => tracing::warn!(source = %source.name, "ingest failed: {failure}"),
        }
    }
}
