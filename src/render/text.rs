//! The plain-text part: the same content as the HTML (title, numbered items with their URLs,
//! unsubscribe and archive URLs), wrapped at 78 columns without ever breaking a URL.

use std::fmt::Write as _;

use super::splice::Field;
use super::{Context, archive_url, clean};
use crate::issue::{Issue, Related};
use crate::model::Discussion;
use crate::model::{MAX_SUMMARY, MAX_TITLE, canonical};

/// Line width of the text part.
pub const WIDTH: usize = 78;

/// The text body, with field markers.
pub fn email(issue: &Issue, ctx: &Context<'_>) -> String {
    let mut out = String::new();
    let title = clean(&issue.title, MAX_TITLE);
    let _ = writeln!(out, "{title}");
    let _ = writeln!(out, "{}", "-".repeat(title.chars().count().min(WIDTH)));
    let _ = writeln!(
        out,
        "Issue #{} · {} · {}\n",
        issue.number,
        clean(&issue.period_label, 100),
        ctx.site.name
    );
    if let Some(note) = issue.note.as_deref() {
        for block in super::note::text(note) {
            wrap_into(&mut out, &block, "", "");
            out.push('\n');
        }
        out.push_str("* * *\n\n");
    }
    for item in &issue.items {
        let number = format!("{:>2}. ", item.number);
        let indent = " ".repeat(number.len());
        wrap_into(&mut out, &clean(&item.title, MAX_TITLE), &number, &indent);
        let _ = writeln!(
            out,
            "{indent}{} · {} · {}",
            item.kind.label(),
            clean(&item.source.name, 100),
            clean(&item.age, 10)
        );
        if canonical::is_http(&item.url) {
            let _ = writeln!(out, "{indent}{}", item.url);
        }
        out.push('\n');
        wrap_into(
            &mut out,
            &clean(&item.summary, MAX_SUMMARY),
            &indent,
            &indent,
        );
        discussed(&mut out, &item.discussions, &indent);
        more(&mut out, &item.more, &indent);
        out.push('\n');
    }
    let why = ctx.theme.footer_text.replace("{site}", &ctx.site.name);
    out.push_str("-- \n");
    // The address is spliced in later: wrap around an unbreakable stand-in of typical length.
    let stand_in = "\u{E000}".repeat(24);
    let why =
        wrap(&why.replace("{email}", &stand_in), "", "").replace(&stand_in, &Field::Email.marker());
    out.push_str(&why);
    // Each URL on a line of its own: a label beside it would push most past the width.
    let _ = writeln!(out, "\nUnsubscribe:\n{}", Field::UnsubscribeUrl.marker());
    let _ = writeln!(
        out,
        "\nManage your subscription:\n{}",
        Field::ManageUrl.marker()
    );
    let _ = writeln!(
        out,
        "\nView in browser:\n{}\n",
        archive_url(ctx.site, issue)
    );
    let address = format!("{} · {}", ctx.site.name, ctx.theme.postal_address);
    wrap_into(&mut out, &address, "", "");
    out
}

/// "Discussed on:" and, per place with a discussion link, its name and counts, then the link on
/// a line of its own (never broken).
fn discussed(out: &mut String, discussions: &[Discussion], indent: &str) {
    let mut linked = super::linked(discussions).peekable();
    if linked.peek().is_none() {
        return;
    }
    let _ = writeln!(out, "\n{indent}Discussed on:");
    for (d, url) in linked {
        let counts = super::counts(d.upvotes, d.comments);
        let name = clean(&d.name, 100);
        let line = match counts.is_empty() {
            true => name,
            false => format!("{name} ({counts})"),
        };
        wrap_into(out, &line, &format!("{indent}- "), &format!("{indent}  "));
        let _ = writeln!(out, "{indent}  {url}");
    }
}

/// "More on this story:" and, per other telling, its source and title, then its URL on a line
/// of its own (never broken).
fn more(out: &mut String, related: &[Related], indent: &str) {
    if related.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{indent}More on this story:");
    for r in related {
        let line = format!("{}: {}", clean(&r.source, 100), clean(&r.title, MAX_TITLE));
        wrap_into(out, &line, &format!("{indent}- "), &format!("{indent}  "));
        if canonical::is_http(&r.url) {
            let _ = writeln!(out, "{indent}  {}", r.url);
        }
    }
}

fn wrap(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::new();
    wrap_into(&mut out, text, first, rest);
    out
}

/// Wraps `text` at [`WIDTH`] with the given indents; long words (URLs) are never broken.
fn wrap_into(out: &mut String, text: &str, first: &str, rest: &str) {
    let options = textwrap::Options::new(WIDTH)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .word_separator(textwrap::WordSeparator::AsciiSpace);
    for line in textwrap::wrap(text, options) {
        out.push_str(&line);
        out.push('\n');
    }
}
