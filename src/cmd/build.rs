//! `digest build`: freeze an issue.

use std::process::ExitCode;

use anyhow::Result;

use super::{stores, target};
use crate::cli::BuildArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::issue::Outcome;
use crate::publish::build;

pub(super) fn run(config: &Config, args: &BuildArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let (digest, period) = target(config, &args.target, clock)?;
    let mut shown = stores(config);
    let mut store = shown.lazy(config, clock);
    let (rebuild, allow_oversize) = (args.rebuild, args.allow_oversize);
    let built = build::freeze(
        config,
        digest,
        period,
        rebuild,
        allow_oversize,
        clock,
        &mut store,
    )?;
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
