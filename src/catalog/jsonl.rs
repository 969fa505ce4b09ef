//! JSON Lines catalogues: one article per line (format in the README). Lines are streamed; a bad
//! line is reported with its file and line number and the rest still load.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::article::{MAX_NAME, bounded_url, discussion_url};
use crate::model::{Article, Item, Kind, MAX_SUMMARY, MAX_TITLE, Publisher, canonical, tag};
use crate::text::one_line;

/// Longest line read; longer ones are skipped and reported.
pub const MAX_LINE_BYTES: u64 = 4 << 20;

/// A line that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The catalogue file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it: one line of at most [`super::MAX_REASON`] characters.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

/// One line as written; text borrowed from the line where it holds no escapes.
#[derive(Deserialize)]
struct RawArticle<'a> {
    #[serde(borrow)]
    url: Cow<'a, str>,
    #[serde(borrow)]
    title: Cow<'a, str>,
    #[serde(default, borrow)]
    summary: Cow<'a, str>,
    #[serde(default = "article")]
    kind: Kind,
    #[serde(borrow)]
    source: RawSource<'a>,
    #[serde(default, borrow)]
    tags: Vec<Text<'a>>,
    #[serde(borrow)]
    published_at: Cow<'a, str>,
    #[serde(default)]
    upvotes: u64,
    #[serde(default)]
    comments: u64,
    #[serde(default)]
    discussion_url: Option<String>,
}

fn article() -> Kind {
    Kind::Article
}

#[derive(Deserialize)]
struct RawSource<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    avatar: Option<Text<'a>>,
}

/// A string borrowed from the line (serde borrows a `Cow` only as a field of its own, not inside
/// a `Vec` or an `Option`).
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// Parses and cleans one catalogue line.
pub fn parse_line(line: &str) -> Result<Article, String> {
    parse_item(line).map(|item| item.article)
}

/// Parses and cleans one catalogue line, with its discussion link (`discussion_url`: http or
/// https, anything else is dropped like a non-http avatar).
pub fn parse_item(line: &str) -> Result<Item, String> {
    let raw: RawArticle = serde_json::from_str(line).map_err(|e| {
        let msg = e.to_string();
        // serde_json appends "at line 1 column N": the caller already gives the line.
        match msg.rsplit_once(" at line ") {
            Some((m, _)) => m.to_string(),
            None => msg,
        }
    })?;
    let url = canonical::canonicalize(&raw.url)
        .map_err(|e| e.to_string())
        .and_then(bounded_url)
        .map_err(|e| format!("field `url`: {e}"))?;
    let title = one_line(&raw.title, MAX_TITLE);
    if title.is_empty() {
        return Err("field `title`: empty".into());
    }
    let published_at = DateTime::parse_from_rfc3339(raw.published_at.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!(
                "field `published_at`: {:?} is not an RFC 3339 time ({e})",
                raw.published_at
            )
        })?;
    let id = one_line(&raw.source.id, 100);
    if id.is_empty() {
        return Err("field `source.id`: empty".into());
    }
    let name = raw
        .source
        .name
        .map(|n| one_line(&n.0, MAX_NAME))
        .filter(|n| !n.is_empty());
    let avatar = raw
        .source
        .avatar
        .filter(|a| canonical::is_http(&a.0))
        .map(|a| bounded_url(a.0.trim().to_string()))
        .transpose()
        .map_err(|e| format!("field `source.avatar`: {e}"))?;
    let discussion = discussion_url(raw.discussion_url.as_deref())
        .map_err(|e| format!("field `discussion_url`: {e}"))?;
    let article = Article {
        url,
        title,
        summary: one_line(&raw.summary, MAX_SUMMARY),
        kind: raw.kind,
        publisher: Publisher {
            name: name.unwrap_or_else(|| id.clone()),
            id,
            avatar,
        },
        tags: tag::normalize_all(raw.tags.iter().map(|t| t.0.as_ref())),
        published_at: Some(published_at),
        upvotes: raw.upvotes,
        comments: raw.comments,
    };
    Ok(Item {
        article,
        guid: None,
        discussion,
    })
}

/// Opens a catalogue file for streaming.
pub fn open(path: &Path) -> io::Result<Lines<BufReader<File>>> {
    Ok(Lines::new(BufReader::new(File::open(path)?), path))
}

/// Streams the articles of a catalogue, one `Result` per non-blank line.
pub struct Lines<R> {
    reader: R,
    path: PathBuf,
    line: usize,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    /// Reads lines from `reader`, naming `path` in errors.
    pub fn new(reader: R, path: &Path) -> Self {
        Lines {
            reader,
            path: path.to_path_buf(),
            line: 0,
            buf: Vec::new(),
            done: false,
        }
    }

    fn error(&self, message: impl AsRef<str>) -> LineError {
        LineError {
            path: self.path.clone(),
            line: self.line,
            message: super::reason(message.as_ref()),
        }
    }

    /// Skips the rest of an over-long line.
    fn skip_rest(&mut self) -> io::Result<()> {
        loop {
            let available = self.reader.fill_buf()?;
            if available.is_empty() {
                return Ok(());
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.reader.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = available.len();
                    self.reader.consume(n);
                }
            }
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = Result<Item, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            self.line += 1;
            let read = (&mut self.reader)
                .take(MAX_LINE_BYTES)
                .read_until(b'\n', &mut self.buf);
            match read {
                Ok(0) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Err(self.error(format!("read error: {e}"))));
                }
                Ok(_) if !self.buf.ends_with(b"\n") && self.buf.len() as u64 == MAX_LINE_BYTES => {
                    if let Err(e) = self.skip_rest() {
                        self.done = true;
                        return Some(Err(self.error(format!("read error: {e}"))));
                    }
                    let limit = MAX_LINE_BYTES >> 20;
                    return Some(Err(
                        self.error(format!("line longer than {limit} MiB, skipped"))
                    ));
                }
                Ok(_) => {
                    let Ok(text) = std::str::from_utf8(&self.buf) else {
                        return Some(Err(self.error("not valid UTF-8")));
                    };
                    let text = text.trim();
                    if text.is_empty() {
                        continue;
                    }
                    return Some(parse_item(text).map_err(|m| self.error(m)));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"url":"https://x.example/a?utm_source=t","title":"A\r\nB","summary":"s","kind":"video","source":{"id":"x","name":"X"},"tags":["Distributed-Systems","distributed systems"],"published_at":"2024-07-01T00:00:00+02:00","upvotes":3,"comments":1}"#;

    fn lines(text: &str) -> Vec<Result<Article, LineError>> {
        Lines::new(text.as_bytes(), Path::new("cat.jsonl"))
            .map(|r| r.map(|i| i.article))
            .collect()
    }

    #[test]
    fn a_good_line_is_cleaned_and_normalized() {
        let a = parse_line(GOOD).unwrap();
        assert_eq!(a.url, "https://x.example/a");
        assert_eq!(a.title, "A B");
        assert_eq!(a.kind, Kind::Video);
        assert_eq!(a.tags, vec!["distributed-systems"]);
        assert_eq!(
            a.published_at.unwrap().to_rfc3339(),
            "2024-06-30T22:00:00+00:00"
        );
    }

    #[test]
    fn bad_lines_are_reported_with_file_and_line_and_good_ones_load() {
        let text = format!(
            "{GOOD}\n\nnot json\n{}\n{}\n{}\n{GOOD}\n",
            GOOD.replace("2024-07-01T00:00:00+02:00", "yesterday"),
            GOOD.replace("https://x.example/a?utm_source=t", "javascript:alert(1)"),
            GOOD.replace(r#""upvotes":3"#, r#""upvotes":-3"#),
        );
        let got = lines(&text);
        assert_eq!(got.len(), 6);
        assert!(got[0].is_ok() && got[5].is_ok());
        let errors: Vec<String> = got
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors[0], "cat.jsonl:3: expected ident");
        assert!(
            errors[1].starts_with("cat.jsonl:4: field `published_at`"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].contains(":5: field `url`: only http and https"),
            "{}",
            errors[2]
        );
        assert!(
            errors[3].starts_with("cat.jsonl:6: invalid value: integer `-3`"),
            "{}",
            errors[3]
        );
    }

    #[test]
    fn links_and_avatars_longer_than_2048_bytes_are_refused_naming_the_field() {
        // A 100 KB link was stored, frozen and mailed whole: every byte of it went into the email.
        let long = format!("https://x.example/{}", "a".repeat(3000));
        let e = parse_line(&GOOD.replace("https://x.example/a?utm_source=t", &long)).unwrap_err();
        assert_eq!(e, "field `url`: longer than 2048 bytes (3018 bytes)");
        let with_avatar =
            GOOD.replace(r#""name":"X""#, &format!(r#""name":"X","avatar":"{long}""#));
        let e = parse_line(&with_avatar).unwrap_err();
        assert_eq!(
            e,
            "field `source.avatar`: longer than 2048 bytes (3018 bytes)"
        );
    }

    #[test]
    fn a_reason_quoting_a_huge_hostile_value_is_one_bounded_line() {
        // serde quotes an unknown variant whole: a megabyte of it, escapes included, was the reason.
        let kind = format!("\\u001b[2J{}", "k".repeat(1 << 20));
        let got = lines(&GOOD.replace(r#""video""#, &format!("\"{kind}\"")));
        let e = got[0].as_ref().unwrap_err();
        assert!(
            e.message.starts_with("unknown variant `[2Jkkk"),
            "{}",
            e.message
        );
        assert!(e.message.chars().count() <= crate::catalog::MAX_REASON);
        assert!(!e.message.contains('\u{1b}'));
    }

    #[test]
    fn missing_fields_and_bad_kinds_are_named() {
        let e = parse_line(r#"{"title":"t"}"#).unwrap_err();
        assert_eq!(e, "missing field `url`");
        let e = parse_line(&GOOD.replace(r#""video""#, r#""podcast""#)).unwrap_err();
        assert!(e.contains("unknown variant `podcast`"), "{e}");
    }

    #[test]
    fn overlong_lines_are_skipped_and_the_next_line_loads() {
        let long = "x".repeat(MAX_LINE_BYTES as usize + 10);
        let got = lines(&format!("{long}\n{GOOD}\n"));
        assert_eq!(got.len(), 2);
        assert!(
            got[0]
                .as_ref()
                .unwrap_err()
                .message
                .contains("longer than 4 MiB")
        );
        assert!(got[1].is_ok());
    }
}
