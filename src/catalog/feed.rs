//! RSS 0.9x/1.0/2.0, Atom and JSON Feed documents → articles, with feed-rs.
//!
//! Parsing starts from the raw bytes, made UTF-8 by [`charset`] (so the encoding of the XML
//! declaration is honoured) and repaired where feed-rs would refuse a readable document
//! ([`repair`]). Each item becomes an [`Item`] or a skip reason: an http(s) link is required (the item's alternate
//! link, else a GUID that is a URL); HTML titles and summaries are reduced to plain text; the
//! publication date is `published`, else `updated`, else none (the item is stored undated and no
//! period selects it). The GUID is kept as identity only when the feed gave one and it is unique
//! in the document; feed-rs's generated ids are never used.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use feed_rs::model::{self, Entry, FeedType};

use super::engagement::{self, Counts};
use super::{charset, dates, html, repair};
use crate::config::{Source, Unmapped};
use crate::model::article::{bounded_url, discussion_url};
use crate::model::{Article, Item, Kind, MAX_SUMMARY, MAX_TITLE, Publisher, canonical, tag};
use crate::text::one_line;

/// Longest GUID kept as identity.
const MAX_GUID: usize = 1000;
/// Most tags kept per item (hostile feeds list hundreds of categories).
const MAX_TAGS: usize = 50;
/// Longest tag kept.
const MAX_TAG: usize = 100;

/// How many feed-level elements feed-rs cannot read are dropped before a document is refused.
const MAX_DROPPED: usize = 8;

/// What a feed document yielded. Every entry of the document is accounted for: it is in `items`
/// or in `skipped`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// Items that became articles, with their GUID (RSS `guid`, Atom `id`, JSON Feed `id`)
    /// when stable: given by the feed and unique in it.
    pub items: Vec<Item>,
    /// Items that did not, each with its position and reason.
    pub skipped: Vec<String>,
    /// How many of `items` have no date.
    pub undated: usize,
}

impl Parsed {
    /// The entries of the document: stored plus skipped.
    pub fn entries(&self) -> usize {
        self.items.len() + self.skipped.len()
    }
}

/// Why a document is not a usable feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FeedError {
    message: String,
    /// Whether the failure may lie in one item (a content problem or a JSON field of the wrong
    /// type, not broken XML or JSON syntax).
    per_item: bool,
    /// Where feed-rs found the element it could not read: the end of its start tag.
    position: Option<usize>,
}

impl FeedError {
    fn new(message: String) -> FeedError {
        FeedError {
            message,
            per_item: false,
            position: None,
        }
    }
}

/// One entry of a document on its way to an [`Item`]: its 0-based position in the document and
/// its engagement counts.
struct Entered<'a> {
    position: usize,
    entry: &'a Entry,
    counts: Counts,
}

/// Parses the feed document `bytes` of `source`; `base` (the URL it came from) resolves relative
/// links. Documents feed-rs misreads are repaired first ([`repair`]); a document it refuses
/// because of one item is read again item by item, so only that item is skipped.
pub fn parse(bytes: &[u8], base: Option<&str>, source: &Source) -> Result<Parsed, FeedError> {
    let utf8 = charset::to_utf8(bytes);
    if utf8.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return json(&utf8, base, source);
    }
    let utf8 = repair::ampersands(&utf8).map_or(utf8, Cow::Owned);
    match repair::all(&utf8) {
        Some(repaired) => xml(repaired, base, source),
        None => xml(utf8.into_owned(), base, source),
    }
}

/// An XML feed (RSS, Atom). Entries are counted independently of feed-rs (every `<item>` and
/// `<entry>`); when feed-rs refuses the document over one item, or returns fewer entries than
/// the document has, each item is read alone so that every one is stored or skipped with a
/// reason. A feed-level element it cannot read is dropped.
fn xml(mut doc: Vec<u8>, base: Option<&str>, source: &Source) -> Result<Parsed, FeedError> {
    let mut dropped = 0;
    loop {
        let scanned = engagement::scan_xml(&doc, &source.feed.engagement);
        let error = match read(&doc, base) {
            Ok(feed) if feed.entries.len() >= scanned.len() => {
                let aligned = feed.entries.len() == scanned.len();
                let entered = feed
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(position, entry)| Entered {
                        position,
                        entry,
                        counts: scanned
                            .get(position)
                            .filter(|_| aligned)
                            .map_or_else(Counts::default, |s| s.counts.clone()),
                    });
                let mut parsed = Parsed::default();
                add(&mut parsed, &feed, entered.collect(), source);
                return Ok(parsed);
            }
            Ok(_) => None,
            Err(e) => Some(e),
        };
        let outside_items = |at: &usize| !scanned.iter().any(|s| s.range.contains(at));
        if let Some(e) = &error
            && e.per_item
            && dropped < MAX_DROPPED
            && let Some(at) = e.position.filter(outside_items)
            && let Some(without) = repair::drop_element(&doc, at)
        {
            dropped += 1;
            doc = without;
            continue;
        }
        return by_item(&doc, &scanned, base, source, error);
    }
}

/// Reads each scanned item of `doc` alone (see [`repair::split`]). `error` is why the whole
/// document could not be read (`None`: it was read, but some items were missing).
fn by_item(
    doc: &[u8],
    scanned: &[engagement::Scanned],
    base: Option<&str>,
    source: &Source,
    error: Option<FeedError>,
) -> Result<Parsed, FeedError> {
    let error = error.unwrap_or_else(|| FeedError {
        per_item: true,
        ..FeedError::new("the feed parser read fewer items than the document has".into())
    });
    if !error.per_item {
        return Err(error);
    }
    let ranges: Vec<_> = scanned.iter().map(|s| s.range.clone()).collect();
    let Some((skeleton, singles)) = repair::split(doc, &ranges) else {
        return Err(error);
    };
    let Ok(mut feed) = read(&skeleton, base) else {
        return Err(error);
    };
    // Entries outside the scanned items (none in practice) are in every single document too.
    let outside = std::mem::take(&mut feed.entries);
    let mut parsed = Parsed::default();
    let mut found: Vec<(usize, Counts)> = Vec::new();
    for (i, single) in singles.iter().enumerate() {
        match read(single, base) {
            Ok(mut one) => {
                one.entries.retain(|e| !outside.contains(e));
                if one.entries.is_empty() {
                    parsed.skipped.push(format!(
                        "item {}: not read as an item by the feed parser (it has no link, or \
                         stands where the format has no items)",
                        i + 1
                    ));
                }
                found.extend(std::iter::repeat_n(
                    (i, scanned[i].counts.clone()),
                    one.entries.len(),
                ));
                feed.entries.extend(one.entries);
            }
            Err(e) => parsed.skipped.push(format!("item {}: {e}", i + 1)),
        }
    }
    let outside_found = (0..outside.len()).map(|k| (scanned.len() + k, Counts::default()));
    let entered = feed
        .entries
        .iter()
        .chain(&outside)
        .zip(found.into_iter().chain(outside_found))
        .map(|(entry, (position, counts))| Entered {
            position,
            entry,
            counts,
        })
        .collect();
    add(&mut parsed, &feed, entered, source);
    Ok(parsed)
}

/// The JSON Feed `doc` with its `version` written as feed-rs reads it
/// (`https://jsonfeed.org/version/1` or `…/1.1`), or `None` if it is already (or is no version
/// of JSON Feed 1). Only the top-level field changes: an item that quotes the URL is left alone.
fn json_version(doc: &[u8]) -> Option<Vec<u8>> {
    let mut value: serde_json::Value = serde_json::from_slice(doc).ok()?;
    let written = value.get("version")?.as_str()?;
    let number = written
        .strip_prefix("http://jsonfeed.org/version/")
        .or_else(|| written.strip_prefix("https://jsonfeed.org/version/"))
        .unwrap_or(written);
    let canonical = match number {
        "1" | "1.0" => "https://jsonfeed.org/version/1",
        "1.1" => "https://jsonfeed.org/version/1.1",
        _ => return None,
    };
    if written == canonical {
        return None;
    }
    value["version"] = canonical.into();
    serde_json::to_vec(&value).ok()
}

/// A JSON Feed. Its version may be written with `http:` (as many feeds do) or as a bare number
/// (`1.0`, `1.1`); an item feed-rs cannot read (a field of the wrong type) is skipped, the others
/// load.
fn json(doc: &[u8], base: Option<&str>, source: &Source) -> Result<Parsed, FeedError> {
    let doc = json_version(doc).map_or(Cow::Borrowed(doc), Cow::Owned);
    let counts = engagement::scan_json(&doc, &source.feed.engagement);
    let mut parsed = Parsed::default();
    let error = match read(&doc, base) {
        Ok(feed) => {
            let at: Vec<(usize, Counts)> = (0..feed.entries.len())
                .map(|p| (p, counts.get(p).cloned().unwrap_or_default()))
                .collect();
            add_at(&mut parsed, &feed, &at, source);
            return Ok(parsed);
        }
        Err(e) if e.per_item => e,
        Err(e) => return Err(e),
    };
    // Read item by item: the feed without items, then with each one alone.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&doc) else {
        return Err(error);
    };
    let Some(items) = value.get("items").and_then(serde_json::Value::as_array) else {
        return Err(error);
    };
    let with_items = |items: &[serde_json::Value]| {
        let mut value = value.clone();
        value["items"] = items.to_vec().into();
        serde_json::to_vec(&value).unwrap_or_default()
    };
    let Ok(mut feed) = read(&with_items(&[]), base) else {
        return Err(error);
    };
    let mut at = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match read(&with_items(std::slice::from_ref(item)), base) {
            Ok(one) => {
                let n = one.entries.len();
                at.extend(std::iter::repeat_n(
                    (i, counts.get(i).cloned().unwrap_or_default()),
                    n,
                ));
                feed.entries.extend(one.entries);
            }
            Err(e) => {
                // The position serde names is in the one-item document, not the feed.
                let reason = e.message.split(" at line ").next().unwrap_or_default();
                let reason = reason
                    .strip_prefix("malformed JSON Feed: ")
                    .unwrap_or(reason);
                parsed
                    .skipped
                    .push(format!("item {}: unreadable: {reason}", i + 1));
            }
        }
    }
    add_at(&mut parsed, &feed, &at, source);
    Ok(parsed)
}

/// [`add`] for the entries of `feed` in order, at these (position, counts).
fn add_at(parsed: &mut Parsed, feed: &model::Feed, at: &[(usize, Counts)], source: &Source) {
    let entered = feed
        .entries
        .iter()
        .zip(at)
        .map(|(entry, (position, counts))| Entered {
            position: *position,
            entry,
            counts: counts.clone(),
        })
        .collect();
    add(parsed, feed, entered, source);
}

/// Adds the `entered` entries of `feed`. Links that differ only by their fragment keep it (the
/// fragment is then what tells the items apart); a later item with the same link as an earlier
/// one is skipped as a duplicate, never merged into it.
fn add(parsed: &mut Parsed, feed: &model::Feed, entered: Vec<Entered<'_>>, source: &Source) {
    let rss = matches!(
        feed.feed_type,
        FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2
    );
    let publisher = publisher(feed, rss, source);
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for e in &entered {
        *ids.entry(e.entry.id.trim()).or_default() += 1;
    }
    let links: Vec<Result<&str, String>> = entered.iter().map(|e| link(e.entry)).collect();
    let mut first_at: HashMap<String, usize> = HashMap::new();
    for (e, url) in entered.iter().zip(urls(&links)) {
        let n = e.position + 1;
        let url = url.and_then(|url| match first_at.get(&url) {
            Some(m) => Err(format!("same link as item {m} ({url}): a duplicate")),
            None => {
                first_at.insert(url.clone(), n);
                Ok(url)
            }
        });
        let id = e.entry.id.trim();
        let guid = (!id.is_empty() && id.len() <= MAX_GUID && ids[id] == 1).then(|| id.to_string());
        let url = url.and_then(|url| bounded_url(url).map_err(|e| format!("link {e}")));
        let discussion = discussion(e.entry, &e.counts);
        match url.and_then(|url| article(e.entry, url, rss, &publisher, source, &e.counts)) {
            Ok(article) => {
                parsed.undated += usize::from(article.published_at.is_none());
                parsed.items.push(Item {
                    article,
                    guid,
                    discussion,
                });
            }
            Err(reason) => {
                let title = e
                    .entry
                    .title
                    .as_ref()
                    .map(|t| one_line(&t.content, 60))
                    .filter(|t| !t.is_empty())
                    .map_or(String::new(), |t| format!(" ({t:?})"));
                parsed.skipped.push(format!("item {n}{title}: {reason}"));
            }
        }
    }
}

/// The canonical URL of each link: without its fragment, unless another link of the document
/// differs from it only by the fragment, in which case both keep theirs.
fn urls(links: &[Result<&str, String>]) -> Vec<Result<String, String>> {
    let forms: Vec<Result<(String, String), String>> = links
        .iter()
        .map(|l| {
            let l = l.as_deref().map_err(Clone::clone)?;
            let bare = canonical::canonicalize(l).map_err(|e| e.to_string())?;
            let full = canonical::canonicalize_keeping_fragment(l).map_err(|e| e.to_string())?;
            Ok((bare, full))
        })
        .collect();
    let mut fragments: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (bare, full) in forms.iter().flatten() {
        fragments.entry(bare).or_default().insert(full);
    }
    forms
        .iter()
        .map(|f| {
            let (bare, full) = f.as_ref().map_err(Clone::clone)?;
            Ok(match fragments[bare.as_str()].len() > 1 {
                true => full.clone(),
                false => bare.clone(),
            })
        })
        .collect()
}

/// Runs feed-rs on a UTF-8 document, with [`dates::parse`] for timestamps. Its generated ids
/// are disabled (an entry without one gets an empty id), and a panic inside it becomes an error,
/// so one hostile document cannot stop an ingest.
fn read(doc: &[u8], base: Option<&str>) -> Result<model::Feed, FeedError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(base)
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(dates::parse)
        .build();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(doc))) {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(e)) => Err(describe(e, doc)),
        Err(_) => Err(FeedError::new(
            "the feed parser crashed on this document".into(),
        )),
    }
}

/// A clear message for a feed-rs failure, saying what the document looks like.
fn describe(e: feed_rs::parser::ParseFeedError, doc: &[u8]) -> FeedError {
    use feed_rs::parser::{ParseErrorKind as K, ParseFeedError as E};
    let per_item = match &e {
        E::ParseError(kind) => !matches!(kind, K::NoFeedRoot),
        E::JsonSerde(_) => true,
        _ => false,
    };
    let position = match &e {
        E::ParseError(
            K::UnknownMimeType { position, .. }
            | K::MissingContent { position, .. }
            | K::UnknownEnumVariant { position, .. }
            | K::IllegalState { position, .. },
        ) => usize::try_from(*position).ok(),
        _ => None,
    };
    let message = match e {
        _ if doc.iter().all(u8::is_ascii_whitespace) => "empty document".into(),
        E::ParseError(K::NoFeedRoot) => match looks_like(doc) {
            root if root == "root element <rss>" => {
                "an RSS document without a <channel> (no feed title, no items)".into()
            }
            other => format!("no RSS, Atom or JSON feed found ({other})"),
        },
        E::XmlReader(x) => format!("malformed XML: {x}"),
        E::JsonSerde(j) => format!("malformed JSON Feed: {j}"),
        E::JsonUnsupportedVersion(v) => format!("unsupported JSON Feed version {v:?}"),
        E::ParseError(kind) => format!("unreadable content: {kind}"),
        E::IoError(io) => format!("unreadable: {io}"),
    };
    FeedError {
        message,
        per_item,
        position,
    }
}

/// What a document that is not a feed is: its root element, or how it starts.
fn looks_like(doc: &[u8]) -> String {
    let mut reader = quick_xml::Reader::from_reader(doc);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                return format!("root element <{}>", one_line(e.name().as_ref(), 40));
            }
            Ok(quick_xml::events::Event::Text(t)) if !t.trim().is_empty() => break,
            Ok(quick_xml::events::Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let start = String::from_utf8_lossy(&doc[..doc.len().min(200)]);
    format!("it starts {:?}", one_line(&start, 40))
}

/// The publisher of every item: the configured name and avatar, else the feed's.
fn publisher(feed: &model::Feed, rss: bool, source: &Source) -> Publisher {
    let settings = &source.feed;
    let name = settings.display_name.clone().or_else(|| {
        feed.title
            .as_ref()
            .map(|t| one_line(&title(t, rss), 100))
            .filter(|t| !t.is_empty())
    });
    let avatar = settings.avatar.clone().or_else(|| {
        [&feed.icon, &feed.logo]
            .into_iter()
            .flatten()
            .find_map(|image| {
                let url = canonical::parse_http(&image.uri).ok()?;
                bounded_url(url.into()).ok()
            })
    });
    Publisher {
        id: source.name.clone(),
        name: name.unwrap_or_else(|| source.name.clone()),
        avatar,
    }
}

/// The plain text of a feed text: HTML is reduced, plain text kept.
fn text(t: &model::Text) -> String {
    if t.content_type.as_str().contains("html") {
        html::to_text(&t.content)
    } else {
        t.content.clone()
    }
}

/// One entry as an article, or why not.
fn article(
    entry: &Entry,
    url: String,
    rss: bool,
    publisher: &Publisher,
    source: &Source,
    counts: &Counts,
) -> Result<Article, String> {
    let settings = &source.feed;
    let summary = summary(entry, rss);
    let title = entry
        .title
        .as_ref()
        .map(|t| one_line(&title(t, rss), MAX_TITLE))
        .filter(|t| !t.is_empty())
        .or_else(|| {
            entry
                .media
                .iter()
                .filter_map(|m| m.title.as_ref())
                .map(|t| one_line(&text(t), MAX_TITLE))
                .find(|t| !t.is_empty())
        })
        .or_else(|| Some(one_line(&summary, 100)).filter(|t| !t.is_empty()))
        .ok_or("no title and no text")?;
    let kind = settings.item_kind.unwrap_or_else(|| {
        if is_video(entry, &url) {
            Kind::Video
        } else {
            Kind::Article
        }
    });
    Ok(Article {
        summary: one_line(&summary, settings.summary_length),
        title,
        kind,
        publisher: publisher.clone(),
        tags: tags(entry, source),
        published_at: date(entry),
        upvotes: counts.upvotes.unwrap_or(0),
        comments: counts.comments.unwrap_or(0),
        url,
    })
}

/// Where an entry is discussed: its RSS `<comments>`, else its Atom `link rel="replies"` to an
/// HTML page (RFC 4685); http(s) only, anything else (or an over-long link) is dropped.
fn discussion(entry: &Entry, counts: &Counts) -> Option<String> {
    let replies = entry.links.iter().find(|l| {
        l.rel.as_deref() == Some("replies")
            && l.media_type.as_deref().is_none_or(|t| t.contains("html"))
    });
    let url = counts
        .discussion
        .as_deref()
        .or(replies.map(|l| l.href.as_str()));
    discussion_url(url).ok().flatten()
}

/// The link of an entry, as written: its first alternate link that is http(s), else its GUID if
/// that is an http(s) URL.
fn link(entry: &Entry) -> Result<&str, String> {
    let mut refused = None;
    let alternates = entry.links.iter().filter(|l| {
        l.target.is_none()
            && l.rel
                .as_deref()
                .is_none_or(|r| r.eq_ignore_ascii_case("alternate"))
    });
    for l in alternates {
        match canonical::canonicalize(&l.href) {
            Ok(_) => return Ok(&l.href),
            Err(e) => refused = refused.or(Some(format!("link {:?}: {e}", one_line(&l.href, 80)))),
        }
    }
    if canonical::canonicalize(&entry.id).is_ok() {
        return Ok(&entry.id);
    }
    Err(refused.unwrap_or_else(|| "no link".into()))
}

/// The plain text of an entry's title. RSS titles are plain text by the specification, but many
/// feeds escape markup into them: such a title that looks like HTML is reduced like one.
fn title(t: &model::Text, rss: bool) -> String {
    match rss && html::looks_like_html(&t.content) {
        true => html::to_text(&t.content),
        false => text(t),
    }
}

/// The entry's summary as plain text: its summary, else its content, else a media description.
/// RSS descriptions are HTML by convention.
fn summary(entry: &Entry, rss: bool) -> String {
    let html_or_text = |t: &model::Text| {
        if rss {
            html::to_text(&t.content)
        } else {
            text(t)
        }
    };
    let candidates = [
        entry.summary.as_ref().map(html_or_text),
        entry.content.as_ref().and_then(|c| {
            let body = c.body.as_deref()?;
            Some(match c.content_type.as_str().contains("html") {
                true => html::to_text(body),
                false => body.to_string(),
            })
        }),
        entry
            .media
            .iter()
            .find_map(|m| m.description.as_ref().map(text)),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|s| one_line(&s, MAX_SUMMARY))
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

/// `published`, else `updated`; `None` when the feed gives no parseable date.
fn date(entry: &Entry) -> Option<DateTime<Utc>> {
    entry.published.or(entry.updated)
}

/// The source's default tags plus the entry's categories, mapped by `tag_map`.
fn tags(entry: &Entry, source: &Source) -> Vec<String> {
    let settings = &source.feed;
    let mut out: Vec<String> = settings.tags.clone();
    for category in entry.categories.iter().take(MAX_TAGS) {
        let term = tag::normalize(&category.term);
        match settings.tag_map.get(&term) {
            Some(mapped) => out.extend(mapped.iter().cloned()),
            None if settings.unmapped == Unmapped::Keep => out.push(term),
            None => {}
        }
    }
    out.retain(|t| t.chars().count() <= MAX_TAG);
    let mut tags = tag::normalize_all(out.iter().map(String::as_str));
    tags.truncate(MAX_TAGS);
    tags
}

/// Hosts whose pages are videos.
const VIDEO_HOSTS: &[&str] = &[
    "youtube.com",
    "www.youtube.com",
    "m.youtube.com",
    "youtu.be",
    "vimeo.com",
];

/// Whether the entry is a video: a video enclosure or media content, or a video host's page.
fn is_video(entry: &Entry, url: &str) -> bool {
    let video_type = |t: &str| t.starts_with("video/") || t == "application/x-shockwave-flash";
    let media = entry.media.iter().flat_map(|m| &m.content).any(|c| {
        c.content_type
            .as_ref()
            .is_some_and(|t| video_type(t.as_str()))
    });
    let enclosure = entry.links.iter().any(|l| {
        l.rel.as_deref() == Some("enclosure") && l.media_type.as_deref().is_some_and(video_type)
    });
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .is_some_and(|h| VIDEO_HOSTS.contains(&h.as_str()));
    media || enclosure || host
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FeedSettings, Location};

    fn source(settings: FeedSettings) -> Source {
        Source {
            name: "blog".into(),
            kind: crate::config::SourceKind::Feed,
            location: Location::Url("https://blog.example/feed".into()),
            weight: 1.0,
            feed: settings,
        }
    }

    fn parse_ok(doc: &str) -> Parsed {
        parse(doc.as_bytes(), None, &source(FeedSettings::default())).unwrap()
    }

    const RSS: &str = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel><title>The &lt;Blog&gt;</title><link>https://blog.example/</link>
<item><title>First &amp; best</title><link>https://blog.example/1?utm_source=rss</link>
  <guid isPermaLink="false">post-1</guid>
  <description>&lt;p&gt;Hello &lt;b&gt;there&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;</description>
  <category>Distributed Systems</category><category>Rust</category>
  <pubDate>Tue, 02 Jul 2024 10:00:00 GMT</pubDate><slash:comments>5</slash:comments></item>
<item><title>No date</title><guid>https://blog.example/2</guid></item>
<item><title>Evil</title><link>javascript:alert(1)</link></item>
<item><description>no link at all</description></item>
</channel></rss>"#;

    #[test]
    fn rss_items_map_to_articles_and_bad_ones_are_skipped_with_reasons() {
        let p = parse_ok(RSS);
        assert_eq!(p.items.len(), 2, "{p:?}");
        let a = &p.items[0].article;
        assert_eq!(a.url, "https://blog.example/1");
        assert_eq!(a.title, "First & best");
        assert_eq!(a.summary, "Hello there");
        assert_eq!(a.tags, ["distributed-systems", "rust"]);
        assert_eq!(
            a.published_at.unwrap().to_rfc3339(),
            "2024-07-02T10:00:00+00:00"
        );
        assert_eq!(a.comments, 5);
        assert_eq!(a.publisher.id, "blog");
        assert_eq!(a.publisher.name, "The <Blog>");
        assert_eq!(p.items[0].guid.as_deref(), Some("post-1"));
        // A GUID that is a URL stands in for a missing link; the item is undated.
        let b = &p.items[1].article;
        assert_eq!(b.url, "https://blog.example/2");
        assert_eq!(b.published_at, None);
        assert_eq!(p.undated, 1);
        assert_eq!(
            p.skipped,
            [
                "item 3 (\"Evil\"): link \"javascript:alert(1)\": only http and https links are allowed, not `javascript:`",
                "item 4: no link",
            ]
        );
    }

    #[test]
    fn settings_name_tag_kind_and_length() {
        let mut settings = FeedSettings {
            display_name: Some("Blog".into()),
            tags: vec!["databases".into()],
            item_kind: Some(Kind::Video),
            unmapped: Unmapped::Drop,
            summary_length: 20,
            ..FeedSettings::default()
        };
        settings.tag_map.insert(
            "distributed-systems".into(),
            vec!["ds".into(), "systems".into()],
        );
        let doc = RSS.replace(
            "Hello",
            "A rather long first sentence of the post, then more",
        );
        let p = parse(doc.as_bytes(), None, &source(settings)).unwrap();
        let a = &p.items[0].article;
        assert_eq!(a.publisher.name, "Blog");
        assert_eq!(a.tags, ["databases", "ds", "systems"]);
        assert_eq!(a.kind, Kind::Video);
        assert_eq!(a.summary, "A rather long…");
    }

    #[test]
    fn generated_and_duplicate_ids_are_not_identity() {
        let doc = r#"<rss version="2.0"><channel><title>t</title>
            <item><title>a</title><link>https://x.example/a</link></item>
            <item><title>b</title><link>https://x.example/b</link><guid>same</guid></item>
            <item><title>c</title><link>https://x.example/c</link><guid>same</guid></item>
            </channel></rss>"#;
        let p = parse_ok(doc);
        assert!(p.items.iter().all(|i| i.guid.is_none()), "{p:?}");
    }

    #[test]
    fn atom_html_titles_alternate_links_and_updated_dates() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>f</id>
            <icon>https://a.example/icon.png</icon>
            <entry><id>tag:a,2024:1</id><title type="html">&lt;b&gt;Bold&lt;/b&gt; move</title>
            <link rel="replies" href="https://a.example/1/comments"/>
            <link rel="alternate" href="/1"/>
            <updated>2024-07-03T00:00:00Z</updated>
            <content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry></feed>"#;
        let p = parse(
            doc.as_bytes(),
            Some("https://a.example/feed.atom"),
            &source(FeedSettings::default()),
        )
        .unwrap();
        let a = &p.items[0].article;
        assert_eq!(a.title, "Bold move");
        assert_eq!(a.url, "https://a.example/1");
        assert_eq!(a.summary, "Body");
        assert_eq!(
            a.published_at.unwrap().to_rfc3339(),
            "2024-07-03T00:00:00+00:00"
        );
        assert_eq!(
            a.publisher.avatar.as_deref(),
            Some("https://a.example/icon.png")
        );
        assert_eq!(p.items[0].guid.as_deref(), Some("tag:a,2024:1"));
    }

    #[test]
    fn videos_are_recognized_by_media_and_host() {
        let doc = r#"<rss version="2.0"><channel><title>t</title>
            <item><title>clip</title><link>https://x.example/clip</link>
              <enclosure url="https://x.example/clip.mp4" type="video/mp4" length="1"/></item>
            <item><title>yt</title><link>https://www.youtube.com/watch?v=abc</link></item>
            <item><title>post</title><link>https://x.example/post</link></item>
            </channel></rss>"#;
        let kinds: Vec<Kind> = parse_ok(doc).items.iter().map(|i| i.article.kind).collect();
        assert_eq!(kinds, [Kind::Video, Kind::Video, Kind::Article]);
    }

    #[test]
    fn json_feed_items_map_too() {
        let doc = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J",
            "items":[{"id":"1","url":"https://j.example/1","content_html":"<p>Hi</p>",
            "date_published":"2024-07-04T00:00:00Z","tags":["Rust"]}]}"#;
        let p = parse_ok(doc);
        let a = &p.items[0].article;
        assert_eq!((a.title.as_str(), a.summary.as_str()), ("Hi", "Hi"));
        assert_eq!(a.tags, ["rust"]);
    }

    #[test]
    fn hostile_declarations_do_not_crash_the_parser() {
        let item = "<item><title>é</title><link>https://x.example/1</link></item>";
        let long_decl = format!(
            "<?xml version=\"1.0\"      encoding=\"ISO-8859-1\"     standalone=\"yes\"?>\n\
             <rss version=\"2.0\"><channel><title>t</title>{item}</channel></rss>"
        );
        let latin1: Vec<u8> = long_decl.chars().map(|c| c as u8).collect();
        assert_eq!(parse_ok_bytes(&latin1).items[0].article.title, "é");
        let mid = format!(
            "<rss version=\"2.0\"><channel><title>t</title>{}\
             <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{item}</channel></rss>",
            "<!-- padding -->".repeat(20)
        );
        assert_eq!(parse_ok_bytes(mid.as_bytes()).items.len(), 1);
    }

    #[test]
    fn one_unreadable_item_is_skipped_and_the_others_load() {
        let entry = |n: u32, extra: &str| {
            format!(
                "<entry><id>e{n}</id><title>T{n}</title><link href=\"https://a.example/{n}\"/>{extra}</entry>"
            )
        };
        let doc = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title>{}{}{}{}</feed>",
            entry(1, "<summary>ok</summary>"),
            entry(2, "<summary type=\"application/xhtml+xml\">x</summary>"),
            entry(3, "<title type=\"application/octet-stream\">eA==</title>"),
            entry(4, ""),
        );
        let p = parse_ok_bytes(doc.as_bytes());
        let urls: Vec<_> = p.items.iter().map(|i| i.article.url.as_str()).collect();
        assert_eq!(urls, ["https://a.example/1", "https://a.example/4"]);
        assert_eq!(p.items[0].article.publisher.name, "A");
        assert_eq!(p.skipped.len(), 2, "{:?}", p.skipped);
        assert!(
            p.skipped[0].starts_with(
                "item 2: unreadable content: unsupported content type application/xhtml+xml"
            ),
            "{:?}",
            p.skipped
        );
        assert!(
            p.skipped[1].starts_with(
                "item 3: unreadable content: unsupported content type application/octet-stream"
            ),
            "{:?}",
            p.skipped
        );
    }

    #[test]
    fn rss_without_a_known_version_is_read_as_rss_2() {
        let doc = "<rss><channel><title>t</title><item><title>a</title><link>https://x.example/a</link></item></channel></rss>";
        assert_eq!(parse_ok(doc).items[0].article.title, "a");
    }

    fn parse_ok_bytes(doc: &[u8]) -> Parsed {
        parse(doc, None, &source(FeedSettings::default())).unwrap()
    }

    #[test]
    fn documents_that_are_not_feeds_are_named_as_such() {
        let source = source(FeedSettings::default());
        let err = |doc: &str| {
            parse(doc.as_bytes(), None, &source)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("<!DOCTYPE html>\n<html><body>Hi</body></html>"),
            "no RSS, Atom or JSON feed found (root element <html>)"
        );
        assert_eq!(
            err("Hello,\n world"),
            "no RSS, Atom or JSON feed found (it starts \"Hello, world\")"
        );
        assert_eq!(err("  \n"), "empty document");
        assert!(
            err("{\"version\": 3").starts_with("malformed JSON Feed"),
            "{}",
            err("{")
        );
        assert!(
            err("<rss version=\"2.0\"><channel><item></rss>").starts_with("malformed XML"),
            "{}",
            err("<rss version=\"2.0\"><channel><item></rss>")
        );
    }
}
