//! `digest approve`: approve an issue that awaits review.

use std::process::ExitCode;

use anyhow::Result;

use super::target;
use crate::cli::ApproveArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::publish::review;
use crate::store::{Approval, Store};

pub(super) fn run(config: &Config, args: &ApproveArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let (digest, period) = target(config, &args.target, clock)?;
    let mut store = Store::open(&config.paths.store)?;
    match review::approve(config, digest, period, "cli", &mut store, clock)? {
        Approval::Approved(_) => say!(
            "approved {} {period}: a daemon waiting for it sends it within a minute; otherwise \
             `digest send {} --period {period}` may now send it",
            digest.id,
            digest.id
        ),
        Approval::AlreadyDecided(r) => say!(
            "{} {period} was decided already: {} by {} at {}",
            digest.id,
            r.state,
            r.decided_by.as_deref().unwrap_or("?"),
            r.decided_at.map_or_else(String::new, |t| t.to_rfc3339())
        ),
    }
    Ok(ExitCode::SUCCESS)
}
