//! The HTML email (and the archive's page frame) as small Maud components. Maud escapes every string it is given; links are only
//! emitted for http(s) URLs and images only for https ones. Layout follows email-client rules:
//! presentation tables, a 600px container with an Outlook fixed-width fallback, styles inlined from
//! the theme's stylesheet by css-inline (only media queries stay in `<style>`).

use anyhow::{Context as _, Result};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::splice::Field;
use super::{Context, archive_url, clean};
use crate::issue::{Issue, Item, Related};
use crate::model::{Discussion, MAX_SUMMARY, MAX_TITLE, canonical};

/// Outlook (Word engine) ignores max-width: give it a fixed 600px table.
const MSO_OPEN: &str = r#"<!--[if mso]><table role="presentation" width="600" align="center" cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->"#;
const MSO_CLOSE: &str = "<!--[if mso]></td></tr></table><![endif]-->";

/// The whole email document, before inlining.
pub fn email(issue: &Issue, ctx: &Context<'_>) -> Markup {
    let rows = html! {
        (masthead(ctx))
        tr { td.heading { (heading(issue)) } }
        (note(issue))
        (items(issue))
        (footer(issue, ctx))
    };
    document(ctx, &issue.title, html! {}, preheader(issue), rows)
}

/// The page around the content, shared by the email and the archive: `head_extra` goes in `<head>`,
/// `preheader` first in `<body>`, and `rows` (table rows) in the 600px container.
pub fn document(
    ctx: &Context<'_>,
    title: &str,
    head_extra: Markup,
    preheader: Markup,
    rows: Markup,
) -> Markup {
    let theme = ctx.theme;
    html! {
        (DOCTYPE)
        html lang=(theme.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Apple Mail: do not rescale the layout; do not turn dates and addresses into links.
                meta name="x-apple-disable-message-reformatting" content="";
                meta name="format-detection" content="telephone=no, date=no, address=no, email=no";
                meta name="color-scheme" content="light dark";
                meta name="supported-color-schemes" content="light dark";
                title { (clean(title, MAX_TITLE)) }
                (head_extra)
                style { (PreEscaped(&theme.css)) }
            }
            body.body bgcolor=(theme.color("page")) {
                (preheader)
                table.page role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor=(theme.color("page")) {
                    tr {
                        td.page-cell align="center" {
                            (PreEscaped(MSO_OPEN))
                            table.container role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" bgcolor=(theme.color("card")) {
                                (rows)
                            }
                            (PreEscaped(MSO_CLOSE))
                        }
                    }
                }
            }
        }
    }
}

/// One container row per item of `issue`.
pub fn items(issue: &Issue) -> Markup {
    html! {
        @for item in &issue.items {
            tr { td.item { (self::item(item)) } }
        }
    }
}

/// The editor's note, if the issue has one, as a container row above the items (see
/// [`super::note`]: sanitized Markdown).
pub fn note(issue: &Issue) -> Markup {
    html! {
        @if let Some(note) = issue.note.as_deref() {
            tr { td.note { (PreEscaped(super::note::html(note))) } }
        }
    }
}

/// Hidden inbox preview text: a truthful summary of the issue.
pub fn preheader(issue: &Issue) -> Markup {
    html! {
        div.preheader style="display:none;max-height:0;overflow:hidden;mso-hide:all" aria-hidden="true" {
            (super::summary_line(issue))
            // Pads the preview so clients do not pull body text into it.
            (PreEscaped("&#8199;&#847;".repeat(40)))
        }
    }
}

/// Site name (and logo) above the title, as a row of the container table.
pub fn masthead(ctx: &Context<'_>) -> Markup {
    html! {
        tr {
            td.masthead {
                @if let Some(logo) = &ctx.theme.logo {
                    img.logo src=(logo.url) width=(logo.width) height=(logo.height) alt=(logo.alt);
                }
                a.site-name href=(ctx.site.base_url) { (ctx.site.name) }
            }
        }
    }
}

/// Title, issue number and period.
pub fn heading(issue: &Issue) -> Markup {
    html! {
        h1.title { (clean(&issue.title, MAX_TITLE)) }
        (issue_meta(issue))
    }
}

/// "Issue #3 · July 2024 · 14 picks".
pub fn issue_meta(issue: &Issue) -> Markup {
    html! {
        p.issue-meta {
            "Issue #" (issue.number) " · " (clean(&issue.period_label, 100)) " · "
            (issue.items.len()) (if issue.items.len() == 1 { " pick" } else { " picks" })
        }
    }
}

/// One numbered item: number, kind badge, source avatar and name, age, linked title, summary.
pub fn item(item: &Item) -> Markup {
    let title = clean(&item.title, MAX_TITLE);
    let source = clean(&item.source.name, 100);
    let avatar = item
        .source
        .avatar
        .as_deref()
        .filter(|a| a.starts_with("https://") && canonical::is_http(a));
    html! {
        table.item-table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
            tr {
                td.item-number width="40" valign="top" {
                    span.number-badge { (item.number) }
                }
                td.item-body valign="top" {
                    p.item-meta {
                        span class={ "kind kind-" (item.kind.as_str()) } { (item.kind.label()) }
                    }
                    p.item-source {
                        @if let Some(src) = avatar {
                            img.avatar src=(src) width="20" height="20" alt={ "Avatar of " (source) };
                        } @else {
                            span.avatar-fallback aria-hidden="true" { (source.chars().next().unwrap_or('?')) }
                        }
                        " "
                        span.source-name { (source) }
                        span.age { " · " (clean(&item.age, 10)) }
                    }
                    h2.item-title {
                        @if canonical::is_http(&item.url) {
                            a.item-link href=(item.url) { (title) }
                        } @else {
                            (title)
                        }
                    }
                    p.summary { (clean(&item.summary, MAX_SUMMARY)) }
                    (discussed(&item.discussions))
                    (more(&item.more))
                }
            }
        }
    }
}

/// "Discussed on Hacker News (120 points, 45 comments) · Lobsters (30 points)", each place
/// linked to its discussion; nothing when the item has no discussion links.
pub fn discussed(discussions: &[Discussion]) -> Markup {
    let linked: Vec<(&Discussion, &str)> = super::linked(discussions).collect();
    html! {
        @if !linked.is_empty() {
            p.more.discussed {
                "Discussed on "
                @for (i, (d, url)) in linked.iter().enumerate() {
                    @if i > 0 { " · " }
                    a.more-link href=(url) { (clean(&d.name, 100)) }
                    @let counts = super::counts(d.upvotes, d.comments);
                    @if !counts.is_empty() { " (" (counts) ")" }
                }
            }
        }
    }
}

/// "More on this story: Source A · Source B", each source linked to its telling of the story
/// (its title in the link's tooltip); nothing when the story has no other tellings.
pub fn more(related: &[Related]) -> Markup {
    html! {
        @if !related.is_empty() {
            p.more {
                "More on this story: "
                @for (i, r) in related.iter().enumerate() {
                    @if i > 0 { " · " }
                    @let source = clean(&r.source, 100);
                    @if canonical::is_http(&r.url) {
                        a.more-link href=(r.url) title=(clean(&r.title, MAX_TITLE)) { (source) }
                    } @else {
                        (source)
                    }
                }
            }
        }
    }
}

/// Why the reader gets this, unsubscribe and archive links, site name and postal address.
fn footer(issue: &Issue, ctx: &Context<'_>) -> Markup {
    let why = ctx.theme.footer_text.replace("{site}", &ctx.site.name);
    let email = Field::Email.marker();
    html! {
        tr {
            td.footer {
                p.footer-text {
                    @for (i, part) in why.split("{email}").enumerate() {
                        @if i > 0 { (email) }
                        (part)
                    }
                }
                p.footer-links {
                    a.footer-link href=(Field::UnsubscribeUrl.marker()) { "Unsubscribe" }
                    " · "
                    a.footer-link href=(Field::ManageUrl.marker()) { "Manage your subscription" }
                    " · "
                    a.footer-link href=(archive_url(ctx.site, issue)) { "View in browser" }
                }
                p.footer-address { strong.footer-site { (ctx.site.name) } " · " (ctx.theme.postal_address) }
            }
        }
    }
}

/// Moves the stylesheet's rules into `style` attributes, keeping only at-rules (media queries,
/// dark mode) in one `<style>` at the end of `<head>`.
pub fn inline(document: &str) -> Result<String> {
    let inlined = css_inline::CSSInliner::options()
        .load_remote_stylesheets(false)
        .keep_style_tags(false)
        .keep_at_rules(true)
        .apply_width_attributes(true)
        .apply_height_attributes(true)
        .build()
        .inline(document)
        .context("inlining the stylesheet")?;
    Ok(style_last_in_head(&inlined).unwrap_or(inlined))
}

/// css-inline writes the kept at-rules as the first child of `<head>`, before `<meta charset>`,
/// which must come first (browsers only look for it in the first 1024 bytes): `html` with that
/// `<style>` moved to the end of `<head>`, or `None` if there is none (no at-rules).
fn style_last_in_head(html: &str) -> Option<String> {
    const CLOSE: &str = "</style>";
    let start = html.find("<head><style>")? + "<head>".len();
    let end = start + html[start..].find(CLOSE)? + CLOSE.len();
    let head_end = end + html[end..].find("</head>")?;
    Some(
        [
            &html[..start],
            &html[end..head_end],
            &html[start..end],
            &html[head_end..],
        ]
        .concat(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inlining_keeps_only_at_rules_in_one_style_at_the_end_of_head() {
        let head = r#"<head><meta charset="utf-8"><title>t</title>"#;
        let doc = format!(
            "<!DOCTYPE html><html>{head}<style>p {{ color: red }} \
             @media (max-width: 9px) {{ p {{ color: blue }} }}</style></head><body><p>x</p></body></html>"
        );
        let out = inline(&doc).unwrap();
        assert!(out.contains(&format!("{head}<style>@media")), "{out}");
        assert!(
            out.contains("</style></head><body><p style=\"color: red;\">x</p>"),
            "{out}"
        );
        assert_eq!(out.matches("<style>").count(), 1);

        // Without at-rules nothing stays in <style>, and nothing is moved.
        let plain = doc.replace("@media (max-width: 9px) { p { color: blue } }", "");
        let out = inline(&plain).unwrap();
        assert!(!out.contains("<style>") && out.contains(head), "{out}");
    }
}
