//! One send of one issue, set up from the configuration: the rendered issue with its headers, the
//! transport, the shared rate limiter (seeded with recent sends) and the retry policy. The CLI
//! (`digest send`) and the daemon both start a send from here.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow};
use chrono::Duration as Span;

use super::message::{Prepared, Settings};
use super::rate::{Limiter, Recent};
use super::send::{OUTAGE_TOLERANCE, Options, Setup};
use super::transport::{Transport, smtp};
use crate::clock::Clock;
use crate::config::{Config, Digest};
use crate::issue::Issue;
use crate::model::token::Keys;
use crate::render::{self, Context, Theme};
use crate::store::Store;

/// How long in-flight messages may take to finish after a stop is requested.
pub const GRACE: Duration = Duration::from_secs(30);

/// The unsubscribe keys, or an error saying how to set them.
pub fn keys(config: &Config) -> Result<Keys> {
    let spec = config.sending.unsubscribe_keys.as_ref().ok_or_else(|| {
        anyhow!("no unsubscribe keys: set DIGEST__UNSUBSCRIBE__KEYS to `id:secret` (a secret of 32 bytes or more)")
    })?;
    Keys::parse(spec.expose()).map_err(|e| anyhow!("DIGEST__UNSUBSCRIBE__KEYS: {e}"))
}

/// Renders `issue` once and decides its fixed headers, signing with the configured keys.
pub fn prepare(config: &Config, digest: &Digest, issue: &Issue) -> Result<Prepared> {
    prepare_with(config, digest, issue, &keys(config)?)
}

/// [`prepare`], signing unsubscribe tokens and Message-IDs with `keys`.
pub fn prepare_with(
    config: &Config,
    digest: &Digest,
    issue: &Issue,
    keys: &Keys,
) -> Result<Prepared> {
    let mail = config
        .sending
        .mail
        .as_ref()
        .ok_or_else(|| anyhow!("no [mail] section in the configuration: set mail.from"))?;
    let theme = Theme::load(&config.paths.templates)?;
    let email = render::email(
        issue,
        &Context {
            site: &config.site,
            theme: &theme,
        },
    )?;
    let settings = Settings {
        site: &config.site,
        digest,
        mail,
        keys,
        dkim: config.sending.dkim.as_ref(),
    };
    Prepared::new(issue, &email, &settings)
}

/// The configured SMTP relay.
pub fn smtp_connector(config: &Config) -> Result<Arc<dyn Transport>> {
    let smtp = config.sending.smtp.as_ref().ok_or_else(|| {
        anyhow!("no [smtp] section in the configuration: configure the relay (or, with `digest send`, write .eml files with --eml DIR)")
    })?;
    Ok(Arc::new(smtp::Connector::new(smtp)?))
}

/// Messages sent in the last hour and day, for the day and hour limits.
pub fn recent(store: &Store, clock: &dyn Clock) -> Result<Recent> {
    let now = clock.now();
    Ok(Recent {
        hour: store.sent_since(now - Span::hours(1))?,
        day: store.sent_since(now - Span::days(1))?,
    })
}

/// Everything a send of `prepared` through `transport` needs.
pub fn setup(
    config: &Config,
    prepared: Arc<Prepared>,
    transport: Arc<dyn Transport>,
    store: &Store,
    clock: &dyn Clock,
    retry_failed: bool,
) -> Result<Setup> {
    let smtp = config.sending.smtp.as_ref();
    let options = Options {
        concurrency: smtp.map_or(1, |s| s.concurrency),
        max_attempts: smtp.map_or(3, |s| s.max_attempts),
        retry_base: smtp.map_or(Duration::from_secs(1), |s| s.retry_base),
        retry_max: smtp.map_or(Duration::from_secs(60), |s| s.retry_max),
        outage_tolerance: smtp.map_or(OUTAGE_TOLERANCE, |s| s.outage_tolerance),
        grace: GRACE,
        retry_failed,
        suppress_hard_bounces: config
            .sending
            .mail
            .as_ref()
            .is_some_and(|m| m.suppress_hard_bounces),
    };
    let limiter = Arc::new(Limiter::new(
        &smtp.map(|s| s.rate).unwrap_or_default(),
        recent(store, clock)?,
    ));
    Ok(Setup {
        prepared,
        transport,
        limiter,
        options,
        observer: None,
    })
}
