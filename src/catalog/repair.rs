//! Repairs for documents feed-rs refuses or misreads although they are readable, each a rewrite
//! of the XML that keeps everything else byte for byte:
//!
//! - an `<rss>` root without a version feed-rs knows (`<rss>`, `0.93`, `2.00`) is declared 2.0;
//! - RSS 0.90 (`rdf:RDF` in the Netscape namespace) is put in the RSS 1.0 namespace, and an RSS
//!   0.90/1.0 item that names its page only in `rdf:about` gets that as its `<link>`;
//! - Atom 0.3 (`http://purl.org/atom/ns#`) is rewritten as Atom 1.0: its namespace, `issued` →
//!   `published`, `modified` → `updated`, `tagline` → `subtitle`, `copyright` → `rights`, and
//!   MIME types of text constructs (`text/plain` → `text` …);
//! - a feed-level element feed-rs cannot read (a `<rights>` of a binary type) is dropped
//!   ([`drop_element`]);
//! - a feed with one item feed-rs cannot read is re-read item by item ([`split`]);
//! - a bare `&` (`Fish & Chips`), which XML forbids but many feeds write, is escaped
//!   ([`ampersands`]): without it the whole document was refused.

use std::ops::Range;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};

/// RSS versions feed-rs dispatches on.
const KNOWN_RSS: &[&str] = &["2.0", "0.91", "0.92", ""];

/// Most bytes the item-by-item reading may copy (items × what lies outside them).
const MAX_SPLIT_BYTES: usize = 64 << 20;

/// The namespace of RSS 0.90, and that of RSS 1.0 which feed-rs reads.
const RSS_0_90: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS_1_0: &str = "http://purl.org/rss/1.0/";

/// The namespace of Atom 0.3, and that of Atom 1.0 which feed-rs reads.
const ATOM_0_3: &str = "http://purl.org/atom/ns#";
const ATOM_1_0: &str = "http://www.w3.org/2005/Atom";

/// Atom 0.3 elements renamed to their Atom 1.0 equivalents.
const ATOM_0_3_NAMES: &[(&str, &str)] = &[
    ("issued", "published"),
    ("modified", "updated"),
    ("tagline", "subtitle"),
    ("copyright", "rights"),
];

/// Atom 0.3 text constructs (by their Atom 1.0 names) and the MIME types they may declare.
const ATOM_TEXTS: &[&str] = &["title", "subtitle", "summary", "content", "rights"];
const ATOM_0_3_TYPES: &[(&str, &str)] = &[
    ("text/plain", "text"),
    ("text/html", "html"),
    ("application/xhtml+xml", "xhtml"),
];

/// The document with every repair that applies to it, or `None` if none does.
pub fn all(doc: &[u8]) -> Option<Vec<u8>> {
    let root = root(doc)?;
    match root.local_name().as_ref() {
        "rss" => rss_version(doc),
        "RDF" => rdf(doc),
        "feed" => atom_0_3(doc),
        _ => None,
    }
}

/// The document with every `&` that starts no character or entity reference escaped as
/// `&amp;`, outside CDATA sections and comments (where `&` is literal); `None` if there is none.
pub fn ampersands(doc: &[u8]) -> Option<Vec<u8>> {
    let is_reference = |rest: &[u8]| {
        let end = rest.iter().take(34).position(|&b| b == b';');
        let Some(name) = end.map(|e| &rest[1..e]) else {
            return false;
        };
        match name {
            [b'#', b'x' | b'X', hex @ ..] => {
                !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit)
            }
            [b'#', digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
            [first, ..] => {
                first.is_ascii_alphabetic()
                    && name
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
            }
            [] => false,
        }
    };
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < doc.len() {
        let rest = &doc[i..];
        let skip = [(&b"<![CDATA["[..], &b"]]>"[..]), (b"<!--", b"-->")]
            .into_iter()
            .find(|(open, _)| rest.starts_with(open))
            .map(|(open, close)| {
                let body = &rest[open.len()..];
                open.len()
                    + body
                        .windows(close.len())
                        .position(|w| w == close)
                        .map_or(body.len(), |p| p + close.len())
            });
        if let Some(n) = skip {
            if let Some(out) = &mut out {
                out.extend_from_slice(&rest[..n]);
            }
            i += n;
            continue;
        }
        if doc[i] == b'&' && !is_reference(rest) {
            out.get_or_insert_with(|| doc[..i].to_vec())
                .extend_from_slice(b"&amp;");
        } else if let Some(out) = &mut out {
            out.push(doc[i]);
        }
        i += 1;
    }
    out
}

/// The document's root element.
fn root(doc: &[u8]) -> Option<BytesStart<'_>> {
    let mut reader = quick_xml::Reader::from_reader(doc);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => return Some(e),
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// The byte offset of `reader` in its document.
fn position(reader: &quick_xml::Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

/// A copy of `doc` in which `edit` may replace any tag (start, end or empty element) with other
/// text, up to the first XML error (the rest is copied as is: feed-rs will say what is wrong
/// there); `None` if it replaced none.
fn retag(doc: &[u8], mut edit: impl FnMut(&Event<'_>) -> Option<String>) -> Option<Vec<u8>> {
    let mut reader = quick_xml::Reader::from_reader(doc);
    reader.config_mut().check_end_names = false;
    let mut out = Vec::new();
    let mut copied = 0;
    loop {
        let before = position(&reader);
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(event) => event,
        };
        if let Some(tag) = edit(&event) {
            out.extend_from_slice(doc.get(copied..before)?);
            out.extend_from_slice(tag.as_bytes());
            copied = position(&reader);
        }
    }
    if copied == 0 {
        return None;
    }
    out.extend_from_slice(doc.get(copied..)?);
    Some(out)
}

/// A start (or empty) tag named `name` with `attributes`, their values kept as written.
fn tag<'a>(
    name: &str,
    attributes: impl IntoIterator<Item = (&'a str, &'a str)>,
    empty: bool,
) -> String {
    let mut tag = format!("<{name}");
    for (key, value) in attributes {
        let quote = if value.contains('"') { '\'' } else { '"' };
        tag.push_str(&format!(" {key}={quote}{value}{quote}"));
    }
    tag.push_str(if empty { "/>" } else { ">" });
    tag
}

/// `name` with its prefix (if any) and `local` as local name.
fn renamed(prefix: Option<&str>, local: &str) -> String {
    match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_string(),
    }
}

/// The document with its `<rss>` root declared `version="2.0"`, if its version is one feed-rs
/// does not know; `None` otherwise.
pub fn rss_version(doc: &[u8]) -> Option<Vec<u8>> {
    let mut seen_root = false;
    retag(doc, |event| {
        let (Event::Start(root) | Event::Empty(root)) = event else {
            return None;
        };
        if std::mem::replace(&mut seen_root, true) || root.name().as_ref() != "rss" {
            return None;
        }
        let attributes: Vec<Attribute<'_>> = root.attributes().flatten().collect();
        let version = attributes.iter().find(|a| a.key.as_ref() == "version");
        if version.is_some_and(|v| KNOWN_RSS.contains(&v.value.trim())) {
            return None;
        }
        let others = attributes.iter().filter(|a| a.key.as_ref() != "version");
        let attributes = std::iter::once(("version", "2.0"))
            .chain(others.map(|a| (a.key.as_ref(), a.value.as_ref())));
        Some(tag("rss", attributes, matches!(event, Event::Empty(_))))
    })
}

/// RSS 0.90 and 1.0 (`rdf:RDF` roots): the Netscape 0.90 namespace becomes RSS 1.0's, and each
/// item (a child of the root) with an `rdf:about` but no `<link>` gets one. `None` when neither
/// applies.
fn rdf(doc: &[u8]) -> Option<Vec<u8>> {
    let unlinked = unlinked_rdf_items(doc);
    let (mut depth, mut item) = (0usize, 0usize);
    retag(doc, |event| {
        let (start, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                depth -= 1;
                return None;
            }
            _ => return None,
        };
        depth += usize::from(!empty);
        let netscape = start.attributes().flatten().any(|a| a.value == RSS_0_90);
        let is_item = depth == 2 - usize::from(empty) && start.local_name().as_ref() == "item";
        let link = match is_item {
            true => {
                item += 1;
                unlinked.get(&(item - 1)).cloned()
            }
            false => None,
        };
        if !netscape && link.is_none() {
            return None;
        }
        let name = start.name();
        let attributes: Vec<Attribute<'_>> = start.attributes().flatten().collect();
        let pairs = attributes.iter().map(|a| {
            let value = if a.value == RSS_0_90 {
                RSS_1_0
            } else {
                a.value.as_ref()
            };
            (a.key.as_ref(), value)
        });
        let Some(about) = link else {
            return Some(tag(name.as_ref(), pairs, empty));
        };
        let link = renamed(name.prefix().as_ref().map(AsRef::as_ref), "link");
        let close = match empty {
            true => format!("</{}>", name.as_ref()),
            false => String::new(),
        };
        Some(format!(
            "{}<{link}>{about}</{link}>{close}",
            tag(name.as_ref(), pairs, false)
        ))
    })
}

/// The `rdf:about` of each item of an `rdf:RDF` document that has no `<link>`, by the item's
/// 0-based index among the root's `item` children.
fn unlinked_rdf_items(doc: &[u8]) -> std::collections::HashMap<usize, String> {
    let mut reader = quick_xml::Reader::from_reader(doc);
    reader.config_mut().check_end_names = false;
    let mut out = std::collections::HashMap::new();
    let (mut depth, mut items) = (0usize, 0usize);
    // (index, about, seen a link) of the item being read
    let mut current: Option<(usize, String, bool)> = None;
    let about = |e: &BytesStart<'_>| {
        e.attributes()
            .flatten()
            .find(|a| a.key.local_name().as_ref() == "about")
            .map(|a| a.value.trim().to_string())
            .filter(|a| !a.is_empty())
    };
    loop {
        let (start, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(_)) => {
                if depth == 2
                    && let Some((i, about, false)) = current.take()
                {
                    out.insert(i, about);
                }
                depth = depth.saturating_sub(1);
                continue;
            }
            Ok(Event::Eof) | Err(_) => return out,
            Ok(_) => continue,
        };
        let local = start.local_name();
        if depth == 1 && local.as_ref() == "item" {
            items += 1;
            match (about(&start), empty) {
                (Some(a), true) => {
                    out.insert(items - 1, a);
                }
                (Some(a), false) => current = Some((items - 1, a, false)),
                (None, _) => {}
            }
        } else if depth == 2
            && local.as_ref() == "link"
            && let Some((_, _, linked)) = &mut current
        {
            *linked = true;
        }
        depth += usize::from(!empty);
    }
}

/// Atom 0.3 rewritten as Atom 1.0 (see the module documentation); `None` for other documents.
fn atom_0_3(doc: &[u8]) -> Option<Vec<u8>> {
    let root = root(doc)?;
    let atom_prefix = root.name().prefix().map(|p| p.as_ref().to_string());
    let is_0_3 = root
        .attributes()
        .flatten()
        .any(|a| a.value == ATOM_0_3 || (a.key.as_ref() == "version" && a.value.trim() == "0.3"));
    if !is_0_3 {
        return None;
    }
    // The Atom 1.0 name of an element of the Atom namespace, if it has another name in 0.3.
    let rename = |name: quick_xml::name::QName<'_>| {
        let prefix = name.prefix();
        let prefix = prefix.as_ref().map(AsRef::as_ref);
        if prefix != atom_prefix.as_deref() {
            return None;
        }
        ATOM_0_3_NAMES
            .iter()
            .find(|(old, _)| *old == name.local_name().as_ref())
            .map(|(_, new)| renamed(prefix, new))
    };
    retag(doc, |event| {
        let (start, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => return rename(e.name()).map(|n| format!("</{n}>")),
            _ => return None,
        };
        let name = start.name();
        let new_name = rename(name);
        let local = new_name.as_deref().unwrap_or(name.as_ref());
        let local = local.rsplit(':').next().unwrap_or(local);
        let text_construct = ATOM_TEXTS.contains(&local);
        let attributes: Vec<Attribute<'_>> = start.attributes().flatten().collect();
        let mut changed = new_name.is_some();
        let pairs: Vec<(&str, &str)> = attributes
            .iter()
            .map(|a| {
                let mut value = a.value.as_ref();
                if value == ATOM_0_3 {
                    value = ATOM_1_0;
                } else if text_construct
                    && a.key.as_ref() == "type"
                    && let Some((_, new)) =
                        ATOM_0_3_TYPES.iter().find(|(old, _)| *old == value.trim())
                {
                    value = new;
                }
                changed |= value != a.value.as_ref();
                (a.key.as_ref(), value)
            })
            .collect();
        let name = new_name.unwrap_or_else(|| name.as_ref().to_string());
        changed.then(|| tag(&name, pairs, empty))
    })
}

/// The document without the element whose start tag ends at byte `at` (where feed-rs reports an
/// element it cannot read), or `None` if no element ends its start tag there.
pub fn drop_element(doc: &[u8], at: usize) -> Option<Vec<u8>> {
    let mut reader = quick_xml::Reader::from_reader(doc);
    reader.config_mut().check_end_names = false;
    let mut depth = 0usize;
    let mut found: Option<(usize, usize)> = None;
    loop {
        let before = position(&reader);
        match reader.read_event() {
            Ok(Event::Start(_)) => {
                depth += 1;
                if found.is_none() && position(&reader) == at {
                    found = Some((before, depth));
                }
            }
            Ok(Event::Empty(_)) if position(&reader) == at => {
                return Some([&doc[..before], &doc[at..]].concat());
            }
            Ok(Event::End(_)) => {
                if let Some((from, d)) = found
                    && d == depth
                {
                    return Some([&doc[..from], &doc[position(&reader)..]].concat());
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
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
    fn bare_ampersands_are_escaped_and_references_cdata_and_comments_kept() {
        let doc = "<t>Fish & Chips &amp; more &lt;3 &#38; &#x26; &nbsp; AT&T;</t>\
                   <![CDATA[a & b]]><!-- c & d --><u>&</u>";
        assert_eq!(
            text(ampersands(doc.as_bytes())).unwrap(),
            "<t>Fish &amp; Chips &amp; more &lt;3 &#38; &#x26; &nbsp; AT&T;</t>\
             <![CDATA[a & b]]><!-- c & d --><u>&amp;</u>"
        );
        assert_eq!(ampersands(b"<t>&amp; &lt;</t>"), None);
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
