//! Feed HTML → plain text. Feed descriptions and contents are untrusted HTML; only their text
//! reaches the store (the renderer escapes it again), so no markup from a feed can reach an email.

use html2text::render::TrivialDecorator;

/// HTML read per item; a summary needs only the first few hundred characters of text, and a
/// bound keeps hostile, deeply nested or huge bodies cheap.
const MAX_HTML_BYTES: usize = 64 * 1024;

/// Nesting depth beyond which the HTML is not parsed but stripped crudely.
const MAX_DEPTH: usize = 200;

/// The text of an HTML fragment on one line: tags dropped, entities decoded, `<script>` and
/// `<style>` contents removed, white space collapsed. Never fails: HTML the parser cannot render
/// falls back to a crude tag strip.
pub fn to_text(html: &str) -> String {
    let mut end = html.len().min(MAX_HTML_BYTES);
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let html = &html[..end];
    if !html.contains(['<', '&']) {
        return collapse(html);
    }
    let rendered = if nesting(html) > MAX_DEPTH {
        None
    } else {
        html2text::config::with_decorator(TrivialDecorator::new())
            .raw_mode(true)
            .no_link_wrapping()
            .allow_width_overflow()
            .string_from_read(html.as_bytes(), 10_000)
            .ok()
    };
    collapse(&rendered.unwrap_or_else(|| strip_tags(html)))
}

/// HTML elements a text can carry and still be taken for HTML by [`looks_like_html`]: inline
/// and simple block markup, as feeds put in titles.
const TEXT_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "b",
    "big",
    "blockquote",
    "br",
    "cite",
    "code",
    "del",
    "dfn",
    "div",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "time",
    "tt",
    "u",
    "ul",
    "var",
];

/// Whether a text that is plain by its format (an RSS title) carries escaped HTML, by the rule
/// feedparser uses: it has a closing tag or a character reference, and every tag in it is an
/// HTML element of `TEXT_ELEMENTS`. So `<b>Bold</b> news` and `Caf&eacute;` are HTML, while
/// `Vec<T> in Rust` and `a <3 b` are text.
pub fn looks_like_html(text: &str) -> bool {
    let tags: Vec<(bool, &str)> = text
        .match_indices('<')
        .filter_map(|(i, _)| {
            let rest = &text[i + 1..];
            let (closing, rest) = match rest.strip_prefix('/') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            (end > 0 && rest[..1].chars().all(|c| c.is_ascii_alphabetic()))
                .then(|| (closing, &rest[..end]))
        })
        .collect();
    let closes = tags.iter().any(|(closing, _)| *closing);
    let references = text.match_indices('&').any(|(i, _)| {
        let rest = &text[i + 1..];
        let end = rest.find(';').unwrap_or(0);
        end > 0
            && end <= 32
            && rest[..end]
                .trim_start_matches('#')
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
    });
    (closes || references)
        && tags
            .iter()
            .all(|(_, name)| TEXT_ELEMENTS.contains(&name.to_ascii_lowercase().as_str()))
}

/// White space collapsed to single spaces, trimmed.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An upper bound of the element nesting depth: opening minus closing tags, at its highest.
fn nesting(html: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let bytes = html.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'<' {
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(c) if c.is_ascii_alphabetic() => {
                depth += 1;
                max = max.max(depth);
            }
            _ => {}
        }
    }
    max
}

/// Everything outside `<…>`, for HTML too hostile to parse; entities stay as written.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_goes_and_text_stays() {
        assert_eq!(
            to_text(
                "<p>Hello <b>big</b>&nbsp;world &amp; <a href=\"javascript:x\">friends</a></p><p>Two</p>"
            ),
            "Hello big world & friends Two"
        );
        assert_eq!(
            to_text("caf&eacute; &lt;tag&gt; &#8212; ok"),
            "café <tag> — ok"
        );
        assert_eq!(to_text("  plain\n text  "), "plain text");
    }

    #[test]
    fn escaped_markup_is_told_from_text_that_only_looks_like_it() {
        for html in [
            "<b>Bold</b> news",
            "<i>Slanted</i> & more",
            "Caf&eacute;",
            "&#8220;Quoted&#8221;",
            "<A HREF=\"x\">Link</A>",
        ] {
            assert!(looks_like_html(html), "{html}");
        }
        for text in [
            "Vec<T> in Rust",
            "AT&T <3 plain",
            "a < b and c > d",
            "<script>alert(1)</script>",
            "x &nbsp y",
        ] {
            assert!(!looks_like_html(text), "{text}");
        }
    }

    #[test]
    fn scripts_styles_and_comments_vanish() {
        let got = to_text(
            "<style>p{color:red}</style><script>alert('x')</script><!-- hidden -->Visible<img src=x onerror=alert(1)>",
        );
        assert_eq!(got, "Visible");
    }

    #[test]
    fn hostile_html_is_bounded_and_never_fails() {
        let deep = "<div>".repeat(50_000) + "deep" + &"</div>".repeat(50_000);
        assert_eq!(to_text(&deep), "");
        let deep_text = "<b>".repeat(300) + "text";
        assert_eq!(to_text(&deep_text), "text");
        let huge = "word ".repeat(100_000);
        assert!(to_text(&huge).len() <= MAX_HTML_BYTES);
        assert_eq!(to_text("<p>unclosed <b>tags"), "unclosed tags");
        assert_eq!(to_text("é".repeat(40_000).as_str()).chars().count(), 32_768);
    }
}
