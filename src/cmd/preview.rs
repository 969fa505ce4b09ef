//! `digest preview`: render an issue (the frozen one if it exists) for review.

use std::process::ExitCode;

use anyhow::Result;

use super::{stores, target};
use crate::cli::PreviewArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::publish::build::Shown;
use crate::publish::preview;

pub(super) fn run(config: &Config, args: &PreviewArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let (digest, period) = target(config, &args.target, clock)?;
    let mut shown = stores(config);
    let mut store = shown.lazy(config, clock);
    let (explain, text, out) = (args.explain, args.text, args.out.as_deref());
    let p = preview::preview(
        config, digest, period, explain, text, out, clock, &mut store,
    )?;
    if let Some(explanation) = &p.explanation {
        say!("{}", explanation.trim_end());
        if let Shown::Frozen(_) = p.shown {
            say!("(the issue is frozen: the preview shows the frozen items, not this ranking)");
        }
        say!();
    }
    match &p.shown {
        Shown::Frozen(path) => say!(
            "issue #{} is frozen: rendering {}",
            p.issue.number,
            path.display()
        ),
        Shown::Draft => say!(
            "issue not frozen yet: draft of issue #{} from the current catalogue",
            p.issue.number
        ),
    }
    say!("subject: {}", p.subject);
    say!("wrote {} ({} bytes)", p.path.display(), p.body.len());
    if let Some(addr) = args.serve {
        if !addr.ip().is_loopback() {
            eprintln!(
                "warning: serving on {addr}, which is not a loopback address: others can read it"
            );
        }
        let listening = |at| say!("serving http://{at}/ (Ctrl-C to stop)");
        crate::web::preview::serve(addr, p.body, text, listening)?;
    }
    Ok(ExitCode::SUCCESS)
}
