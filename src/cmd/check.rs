//! `digest check`: validate everything a run needs and print every problem.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::clock::Clock;
use crate::publish::check;

pub(super) fn run(dir: &Path, clock: &dyn Clock) -> Result<ExitCode> {
    let config = match check::load(dir) {
        Ok(config) => config,
        Err(invalid) => {
            eprint!("{invalid}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let files: Vec<String> = config
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    say!("configuration OK: {}", files.join(", "));
    say!("{}", check::summary(&config, clock.now()).trim_end());
    Ok(ExitCode::SUCCESS)
}
