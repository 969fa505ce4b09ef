//! Feed bytes → UTF-8 before parsing. The encoding comes from a byte-order mark, the UTF-16
//! shape of `<?`, or the XML declaration's `encoding` label (ISO-8859-1, Windows-1252, EUC-KR …);
//! the document is transcoded, its declaration relabelled `utf-8`, and any further `<?xml …?>`
//! declarations (not allowed past the start) removed. Doing this here, rather than leaving it to
//! the XML reader, means no declaration can make quick-xml 0.42 switch decoders mid-stream, which
//! panics (a long declaration, UTF-16, or a second declaration inside the document).

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// How far into the document the XML declaration is looked for.
const DECL_WINDOW: usize = 1024;

/// The document as UTF-8 with any byte-order mark removed. Invalid sequences become U+FFFD; a
/// document that declares no encoding and is not valid UTF-8 is read as Windows-1252, the most
/// common mistake.
pub fn to_utf8(bytes: &[u8]) -> Cow<'_, [u8]> {
    let (encoding, bom) = match bytes {
        [0xEF, 0xBB, 0xBF, ..] => (Some(UTF_8), 3),
        [0xFF, 0xFE, ..] => (Some(UTF_16LE), 2),
        [0xFE, 0xFF, ..] => (Some(UTF_16BE), 2),
        [0x3C, 0x00, 0x3F, 0x00, ..] => (Some(UTF_16LE), 0),
        [0x00, 0x3C, 0x00, 0x3F, ..] => (Some(UTF_16BE), 0),
        _ => (declared(bytes), 0),
    };
    let body = &bytes[bom..];
    let text: Cow<'_, str> = match encoding {
        // Declared or marked UTF-8, or undeclared and valid UTF-8: as is (lossy if invalid).
        Some(e) if e == UTF_8 => String::from_utf8_lossy(body),
        None => match std::str::from_utf8(body) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => WINDOWS_1252.decode_without_bom_handling(body).0,
        },
        Some(e) => e.decode_without_bom_handling(body).0,
    };
    let text = match relabel(&text) {
        Some(relabelled) => Cow::Owned(relabelled),
        None => text,
    };
    match drop_inner_declarations(&text) {
        Some(cleaned) => Cow::Owned(cleaned.into_bytes()),
        None => match text {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        },
    }
}

/// `text` without the `<?xml …?>` declarations that follow its first markup (outside comments and
/// CDATA sections, which the reader does not parse), or `None` if there are none.
fn drop_inner_declarations(text: &str) -> Option<String> {
    let first = declaration(text.as_bytes()).map_or(0, |(_, end)| end + 2);
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut at = first;
    while let Some(i) = text[at..].find('<').map(|i| at + i) {
        let rest = &text.as_bytes()[i..];
        let skip_to = |close: &str| {
            text[i..]
                .find(close)
                .map_or(text.len(), |j| i + j + close.len())
        };
        at = if rest.starts_with(b"<!--") {
            skip_to("-->")
        } else if rest.starts_with(b"<![CDATA[") {
            skip_to("]]>")
        } else if rest.len() >= 5
            && rest[..5].eq_ignore_ascii_case(b"<?xml")
            && rest
                .get(5)
                .is_none_or(|b| b.is_ascii_whitespace() || *b == b'?')
        {
            let end = skip_to("?>");
            cuts.push((i, end));
            end
        } else {
            i + 1
        };
    }
    if cuts.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (start, end) in cuts {
        out.push_str(&text[from..start]);
        from = end;
    }
    out.push_str(&text[from..]);
    Some(out)
}

/// The XML declaration at the start of `text` (after white space), as (start, end) byte offsets.
fn declaration(text: &[u8]) -> Option<(usize, usize)> {
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &text[start..text.len().min(start + DECL_WINDOW)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    Some((start, start + end))
}

/// The value of the `encoding` pseudo-attribute in a declaration, with its byte range.
fn encoding_label(decl: &[u8]) -> Option<(usize, usize)> {
    let at = decl.windows(8).position(|w| w == b"encoding")? + 8;
    let rest = &decl[at..];
    let eq = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    if rest[eq] != b'=' {
        return None;
    }
    let q = eq
        + 1
        + rest[eq + 1..]
            .iter()
            .position(|b| !b.is_ascii_whitespace())?;
    let quote = rest[q];
    if !matches!(quote, b'"' | b'\'') {
        return None;
    }
    let len = rest[q + 1..].iter().position(|&b| b == quote)?;
    Some((at + q + 1, at + q + 1 + len))
}

/// The ASCII-compatible encoding an ASCII-compatible document declares, if it names one.
fn declared(bytes: &[u8]) -> Option<&'static Encoding> {
    let (start, end) = declaration(bytes)?;
    let decl = &bytes[start..end];
    let (a, b) = encoding_label(decl)?;
    Encoding::for_label(&decl[a..b]).filter(|e| e.is_ascii_compatible())
}

/// `text` with its declaration's encoding label replaced by `utf-8`, unless it already says so
/// or has none.
fn relabel(text: &str) -> Option<String> {
    let (start, end) = declaration(text.as_bytes())?;
    let (a, b) = encoding_label(&text.as_bytes()[start..end])?;
    let label = &text[start + a..start + b];
    if label.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    Some(format!("{}utf-8{}", &text[..start + a], &text[start + b..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf8(bytes: &[u8]) -> String {
        String::from_utf8(to_utf8(bytes).into_owned()).unwrap()
    }

    #[test]
    fn declared_latin_encodings_are_transcoded_and_relabelled() {
        let mut doc = b"<?xml version='1.0' encoding = 'ISO-8859-1'?><t>caf".to_vec();
        doc.extend_from_slice(&[0xE9, b' ', 0x80, b'<', b'/', b't', b'>']);
        assert_eq!(
            utf8(&doc),
            "<?xml version='1.0' encoding = 'utf-8'?><t>café €</t>"
        );
        let mut doc = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><t>".to_vec();
        doc.extend_from_slice(&[0x93, b'q', 0x94, 0x85]);
        assert_eq!(
            utf8(&doc),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><t>\u{201c}q\u{201d}\u{2026}"
        );
    }

    #[test]
    fn declarations_inside_the_document_are_removed_but_not_from_cdata_or_comments() {
        let doc = "<?xml version=\"1.0\"?><rss><!-- <?xml x?> --><a><![CDATA[<?xml version=\"1.0\" encoding=\"latin1\"?>]]></a><?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><b/><?XML?></rss>";
        assert_eq!(
            utf8(doc.as_bytes()),
            "<?xml version=\"1.0\"?><rss><!-- <?xml x?> --><a><![CDATA[<?xml version=\"1.0\" encoding=\"latin1\"?>]]></a><b/></rss>"
        );
        assert_eq!(utf8(b"<a><?xml"), "<a>");
    }

    #[test]
    fn boms_and_utf16_shapes_are_recognized() {
        let text = "<?xml version=\"1.0\" encoding=\"utf-16\"?><t>ü</t>";
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let want = text.replace("utf-16", "utf-8");
        assert_eq!(utf8(&[&[0xFE, 0xFF][..], &be].concat()), want);
        assert_eq!(utf8(&[&[0xFF, 0xFE][..], &le].concat()), want);
        assert_eq!(utf8(&be), want);
        assert_eq!(utf8(&le), want);
        assert_eq!(utf8(b"\xEF\xBB\xBF<t/>"), "<t/>");
    }

    #[test]
    fn utf8_passes_through_and_undeclared_invalid_bytes_read_as_windows_1252() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>ü</t>".as_bytes();
        assert!(matches!(to_utf8(doc), Cow::Borrowed(_)));
        assert_eq!(utf8(b"<t>\x93hi\x94</t>"), "<t>\u{201c}hi\u{201d}</t>");
        assert_eq!(
            utf8(b"<?xml version=\"1.0\" encoding=\"utf-8\"?><t>\xff</t>"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><t>\u{fffd}</t>"
        );
        // An unknown or UTF-16 label on ASCII bytes is ignored, not obeyed.
        assert_eq!(
            utf8(b"<?xml version=\"1.0\" encoding=\"bogus\"?><t/>"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><t/>"
        );
    }
}
