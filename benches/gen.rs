//! Deterministic data for the large benchmark cases: the same arguments always write the same
//! bytes (a seeded SplitMix64, no system randomness), so runs on different days compare.
//!
//! ```text
//! gen articles N TAGS OUT.jsonl   N JSON Lines articles over TAGS tags, dated across 2024
//! gen recipients N OUT.csv        a subscriber list (email,name) of N distinct addresses
//! ```
//!
//! Run by `scripts/bench`; by hand: `cargo bench --bench gen -- articles 1000 20 /tmp/a.jsonl`.

#[path = "common/args.rs"]
mod args;
#[path = "common/rng.rs"]
mod rng;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, Duration, TimeZone, Utc};

use rng::Rng;

impl Rng {
    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "consensus",
    "raft",
    "paxos",
    "replication",
    "latency",
    "throughput",
    "queue",
    "stream",
    "cache",
    "index",
    "shard",
    "partition",
    "leader",
    "quorum",
    "clock",
    "vector",
    "log",
    "snapshot",
    "compaction",
    "gossip",
    "membership",
    "failure",
    "detector",
    "backpressure",
    "scheduler",
    "kernel",
    "memory",
    "allocator",
    "compiler",
    "runtime",
    "async",
    "lock",
    "transaction",
    "isolation",
    "serializable",
    "storage",
    "engine",
    "tree",
    "hash",
    "bloom",
];

const DOMAINS: &[&str] = &[
    "example.com",
    "example.net",
    "example.org",
    "mail.example.com",
    "post.example.net",
    "inbox.example.org",
    "readers.example.com",
    "news.example.net",
];

/// `least` to `least + spread - 1` words from [`WORDS`], separated by spaces.
fn words(rng: &mut Rng, least: u64, spread: u64) -> String {
    let n = least + rng.below(spread);
    (0..n)
        .map(|_| rng.pick(WORDS))
        .collect::<Vec<_>>()
        .join(" ")
}

/// JSON Lines articles in the catalogue format of the README: one to three tags each out of
/// `tags`, 200 publishers, published uniformly across 2024, most with engagement.
fn articles(n: u64, tags: u64, out: &mut impl Write) -> std::io::Result<()> {
    let mut rng = Rng(0x5EED_A271);
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let year = 366 * 24 * 3600;
    for i in 0..n {
        let publisher = rng.below(200);
        let title = words(&mut rng, 3, 6);
        let slug = title.replace(' ', "-");
        let mut tag_list: Vec<String> = (0..1 + rng.below(3))
            .map(|_| format!("tag-{}", rng.below(tags)))
            .collect();
        tag_list.dedup();
        let published = start + Duration::seconds(rng.below(year) as i64);
        let line = serde_json::json!({
            "url": format!("https://pub{publisher}.example.com/{i}/{slug}"),
            "title": title,
            "summary": words(&mut rng, 12, 20),
            "kind": if rng.below(10) == 0 { "video" } else { "article" },
            "source": {
                "id": format!("pub{publisher}"),
                "name": format!("Publisher {publisher}"),
                "avatar": format!("https://pub{publisher}.example.com/avatar.png"),
            },
            "tags": tag_list,
            "published_at": published.to_rfc3339(),
            "upvotes": if rng.below(5) == 0 { 0 } else { rng.below(2000) },
            "comments": rng.below(300),
        });
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// A CSV list with a header row; address `i` is `reader<i>@<domain>`, so all are distinct.
fn recipients(n: u64, out: &mut impl Write) -> std::io::Result<()> {
    let mut rng = Rng(0x5EED_0C5F);
    writeln!(out, "email,name")?;
    for i in 0..n {
        let domain = rng.pick(DOMAINS);
        let name = rng.pick(WORDS);
        writeln!(out, "reader{i}@{domain},Reader {name} {i}")?;
    }
    Ok(())
}

fn write(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) {
    let mut out = BufWriter::new(File::create(path).expect("creating the output file"));
    fill(&mut out).and_then(|()| out.flush()).expect("writing");
}

fn main() -> ExitCode {
    let args = args::positional();
    let number = |i: usize| args.get(i).and_then(|s| s.parse::<u64>().ok());
    match (args.first().map(String::as_str), args.len()) {
        (Some("articles"), 4) => match (number(1), number(2)) {
            (Some(n), Some(tags)) if tags > 0 => {
                write(Path::new(&args[3]), |out| articles(n, tags, out));
            }
            _ => return usage(),
        },
        (Some("recipients"), 3) => match number(1) {
            Some(n) => write(Path::new(&args[2]), |out| recipients(n, out)),
            None => return usage(),
        },
        _ => return usage(),
    }
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: gen articles N TAGS OUT.jsonl | gen recipients N OUT.csv");
    ExitCode::from(2)
}
