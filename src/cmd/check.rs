//! `digest check`: validate everything a run needs and print every problem.

use std::process::ExitCode;

use anyhow::Result;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::{Config, Digest, Location, Problem};
use crate::daemon::schedule::{format_duration, local_time};
use crate::render::Theme;
use crate::store::Store;

pub(super) fn run(dir: &std::path::Path, clock: &dyn Clock) -> Result<ExitCode> {
    let config = match Config::load(dir) {
        Ok(config) => config,
        Err(invalid) => {
            eprint!("{invalid}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut problems: Vec<Problem> = Vec::new();
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
    if !problems.is_empty() {
        eprint!("{}", crate::config::Invalid(problems));
        return Ok(ExitCode::FAILURE);
    }
    say!("configuration OK: {}", dir.join("digest.toml").display());
    for d in config.digests.values() {
        let cap = d
            .max_per_source
            .map_or("no cap".to_string(), |c| format!("≤{c} per source"));
        say!(
            "  {}: {} in {}, tags [{}], {} items ({cap}), min score {}, min items {}",
            d.id,
            d.period,
            d.timezone,
            d.tags.join(", "),
            d.size,
            d.min_score,
            d.min_items
        );
        say!("{}", schedule(d, clock.now()).trim_end());
    }
    for s in config.sources.values() {
        say!("  source {}: {:?} {}", s.name, s.kind, s.location);
    }
    say!("  daemon web server: http://{}/", config.web.listen);
    Ok(ExitCode::SUCCESS)
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
        out.push_str(&format!("      {}\n", local_time(*t, d.timezone)));
    }
    if next.is_empty() {
        out.push_str("      none: the schedule has no date after today\n");
    }
    out
}
