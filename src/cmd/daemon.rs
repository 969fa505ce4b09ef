//! `digest daemon`: the scheduler and the web server, until stopped.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use crate::clock::Clock;
use crate::config::Config;
use crate::daemon::{self, Publish};
use crate::metrics::Metrics;

pub(super) fn run(dir: &Path, config: Config, clock: Arc<dyn Clock>) -> Result<ExitCode> {
    let metrics = Arc::new(Metrics::new());
    let runner = Arc::new(Publish::new(clock.clone()).with_metrics(metrics.clone()));
    daemon::run(dir, config, clock, runner, metrics)?;
    Ok(ExitCode::SUCCESS)
}
