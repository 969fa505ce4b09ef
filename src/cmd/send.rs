//! `digest send`: rehearse (`--dry-run`), test (`--to`) or send a frozen issue.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::progress::Sending;
use super::target;
use crate::cli::SendArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::publish::review;
use crate::publish::send::{self, Plan};
use crate::stop::Stop;
use crate::store::Store;

pub(super) fn run(config: &Config, args: &SendArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let (digest, period) = target(config, &args.target, clock)?;
    let plan = Plan::new(config, digest, period, args.allow_oversize)?;
    let mut store = Store::open(&config.paths.store)?;
    let number = plan.issue.number;
    if args.dry_run {
        let rehearsal = plan.rehearse(&mut store, clock)?;
        say!("{}", rehearsal.to_string().trim_end());
        return Ok(ExitCode::SUCCESS);
    }
    let transport = send::transport(config, args.eml.as_deref())?;
    if let Some(to) = &args.to {
        let reply = plan.test(&*transport, &mut store, to, clock)?;
        say!(
            "sent a test message to {to} via {}: {reply}",
            transport.describe()
        );
        return Ok(ExitCode::SUCCESS);
    }
    review::ensure_cleared(&store, digest, &plan.issue)?;
    let audience = plan.resolve(&mut store, args.retry_failed, clock)?;
    say!("{}", audience.to_string().trim_end());
    if audience.to_send() == 0 {
        say!("nothing to send: every recipient of issue #{number} is already dealt with");
        return Ok(ExitCode::SUCCESS);
    }
    let question = format!(
        "send issue #{number} \"{}\" to {} recipient(s) via {}?",
        plan.prepared.subject,
        audience.to_send(),
        transport.describe()
    );
    if !args.yes && !confirm(&question)? {
        say!("cancelled: nothing sent");
        return Ok(ExitCode::FAILURE);
    }
    let stop = Stop::new();
    send::stop_on_signals(&stop, || {
        eprintln!("\nstopping: no new messages; waiting for the ones in flight…")
    })?;
    let mut shown = Sending::new();
    let summary = plan.run(
        &mut store,
        transport,
        args.retry_failed,
        clock,
        &stop,
        |p| shown.report(p),
    )?;
    match args.json {
        true => say!("{}", serde_json::to_string(&summary)?),
        false => say!("{}", summary.to_string().trim_end()),
    }
    Ok(match () {
        _ if summary.interrupted => ExitCode::from(130),
        _ if summary.is_clean() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("not sending without confirmation: stdin is not a terminal; pass --yes to send");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
