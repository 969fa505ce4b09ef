//! Stage 1, catalogue: reading article sources (JSON Lines files; RSS, Atom and JSON Feed
//! documents from files or HTTP), cleaning their text, normalizing tags and URLs.
//!
//! Everything downstream sees only [`Article`]s: canonical http(s) URL, one-line title, bounded
//! summary, normalized tags. Untrusted text is cleaned here (see [`crate::text`]) and escaped later
//! by the renderer.

pub mod charset;
pub mod dates;
pub mod engagement;
pub mod feed;
pub mod fetch;
pub mod html;
pub mod jsonl;
pub mod repair;

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::config::{Location, Source, SourceKind};
use crate::store::Store;
use fetch::{FetchError, Fetched, Fetcher, Validators};

// The catalogue's output vocabulary lives in the leaf `model` (the store and the configuration
// use it too); re-exported so that `catalog::Article` and friends keep working.
pub use crate::model::article::{Article, Item, Kind, MAX_SUMMARY, MAX_TITLE, Publisher};
pub use crate::model::{canonical, tag};

/// Articles per store transaction while ingesting: each commit writes every index page it
/// touched, so fewer, larger transactions write far less (see BENCHMARKS.md, catalogue ingest).
const BATCH: usize = 50_000;
/// Lines the parser thread hands to the store thread at a time (see `load_lines`).
const CHUNK: usize = 8_192;
/// Bytes of skipped-line reasons after which a chunk is shipped early, so a catalogue of bad
/// lines holds at most a few chunks of reasons in memory.
const BATCH_REASON_BYTES: usize = 1 << 20;

/// What ingesting one source did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Articles stored, by outcome.
    pub stats: crate::store::UpsertStats,
    /// Lines or items that could not be loaded, with their reasons: the first
    /// [`Report::MAX_ERRORS`] (every one goes to the `skipped` sink of [`ingest`]).
    pub errors: Vec<String>,
    /// All skipped lines or items, including those not kept.
    pub error_count: usize,
    /// The file listing every skipped line or item with its reason, once written (see
    /// `publish::ingest::skipped_path`); `None` when nothing was skipped or nothing was read.
    pub skipped_list: Option<std::path::PathBuf>,
    /// Items stored without a date (no period selects them).
    pub undated: usize,
    /// The server said the feed has not changed (HTTP 304): nothing was read.
    pub not_modified: bool,
    /// Why the source as a whole could not be loaded (nothing was stored).
    pub failure: Option<String>,
    /// The source's health after this ingest.
    pub health: Option<crate::store::SourceHealth>,
}

impl Report {
    /// How many error messages a report keeps.
    pub const MAX_ERRORS: usize = 50;

    /// Counts a skipped line or item, tells `skipped` its reason and keeps the first few.
    fn error(&mut self, message: &str, skipped: &mut dyn FnMut(&str)) {
        let message = reason(message);
        skipped(&message);
        self.error_count += 1;
        if self.errors.len() < Self::MAX_ERRORS {
            self.errors.push(message);
        }
    }
}

/// Longest reason given for a skipped line or item, in characters: a reason may quote the line
/// (an unknown `kind`, say), which can be megabytes long and hold terminal escapes.
pub const MAX_REASON: usize = 500;

/// `message` as a reason: one line, no control characters, at most [`MAX_REASON`] characters.
pub fn reason(message: &str) -> String {
    crate::text::one_line(message, MAX_REASON)
}

/// Loads one configured source into `store` and records the outcome in its health record:
/// fetches it if it is a feed URL (conditionally, with the validators of its last fetch; see
/// [`fetch_job`]), then [`load`]s it. Only a store failure is an `Err`.
pub fn ingest(
    source: &Source,
    store: &mut Store,
    fetcher: &Fetcher,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(usize),
    skipped: &mut dyn FnMut(&str),
) -> anyhow::Result<Report> {
    let input = match fetch_job(source, store)? {
        Some((url, known)) => Input::Fetched(fetcher.fetch(url, &known)),
        None => Input::File,
    };
    let max_bytes = fetcher.settings().max_bytes;
    load(source, input, store, max_bytes, now, progress, skipped)
}

/// What a source is fetched from before it is loaded: a feed's URL and the validators its last
/// fetch saved (for a conditional GET); `None` for a file source, which [`load`] reads itself.
/// Reads only the store, so every job can be known before any fetch starts.
pub fn fetch_job<'s>(
    source: &'s Source,
    store: &Store,
) -> anyhow::Result<Option<(&'s str, Validators)>> {
    match (source.kind, &source.location) {
        (SourceKind::Feed, Location::Url(url)) => {
            Ok(Some((url, store.validators(&source.name, url)?)))
        }
        _ => Ok(None),
    }
}

/// What [`load`] starts from.
#[derive(Debug)]
pub enum Input {
    /// Nothing fetched: the source is a file, read (or streamed) while loading.
    File,
    /// The answer to the source's [`fetch_job`], or why there was none.
    Fetched(Result<Fetched, FetchError>),
}

/// Loads one configured source into `store` from `input` and records the outcome in its health
/// record. Bad lines or items are reported in the [`Report`] and skipped; a source that cannot be
/// read, fetched or parsed (a file larger than `max_bytes` too), or a feed with items none of
/// which can be stored, is reported in [`Report::failure`] and stores nothing. Only a store
/// failure is an `Err`. A JSON Lines source tells `progress` how many lines it has read so far
/// after every transaction (a feed is one transaction); `skipped` hears the reason of every line
/// or item skipped, in order (the report keeps only the first few, so memory stays bounded).
pub fn load(
    source: &Source,
    input: Input,
    store: &mut Store,
    max_bytes: u64,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(usize),
    skipped: &mut dyn FnMut(&str),
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let location = source.location.to_string();
    let loaded = match (source.kind, &source.location, input) {
        (SourceKind::Jsonl, Location::File(path), _) => {
            ingest_jsonl(source, path, store, &mut report, now, (progress, skipped))
        }
        (SourceKind::Jsonl, Location::Url(_), _) => Err(Failure::Source(anyhow::anyhow!(
            "JSON Lines sources are files"
        ))),
        (SourceKind::Feed, _, input) => {
            ingest_feed(source, input, store, max_bytes, &mut report, now, skipped)
        }
    };
    report.health = Some(match loaded {
        Ok(validators) => {
            store.record_success(&source.name, &location, validators.as_ref(), now)?
        }
        Err(Failure::Store(e)) => return Err(e),
        Err(Failure::Source(e)) => {
            let message = format!("{e:#}");
            report.failure = Some(message.clone());
            store.record_failure(&source.name, &message, now)?
        }
    });
    Ok(report)
}

/// Why an ingest stopped: the source (reported, the others go on) or the store (fatal).
enum Failure {
    Source(anyhow::Error),
    Store(anyhow::Error),
}

/// Told about a JSON Lines load as it goes: lines read so far, and each skipped line's reason.
type Hooks<'a> = (&'a mut dyn FnMut(usize), &'a mut dyn FnMut(&str));

/// Streams a JSON Lines file into the store in batches.
fn ingest_jsonl(
    source: &Source,
    path: &Path,
    store: &mut Store,
    report: &mut Report,
    now: DateTime<Utc>,
    hooks: Hooks<'_>,
) -> Result<Option<Validators>, Failure> {
    let lines = jsonl::open(path)
        .with_context(|| format!("source `{}`: opening {}", source.name, path.display()))
        .map_err(Failure::Source)?;
    store
        .bulk(|store| load_lines(source, lines, store, report, now, hooks))
        .map_err(Failure::Store)?
}

/// Stores the articles of `lines`, [`BATCH`] per transaction; bad lines go to `report`. Lines
/// are parsed on a second thread in chunks of [`CHUNK`], at most one chunk ahead of the one being
/// stored, so memory holds about three chunks whatever the size of the file. Each chunk is stored
/// in URL order (stable, so a later line about the same URL still comes after an earlier one; the
/// chunks keep their file order): the URL index is then written in sweeps instead of at scattered
/// pages.
fn load_lines(
    source: &Source,
    lines: jsonl::Lines<std::io::BufReader<std::fs::File>>,
    store: &mut Store,
    report: &mut Report,
    now: DateTime<Utc>,
    (progress, skipped): Hooks<'_>,
) -> Result<Option<Validators>, Failure> {
    #[derive(Default)]
    struct Chunk {
        items: Vec<Item>,
        errors: Vec<String>,
        error_bytes: usize,
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(0);
    std::thread::scope(|scope| {
        let parser = move || {
            let ship = |mut chunk: Chunk| {
                chunk
                    .items
                    .sort_by(|a, b| a.article.url.cmp(&b.article.url));
                tx.send(chunk)
            };
            let mut chunk = Chunk::default();
            for line in lines {
                match line {
                    Ok(item) => chunk.items.push(item),
                    Err(e) => {
                        let e = e.to_string();
                        chunk.error_bytes += e.len();
                        chunk.errors.push(e);
                    }
                }
                let full = chunk.items.len() + chunk.errors.len() == CHUNK
                    || chunk.error_bytes >= BATCH_REASON_BYTES;
                // A closed channel means the store failed; the error is on the other side.
                if full && ship(std::mem::take(&mut chunk)).is_err() {
                    return;
                }
            }
            let _ = ship(chunk);
        };
        std::thread::Builder::new()
            .name("jsonl-parse".into())
            .spawn_scoped(scope, parser)
            .context("starting the JSON Lines parser")
            .map_err(Failure::Store)?;
        let mut chunks = rx.into_iter().peekable();
        while chunks.peek().is_some() {
            store
                .transaction(|store| {
                    let mut lines = 0;
                    while lines < BATCH
                        && let Some(chunk) = chunks.next()
                    {
                        for e in &chunk.errors {
                            report.error(e, skipped);
                        }
                        report.stats += store.upsert(&source.name, &chunk.items, now)?;
                        crate::fault::point("ingest-chunk");
                        lines += chunk.items.len() + chunk.errors.len();
                    }
                    Ok(())
                })
                .map_err(Failure::Store)?;
            progress(report.stats.total() + report.error_count);
        }
        Ok(None)
    })
}

/// Reads a feed file, or takes the answer to fetching a feed URL, and stores its items; returns
/// the validators of a fetched body. Every entry of the document is stored or skipped with a
/// reason; a document with entries none of which can be stored is a failed source.
fn ingest_feed(
    source: &Source,
    input: Input,
    store: &mut Store,
    max_bytes: u64,
    report: &mut Report,
    now: DateTime<Utc>,
    skipped: &mut dyn FnMut(&str),
) -> Result<Option<Validators>, Failure> {
    let (bytes, base, validators) = match (&source.location, input) {
        (Location::File(path), _) => {
            let bytes = read_capped(path, max_bytes)
                .with_context(|| format!("reading {}", path.display()))
                .map_err(Failure::Source)?;
            (bytes, None, None)
        }
        (Location::Url(url), Input::File) => {
            return Err(Failure::Source(anyhow::anyhow!("{url} was not fetched")));
        }
        (Location::Url(url), Input::Fetched(answer)) => match answer {
            Ok(Fetched::NotModified) => {
                report.not_modified = true;
                return Ok(None);
            }
            Ok(Fetched::Body {
                bytes,
                validators,
                url,
            }) => (bytes, Some(url), Some(validators)),
            Err(e) => {
                let e = anyhow::Error::new(e).context(format!("fetching {url}"));
                return Err(Failure::Source(e));
            }
        },
    };
    let parsed = feed::parse(&bytes, base.as_deref(), source)
        .with_context(|| base.clone().unwrap_or_else(|| source.location.to_string()))
        .map_err(Failure::Source)?;
    let entries = parsed.entries();
    for reason in parsed.skipped {
        report.error(&format!("{}: {reason}", source.location), skipped);
    }
    if parsed.items.is_empty() && entries > 0 {
        return Err(Failure::Source(anyhow::anyhow!(
            "{}: none of its {entries} items could be stored (each is listed as skipped)",
            base.unwrap_or_else(|| source.location.to_string())
        )));
    }
    report.undated = parsed.undated;
    report.stats += store
        .upsert(&source.name, &parsed.items, now)
        .map_err(Failure::Store)?;
    Ok(validators)
}

/// The bytes of a file, refusing one larger than `max` bytes.
fn read_capped(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::other(format!(
            "larger than {max} bytes (fetch.max_bytes)"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::config::{FeedSettings, Fetch};

    #[test]
    fn a_json_lines_load_tells_progress_every_line_read_bad_ones_included() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cat.jsonl");
        let line = |n: u32| {
            format!(
                r#"{{"url":"https://x.example/{n}","title":"T{n}","source":{{"id":"x"}},"published_at":"2024-07-01T00:00:00Z"}}"#
            )
        };
        let text = [line(1), "{not json".into(), line(2), line(1)].join("\n");
        std::fs::write(&path, text).unwrap();
        let source = Source {
            name: "main".into(),
            kind: SourceKind::Jsonl,
            location: Location::File(path),
            weight: 1.0,
            feed: FeedSettings::default(),
        };
        let fetcher = Fetcher::new(&Fetch {
            user_agent: "test".into(),
            timeout: Duration::from_secs(1),
            max_bytes: Fetch::DEFAULT_MAX_BYTES,
            max_redirects: 0,
            unhealthy_after: 3,
            concurrency: Fetch::DEFAULT_CONCURRENCY,
            per_host: Fetch::DEFAULT_PER_HOST,
        });
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let now = Utc.with_ymd_and_hms(2024, 8, 1, 0, 0, 0).unwrap();
        let (mut seen, mut skipped) = (Vec::new(), Vec::new());
        let report = ingest(
            &source,
            &mut store,
            &fetcher,
            now,
            &mut |n| seen.push(n),
            &mut |r| skipped.push(r.to_string()),
        )
        .unwrap();
        assert_eq!(seen, [4]);
        assert_eq!((report.stats.total(), report.error_count), (3, 1));
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].contains("cat.jsonl:2: "), "{skipped:?}");
        assert_eq!(report.stats.new, 2);
    }
}
