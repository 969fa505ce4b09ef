//! Feed parsing: every file of a corpus parsed by the feed stage of `digest ingest`
//! (`catalog::feed::parse`: charset repair, feed-rs, HTML to text, engagement), files read into
//! memory first so only parsing is timed. `benches/feedparser_peer.py` times Python's feedparser on
//! the same files the same way.
//!
//! `feeds CORPUS_DIR RUNS` prints `median_s=… files=… items=… refused=…`.

#[path = "common/args.rs"]
mod args;
#[path = "common/timing.rs"]
mod timing;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use digest::catalog::feed;
use digest::config::{FeedSettings, Location, Source, SourceKind};

/// Every file under `dir` except its LICENSE, sorted.
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| d.display().to_string())? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "LICENSE") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn main() -> Result<()> {
    let args = args::positional();
    let [dir, runs] = args.as_slice() else {
        return Err(anyhow!("usage: feeds CORPUS_DIR RUNS"));
    };
    let runs: usize = runs.parse().context("RUNS")?;
    let documents = files(Path::new(dir))?
        .into_iter()
        .map(|p| Ok((std::fs::read(&p)?, p)))
        .collect::<std::io::Result<Vec<_>>>()?;
    let (median, (items, refused)) = timing::median(runs, || {
        let (mut items, mut refused) = (0, 0);
        for (bytes, path) in &documents {
            let source = Source {
                name: "bench".into(),
                kind: SourceKind::Feed,
                location: Location::File(path.clone()),
                weight: 1.0,
                feed: FeedSettings::default(),
            };
            match feed::parse(bytes, None, &source) {
                Ok(parsed) => items += parsed.items.len(),
                Err(_) => refused += 1,
            }
        }
        (items, refused)
    });
    println!(
        "median_s={:.4} files={} items={items} refused={refused}",
        median.as_secs_f64(),
        documents.len()
    );
    Ok(())
}
