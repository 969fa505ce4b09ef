//! Stage 4, issue: the frozen result for one (digest, period), stored as
//! `digests/<digest>/<period>/issue.json`.
//!
//! The first build writes the file with its issue number, title and every displayed field of every
//! item; preview, send and the archive read it back, so every recipient gets the same issue and an
//! editor can review (or edit) it first. A frozen issue is only replaced on an explicit rebuild,
//! which keeps its number.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Digest;
use crate::files;
use crate::model::{Article, Discussion, Kind, Publisher};
use crate::period::{Period, Window};
use crate::select::Ranking;

/// Version of the `issue.json` format written by this build.
pub const FORMAT: u32 = 1;

/// One frozen issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issue {
    /// `issue.json` format version.
    pub format: u32,
    /// Digest id.
    pub digest: String,
    /// 1, 2, 3 … per digest, in build order.
    pub number: u32,
    /// Full title, e.g. "Best of Distributed Systems — July 2024".
    pub title: String,
    /// The period, e.g. `2024-07`.
    pub period: Period,
    /// The period for people, e.g. "July 2024".
    pub period_label: String,
    /// IANA time zone of the window.
    pub timezone: String,
    /// The instants the period covers; `window.end` is the issue's date.
    pub window: Window,
    /// When the issue was frozen.
    pub built_at: DateTime<Utc>,
    /// The items, in order.
    pub items: Vec<Item>,
    /// Subject line set by an editor (`digest edit --subject`); default: the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Inbox preview text set by an editor (`--preheader`); default: a summary of the items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preheader: Option<String>,
    /// The editor's note, in Markdown (`--note`), shown above the items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Every edit since the issue was frozen, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<Edit>,
}

/// One edit of a frozen issue, as recorded in its `edits` history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edit {
    /// When it was made.
    pub at: DateTime<Utc>,
    /// Who made it: `cli`, or the reviewer's address for an edit on the draft page.
    pub by: String,
    /// What changed.
    #[serde(flatten)]
    pub change: Change,
}

/// What an [`Edit`] changed. Positions are 1-based, as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// Item `position` (its link `url`) was removed.
    Drop {
        /// Position it had.
        position: u32,
        /// Its link.
        url: String,
    },
    /// The article at `url` was put at `position`.
    Pin {
        /// Its link.
        url: String,
        /// Position it got.
        position: u32,
    },
    /// The item at `from` was moved to `to`.
    Move {
        /// Position it had.
        from: u32,
        /// Position it got.
        to: u32,
    },
    /// The editor's note was set (`chars` characters of Markdown) or removed (0).
    Note {
        /// Its length in characters.
        chars: usize,
    },
    /// The subject line was set.
    Subject {
        /// The new subject.
        value: String,
    },
    /// The preheader was set.
    Preheader {
        /// The new preheader.
        value: String,
    },
}

/// One item of an issue, with everything the email shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Position, 1-based.
    pub number: u32,
    /// Article or video.
    pub kind: Kind,
    /// Title.
    pub title: String,
    /// Link (http or https; anything else is rendered without a link).
    pub url: String,
    /// Summary.
    pub summary: String,
    /// Publication.
    pub source: Publisher,
    /// Publication time.
    pub published_at: DateTime<Utc>,
    /// Age at the issue's date, e.g. "3d".
    pub age: String,
    /// Ranking score when frozen.
    pub score: f64,
    /// Upvotes when frozen.
    pub upvotes: u64,
    /// Comments when frozen.
    pub comments: u64,
    /// Other tellings of the same story, shown under the item as "More on this story" (absent
    /// from `issue.json` when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<Related>,
    /// Where it was discussed (the sources that gave a discussion link), with their counts,
    /// shown as "Discussed on …" (absent from `issue.json` when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discussions: Vec<Discussion>,
}

/// Another article telling the story of an [`Item`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Related {
    /// Its title.
    pub title: String,
    /// Its link (http or https; anything else is shown without a link).
    pub url: String,
    /// The publication's name.
    pub source: String,
}

impl Item {
    /// The item for `article` at position `number`, scored `score`, aged at `date`; `None` for an
    /// undated article.
    pub fn of(article: &Article, number: u32, score: f64, date: DateTime<Utc>) -> Option<Item> {
        let published_at = article.published_at?;
        Some(Item {
            number,
            kind: article.kind,
            title: article.title.clone(),
            url: article.url.clone(),
            summary: article.summary.clone(),
            source: article.publisher.clone(),
            published_at,
            age: age(published_at, date),
            score,
            upvotes: article.upvotes,
            comments: article.comments,
            more: Vec::new(),
            discussions: Vec::new(),
        })
    }
}

/// The records of `discussions` that link to a discussion (http or https), in order: what
/// "Discussed on …" shows.
pub fn discussed(discussions: &[Discussion]) -> Vec<Discussion> {
    discussions
        .iter()
        .filter(|d| {
            d.url
                .as_deref()
                .is_some_and(crate::model::canonical::is_http)
        })
        .cloned()
        .collect()
}

impl Issue {
    /// The issue's date: the end of its period, which ages are measured against.
    pub fn date(&self) -> DateTime<Utc> {
        self.window.end
    }
}

/// Too few items qualified: no issue for this period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no issue of {digest} for {period}: {found} item(s) qualify, fewer than min_items = {min} \
     (see `digest preview {digest} --period {period} --explain`)"
)]
pub struct TooFew {
    /// Digest id.
    pub digest: String,
    /// Period.
    pub period: Period,
    /// Items that qualified.
    pub found: usize,
    /// The digest's minimum.
    pub min: usize,
}

/// The period asked for has not closed yet (or has not begun) in the digest's time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "period {period} has not closed yet (it ends {ends}): an issue frozen now would miss the rest \
     of the period and take the next issue number; preview the draft with `digest preview {digest} \
     --period {period}`, or freeze it anyway with `digest build {digest} --period {period} \
     --open-period`"
)]
pub struct OpenPeriod {
    /// Digest id.
    pub digest: String,
    /// Period.
    pub period: Period,
    /// When the period ends, in the digest's time zone, for people.
    pub ends: String,
}

/// Checks that `period` of `digest` has closed at `now`: its window, in the digest's time zone,
/// has ended. Issues of open (and future) periods are only frozen when asked explicitly.
pub fn ensure_closed(
    digest: &Digest,
    period: Period,
    now: DateTime<Utc>,
) -> Result<(), OpenPeriod> {
    let end = period.window(digest.timezone).end;
    if end <= now {
        return Ok(());
    }
    Err(OpenPeriod {
        digest: digest.id.clone(),
        period,
        ends: crate::schedule::local_time(end, digest.timezone),
    })
}

/// Why no issue was frozen. Callers branch on [`BuildError::TooFew`] (the daemon records a
/// skipped run, not a failure).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Too few items qualified.
    #[error(transparent)]
    TooFew(#[from] TooFew),
    /// The period has not closed yet, and freezing it was not asked for explicitly.
    #[error(transparent)]
    Open(#[from] OpenPeriod),
    /// The catalogue could not be ranked, or the issue file could not be read or written.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Where the frozen issue of `digest` for `period` lives under the digests folder.
pub fn path(digests: &Path, digest: &str, period: Period) -> PathBuf {
    digests
        .join(digest)
        .join(period.to_string())
        .join("issue.json")
}

/// Writes `issue` over its frozen file crash-safely (a reader sees the old or the new file).
pub fn rewrite(digests: &Path, issue: &Issue) -> Result<()> {
    let file = path(digests, &issue.digest, issue.period);
    files::replace(&file, &encode(issue)?).with_context(|| format!("writing {}", file.display()))
}

/// The bytes of an `issue.json`.
fn encode(issue: &Issue) -> Result<Vec<u8>> {
    let mut json = serde_json::to_vec_pretty(issue).context("encoding the issue")?;
    json.push(b'\n');
    Ok(json)
}

/// Reads a frozen issue.
pub fn read(path: &Path) -> Result<Issue> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let issue: Issue = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid issue file", path.display()))?;
    if issue.format != FORMAT {
        bail!(
            "{}: issue format {} is not supported (expected {FORMAT})",
            path.display(),
            issue.format
        );
    }
    Ok(issue)
}

/// The frozen issue of `digest` for `period`, if there is one.
pub fn find(digests: &Path, digest: &str, period: Period) -> Result<Option<Issue>> {
    let p = path(digests, digest, period);
    match fs::metadata(&p) {
        Ok(_) => read(&p).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

/// All frozen issues of `digest`, oldest period first.
pub fn list(digests: &Path, digest: &str) -> Result<Vec<Issue>> {
    let dir = digests.join(digest);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut issues = Vec::new();
    for entry in entries {
        let file = entry?.path().join("issue.json");
        if file.is_file() {
            issues.push(read(&file)?);
        }
    }
    issues.sort_by_key(|i| i.period);
    Ok(issues)
}

/// The number the next new issue of `digest` gets.
pub fn next_number(digests: &Path, digest: &str) -> Result<u32> {
    Ok(list(digests, digest)?
        .iter()
        .map(|i| i.number)
        .max()
        .unwrap_or(0)
        + 1)
}

/// Composes (without writing) the issue of `digest` for `period` from `ranking`, numbered
/// `number`; fails with [`TooFew`] below the digest's minimum.
pub fn compose(
    digest: &Digest,
    period: Period,
    ranking: &Ranking,
    number: u32,
    built_at: DateTime<Utc>,
) -> Result<Issue, TooFew> {
    let date = ranking.window.end;
    let items: Vec<Item> = ranking
        .picks_indexed()
        .zip(1..)
        .filter_map(|((index, c), number)| {
            let mut item = Item::of(&c.article, number, c.score.total, date)?;
            item.discussions = discussed(&c.discussions);
            item.more = ranking
                .others(index)
                .map(|o| Related {
                    title: o.article.title.clone(),
                    url: o.article.url.clone(),
                    source: o.article.publisher.name.clone(),
                })
                .collect();
            Some(item)
        })
        .collect();
    if items.len() < digest.min_items {
        return Err(TooFew {
            digest: digest.id.clone(),
            period,
            found: items.len(),
            min: digest.min_items,
        });
    }
    let label = period.label();
    Ok(Issue {
        format: FORMAT,
        digest: digest.id.clone(),
        number,
        title: digest.title_for(&label, number),
        period,
        period_label: label,
        timezone: digest.timezone.name().to_string(),
        window: ranking.window,
        built_at,
        items,
        subject: None,
        preheader: None,
        note: None,
        edits: Vec::new(),
    })
}

/// What [`freeze`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new issue was written.
    Created,
    /// The issue was already frozen and left untouched.
    AlreadyFrozen,
    /// An existing issue was replaced (`--rebuild`), keeping its number.
    Rebuilt,
}

/// Freezes the issue of `digest` for `period` under `digests`, unless it is frozen already (or
/// `rebuild` is set). `ranking` is only called when a new issue must be composed, and `accept`
/// sees it before it is written: its error leaves the frozen issue (if any) as it was.
pub fn freeze(
    digests: &Path,
    digest: &Digest,
    period: Period,
    rebuild: bool,
    built_at: DateTime<Utc>,
    ranking: impl FnOnce() -> Result<Ranking>,
    accept: impl FnOnce(&Issue) -> Result<()>,
) -> Result<(Issue, Outcome), BuildError> {
    let file = path(digests, &digest.id, period);
    let existing = find(digests, &digest.id, period)?;
    if let (Some(issue), false) = (&existing, rebuild) {
        return Ok((issue.clone(), Outcome::AlreadyFrozen));
    }
    let number = match &existing {
        Some(issue) => issue.number,
        None => next_number(digests, &digest.id)?,
    };
    let issue = compose(digest, period, &ranking()?, number, built_at)?;
    accept(&issue)?;
    let json = encode(&issue)?;
    let written = if existing.is_some() {
        files::replace(&file, &json).map(|()| Outcome::Rebuilt)
    } else {
        files::create_new(&file, &json).map(|()| Outcome::Created)
    };
    match written {
        Ok(outcome) => Ok((issue, outcome)),
        // Another build froze it between our check and our write: theirs stands.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Ok((read(&file)?, Outcome::AlreadyFrozen))
        }
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("writing {}", file.display()))
            .into()),
    }
}

/// Age of something published at `at`, seen at `date`: "45m", "5h", "3d", "2w", "4mo", "2y".
pub fn age(at: DateTime<Utc>, date: DateTime<Utc>) -> String {
    let minutes = (date - at).num_minutes().max(0);
    let (hours, days) = (minutes / 60, minutes / (60 * 24));
    match () {
        _ if hours < 1 => format!("{}m", minutes.max(1)),
        _ if days < 1 => format!("{hours}h"),
        _ if days < 7 => format!("{days}d"),
        _ if days < 30 => format!("{}w", days / 7),
        _ if days < 365 => format!("{}mo", days / 30),
        _ => format!("{}y", days / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn a_period_is_closed_once_its_window_has_ended_in_the_digest_time_zone() {
        let utc = crate::config::for_test("[digests.d]\ntag = \"t\"\nperiod = \"monthly\"\n");
        let d = &utc.digests["d"];
        let november: Period = "2026-11".parse().unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        // Froze issue #1 on 30 November, a day before November had closed.
        let e = ensure_closed(d, november, at("2026-11-30T12:00:00Z")).unwrap_err();
        assert_eq!(e.ends, "Tue 2026-12-01 00:00:00 UTC");
        assert!(ensure_closed(d, "2030-01".parse().unwrap(), at("2026-11-30T12:00:00Z")).is_err());
        assert_eq!(
            ensure_closed(d, november, at("2026-12-01T00:00:00Z")),
            Ok(())
        );
        assert_eq!(
            ensure_closed(d, november, at("2027-05-01T00:00:00Z")),
            Ok(())
        );
        // Midnight UTC on 1 December is still 30 November in New York.
        let ny = crate::config::for_test(
            "[digests.d]\ntag = \"t\"\nperiod = \"monthly\"\ntimezone = \"America/New_York\"\n",
        );
        let e = ensure_closed(&ny.digests["d"], november, at("2026-12-01T00:00:00Z")).unwrap_err();
        assert_eq!(e.ends, "Tue 2026-12-01 00:00:00 EST");
        assert!(e.to_string().contains("--open-period"), "{e}");
        assert_eq!(
            ensure_closed(&ny.digests["d"], november, at("2026-12-01T05:00:00Z")),
            Ok(())
        );
    }

    #[test]
    fn an_issue_json_from_before_edits_reads_and_an_unedited_one_writes_the_same() {
        // Issues frozen before the edit fields existed must stay readable, byte for byte.
        let old = r#"{"format":1,"digest":"d","number":3,"title":"T","period":"2024-07",
            "period_label":"July 2024","timezone":"UTC",
            "window":{"start":"2024-07-01T00:00:00Z","end":"2024-08-01T00:00:00Z"},
            "built_at":"2024-08-01T06:00:00Z","items":[]}"#;
        let issue: Issue = serde_json::from_str(old).unwrap();
        assert_eq!((issue.number, issue.edits.len()), (3, 0));
        assert_eq!(
            (issue.subject, issue.preheader, issue.note),
            (None, None, None)
        );
        let written =
            String::from_utf8(encode(&serde_json::from_str(old).unwrap()).unwrap()).unwrap();
        for field in ["subject", "preheader", "note", "edits"] {
            assert!(!written.contains(field), "{written}");
        }
        let edited = r#"{"at":"2024-08-02T09:00:00Z","by":"cli","op":"move","from":3,"to":1}"#;
        let edit: Edit = serde_json::from_str(edited).unwrap();
        assert_eq!(edit.change, Change::Move { from: 3, to: 1 });
        assert_eq!(serde_json::to_string(&edit).unwrap(), edited);
    }

    #[test]
    fn ages_use_the_largest_whole_unit() {
        let d = Utc.with_ymd_and_hms(2024, 8, 1, 0, 0, 0).unwrap();
        let cases = [
            (Duration::seconds(10), "1m"),
            (Duration::minutes(45), "45m"),
            (Duration::hours(5), "5h"),
            (Duration::days(3) + Duration::hours(13), "3d"),
            (Duration::days(15), "2w"),
            (Duration::days(120), "4mo"),
            (Duration::days(800), "2y"),
        ];
        for (ago, want) in cases {
            assert_eq!(age(d - ago, d), want);
        }
        assert_eq!(
            age(d + Duration::hours(1), d),
            "1m",
            "future dates do not go negative"
        );
    }
}
