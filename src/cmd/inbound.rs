//! `digest inbound`: `classify` prints what each message file is and, per bounced recipient,
//! why; `--stdin`, `--maildir` and `--imap` apply what came back to the store and print a summary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{InboundAction, InboundArgs, UsageError};
use crate::clock::Clock;
use crate::config::Config;
use crate::publish;
use crate::publish::inbound::Source;
use crate::text::one_line;

/// sysexits.h EX_TEMPFAIL: the MTA keeps the message and retries.
const EX_TEMPFAIL: u8 = 75;

pub(super) fn run(config_dir: &Path, args: &InboundArgs, clock: &dyn Clock) -> Result<ExitCode> {
    if let Some(InboundAction::Classify { json, files }) = &args.action {
        return Ok(classify(files, *json));
    }
    if args.stdin {
        // Whatever fails here is the store's or the configuration's, not the message's: the MTA
        // is told to retry rather than to bounce the bounce.
        let done = Config::load(config_dir)
            .map_err(anyhow::Error::from)
            .and_then(|config| publish::inbound::message(&config, &mut std::io::stdin(), clock));
        return Ok(match done {
            Ok(tally) => {
                say!("{tally}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(EX_TEMPFAIL)
            }
        });
    }
    if args.maildir.is_none() && !args.imap {
        return Err(UsageError(
            "say what to process: --stdin, --maildir DIR, --imap, or classify FILE…".into(),
        )
        .into());
    }
    let config = Config::load(config_dir)?;
    let source = match &args.maildir {
        Some(dir) => Source::Maildir(dir),
        None => Source::Imap(
            config
                .inbound
                .as_ref()
                .and_then(|i| i.imap.as_ref())
                .ok_or_else(|| {
                    UsageError("--imap reads the mailbox of [inbound.imap]: configure one".into())
                })?,
        ),
    };
    let run = publish::inbound::by_hand(&config, source, clock)?;
    for problem in &run.problems {
        eprintln!("error: {problem}");
    }
    say!("{}: {}", source.describe(), run.tally);
    Ok(if run.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `digest inbound classify`: a line per finding of each file; exit 1 if a file was unreadable.
fn classify(files: &[PathBuf], json: bool) -> ExitCode {
    let mut failed = false;
    for (path, lines) in files
        .iter()
        .zip(publish::inbound::classify_files(files, json))
    {
        match lines {
            Ok(lines) => lines.iter().for_each(|line| say!("{line}")),
            Err(e) => {
                eprintln!("error: {}: {e}", one_line(&path.to_string_lossy(), 500));
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
