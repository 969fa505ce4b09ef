//! `digest subscribers`: list, export, import and forget the members of sign-up lists.

use std::process::ExitCode;

use anyhow::{Context as _, Result};

use crate::cli::SubscribersAction;
use crate::clock::Clock;
use crate::config::Config;
use crate::publish::subscribers;
use crate::store::Store;

pub(super) fn run(
    config: &Config,
    action: &SubscribersAction,
    clock: &dyn Clock,
) -> Result<ExitCode> {
    let mut store = Store::open(&config.paths.store)?;
    match action {
        SubscribersAction::List { list } => {
            if let Some(l) = list {
                subscribers::signup_list(config, l)?;
            }
            for m in store.members(list.as_deref())? {
                let paused = m
                    .paused_until
                    .filter(|t| *t > clock.now())
                    .map(|t| format!("paused until {}", t.format("%Y-%m-%d")))
                    .unwrap_or_else(|| "active".into());
                let since = m.consent.at.format("%Y-%m-%d");
                say!(
                    "{}\t{}\t{}\t{paused}\tsince {since}",
                    m.send_to,
                    m.list,
                    m.digests.join(" ")
                );
            }
        }
        SubscribersAction::Export { list, out } => {
            if let Some(l) = list {
                subscribers::signup_list(config, l)?;
            }
            let n = match out {
                Some(file) => {
                    let f = std::fs::File::create(file)
                        .with_context(|| format!("creating {}", file.display()))?;
                    subscribers::export(&store, list.as_deref(), f)?
                }
                None => subscribers::export(&store, list.as_deref(), std::io::stdout().lock())?,
            };
            eprintln!("exported {n} member(s)");
        }
        SubscribersAction::Import { file, list } => {
            let done = subscribers::import(config, &mut store, list, file, clock)?;
            for skipped in &done.skipped {
                eprintln!("{skipped}");
            }
            let (n, skipped) = (done.members, done.skipped.len());
            say!("imported {n} member(s) into {list}; {skipped} row(s) skipped");
        }
        SubscribersAction::Forget { address } => {
            let (key, f) = subscribers::forget(&mut store, address, clock)?;
            say!(
                "forgot {key}: {} membership(s), {} ledger row(s), {} suppression(s), {} bounce record(s) erased; a hashed suppression keeps it from being mailed again",
                f.members,
                f.deliveries,
                f.suppressions,
                f.events
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
