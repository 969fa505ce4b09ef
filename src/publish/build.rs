//! Freezing the issue of a period, or drafting it for a preview.

use std::path::PathBuf;

use crate::clock::Clock;
use crate::config::{Config, Digest};
use crate::issue::{self, Issue, Outcome};
use crate::period::Period;
use crate::publish::ingest::Lazy;
use crate::render::{self, Theme};
use crate::select::{self, Ranking};

pub use crate::issue::{BuildError, OpenPeriod, TooFew};

/// A frozen issue and what [`freeze`] did to it.
#[derive(Debug)]
pub struct Built {
    /// The issue.
    pub issue: Issue,
    /// Created, rebuilt or found frozen already.
    pub outcome: Outcome,
    /// Its `issue.json`.
    pub path: PathBuf,
}

/// Freezes the issue of `digest` for `period` (or leaves the frozen one alone unless `rebuild`),
/// ranking the catalogue of `store` only if a new issue must be composed. A new issue whose email
/// would be clipped by Gmail is refused ([`check_size`]) unless `allow_oversize`.
pub fn freeze(
    config: &Config,
    digest: &Digest,
    period: Period,
    allow: Allow,
    clock: &dyn Clock,
    store: &mut Lazy<'_>,
) -> Result<Built, BuildError> {
    if !allow.open_period {
        issue::ensure_closed(digest, period, clock.now())?;
    }
    let Allow {
        rebuild,
        allow_oversize,
        ..
    } = allow;
    let digests = &config.paths.digests;
    let (issue, outcome) = issue::freeze(
        digests,
        digest,
        period,
        rebuild,
        clock.now(),
        || rank(config, digest, period, store),
        |issue| match allow_oversize {
            true => Ok(()),
            false => check_size(config, issue),
        },
    )?;
    Ok(Built {
        issue,
        outcome,
        path: issue::path(digests, &digest.id, period),
    })
}

/// What a freeze may do beyond the default (a new issue of a closed period, under the size
/// limit). The daemon allows none of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allow {
    /// Replace an issue frozen already, keeping its number.
    pub rebuild: bool,
    /// Freeze a period that has not closed yet.
    pub open_period: bool,
    /// Freeze an issue whose email Gmail would clip.
    pub allow_oversize: bool,
}

/// Renders the email of `issue` and fails with [`render::Oversize`] (size, limit and how to
/// allow it) if its HTML stays over [`render::HTML_BUDGET`] with every summary dropped.
pub fn check_size(config: &Config, issue: &Issue) -> anyhow::Result<()> {
    let theme = Theme::load(&config.paths.templates)?;
    let ctx = render::Context {
        site: &config.site,
        theme: &theme,
    };
    Ok(render::email(issue, &ctx)?.check_size(issue)?)
}

/// The issue a preview shows: the frozen one, or a draft from the current catalogue.
#[derive(Debug)]
pub enum Shown {
    /// Frozen at this path.
    Frozen(PathBuf),
    /// Not frozen yet: a draft, numbered as the next issue would be.
    Draft,
}

/// The issue of `digest` for `period` as a preview shows it, and, with `explain`, the ranking
/// behind it (computed from the catalogue even when the issue is frozen).
pub fn draft(
    config: &Config,
    digest: &Digest,
    period: Period,
    explain: bool,
    clock: &dyn Clock,
    store: &mut Lazy<'_>,
) -> Result<(Issue, Shown, Option<Ranking>), BuildError> {
    let digests = &config.paths.digests;
    let ranking = match explain {
        true => Some(rank(config, digest, period, store)?),
        false => None,
    };
    if let Some(issue) = issue::find(digests, &digest.id, period)? {
        let path = issue::path(digests, &digest.id, period);
        return Ok((issue, Shown::Frozen(path), ranking));
    }
    let ranking = match ranking {
        Some(r) => r,
        None => rank(config, digest, period, store)?,
    };
    let number = issue::next_number(digests, &digest.id)?;
    let issue = issue::compose(digest, period, &ranking, number, clock.now())?;
    Ok((issue, Shown::Draft, explain.then_some(ranking)))
}

/// The ranking of `digest` for `period` from the current catalogue, for people
/// ([`select::explain`]): what `digest build --explain` prints.
pub fn explain(
    config: &Config,
    digest: &Digest,
    period: Period,
    store: &mut Lazy<'_>,
) -> anyhow::Result<String> {
    Ok(select::explain(
        digest,
        &rank(config, digest, period, store)?,
    ))
}

fn rank(
    config: &Config,
    digest: &Digest,
    period: Period,
    store: &mut Lazy<'_>,
) -> anyhow::Result<Ranking> {
    select::rank_period(&config.sources, store.get()?, digest, period)
}
