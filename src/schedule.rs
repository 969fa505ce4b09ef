//! Schedules: a digest's `schedule` string (cron, crontab or `@daily`-style shorthand) parsed into a
//! [`cron::Schedule`], and its fire times in the digest's time zone under an explicit DST policy.
//!
//! **DST policy.** A schedule names local wall-clock times. Each wall-clock time that matches fires
//! exactly once, at the instant [`crate::period::local_instant`] gives it: a time the clocks skip in
//! spring (02:30 on the last Sunday of March in Berlin) fires at the first instant after the gap
//! (03:00 CEST); a time the clocks pass twice in autumn fires at its first occurrence only. The
//! `cron` crate on its own would skip the first and fire twice for the second, so fire times are
//! computed here from wall-clock matches rather than taken from the crate's time-zone iterator.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::period::local_instant;

/// The most the clocks go back at once in any time zone (2 hours), with room to spare.
const MAX_FOLD: Duration = Duration::hours(3);

/// A parsed `schedule`.
#[derive(Debug, Clone)]
pub struct Schedule {
    written: String,
    /// The schedule fires whenever any of these does: one, or two for a crontab line whose day of
    /// month and day of week are both restricted (crontab runs when either matches).
    crons: Vec<cron::Schedule>,
}

impl Schedule {
    /// The schedule as configured.
    pub fn as_written(&self) -> &str {
        &self.written
    }

    /// The equivalent 6- or 7-field expression of the `cron` crate (seconds first, 1 = Sunday);
    /// two joined by " or " when either fires.
    pub fn cron_expression(&self) -> String {
        let sources: Vec<&str> = self.crons.iter().map(cron::Schedule::source).collect();
        sources.join(" or ")
    }

    /// The first fire time strictly after `t`, for a schedule read in `tz`.
    pub fn next_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // Wall-clock matches map to instants in the same order, so the first match past `t` is the
        // answer; matches that stand for earlier instants (`t` in an overlap's second pass) are
        // skipped.
        let from = wall_clock(t, tz);
        self.crons
            .iter()
            .filter_map(|cron| {
                cron.after(&from)
                    .map(|m| local_instant(tz, m.naive_utc()))
                    .find(|i| *i > t)
            })
            .min()
    }

    /// The last fire time strictly before `t`, for a schedule read in `tz`.
    pub fn last_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // In an overlap's second pass, wall-clock times ahead of `t`'s already happened (in the
        // first pass): start the backward search as far ahead as the clocks went back.
        let fold = (offset(tz, t - MAX_FOLD) - offset(tz, t)).max(Duration::zero());
        let from = wall_clock(t, tz) + fold + Duration::seconds(1);
        self.crons
            .iter()
            .filter_map(|cron| {
                cron.after(&from)
                    .rev()
                    .map(|m| local_instant(tz, m.naive_utc()))
                    .find(|i| *i < t)
            })
            .max()
    }

    /// The next `n` fire times after `t`.
    pub fn upcoming(&self, t: DateTime<Utc>, tz: Tz, n: usize) -> Vec<DateTime<Utc>> {
        std::iter::successors(self.next_after(t, tz), |&prev| self.next_after(prev, tz))
            .take(n)
            .collect()
    }
}

/// `t` in `tz`, for people: `Sun 2024-09-01 08:00:00 CEST`.
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%a %Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// `t` as the wall-clock time it shows in `tz`, to whole seconds, carried in a `DateTime<Utc>` (a
/// zone without DST) so that cron matches wall-clock fields without applying any DST rule of its own.
fn wall_clock(t: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let local = t.with_timezone(&tz).naive_local();
    Utc.from_utc_datetime(&local.with_nanosecond(0).unwrap_or(local))
}

/// The UTC offset of `tz` at `t`.
fn offset(tz: Tz, t: DateTime<Utc>) -> Duration {
    let seconds = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    Duration::seconds(seconds.local_minus_utc().into())
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// Shorthands and the 6-field expressions they stand for (crontab's meaning: `@weekly` is Sunday
/// midnight).
const SHORTHANDS: &[(&str, &str)] = &[
    ("@yearly", "0 0 0 1 1 *"),
    ("@annually", "0 0 0 1 1 *"),
    ("@monthly", "0 0 0 1 * *"),
    ("@weekly", "0 0 0 * * Sun"),
    ("@daily", "0 0 0 * * *"),
    ("@midnight", "0 0 0 * * *"),
    ("@hourly", "0 0 * * * *"),
];

/// Day names in crontab order: 0 = Sunday.
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// A numeric field of a schedule: its name for people and the values it accepts.
type Field = (&'static str, u32, u32);

const SECOND: Field = ("second", 0, 59);
const MINUTE: Field = ("minute", 0, 59);
const HOUR: Field = ("hour", 0, 23);
const DAY_OF_MONTH: Field = ("day of month", 1, 31);
const MONTH: Field = ("month", 1, 12);
/// In the `cron` crate's forms: 1 = Sunday.
const DAY_OF_WEEK: Field = ("day of week", 1, 7);
const YEAR: Field = ("year", 1970, 2100);

/// The fields of the 6- and 7-field forms, in order.
const CRON_FIELDS: [Field; 7] = [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR];

/// Checks the numbers written in `text` (lists, ranges, the start of steps; names are left to the
/// `cron` crate) against the range of `field`: "minute 60 is out of range 0–59".
fn check_range(text: &str, (name, min, max): Field) -> Result<(), String> {
    let numbers = text
        .split(',')
        .filter_map(|part| part.split('/').next())
        .flat_map(|range| range.split('-'))
        .filter_map(|n| n.parse::<u32>().ok());
    for n in numbers {
        if !(min..=max).contains(&n) {
            return Err(format!("{name} {n} is out of range {min}–{max}"));
        }
    }
    Ok(())
}

impl FromStr for Schedule {
    type Err = String;

    /// Accepts the `cron` crate's 6- or 7-field form (`sec min hour day month weekday [year]`,
    /// weekday 1–7 with 1 = Sunday), the 5-field crontab form (`min hour day month weekday`,
    /// weekday 0–7 with 0 and 7 = Sunday) and the shorthands `@daily`, `@weekly`, `@monthly`,
    /// `@yearly` (`@annually`), `@hourly` and `@midnight`.
    fn from_str(written: &str) -> Result<Schedule, String> {
        let fields: Vec<&str> = written.split_whitespace().collect();
        let seconds_first = fields.len() >= 6;
        let invalid = |reason: String| {
            let weekday = reason.contains("Days of Week") || reason.contains("day of week");
            let hint = if seconds_first && weekday {
                " (in the 6- and 7-field forms weekdays are 1–7 with 1 = Sunday, or Sun–Sat)"
            } else {
                ""
            };
            format!("{written:?} is not a valid schedule: {reason}{hint}")
        };
        let expressions = match fields.as_slice() {
            [one] if one.starts_with('@') => SHORTHANDS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(one))
                .map(|(_, cron)| vec![cron.to_string()])
                .ok_or_else(|| {
                    let names: Vec<&str> = SHORTHANDS.iter().map(|(n, _)| *n).collect();
                    format!(
                        "unknown shorthand {one:?} (use one of: {})",
                        names.join(", ")
                    )
                })?,
            [minute, hour, day, month, weekday] => {
                crontab(minute, hour, day, month, weekday).map_err(invalid)?
            }
            [_, _, _, _, _, _] | [_, _, _, _, _, _, _] => {
                for (text, field) in fields.iter().zip(CRON_FIELDS) {
                    check_range(text, field).map_err(invalid)?;
                }
                vec![fields.join(" ")]
            }
            _ => {
                return Err(format!(
                    "{written:?} has {} fields: use 5 (crontab: minute hour day month weekday), \
                     6 or 7 (seconds first: sec min hour day month weekday [year]) or a shorthand \
                     such as @daily",
                    fields.len()
                ));
            }
        };
        let mut crons = Vec::with_capacity(expressions.len());
        for expression in &expressions {
            crons.push(cron::Schedule::from_str(expression).map_err(|e| {
                // The crate's message repeats the expression with a caret line: keep the last.
                let e = e.to_string();
                let reason = e.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(&e);
                invalid(reason.trim().to_string())
            })?);
        }
        // A part of an either-or that never matches (the 31st of February) adds no date.
        if let Some(origin) = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).single() {
            crons.retain(|cron| cron.after(&origin).next().is_some());
        }
        if crons.is_empty() {
            return Err(format!("{written:?} never matches a date"));
        }
        Ok(Schedule {
            written: written.trim().to_string(),
            crons,
        })
    }
}

/// A crontab line as 6-field expressions, any of which fires: seconds 0, and the weekday written
/// with day names so the `cron` crate's 1 = Sunday numbering never meets crontab's 0 = Sunday.
///
/// Day of month and day of week follow crontab (Vixie cron, cronie): when either field starts
/// with `*`, a day must match both (one expression, which the `cron` crate reads that way);
/// otherwise a day matching either fires (two expressions, one per field).
fn crontab(
    minute: &str,
    hour: &str,
    day: &str,
    month: &str,
    weekday: &str,
) -> Result<Vec<String>, String> {
    for (text, field) in [
        (minute, MINUTE),
        (hour, HOUR),
        (day, DAY_OF_MONTH),
        (month, MONTH),
    ] {
        check_range(text, field)?;
    }
    let names = crontab_weekdays(weekday)?;
    let line = |day: &str, weekday: &str| format!("0 {minute} {hour} {day} {month} {weekday}");
    Ok(if day.starts_with('*') || weekday.starts_with('*') {
        vec![line(day, &names)]
    } else {
        vec![line(day, "*"), line("*", &names)]
    })
}

/// A crontab day-of-week field (`*`, `1-5`, `0,6`, `*/2`, `mon-fri`; 0 and 7 are Sunday) as a list
/// of day names.
fn crontab_weekdays(field: &str) -> Result<String, String> {
    if field == "*" {
        return Ok(field.to_string());
    }
    let bad = |part: &str| {
        format!("day of week {part:?}: use 0–7 (0 and 7 are Sunday), sun–sat, ranges and */steps")
    };
    let day = |s: &str| -> Result<usize, String> {
        match s.parse::<usize>() {
            Ok(n) if n <= 7 => Ok(n),
            Ok(_) => Err(bad(s)),
            Err(_) => DAYS
                .iter()
                .position(|d| d.eq_ignore_ascii_case(s))
                .ok_or_else(|| bad(s)),
        }
    };
    let mut on = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step = step.parse::<usize>().ok().filter(|s| *s > 0);
                (range, Some(step.ok_or_else(|| bad(part))?))
            }
            None => (part, None),
        };
        let (first, last) = match (range, range.split_once('-')) {
            ("*", _) => (0, 6),
            (_, Some((a, b))) => (day(a)?, day(b)?),
            (_, None) if step.is_none() => (day(range)?, day(range)?),
            _ => return Err(bad(part)),
        };
        if first > last {
            return Err(bad(part));
        }
        for d in (first..=last).step_by(step.unwrap_or(1)) {
            on[d % 7] = true;
        }
    }
    Ok(if on.iter().all(|&d| d) {
        "*".to_string()
    } else {
        let names: Vec<&str> = (0..7).filter(|&d| on[d]).map(|d| DAYS[d]).collect();
        names.join(",")
    })
}

/// Parses a duration written as whole numbers with units `s`, `m`, `h`, `d`, e.g. `90s`, `30m`,
/// `6h`, `2d` or `1h30m`.
pub fn parse_duration(written: &str) -> Result<Duration, String> {
    let bad = || format!("{written:?} is not a duration: write e.g. 30m, 6h, 2d or 1h30m");
    let s = written.trim();
    if s.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::zero();
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = rest[digits..].chars().next().ok_or_else(bad)?;
        let part = match unit {
            's' => Duration::try_seconds(n),
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            _ => None,
        };
        total = part.and_then(|p| total.checked_add(&p)).ok_or_else(bad)?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(total)
}

/// `d` written back in the units [`parse_duration`] reads, largest first: `1d6h`, `45m`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.num_seconds().max(0);
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Europe::Berlin, UTC};

    fn s(expr: &str) -> Schedule {
        expr.parse().unwrap_or_else(|e| panic!("{expr}: {e}"))
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// The next `n` fire times after `t` in `tz`, as local times with their zone abbreviation.
    fn local(expr: &str, tz: Tz, t: DateTime<Utc>, n: usize) -> Vec<String> {
        s(expr)
            .upcoming(t, tz, n)
            .iter()
            .map(|i| i.with_timezone(&tz).format("%a %F %T %Z").to_string())
            .collect()
    }

    #[test]
    fn crontab_lines_are_translated_with_sunday_as_zero_and_seven() {
        for (crontab, cron) in [
            ("0 8 * * 1", "0 0 8 * * Mon"),
            ("30 6 * * 1-5", "0 30 6 * * Mon,Tue,Wed,Thu,Fri"),
            ("0 8 * * 0", "0 0 8 * * Sun"),
            ("0 8 * * 7", "0 0 8 * * Sun"),
            ("0 8 * * 5-7", "0 0 8 * * Sun,Fri,Sat"),
            ("0 8 * * */2", "0 0 8 * * Sun,Tue,Thu,Sat"),
            ("0 8 * * sat,SUN", "0 0 8 * * Sun,Sat"),
            ("0 8 * * 0-7", "0 0 8 * * *"),
            ("15 9 1 * *", "0 15 9 1 * *"),
        ] {
            assert_eq!(s(crontab).cron_expression(), cron, "{crontab}");
        }
        // Monday 5 August 2024 is the first Monday after Thursday 1 August.
        let t = utc(2024, 8, 1, 0, 0);
        assert_eq!(
            local("0 8 * * 1", UTC, t, 2),
            ["Mon 2024-08-05 08:00:00 UTC", "Mon 2024-08-12 08:00:00 UTC"]
        );
        assert_eq!(
            local("0 8 * * 0", UTC, t, 1),
            ["Sun 2024-08-04 08:00:00 UTC"]
        );
    }

    #[test]
    fn crontab_ands_the_day_fields_when_either_starts_with_a_star_and_ors_them_otherwise() {
        // Refused, saying crontab "runs when either matches": it ANDs when a field starts with *.
        assert_eq!(s("0 12 */2 * 1").cron_expression(), "0 0 12 */2 * Mon");
        assert_eq!(
            s("0 12 1 * */3").cron_expression(),
            "0 0 12 1 * Sun,Wed,Sat"
        );
        // Monday 1 and Monday 15 January 2024 are odd days; Monday 8 is not.
        let t = utc(2024, 1, 1, 0, 0);
        assert_eq!(
            local("0 12 */2 * 1", UTC, t, 2),
            ["Mon 2024-01-01 12:00:00 UTC", "Mon 2024-01-15 12:00:00 UTC"]
        );
        // Both restricted: the 13th or any Friday.
        assert_eq!(
            s("0 12 13 * 5").cron_expression(),
            "0 0 12 13 * * or 0 0 12 * * Fri"
        );
        assert_eq!(
            local("0 12 13 * 5", UTC, utc(2024, 9, 10, 0, 0), 3),
            [
                "Fri 2024-09-13 12:00:00 UTC",
                "Fri 2024-09-20 12:00:00 UTC",
                "Fri 2024-09-27 12:00:00 UTC"
            ]
        );
        assert_eq!(
            s("0 12 13 * 5").last_before(utc(2024, 9, 13, 12, 0), UTC),
            Some(utc(2024, 9, 6, 12, 0))
        );
        // An either-or half that never matches adds nothing; the other still fires.
        assert_eq!(s("0 0 31 2 1").cron_expression(), "0 0 0 * 2 Mon");
    }

    #[test]
    fn six_and_seven_field_forms_keep_the_cron_crate_meaning() {
        // The cron crate counts 1 = Sunday.
        let t = utc(2024, 8, 1, 0, 0);
        assert_eq!(
            local("0 0 8 * * 1", UTC, t, 1),
            ["Sun 2024-08-04 08:00:00 UTC"]
        );
        assert_eq!(
            local("0 0 8 * * Mon", UTC, t, 1),
            ["Mon 2024-08-05 08:00:00 UTC"]
        );
        assert_eq!(
            local("0 0 6 1 * * 2025", UTC, t, 2),
            ["Wed 2025-01-01 06:00:00 UTC", "Sat 2025-02-01 06:00:00 UTC"]
        );
    }

    #[test]
    fn shorthands_mean_what_crontab_means() {
        let t = utc(2024, 7, 31, 12, 0);
        assert_eq!(
            local("@daily", UTC, t, 2),
            ["Thu 2024-08-01 00:00:00 UTC", "Fri 2024-08-02 00:00:00 UTC"]
        );
        assert_eq!(local("@weekly", UTC, t, 1), ["Sun 2024-08-04 00:00:00 UTC"]);
        assert_eq!(
            local("@monthly", UTC, t, 2),
            ["Thu 2024-08-01 00:00:00 UTC", "Sun 2024-09-01 00:00:00 UTC"]
        );
        assert_eq!(local("@YEARLY", UTC, t, 1), ["Wed 2025-01-01 00:00:00 UTC"]);
    }

    #[test]
    fn bad_schedules_are_refused_with_a_reason() {
        let err = |e: &str| e.parse::<Schedule>().unwrap_err();
        assert!(
            err("0 8 * *").contains("has 4 fields"),
            "{}",
            err("0 8 * *")
        );
        assert!(err("@fortnightly").contains("unknown shorthand \"@fortnightly\""));
        assert!(err("0 8 * * 8").contains("day of week \"8\""));
        assert!(err("0 8 * * 5-1").contains("day of week \"5-1\""));
        assert!(err("0 8 * * 1/2").contains("day of week \"1/2\""));
        assert!(err("0 8 * * funday").contains("day of week \"funday\""));
        // The cron crate's own message said "Minutes must be less than 59".
        assert_eq!(
            err("0 61 8 * * *"),
            "\"0 61 8 * * *\" is not a valid schedule: minute 61 is out of range 0–59"
        );
        assert_eq!(
            err("0 8-24 * * *"),
            "\"0 8-24 * * *\" is not a valid schedule: hour 24 is out of range 0–23"
        );
        assert!(err("0 0 1 13 *").ends_with("month 13 is out of range 1–12"));
        assert!(err("0 0 0 * * * 1969").ends_with("year 1969 is out of range 1970–2100"));
        assert!(err("0 0 8 * * 0").ends_with(
            "day of week 0 is out of range 1–7 (in the 6- and 7-field forms weekdays are 1–7 \
             with 1 = Sunday, or Sun–Sat)"
        ));
        assert!(!err("0 8 * * 8").contains("6- and 7-field"));
        assert!(err("0 0 0 30 2 *").contains("never matches a date"));
        assert!(err("").contains("has 0 fields"));
    }

    /// A schedule, a zone, a start (month, day, hour of 2024 UTC), the next fire times there.
    type DstCase = (&'static str, Tz, (u32, u32, u32), &'static [&'static str]);

    /// Fire times across DST changes.
    const DST_CASES: &[DstCase] = &[
        // Berlin, 31 March 2024: 02:00 CET jumps to 03:00 CEST. 02:30 fires once, at 03:00.
        (
            "30 2 * * *",
            Berlin,
            (3, 29, 12),
            &[
                "Sat 2024-03-30 02:30:00 CET",
                "Sun 2024-03-31 03:00:00 CEST",
                "Mon 2024-04-01 02:30:00 CEST",
            ],
        ),
        // New York, 10 March 2024: 02:00 EST jumps to 03:00 EDT.
        (
            "30 2 * * *",
            New_York,
            (3, 9, 12),
            &[
                "Sun 2024-03-10 03:00:00 EDT",
                "Mon 2024-03-11 02:30:00 EDT",
                "Tue 2024-03-12 02:30:00 EDT",
            ],
        ),
        // Matches inside the gap collapse onto one instant, which fires once.
        (
            "0 */20 2-3 * * *",
            Berlin,
            (3, 31, 0),
            &[
                "Sun 2024-03-31 03:00:00 CEST",
                "Sun 2024-03-31 03:20:00 CEST",
                "Sun 2024-03-31 03:40:00 CEST",
            ],
        ),
        // Berlin, 27 October 2024: 03:00 CEST goes back to 02:00 CET. 02:30 fires once, in CEST.
        (
            "30 2 * * *",
            Berlin,
            (10, 26, 12),
            &[
                "Sun 2024-10-27 02:30:00 CEST",
                "Mon 2024-10-28 02:30:00 CET",
            ],
        ),
        // New York, 3 November 2024: 02:00 EDT goes back to 01:00 EST.
        (
            "30 1 * * *",
            New_York,
            (11, 2, 12),
            &["Sun 2024-11-03 01:30:00 EDT", "Mon 2024-11-04 01:30:00 EST"],
        ),
    ];

    #[test]
    fn gap_times_fire_once_when_the_gap_ends_and_overlap_times_once_at_first() {
        for (expr, tz, (month, day, hour), want) in DST_CASES {
            let from = utc(2024, *month, *day, *hour, 0);
            assert_eq!(&local(expr, *tz, from, want.len()), want, "{expr} in {tz}");
        }
    }

    #[test]
    fn searches_from_inside_the_second_pass_of_an_overlap_see_the_first_pass() {
        let sched = s("30 2 * * *");
        // 02:45 CET on 27 October, after 02:30 CEST (00:30 UTC) fired.
        let t = utc(2024, 10, 27, 1, 45);
        assert_eq!(sched.last_before(t, Berlin), Some(utc(2024, 10, 27, 0, 30)));
        assert_eq!(sched.next_after(t, Berlin), Some(utc(2024, 10, 28, 1, 30)));
        // 02:15 CET: the wall clock has not reached 02:30 again, but that time already fired.
        let t = utc(2024, 10, 27, 1, 15);
        assert_eq!(sched.last_before(t, Berlin), Some(utc(2024, 10, 27, 0, 30)));
        assert_eq!(sched.next_after(t, Berlin), Some(utc(2024, 10, 28, 1, 30)));
    }

    #[test]
    fn next_and_last_are_strict_and_agree() {
        let sched = s("0 0 8 1 * *");
        let fire = utc(2024, 8, 1, 8, 0);
        assert_eq!(sched.next_after(fire, UTC), Some(utc(2024, 9, 1, 8, 0)));
        assert_eq!(sched.last_before(fire, UTC), Some(utc(2024, 7, 1, 8, 0)));
        let just_after = fire + Duration::milliseconds(1);
        assert_eq!(sched.last_before(just_after, UTC), Some(fire));
        assert_eq!(
            sched.next_after(fire - Duration::seconds(1), UTC),
            Some(fire)
        );
    }

    #[test]
    fn durations_are_read_and_written_in_the_same_units() {
        let d = |s: &str| parse_duration(s).unwrap();
        assert_eq!(d("6h"), Duration::hours(6));
        assert_eq!(d("1h30m"), Duration::minutes(90));
        assert_eq!(d("2d"), Duration::days(2));
        assert_eq!(d(" 90s "), Duration::seconds(90));
        for bad in ["", "6", "h", "6x", "-1h", "1.5h", "6 h"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("is not a duration"), "{bad}: {e}");
        }
        assert_eq!(format_duration(Duration::minutes(90)), "1h30m");
        assert_eq!(format_duration(Duration::seconds(86_400 + 5)), "1d5s");
        assert_eq!(format_duration(Duration::zero()), "0s");
    }
}
