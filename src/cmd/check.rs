//! `digest check`: validate everything a run needs and print every problem.

use std::process::ExitCode;

use anyhow::Result;

use crate::clock::Clock;
use crate::config::{Config, Location, Problem};
use crate::render::Theme;
use crate::store::Store;

pub(super) fn run(dir: &std::path::Path, _clock: &dyn Clock) -> Result<ExitCode> {
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
    println!("configuration OK: {}", dir.join("digest.toml").display());
    for d in config.digests.values() {
        let cap = d
            .max_per_source
            .map_or("no cap".to_string(), |c| format!("≤{c} per source"));
        println!(
            "  {}: {} in {}, tags [{}], {} items ({cap}), min score {}, min items {}",
            d.id,
            d.period,
            d.timezone,
            d.tags.join(", "),
            d.size,
            d.min_score,
            d.min_items
        );
    }
    for s in config.sources.values() {
        println!("  source {}: {:?} {}", s.name, s.kind, s.location);
    }
    Ok(ExitCode::SUCCESS)
}
