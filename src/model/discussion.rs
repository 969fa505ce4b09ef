//! Where an article was discussed: one [`Discussion`] per configured source that delivered it
//! (its blog's feed, Hacker News, Lobsters…), with that source's counts and, if it gave one, the
//! link to its discussion (RSS `<comments>`, Atom `link rel="replies"`, JSON Lines
//! `discussion_url`).

use serde::{Deserialize, Serialize};

/// One source's record of an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discussion {
    /// The configured source (its name in the configuration).
    pub source: String,
    /// How the source names itself (its publisher name), e.g. "Hacker News".
    pub name: String,
    /// The discussion page (http or https), if the source gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Upvotes or points there.
    pub upvotes: u64,
    /// Comments there.
    pub comments: u64,
}
