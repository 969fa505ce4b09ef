//! The audience of a digest: its lists, in order, streamed one recipient at a time. Inline
//! members come from the config; CSV files (header row; columns `email`, `name`, optional
//! `status`) are read row by row, never loaded whole. Invalid addresses are reported with where
//! they are and skipped, never fatal. Deduplication happens in the ledger (one row per address).

use std::fs::File;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

use super::address::{Normalized, normalize};
use crate::config::List;

/// One recipient from a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Address and dedupe key.
    pub address: Normalized,
    /// Display name (one line), if any.
    pub name: Option<String>,
}

/// A list entry that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where: `lists.friends.members[2]` or `lists/customers.csv:17`.
    pub place: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.reason)
    }
}

/// One entry of the audience stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A usable recipient.
    Recipient(Recipient),
    /// An invalid address or row.
    Invalid(Skipped),
    /// A CSV row whose `status` says not to mail it (e.g. `unsubscribed`).
    Inactive(Skipped),
}

/// `status` values that mean "mail this address"; anything else is inactive.
const ACTIVE: &[&str] = &["", "active", "subscribed", "confirmed"];

/// Calls `each` for every entry of `lists`, in order; stops at the first error `each` returns.
/// A list file that cannot be opened or has no `email` column is an error naming the file.
pub fn each(lists: &[&List], mut each: impl FnMut(Entry) -> Result<()>) -> Result<()> {
    for list in lists {
        for (i, m) in list.members.iter().enumerate() {
            let place = format!("lists.{}.members[{i}]", list.name);
            each(entry(&m.email, m.name.as_deref(), None, place))?;
        }
        if let Some(file) = &list.file {
            csv_file(file, &mut each).with_context(|| format!("list `{}`", list.name))?;
        }
    }
    Ok(())
}

fn entry(email: &str, name: Option<&str>, status: Option<&str>, place: String) -> Entry {
    if let Some(status) = status.map(|s| s.trim().to_ascii_lowercase())
        && !ACTIVE.contains(&status.as_str())
    {
        return Entry::Inactive(Skipped {
            place,
            reason: format!("status {status:?}"),
        });
    }
    match normalize(email) {
        Ok(address) => Entry::Recipient(Recipient {
            address,
            name: name
                .map(|n| crate::text::one_line(n, 100))
                .filter(|n| !n.is_empty()),
        }),
        Err(reason) => Entry::Invalid(Skipped { place, reason }),
    }
}

fn csv_file(path: &Path, each: &mut impl FnMut(Entry) -> Result<()>) -> Result<()> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers = reader
        .headers()
        .with_context(|| format!("{}: reading the header row", path.display()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let Some(email) = column("email") else {
        bail!(
            "{}:1: no `email` column in the header row {:?}",
            path.display(),
            headers.iter().collect::<Vec<_>>()
        );
    };
    let (name, status) = (column("name"), column("status"));
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        let place = format!("{}:{}", path.display(), line);
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let field =
                    |i: Option<usize>| i.and_then(|i| record.get(i)).filter(|v| !v.is_empty());
                let Some(address) = field(Some(email)) else {
                    each(Entry::Invalid(Skipped {
                        place,
                        reason: "no email in this row".into(),
                    }))?;
                    continue;
                };
                each(entry(address, field(name), field(status), place))?;
            }
            // A malformed row (e.g. invalid UTF-8) is skipped; the reader continues after it.
            Err(e) if !matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                each(Entry::Invalid(Skipped {
                    place,
                    reason: format!("unreadable row: {e}"),
                }))?;
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Member;

    fn collect(lists: &[&List]) -> Vec<String> {
        let mut out = Vec::new();
        each(lists, |e| {
            out.push(match e {
                Entry::Recipient(r) => format!("ok {} {:?}", r.address.key, r.name),
                Entry::Invalid(s) => format!("invalid {s}"),
                Entry::Inactive(s) => format!("inactive {s}"),
            });
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn inline_members_and_csv_rows_stream_in_order_with_places() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("people.csv");
        std::fs::write(
            &csv,
            "Email,Name,Status\nb@example.com,Bea,active\nnot-an-address,X,\n\"c@example.com\",\"Lee, C.\",unsubscribed\n,NoMail,\nd@example.com\n",
        )
        .unwrap();
        let inline = List {
            name: "friends".into(),
            members: vec![
                Member {
                    email: "A@Example.com".into(),
                    name: Some("Ann\r\nBcc: x".into()),
                },
                Member {
                    email: "broken@".into(),
                    name: None,
                },
            ],
            file: None,
            signup: None,
        };
        let file = List {
            name: "people".into(),
            members: vec![],
            file: Some(csv.clone()),
            signup: None,
        };
        let got = collect(&[&inline, &file]);
        let p = csv.display();
        assert_eq!(
            got,
            vec![
                "ok a@example.com Some(\"Ann Bcc: x\")".to_string(),
                "invalid lists.friends.members[1]: \"broken@\" has no valid domain".into(),
                "ok b@example.com Some(\"Bea\")".into(),
                format!("invalid {p}:3: \"not-an-address\" has no @"),
                format!("inactive {p}:4: status \"unsubscribed\""),
                format!("invalid {p}:5: no email in this row"),
                "ok d@example.com None".into(),
            ]
        );
    }

    #[test]
    fn a_csv_without_an_email_column_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("bad.csv");
        std::fs::write(&csv, "mail,name\na@example.com,A\n").unwrap();
        let list = List {
            name: "bad".into(),
            members: vec![],
            file: Some(csv),
            signup: None,
        };
        let e = each(&[&list], |_| Ok(())).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("list `bad`") && msg.contains("bad.csv:1: no `email` column"),
            "{msg}"
        );
    }
}
