//! Stage 3, select: score the candidates of one window, apply the minimum score and the
//! per-source cap, order them deterministically and cut to size.
//!
//! Score (weights from [`Scoring`] and the source's `weight`):
//!
//! `score = base × decay × weight`, where
//! - `base = upvotes × w_upvotes + comments × w_comments`; for an item without votes or comments
//!   (most feed items) the fallback `base = w_recency × recency`, where `recency` runs from 0 at
//!   the window's start to 1 at its end, so fresh items rank first and any item with engagement
//!   outranks them unless `w_recency` is raised;
//! - `decay = 0.5^(age / half_life)` with the age measured back from the end of the window, or 1
//!   with no half-life;
//! - `weight` is the per-source weight (default 1), so a digest of weight-1 sources ranks exactly
//!   as engagement alone does.
//!
//! Ties break on the later publication time, then on the URL, so the same catalogue always yields
//! the same issue.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use anyhow::{Context as _, Result};

use crate::config::{Digest, Scoring, Source};
use crate::model::Article;
use crate::period::{Period, Window};
use crate::store::Store;

/// The parts of one candidate's score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Upvotes × weight.
    pub upvotes: f64,
    /// Comments × weight.
    pub comments: f64,
    /// The fallback for an item without engagement: recency × weight (0 for the others).
    pub recency: f64,
    /// Time-decay factor in (0, 1].
    pub decay: f64,
    /// The source's weight.
    pub weight: f64,
    /// The final score.
    pub total: f64,
}

/// Why a candidate was kept or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// In the issue at this 1-based position.
    Kept(usize),
    /// Scored below the digest's `min_score`.
    BelowMinScore,
    /// Its source already had `max_per_source` items.
    SourceCap,
    /// Good enough, but the issue was full.
    BeyondSize,
}

/// One scored candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The article.
    pub article: Article,
    /// Its score.
    pub score: Score,
    /// The decision.
    pub verdict: Verdict,
}

/// All candidates of a window in rank order, with their verdicts.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// The window the candidates were published in.
    pub window: Window,
    /// Candidates, best first.
    pub candidates: Vec<Candidate>,
}

impl Ranking {
    /// The kept candidates, in issue order.
    pub fn picks(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Kept(_)))
    }
}

/// The score of `article` from a source of `weight` under `scoring`, in `window`.
pub fn score(article: &Article, weight: f64, scoring: &Scoring, window: &Window) -> Score {
    let upvotes = article.upvotes as f64 * scoring.upvotes;
    let comments = article.comments as f64 * scoring.comments;
    let recency = match article.published_at {
        Some(at) if upvotes + comments == 0.0 => {
            let span = (window.end - window.start).num_seconds().max(1) as f64;
            let fraction = (at - window.start).num_seconds() as f64 / span;
            scoring.recency * fraction.clamp(0.0, 1.0)
        }
        _ => 0.0,
    };
    let decay = match (scoring.half_life_hours, article.published_at) {
        (Some(half_life), Some(at)) => {
            let age_hours = ((window.end - at).num_seconds().max(0)) as f64 / 3600.0;
            0.5f64.powf(age_hours / half_life)
        }
        _ => 1.0,
    };
    Score {
        upvotes,
        comments,
        recency,
        decay,
        weight,
        total: (upvotes + comments + recency) * decay * weight,
    }
}

/// Ranks the stored candidates of `period` for `digest`, each weighted by the configured source
/// that stored it (weight 1 for a source no longer configured).
pub fn rank_period(
    sources: &BTreeMap<String, Source>,
    store: &Store,
    digest: &Digest,
    period: Period,
) -> Result<Ranking> {
    let window = period.window(digest.timezone);
    let candidates = store
        .candidates(&digest.tags, &window)
        .with_context(|| format!("selecting candidates for {} {period}", digest.id))?;
    let weight = |origin: Option<&str>| {
        origin
            .and_then(|o| sources.get(o))
            .map_or(1.0, |s| s.weight)
    };
    let weighted = candidates
        .into_iter()
        .map(|s| {
            let w = weight(s.origin.as_deref());
            (s.article, w)
        })
        .collect();
    Ok(rank(digest, window, weighted))
}

/// Ranks the `articles` (each with its source's weight) published in `window` for `digest`.
pub fn rank(digest: &Digest, window: Window, articles: Vec<(Article, f64)>) -> Ranking {
    let mut candidates: Vec<Candidate> = articles
        .into_iter()
        .filter(|(a, _)| a.published_at.is_some_and(|t| window.contains(t)))
        .map(|(article, weight)| {
            let score = score(&article, weight, &digest.scoring, &window);
            Candidate {
                article,
                score,
                verdict: Verdict::BeyondSize,
            }
        })
        .collect();
    candidates.sort_by(order);
    let mut per_source: HashMap<&str, usize> = HashMap::new();
    let mut kept = 0;
    for c in &mut candidates {
        let from_source = per_source
            .entry(c.article.publisher.id.as_str())
            .or_default();
        c.verdict = if c.score.total < digest.min_score {
            Verdict::BelowMinScore
        } else if digest.max_per_source.is_some_and(|cap| *from_source >= cap) {
            Verdict::SourceCap
        } else if kept >= digest.size {
            Verdict::BeyondSize
        } else {
            kept += 1;
            *from_source += 1;
            Verdict::Kept(kept)
        };
    }
    Ranking { window, candidates }
}

/// Best first: higher score, then later publication, then smaller URL.
fn order(a: &Candidate, b: &Candidate) -> Ordering {
    b.score
        .total
        .total_cmp(&a.score.total)
        .then_with(|| b.article.published_at.cmp(&a.article.published_at))
        .then_with(|| a.article.url.cmp(&b.article.url))
}

/// A table of every candidate: score parts and verdict, for `digest preview --explain`.
pub fn explain(digest: &Digest, ranking: &Ranking) -> String {
    let s = &digest.scoring;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "window {} .. {} ({}); {} candidate(s)",
        ranking.window.start.to_rfc3339(),
        ranking.window.end.to_rfc3339(),
        digest.timezone,
        ranking.candidates.len()
    );
    let decay = s
        .half_life_hours
        .map_or(String::new(), |h| format!(" × 0.5^(age/{h}h)"));
    let cap = digest
        .max_per_source
        .map_or("none".to_string(), |c| c.to_string());
    let _ = writeln!(
        out,
        "score = (upvotes × {} + comments × {}){decay} × source weight; min score {}; size {}; \
         per-source cap {cap}",
        s.upvotes, s.comments, digest.min_score, digest.size
    );
    let _ = writeln!(
        out,
        "without votes or comments: {} × recency (0 at the window's start, 1 at its end){decay} × \
         source weight\n",
        s.recency
    );
    let _ = writeln!(
        out,
        "{:>4} {:>9} {:>9} {:>9} {:>7} {:>6} {:>6}  {:<18} {:<16} title",
        "#", "score", "upvotes", "comments", "recency", "decay", "weight", "source", "verdict"
    );
    for c in &ranking.candidates {
        let verdict = match c.verdict {
            Verdict::Kept(n) => format!("kept #{n}"),
            Verdict::BelowMinScore => "below min score".into(),
            Verdict::SourceCap => "source cap".into(),
            Verdict::BeyondSize => "beyond size".into(),
        };
        let rank = match c.verdict {
            Verdict::Kept(n) => n.to_string(),
            _ => "-".into(),
        };
        let source: String = c.article.publisher.id.chars().take(18).collect();
        let title: String = c.article.title.chars().take(60).collect();
        let _ = writeln!(
            out,
            "{rank:>4} {:>9.1} {:>9.1} {:>9.1} {:>7.3} {:>6.3} {:>6.2}  {source:<18} {verdict:<16} {title}",
            c.score.total,
            c.score.upvotes,
            c.score.comments,
            c.score.recency,
            c.score.decay,
            c.score.weight
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, Publisher};
    use crate::period::PeriodKind;
    use chrono::{TimeZone, Utc};

    fn digest() -> Digest {
        Digest {
            id: "d".into(),
            title: "T".into(),
            tags: vec!["t".into()],
            tag_name: "T".into(),
            period: PeriodKind::Monthly,
            timezone: chrono_tz::UTC,
            size: 3,
            max_per_source: Some(2),
            min_score: 10.0,
            min_items: 1,
            scoring: Scoring::default(),
            lists: Vec::new(),
            from: None,
            reply_to: None,
            return_path: None,
            schedule: None,
            ingest_before: false,
            max_lateness: chrono::Duration::hours(6),
            review: None,
        }
    }

    fn window() -> Window {
        Window {
            start: Utc.with_ymd_and_hms(2024, 7, 1, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2024, 8, 1, 0, 0, 0).unwrap(),
        }
    }

    fn art(url: &str, source: &str, day: u32, upvotes: u64) -> Article {
        Article {
            url: format!("https://x.example/{url}"),
            title: url.into(),
            summary: String::new(),
            kind: Kind::Article,
            publisher: Publisher {
                id: source.into(),
                name: source.into(),
                avatar: None,
            },
            tags: vec!["t".into()],
            published_at: Some(Utc.with_ymd_and_hms(2024, 7, day, 12, 0, 0).unwrap()),
            upvotes,
            comments: 0,
        }
    }

    fn weight_one(articles: Vec<Article>) -> Vec<(Article, f64)> {
        articles.into_iter().map(|a| (a, 1.0)).collect()
    }

    fn verdicts(r: &Ranking) -> Vec<(&str, Verdict)> {
        r.candidates
            .iter()
            .map(|c| (c.article.title.as_str(), c.verdict))
            .collect()
    }

    #[test]
    fn min_score_cap_and_size_each_drop_with_their_reason() {
        let r = rank(
            &digest(),
            window(),
            weight_one(vec![
                art("a1", "a", 1, 100),
                art("a2", "a", 2, 90),
                art("a3", "a", 3, 80),
                art("b1", "b", 4, 70),
                art("c1", "c", 5, 60),
                art("low", "d", 6, 5),
            ]),
        );
        assert_eq!(
            verdicts(&r),
            vec![
                ("a1", Verdict::Kept(1)),
                ("a2", Verdict::Kept(2)),
                ("a3", Verdict::SourceCap),
                ("b1", Verdict::Kept(3)),
                ("c1", Verdict::BeyondSize),
                ("low", Verdict::BelowMinScore),
            ]
        );
        let text = explain(&digest(), &r);
        assert!(
            text.contains("source cap") && text.contains("below min score"),
            "{text}"
        );
    }

    #[test]
    fn ties_break_on_newer_then_url_whatever_the_input_order() {
        let items = vec![
            art("b", "x", 5, 50),
            art("a", "y", 5, 50),
            art("c", "z", 9, 50),
        ];
        let mut reversed = items.clone();
        reversed.reverse();
        let titles = |r: Ranking| {
            r.picks()
                .map(|c| c.article.title.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            titles(rank(&digest(), window(), weight_one(items))),
            vec!["c", "a", "b"]
        );
        assert_eq!(
            titles(rank(&digest(), window(), weight_one(reversed))),
            vec!["c", "a", "b"]
        );
    }

    #[test]
    fn decay_halves_a_score_per_half_life_before_the_window_end() {
        let mut d = digest();
        d.scoring.half_life_hours = Some(24.0);
        let mut a = art("a", "a", 30, 100);
        a.published_at = Some(window().end - chrono::Duration::hours(48));
        let s = score(&a, 1.0, &d.scoring, &window());
        assert!(
            (s.decay - 0.25).abs() < 1e-9 && (s.total - 25.0).abs() < 1e-9,
            "{s:?}"
        );
    }

    #[test]
    fn articles_outside_the_window_are_not_candidates() {
        let mut late = art("late", "a", 1, 1000);
        late.published_at = Some(window().end);
        let r = rank(
            &digest(),
            window(),
            weight_one(vec![late, art("in", "b", 31, 20)]),
        );
        assert_eq!(verdicts(&r), vec![("in", Verdict::Kept(1))]);
    }

    #[test]
    fn source_weight_scales_scores_and_weight_one_changes_nothing() {
        let a = art("a", "a", 10, 100);
        let w = window();
        let plain = score(&a, 1.0, &Scoring::default(), &w);
        assert_eq!(plain.total, 100.0);
        assert_eq!(plain.recency, 0.0);
        assert_eq!(score(&a, 2.5, &Scoring::default(), &w).total, 250.0);
        let mut d = digest();
        d.min_score = 0.0;
        d.max_per_source = None;
        let r = rank(
            &d,
            w,
            vec![
                (art("heavy", "x", 2, 40), 3.0),
                (art("light", "y", 2, 100), 1.0),
            ],
        );
        let order: Vec<_> = r.picks().map(|c| c.article.title.as_str()).collect();
        assert_eq!(order, ["heavy", "light"]);
    }

    #[test]
    fn items_without_engagement_fall_back_to_recency_times_weight() {
        let mut d = digest();
        d.min_score = 0.0;
        d.max_per_source = None;
        d.size = 10;
        let early = art("early", "a", 1, 0);
        let late = art("late", "a", 31, 0);
        let weighted = art("weighted", "b", 16, 0);
        let voted = art("voted", "c", 2, 2);
        let s = score(&late, 1.0, &d.scoring, &window());
        assert!((s.recency - 30.5 / 31.0).abs() < 1e-9, "{s:?}");
        let r = rank(
            &d,
            window(),
            vec![(early, 1.0), (late, 1.0), (weighted, 2.0), (voted, 1.0)],
        );
        let order: Vec<_> = r.picks().map(|c| c.article.title.as_str()).collect();
        // Any engagement outranks the fallback (at most 1 × weight); weight 2 at mid-window beats
        // the last day at weight 1.
        assert_eq!(order, ["voted", "weighted", "late", "early"]);
        let text = explain(&d, &r);
        assert!(
            text.contains("without votes or comments: 1 × recency (0 at the window's start, 1 at its end) × source weight"),
            "{text}"
        );
    }
}
