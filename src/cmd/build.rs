//! `digest build`: freeze an issue.

use std::process::ExitCode;

use anyhow::Result;

use super::{stores, target};
use crate::cli::{BuildArgs, UsageError};
use crate::clock::Clock;
use crate::config::Config;
use crate::issue::Outcome;
use crate::publish::build::{self, Allow, BuildError};

pub(super) fn run(config: &Config, args: &BuildArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let (digest, period) = target(config, &args.target, clock)?;
    let mut shown = stores(config);
    let mut store = shown.lazy(config, clock);
    if args.explain {
        let explanation = build::explain(config, digest, period, &mut store)?;
        say!("{}\n", explanation.trim_end());
    }
    let allow = Allow {
        rebuild: args.rebuild,
        open_period: args.open_period,
        allow_oversize: args.allow_oversize,
    };
    let built = match build::freeze(config, digest, period, allow, clock, &mut store) {
        Ok(built) => built,
        // Freezing an open period needs the flag that asks for it: a usage error.
        Err(BuildError::Open(open)) => return Err(UsageError(open.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
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
