//! `digest inbound`: `classify` prints what each message file is and, per bounced recipient,
//! why; `--stdin` and `--maildir` apply what came back to the store and print a summary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{InboundAction, InboundArgs, UsageError};
use crate::clock::Clock;
use crate::config::Config;
use crate::inbound::{self, Classified};
use crate::publish;
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
    let Some(dir) = &args.maildir else {
        return Err(UsageError(
            "say what to process: --stdin, --maildir DIR, or classify FILE…".into(),
        )
        .into());
    };
    let config = Config::load(config_dir)?;
    let run = publish::inbound::maildir(&config, dir, clock)?;
    for problem in &run.problems {
        eprintln!("error: {problem}");
    }
    say!(
        "{}: {}",
        one_line(&dir.display().to_string(), 500),
        run.tally
    );
    Ok(if run.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `digest inbound classify`: a line per finding of each file; exit 1 if a file was unreadable.
fn classify(files: &[PathBuf], json: bool) -> ExitCode {
    let mut failed = false;
    for path in files {
        match publish::inbound::read(path) {
            Ok(raw) => print(path, &inbound::classify(&raw), json),
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

/// One line per finding (one for the file when there is none).
fn print(path: &Path, classified: &Classified, json: bool) {
    let file = path.to_string_lossy();
    for finding in classified.rows() {
        let recipient = finding.and_then(|f| f.recipient.as_deref());
        let class = finding.and_then(|f| f.class).map(|c| c.as_str());
        let status = finding.and_then(|f| f.status).map(|s| s.to_string());
        let diagnostic = finding.map(|f| f.diagnostic.as_str());
        if json {
            let original = &classified.original;
            let line = serde_json::json!({
                "file": file,
                "kind": classified.kind.as_str(),
                "recipient": recipient,
                "class": class,
                "status": status,
                "diagnostic": diagnostic,
                "message_id": original.message_id,
                "original_to": original.to,
                "list_id": original.list_id,
                "original_token": original.unsubscribe_token,
                "envelope_to": classified.envelope_to,
                "token": classified.token,
            });
            say!("{line}");
        } else {
            say!(
                "{}: {} {} {} {}{}",
                one_line(&file, 500),
                classified.kind.as_str(),
                recipient.unwrap_or("-"),
                class.unwrap_or("-"),
                status.as_deref().unwrap_or("-"),
                diagnostic
                    .filter(|d| !d.is_empty())
                    .map(|d| format!(" {d}"))
                    .unwrap_or_default()
            );
        }
    }
}
