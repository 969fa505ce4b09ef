//! The editor's note: Markdown made safe for email, as HTML and as plain text.
//!
//! pulldown-cmark parses the note; raw HTML in it is dropped (neither rendered nor shown) and an
//! image becomes its alt text, so the note never loads anything. The HTML then goes through
//! ammonia with a small allow-list (paragraphs, emphasis, lists, quotes, code, `h3`/`h4`, links)
//! whose links may only be `http(s)`: a `javascript:` or `data:` link keeps its text and loses its
//! target. Control characters are removed first, so a note can never contain a splice marker.

use std::collections::HashSet;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// Longest note accepted, in characters of Markdown.
pub const MAX_NOTE: usize = 4000;

/// Tags the note's HTML may keep.
const TAGS: &[&str] = &[
    "p",
    "br",
    "strong",
    "em",
    "del",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h3",
    "h4",
    "hr",
];

/// `markdown` without control characters (newlines and tabs stay).
fn plain(markdown: &str) -> String {
    markdown
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// The Markdown events of a note, raw HTML and images left out (an image's alt text stays).
fn events(markdown: &str) -> impl Iterator<Item = Event<'_>> {
    Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH).filter(|e| {
        !matches!(
            e,
            Event::Html(_)
                | Event::InlineHtml(_)
                | Event::Start(Tag::Image { .. })
                | Event::End(TagEnd::Image)
        )
    })
}

/// The note as sanitized, email-safe HTML.
pub fn html(markdown: &str) -> String {
    let markdown = plain(markdown);
    let mut raw = String::new();
    pulldown_cmark::html::push_html(&mut raw, events(&markdown));
    ammonia::Builder::default()
        .tags(TAGS.iter().copied().collect::<HashSet<_>>())
        .generic_attributes(HashSet::new())
        .tag_attributes(std::iter::once(("a", std::iter::once("href").collect())).collect())
        .url_schemes(["http", "https"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .clean(&raw)
        .to_string()
}

/// The note as plain-text paragraphs (to be wrapped): list items start with `- `, and a link is
/// followed by its target in angle brackets when that is http(s).
pub fn text(markdown: &str) -> Vec<String> {
    let markdown = plain(markdown);
    let mut blocks = Vec::new();
    let mut current = String::new();
    let mut link: Option<String> = None;
    let flush = |current: &mut String, blocks: &mut Vec<String>| {
        let block = current.split_whitespace().collect::<Vec<_>>().join(" ");
        if !block.is_empty() {
            blocks.push(block);
        }
        current.clear();
    };
    for event in events(&markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => current.push_str(&t),
            Event::SoftBreak | Event::HardBreak => current.push(' '),
            Event::Start(Tag::Item) => {
                flush(&mut current, &mut blocks);
                current.push_str("- ");
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                link = Some(dest_url.to_string()).filter(|u| crate::model::canonical::is_http(u));
            }
            Event::End(TagEnd::Link) => {
                if let Some(url) = link.take() {
                    current.push_str(&format!(" <{url}>"));
                }
            }
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock,
            ) => flush(&mut current, &mut blocks),
            Event::Rule => {
                flush(&mut current, &mut blocks);
                blocks.push("* * *".into());
            }
            _ => {}
        }
    }
    flush(&mut current, &mut blocks);
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_the_allowed_tags_with_http_links_only() {
        let note = "Two *great* reads this month.\n\n- one [link](https://a.example/x?a=1&b=2)\n- two `code`\n";
        let h = html(note);
        assert_eq!(
            h,
            "<p>Two <em>great</em> reads this month.</p>\n<ul>\n<li>one <a href=\"https://a.example/x?a=1&amp;b=2\" rel=\"noopener noreferrer\">link</a></li>\n<li>two <code>code</code></li>\n</ul>\n"
        );
        assert_eq!(
            text(note),
            [
                "Two great reads this month.",
                "- one link <https://a.example/x?a=1&b=2>",
                "- two code"
            ]
        );
    }

    #[test]
    fn hostile_markdown_comes_out_inert() {
        // Each would run script, load a tracker or smuggle a splice marker if passed through.
        let note = "<script>alert(1)</script>\n\nHi <img src=x onerror=alert(1)> there \
                    [click](javascript:alert(2)) [d](data:text/html,x) ![pixel](https://t.example/p.gif)\n\n\
                    <a href=\"javascript:alert(3)\" onclick=\"x()\">raw</a> \u{1}email\u{1}\n\n\
                    <style>body{display:none}</style>";
        let h = html(note);
        for bad in [
            "<script",
            "alert(1)",
            "onerror",
            "javascript",
            "data:",
            "<img",
            "onclick",
            "<style",
            "display:none",
            "\u{1}",
            "t.example",
        ] {
            assert!(!h.contains(bad), "{bad:?} in {h}");
        }
        assert!(h.contains("click") && h.contains("pixel"), "{h}");
        let t = text(note).join("\n");
        for bad in ["javascript", "data:", "\u{1}", "<img", "t.example"] {
            assert!(!t.contains(bad), "{bad:?} in {t}");
        }
    }
}
