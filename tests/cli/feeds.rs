//! Feed sources: the third-party corpora, encodings, identity and dedupe across feeds, and HTTP
//! fetching against a real local server.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use digest::catalog::{canonical, feed, html};
use digest::config::{FeedSettings, Location, Source, SourceKind};

/// A feed source for parsing without a configuration.
fn source(name: &str) -> Source {
    Source {
        name: name.into(),
        kind: SourceKind::Feed,
        location: Location::File(PathBuf::from(name)),
        weight: 1.0,
        feed: FeedSettings::default(),
    }
}

/// `../shared/corpora`, or `None` (test skipped) when missing outside CI.
fn corpora() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    if root.is_dir() {
        return Some(root);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the feed corpora are missing at {}",
        root.display()
    );
    eprintln!("skipped: no feed corpora at {}", root.display());
    None
}

/// Every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A Python string literal at the start of `s` (`'…'`, `"…"`, `u'…'`), and the rest.
fn py_str(s: &str) -> Option<(String, &str)> {
    let s = s.strip_prefix('u').unwrap_or(s);
    let quote = s.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Some((out, &s[i + 2..])),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'u' | 'x' => {
                        let n = if e == 'u' { 4 } else { 2 };
                        let hex: String = (0..n)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => out.push(other),
                }
            }
            c => out.push(c),
        }
    }
    None
}

/// What a feedparser `Expect:` line says about the first entry, where it translates simply.
#[derive(Debug)]
enum Expect {
    Title(String),
    Link(String),
    Summary(String),
    Date(DateTime<Utc>),
}

/// The expectations for the first entry of the document at `path`: feedparser's `Expect:` line,
/// or feed-rs's `<name>.serde.json` next to it (title, alternate link, published or updated).
fn expectations(path: &Path, text: &str) -> Vec<Expect> {
    let serde = path.with_extension("serde.json");
    if !path.to_string_lossy().ends_with(".serde.json") && serde.is_file() {
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&serde).unwrap()).unwrap();
        let e = &expected["entries"][0];
        let mut out = Vec::new();
        if let Some(t) = e["title"]["content"].as_str() {
            out.push(Expect::Title(t.to_string()));
        }
        let link = e["links"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["rel"].is_null() || l["rel"] == "alternate");
        if let Some(href) = link.and_then(|l| l["href"].as_str()) {
            out.push(Expect::Link(href.to_string()));
        }
        let date = e["published"].as_str().or(e["updated"].as_str());
        if let Some(t) = date.and_then(|d| DateTime::parse_from_rfc3339(d).ok()) {
            out.push(Expect::Date(t.with_timezone(&Utc)));
        }
        return out;
    }
    expectation(text).into_iter().collect()
}

fn expectation(text: &str) -> Option<Expect> {
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Expect:"))?
        .trim();
    let rest = line.strip_prefix("not bozo and ").unwrap_or(line);
    let (key, value) = rest.split_once(" == ")?;
    if key.ends_with("_parsed']") {
        // (year, month, day, hour, minute, second, weekday, yearday, dst)
        let nums: Vec<u32> = value
            .trim()
            .strip_prefix('(')?
            .strip_suffix(')')?
            .split(',')
            .map(|n| n.trim().parse().ok())
            .collect::<Option<_>>()?;
        let t = Utc
            .with_ymd_and_hms(nums[0] as i32, nums[1], nums[2], nums[3], nums[4], nums[5])
            .single()?;
        return matches!(
            key,
            "entries[0]['published_parsed']" | "entries[0]['updated_parsed']"
        )
        .then_some(Expect::Date(t));
    }
    let (value, tail) = py_str(value.trim())?;
    if !tail.trim().is_empty() {
        return None; // concatenations and further conditions
    }
    match key {
        "entries[0]['title']" => Some(Expect::Title(value)),
        "entries[0]['link']" => Some(Expect::Link(value)),
        "entries[0]['description']" | "entries[0]['summary']" => Some(Expect::Summary(value)),
        _ => None,
    }
}

/// Whether our first article agrees with feedparser's expectation. Our titles and summaries are
/// plain text, so HTML in the expected value is reduced the same way; links are canonical.
fn agrees(expect: &Expect, a: &digest::catalog::Article) -> bool {
    let text = |s: &str| digest::text::one_line(s, 100_000);
    match expect {
        Expect::Title(t) => a.title == text(t) || a.title == text(&html::to_text(t)),
        Expect::Summary(s) => a.summary == text(&html::to_text(s)) || a.summary == text(s),
        Expect::Link(l) => canonical::canonicalize(l).is_ok_and(|l| a.url == l),
        Expect::Date(t) => a.published_at == Some(*t),
    }
}

#[test]
fn every_corpus_file_is_parsed_or_refused_with_its_name_and_a_sample_comes_out_right() {
    let Some(root) = corpora() else { return };
    let started = Instant::now();
    let all: Vec<PathBuf> = ["feedparser", "feed-rs/fixture"]
        .iter()
        .flat_map(|d| files(&root.join(d)))
        .collect();
    assert!(all.len() > 2_000, "only {} corpus files", all.len());
    let src = source("corpus");
    let (mut parsed, mut items, mut skipped, mut undated) = (0, 0, 0, 0);
    let mut failed: Vec<String> = Vec::new();
    let mut panicked: Vec<String> = Vec::new();
    let (mut checked, mut wrong, mut not_comparable) = ([0, 0], Vec::<String>::new(), 0);
    for path in &all {
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        let bytes = std::fs::read(path).unwrap();
        let result = std::panic::catch_unwind(|| feed::parse(&bytes, None, &src));
        let p = match result {
            Err(_) => {
                panicked.push(name);
                continue;
            }
            Ok(Err(e)) => {
                let message = e.to_string();
                assert!(!message.is_empty(), "{name}: empty error");
                if message.contains("crashed") {
                    panicked.push(name.clone());
                }
                failed.push(format!("{name}: {message}"));
                continue;
            }
            Ok(Ok(p)) => p,
        };
        parsed += 1;
        items += p.items.len();
        skipped += p.skipped.len();
        undated += p.undated;
        for a in p.items.iter().map(|i| &i.article) {
            assert!(canonical::is_http(&a.url), "{name}: {}", a.url);
            assert!(
                !a.title.is_empty() && !a.title.contains(['\n', '\r']),
                "{name}"
            );
            assert!(
                !a.summary.to_lowercase().contains("<script"),
                "{name}: {}",
                a.summary
            );
        }
        // Our first article is the document's first entry only if that entry was not skipped.
        let first_skipped = p
            .skipped
            .iter()
            .any(|s| s.starts_with("item 1:") || s.starts_with("item 1 "));
        for expect in expectations(path, &String::from_utf8_lossy(&bytes)) {
            match p.items.first() {
                Some(first) if !first_skipped => {
                    checked[usize::from(name.starts_with("feed-rs"))] += 1;
                    if !agrees(&expect, &first.article) {
                        wrong.push(format!(
                            "{name}: expected {expect:?}, got {:?}",
                            first.article
                        ));
                    }
                }
                _ => not_comparable += 1,
            }
        }
    }
    let elapsed = started.elapsed();
    println!(
        "corpus: {} files in {elapsed:.2?}: {parsed} parsed ({items} items, {skipped} skipped, \
         {undated} undated), {} refused, {} panicked; expectations checked: {} feedparser + {} \
         feed-rs, {} wrong, {not_comparable} not comparable (first entry skipped)",
        all.len(),
        failed.len(),
        panicked.len(),
        checked[0],
        checked[1],
        wrong.len()
    );
    for f in &failed {
        println!("  refused {f}");
    }
    assert!(
        panicked.is_empty(),
        "parsing panicked or crashed on: {panicked:#?}"
    );
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        checked[0] >= 5 && checked[1] >= 100,
        "too few expectations checked: {checked:?}"
    );
}
