//! Edits of a frozen issue that has not started sending: drop, pin and move items, an editor's
//! note, the subject line and the preheader. Each edit keeps the issue's number, is recorded in
//! its `edits` history, rewrites `issue.json` crash-safely and re-renders `preview.html`.
//! `digest edit` and the reviewers' draft page both go through [`apply`].

use anyhow::{Context as _, Result};

use crate::clock::Clock;
use crate::config::{Config, Digest};
use crate::issue::{self, Change, Edit, Issue, Item};
use crate::model::{IssueKey, canonical};
use crate::period::Period;
use crate::render::note::MAX_NOTE;
use crate::select;
use crate::store::Store;

/// Longest subject line or preheader accepted, in characters.
pub const MAX_LINE: usize = 200;

/// One edit to make. Positions are 1-based, as the email numbers the items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Remove the item at this position.
    Drop(u32),
    /// Put the catalogue's article at `url` at position `at` (default: last).
    Pin {
        /// Its link, as in the catalogue.
        url: String,
        /// Where (1-based).
        at: Option<u32>,
    },
    /// Move the item at the first position to the second.
    Move(u32, u32),
    /// Set the editor's note (Markdown), or remove it when empty.
    Note(String),
    /// Set the subject line.
    Subject(String),
    /// Set the inbox preview text.
    Preheader(String),
}

/// Why an edit was refused. The issue is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// No frozen issue to edit.
    #[error(
        "{digest} {period} is not built yet: only a frozen issue can be edited (`digest build {digest} --period {period}`)"
    )]
    NotFrozen {
        /// Digest id.
        digest: String,
        /// Period.
        period: Period,
    },
    /// Sending has started: readers already have (or are getting) this issue.
    #[error(
        "issue #{number} of {issue} has started sending ({sent} sent, {deferred} deferred, {failed} failed): it can no longer be edited"
    )]
    Started {
        /// The issue.
        issue: IssueKey,
        /// Its number.
        number: u32,
        /// Ledger rows sent.
        sent: u64,
        /// Ledger rows deferred.
        deferred: u64,
        /// Ledger rows failed.
        failed: u64,
    },
    /// The edit itself is wrong: a position out of range, an unknown article, a long note …
    #[error("{0}")]
    Invalid(String),
    /// Reading, rendering or writing failed.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

fn invalid(message: impl Into<String>) -> EditError {
    EditError::Invalid(message.into())
}

/// Applies `ops` in order to the frozen issue of `digest` for `period`, as `by` (`cli`, or a
/// reviewer's address), refusing all of them if any is wrong or sending has started; writes the
/// issue and its preview, and returns it.
pub fn apply(
    config: &Config,
    digest: &Digest,
    period: Period,
    ops: &[Op],
    by: &str,
    store: &Store,
    clock: &dyn Clock,
) -> Result<Issue, EditError> {
    let digests = &config.paths.digests;
    let mut issue =
        issue::find(digests, &digest.id, period)?.ok_or_else(|| EditError::NotFrozen {
            digest: digest.id.clone(),
            period,
        })?;
    let key = IssueKey::new(&digest.id, period);
    let counts = store.counts(&key)?;
    if counts.sent + counts.deferred + counts.failed > 0 {
        return Err(EditError::Started {
            issue: key,
            number: issue.number,
            sent: counts.sent,
            deferred: counts.deferred,
            failed: counts.failed,
        });
    }
    for op in ops {
        let change = change(config, digest, &mut issue, op, store)?;
        issue.edits.push(Edit {
            at: clock.now(),
            by: crate::text::one_line(by, 200),
            change,
        });
    }
    let shown = crate::publish::preview::rendered(config, &issue)?;
    shown
        .email
        .check_size(&issue)
        .map_err(|e| invalid(e.to_string()))?;
    issue::rewrite(digests, &issue)?;
    let path = issue::path(digests, &digest.id, period).with_file_name("preview.html");
    std::fs::write(&path, &shown.html).with_context(|| format!("writing {}", path.display()))?;
    Ok(issue)
}

/// The index of position `n` in `items`, or why there is none.
fn index(items: &[Item], n: u32, what: &str) -> Result<usize, EditError> {
    match n {
        1.. if (n as usize) <= items.len() => Ok(n as usize - 1),
        _ => Err(invalid(format!(
            "{what}: no item {n} (the issue has items 1 to {})",
            items.len()
        ))),
    }
}

/// Applies one edit to `issue`; what changed, for the history.
fn change(
    config: &Config,
    digest: &Digest,
    issue: &mut Issue,
    op: &Op,
    store: &Store,
) -> Result<Change, EditError> {
    let change = match op {
        Op::Drop(n) => {
            let i = index(&issue.items, *n, "--drop")?;
            if issue.items.len() == 1 {
                return Err(invalid("--drop: the issue's only item cannot be dropped"));
            }
            let item = issue.items.remove(i);
            Change::Drop {
                position: *n,
                url: item.url,
            }
        }
        Op::Pin { url, at } => {
            let item = pinned(config, digest, issue, url, store)?;
            let at = at.unwrap_or(issue.items.len() as u32 + 1);
            if at == 0 || at as usize > issue.items.len() + 1 {
                return Err(invalid(format!(
                    "--at: position {at} is outside 1 to {}",
                    issue.items.len() + 1
                )));
            }
            let url = item.url.clone();
            issue.items.insert(at as usize - 1, item);
            Change::Pin { url, position: at }
        }
        Op::Move(from, to) => {
            let i = index(&issue.items, *from, "--move")?;
            let j = index(&issue.items, *to, "--move")?;
            let item = issue.items.remove(i);
            issue.items.insert(j, item);
            Change::Move {
                from: *from,
                to: *to,
            }
        }
        Op::Note(markdown) => {
            let chars = markdown.trim().chars().count();
            if chars > MAX_NOTE {
                return Err(invalid(format!(
                    "--note: {chars} characters, more than the {MAX_NOTE} a note may have"
                )));
            }
            issue.note = (chars > 0).then(|| markdown.trim().to_string());
            Change::Note { chars }
        }
        Op::Subject(s) => Change::Subject {
            value: one_line("--subject", s, &mut issue.subject)?,
        },
        Op::Preheader(s) => Change::Preheader {
            value: one_line("--preheader", s, &mut issue.preheader)?,
        },
    };
    for (item, n) in issue.items.iter_mut().zip(1..) {
        item.number = n;
    }
    Ok(change)
}

/// Sets `field` to `value` on one line (unset when empty); the value set.
fn one_line(flag: &str, value: &str, field: &mut Option<String>) -> Result<String, EditError> {
    let line = crate::text::one_line(value, MAX_LINE + 1);
    if line.chars().count() > MAX_LINE {
        return Err(invalid(format!(
            "{flag}: longer than {MAX_LINE} characters"
        )));
    }
    *field = (!line.is_empty()).then(|| line.clone());
    Ok(line)
}

/// The item for the catalogue's article at `url`, scored as the ranking would score it.
fn pinned(
    config: &Config,
    digest: &Digest,
    issue: &Issue,
    url: &str,
    store: &Store,
) -> Result<Item, EditError> {
    let canonical =
        canonical::canonicalize(url).map_err(|e| invalid(format!("--pin {url:?}: {e}")))?;
    if let Some(item) = issue.items.iter().find(|i| i.url == canonical) {
        return Err(invalid(format!(
            "--pin: {canonical} is item {} already (move it with --move)",
            item.number
        )));
    }
    let stored = store.article(&canonical)?.ok_or_else(|| {
        invalid(format!(
            "--pin: {canonical} is not in the catalogue (ingest it first: `digest ingest`)"
        ))
    })?;
    let weight = stored
        .origin
        .as_deref()
        .and_then(|o| config.sources.get(o))
        .map_or(1.0, |s| s.weight);
    let score = select::score(
        &stored.article,
        &stored.discussions,
        weight,
        &digest.scoring,
        &issue.window,
    )
    .total;
    let mut item = Item::of(&stored.article, 0, score, issue.date()).ok_or_else(|| {
        invalid(format!(
            "--pin: {canonical} has no publication date, which the email shows"
        ))
    })?;
    item.discussions = crate::issue::discussed(&stored.discussions);
    Ok(item)
}
