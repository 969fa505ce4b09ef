//! Turns `config` crate errors into [`Problem`]s and finds the line of each problem's key in the
//! TOML file it came from.

use std::collections::HashMap;
use std::path::PathBuf;

use ::config::ConfigError;
use toml::de::{DeTable, DeValue};

use super::Problem;

/// A problem for an error raised while reading and merging the sources (syntax errors).
pub(super) fn parse_problem(error: ConfigError) -> Problem {
    match error {
        ConfigError::FileParse { uri, cause } => {
            let (line, message) = match cause.downcast_ref::<toml::de::Error>() {
                Some(e) => (
                    e.span()
                        .and_then(|s| uri.as_deref().map(|u| (u, s.start)))
                        .and_then(|(uri, offset)| {
                            std::fs::read_to_string(uri)
                                .ok()
                                .map(|t| line_of(&t, offset))
                        }),
                    e.message().to_string(),
                ),
                None => (None, cause.to_string()),
            };
            Problem {
                origin: uri,
                line,
                key: String::new(),
                message: format!("syntax error: {message}"),
            }
        }
        other => Problem {
            origin: None,
            line: None,
            key: String::new(),
            message: other.to_string(),
        },
    }
}

/// The key inside the value (if the error names one) and a message without the key and origin.
pub(super) fn describe(error: ConfigError) -> (Option<String>, String) {
    match error {
        ConfigError::Type {
            unexpected,
            expected,
            key,
            ..
        } => (key, format!("expected {expected}, found {unexpected}")),
        ConfigError::At { error, key, .. } => {
            let (inner, message) = describe(*error);
            let key = match (key, inner) {
                (Some(a), Some(b)) if !b.is_empty() => Some(format!("{a}.{b}")),
                (a, b) => a.or(b),
            };
            (key, message)
        }
        ConfigError::Message(m) => {
            // serde's "unknown field `x`, expected …" and "missing field `x`" name the field:
            // point at it.
            let field = m
                .strip_prefix("unknown field `")
                .or_else(|| m.strip_prefix("missing field `"))
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned);
            (field, m)
        }
        ConfigError::NotFound(k) => (Some(k), "missing".into()),
        other => (None, other.to_string()),
    }
}

/// Fills in `line` for every problem whose origin is a TOML file containing its key.
pub(super) fn lines(problems: &mut [Problem]) {
    let mut files: HashMap<String, Option<String>> = HashMap::new();
    for p in problems.iter_mut().filter(|p| p.line.is_none()) {
        let Some(origin) = &p.origin else { continue };
        let text = files
            .entry(origin.clone())
            .or_insert_with(|| std::fs::read_to_string(origin).ok());
        if let Some(text) = text {
            p.line = key_line(text, &p.key);
        }
    }
}

/// The first of `files` that defines `key` (fully), with the key's line; else the last file.
pub(super) fn find(files: &[PathBuf], key: &str) -> (Option<String>, Option<usize>) {
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        if let Some(line) = key_line_exact(&text, key) {
            return (Some(file.display().to_string()), Some(line));
        }
    }
    (files.last().map(|f| f.display().to_string()), None)
}

/// Every one of `files` that defines `key` (fully), with the key's line.
pub(super) fn find_all(files: &[PathBuf], key: &str) -> Vec<(String, usize)> {
    files
        .iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(file).ok()?;
            let line = key_line_exact(&text, key)?;
            Some((file.display().to_string(), line))
        })
        .collect()
}

/// The line of `key` if `text` defines every part of it.
fn key_line_exact(text: &str, key: &str) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut table: &DeTable = root.get_ref();
    let mut parts = key.split('.').peekable();
    while let Some(segment) = parts.next() {
        let (k, v) = table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == segment)?;
        match (v.get_ref(), parts.peek()) {
            (_, None) => return Some(line_of(text, k.span().start)),
            (DeValue::Table(t), Some(_)) => table = t,
            _ => return None,
        }
    }
    None
}

/// The line of the deepest part of the dotted `key` that `text` defines.
fn key_line(text: &str, key: &str) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut table: &DeTable = root.get_ref();
    let mut found = None;
    for segment in key.split('.').filter(|s| !s.is_empty()) {
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == segment) else {
            break;
        };
        found = Some(k.span().start);
        match v.get_ref() {
            DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    found.map(|offset| line_of(text, offset))
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_in_dotted_and_header_tables() {
        let text = "[site]\nname = \"x\"\n\n[digests.weekly]\nperiod = \"weekly\"\nsize = 0\n";
        assert_eq!(key_line(text, "site.name"), Some(2));
        assert_eq!(key_line(text, "digests.weekly.size"), Some(6));
        assert_eq!(key_line(text, "digests.weekly"), Some(4));
        assert_eq!(key_line(text, "digests.monthly"), Some(4));
        assert_eq!(key_line(text, "paths"), None);
    }
}
