//! Feed dates → UTC, for feed-rs (which takes one timestamp parser for all its formats).
//!
//! Feeds write dates in RFC 3339 (Atom, JSON Feed), RFC 822/2822 (RSS), and a long tail of near
//! misses that feedparser's date handlers read and so publishers never notice: `2020/1/10
//! 14:33:00`, `2020-01-11 08:00:00`, `Monday, 13 January 2020 10:00:00 UTC`, `Jan 14 2020 10:00
//! EST`, two-digit years, `+01:00` offsets in RFC 822 dates. All of those are read here; a date
//! without a zone is taken as UTC (as feedparser does). Anything else is no date: the item is
//! stored undated, never given a made-up one.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone as _, Utc};

/// The date in `text`, or `None` when it is not a date this module reads.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| numeric(text))
        .or_else(|| rfc2822(text))
}

/// `Y-M-D`, `Y/M/D` or `Y.M.D` (four-digit year), then optionally a time (after `T` or white
/// space) and a zone: the forms of RFC 3339, W3CDTF and their common variants.
fn numeric(text: &str) -> Option<DateTime<Utc>> {
    let split = text.find(['T', 't', ' ']).unwrap_or(text.len());
    let (date, rest) = text.split_at(split);
    let sep = date.chars().find(|c| !c.is_ascii_digit())?;
    if !matches!(sep, '-' | '/' | '.') {
        return None;
    }
    let parts: Vec<&str> = date.split(sep).collect();
    let [y, m, d] = parts[..] else { return None };
    if y.len() != 4 || !(1..=2).contains(&m.len()) || !(1..=2).contains(&d.len()) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    let rest = rest.trim_start_matches(['T', 't']).trim();
    let zone_at = rest
        .find(|c: char| c.is_ascii_alphabetic() || c == '+' || c == '-' || c == ' ')
        .unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let time = match time {
        "" => NaiveTime::MIN,
        t => clock(t)?,
    };
    let offset = offset(zone.trim())?;
    Some(Utc.from_utc_datetime(&date.and_time(time)) - chrono::Duration::seconds(offset.into()))
}

/// `H:M`, `H:M:S` or `H:M:S.fraction`.
fn clock(text: &str) -> Option<NaiveTime> {
    let mut parts = text.split(':');
    let (h, m) = (parts.next()?, parts.next()?);
    let s = parts.next().unwrap_or("0");
    if parts.next().is_some() {
        return None;
    }
    let (s, fraction) = s.split_once(['.', ',']).unwrap_or((s, ""));
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // A leap second or `24:00` is clamped rather than refused.
    let (h, m, s): (u32, u32, u32) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
    NaiveTime::from_hms_opt(h.min(23), m, s.min(59))
}

/// The offset from UTC, in seconds, of a zone: none, `Z`, `UT`, `UTC`, `GMT`, a US zone name, or
/// `±HH`, `±HHMM`, `±HH:MM`.
fn offset(zone: &str) -> Option<i32> {
    let hours = match zone.to_ascii_uppercase().as_str() {
        "" | "Z" | "UT" | "UTC" | "GMT" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (h, m) = match digits.len() {
                1 | 2 => (digits.parse::<i32>().ok()?, 0),
                4 => (digits[..2].parse().ok()?, digits[2..].parse::<i32>().ok()?),
                _ => return None,
            };
            return (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60));
        }
    };
    Some(hours * 3600)
}

/// Month names and abbreviations, English.
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// RFC 822/2822 dates and their near misses: an optional weekday (any spelling), day and month
/// in either order, long month names, a two- or four-digit year, a time with or without seconds,
/// and a zone of [`offset`] (none: UTC).
fn rfc2822(text: &str) -> Option<DateTime<Utc>> {
    let mut tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    // A weekday is redundant, often wrong, and sometimes not English: it is ignored.
    if tokens
        .first()
        .is_some_and(|t| t.chars().all(char::is_alphabetic) && month(t).is_none())
    {
        tokens.remove(0);
    }
    let (day, month, year, rest) = match tokens[..] {
        [d, m, y, ref rest @ ..] if d.chars().all(|c| c.is_ascii_digit()) => {
            (d, month(m)?, y, rest)
        }
        [m, d, y, ref rest @ ..] => (d, month(m)?, y, rest),
        _ => return None,
    };
    let year: i32 = match year.parse().ok()? {
        y @ 0..=49 if year.len() == 2 => 2000 + y,
        y @ 50..=99 if year.len() == 2 => 1900 + y,
        y if year.len() == 4 => y,
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(year, month, day.parse().ok()?)?;
    let (time, zone) = match rest {
        [] => (NaiveTime::MIN, ""),
        [t] => (clock(t)?, ""),
        [t, z] => (clock(t)?, *z),
        _ => return None,
    };
    let offset = offset(zone)?;
    Some(Utc.from_utc_datetime(&date.and_time(time)) - chrono::Duration::seconds(offset.into()))
}

/// The month (1–12) a name or abbreviation of at least three letters stands for.
fn month(name: &str) -> Option<u32> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name.len() < 3 || !name.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let i = MONTHS.iter().position(|m| name.starts_with(m))?;
    Some(i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<String> {
        parse(text).map(|t| t.to_rfc3339())
    }

    #[test]
    fn common_forms_are_read() {
        let cases = [
            ("2024-07-02T10:00:00Z", "2024-07-02T10:00:00+00:00"),
            ("2024-07-02 12:00:00.5 +02:00", "2024-07-02T10:00:00+00:00"),
            ("2024-07-02T12:00:00+0200", "2024-07-02T10:00:00+00:00"),
            ("2020/1/10 14:33:00", "2020-01-10T14:33:00+00:00"),
            ("2020-01-11 08:00:00", "2020-01-11T08:00:00+00:00"),
            ("2020-01-12", "2020-01-12T00:00:00+00:00"),
            ("2020-01-16T10:00+01:00", "2020-01-16T09:00:00+00:00"),
            ("2020.01.17 10:00 UTC", "2020-01-17T10:00:00+00:00"),
            ("Tue, 02 Jul 2024 10:00:00 GMT", "2024-07-02T10:00:00+00:00"),
            ("Mon, 13 Jan 20 10:00:00 GMT", "2020-01-13T10:00:00+00:00"),
            ("14 Jan 2020 10:00:00 EST", "2020-01-14T15:00:00+00:00"),
            (
                "Thurs, 13 July 2011 07:38:00 GMT",
                "2011-07-13T07:38:00+00:00",
            ),
            (
                "Monday, January 13 2020 10:00 +01:00",
                "2020-01-13T09:00:00+00:00",
            ),
            ("Wed, 10 Jul 2024 8:00:00 UTC", "2024-07-10T08:00:00+00:00"),
            (
                "Sat, 25 Aug 2012 00:00:00 -0000",
                "2012-08-25T00:00:00+00:00",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(at(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn non_dates_are_none() {
        for text in [
            "",
            "the day after tomorrow",
            "2020-13-01",
            "2020/02/30 10:00",
            "32 Jan 2020",
            "10:00",
            "2020-01-01 10:00 Mars/Olympus",
            "12345",
        ] {
            assert_eq!(at(text), None, "{text}");
        }
    }
}
