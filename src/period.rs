//! Periods (`2024-07`, `2024-W27`, `2024-07-15`) and their windows in a digest's time zone.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How long one issue's window is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    /// One calendar day.
    Daily,
    /// One ISO week, Monday to Sunday.
    Weekly,
    /// One calendar month.
    Monthly,
}

impl PeriodKind {
    /// The longest length of a period of this kind in seconds (a month counts 31 days): what
    /// "no successful run for two periods" is measured in.
    pub fn nominal_seconds(self) -> i64 {
        match self {
            PeriodKind::Daily => 86_400,
            PeriodKind::Weekly => 7 * 86_400,
            PeriodKind::Monthly => 31 * 86_400,
        }
    }

    /// An example of the period syntax for this kind, for error messages.
    pub fn example(self) -> &'static str {
        match self {
            PeriodKind::Daily => "2024-07-15",
            PeriodKind::Weekly => "2024-W27",
            PeriodKind::Monthly => "2024-07",
        }
    }
}

impl fmt::Display for PeriodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeriodKind::Daily => "daily",
            PeriodKind::Weekly => "weekly",
            PeriodKind::Monthly => "monthly",
        })
    }
}

/// One day, ISO week or month, identified by its first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    kind: PeriodKind,
    start: NaiveDate,
}

/// A half-open interval of instants `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// First instant inside the window.
    pub start: DateTime<Utc>,
    /// First instant after the window.
    pub end: DateTime<Utc>,
}

impl Window {
    /// Whether `t` falls inside the window.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

/// A period string that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid period {input:?}: {reason}")]
pub struct ParseError {
    input: String,
    reason: String,
}

impl Period {
    /// The period of `kind` that contains `date`.
    pub fn containing(kind: PeriodKind, date: NaiveDate) -> Period {
        let start = match kind {
            PeriodKind::Daily => date,
            PeriodKind::Weekly => {
                date - Duration::days(date.weekday().num_days_from_monday().into())
            }
            PeriodKind::Monthly => date.with_day(1).unwrap_or(date),
        };
        Period { kind, start }
    }

    /// The most recent period of `kind` that has fully ended at `now` in `tz`.
    pub fn last_closed(kind: PeriodKind, now: DateTime<Utc>, tz: Tz) -> Period {
        Period::containing(kind, now.with_timezone(&tz).date_naive()).previous()
    }

    /// Parses `input` and checks it is of `kind`.
    pub fn parse_as(kind: PeriodKind, input: &str) -> Result<Period, ParseError> {
        let p: Period = input.parse()?;
        if p.kind != kind {
            return Err(ParseError {
                input: input.into(),
                reason: format!(
                    "this digest is {kind}: give a period like {}",
                    kind.example()
                ),
            });
        }
        Ok(p)
    }

    /// Day, week or month.
    pub fn kind(&self) -> PeriodKind {
        self.kind
    }

    /// First local day of the period.
    pub fn first_day(&self) -> NaiveDate {
        self.start
    }

    /// First local day after the period.
    pub fn end_day(&self) -> NaiveDate {
        self.next().start
    }

    /// The period right after this one.
    pub fn next(&self) -> Period {
        let start = match self.kind {
            PeriodKind::Daily => self.start + Duration::days(1),
            PeriodKind::Weekly => self.start + Duration::days(7),
            PeriodKind::Monthly => self.start + chrono::Months::new(1),
        };
        Period {
            kind: self.kind,
            start,
        }
    }

    /// The period right before this one.
    pub fn previous(&self) -> Period {
        let start = match self.kind {
            PeriodKind::Daily => self.start - Duration::days(1),
            PeriodKind::Weekly => self.start - Duration::days(7),
            PeriodKind::Monthly => self.start - chrono::Months::new(1),
        };
        Period {
            kind: self.kind,
            start,
        }
    }

    /// The instants from local midnight of the first day to local midnight after the last, in `tz`.
    pub fn window(&self, tz: Tz) -> Window {
        Window {
            start: local_midnight(tz, self.start),
            end: local_midnight(tz, self.end_day()),
        }
    }

    /// Human label: "July 2024", "Week 27, 2024", "15 July 2024".
    pub fn label(&self) -> String {
        match self.kind {
            PeriodKind::Daily => self.start.format("%-d %B %Y").to_string(),
            PeriodKind::Weekly => {
                let w = self.start.iso_week();
                format!("Week {}, {}", w.week(), w.year())
            }
            PeriodKind::Monthly => self.start.format("%B %Y").to_string(),
        }
    }
}

/// The first instant of `date` in `tz` (see [`local_instant`]).
fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_instant(tz, date.and_time(NaiveTime::MIN))
}

/// The instant a local wall-clock time stands for in `tz`. A time the clocks skip (the
/// spring-forward gap) becomes the first whole local minute after the gap, which is the instant the
/// clocks jump for every zone in use today; a time that occurs twice (the autumn overlap) is its
/// earlier occurrence.
pub fn local_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut candidate = local;
    // Gaps last at most a day (Samoa, 2011); step through them a minute at a time.
    for _ in 0..=(24 * 60) {
        match tz.from_local_datetime(&candidate) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.with_timezone(&Utc),
            LocalResult::None => {
                candidate = candidate.with_second(0).unwrap_or(candidate) + Duration::minutes(1)
            }
        }
    }
    Utc.from_utc_datetime(&local)
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PeriodKind::Daily => write!(f, "{}", self.start.format("%Y-%m-%d")),
            PeriodKind::Weekly => {
                let w = self.start.iso_week();
                write!(f, "{:04}-W{:02}", w.year(), w.week())
            }
            PeriodKind::Monthly => write!(f, "{}", self.start.format("%Y-%m")),
        }
    }
}

impl FromStr for Period {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Period, ParseError> {
        let err = |reason: &str| ParseError {
            input: input.into(),
            reason: reason.into(),
        };
        let s = input.trim();
        let number = |part: &str| -> Option<u32> {
            (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        };
        let parts: Vec<&str> = s.split('-').collect();
        let year = parts
            .first()
            .filter(|p| p.len() == 4)
            .and_then(|p| number(p));
        let usage = "use 2024-07 (month), 2024-W27 (ISO week) or 2024-07-15 (day)";
        let Some(year) = year.map(|y| y as i32) else {
            return Err(err(usage));
        };
        match parts.as_slice() {
            [_, w] if w.starts_with('W') || w.starts_with('w') => {
                let week = number(&w[1..])
                    .filter(|_| w.len() == 3)
                    .ok_or_else(|| err(usage))?;
                NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
                    .map(|start| Period {
                        kind: PeriodKind::Weekly,
                        start,
                    })
                    .ok_or_else(|| err(&format!("{year} has no ISO week {week}")))
            }
            [_, m] if m.len() == 2 => {
                let month = number(m).ok_or_else(|| err(usage))?;
                NaiveDate::from_ymd_opt(year, month, 1)
                    .map(|start| Period {
                        kind: PeriodKind::Monthly,
                        start,
                    })
                    .ok_or_else(|| err("month must be 01 to 12"))
            }
            [_, m, d] if m.len() == 2 && d.len() == 2 => {
                let (month, day) = number(m).zip(number(d)).ok_or_else(|| err(usage))?;
                NaiveDate::from_ymd_opt(year, month, day)
                    .map(|start| Period {
                        kind: PeriodKind::Daily,
                        start,
                    })
                    .ok_or_else(|| err("no such date"))
            }
            _ => Err(err(usage)),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_the_three_forms() {
        for s in ["2024-07", "2024-W27", "2024-07-15", "2020-W53"] {
            assert_eq!(p(s).to_string(), s);
        }
        assert_eq!(
            p("2024-W27").first_day(),
            NaiveDate::from_ymd_opt(2024, 7, 1).unwrap()
        );
        assert_eq!(p("2024-07").label(), "July 2024");
        assert_eq!(p("2024-W27").label(), "Week 27, 2024");
        assert_eq!(p("2024-07-05").label(), "5 July 2024");
    }

    #[test]
    fn rejects_nonsense_with_a_reason() {
        for s in [
            "2024-13",
            "2024-W54",
            "2024-02-30",
            "July",
            "2024",
            "24-07",
            "2024-7",
            "2024-W5",
        ] {
            let e = s.parse::<Period>().unwrap_err().to_string();
            assert!(e.contains(s), "{e}");
        }
        let e = "2021-W53".parse::<Period>().unwrap_err().to_string();
        assert!(e.contains("2021 has no ISO week 53"), "{e}");
    }

    #[test]
    fn iso_week_spanning_years_belongs_to_its_iso_year() {
        // 2025-W01 starts on Monday 30 December 2024.
        let w = p("2025-W01");
        assert_eq!(
            w.first_day(),
            NaiveDate::from_ymd_opt(2024, 12, 30).unwrap()
        );
        let d = NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
        assert_eq!(Period::containing(PeriodKind::Weekly, d), w);
    }

    #[test]
    fn last_closed_depends_on_the_time_zone() {
        // 2024-08-01 02:00 UTC is still 31 July in New York: July has not closed there yet.
        let now = Utc.with_ymd_and_hms(2024, 8, 1, 2, 0, 0).unwrap();
        assert_eq!(
            Period::last_closed(PeriodKind::Monthly, now, chrono_tz::UTC),
            p("2024-07")
        );
        let ny = chrono_tz::America::New_York;
        assert_eq!(
            Period::last_closed(PeriodKind::Monthly, now, ny),
            p("2024-06")
        );
    }

    #[test]
    fn windows_follow_local_midnight_across_dst() {
        let berlin = chrono_tz::Europe::Berlin;
        let w = p("2024-03").window(berlin);
        assert_eq!(
            w.start,
            Utc.with_ymd_and_hms(2024, 2, 29, 23, 0, 0).unwrap()
        );
        // Summer time from 31 March: April starts at 22:00 UTC.
        assert_eq!(w.end, Utc.with_ymd_and_hms(2024, 3, 31, 22, 0, 0).unwrap());
    }

    #[test]
    fn midnight_inside_a_dst_gap_starts_at_the_gap_end() {
        // Chile moved clocks from 00:00 to 01:00 on 2022-09-11 (America/Santiago).
        let tz = chrono_tz::America::Santiago;
        let w = p("2022-09-11").window(tz);
        assert_eq!(
            w.start.with_timezone(&tz).format("%H:%M").to_string(),
            "01:00"
        );
        assert_eq!(w.end - w.start, Duration::hours(23));
    }

    #[test]
    fn previous_and_next_round_trip() {
        for s in ["2024-01", "2024-W01", "2024-03-01"] {
            assert_eq!(p(s).previous().next(), p(s));
        }
        assert_eq!(p("2024-01").previous(), p("2023-12"));
    }
}
