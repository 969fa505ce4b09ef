//! The name of one issue: a digest and a period.

use std::fmt;

use crate::period::Period;

/// One issue of one digest: the ledger's, the run table's and the archive's key. Shown (and stored
/// in the ledger) as `digest/period`; never parsed back from that text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IssueKey {
    /// The digest's id.
    pub digest: String,
    /// The period the issue covers.
    pub period: Period,
}

impl IssueKey {
    /// The issue of `digest` for `period`.
    pub fn new(digest: impl Into<String>, period: Period) -> IssueKey {
        IssueKey {
            digest: digest.into(),
            period,
        }
    }
}

impl fmt::Display for IssueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.digest, self.period)
    }
}

impl serde::Serialize for IssueKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issue_key_reads_digest_slash_period() {
        let period: Period = "2024-07".parse().unwrap();
        let key = IssueKey::new("best-of-x", period);
        assert_eq!(key.to_string(), "best-of-x/2024-07");
        assert_eq!(serde_json::to_string(&key).unwrap(), "\"best-of-x/2024-07\"");
    }
}
