//! Stage 5, render: a frozen issue becomes a subject line, an HTML body and a plain-text body,
//! rendered once per issue with holes for per-recipient values (see [`splice`]).

pub mod archive;
pub mod html;
pub mod splice;
pub mod text;
mod theme;

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
}

/// Renders `issue` as an email.
pub fn email(issue: &Issue, ctx: &Context<'_>) -> Result<Email> {
    let document = html::email(issue, ctx).into_string();
    let inlined = html::inline(&document)?;
    Ok(Email {
        subject: subject(issue),
        html: Template::new(&inlined, Escape::Html),
        text: Template::new(&text::email(issue, ctx), Escape::None),
    })
}

/// The subject line of `issue`: its title on one line.
pub fn subject(issue: &Issue) -> String {
    clean(&issue.title, 200)
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

/// One sentence that truthfully sums up the issue, for the inbox preview.
pub fn summary_line(issue: &Issue) -> String {
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
