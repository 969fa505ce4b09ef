//! The run report: after each scheduled run (and each failure) a short plain-text mail to the
//! `[monitoring] operators`, through the configured relay: the issue, its recipients, the ledger's
//! totals, the most frequent failure replies, unhealthy sources and what needs attention.

use std::fmt;

use anyhow::{Context as _, Result, anyhow};
use lettre::Message;
use lettre::message::header::ContentType;

use crate::clock::Clock;
use crate::config::Config;
use crate::mail::transport::Transport;
use crate::model::IssueKey;
use crate::period::Period;
use crate::store::{Counts, RunStatus, Store};

/// Failure replies listed at most.
const TOP_FAILURES: usize = 5;

/// What one run did, as the operators read it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The issue (digest and period).
    pub issue: IssueKey,
    /// The issue's number and title, once frozen.
    pub frozen: Option<(u32, String)>,
    /// How the run ended.
    pub status: RunStatus,
    /// The run record's detail.
    pub detail: String,
    /// The issue's ledger (every attempt so far).
    pub counts: Counts,
    /// The most frequent last replies of failed and deferred recipients, with their count.
    pub failures: Vec<(String, u64)>,
    /// Sources failing `fetch.unhealthy_after` times in a row: name, failures, last error.
    pub unhealthy: Vec<(String, u32, String)>,
}

impl RunReport {
    /// The report of the run of `digest` for `period` that ended with `status` and `detail`.
    pub fn collect(
        config: &Config,
        store: &Store,
        digest: &str,
        period: Period,
        status: RunStatus,
        detail: &str,
    ) -> Result<RunReport> {
        let issue = IssueKey::new(digest, period);
        let frozen =
            crate::issue::find(&config.paths.digests, digest, period)?.map(|i| (i.number, i.title));
        let after = config.fetch.unhealthy_after;
        let unhealthy = store
            .source_health()?
            .into_iter()
            .filter(|h| h.is_unhealthy(after))
            .map(|h| {
                let error = h.last_error.unwrap_or_default();
                (h.name, h.consecutive_failures, error)
            })
            .collect();
        Ok(RunReport {
            frozen,
            status,
            detail: detail.to_string(),
            counts: store.counts(&issue)?,
            failures: store.top_failures(&issue, TOP_FAILURES)?,
            unhealthy,
            issue,
        })
    }

    /// The mail's subject: `[digest] weekly 2024-W31: sent (120 sent, 2 failed)`.
    pub fn subject(&self) -> String {
        let c = &self.counts;
        format!(
            "[digest] {} {}: {} ({} sent, {} failed, {} deferred)",
            self.issue.digest, self.issue.period, self.status, c.sent, c.failed, c.deferred
        )
    }

    /// What an operator should look at, one line each; empty when all went well.
    pub fn attention(&self) -> Vec<String> {
        let c = &self.counts;
        let mut lines = Vec::new();
        let retry = format!(
            "digest send {} --period {}",
            self.issue.digest, self.issue.period
        );
        if self.status == RunStatus::Failed {
            lines.push(format!(
                "the run failed; the daemon retries it while within max_lateness: {}",
                self.detail
            ));
        }
        if c.deferred > 0 {
            lines.push(format!(
                "{} recipient(s) deferred after transient failures: the next attempt (or `{retry}`) resends only these",
                c.deferred
            ));
        }
        if c.failed > 0 {
            lines.push(format!(
                "{} recipient(s) refused permanently: see `digest status {} --period {}`",
                c.failed, self.issue.digest, self.issue.period
            ));
        }
        if c.pending > 0 {
            lines.push(format!("{} recipient(s) not attempted yet", c.pending));
        }
        for (name, failures, _) in &self.unhealthy {
            lines.push(format!(
                "source {name} failed {failures} ingests in a row: its articles are missing"
            ));
        }
        lines
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (c, key) = (&self.counts, &self.issue);
        match &self.frozen {
            Some((number, title)) => writeln!(f, "Issue:       #{number} {title} ({key})")?,
            None => writeln!(f, "Issue:       {key} (not frozen)")?,
        }
        writeln!(f, "Run:         {} ({})", self.status, self.detail)?;
        writeln!(f, "Recipients:  {}", c.total())?;
        writeln!(f, "Sent:        {}", c.sent)?;
        writeln!(f, "Deferred:    {}", c.deferred)?;
        writeln!(f, "Failed:      {}", c.failed)?;
        writeln!(f, "Suppressed:  {}", c.suppressed)?;
        if c.pending > 0 {
            writeln!(f, "Pending:     {}", c.pending)?;
        }
        if !self.failures.is_empty() {
            writeln!(f, "\nTop failure replies:")?;
            for (reply, n) in &self.failures {
                writeln!(f, "  {n} × {reply}")?;
            }
        }
        if !self.unhealthy.is_empty() {
            writeln!(f, "\nUnhealthy sources:")?;
            for (name, failures, error) in &self.unhealthy {
                writeln!(f, "  {name}: {failures} failures in a row: {error}")?;
            }
        }
        let attention = self.attention();
        writeln!(f, "\nNeeds attention:")?;
        if attention.is_empty() {
            writeln!(f, "  nothing")?;
        }
        for line in attention {
            writeln!(f, "  - {line}")?;
        }
        Ok(())
    }
}

/// Mails `report` to the operators through `transport`; the relay's reply. Nothing to do (and
/// `Ok(None)`) without operators.
pub fn mail(
    config: &Config,
    transport: &dyn Transport,
    report: &RunReport,
    clock: &dyn Clock,
) -> Result<Option<String>> {
    let operators = &config.monitoring.operators;
    if operators.is_empty() {
        return Ok(None);
    }
    let from = config
        .sending
        .mail
        .as_ref()
        .map(|m| m.from.clone())
        .ok_or_else(|| anyhow!("run reports need a [mail] section with `from`"))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(report.subject())
        .date(clock.now().into())
        .header(ContentType::TEXT_PLAIN);
    for to in operators {
        builder = builder.to(to.clone());
    }
    let message = builder
        .body(report.to_string())
        .context("building the run report")?;
    crate::publish::send::send_one(config, transport, &message, clock.now())?
        .map(Some)
        .map_err(|e| anyhow!("run report not sent: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(status: RunStatus, counts: Counts) -> RunReport {
        RunReport {
            issue: IssueKey::new("weekly", "2024-W31".parse().unwrap()),
            frozen: Some((7, "Best of rust".into())),
            status,
            detail: "detail".into(),
            counts,
            failures: vec![("550 5.1.1 user unknown".into(), 2)],
            unhealthy: vec![("blog".into(), 4, "HTTP 500".into())],
        }
    }

    #[test]
    fn a_report_lists_the_figures_and_what_needs_attention() {
        // A report without the failures and the unhealthy source would tell the operator all is
        // well while readers miss the issue.
        let counts = Counts {
            sent: 5,
            failed: 2,
            deferred: 1,
            suppressed: 1,
            ..Counts::default()
        };
        let r = report(RunStatus::Failed, counts);
        let text = r.to_string();
        for want in [
            "Issue:       #7 Best of rust (weekly/2024-W31)",
            "Recipients:  9",
            "Sent:        5",
            "Deferred:    1",
            "Failed:      2",
            "Suppressed:  1",
            "  2 × 550 5.1.1 user unknown",
            "  blog: 4 failures in a row: HTTP 500",
            "  - the run failed",
            "  - 1 recipient(s) deferred",
            "  - 2 recipient(s) refused permanently",
            "  - source blog failed 4 ingests in a row",
        ] {
            assert!(text.contains(want), "{want:?} missing:\n{text}");
        }
        assert_eq!(
            r.subject(),
            "[digest] weekly 2024-W31: failed (5 sent, 2 failed, 1 deferred)"
        );
        let clean = RunReport {
            unhealthy: vec![],
            failures: vec![],
            ..report(
                RunStatus::Sent,
                Counts {
                    sent: 3,
                    ..Counts::default()
                },
            )
        };
        assert!(clean.to_string().ends_with("Needs attention:\n  nothing\n"));
    }
}
