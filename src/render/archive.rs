//! The web archive's pages and Atom feed, built from the email's components ([`html::document`],
//! [`html::heading`], [`html::items`]) so an issue reads the same in the inbox and on the web.
//! Links between pages are relative, so the static copy works under any prefix; links in the feed
//! are absolute, from `site.base_url`.

use chrono::{DateTime, SecondsFormat, Utc};
use maud::{Markup, PreEscaped, html};

use super::html::{self, issue_meta};
use super::{Context, archive_url, clean, summary_line};
use crate::config::{Digest, Site};
use crate::issue::Issue;
use crate::model::MAX_TITLE;

/// The index of every digest and its issues (at `/archive/`).
pub fn index(ctx: &Context<'_>, digests: &[(&Digest, Vec<Issue>)]) -> Markup {
    let rows = html! {
        (html::masthead(ctx))
        tr { td.heading {
            h1.title { "Archive" }
            p.issue-meta { "Every issue of every digest of " (ctx.site.name) "." }
        } }
        @for (digest, issues) in digests {
            tr { td.item {
                h2.item-title { a.item-link href={ (digest.id) "/" } { (name(digest)) } }
                p.item-source { (about(digest, issues)) " · " a.footer-link href={ (digest.id) "/feed.xml" } { "Atom feed" } }
                @for issue in issues.iter().rev() {
                    (issue_link(issue, &format!("{}/{}/", digest.id, issue.period)))
                }
            } }
        }
    };
    html::document(
        ctx,
        &format!("Archive · {}", ctx.site.name),
        html! {},
        html! {},
        rows,
    )
}

/// One digest's issues, newest first (at `/archive/<digest>/`).
pub fn digest(ctx: &Context<'_>, digest: &Digest, issues: &[Issue]) -> Markup {
    let rows = html! {
        (html::masthead(ctx))
        tr { td.heading {
            h1.title { (name(digest)) }
            p.issue-meta { (about(digest, issues)) }
        } }
        @for issue in issues.iter().rev() {
            tr { td.item { (issue_link(issue, &format!("{}/", issue.period))) } }
        }
        (navigation(html! { a.footer-link href="../" { "All digests" } }, "feed.xml"))
    };
    let title = format!("{} · {}", name(digest), ctx.site.name);
    html::document(ctx, &title, feed_link("feed.xml"), html! {}, rows)
}

/// One issue, as the email shows it (at `/archive/<digest>/<period>/`).
pub fn issue(ctx: &Context<'_>, digest: &Digest, issue: &Issue) -> Markup {
    let rows = html! {
        (html::masthead(ctx))
        tr { td.heading { (html::heading(issue)) } }
        (html::note(issue))
        (html::items(issue))
        (navigation(
            html! { a.footer-link href="../" { "All issues of " (name(digest)) } },
            "../feed.xml",
        ))
    };
    html::document(ctx, &issue.title, feed_link("../feed.xml"), html! {}, rows)
}

/// The Atom feed (RFC 4287) of a digest's issues, newest first (at `/archive/<digest>/feed.xml`).
pub fn feed(site: &Site, digest: &Digest, issues: &[Issue]) -> Markup {
    let home = format!("{}/archive/{}/", site.base_url, digest.id);
    // A feed without entries still needs a date: the epoch keeps it stable.
    let updated = issues
        .iter()
        .map(|i| i.built_at)
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH);
    html! {
        (PreEscaped(r#"<?xml version="1.0" encoding="utf-8"?>"#)) "\n"
        feed xmlns="http://www.w3.org/2005/Atom" {
            id { (home) }
            title { (site.name) " — " (name(digest)) }
            updated { (timestamp(updated)) }
            link rel="self" type="application/atom+xml" href={ (home) "feed.xml" } {}
            link rel="alternate" type="text/html" href=(home) {}
            author { name { (site.name) } }
            @for issue in issues.iter().rev() {
                @let url = archive_url(site, issue);
                entry {
                    id { (url) }
                    title { (clean(&issue.title, MAX_TITLE)) }
                    updated { (timestamp(issue.built_at)) }
                    published { (timestamp(issue.date())) }
                    link rel="alternate" type="text/html" href=(url) {}
                    summary { (summary_line(issue)) }
                    content type="html" {
                        (html! { table { (html::note(issue)) (html::items(issue)) } }.into_string())
                    }
                }
            }
        }
    }
}

/// How a digest is named in the archive: its tag name, e.g. "Distributed Systems".
fn name(digest: &Digest) -> String {
    clean(&digest.tag_name, 100)
}

/// "A monthly digest · 3 issues".
fn about(digest: &Digest, issues: &[Issue]) -> String {
    let n = issues.len();
    let issues = if n == 1 { "issue" } else { "issues" };
    format!("A {} digest · {n} {issues}", digest.period)
}

/// An issue's title linking to its page, and its number, period and size.
fn issue_link(issue: &Issue, href: &str) -> Markup {
    html! {
        h2.item-title { a.item-link href=(href) { (clean(&issue.title, MAX_TITLE)) } }
        (issue_meta(issue))
    }
}

/// The footer row: `back`, then the feed link.
fn navigation(back: Markup, feed: &str) -> Markup {
    html! {
        tr { td.footer { p.footer-links {
            (back) " · " a.footer-link href=(feed) { "Atom feed" }
        } } }
    }
}

/// The `<link>` that lets browsers and feed readers find the feed.
fn feed_link(href: &str) -> Markup {
    html! { link rel="alternate" type="application/atom+xml" href=(href); }
}

/// RFC 3339 in UTC, as Atom wants.
fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
