//! `digest check`: every problem a run would meet, found before the run. The daemon runs the same
//! checks when it starts and on every reload ([`load`]), and reports what keeps it from working
//! now on `/readyz` ([`readiness`]).

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::config::{Config, Digest, Invalid, Location, Problem};
use crate::render::Theme;
use crate::schedule::{format_duration, local_time};
use crate::store::{RunStatus, Store};

/// The configuration in `dir`, parsed and then checked with [`problems`]: what `digest check`
/// accepts, and so what the daemon starts with and reloads.
pub fn load(dir: &Path) -> Result<Config, Invalid> {
    let config = Config::load(dir)?;
    let problems = problems(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(Invalid(problems))
    }
}

/// Problems beyond the configuration's own syntax: missing source and list files, a theme that
/// does not load, a damaged store, what a digest with lists needs to send (unsubscribe keys,
/// `[mail]`, a DKIM key that loads, `[smtp]` for a scheduled send), and what the IMAP mailbox
/// needs to be read (its password, its CA file). Each names the configuration key it comes from.
pub fn problems(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    for source in config.sources.values() {
        if let Location::File(path) = &source.location
            && !path.is_file()
        {
            let message = format!("file not found: {}", path.display());
            problems.push(config.problem_at(&format!("sources.{}.path", source.name), message));
        }
    }
    for list in config.sending.lists.values() {
        if let Some(path) = list.file.as_ref().filter(|p| !p.is_file()) {
            let message = format!("file not found: {}", path.display());
            problems.push(config.problem_at(&format!("lists.{}.file", list.name), message));
        }
    }
    problems.extend(sending(config));
    problems.extend(super::review::problems(config));
    problems.extend(inbound(config));
    if let Err(e) = Theme::load(&config.paths.templates) {
        problems.push(config.problem_at("paths.templates", format!("{e:#}")));
    }
    if config.paths.store.exists() {
        match Store::open(&config.paths.store).and_then(|s| s.integrity_check()) {
            Ok(ok) if ok == "ok" => {}
            Ok(report) => {
                problems.push(config.problem_at("paths.store", format!("store damaged: {report}")))
            }
            Err(e) => problems.push(config.problem_at("paths.store", format!("{e:#}"))),
        }
    }
    problems
}

/// What the `[inbound.imap]` mailbox lacks to be read: its password, its CA file.
fn inbound(config: &Config) -> Vec<Problem> {
    let Some(imap) = config.inbound.as_ref().and_then(|i| i.imap.as_ref()) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    if imap.password.is_none() {
        let var = crate::inbound::imap::PASSWORD_VAR;
        let message =
            format!("reading the mailbox needs its password: set the environment variable {var}");
        problems.push(config.problem_at("inbound.imap", message));
    }
    if let Some(path) = imap.ca_file.as_ref().filter(|p| !p.is_file()) {
        let message = format!("file not found: {}", path.display());
        problems.push(config.problem_at("inbound.imap.ca_file", message));
    }
    problems
}

/// The digests that send to lists.
fn senders(config: &Config) -> impl Iterator<Item = &Digest> {
    config.digests.values().filter(|d| !d.lists.is_empty())
}

/// Whether a digest sends to lists while `DIGEST__UNSUBSCRIBE__KEYS` is unset: no message could
/// be signed, and no unsubscribe link verified.
fn keys_missing(config: &Config) -> bool {
    config.sending.unsubscribe_keys.is_none() && senders(config).next().is_some()
}

/// What the digests with lists lack to send, blamed on each digest's `lists` (or `schedule`).
fn sending(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    let keys_missing = keys_missing(config);
    for d in senders(config) {
        let lists = format!("digests.{}.lists", d.id);
        if keys_missing {
            let message = "sending to lists needs unsubscribe keys: set the environment variable \
                           DIGEST__UNSUBSCRIBE__KEYS to `id:secret` (a secret of 32 bytes or more)";
            problems.push(config.problem_at(&lists, message));
        }
        if config.sending.mail.is_none() {
            let message = "sending to lists needs a [mail] section with `from`";
            problems.push(config.problem_at(&lists, message));
        }
        if d.schedule.is_some() && config.sending.smtp.is_none() {
            let message =
                "the daemon sends this digest to its lists, which needs an [smtp] section";
            problems.push(config.problem_at(&format!("digests.{}.schedule", d.id), message));
        }
    }
    if let Some(dkim) = &config.sending.dkim
        && let Err(e) = crate::mail::message::check_dkim(dkim)
    {
        // The message names the variable and the key's format, never the key.
        problems.push(config.problem_at("dkim", format!("{e:#}")));
    }
    problems
}

/// Why the daemon cannot do its job now, one reason per line for `/readyz` (empty: ready):
/// `store unreachable`, `unsubscribe keys missing`, `digest X: last run failed: …`, `inbound
/// SOURCE: failing …`. Never a secret.
pub fn readiness(config: &Config, store: &Store) -> Vec<String> {
    let failed = failed_runs(config, store).and_then(|runs| {
        let inbound = failing_inbound(config, store)?;
        Ok(runs.into_iter().chain(inbound))
    });
    match failed {
        Ok(failed) => keys_missing(config)
            .then(|| "unsubscribe keys missing".to_string())
            .into_iter()
            .chain(failed)
            .collect(),
        Err(e) => vec![format!(
            "store unreachable: {}",
            one_line(&format!("{e:#}"))
        )],
    }
}

/// `digest X: last run failed: …` for each digest whose latest recorded run failed.
fn failed_runs(config: &Config, store: &Store) -> anyhow::Result<Vec<String>> {
    store.ping()?;
    let mut failed = Vec::new();
    for d in config.digests.values() {
        if let Some(run) = store
            .recent_runs(&d.id, 1)?
            .into_iter()
            .find(|r| r.status == RunStatus::Failed)
        {
            let (id, detail) = (&d.id, one_line(&run.detail));
            failed.push(format!("digest {id}: last run failed: {detail}"));
        }
    }
    Ok(failed)
}

/// `inbound SOURCE: failing (N look(s) in a row): …` for each `[inbound]` source whose latest
/// look failed (a wrong password, an untrusted certificate, a missing Maildir).
fn failing_inbound(config: &Config, store: &Store) -> anyhow::Result<Vec<String>> {
    Ok(crate::publish::inbound::health(config, store)?
        .into_iter()
        .filter(|(_, h)| h.consecutive_failures > 0)
        .map(|(source, h)| {
            let error = one_line(h.last_error.as_deref().unwrap_or("unknown error"));
            let n = h.consecutive_failures;
            format!("inbound {source}: failing ({n} look(s) in a row): {error}")
        })
        .collect())
}

/// `text` on one line: line breaks and other control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// What the configuration sets up, for people: each digest with its schedule and next runs, each
/// source, the web server.
pub fn summary(config: &Config, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for d in config.digests.values() {
        let cap = d
            .max_per_source
            .map_or("no cap".to_string(), |c| format!("≤{c} per source"));
        let _ = writeln!(
            out,
            "  {}: {} in {}, tags [{}], {} items ({cap}), min score {}, min items {}",
            d.id,
            d.period,
            d.timezone,
            d.tags.join(", "),
            d.size,
            d.min_score,
            d.min_items
        );
        out.push_str(&schedule(d, now));
    }
    for s in config.sources.values() {
        let _ = writeln!(out, "  source {}: {:?} {}", s.name, s.kind, s.location);
    }
    let _ = writeln!(out, "  daemon web server: http://{}/", config.web.listen);
    out
}

/// The digest's schedule and its next runs in its time zone, indented under its summary line.
fn schedule(d: &Digest, now: DateTime<Utc>) -> String {
    let Some(schedule) = &d.schedule else {
        return "    no schedule: the daemon does not run it\n".into();
    };
    let mut out = format!(
        "    schedule {:?} (cron: {}), max lateness {}{}; next runs:\n",
        schedule.as_written(),
        schedule.cron_expression(),
        format_duration(d.max_lateness),
        if d.ingest_before {
            ", ingests first"
        } else {
            ""
        },
    );
    let next = schedule.upcoming(now, d.timezone, 3);
    for t in &next {
        let _ = writeln!(out, "      {}", local_time(*t, d.timezone));
    }
    if next.is_empty() {
        out.push_str("      none: the schedule has no date after today\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn readiness_names_missing_keys_and_each_failed_last_run() {
        // Without keys the daemon answered every unsubscribe with 500 and failed every run, and
        // nothing but its log said so.
        let mut config = crate::config::for_test(
            "[digests.d]\ntag = \"t\"\nperiod = \"monthly\"\nlists = [\"l\"]\n\n\
             [digests.e]\ntag = \"t\"\nperiod = \"monthly\"\n\n\
             [mail]\nfrom = \"d@s.example\"\n\n[lists.l]\nmembers = [\"a@s.example\"]\n",
        );
        config.sending.unsubscribe_keys = None;
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("digest.db")).unwrap();
        assert_eq!(readiness(&config, &store), ["unsubscribe keys missing"]);

        let at = Utc.with_ymd_and_hms(2024, 8, 1, 6, 0, 0).unwrap();
        for (digest, status, detail) in [
            (
                "d",
                RunStatus::Failed,
                "sending stopped:\nthe relay is down",
            ),
            ("e", RunStatus::Built, "issue #1, 1 items"),
        ] {
            let july = "2024-07".parse().unwrap();
            store.claim_run(digest, july, at, at).unwrap();
            store.finish_run(digest, july, status, detail, at).unwrap();
        }
        config.sending.unsubscribe_keys = Some(crate::config::Secret::new(
            "t1:test-secret-test-secret-test-secret-0001",
        ));
        assert_eq!(
            readiness(&config, &store),
            ["digest d: last run failed: sending stopped: the relay is down"]
        );
    }
}
