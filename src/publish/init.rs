//! `digest init`: a new project that `digest check` accepts and `digest preview` renders at once,
//! offline: a commented configuration with one digest and one source, a feed file for that source
//! dated in the digest's last closed period, a list, the theme and a `.gitignore`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::cli::UsageError;
use crate::period::{Period, PeriodKind, Window};

/// The id of the digest a new project defines.
pub const DIGEST: &str = "my-digest";

/// The period and time zone of that digest, as its configuration writes them: the example feed is
/// dated in its last closed period.
const PERIOD: PeriodKind = PeriodKind::Monthly;
const TIMEZONE: Tz = chrono_tz::UTC;

/// Where the example feed dates its items.
const PUBLISHED: &str = "{published}";

/// The files of a new project, by path relative to its folder, and their text; the example feed's
/// items are dated by [`files`].
const TEMPLATES: &[(&str, &str)] = &[
    ("config/digest.toml", include_str!("init/digest.toml")),
    (
        "catalog/example-feed.xml",
        include_str!("init/example-feed.xml"),
    ),
    ("lists/readers.csv", include_str!("init/readers.csv")),
    (
        "templates/theme.toml",
        include_str!("../../templates/theme.toml"),
    ),
    (
        "templates/email.css",
        include_str!("../../templates/email.css"),
    ),
    (".gitignore", include_str!("init/gitignore")),
];

/// A project written by [`init`].
#[derive(Debug)]
pub struct Project {
    /// The files written, in `dir`.
    pub files: Vec<PathBuf>,
    /// The period whose issue [`DIGEST`] has items for: the last one closed at the time of writing.
    pub period: Period,
}

/// Writes a new project into `dir` (created if missing) for the clock reading `now`. Refuses, as a
/// [`UsageError`] naming the file and writing nothing, when `dir` is not a folder, when a file it
/// would write exists, or when it holds anything else.
pub fn init(dir: &Path, now: DateTime<Utc>) -> Result<Project> {
    refuse_occupied(dir)?;
    let period = Period::last_closed(PERIOD, now, TIMEZONE);
    let mut written = Vec::new();
    for (name, text) in files(period.window(TIMEZONE)) {
        let path = dir.join(name);
        crate::files::create_new(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(Project {
        files: written,
        period,
    })
}

/// Fails unless `dir` is missing or an empty folder.
fn refuse_occupied(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        let message = format!("{} exists and is not a folder", dir.display());
        return Err(UsageError(message).into());
    }
    let occupied = |what: String| {
        UsageError(format!(
            "{what}: digest init writes a new project into a new or empty folder and never \
             overwrites a file"
        ))
    };
    for (name, _) in TEMPLATES {
        let path = dir.join(name);
        if path.symlink_metadata().is_ok() {
            return Err(occupied(format!("{} exists", path.display())).into());
        }
    }
    let reading = || format!("reading {}", dir.display());
    if let Some(entry) = std::fs::read_dir(dir).with_context(reading)?.next() {
        let entry = entry.with_context(reading)?;
        let what = format!(
            "{} is not empty (it holds {})",
            dir.display(),
            entry.path().display()
        );
        return Err(occupied(what).into());
    }
    Ok(())
}

/// The files of a new project whose example feed is dated inside `window`.
fn files(window: Window) -> impl Iterator<Item = (&'static str, String)> {
    TEMPLATES
        .iter()
        .map(move |&(name, text)| (name, dated(text, window)))
}

/// `template` with each `{published}` replaced by an RFC 2822 date, the dates spread evenly inside
/// `window`, in order.
fn dated(template: &str, window: Window) -> String {
    let mut pieces = template.split(PUBLISHED);
    let mut out = pieces.next().unwrap_or_default().to_string();
    let parts = i32::try_from(template.matches(PUBLISHED).count() + 1).unwrap_or(i32::MAX);
    let step = (window.end - window.start) / parts;
    for (k, piece) in (1..).zip(pieces) {
        out.push_str(&(window.start + step * k).to_rfc2822());
        out.push_str(piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn feed_items_are_dated_inside_the_last_closed_period_in_order() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 30, 0).unwrap();
        let window = Period::last_closed(PERIOD, now, TIMEZONE).window(TIMEZONE);
        let feed = files(window)
            .find(|(name, _)| name.ends_with(".xml"))
            .map(|(_, text)| text)
            .unwrap();
        assert!(!feed.contains(PUBLISHED));
        let dates: Vec<DateTime<Utc>> = feed
            .split("<pubDate>")
            .skip(1)
            .map(|rest| {
                let date = &rest[..rest.find("</pubDate>").unwrap()];
                DateTime::parse_from_rfc2822(date).unwrap().to_utc()
            })
            .collect();
        assert_eq!(dates.len(), 5);
        assert!(dates.iter().all(|d| window.contains(*d)), "{dates:?}");
        assert!(dates.is_sorted());
    }

    #[test]
    fn configuration_names_the_digest_period_and_zone_the_feed_is_dated_for() {
        let config = TEMPLATES[0].1;
        assert!(config.contains(&format!("[digests.{DIGEST}]")));
        assert!(config.contains(&format!("period = \"{PERIOD}\"")));
        assert!(config.contains(&format!("timezone = \"{}\"", TIMEZONE.name())));
    }

    #[test]
    fn refuses_a_folder_with_a_file_naming_it_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 30, 0).unwrap();
        let err = init(dir.path(), now).unwrap_err();
        assert!(err.is::<UsageError>());
        assert!(err.to_string().contains("notes.txt"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
