//! `digest preview`: an issue rendered for review, written to a file.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::clock::Clock;
use crate::config::{Config, Digest};
use crate::issue::{self, Issue};
use crate::period::Period;
use crate::publish::build::{self, Shown};
use crate::publish::ingest::Lazy;
use crate::render::{self, Values};
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

/// An issue's email as a reader would see it, with stand-in recipient values (no real address,
/// no real token): what previews, the review message and the draft page show.
#[derive(Debug)]
pub struct Rendered {
    /// The email, rendered once.
    pub email: render::Email,
    /// Its HTML part, filled.
    pub html: String,
    /// Its text part, filled.
    pub text: String,
}

/// Renders `issue` with the configured theme and fills it with stand-in recipient values.
pub fn rendered(config: &Config, issue: &Issue) -> Result<Rendered> {
    let email = render::email_with_theme(&config.site, &config.paths.templates, issue)?;
    let (unsubscribe_url, address) = render::preview_values(&config.site);
    let manage_url = format!("{}/manage/preview", config.site.base_url);
    let values = Values {
        unsubscribe_url: &unsubscribe_url,
        email: &address,
        manage_url: &manage_url,
    };
    Ok(Rendered {
        html: email.html.fill(&values),
        text: email.text.fill(&values),
        email,
    })
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
    let shown_email = rendered(config, &issue)?;
    let (body, extension) = match text {
        true => (shown_email.text, "txt"),
        false => (shown_email.html, "html"),
    };
    let email = shown_email.email;
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
