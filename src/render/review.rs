//! The review request: a banner above the issue in the message to its reviewers, with the links
//! to approve it and to its draft page.

use maud::{Markup, html};

use super::clean;
use crate::issue::Issue;

/// What the banner says besides the issue.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The approve page (GET shows it; its button POSTs the approval).
    pub approve_url: &'a str,
    /// The draft page: the issue as readers will see it, with the editing forms.
    pub draft_url: &'a str,
    /// When the review ends, for people.
    pub deadline: &'a str,
    /// What happens then, for people: "it is sent anyway" or "the period is skipped".
    pub then: &'a str,
}

/// The banner, as a container row for the top of the issue's email.
pub fn banner(issue: &Issue, r: &Request<'_>) -> Markup {
    html! {
        div.review-banner style="margin:0 0 16px 0;padding:16px 20px;border:2px solid #b45309;border-radius:8px;background:#fffbeb;color:#111827;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:15px;line-height:22px" {
            p style="margin:0 0 8px 0" {
                strong { "Review requested: " } "issue #" (issue.number) " (" (clean(&issue.period_label, 100)) ") is not sent until a reviewer approves it. Below is the issue as readers will see it."
            }
            p style="margin:0 0 8px 0" {
                a href=(r.approve_url) style="color:#b45309;font-weight:700" { "Approve this issue" }
                " · "
                a href=(r.draft_url) style="color:#b45309" { "Open the draft page (edit it)" }
            }
            p style="margin:0;font-size:13px;color:#4b5563" {
                "Deadline: " (r.deadline) "; if nobody approves it by then, " (r.then) "."
            }
        }
    }
}

/// The banner as plain text, for the top of the text part.
pub fn banner_text(issue: &Issue, r: &Request<'_>) -> String {
    format!(
        "REVIEW REQUESTED: issue #{} ({}) is not sent until a reviewer approves it.\n\n\
         Approve it:\n{}\n\nDraft page (edit it):\n{}\n\n\
         Deadline: {}; if nobody approves it by then, {}.\n\n{}\n\n",
        issue.number,
        clean(&issue.period_label, 100),
        r.approve_url,
        r.draft_url,
        r.deadline,
        r.then,
        "=".repeat(super::text::WIDTH)
    )
}

/// `html` (a whole document) with `banner` as the first thing in its `<body>`, or after it when
/// there is no `<body>` tag.
pub fn with_banner(html: &str, banner: &str) -> String {
    let at = html
        .find("<body")
        .and_then(|b| html[b..].find('>').map(|e| b + e + 1))
        .unwrap_or(0);
    [&html[..at], banner, &html[at..]].concat()
}
