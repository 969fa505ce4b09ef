//! Stage 6, archive: the frozen issues in `digests/` as a small web site (an index, a page per
//! digest and per issue, an Atom feed per digest). The daemon serves it under `/archive/`; `digest
//! archive --out DIR` writes it as static files. Both go through [`Page`], so they are the same site.

use std::path::PathBuf;

use anyhow::Result;

use crate::config::Config;
use crate::issue;
use crate::period::Period;
use crate::render::{self, Context, Theme};

/// One page of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// `/archive/`: every digest and its issues.
    Index,
    /// `/archive/<digest>/`: one digest's issues.
    Digest(String),
    /// `/archive/<digest>/feed.xml`: the Atom feed of one digest.
    Feed(String),
    /// `/archive/<digest>/<period>/`: one issue.
    Issue(String, Period),
}

/// The URL path of the archive's index.
pub const ROOT: &str = "/archive/";

impl Page {
    /// The page's URL path, e.g. `/archive/weekly/2024-W27/`.
    pub fn url_path(&self) -> String {
        match self {
            Page::Index => ROOT.to_string(),
            Page::Digest(d) => format!("{ROOT}{d}/"),
            Page::Feed(d) => format!("{ROOT}{d}/feed.xml"),
            Page::Issue(d, p) => format!("{ROOT}{d}/{p}/"),
        }
    }

    /// The page that `path` names, if it is one of `config`'s digests and a period of its kind.
    pub fn from_url_path(config: &Config, path: &str) -> Option<Page> {
        let rest = path.strip_prefix(ROOT)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let digest = |id: &str| config.digests.get(id);
        match parts.as_slice() {
            [""] => Some(Page::Index),
            [id, ""] => digest(id).map(|d| Page::Digest(d.id.clone())),
            [id, "feed.xml"] => digest(id).map(|d| Page::Feed(d.id.clone())),
            [id, period, ""] => {
                let d = digest(id)?;
                let period = Period::parse_as(d.period, period).ok()?;
                // Only the canonical spelling, so every page has one address.
                (period.to_string() == parts[1]).then(|| Page::Issue(d.id.clone(), period))
            }
            _ => None,
        }
    }

    /// Where a static copy of the page goes, relative to the output folder:
    /// `archive/<digest>/index.html` for `/archive/<digest>/`.
    pub fn file(&self) -> PathBuf {
        let path = self.url_path();
        let relative = path.trim_start_matches('/');
        if relative.ends_with('/') {
            PathBuf::from(format!("{relative}index.html"))
        } else {
            PathBuf::from(relative)
        }
    }

    /// The page's media type.
    pub fn content_type(&self) -> &'static str {
        match self {
            Page::Feed(_) => "application/atom+xml; charset=utf-8",
            _ => "text/html; charset=utf-8",
        }
    }
}

/// Every page of the archive: the index, then per digest its page, its feed and its issues.
pub fn pages(config: &Config) -> Result<Vec<Page>> {
    let mut pages = vec![Page::Index];
    for id in config.digests.keys() {
        pages.push(Page::Digest(id.clone()));
        pages.push(Page::Feed(id.clone()));
        for issue in issue::list(&config.paths.digests, id)? {
            pages.push(Page::Issue(id.clone(), issue.period));
        }
    }
    Ok(pages)
}

/// Renders `page`; `None` when it names an issue that is not frozen.
pub fn render(config: &Config, theme: &Theme, page: &Page) -> Result<Option<String>> {
    let ctx = Context {
        site: &config.site,
        theme,
    };
    let digests = &config.paths.digests;
    let markup = match page {
        Page::Index => {
            let mut all = Vec::new();
            for digest in config.digests.values() {
                all.push((digest, issue::list(digests, &digest.id)?));
            }
            render::archive::index(&ctx, &all)
        }
        Page::Digest(id) => {
            let digest = config.digest(id)?;
            render::archive::digest(&ctx, digest, &issue::list(digests, id)?)
        }
        Page::Feed(id) => {
            let digest = config.digest(id)?;
            render::archive::feed(&config.site, digest, &issue::list(digests, id)?)
        }
        Page::Issue(id, period) => {
            let digest = config.digest(id)?;
            match issue::find(digests, id, *period)? {
                Some(issue) => render::archive::issue(&ctx, digest, &issue),
                None => return Ok(None),
            }
        }
    };
    Ok(Some(markup.into_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths_and_pages_correspond_one_to_one() {
        let config = crate::config::for_test("[digests.w]\ntag = \"t\"\nperiod = \"weekly\"\n");
        let week: Period = "2024-W27".parse().unwrap();
        for page in [
            Page::Index,
            Page::Digest("w".into()),
            Page::Feed("w".into()),
            Page::Issue("w".into(), week),
        ] {
            assert_eq!(
                Page::from_url_path(&config, &page.url_path()),
                Some(page.clone())
            );
        }
        assert_eq!(
            Page::Issue("w".into(), week).file(),
            PathBuf::from("archive/w/2024-W27/index.html")
        );
        assert_eq!(
            Page::Feed("w".into()).file(),
            PathBuf::from("archive/w/feed.xml")
        );
        for path in [
            "/archive",
            "/archive/w",
            "/archive/nope/",
            "/archive/w/2024-07/",
            "/archive/w/2024-w27/",
            "/archive/w/2024-W27",
            "/archive/w/2024-W27/x",
            "/archive/../etc/passwd",
            "/archive/w/../../",
        ] {
            assert_eq!(Page::from_url_path(&config, path), None, "{path}");
        }
    }
}
