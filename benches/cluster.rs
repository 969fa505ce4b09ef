//! Story clustering at scale: `cluster::Index::new` and `clusters` over the candidates of one
//! period, timed in-process.
//!
//! `cluster N RUNS` generates N seeded candidates (titles of 5 to 11 words, summaries of 25 to 45,
//! drawn from a vocabulary of 20,000 words with a Zipf-like skew, one word in five a capitalised
//! name; one candidate in ten retells an earlier one with half its words replaced) and prints
//! `median_ms=… candidates=… clusters=… clustered=…`.

#[path = "common/args.rs"]
mod args;
#[path = "common/rng.rs"]
mod rng;
#[path = "common/timing.rs"]
mod timing;

use anyhow::{Context as _, Result, anyhow};
use digest::cluster::{DEFAULT_THRESHOLD, Index, Text};

use rng::Rng;

impl Rng {
    /// Uniform in `0..n`, as an index.
    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// A vocabulary index skewed towards small ones (a few words are very common).
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) as usize).min(n - 1)
    }
}

/// A pronounceable made-up word; every fifth one is a name (capitalised).
fn word(i: usize) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "ri", "sen", "tor", "ma", "vel", "dun", "pra", "ges", "nu", "quo", "bri",
        "zan", "fel", "oth",
    ];
    let mut w = String::new();
    let mut n = i + 16;
    while n > 0 {
        w.push_str(SYLLABLES[n % 16]);
        n /= 16;
    }
    if i.is_multiple_of(5) {
        let mut c = w.chars();
        let first = c.next().map(|f| f.to_ascii_uppercase()).unwrap_or('X');
        w = std::iter::once(first).chain(c).collect();
    }
    w
}

fn sentence(rng: &mut Rng, vocabulary: &[String], least: usize, spread: usize) -> Vec<String> {
    (0..least + rng.index(spread))
        .map(|_| vocabulary[rng.zipf(vocabulary.len())].clone())
        .collect()
}

/// `n` candidates (title, summary); one in ten retells an earlier one.
fn candidates(n: usize) -> Vec<(String, String)> {
    let vocabulary: Vec<String> = (0..20_000).map(word).collect();
    let mut rng = Rng(7);
    let mut out: Vec<(Vec<String>, Vec<String>)> = Vec::with_capacity(n);
    for i in 0..n {
        let fresh = i < 10 || rng.index(10) != 0;
        let item = if fresh {
            (
                sentence(&mut rng, &vocabulary, 5, 7),
                sentence(&mut rng, &vocabulary, 25, 21),
            )
        } else {
            let (title, summary) = out[rng.index(i)].clone();
            let mut retell = |words: Vec<String>| -> Vec<String> {
                words
                    .into_iter()
                    .map(|w| match rng.index(2) {
                        0 => w,
                        _ => vocabulary[rng.zipf(vocabulary.len())].clone(),
                    })
                    .collect()
            };
            (retell(title), retell(summary))
        };
        out.push(item);
    }
    out.into_iter()
        .map(|(t, s)| (t.join(" "), format!("{}.", s.join(" "))))
        .collect()
}

fn main() -> Result<()> {
    let args = args::positional();
    let [n, runs] = args.as_slice() else {
        return Err(anyhow!("usage: cluster N RUNS"));
    };
    let n: usize = n.parse().context("N")?;
    let runs: usize = runs.parse().context("RUNS")?;
    let items = candidates(n);
    let texts: Vec<Text<'_>> = items
        .iter()
        .map(|(title, summary)| Text { title, summary })
        .collect();
    let (median, groups) =
        timing::median(runs, || Index::new(&texts, "").clusters(DEFAULT_THRESHOLD));
    println!(
        "median_ms={:.3} candidates={n} clusters={} clustered={}",
        median.as_secs_f64() * 1e3,
        groups.len(),
        groups.iter().map(Vec::len).sum::<usize>()
    );
    Ok(())
}
