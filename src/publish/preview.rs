//! `digest preview`: an issue rendered for review, written to a file.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::clock::Clock;
use crate::config::{Config, Digest};
use crate::issue::{self, Issue};
use crate::period::Period;
use crate::publish::build::{self, Shown};
use crate::publish::ingest::Lazy;
use crate::render::{self, Context, Theme, Values};
use crate::select;

/// What a preview wrote.
#[derive(Debug)]
pub struct Preview {
    /// The issue shown.
    pub issue: Issue,
    /// Frozen or a draft.
    pub shown: Shown,
    /// With `explain`: the ranking behind the issue, for people.
    pub explanation: Option<String>,
    /// The subject line.
    pub subject: String,
    /// The HTML (or text) written.
    pub body: String,
    /// Where it was written.
    pub path: PathBuf,
}

/// Renders the issue of `digest` for `period` (the frozen one if it exists, else a draft) as HTML,
/// or as text with `text`, and writes it to `out` (default: `preview.html` or `preview.txt` beside
/// the issue).
#[allow(clippy::too_many_arguments)]
pub fn preview(
    config: &Config,
    digest: &Digest,
    period: Period,
    explain: bool,
    text: bool,
    out: Option<&Path>,
    clock: &dyn Clock,
    store: &mut Lazy<'_>,
) -> Result<Preview> {
    let (issue, shown, ranking) = build::draft(config, digest, period, explain, clock, store)?;
    let theme = Theme::load(&config.paths.templates)?;
    let email = render::email(
        &issue,
        &Context {
            site: &config.site,
            theme: &theme,
        },
    )?;
    let (unsubscribe_url, email_address) = render::preview_values(&config.site);
    let manage_url = format!("{}/manage/preview", config.site.base_url);
    let values = Values {
        unsubscribe_url: &unsubscribe_url,
        email: &email_address,
        manage_url: &manage_url,
    };
    let (body, extension) = match text {
        true => (email.text.fill(&values), "txt"),
        false => (email.html.fill(&values), "html"),
    };
    let path = out.map(Path::to_path_buf).unwrap_or_else(|| {
        issue::path(&config.paths.digests, &digest.id, period)
            .with_file_name(format!("preview.{extension}"))
    });
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, &body).with_context(|| format!("writing {}", path.display()))?;
    Ok(Preview {
        explanation: ranking.map(|r| select::explain(digest, &r)),
        issue,
        shown,
        subject: email.subject,
        body,
        path,
    })
}
