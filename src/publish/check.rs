//! `digest check`: every problem a run would meet, found before the run.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::config::{Config, Digest, Location, Problem};
use crate::render::Theme;
use crate::schedule::{format_duration, local_time};
use crate::store::Store;

/// Problems beyond the configuration's own syntax: missing source files, a theme that does not
/// load, a damaged store. Each names the configuration key it comes from.
pub fn problems(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    for source in config.sources.values() {
        if let Location::File(path) = &source.location
            && !path.is_file()
        {
            let message = format!("file not found: {}", path.display());
            problems.push(config.problem_at(&format!("sources.{}.path", source.name), message));
        }
    }
    if let Err(e) = Theme::load(&config.paths.templates) {
        problems.push(config.problem_at("paths.templates", format!("{e:#}")));
    }
    if config.paths.store.exists() {
        match Store::open(&config.paths.store).and_then(|s| s.integrity_check()) {
            Ok(ok) if ok == "ok" => {}
            Ok(report) => {
                problems.push(config.problem_at("paths.store", format!("store damaged: {report}")))
            }
            Err(e) => problems.push(config.problem_at("paths.store", format!("{e:#}"))),
        }
    }
    problems
}

/// What the configuration sets up, for people: each digest with its schedule and next runs, each
/// source, the web server.
pub fn summary(config: &Config, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for d in config.digests.values() {
        let cap = d
            .max_per_source
            .map_or("no cap".to_string(), |c| format!("≤{c} per source"));
        let _ = writeln!(
            out,
            "  {}: {} in {}, tags [{}], {} items ({cap}), min score {}, min items {}",
            d.id,
            d.period,
            d.timezone,
            d.tags.join(", "),
            d.size,
            d.min_score,
            d.min_items
        );
        out.push_str(&schedule(d, now));
    }
    for s in config.sources.values() {
        let _ = writeln!(out, "  source {}: {:?} {}", s.name, s.kind, s.location);
    }
    let _ = writeln!(out, "  daemon web server: http://{}/", config.web.listen);
    out
}

/// The digest's schedule and its next runs in its time zone, indented under its summary line.
fn schedule(d: &Digest, now: DateTime<Utc>) -> String {
    let Some(schedule) = &d.schedule else {
        return "    no schedule: the daemon does not run it\n".into();
    };
    let mut out = format!(
        "    schedule {:?} (cron: {}), max lateness {}{}; next runs:\n",
        schedule.as_written(),
        schedule.cron_expression(),
        format_duration(d.max_lateness),
        if d.ingest_before {
            ", ingests first"
        } else {
            ""
        },
    );
    let next = schedule.upcoming(now, d.timezone, 3);
    for t in &next {
        let _ = writeln!(out, "      {}", local_time(*t, d.timezone));
    }
    if next.is_empty() {
        out.push_str("      none: the schedule has no date after today\n");
    }
    out
}
