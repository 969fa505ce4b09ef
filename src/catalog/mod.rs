//! Stage 1, catalogue: reading article sources, cleaning their text, normalizing tags and URLs.
//!
//! Everything downstream sees only [`Article`]s: canonical http(s) URL, one-line title, bounded
//! summary, normalized tags. Untrusted text is cleaned here (see [`crate::text`]) and escaped later
//! by the renderer.

pub mod canonical;
pub mod jsonl;
pub mod tag;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest title kept, in characters.
pub const MAX_TITLE: usize = 300;
/// Longest summary kept, in characters (longer ones are cut at a word, with "…").
pub const MAX_SUMMARY: usize = 1200;

/// What an item is; shown as a badge in the email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A written piece.
    Article,
    /// A video.
    Video,
}

impl Kind {
    /// "Article" or "Video".
    pub fn label(self) -> &'static str {
        match self {
            Kind::Article => "Article",
            Kind::Video => "Video",
        }
    }

    /// Stored form: "article" or "video".
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Article => "article",
            Kind::Video => "video",
        }
    }

    /// The kind for a stored or configured name.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "article" => Some(Kind::Article),
            "video" => Some(Kind::Video),
            _ => None,
        }
    }
}

/// The publication an article came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publisher {
    /// Stable id, e.g. `medium_js`; the per-source cap counts by it.
    pub id: String,
    /// Display name, e.g. "Medium".
    pub name: String,
    /// Avatar image URL (http or https only).
    pub avatar: Option<String>,
}

/// One clean, normalized article, ready for the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Canonical http(s) URL; the identity of the article.
    pub url: String,
    /// One-line title.
    pub title: String,
    /// One-paragraph summary.
    pub summary: String,
    /// Article or video.
    pub kind: Kind,
    /// Where it was published.
    pub publisher: Publisher,
    /// Normalized tags, sorted and unique.
    pub tags: Vec<String>,
    /// Publication time; `None` for undated items, which no period selects.
    pub published_at: Option<DateTime<Utc>>,
    /// Upvotes (engagement).
    pub upvotes: u64,
    /// Comments (engagement).
    pub comments: u64,
}

/// Articles per store transaction while ingesting.
const BATCH: usize = 5_000;

/// What ingesting one source did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Articles stored, by outcome.
    pub stats: crate::store::UpsertStats,
    /// Lines or items that could not be loaded (the first [`Report::MAX_ERRORS`]).
    pub errors: Vec<String>,
    /// All errors, including those not kept.
    pub error_count: usize,
}

impl Report {
    /// How many error messages a report keeps.
    pub const MAX_ERRORS: usize = 50;

    fn error(&mut self, message: String) {
        self.error_count += 1;
        if self.errors.len() < Self::MAX_ERRORS {
            self.errors.push(message);
        }
    }
}

/// Loads one configured source into `store`, streaming it in batches. Bad lines are reported in
/// the [`Report`] and skipped; only an unreadable source or a store failure is an `Err`.
pub fn ingest(
    source: &crate::config::Source,
    store: &mut crate::store::Store,
    now: DateTime<Utc>,
) -> anyhow::Result<Report> {
    use anyhow::Context as _;
    let mut report = Report::default();
    let lines = match source.kind {
        crate::config::SourceKind::Jsonl => jsonl::open(&source.path).with_context(|| {
            format!(
                "source `{}`: opening {}",
                source.name,
                source.path.display()
            )
        })?,
    };
    let mut batch = Vec::with_capacity(BATCH);
    for line in lines {
        match line {
            Ok(article) => batch.push(article),
            Err(e) => report.error(e.to_string()),
        }
        if batch.len() == BATCH {
            report.stats += store.upsert(&batch, now)?;
            batch.clear();
        }
    }
    report.stats += store.upsert(&batch, now)?;
    Ok(report)
}
