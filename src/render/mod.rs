//! Stage 5, render: a frozen issue becomes a subject line, an HTML body and a plain-text body,
//! rendered once per issue with holes for per-recipient values (see [`splice`]).

pub mod archive;
pub mod html;
pub mod note;
pub mod review;
pub mod signup;
pub mod splice;
pub mod text;
mod theme;

use std::borrow::Cow;

use anyhow::Result;

pub use splice::{Escape, Field, Piece, Template, Values};
pub use theme::{Logo, Theme};

use crate::config::Site;
use crate::issue::Issue;

/// What rendering needs besides the issue.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The publisher.
    pub site: &'a Site,
    /// The look.
    pub theme: &'a Theme,
}

/// An issue rendered once, ready to be personalized per recipient.
#[derive(Debug, Clone)]
pub struct Email {
    /// Subject line (one line, no control characters).
    pub subject: String,
    /// HTML body with inlined styles.
    pub html: Template,
    /// Plain-text body.
    pub text: Template,
    /// Bytes of the HTML body, recipient values aside (summaries already cut to fit, if they could).
    pub html_bytes: usize,
}

impl Email {
    /// `Ok` if the HTML is within [`HTML_BUDGET`]; otherwise how large it is, naming `issue`.
    pub fn check_size(&self, issue: &Issue) -> Result<(), Oversize> {
        check_size(self.html_bytes, issue)
    }
}

/// `Ok` if `html_bytes` of `issue`'s email are within [`HTML_BUDGET`]; otherwise how large it is.
pub fn check_size(html_bytes: usize, issue: &Issue) -> Result<(), Oversize> {
    match html_bytes {
        0..=HTML_BUDGET => Ok(()),
        bytes => Err(Oversize {
            digest: issue.digest.clone(),
            period: issue.period,
            bytes,
        }),
    }
}

/// The HTML of an issue's email stays over [`HTML_BUDGET`] even with every summary dropped: its
/// links, titles and names alone are too long. Freezing and sending it are refused unless the
/// operator allows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the email of {digest} {period} would have {bytes} bytes of HTML, over the limit of \
     {HTML_BUDGET} bytes (Gmail clips a message past about 102 KB, hiding its footer and \
     unsubscribe link), even with every summary dropped; remove or shorten items (links, titles), \
     or allow it with --allow-oversize (`digest build` and `digest send`)"
)]
pub struct Oversize {
    /// Digest id.
    pub digest: String,
    /// The issue's period.
    pub period: crate::period::Period,
    /// Bytes of HTML the email would have.
    pub bytes: usize,
}

/// Gmail clips a message whose HTML passes about 102 KB (hiding the rest, footer and unsubscribe
/// link included); [`email`] keeps the HTML under this many bytes.
pub const HTML_BUDGET: usize = 100_000;

/// Summaries shorter than this are dropped rather than cut to a stub.
const MIN_SUMMARY: usize = 40;

/// Renders `issue` as an email. If the HTML would pass [`HTML_BUDGET`], every summary is cut
/// (at a word, with "…") until it fits, in both parts alike; the frozen issue is unchanged. An
/// email that does not fit even without summaries is still rendered (a preview shows it):
/// [`Email::check_size`] says so.
pub fn email(issue: &Issue, ctx: &Context<'_>) -> Result<Email> {
    let mut shown = Cow::Borrowed(issue);
    let mut limit = crate::model::MAX_SUMMARY;
    loop {
        let inlined = html::inline(&html::email(&shown, ctx).into_string())?;
        let over = inlined.len().saturating_sub(HTML_BUDGET);
        if over == 0 || limit == 0 {
            if over > 0 {
                tracing::warn!(
                    bytes = inlined.len(),
                    "the HTML stays over Gmail's clipping size even without summaries"
                );
            }
            return Ok(Email {
                subject: subject(issue),
                html: Template::new(&inlined, Escape::Html),
                text: Template::new(&text::email(&shown, ctx), Escape::None),
                html_bytes: inlined.len(),
            });
        }
        // Cut each summary by its share of the excess (escaping makes bytes ≥ characters), and
        // by at least a quarter, so this converges in a few passes.
        let share = over.div_ceil(issue.items.len().max(1));
        limit = limit.saturating_sub(share.max(limit / 4));
        if limit < MIN_SUMMARY {
            limit = 0;
        }
        shown = Cow::Owned(with_summaries_cut(issue, limit));
    }
}

/// Renders `issue` for `site` with the theme in the folder `templates` (see [`email`]).
pub fn email_with_theme(site: &Site, templates: &std::path::Path, issue: &Issue) -> Result<Email> {
    let theme = Theme::load(templates)?;
    email(
        issue,
        &Context {
            site,
            theme: &theme,
        },
    )
}

/// A copy of `issue` whose summaries have at most `limit` characters (none when 0).
fn with_summaries_cut(issue: &Issue, limit: usize) -> Issue {
    let mut cut = issue.clone();
    for item in &mut cut.items {
        item.summary = if limit == 0 {
            String::new()
        } else {
            clean(&item.summary, limit)
        };
    }
    cut
}

/// The subject line of `issue`: the editor's subject if set, else its title, on one line.
pub fn subject(issue: &Issue) -> String {
    clean(issue.subject.as_deref().unwrap_or(&issue.title), 200)
}

/// The public archive page of `issue`.
pub fn archive_url(site: &Site, issue: &Issue) -> String {
    format!(
        "{}/archive/{}/{}/",
        site.base_url, issue.digest, issue.period
    )
}

/// Stand-in recipient values for previews: no real address and no real token.
pub fn preview_values(site: &Site) -> (String, String) {
    (
        format!("{}/unsubscribe/preview", site.base_url),
        "reader@example.com".to_string(),
    )
}

/// The inbox preview text: the editor's preheader if set, else one sentence that truthfully sums
/// up the issue.
pub fn summary_line(issue: &Issue) -> String {
    if let Some(preheader) = &issue.preheader {
        return clean(preheader, 200);
    }
    let titles: Vec<String> = issue
        .items
        .iter()
        .take(2)
        .map(|i| clean(&i.title, 80))
        .collect();
    let n = issue.items.len();
    let picks = if n == 1 { "pick" } else { "picks" };
    let label = clean(&issue.period_label, 100);
    match n {
        0 => format!("No picks from {label}."),
        1 | 2 => format!("{n} {picks} from {label}: {}.", titles.join(" and ")),
        _ => format!(
            "{n} {picks} from {label}: {}, {} and {} more.",
            titles[0],
            titles[1],
            n - 2
        ),
    }
}

/// Untrusted text made safe for any output: one line, no control characters, bounded.
fn clean(s: &str, max_chars: usize) -> String {
    crate::text::one_line(s, max_chars)
}

/// The places of `discussions` with a discussion link (http or https only), with that link.
fn linked(
    discussions: &[crate::model::Discussion],
) -> impl Iterator<Item = (&crate::model::Discussion, &str)> {
    discussions.iter().filter_map(|d| {
        let url = d
            .url
            .as_deref()
            .filter(|u| crate::model::canonical::is_http(u))?;
        Some((d, url))
    })
}

/// "120 points, 45 comments", leaving out a count of zero; empty if both are.
fn counts(upvotes: u64, comments: u64) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let parts: Vec<String> = [
        (upvotes > 0).then(|| plural(upvotes, "point", "points")),
        (comments > 0).then(|| plural(comments, "comment", "comments")),
    ]
    .into_iter()
    .flatten()
    .collect();
    parts.join(", ")
}
