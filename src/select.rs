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
//! **One link from several sources.** An article that several configured sources delivered (its
//! blog's feed, Hacker News, Lobsters…) is one candidate; its engagement is then combined from
//! each source's own counts: the best source's `upvotes × w_upvotes + comments × w_comments`
//! (its parts shown as upvotes and comments), plus [`OTHER_SOURCE_SHARE`] of each other source's
//! (shown as `others`). Being discussed in several places counts, but each extra place adds at
//! most a quarter of the best thread: counts from different communities run on different
//! scales (hundreds of points on one, a dozen votes on another), so a plain sum would let the
//! largest decide alone anyway while rewarding every echo in full, and the maximum alone (the
//! rule for one source) would ignore that the piece was discussed widely. An article with
//! records from fewer than two sources scores as before, so single-source catalogues rank as
//! they always did.
//!
//! Ties break on the later publication time, then on the URL, so the same catalogue always yields
//! the same issue.
//!
//! If the digest switches it on, candidates telling the same story under different links are
//! clustered first ([`crate::cluster`]): the best-ranked one represents the story and the others
//! are listed under it ([`Verdict::SameStory`]); they take no place in the issue and count against
//! no cap.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use anyhow::{Context as _, Result};

use crate::cluster;
use crate::config::{Digest, Scoring, Source};
use crate::model::{Article, Discussion};
use crate::period::{Period, Window};
use crate::store::Store;

/// The parts of one candidate's score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Upvotes × weight.
    pub upvotes: f64,
    /// Comments × weight.
    pub comments: f64,
    /// Engagement from the sources other than the best one: [`OTHER_SOURCE_SHARE`] × their
    /// weighted upvotes and comments (0 for an article from fewer than two sources).
    pub others: f64,
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
    /// Another telling of the story of the candidate at this index (0-based, in the ranking),
    /// which represents it.
    SameStory(usize),
}

/// Candidates telling one story: the best-ranked represents it, the others follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    /// Index of the representing candidate in [`Ranking::candidates`].
    pub lead: usize,
    /// The other candidates (indices, in rank order) and their similarity to the lead.
    pub others: Vec<(usize, f64)>,
}

/// The share of each other source's engagement added to the best source's, for an article several
/// sources delivered (see the module documentation).
pub const OTHER_SOURCE_SHARE: f64 = 0.25;

/// A candidate as [`rank`] takes it: the article, the weight of the source that stored it, and
/// each source's record of it ([`crate::store::Stored::discussions`]).
pub type Weighted = (Article, f64, Vec<Discussion>);

/// One scored candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The article.
    pub article: Article,
    /// Each source's record of it: counts and discussion link.
    pub discussions: Vec<Discussion>,
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
    /// Stories told by more than one candidate (none when clustering is off), by lead.
    pub stories: Vec<Story>,
    /// The similarity threshold clustering used, if it was on.
    pub threshold: Option<f64>,
}

impl Ranking {
    /// The kept candidates, in issue order.
    pub fn picks(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Kept(_)))
    }

    /// The other candidates of the story the candidate at `lead` represents, in rank order.
    pub fn others(&self, lead: usize) -> impl Iterator<Item = &Candidate> {
        self.stories
            .iter()
            .filter(move |s| s.lead == lead)
            .flat_map(|s| &s.others)
            .map(|&(i, _)| &self.candidates[i])
    }

    /// The kept candidates, in issue order, each with its index in [`Ranking::candidates`].
    pub fn picks_indexed(&self) -> impl Iterator<Item = (usize, &Candidate)> {
        self.candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.verdict, Verdict::Kept(_)))
    }
}

/// Clusters the ranked `candidates` of `digest` at `threshold`: each story's lead is its
/// best-ranked member.
fn stories(digest: &Digest, candidates: &[Candidate], threshold: f64) -> Vec<Story> {
    let texts: Vec<cluster::Text<'_>> = candidates
        .iter()
        .map(|c| cluster::Text {
            title: &c.article.title,
            summary: &c.article.summary,
        })
        .collect();
    let topic = format!("{} {}", digest.tags.join(" "), digest.tag_name);
    let index = cluster::Index::new(&texts, &topic);
    index
        .clusters(threshold)
        .into_iter()
        .map(|group| {
            let lead = group[0];
            let others = group[1..]
                .iter()
                .map(|&i| (i, index.similarity(lead, i)))
                .collect();
            Story { lead, others }
        })
        .collect()
}

/// The score of `article` from a source of `weight` under `scoring`, in `window`, given each
/// source's record of it (`discussions`; its own counts are used with fewer than two).
pub fn score(
    article: &Article,
    discussions: &[Discussion],
    weight: f64,
    scoring: &Scoring,
    window: &Window,
) -> Score {
    let parts = |upvotes: u64, comments: u64| {
        (
            upvotes as f64 * scoring.upvotes,
            comments as f64 * scoring.comments,
        )
    };
    let (upvotes, comments, others) = if discussions.len() >= 2 {
        let all: Vec<(f64, f64)> = discussions
            .iter()
            .map(|d| parts(d.upvotes, d.comments))
            .collect();
        // The first of the best on a tie (records come in source-name order).
        let best = (0..all.len())
            .rev()
            .max_by(|&i, &j| (all[i].0 + all[i].1).total_cmp(&(all[j].0 + all[j].1)))
            .unwrap_or(0);
        let rest: f64 = (0..all.len())
            .filter(|&i| i != best)
            .map(|i| all[i].0 + all[i].1)
            .sum();
        (all[best].0, all[best].1, rest * OTHER_SOURCE_SHARE)
    } else {
        let (u, c) = parts(article.upvotes, article.comments);
        (u, c, 0.0)
    };
    let recency = match article.published_at {
        Some(at) if upvotes + comments + others == 0.0 => {
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
        others,
        recency,
        decay,
        weight,
        total: (upvotes + comments + others + recency) * decay * weight,
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
            (s.article, w, s.discussions)
        })
        .collect();
    Ok(rank(digest, window, weighted))
}

/// Ranks the `articles` (each with its source's weight and records) published in `window` for
/// `digest`.
pub fn rank(digest: &Digest, window: Window, articles: Vec<Weighted>) -> Ranking {
    let mut candidates: Vec<Candidate> = articles
        .into_iter()
        .filter(|(a, _, _)| a.published_at.is_some_and(|t| window.contains(t)))
        .map(|(article, weight, discussions)| {
            let score = score(&article, &discussions, weight, &digest.scoring, &window);
            Candidate {
                article,
                discussions,
                score,
                verdict: Verdict::BeyondSize,
            }
        })
        .collect();
    candidates.sort_by(order);
    let stories = digest
        .cluster
        .map_or_else(Vec::new, |t| stories(digest, &candidates, t));
    for story in &stories {
        for &(i, _) in &story.others {
            candidates[i].verdict = Verdict::SameStory(story.lead);
        }
    }
    let mut per_source: HashMap<&str, usize> = HashMap::new();
    let mut kept = 0;
    for c in &mut candidates {
        if let Verdict::SameStory(_) = c.verdict {
            continue;
        }
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
    Ranking {
        window,
        candidates,
        stories,
        threshold: digest.cluster,
    }
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
            Verdict::SameStory(lead) => match ranking.candidates[lead].verdict {
                Verdict::Kept(n) => format!("story of #{n}"),
                _ => "story, lead out".into(),
            },
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
    explain_sources(&mut out, ranking);
    explain_stories(&mut out, ranking);
    out
}

/// The several-sources section of [`explain`]: each candidate that several sources delivered,
/// with the share of the others' engagement in its score; nothing when there are none.
fn explain_sources(out: &mut String, ranking: &Ranking) {
    let several: Vec<&Candidate> = ranking
        .candidates
        .iter()
        .filter(|c| c.discussions.len() >= 2)
        .collect();
    if several.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\ndelivered by several sources: {} (upvotes and comments are the best source's; others = \
         {OTHER_SOURCE_SHARE} × each other source's)",
        several.len()
    );
    for c in several {
        let sources: Vec<String> = c
            .discussions
            .iter()
            .map(|d| format!("{} {}/{}", d.source, d.upvotes, d.comments))
            .collect();
        let title: String = c.article.title.chars().take(60).collect();
        let _ = writeln!(
            out,
            "  {title}: others {:.1}; {}",
            c.score.others,
            sources.join(", ")
        );
    }
}

/// The stories section of [`explain`]: each cluster, its lead, the others and their similarity.
fn explain_stories(out: &mut String, ranking: &Ranking) {
    let Some(threshold) = ranking.threshold else {
        let _ = writeln!(
            out,
            "\nstory clustering: off (cluster = true switches it on)"
        );
        return;
    };
    let _ = writeln!(
        out,
        "\nstories told by several candidates: {} (similarity threshold {threshold})",
        ranking.stories.len()
    );
    let line = |c: &Candidate| {
        let source: String = c.article.publisher.name.chars().take(24).collect();
        let title: String = c.article.title.chars().take(70).collect();
        format!("{title} ({source})")
    };
    for story in &ranking.stories {
        let lead = &ranking.candidates[story.lead];
        let position = match lead.verdict {
            Verdict::Kept(n) => format!("#{n}"),
            _ => "not kept".into(),
        };
        let _ = writeln!(out, "  story {position}: {}", line(lead));
        for &(i, similarity) in &story.others {
            let _ = writeln!(out, "    {similarity:.3}  {}", line(&ranking.candidates[i]));
        }
    }
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
            cluster: None,
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

    fn weight_one(articles: Vec<Article>) -> Vec<Weighted> {
        articles.into_iter().map(|a| (a, 1.0, Vec::new())).collect()
    }

    fn weighted(articles: Vec<(Article, f64)>) -> Vec<Weighted> {
        articles
            .into_iter()
            .map(|(a, w)| (a, w, Vec::new()))
            .collect()
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
        let s = score(&a, &[], 1.0, &d.scoring, &window());
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
        let plain = score(&a, &[], 1.0, &Scoring::default(), &w);
        assert_eq!(plain.total, 100.0);
        assert_eq!(plain.recency, 0.0);
        assert_eq!(score(&a, &[], 2.5, &Scoring::default(), &w).total, 250.0);
        let mut d = digest();
        d.min_score = 0.0;
        d.max_per_source = None;
        let r = rank(
            &d,
            w,
            weighted(vec![
                (art("heavy", "x", 2, 40), 3.0),
                (art("light", "y", 2, 100), 1.0),
            ]),
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
        let heavy = art("weighted", "b", 16, 0);
        let voted = art("voted", "c", 2, 2);
        let s = score(&late, &[], 1.0, &d.scoring, &window());
        assert!((s.recency - 30.5 / 31.0).abs() < 1e-9, "{s:?}");
        let r = rank(
            &d,
            window(),
            weighted(vec![(early, 1.0), (late, 1.0), (heavy, 2.0), (voted, 1.0)]),
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

    #[test]
    fn several_sources_add_a_quarter_of_each_other_source_to_the_best_one() {
        // Keeping the highest count per field (the one-source rule) would rank the article
        // discussed in two places (best 100 + 10 × 2) below the 125-point one; summing would let
        // the echoes count in full (100 + 20 + 40 + 30 = 190).
        let mut d = digest();
        d.max_per_source = None;
        let record = |source: &str, upvotes: u64, comments: u64| Discussion {
            source: source.into(),
            name: source.to_uppercase(),
            url: Some(format!("https://{source}.example/1")),
            upvotes,
            comments,
        };
        let mut discussed = art("discussed", "blog", 10, 100);
        discussed.comments = 10;
        let records = vec![
            record("blog", 0, 0),
            record("hn", 100, 10),
            record("lobsters", 30, 5),
            record("reddit", 30, 0),
        ];
        let s = score(&discussed, &records, 1.0, &d.scoring, &window());
        assert_eq!((s.upvotes, s.comments, s.others), (100.0, 20.0, 17.5));
        assert_eq!(s.total, 137.5);
        // One record, or none: the article's own counts, as before.
        assert_eq!(
            score(&discussed, &records[1..2], 1.0, &d.scoring, &window()).total,
            120.0
        );
        let r = rank(
            &d,
            window(),
            vec![
                (art("solo", "x", 11, 125), 1.0, Vec::new()),
                (discussed, 1.0, records),
            ],
        );
        let order: Vec<_> = r.picks().map(|c| c.article.title.as_str()).collect();
        assert_eq!(order, ["discussed", "solo"]);
        assert_eq!(r.candidates[0].discussions.len(), 4);
    }

    #[test]
    fn tellings_of_one_story_follow_their_lead_and_take_no_place_or_cap() {
        // Without clustering the three tellings would take all three places of the issue; if the
        // others counted against the cap, source "a" could not place its second story.
        let mut d = digest();
        d.cluster = Some(crate::cluster::DEFAULT_THRESHOLD);
        d.max_per_source = Some(1);
        let told = |url: &str, source: &str, upvotes: u64, title: &str| {
            let mut a = art(url, source, 10, upvotes);
            a.title = title.into();
            a.summary = "A faulty CrowdStrike Falcon update crashed Windows computers.".into();
            a
        };
        let mut other = art("other", "a", 11, 50);
        other.title = "PostgreSQL 17 adds incremental backups".into();
        let r = rank(
            &d,
            window(),
            weight_one(vec![
                told(
                    "verge",
                    "b",
                    300,
                    "CrowdStrike update crashes Windows computers",
                ),
                told(
                    "ars",
                    "a",
                    200,
                    "Faulty CrowdStrike update takes down Windows PCs",
                ),
                told(
                    "bbc",
                    "c",
                    100,
                    "CrowdStrike outage: Windows machines crash",
                ),
                other,
            ]),
        );
        let verdicts: Vec<(&str, Verdict)> = r
            .candidates
            .iter()
            .map(|c| {
                (
                    c.article.url.trim_start_matches("https://x.example/"),
                    c.verdict,
                )
            })
            .collect();
        assert_eq!(
            verdicts,
            [
                ("verge", Verdict::Kept(1)),
                ("ars", Verdict::SameStory(0)),
                ("bbc", Verdict::SameStory(0)),
                ("other", Verdict::Kept(2)),
            ]
        );
        let others: Vec<&str> = r.others(0).map(|c| c.article.title.as_str()).collect();
        assert_eq!(others.len(), 2);
        assert_eq!(r.stories.len(), 1);
        let text = explain(&d, &r);
        assert!(text.contains("story of #1"), "{text}");
        assert!(
            text.contains("stories told by several candidates: 1"),
            "{text}"
        );
    }
}
