//! Repairs for documents feed-rs refuses as a whole although they are readable: an `<rss>` root
//! without a version it knows (`<rss>`, `0.93`, `2.00`), and a feed with one item it cannot read
//! (an unknown `type`, an empty HTML summary), which is re-read item by item so the others load.

use std::ops::Range;

use quick_xml::events::Event;

/// RSS versions feed-rs dispatches on.
const KNOWN_RSS: &[&str] = &["2.0", "0.91", "0.92", ""];

/// Most bytes the item-by-item reading may copy (items × what lies outside them).
const MAX_SPLIT_BYTES: usize = 64 << 20;

/// The document with its `<rss>` root declared `version="2.0"`, if it has an `rss` root whose
/// version feed-rs does not know; `None` otherwise.
pub fn rss_version(doc: &[u8]) -> Option<Vec<u8>> {
    let mut reader = quick_xml::Reader::from_reader(doc);
    loop {
        let before = usize::try_from(reader.buffer_position()).ok()?;
        let (root, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => continue,
        };
        if root.name().as_ref() != "rss" {
            return None;
        }
        let attributes: Vec<_> = root.attributes().flatten().collect();
        let version = attributes
            .iter()
            .find(|a| a.key.as_ref() == "version")
            .map(|a| a.value.trim().to_string());
        if version.as_deref().is_some_and(|v| KNOWN_RSS.contains(&v)) {
            return None;
        }
        let mut tag = String::from("<rss version=\"2.0\"");
        for a in attributes.iter().filter(|a| a.key.as_ref() != "version") {
            let quote = if a.value.contains('"') { '\'' } else { '"' };
            tag.push_str(&format!(" {}={quote}{}{quote}", a.key.as_ref(), a.value));
        }
        tag.push_str(if empty { "/>" } else { ">" });
        let after = usize::try_from(reader.buffer_position()).ok()?;
        return Some([&doc[..before], tag.as_bytes(), &doc[after..]].concat());
    }
}

/// The document without its items (`skeleton`), and one document per item: the skeleton with
/// only that item, where the first item stood. `None` when that would copy too much.
pub fn split(doc: &[u8], items: &[Range<usize>]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let first = items.first()?.start;
    let mut suffix = Vec::new();
    let mut at = first;
    for r in items {
        suffix.extend_from_slice(doc.get(at..r.start)?);
        at = r.end;
    }
    suffix.extend_from_slice(doc.get(at..)?);
    let prefix = &doc[..first];
    let outside = prefix.len() + suffix.len();
    if outside.saturating_mul(items.len()) > MAX_SPLIT_BYTES {
        return None;
    }
    let singles = items
        .iter()
        .map(|r| Some([prefix, doc.get(r.clone())?, &suffix].concat()))
        .collect::<Option<_>>()?;
    Some(([prefix, &suffix].concat(), singles))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: Option<Vec<u8>>) -> Option<String> {
        bytes.map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn unknown_rss_versions_become_2_0_and_known_ones_stay() {
        assert_eq!(
            text(rss_version(
                b"<?xml version=\"1.0\"?>\n<!-- c --><rss><channel/></rss>"
            )),
            Some("<?xml version=\"1.0\"?>\n<!-- c --><rss version=\"2.0\"><channel/></rss>".into())
        );
        assert_eq!(
            text(rss_version(b"<rss version='0.93' xmlns:dc='http://purl.org/dc/elements/1.1/'><channel/></rss>")),
            Some("<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel/></rss>".into())
        );
        assert_eq!(rss_version(b"<rss version=\"2.0\"><channel/></rss>"), None);
        assert_eq!(rss_version(b"<feed><entry/></feed>"), None);
        assert_eq!(rss_version(b"not xml"), None);
    }

    #[test]
    fn split_keeps_what_lies_outside_the_items() {
        let doc = b"<rss><channel><title>t</title><item>1</item><item>2</item><x/></channel></rss>";
        let (skeleton, singles) = split(doc, &[30..44, 44..58]).unwrap();
        assert_eq!(
            skeleton,
            b"<rss><channel><title>t</title><x/></channel></rss>"
        );
        assert_eq!(
            singles[0],
            b"<rss><channel><title>t</title><item>1</item><x/></channel></rss>"
        );
        assert_eq!(
            singles[1],
            b"<rss><channel><title>t</title><item>2</item><x/></channel></rss>"
        );
        assert_eq!(split(doc, &[]), None);
        assert_eq!(split(doc, &[30..44, 44..500]), None);
    }
}
