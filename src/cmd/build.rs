//! `digest build`: freeze an issue.

use std::process::ExitCode;

use anyhow::Result;

use super::{open_store, target};
use crate::cli::BuildArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::issue::{self, Outcome};
use crate::select;

pub(super) fn run(config: &Config, args: &BuildArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let (digest, period) = target(config, &args.target, clock)?;
    let digests = &config.paths.digests;
    let (issue, outcome) =
        issue::freeze(digests, digest, period, args.rebuild, clock.now(), || {
            select::rank_period(&config.sources, &open_store(config, clock)?, digest, period)
        })?;
    let path = issue::path(digests, &digest.id, period);
    let (n, items) = (issue.number, issue.items.len());
    match outcome {
        Outcome::Created => say!("froze issue #{n} ({items} items): {}", path.display()),
        Outcome::Rebuilt => say!("rebuilt issue #{n} ({items} items): {}", path.display()),
        Outcome::AlreadyFrozen => say!(
            "issue #{n} is already frozen, left untouched (use --rebuild to replace it): {}",
            path.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}
