//! `digest build`: freeze an issue.

use std::process::ExitCode;

use anyhow::Result;

use super::{stores, target};
use crate::cli::{BuildArgs, UsageError};
use crate::clock::Clock;
use crate::config::Config;
use crate::issue::Outcome;
use crate::publish::build;

pub(super) fn run(config: &Config, args: &BuildArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let (digest, period) = target(config, &args.target, clock)?;
    if !args.open_period {
        build::ensure_closed(digest, period, clock.now()).map_err(|e| UsageError(e.to_string()))?;
    }
    let mut shown = stores(config);
    let mut store = shown.lazy(config, clock);
    let built = build::freeze(config, digest, period, args.rebuild, clock, &mut store)?;
    let (n, items, path) = (
        built.issue.number,
        built.issue.items.len(),
        built.path.display(),
    );
    match built.outcome {
        Outcome::Created => say!("froze issue #{n} ({items} items): {path}"),
        Outcome::Rebuilt => say!("rebuilt issue #{n} ({items} items): {path}"),
        Outcome::AlreadyFrozen => say!(
            "issue #{n} is already frozen, left untouched (use --rebuild to replace it): {path}"
        ),
    }
    Ok(ExitCode::SUCCESS)
}
