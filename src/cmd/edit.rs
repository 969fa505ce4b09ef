//! `digest edit`: edit a frozen issue that has not started sending.

use std::process::ExitCode;

use anyhow::{Context as _, Result};

use super::target;
use crate::cli::EditArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::issue::Change;
use crate::publish::edit::{self, Op};
use crate::store::Store;

pub(super) fn run(config: &Config, args: &EditArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let (digest, period) = target(config, &args.target, clock)?;
    let note = match &args.note {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("--note: reading {}", path.display()))?,
        ),
        None => None,
    };
    let ops: Vec<Op> = [
        args.drop.map(Op::Drop),
        args.pin.clone().map(|url| Op::Pin { url, at: args.at }),
        args.move_item.as_deref().map(|m| Op::Move(m[0], m[1])),
        note.map(Op::Note),
        args.subject.clone().map(Op::Subject),
        args.preheader.clone().map(Op::Preheader),
    ]
    .into_iter()
    .flatten()
    .collect();
    let store = Store::open(&config.paths.store)?;
    let issue = edit::apply(config, digest, period, &ops, "cli", &store, clock)?;
    for e in &issue.edits[issue.edits.len() - ops.len()..] {
        say!("{}", describe(&e.change));
    }
    say!(
        "issue #{} of {} for {period} now has {} items; preview: {}",
        issue.number,
        digest.id,
        issue.items.len(),
        crate::issue::path(&config.paths.digests, &digest.id, period)
            .with_file_name("preview.html")
            .display()
    );
    Ok(ExitCode::SUCCESS)
}

fn describe(change: &Change) -> String {
    match change {
        Change::Drop { position, url } => format!("dropped item {position} ({url})"),
        Change::Pin { url, position } => format!("pinned {url} at {position}"),
        Change::Move { from, to } => format!("moved item {from} to {to}"),
        Change::Note { chars: 0 } => "removed the editor's note".into(),
        Change::Note { chars } => format!("set the editor's note ({chars} characters)"),
        Change::Subject { value } => format!("subject: {value}"),
        Change::Preheader { value } => format!("preheader: {value}"),
    }
}
