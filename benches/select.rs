//! Selection at scale: `select::rank_period` for one digest and period on a freshly opened store
//! (a cold SQLite cache each run), timed in-process.
//!
//! `select CONFIG_DIR DIGEST PERIOD RUNS` prints `median_ms=… candidates=… kept=…`.

#[path = "common/args.rs"]
mod args;
#[path = "common/timing.rs"]
mod timing;

use std::path::Path;

use anyhow::{Context as _, Result, anyhow};
use digest::config::Config;
use digest::period::Period;
use digest::select;
use digest::store::Store;

fn main() -> Result<()> {
    let args = args::positional();
    let [dir, digest, period, runs] = args.as_slice() else {
        return Err(anyhow!("usage: select CONFIG_DIR DIGEST PERIOD RUNS"));
    };
    let config = Config::load(Path::new(dir)).map_err(|e| anyhow!("{e}"))?;
    let d = config.digest(digest)?;
    let period = Period::parse_as(d.period, period)?;
    let runs: usize = runs.parse().context("RUNS")?;
    let (median, ranking) = timing::median(runs, || -> Result<select::Ranking> {
        let store = Store::open(&config.paths.store)?;
        select::rank_period(&config.sources, &store, d, period)
    });
    let ranking = ranking?;
    println!(
        "median_ms={:.3} candidates={} kept={}",
        median.as_secs_f64() * 1e3,
        ranking.candidates.len(),
        ranking.picks().count()
    );
    Ok(())
}
