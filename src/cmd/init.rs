//! `digest init`: write a new project and say what to do next.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::InitArgs;
use crate::clock::Clock;
use crate::publish::init::{self, DIGEST};

pub(super) fn run(args: &InitArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let project = init::init(&args.dir, clock.now())?;
    say!("wrote a new digest project:");
    for file in &project.files {
        say!("  {}", file.display());
    }
    say!();
    say!("Next:");
    if args.dir != Path::new(".") {
        say!("  cd {}", args.dir.display());
    }
    let steps = [
        (
            "digest check".to_string(),
            "validates the configuration, source, list and theme".to_string(),
        ),
        (
            format!("digest preview {DIGEST}"),
            format!(
                "renders the issue of {} from catalog/example-feed.xml",
                project.period.label()
            ),
        ),
    ];
    for (command, what) in steps {
        say!("  {command:<26} # {what}");
    }
    say!();
    say!("To mail it: set the unsubscribe key in the environment (never in a file), uncomment");
    say!(
        "`lists = [\"readers\"]` in config/digest.toml, then freeze the issue and rehearse the send"
    );
    say!("(no connection is opened; sample .eml files are written):");
    say!("  export DIGEST__UNSUBSCRIBE__KEYS=\"k1:$(openssl rand -hex 32)\"");
    say!("  digest check");
    say!("  digest build {DIGEST}");
    say!("  digest send {DIGEST} --dry-run");
    Ok(ExitCode::SUCCESS)
}
