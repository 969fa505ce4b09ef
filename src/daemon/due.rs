//! The scheduler's decisions, as a pure function of the time, the configuration and the recorded
//! runs: what to run, resume, retry or skip now, and when to look again.
//!
//! **Which period a fire builds.** A fire time builds the period that last closed at that instant in
//! the digest's time zone: a monthly digest firing on 1 August builds July.
//!
//! **Catch-up rule.** A (digest, period) runs at most once. It is due from its first fire time on;
//! the run is caught up if it starts within `max_lateness` of the latest fire time for that period
//! that has passed, and otherwise recorded as `skipped_late`. After downtime, every period since the
//! digest's latest recorded run is decided this way, oldest first; a digest with no recorded run
//! starts with the period of its latest fire time (no backfill of history). A `running` run (the
//! daemon stopped mid-run) is resumed whatever its age; a `failed` one is retried with backoff while
//! within `max_lateness`.
//!
//! **Review.** A run of a digest with `review = "required"` ends `awaiting_review` once its
//! reviewers are mailed. An approval turns it `approved`, which is resumed (and sent) at the next
//! look; at `scheduled_at + review_deadline` an unapproved one is decided by `on_deadline`.

use chrono::{DateTime, Duration, Utc};

use crate::config::{Config, Digest};
use crate::period::Period;
use crate::store::{Run, RunStatus};

/// The longest the scheduler sleeps between looks, so it notices clock jumps and retries.
pub const MAX_SLEEP: Duration = Duration::seconds(60);

/// What to do about one (digest, period).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Due and not started: run it.
    Run,
    /// Started and not finished: run it again (freezing is idempotent; sending resumes).
    Resume,
    /// Failed earlier: try again.
    Retry,
    /// Missed by more than `max_lateness`: record it as skipped.
    SkipLate,
    /// Frozen and awaiting review past its review deadline: send it anyway or skip it, as the
    /// digest's `on_deadline` says (unless an approval came first).
    ReviewDeadline,
}

/// One decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Digest id.
    pub digest: String,
    /// The period whose issue is concerned.
    pub period: Period,
    /// The fire time it was (last) due at.
    pub scheduled_at: DateTime<Utc>,
    /// What to do.
    pub action: Action,
    /// The digest has no recorded run yet (of its period kind): the daemon's first start for it,
    /// where a [`Action::SkipLate`] is the no-backfill rule at work, not a missed run.
    pub first: bool,
}

/// The wait before retrying a run that failed `attempts` times: 1, 2, 4 … minutes, at most an hour.
pub fn backoff(attempts: u32) -> Duration {
    Duration::minutes(1 << attempts.saturating_sub(1).min(6)).min(Duration::hours(1))
}

/// When a failed run may be retried.
fn retry_at(run: &Run) -> DateTime<Utc> {
    run.finished_at.unwrap_or(run.scheduled_at) + backoff(run.attempts)
}

/// Whether a failed run is still worth retrying at `now`.
fn retryable(run: &Run, digest: &Digest, now: DateTime<Utc>) -> bool {
    run.status == RunStatus::Failed && now - run.scheduled_at <= digest.max_lateness
}

/// When the review of a run awaiting it is due: its fire time plus the digest's `review_deadline`
/// (`None` when the digest no longer asks for review).
fn review_deadline(run: &Run, digest: &Digest) -> Option<DateTime<Utc>> {
    digest
        .review
        .as_ref()
        .map(|r| run.scheduled_at + r.deadline)
}

/// The recorded runs of `digest` that are of its current period kind.
fn runs_of<'r>(digest: &Digest, runs: &'r [Run]) -> impl Iterator<Item = &'r Run> {
    runs.iter()
        .filter(move |r| r.digest == digest.id && r.period.kind() == digest.period)
}

/// Everything to do at `now`, given the runs from [`crate::store::Store::open_and_latest_runs`]:
/// per digest (in id order) resumes, then retries, then new periods oldest first.
pub fn due(now: DateTime<Utc>, config: &Config, runs: &[Run]) -> Vec<Due> {
    let mut out = Vec::new();
    for digest in config.digests.values() {
        let Some(schedule) = &digest.schedule else {
            continue;
        };
        let decision = |run: &Run, action| Due {
            digest: digest.id.clone(),
            period: run.period,
            scheduled_at: run.scheduled_at,
            action,
            first: false,
        };
        for run in runs_of(digest, runs) {
            if matches!(run.status, RunStatus::Running | RunStatus::Approved) {
                out.push(decision(run, Action::Resume));
            } else if run.status == RunStatus::AwaitingReview {
                match review_deadline(run, digest) {
                    // Review was turned off since: nothing to wait for.
                    None => out.push(decision(run, Action::Resume)),
                    Some(at) if at <= now => out.push(decision(run, Action::ReviewDeadline)),
                    Some(_) => {}
                }
            } else if retryable(run, digest, now) && retry_at(run) <= now {
                out.push(decision(run, Action::Retry));
            }
        }
        let tz = digest.timezone;
        // Fire times are whole seconds: "before now + 1ns" is "at or before now".
        let Some(latest) = schedule.last_before(now + Duration::nanoseconds(1), tz) else {
            continue;
        };
        let target = Period::last_closed(digest.period, latest, tz);
        let recorded = runs_of(digest, runs).map(|r| r.period).max();
        let mut period = match recorded {
            Some(p) if p >= target => continue,
            Some(p) => p.next(),
            None => target,
        };
        while period <= target {
            // Fires on the local days of the next period build this one; take the latest passed.
            let fires = period.next().window(tz);
            let before = fires.end.min(now + Duration::nanoseconds(1));
            if let Some(at) = schedule
                .last_before(before, tz)
                .filter(|at| *at >= fires.start)
            {
                let action = if now - at <= digest.max_lateness {
                    Action::Run
                } else {
                    Action::SkipLate
                };
                out.push(Due {
                    digest: digest.id.clone(),
                    period,
                    scheduled_at: at,
                    action,
                    first: recorded.is_none(),
                });
            }
            period = period.next();
        }
    }
    out
}

/// When to look again after `now`: the next fire time or retry, at most [`MAX_SLEEP`] away.
pub fn next_wake(now: DateTime<Utc>, config: &Config, runs: &[Run]) -> DateTime<Utc> {
    let mut wake = now + MAX_SLEEP;
    for digest in config.digests.values() {
        let Some(schedule) = &digest.schedule else {
            continue;
        };
        let fire = schedule.next_after(now, digest.timezone);
        let retries = runs_of(digest, runs)
            .filter(|r| retryable(r, digest, now))
            .map(retry_at);
        let deadlines = runs_of(digest, runs)
            .filter(|r| r.status == RunStatus::AwaitingReview)
            .filter_map(|r| review_deadline(r, digest));
        let later = retries.chain(deadlines).filter(|at| *at > now);
        for at in fire.into_iter().chain(later) {
            wake = wake.min(at);
        }
    }
    wake
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// A configuration with one digest `d` of `period`, `schedule`, `timezone` and `max_lateness`.
    fn config(period: &str, schedule: &str, timezone: &str, lateness: &str) -> Config {
        crate::config::for_test(&format!(
            "[digests.d]\ntag = \"t\"\nperiod = \"{period}\"\nschedule = \"{schedule}\"\n\
             timezone = \"{timezone}\"\nmax_lateness = \"{lateness}\"\n"
        ))
    }

    fn run(period: &str, status: RunStatus, at: DateTime<Utc>, attempts: u32) -> Run {
        Run {
            digest: "d".into(),
            period: period.parse().unwrap(),
            scheduled_at: at,
            status,
            attempts,
            started_at: Some(at),
            finished_at: (status != RunStatus::Running).then_some(at),
            detail: String::new(),
        }
    }

    /// The decisions as (period, scheduled_at, action).
    fn decide(
        c: &Config,
        now: DateTime<Utc>,
        runs: &[Run],
    ) -> Vec<(String, DateTime<Utc>, Action)> {
        due(now, c, runs)
            .into_iter()
            .map(|d| (d.period.to_string(), d.scheduled_at, d.action))
            .collect()
    }

    #[test]
    fn a_fire_builds_the_period_that_just_closed() {
        let monthly = config("monthly", "0 6 1 * *", "UTC", "6h");
        let fire = utc(2024, 8, 1, 6, 0);
        // Started just before the fire, with nothing recorded: June's fire was a month ago.
        assert_eq!(
            decide(&monthly, fire - Duration::seconds(1), &[]),
            [("2024-06".into(), utc(2024, 7, 1, 6, 0), Action::SkipLate)]
        );
        assert_eq!(
            decide(&monthly, fire, &[]),
            [("2024-07".into(), fire, Action::Run)]
        );
        let weekly = config("weekly", "0 8 * * 1", "UTC", "6h");
        // Monday 5 August 08:00: ISO week 31 (29 July to 4 August) just closed.
        let monday = utc(2024, 8, 5, 8, 0);
        assert_eq!(
            decide(&weekly, monday, &[]),
            [("2024-W31".into(), monday, Action::Run)]
        );
        let daily = config("daily", "@daily", "Europe/Berlin", "6h");
        // Midnight in Berlin on 2 August is 22:00 UTC on 1 August.
        let midnight = utc(2024, 8, 1, 22, 0);
        assert_eq!(
            decide(&daily, midnight + Duration::minutes(1), &[]),
            [("2024-08-01".into(), midnight, Action::Run)]
        );
    }

    #[test]
    fn a_recorded_run_is_not_run_again() {
        let c = config("monthly", "0 6 1 * *", "UTC", "6h");
        let fire = utc(2024, 8, 1, 6, 0);
        for status in [
            RunStatus::Built,
            RunStatus::SkippedTooFew,
            RunStatus::SkippedLate,
        ] {
            let runs = [run("2024-07", status, fire, 1)];
            assert_eq!(decide(&c, fire + Duration::hours(1), &runs), []);
        }
    }

    #[test]
    fn lateness_is_measured_from_the_fire_time() {
        let c = config("monthly", "0 6 1 * *", "UTC", "6h");
        let fire = utc(2024, 8, 1, 6, 0);
        let june = [run("2024-06", RunStatus::Built, utc(2024, 7, 1, 6, 0), 1)];
        assert_eq!(
            decide(&c, fire + Duration::hours(6), &june),
            [("2024-07".into(), fire, Action::Run)]
        );
        assert_eq!(
            decide(&c, fire + Duration::hours(6) + Duration::seconds(1), &june),
            [("2024-07".into(), fire, Action::SkipLate)]
        );
    }

    #[test]
    fn every_period_missed_since_the_last_run_is_decided_oldest_first() {
        let c = config("daily", "0 0 * * *", "UTC", "2d");
        let sunday = [run(
            "2024-08-04",
            RunStatus::Built,
            utc(2024, 8, 5, 0, 0),
            1,
        )];
        // Down from Monday 00:00 to Friday 03:00: Monday's to Thursday's issues were due; those
        // due more than two days ago are skipped.
        assert_eq!(
            decide(&c, utc(2024, 8, 9, 3, 0), &sunday),
            [
                ("2024-08-05".into(), utc(2024, 8, 6, 0, 0), Action::SkipLate),
                ("2024-08-06".into(), utc(2024, 8, 7, 0, 0), Action::SkipLate),
                ("2024-08-07".into(), utc(2024, 8, 8, 0, 0), Action::Run),
                ("2024-08-08".into(), utc(2024, 8, 9, 0, 0), Action::Run),
            ]
        );
    }

    #[test]
    fn a_schedule_firing_within_the_period_counts_lateness_from_the_latest_fire() {
        // Hourly fires all build the previous day; the day is due until the day after ends.
        let c = config("daily", "@hourly", "UTC", "1h");
        let now = utc(2024, 8, 2, 15, 30);
        assert_eq!(
            decide(&c, now, &[]),
            [("2024-08-01".into(), utc(2024, 8, 2, 15, 0), Action::Run)]
        );
    }

    #[test]
    fn unfinished_runs_resume_and_failed_runs_retry_with_backoff_while_not_too_late() {
        let c = config("monthly", "0 6 1 * *", "UTC", "6h");
        let fire = utc(2024, 8, 1, 6, 0);
        let running = [run("2024-07", RunStatus::Running, fire, 1)];
        // Resumed whatever its age.
        assert_eq!(
            decide(&c, fire + Duration::days(3), &running),
            [("2024-07".into(), fire, Action::Resume)]
        );
        let failed = [run("2024-07", RunStatus::Failed, fire, 3)];
        // Third failure: wait 4 minutes.
        assert_eq!(decide(&c, fire + Duration::minutes(3), &failed), []);
        assert_eq!(
            next_wake(fire + Duration::minutes(3), &c, &failed),
            fire + Duration::minutes(4)
        );
        assert_eq!(
            decide(&c, fire + Duration::minutes(4), &failed),
            [("2024-07".into(), fire, Action::Retry)]
        );
        assert_eq!(decide(&c, fire + Duration::hours(7), &failed), []);
        assert_eq!(backoff(1), Duration::minutes(1));
        assert_eq!(backoff(30), Duration::hours(1));
    }

    #[test]
    fn an_issue_awaiting_review_waits_for_approval_or_its_deadline() {
        let c = crate::config::for_test(
            "[digests.d]\ntag = \"t\"\nperiod = \"monthly\"\nschedule = \"0 6 1 * *\"\n\
             review = \"required\"\nreviewers = [\"ed@x.example\"]\nreview_deadline = \"2h\"\n",
        );
        let fire = utc(2024, 8, 1, 6, 0);
        let awaiting = [run("2024-07", RunStatus::AwaitingReview, fire, 1)];
        // Not before the deadline (and woken for it), then decided.
        assert_eq!(decide(&c, fire + Duration::minutes(119), &awaiting), []);
        assert_eq!(
            next_wake(
                fire + Duration::minutes(119) + Duration::seconds(30),
                &c,
                &awaiting
            ),
            fire + Duration::hours(2)
        );
        assert_eq!(
            decide(&c, fire + Duration::hours(2), &awaiting),
            [("2024-07".into(), fire, Action::ReviewDeadline)]
        );
        // Approved: sent at the next look, deadline or not.
        let approved = [run("2024-07", RunStatus::Approved, fire, 1)];
        assert_eq!(
            decide(&c, fire + Duration::minutes(5), &approved),
            [("2024-07".into(), fire, Action::Resume)]
        );
        // Skipped at the deadline: never again.
        let skipped = [run("2024-07", RunStatus::SkippedReview, fire, 1)];
        assert_eq!(decide(&c, fire + Duration::days(3), &skipped), []);
    }

    #[test]
    fn a_digest_without_a_schedule_never_runs_and_wakes_are_capped() {
        let c = crate::config::for_test("[digests.d]\ntag = \"t\"\nperiod = \"daily\"\n");
        let now = utc(2024, 8, 1, 6, 0);
        assert_eq!(due(now, &c, &[]), []);
        assert_eq!(next_wake(now, &c, &[]), now + MAX_SLEEP);
        let c = config("monthly", "* * * * * *", "UTC", "6h");
        assert_eq!(next_wake(now, &c, &[]), now + Duration::seconds(1));
    }
}
