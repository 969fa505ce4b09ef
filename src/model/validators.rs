//! HTTP cache validators: what a server said about a feed last time, kept per source by the store
//! and sent back by the fetcher for a conditional GET.

/// What the server said about a feed last time, sent back to ask "has it changed?".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag` of the last response.
    pub etag: Option<String>,
    /// `Last-Modified` of the last response.
    pub last_modified: Option<String>,
}
