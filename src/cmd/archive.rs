//! `digest archive --out DIR`: the archive the daemon serves, as static files.

use std::process::ExitCode;

use anyhow::{Context as _, Result};

use crate::archive;
use crate::cli::ArchiveArgs;
use crate::config::Config;
use crate::files;
use crate::render::Theme;

pub(super) fn run(config: &Config, args: &ArchiveArgs) -> Result<ExitCode> {
    let theme = Theme::load(&config.paths.templates)?;
    let pages = archive::pages(config)?;
    for page in &pages {
        let body = archive::render(config, &theme, page)?
            .with_context(|| format!("{} vanished while writing", page.url_path()))?;
        let file = args.out.join(page.file());
        files::replace(&file, body.as_bytes())
            .with_context(|| format!("writing {}", file.display()))?;
    }
    say!(
        "wrote {} pages to {}",
        pages.len(),
        args.out.join("archive").display()
    );
    Ok(ExitCode::SUCCESS)
}
