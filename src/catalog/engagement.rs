//! Engagement counts carried by feed items: `slash:comments` (WordPress and others), `thr:total`
//! (Atom threading) and score-like extension fields named in a source's configuration.
//!
//! feed-rs does not keep extension elements, so this is a second, tolerant pass over the same
//! bytes that returns, per item in document order, where it is and the [`Counts`] it carries.

use std::ops::Range;

use quick_xml::events::{BytesStart, Event};

use crate::config::Engagement;
use crate::model::engagement::Field;

/// The counts found in one item (`None`: the item does not carry the field), and the link to its
/// discussion (RSS `<comments>`, as written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Upvotes or a score.
    pub upvotes: Option<u64>,
    /// Comments.
    pub comments: Option<u64>,
    /// The RSS `<comments>` element: the URL of the item's discussion page.
    pub discussion: Option<String>,
}

/// One `<item>` or `<entry>` of an XML feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    /// Its bytes in the document, from `<` to the end of its closing tag.
    pub range: Range<usize>,
    /// The counts it carries.
    pub counts: Counts,
}

/// Built-in comment counts, used unless a configured field gives one.
const COMMENTS: [&str; 2] = ["slash:comments", "thr:total"];

/// A count read from text: digits, maybe with thousands separators or a fraction (cut off).
fn count(text: &str) -> Option<u64> {
    let digits: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '_'))
        .collect();
    digits.parse::<u64>().ok().or_else(|| {
        digits
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n as u64)
    })
}

/// What a captured element feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Upvotes,
    Comments,
    /// One of the built-in comment counts ([`COMMENTS`]).
    Builtin,
    /// RSS `<comments>` (no prefix): the discussion page.
    Discussion,
}

/// Every `<item>` / `<entry>` of an XML feed with its counts, in document order. Stops quietly at
/// malformed XML (feed-rs reports that); the result then has fewer items than the feed.
pub fn scan_xml(bytes: &[u8], wanted: &Engagement) -> Vec<Scanned> {
    let builtin: Vec<Field> = COMMENTS
        .iter()
        .filter_map(|f| Field::parse(f).ok())
        .collect();
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().check_end_names = false;
    let mut items = Vec::new();
    let mut depth = 0usize;
    // (where the item starts, its depth, its counts, its built-in comment count)
    let mut item: Option<(usize, usize, Counts, Option<u64>)> = None;
    // (depth of the captured element, where its text goes, text so far)
    let mut capture: Option<(usize, Slot, String)> = None;
    let slots = |e: &BytesStart<'_>| -> Vec<(Slot, &Field)> {
        let name = e.name();
        let configured = [
            (Slot::Upvotes, wanted.upvotes.as_ref()),
            (Slot::Comments, wanted.comments.as_ref()),
        ];
        configured
            .into_iter()
            .filter_map(|(s, f)| f.map(|f| (s, f)))
            .chain(builtin.iter().map(|f| (Slot::Builtin, f)))
            .filter(|(_, f)| f.matches(name.as_ref()))
            .collect()
    };
    loop {
        let before = position(&reader);
        let (start, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::Text(t)) => {
                if let Some((_, _, text)) = &mut capture {
                    text.push_str(&t);
                }
                continue;
            }
            Ok(Event::CData(t)) => {
                if let Some((_, _, text)) = &mut capture {
                    text.push_str(&t);
                }
                continue;
            }
            // `&amp;` in a link (`item?id=1&amp;p=2`): reported apart from the text around it.
            Ok(Event::GeneralRef(r)) => {
                if let Some((_, _, text)) = &mut capture {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => text.push(c),
                        _ => text.push_str(
                            quick_xml::escape::resolve_predefined_entity(&r).unwrap_or_default(),
                        ),
                    }
                }
                continue;
            }
            Ok(Event::End(_)) => {
                if let Some((_, slot, text)) = capture.take_if(|(d, _, _)| *d == depth)
                    && let Some((_, _, counts, builtin)) = &mut item
                {
                    if slot == Slot::Discussion {
                        counts.discussion.get_or_insert(text);
                    } else {
                        set(counts, builtin, slot, count(&text));
                    }
                }
                if let Some((from, _, counts, builtin)) = item.take_if(|(_, d, _, _)| *d == depth) {
                    items.push(Scanned {
                        range: from..position(&reader),
                        counts: finish(counts, builtin),
                    });
                }
                depth = depth.saturating_sub(1);
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        depth += 1;
        let local = start.local_name();
        if item.is_none() {
            if matches!(local.as_ref(), "item" | "entry") {
                if empty {
                    items.push(Scanned {
                        range: before..position(&reader),
                        counts: Counts::default(),
                    });
                } else {
                    item = Some((before, depth, Counts::default(), None));
                }
            }
        } else if let Some((_, _, counts, builtin)) = &mut item {
            for (slot, field) in slots(&start) {
                match field.attribute() {
                    Some(attr) => {
                        let value = start
                            .try_get_attribute(attr)
                            .ok()
                            .flatten()
                            .and_then(|a| count(&a.value));
                        set(counts, builtin, slot, value);
                    }
                    None if !empty && capture.is_none() => {
                        capture = Some((depth, slot, String::new()));
                    }
                    None => {}
                }
            }
            // RSS `<comments>`: the discussion page (unless a configured field took the text).
            if start.name().as_ref() == "comments" && !empty && capture.is_none() {
                capture = Some((depth, Slot::Discussion, String::new()));
            }
        }
        if empty {
            depth -= 1;
        }
    }
    items
}

/// The reader's byte offset in the document.
fn position(reader: &quick_xml::Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

/// Records `value` in `slot`; the first value found for a slot wins.
fn set(counts: &mut Counts, builtin: &mut Option<u64>, slot: Slot, value: Option<u64>) {
    let target = match slot {
        Slot::Upvotes => &mut counts.upvotes,
        Slot::Comments => &mut counts.comments,
        Slot::Builtin | Slot::Discussion => builtin,
    };
    if target.is_none() {
        *target = value;
    }
}

/// The item's counts, with the built-in comment count unless a configured one was found.
fn finish(mut counts: Counts, builtin: Option<u64>) -> Counts {
    counts.comments = counts.comments.or(builtin);
    counts
}

/// The counts of every item of a JSON Feed (`items[*]`), reading the configured dotted paths.
pub fn scan_json(bytes: &[u8], wanted: &Engagement) -> Vec<Counts> {
    let Ok(feed) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    let get = |item: &serde_json::Value, field: Option<&Field>| {
        let field = field?;
        let value = field.name().split('.').try_fold(item, |v, k| v.get(k))?;
        value
            .as_u64()
            .or_else(|| value.as_f64().filter(|n| *n >= 0.0).map(|n| n as u64))
            .or_else(|| value.as_str().and_then(count))
    };
    feed.get("items")
        .and_then(|i| i.as_array())
        .map(|items| {
            items
                .iter()
                .map(|item| Counts {
                    upvotes: get(item, wanted.upvotes.as_ref()),
                    comments: get(item, wanted.comments.as_ref()),
                    discussion: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(upvotes: Option<&str>, comments: Option<&str>) -> Engagement {
        Engagement {
            upvotes: upvotes.map(|f| Field::parse(f).unwrap()),
            comments: comments.map(|f| Field::parse(f).unwrap()),
        }
    }

    #[test]
    fn field_names_are_checked() {
        assert!(Field::parse("slash:comments").is_ok());
        assert!(Field::parse("media:starRating@count").is_ok());
        assert!(Field::parse("_reddit.score").is_ok());
        for bad in ["", "a b", "x@", "a:b:c", "<score>"] {
            let e = Field::parse(bad).unwrap_err();
            assert!(e.contains("is not a field name"), "{bad}: {e}");
        }
    }

    #[test]
    fn slash_comments_and_thr_total_are_read_per_item() {
        let rss = br#"<rss version="2.0" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
            <channel><title>t</title>
            <item><title>a</title><slash:comments>12</slash:comments></item>
            <item><title>b</title></item>
            <item><title>c</title><slash:comments> 1,234 </slash:comments></item>
            </channel></rss>"#;
        let got = scan_xml(rss, &Engagement::default());
        let comments: Vec<_> = got.iter().map(|c| c.counts.comments).collect();
        assert_eq!(comments, [Some(12), None, Some(1234)]);
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
            <entry><id>1</id><thr:total>7</thr:total></entry></feed>"#;
        assert_eq!(
            scan_xml(atom, &Engagement::default())[0].counts.comments,
            Some(7)
        );
    }

    #[test]
    fn configured_fields_read_text_or_attributes_and_win_over_builtins() {
        let atom = br#"<feed><entry><id>1</id>
            <media:group><media:community><media:starRating count="15020" average="4.95"/>
            <media:statistics views="304321"/></media:community></media:group>
            <hn:score>88</hn:score><slash:comments>3</slash:comments><my:comments>9</my:comments>
            </entry><entry/></feed>"#;
        let got = scan_xml(
            atom,
            &wanted(Some("media:starRating@count"), Some("my:comments")),
        );
        let counts: Vec<Counts> = got.iter().map(|s| s.counts.clone()).collect();
        assert_eq!(
            counts,
            [
                Counts {
                    upvotes: Some(15020),
                    comments: Some(9),
                    discussion: None,
                },
                Counts::default()
            ]
        );
        let got = scan_xml(atom, &wanted(Some("score"), None));
        assert_eq!(got[0].counts.upvotes, Some(88));
        assert_eq!(got[0].counts.comments, Some(3));
        let text = std::str::from_utf8(atom).unwrap();
        assert!(text[got[0].range.clone()].starts_with("<entry><id>1</id>"));
        assert!(text[got[0].range.clone()].ends_with("</entry>"));
        assert_eq!(&text[got[1].range.clone()], "<entry/>");
    }

    #[test]
    fn rss_comments_is_the_discussion_link_and_slash_comments_still_the_count() {
        // Matching `comments` by local name would read `slash:comments` as a link, or the link
        // as a count.
        let rss = br#"<rss xmlns:slash="http://purl.org/rss/1.0/modules/slash/"><channel>
            <item><slash:comments>4</slash:comments>
            <comments>https://news.example/item?id=1&amp;p=2</comments></item>
            <item><title>b</title></item></channel></rss>"#;
        let got = scan_xml(rss, &Engagement::default());
        assert_eq!(got[0].counts.comments, Some(4));
        assert_eq!(
            got[0].counts.discussion.as_deref(),
            Some("https://news.example/item?id=1&p=2")
        );
        assert_eq!(got[1].counts.discussion, None);
    }

    #[test]
    fn malformed_xml_stops_the_scan_without_panicking() {
        let got = scan_xml(
            b"<rss><channel><item><slash:comments>2</item><item>",
            &Engagement::default(),
        );
        assert!(got.len() <= 1, "{got:?}");
        assert!(scan_xml(b"\xff\xfe<\x00", &Engagement::default()).is_empty());
    }

    #[test]
    fn json_feed_paths_are_read() {
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","items":[
            {"id":"1","_reddit":{"score":42,"comments":"5"}},{"id":"2"}]}"#;
        let got = scan_json(
            json,
            &wanted(Some("_reddit.score"), Some("_reddit.comments")),
        );
        assert_eq!(
            got,
            [
                Counts {
                    upvotes: Some(42),
                    comments: Some(5),
                    discussion: None,
                },
                Counts::default()
            ]
        );
    }
}
