//! Articles as the catalogue delivers them and the store keeps them: [`Article`], its [`Kind`]
//! and [`Publisher`], and the length limits of its text.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest title kept, in characters.
pub const MAX_TITLE: usize = 300;
/// Longest summary kept, in characters (longer ones are cut at a word, with "…").
pub const MAX_SUMMARY: usize = 1200;
/// Longest URL accepted (an article's link, a publisher's avatar), in bytes once canonical. A link
/// cannot be cut like a title, and every byte of it reaches the email: a longer one is refused.
pub const MAX_URL: usize = 2048;
/// Longest publisher name kept, in characters.
pub const MAX_NAME: usize = 100;

/// `url` if it is at most [`MAX_URL`] bytes long; otherwise the reason it is refused.
pub fn bounded_url(url: String) -> Result<String, String> {
    match url.len() {
        0..=MAX_URL => Ok(url),
        n => Err(format!("longer than {MAX_URL} bytes ({n} bytes)")),
    }
}

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
    /// Where this source discusses it (http or https), if it says.
    pub discussion: Option<String>,
}

/// `url` as a discussion link: trimmed, http(s) only (anything else is dropped) and at most
/// [`MAX_URL`] bytes long (a longer one is refused with the reason).
pub fn discussion_url(url: Option<&str>) -> Result<Option<String>, String> {
    match url.map(str::trim).filter(|u| super::canonical::is_http(u)) {
        Some(u) => bounded_url(u.to_string()).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_past_the_bound_are_refused_with_their_length() {
        let at_limit = format!("https://x.example/{}", "a".repeat(MAX_URL - 18));
        assert_eq!(bounded_url(at_limit.clone()), Ok(at_limit.clone()));
        assert_eq!(
            bounded_url(format!("{at_limit}b")),
            Err("longer than 2048 bytes (2049 bytes)".into())
        );
    }
}
