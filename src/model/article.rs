//! Articles as the catalogue delivers them and the store keeps them: [`Article`], its [`Kind`]
//! and [`Publisher`], and the length limits of its text.

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

/// An article and its identity within its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The article.
    pub article: Article,
    /// The source's stable id for it (a feed's GUID), if any; else the canonical URL is all.
    pub guid: Option<String>,
}
