//! What commands show while they work: a bar on a terminal, plain lines otherwise.

use std::io::IsTerminal as _;
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::catalog::Report;
use crate::clock::Clock;
use crate::config::Config;
use crate::config::Source;
use crate::mail::send::Progress;
use crate::publish::ingest::{self, Lazy, Observer, Refresh};

/// A bar on stderr when it is a terminal; hidden otherwise.
fn bar(template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Ingest progress: which source is loading (and how many lines of a JSON Lines source are in),
/// then one line per source: counts on stdout, reasons and failures on stderr.
pub(super) struct Sources {
    bar: ProgressBar,
    unhealthy_after: u32,
}

impl Sources {
    pub(super) fn new(sources: usize, unhealthy_after: u32) -> Sources {
        let bar = bar("{bar:30} {pos}/{len} sources  {msg}");
        bar.set_length(sources as u64);
        Sources {
            bar,
            unhealthy_after,
        }
    }
}

impl Sources {
    /// The store, opened on first use and filled first if it holds no article, shown here.
    pub(super) fn lazy<'a>(&'a mut self, config: &'a Config, clock: &'a dyn Clock) -> Lazy<'a> {
        Lazy::new(config, Refresh::IfEmpty, clock, self)
    }
}

impl Drop for Sources {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Sources {
    fn filling(&mut self, store: &Path) {
        eprintln!(
            "new store {}: ingesting the configured sources first",
            store.display()
        );
    }

    fn started(&mut self, source: &Source) {
        self.bar.set_message(source.name.clone());
    }

    fn lines_read(&mut self, source: &Source, lines: usize) {
        self.bar
            .set_message(format!("{}: {lines} lines", source.name));
    }

    fn finished(&mut self, source: &Source, report: &Report) {
        let told = ingest::Told::new(&source.name, report, self.unhealthy_after);
        self.bar.suspend(|| {
            if let Some(line) = &told.done {
                say!("{line}");
            }
            for line in &told.trouble {
                eprintln!("{line}");
            }
        });
        self.bar.inc(1);
    }
}

/// Send progress: a bar on a terminal, a line every few seconds otherwise.
pub(super) struct Sending {
    bar: ProgressBar,
    last: Instant,
    started: Instant,
}

impl Sending {
    pub(super) fn new() -> Sending {
        let now = Instant::now();
        Sending {
            bar: bar("{bar:30} {pos}/{len} {msg} {per_sec} ETA {eta}"),
            last: now,
            started: now,
        }
    }

    pub(super) fn report(&mut self, p: &Progress) {
        let (failed, deferred) = (p.failed, p.deferred);
        if !self.bar.is_hidden() {
            self.bar.set_length(p.total);
            self.bar.set_position(p.done());
            self.bar.set_message(format!(
                "sent {}, failed {failed}, deferred {deferred}",
                p.sent
            ));
            if p.done() >= p.total {
                self.bar.finish_and_clear();
            }
            return;
        }
        if self.last.elapsed() >= Duration::from_secs(2) || p.done() >= p.total {
            self.last = Instant::now();
            let rate = p.sent as f64 / self.started.elapsed().as_secs_f64().max(0.001);
            eprintln!(
                "progress: {}/{} done, {} sent, {failed} failed, {deferred} deferred, {} suppressed, {rate:.0} msg/s",
                p.done(),
                p.total,
                p.sent,
                p.suppressed
            );
        }
    }
}
