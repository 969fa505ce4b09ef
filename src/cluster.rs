//! Story clustering, part of stage 3 (select): the candidates of one window whose titles and
//! summaries tell the same story under different links are grouped, so an issue shows the story
//! once. A leaf module of pure functions: it knows texts, not articles.
//!
//! The measure, for two items A and B among the `N` candidates of a window:
//!
//! 1. **Words.** Title and summary (its first [`SUMMARY_WORDS`] words) are lowercased and cut at
//!    anything that is not a letter or digit (a `.` between digits stays: `1.80`); a number loses a
//!    trailing unit (`$6.4B` → `6.4`, `21st` → `21`) and trailing `.0`s (`1.80.0` → `1.80`); stop
//!    words (function words, the words of any headline: "announcing", "released", "in
//!    practice", …, and the words of the digest's tags, which every candidate shares) and
//!    one-letter words are dropped; the rest lose common English suffixes
//!    (`licensing`, `licensed`, `licenses` → `licens`).
//! 2. **Weights.** A word weighs its inverse document frequency among the window's candidates,
//!    `ln(1 + N / df)`, doubled in the title: words shared by many candidates say little.
//! 3. **Similarity** is the cosine of the two weight vectors, `Σ wA·wB / (|A| |B|)`, from 0
//!    (nothing shared) to 1.
//! 4. **Guards against shared vocabulary.** A *name* is a word written capitalised inside a
//!    summary sentence somewhere and never in lowercase (acronyms and sentence starts say
//!    nothing). A pair may merge ([`Link::Name`]) if a name of one title occurs in the other item;
//!    if both titles hold names, at least half of each title's names must occur in the other.
//!    Otherwise, if one title holds no name, titles sharing a distinctive word (in at most
//!    [`ANCHOR_MIN_DF`] candidates, or [`ANCHOR_SHARE`] of them) may merge ([`Link::Word`]), held
//!    to [`WORD_LINK_FACTOR`] × the threshold. Titles with version numbers (`1.79`, `16.4`) must
//!    share one. "Raft in practice" and "Paxos in practice" never merge however alike their
//!    summaries ("practice" is a stop word and neither name occurs in the other item); "Rust
//!    1.79" and "Rust 1.80" fail the version guard.
//! 5. **Clusters** are the connected components of the pairs that pass at or above the threshold
//!    (single linkage): a story told by five outlets is one cluster even when two of them share
//!    little.
//!
//! Only pairs that could pass the guards are ever compared: a candidate meets the candidates
//! holding one of its title names anywhere, and those sharing one of its distinctive title words
//! (two inverted indexes, built by a counting sort into flat arrays: no allocation per candidate).
//! A large window is tokenised in shares on every core, each with a vocabulary of its own, merged
//! so that word ids are those one thread would give.

use std::collections::HashMap;

/// Summary words taken into account: the opening of a summary says what it is about.
pub const SUMMARY_WORDS: usize = 60;

/// A title word found in more than this share of the candidates (and in more than
/// [`ANCHOR_MIN_DF`]) is too common to anchor a pair.
pub const ANCHOR_SHARE: f64 = 0.002;

/// Below this document frequency, any title word may anchor a pair.
pub const ANCHOR_MIN_DF: usize = 24;

/// Weight of a title word relative to a summary word.
const TITLE_FACTOR: f32 = 2.0;

/// The default similarity threshold (`cluster_threshold`).
pub const DEFAULT_THRESHOLD: f64 = 0.18;

/// What clustering looks at in one candidate.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a> {
    /// Title.
    pub title: &'a str,
    /// Summary.
    pub summary: &'a str,
}

/// What ties two candidates to one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// A name in one title occurs in the other item.
    Name,
    /// Neither title's names meet, but (one title having none) the titles share a distinctive
    /// word: weaker evidence, held to a higher similarity.
    Word,
}

/// A pair linked only by a shared title word must be this many times the threshold similar.
pub const WORD_LINK_FACTOR: f64 = 1.25;

/// Rows of values stored end to end: row `i` is `values[starts[i]..starts[i + 1]]`. One
/// allocation for all candidates instead of one per candidate and field.
#[derive(Debug, Clone, PartialEq)]
struct Rows<T> {
    starts: Vec<u32>,
    values: Vec<T>,
}

impl<T: Copy> Rows<T> {
    fn with_capacity(rows: usize, values: usize) -> Rows<T> {
        let mut starts = Vec::with_capacity(rows + 1);
        starts.push(0);
        Rows {
            starts,
            values: Vec::with_capacity(values),
        }
    }

    /// Ends the row being filled (the values pushed since the last call).
    fn close(&mut self) {
        self.starts.push(self.values.len() as u32);
    }

    /// Appends the rows of `other` after these.
    fn append(&mut self, other: &Rows<T>) {
        let offset = self.values.len() as u32;
        self.values.extend_from_slice(&other.values);
        self.starts
            .extend(other.starts.iter().skip(1).map(|&s| s + offset));
    }

    fn row(&self, i: usize) -> &[T] {
        &self.values[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// Per column `0..columns` (of each value, by `column`; `None` leaves a value out), the rows
    /// holding it, in ascending order (a counting sort).
    fn transpose(&self, columns: usize, column: impl Fn(&T) -> Option<u32>) -> Rows<u32> {
        let mut starts = vec![0u32; columns + 1];
        for c in self.values.iter().filter_map(&column) {
            starts[c as usize + 1] += 1;
        }
        for c in 0..columns {
            starts[c + 1] += starts[c];
        }
        let mut next = starts.clone();
        let mut values = vec![0u32; starts[columns] as usize];
        for r in 0..self.starts.len() - 1 {
            for c in self.row(r).iter().filter_map(&column) {
                let at = &mut next[c as usize];
                values[*at as usize] = r as u32;
                *at += 1;
            }
        }
        Rows { starts, values }
    }
}

/// One candidate's words: (word id, weight), sorted by id; its names, distinctive title words
/// and version numbers (word ids, sorted).
#[derive(Debug, Clone, Copy)]
struct Doc<'a> {
    words: &'a [(u32, f32)],
    norm: f32,
    names: &'a [u32],
    anchors: &'a [u32],
    versions: &'a [u32],
}

/// The candidates of a window, indexed for clustering.
#[derive(Debug, Clone)]
pub struct Index {
    /// Per candidate: its words, names, anchors and versions (see `Doc`), and its norm.
    words: Rows<(u32, f32)>,
    norms: Vec<f32>,
    names: Rows<u32>,
    anchors: Rows<u32>,
    versions: Rows<u32>,
    /// Per word id that is a name in some title, the candidates whose text holds it.
    postings: Rows<u32>,
    /// Per word id, the candidates whose title has it as an anchor.
    anchored: Rows<u32>,
}

/// Candidates from which each thread tokenises a share of a window, at least: below, one thread
/// does it all (starting threads would cost more than it saves).
const TEXTS_PER_THREAD: usize = 2048;

/// The words of some candidates, before document frequencies are known.
struct Tokens {
    vocabulary: Vocabulary,
    /// Per candidate: (word id, factor: [`TITLE_FACTOR`] in the title, else 1), one entry per
    /// word (the title's if both have it), sorted by id.
    words: Rows<(u32, f32)>,
    /// Per candidate: the ids of its title words, in order.
    titles: Rows<u32>,
}

impl Tokens {
    /// Tokenises `texts`, in shares on several threads when there are many. Word ids are given
    /// in the order words first occur in `texts`, however the work is shared, so the index is the
    /// same as one thread would build (the later shares' ids are renumbered into the first's).
    fn of(texts: &[Text<'_>], topic: &str) -> Tokens {
        // The cores are asked only when there is work for two threads (on Linux the answer comes
        // from cgroup files, read at every call).
        let threads = match texts.len() / TEXTS_PER_THREAD {
            0 | 1 => 1,
            most => std::thread::available_parallelism().map_or(1, |n| n.get().min(most)),
        };
        Tokens::in_shares(texts, topic, threads)
    }

    /// [`Tokens::of`] on `threads` threads (at least one).
    fn in_shares(texts: &[Text<'_>], topic: &str, threads: usize) -> Tokens {
        let threads = threads.max(1);
        let share = texts.len().div_ceil(threads).max(1);
        let mut shares: Vec<Tokens> = std::thread::scope(|scope| {
            let later: Vec<_> = texts
                .chunks(share)
                .skip(1)
                .map(|chunk| scope.spawn(move || Tokens::of_share(chunk, topic)))
                .collect();
            let first = Tokens::of_share(texts.get(..share).unwrap_or(texts), topic);
            std::iter::once(first)
                .chain(later.into_iter().map(|t| match t.join() {
                    Ok(tokens) => tokens,
                    Err(panic) => std::panic::resume_unwind(panic),
                }))
                .collect()
        });
        let mut tokens = shares.remove(0);
        let renumbered: Vec<Vec<u32>> = shares
            .iter()
            .map(|later| tokens.vocabulary.absorb(&later.vocabulary))
            .collect();
        std::thread::scope(|scope| {
            for (later, ids) in shares.iter_mut().zip(&renumbered) {
                scope.spawn(move || later.renumber(ids));
            }
        });
        for later in shares {
            tokens.words.append(&later.words);
            tokens.titles.append(&later.titles);
        }
        tokens
    }

    /// Tokenises `texts` on this thread, with a vocabulary of its own.
    fn of_share(texts: &[Text<'_>], topic: &str) -> Tokens {
        let mut vocabulary = Vocabulary::for_candidates(texts.len());
        for word in words_of(topic) {
            let id = vocabulary.intern(&word);
            vocabulary.topic[id as usize] = true;
        }
        let mut words: Rows<(u32, f32)> = Rows::with_capacity(texts.len(), texts.len() * 48);
        let mut titles: Rows<u32> = Rows::with_capacity(texts.len(), texts.len() * 10);
        for text in texts {
            let from = words.values.len();
            for w in raw_words(text.title) {
                if let Some(id) = vocabulary.id(text.title, &w, true) {
                    words.values.push((id, TITLE_FACTOR));
                    titles.values.push(id);
                }
            }
            let summary = raw_words(text.summary)
                .filter_map(|w| vocabulary.id(text.summary, &w, false))
                .take(SUMMARY_WORDS);
            words.values.extend(summary.map(|id| (id, 1.0)));
            // One entry per word, the title's first (its factor is the larger).
            let doc = &mut words.values[from..];
            sort_words(doc);
            let kept = dedup_by_id(doc);
            words.values.truncate(from + kept);
            words.close();
            titles.close();
        }
        Tokens {
            vocabulary,
            words,
            titles,
        }
    }

    /// Gives every word id `i` of these tokens the id `ids[i]`, keeping each row sorted.
    fn renumber(&mut self, ids: &[u32]) {
        for (id, _) in &mut self.words.values {
            *id = ids[*id as usize];
        }
        for id in &mut self.titles.values {
            *id = ids[*id as usize];
        }
        for d in 0..self.words.starts.len() - 1 {
            let (from, to) = (self.words.starts[d], self.words.starts[d + 1]);
            sort_words(&mut self.words.values[from as usize..to as usize]);
        }
    }
}

/// Sorts one candidate's (word id, factor) entries by id, the larger factor first.
fn sort_words(doc: &mut [(u32, f32)]) {
    doc.sort_unstable_by_key(|&(id, factor)| (id, std::cmp::Reverse(factor.to_bits())));
}

/// One group of candidates (indices into the texts given to [`Index::new`]), in ascending order.
pub type Group = Vec<usize>;

impl Index {
    /// Tokenises and weighs `texts` (the candidates of one window). The words of `topic` (the
    /// digest's tags, which every candidate shares by construction) count as stop words.
    pub fn new(texts: &[Text<'_>], topic: &str) -> Index {
        let Tokens {
            vocabulary,
            mut words,
            titles,
        } = Tokens::of(texts, topic);
        let mut df = vec![0u32; vocabulary.len()];
        for &(id, _) in &words.values {
            df[id as usize] += 1;
        }
        let v = &vocabulary;
        let name = |id: u32| v.capital[id as usize] && !v.lower[id as usize];
        let n = texts.len() as f32;
        let anchor_df = ((texts.len() as f64 * ANCHOR_SHARE).ceil() as usize).max(ANCHOR_MIN_DF);
        let common = |id: u32| df[id as usize] as usize > anchor_df;
        let idf: Vec<f32> = df.iter().map(|&d| (1.0 + n / d as f32).ln()).collect();
        let mut norms = Vec::with_capacity(texts.len());
        let mut names = Rows::with_capacity(texts.len(), titles.values.len());
        let mut anchors = Rows::with_capacity(texts.len(), titles.values.len());
        let mut versions = Rows::with_capacity(texts.len(), 0);
        for d in 0..texts.len() {
            let title = titles.row(d);
            let pick = |into: &mut Rows<u32>, keep: &dyn Fn(u32) -> bool| {
                let from = into.values.len();
                into.values
                    .extend(title.iter().copied().filter(|&id| keep(id)));
                let ids = &mut into.values[from..];
                ids.sort_unstable();
                let kept = dedup_by_id(ids);
                into.values.truncate(from + kept);
                into.close();
            };
            pick(&mut names, &|id| !common(id) && name(id));
            pick(&mut anchors, &|id| !common(id) && !v.number[id as usize]);
            pick(&mut versions, &|id| v.version[id as usize]);
            let (from, to) = (words.starts[d] as usize, words.starts[d + 1] as usize);
            let doc = &mut words.values[from..to];
            for (id, weight) in doc.iter_mut() {
                *weight *= idf[*id as usize];
            }
            norms.push(doc.iter().map(|w| w.1 * w.1).sum::<f32>().sqrt());
        }
        // Postings are looked up for title names only: the words that are none stay out.
        let mut title_name = vec![false; vocabulary.len()];
        for &id in &names.values {
            title_name[id as usize] = true;
        }
        let postings = words.transpose(vocabulary.len(), |&(id, _)| {
            title_name[id as usize].then_some(id)
        });
        let anchored = anchors.transpose(vocabulary.len(), |&id| Some(id));
        Index {
            words,
            norms,
            names,
            anchors,
            versions,
            postings,
            anchored,
        }
    }

    /// Number of candidates indexed.
    pub fn len(&self) -> usize {
        self.norms.len()
    }

    /// Whether no candidate was indexed.
    pub fn is_empty(&self) -> bool {
        self.norms.is_empty()
    }

    fn doc(&self, i: usize) -> Doc<'_> {
        Doc {
            words: self.words.row(i),
            norm: self.norms[i],
            names: self.names.row(i),
            anchors: self.anchors.row(i),
            versions: self.versions.row(i),
        }
    }

    /// The cosine similarity of the weighted word vectors of candidates `a` and `b`, in 0..=1,
    /// before the guards.
    pub fn similarity(&self, a: usize, b: usize) -> f64 {
        let (x, y) = (self.doc(a), self.doc(b));
        let (mut i, mut j, mut dot) = (0, 0, 0f32);
        while i < x.words.len() && j < y.words.len() {
            let ((ia, wa), (ib, wb)) = (x.words[i], y.words[j]);
            match ia.cmp(&ib) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += wa * wb;
                    i += 1;
                    j += 1;
                }
            }
        }
        let norms = x.norm * y.norm;
        if norms == 0.0 {
            0.0
        } else {
            f64::from((dot / norms).min(1.0))
        }
    }

    /// How candidates `a` and `b` are anchored to one subject, or `None` if they fail the guards
    /// (step 4 of the measure).
    pub fn link(&self, a: usize, b: usize) -> Option<Link> {
        let (x, y) = (self.doc(a), self.doc(b));
        let holds = |doc: &Doc<'_>, id: u32| doc.words.binary_search_by_key(&id, |w| w.0).is_ok();
        let found = |names: &[u32], doc: &Doc<'_>| names.iter().filter(|&&t| holds(doc, t)).count();
        let (in_y, in_x) = (found(x.names, &y), found(y.names, &x));
        // If both titles hold names, at least half of each title's names are in the other item.
        let covered = x.names.is_empty()
            || y.names.is_empty()
            || (2 * in_y >= x.names.len() && 2 * in_x >= y.names.len());
        let versions_meet = x.versions.is_empty()
            || y.versions.is_empty()
            || x.versions
                .iter()
                .any(|v| y.versions.binary_search(v).is_ok());
        if !covered || !versions_meet {
            return None;
        }
        if in_y + in_x > 0 {
            return Some(Link::Name);
        }
        let worded = (x.names.is_empty() || y.names.is_empty())
            && x.anchors.iter().any(|t| y.anchors.binary_search(t).is_ok());
        worded.then_some(Link::Word)
    }

    /// Whether candidates `a` and `b` pass the guards.
    pub fn may_match(&self, a: usize, b: usize) -> bool {
        self.link(a, b).is_some()
    }

    /// Whether `a` and `b` tell one story at `threshold`: they pass the guards and are similar
    /// enough (a pair linked only by a shared word needs [`WORD_LINK_FACTOR`] × `threshold`).
    pub fn same_story(&self, a: usize, b: usize, threshold: f64) -> bool {
        self.same_story_by(a, b, threshold, || self.similarity(a, b))
    }

    /// [`Index::same_story`], with the similarity computed by `similarity` once the guards pass.
    fn same_story_by(
        &self,
        a: usize,
        b: usize,
        threshold: f64,
        similarity: impl FnOnce() -> f64,
    ) -> bool {
        match self.link(a, b) {
            Some(Link::Name) => similarity() >= threshold,
            Some(Link::Word) => similarity() >= threshold * WORD_LINK_FACTOR,
            None => false,
        }
    }

    /// The similarity of `a`, whose weights are spread in `dense` (by word id, 0 elsewhere), and
    /// `b`: the same sum as [`Index::similarity`] in the same order (a word `b` lacks adds an
    /// exact 0), by one lookup per word of `b` instead of a merge of the two lists.
    fn similarity_dense(&self, a: usize, dense: &[f32], b: usize) -> f64 {
        let dot: f32 = self
            .words
            .row(b)
            .iter()
            .fold(0.0, |dot, &(id, w)| dot + dense[id as usize] * w);
        let norms = self.norms[a] * self.norms[b];
        if norms == 0.0 {
            0.0
        } else {
            f64::from((dot / norms).min(1.0))
        }
    }

    /// The similarity of `a` and `b` if they pass the guards, else 0.
    pub fn score(&self, a: usize, b: usize) -> f64 {
        if self.may_match(a, b) {
            self.similarity(a, b)
        } else {
            0.0
        }
    }

    /// The groups of two or more candidates whose pairs, guards passed, are similar at
    /// `threshold` or above (connected components), ordered by their first member.
    ///
    /// Only pairs that can pass the guards are compared: a pair linked by a name has a name of
    /// one title in the other item's words (the postings of that name), and a pair linked by a
    /// word shares a title anchor (the candidates anchored by it; that relation is symmetric, so
    /// each pair is taken once, from its smaller member).
    pub fn clusters(&self, threshold: f64) -> Vec<Group> {
        let n = self.len();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        let mut seen = vec![u32::MAX; n];
        let mut dense = vec![0f32; self.postings.starts.len() - 1];
        for a in 0..n {
            for &(id, w) in self.words.row(a) {
                dense[id as usize] = w;
            }
            let by_name = self.names.row(a).iter().map(|&t| (t, &self.postings));
            let by_word = self.anchors.row(a).iter().map(|&t| (t, &self.anchored));
            for (t, rows) in by_name.chain(by_word) {
                for &b in rows.row(t as usize) {
                    if b as usize == a || seen[b as usize] == a as u32 {
                        continue;
                    }
                    seen[b as usize] = a as u32;
                    let (ra, rb) = (find(&mut parent, a as u32), find(&mut parent, b));
                    let b = b as usize;
                    let similarity = || self.similarity_dense(a, &dense, b);
                    if ra != rb && self.same_story_by(a, b, threshold, similarity) {
                        parent[ra.max(rb) as usize] = ra.min(rb);
                    }
                }
            }
            for &(id, _) in self.words.row(a) {
                dense[id as usize] = 0.0;
            }
        }
        let mut group_of = vec![u32::MAX; n];
        let mut out: Vec<Group> = Vec::new();
        for i in 0..n {
            let root = find(&mut parent, i as u32) as usize;
            // A root is its set's smallest member (unions keep the smaller root), so it comes
            // first and groups are made in the order of their first member.
            if group_of[root] == u32::MAX {
                group_of[root] = out.len() as u32;
                out.push(Vec::new());
            }
            out[group_of[root] as usize].push(i);
        }
        out.retain(|g| g.len() > 1);
        out
    }
}

/// Sorts nothing: keeps the first of each run of entries with the same id in `ids` (sorted by
/// id) at the front, and returns how many there are.
fn dedup_by_id<T: Copy + Id>(ids: &mut [T]) -> usize {
    let mut kept = 0;
    for i in 0..ids.len() {
        if kept == 0 || ids[kept - 1].id() != ids[i].id() {
            ids[kept] = ids[i];
            kept += 1;
        }
    }
    kept
}

/// A word id, or an entry keyed by one.
trait Id {
    fn id(&self) -> u32;
}

impl Id for u32 {
    fn id(&self) -> u32 {
        *self
    }
}

impl Id for (u32, f32) {
    fn id(&self) -> u32 {
        self.0
    }
}

/// The root of `i`'s set, halving the path on the way.
fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        parent[i as usize] = parent[parent[i as usize] as usize];
        i = parent[i as usize];
    }
    i
}

/// The normalised words of `text`, in order (step 1 of the measure).
pub fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    raw_words(text).filter_map(|w| normalise(&lowercase(text, &w)))
}

/// How a word was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// First in its sentence (or text), or an acronym: its capital says nothing.
    First,
    /// Capitalised inside a sentence: maybe a name.
    Capital,
    /// Lowercase.
    Lower,
}

/// A run of letters and digits in a text (a `.` between two digits stays inside).
#[derive(Debug, Clone)]
struct RawWord {
    /// Its bytes in the text.
    range: std::ops::Range<usize>,
    /// A hash of its lowercase form (FNV-1a over its characters).
    hash: u64,
    /// How it was written.
    case: Case,
}

/// The word at `w` in `text`, lowercased.
fn lowercase(text: &str, w: &RawWord) -> String {
    let mut lower = String::new();
    lowercase_into(&mut lower, text, w);
    lower
}

/// Writes the word at `w` in `text`, lowercased, into `buffer` (emptied first).
fn lowercase_into(buffer: &mut String, text: &str, w: &RawWord) {
    buffer.clear();
    buffer.extend(text[w.range.clone()].chars().flat_map(char::to_lowercase));
}

/// The runs of letters and digits of `text`, without allocating. Walks the bytes: an ASCII
/// byte is its character, and only other characters are decoded.
fn raw_words(text: &str) -> impl Iterator<Item = RawWord> + '_ {
    let bytes = text.as_bytes();
    // The character at byte `i` (always a character boundary: `at` moves by whole characters).
    let char_at = move |i: usize| match bytes.get(i) {
        None => None,
        Some(&b) if b.is_ascii() => Some(char::from(b)),
        Some(_) => text.get(i..).and_then(|rest| rest.chars().next()),
    };
    let mut at = 0;
    let mut sentence_start = true;
    std::iter::from_fn(move || {
        let (start, first) = loop {
            let c = char_at(at)?;
            if c.is_alphanumeric() {
                break (at, c);
            }
            if matches!(c, '.' | '!' | '?' | ':' | ';') {
                sentence_start = true;
            }
            at += c.len_utf8();
        };
        let mut hash = FNV_OFFSET;
        let mut any_lower = false;
        let mut c = first;
        loop {
            any_lower |= c.is_lowercase();
            if c.is_ascii() {
                let l = c.to_ascii_lowercase();
                hash = (hash ^ u64::from(u32::from(l))).wrapping_mul(0x100_0000_01b3);
            } else {
                for l in c.to_lowercase() {
                    hash = (hash ^ u64::from(u32::from(l))).wrapping_mul(0x100_0000_01b3);
                }
            }
            at += c.len_utf8();
            let previous_digit = c.is_ascii_digit();
            c = match char_at(at) {
                Some(n) if n.is_alphanumeric() => n,
                Some('.')
                    if previous_digit && bytes.get(at + 1).is_some_and(u8::is_ascii_digit) =>
                {
                    '.'
                }
                _ => break,
            };
        }
        // An acronym (no lowercase letter) is written the same everywhere: no sign of a name.
        let case = match (sentence_start, first.is_uppercase(), any_lower) {
            (true, _, _) | (false, true, false) => Case::First,
            (false, true, true) => Case::Capital,
            (false, false, _) => Case::Lower,
        };
        sentence_start = false;
        Some(RawWord {
            range: start..at,
            hash,
            case,
        })
    })
}

/// The FNV-1a offset basis: the hash of nothing.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// A hasher for keys that are hashes already (taken as they are) and for short strings
/// (FNV-1a: words are a few bytes long, where SipHash's set-up costs more than the hashing).
#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    /// FNV-1a mixes well into the low bits but barely into the top ones, which the hash table
    /// compares first (SwissTable's 7-bit tags): a folded multiply spreads every bit over both.
    fn finish(&self) -> u64 {
        let product = u128::from(self.0) * 0x9e37_79b9_7f4a_7c15;
        (product as u64) ^ ((product >> 64) as u64)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The words of a window: each distinct raw word (by hash) is normalised once and mapped to the
/// id of its normal form, or to nothing (a stop word); what is known about each normal form.
#[derive(Default)]
struct Vocabulary {
    raw: HashMap<u64, Option<u32>, std::hash::BuildHasherDefault<Prehashed>>,
    /// By the FNV-1a hash of a normal form (as `raw` by the hash of a raw word: a collision
    /// among a window's few thousand words is a one in 10^11 event), its id.
    normal: HashMap<u64, u32, std::hash::BuildHasherDefault<Prehashed>>,
    /// A word being normalised (one buffer for all).
    scratch: String,
    /// Per id: a number; a version number (with a dot).
    number: Vec<bool>,
    version: Vec<bool>,
    /// Per id: capitalised inside a summary sentence somewhere; written in lowercase somewhere.
    capital: Vec<bool>,
    lower: Vec<bool>,
    /// Per id: a word of the digest's topic (a stop word here).
    topic: Vec<bool>,
    /// Per id: its key in `normal`.
    keys: Vec<u64>,
}

impl Vocabulary {
    /// An empty vocabulary sized for the words of `texts` candidates (a few new words each, up
    /// to a bound), so that it rarely grows while filling.
    fn for_candidates(texts: usize) -> Vocabulary {
        let words = texts.saturating_mul(2).min(1 << 16);
        let hasher = std::hash::BuildHasherDefault::<Prehashed>::default;
        Vocabulary {
            raw: HashMap::with_capacity_and_hasher(words, hasher()),
            normal: HashMap::with_capacity_and_hasher(words, hasher()),
            ..Vocabulary::default()
        }
    }

    /// Number of distinct normal forms.
    fn len(&self) -> usize {
        self.number.len()
    }

    /// The id of the word `w` of `text` (from a title if `in_title`), or `None` for a stop word.
    fn id(&mut self, text: &str, w: &RawWord, in_title: bool) -> Option<u32> {
        let id = match self.raw.get(&w.hash) {
            Some(known) => (*known)?,
            None => {
                let mut word = std::mem::take(&mut self.scratch);
                lowercase_into(&mut word, text, w);
                let id = normalise_in(&mut word).then(|| self.intern(&word));
                self.scratch = word;
                self.raw.insert(w.hash, id);
                id?
            }
        };
        let i = id as usize;
        if self.topic[i] {
            return None;
        }
        self.capital[i] |= w.case == Case::Capital && !in_title;
        self.lower[i] |= w.case == Case::Lower;
        Some(id)
    }

    fn intern(&mut self, normal: &str) -> u32 {
        let key = {
            let mut hasher = Prehashed(FNV_OFFSET);
            std::hash::Hasher::write(&mut hasher, normal.as_bytes());
            hasher.0
        };
        let number = normal.starts_with(|c: char| c.is_ascii_digit());
        self.insert(key, number, number && normal.contains('.'))
    }

    /// The id of the normal form with `key`, added (a number, a version) if it is new.
    fn insert(&mut self, key: u64, number: bool, version: bool) -> u32 {
        if let Some(&id) = self.normal.get(&key) {
            return id;
        }
        let id = self.number.len() as u32;
        self.number.push(number);
        self.version.push(version);
        self.capital.push(false);
        self.lower.push(false);
        self.topic.push(false);
        self.keys.push(key);
        self.normal.insert(key, id);
        id
    }

    /// Adds the words of `later` (a vocabulary of later candidates, with the same topic) to
    /// these, new ones in their order, with what was seen of them; returns, per id of `later`,
    /// its id here.
    fn absorb(&mut self, later: &Vocabulary) -> Vec<u32> {
        (0..later.len())
            .map(|j| {
                let i = self.insert(later.keys[j], later.number[j], later.version[j]);
                let (i, j) = (i as usize, j);
                self.capital[i] |= later.capital[j];
                self.lower[i] |= later.lower[j];
                self.topic[i] |= later.topic[j];
                i as u32
            })
            .collect()
    }
}

/// A word's normal form, or `None` for a stop word or a single letter.
fn normalise(word: &str) -> Option<String> {
    let mut normal = word.to_string();
    normalise_in(&mut normal).then_some(normal)
}

/// Turns the lowercase `word` into its normal form in place (see `normalise`); `false` for a
/// stop word or a single letter.
fn normalise_in(word: &mut String) -> bool {
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        // A number: drop a unit ("6.4b", "21st") and trailing ".0"s ("1.80.0").
        let mut end = word.trim_end_matches(|c: char| !c.is_ascii_digit()).len();
        while word[..end].ends_with(".0") {
            end -= 2;
        }
        word.truncate(end);
        return true;
    }
    if word.chars().count() < 2 || is_stop_word(word) {
        return false;
    }
    stem(word);
    !is_stop_word(word)
}

/// Strips common English suffixes in place, so that inflections of a word meet: `forks`,
/// `forked`, `forking` → `fork`; `license`, `licensed`, `licensing` → `licens`. Words with digits
/// stay.
fn stem(w: &mut String) {
    if w.chars().any(|c| c.is_ascii_digit()) || !w.is_ascii() {
        return;
    }
    if w.len() > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with("sses") {
        w.truncate(w.len() - 2);
    } else if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") {
        w.pop();
    }
    for suffix in ["ing", "ed"] {
        if w.len() > suffix.len() + 3 && w.ends_with(suffix) {
            w.truncate(w.len() - suffix.len());
            let b = w.as_bytes();
            let n = b.len();
            if n > 3 && b[n - 1] == b[n - 2] && !matches!(b[n - 1], b'l' | b's' | b'z') {
                w.pop();
            }
            break;
        }
    }
    if w.len() > 4 && w.ends_with('e') {
        w.pop();
    }
}

/// Whether `word` (lowercase) is one of the [`STOP_WORDS`]: a set lookup (every distinct word of
/// a window is tried, twice).
fn is_stop_word(word: &str) -> bool {
    type Set = std::collections::HashSet<&'static str, std::hash::BuildHasherDefault<Prehashed>>;
    static SET: std::sync::LazyLock<Set> =
        std::sync::LazyLock::new(|| STOP_WORDS.iter().copied().collect());
    SET.contains(word)
}

/// Words that say nothing about which story an item tells: English function words and the
/// vocabulary of headlines and announcements. Kept sorted, so that a reader finds a word.
const STOP_WORDS: &[&str] = &[
    "about",
    "after",
    "again",
    "against",
    "ago",
    "all",
    "almost",
    "along",
    "already",
    "also",
    "although",
    "always",
    "am",
    "among",
    "an",
    "and",
    "announc",
    "announce",
    "announced",
    "announcement",
    "announces",
    "announcing",
    "another",
    "any",
    "anyone",
    "anything",
    "are",
    "around",
    "as",
    "at",
    "available",
    "back",
    "be",
    "because",
    "been",
    "before",
    "behind",
    "being",
    "best",
    "better",
    "between",
    "big",
    "both",
    "bring",
    "brings",
    "but",
    "by",
    "can",
    "cannot",
    "could",
    "day",
    "days",
    "deep",
    "did",
    "dive",
    "do",
    "does",
    "doing",
    "done",
    "down",
    "during",
    "each",
    "easy",
    "either",
    "else",
    "even",
    "ever",
    "every",
    "everything",
    "few",
    "first",
    "five",
    "for",
    "four",
    "from",
    "further",
    "get",
    "gets",
    "getting",
    "give",
    "go",
    "goes",
    "going",
    "good",
    "got",
    "great",
    "guide",
    "had",
    "happy",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "however",
    "if",
    "in",
    "inside",
    "instead",
    "into",
    "introducing",
    "introduction",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "know",
    "last",
    "latest",
    "learn",
    "learned",
    "lesson",
    "lessons",
    "let",
    "like",
    "look",
    "made",
    "make",
    "makes",
    "making",
    "many",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "near",
    "need",
    "never",
    "new",
    "next",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "often",
    "on",
    "once",
    "one",
    "only",
    "onto",
    "or",
    "other",
    "others",
    "our",
    "ours",
    "out",
    "over",
    "own",
    "part",
    "people",
    "per",
    "practic",
    "practice",
    "practices",
    "pro",
    "proud",
    "put",
    "rather",
    "real",
    "really",
    "releas",
    "release",
    "released",
    "releases",
    "run",
    "running",
    "said",
    "same",
    "say",
    "says",
    "see",
    "seven",
    "several",
    "she",
    "should",
    "show",
    "shows",
    "since",
    "six",
    "so",
    "some",
    "something",
    "still",
    "such",
    "take",
    "takes",
    "team",
    "ten",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "this",
    "those",
    "though",
    "three",
    "through",
    "time",
    "times",
    "to",
    "today",
    "too",
    "top",
    "toward",
    "towards",
    "two",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "use",
    "used",
    "uses",
    "using",
    "very",
    "via",
    "want",
    "was",
    "way",
    "ways",
    "we",
    "week",
    "weeks",
    "well",
    "were",
    "what",
    "whats",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "year",
    "years",
    "yet",
    "you",
    "your",
    "yours",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn index(items: &[(&'static str, &'static str)]) -> Index {
        let texts: Vec<Text<'_>> = items
            .iter()
            .map(|&(title, summary)| Text { title, summary })
            .collect();
        Index::new(&texts, "")
    }

    #[test]
    fn stop_words_are_sorted_without_repeats_and_each_is_found() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(STOP_WORDS.iter().all(|w| is_stop_word(w)));
        assert!(!is_stop_word("raft") && !is_stop_word("") && !is_stop_word("the "));
    }

    #[test]
    fn words_are_lowercased_stemmed_and_numbers_normalised() {
        let words: Vec<String> =
            words_of("Announcing Rust 1.80.0: IBM buys HashiCorp for $6.4B, Redis' licensing")
                .collect();
        assert_eq!(
            words,
            [
                "rust",
                "1.80",
                "ibm",
                "buy",
                "hashicorp",
                "6.4",
                "redi",
                "licens"
            ]
        );
        // Letters beyond ASCII are decoded and lowercased; words with them are not stemmed.
        let words: Vec<String> = words_of("Zürich: GRÖSSE, naïve cafés; 3.14.0 ok").collect();
        assert_eq!(words, ["zürich", "grösse", "naïve", "cafés", "3.14", "ok"]);
        let forms: Vec<String> = ["forks", "forked", "forking", "stopped", "stop"]
            .iter()
            .map(|w| {
                let mut w = w.to_string();
                stem(&mut w);
                w
            })
            .collect();
        assert_eq!(forms, ["fork", "fork", "fork", "stop", "stop"]);
    }

    #[test]
    fn the_same_story_from_two_outlets_forms_one_cluster() {
        let ix = index(&[
            (
                "IBM confirms it's buying HashiCorp for $6.4B",
                "IBM will acquire HashiCorp, the company behind Terraform and Vault.",
            ),
            (
                "IBM to buy HashiCorp in $6.4 billion deal",
                "IBM agreed to buy cloud software provider HashiCorp for $6.4 billion.",
            ),
            (
                "Linux Foundation launches Valkey",
                "A fork of Redis under the BSD license.",
            ),
            (
                "PostgreSQL 17 lands with incremental backups",
                "The database adds incremental backups.",
            ),
        ]);
        assert_eq!(ix.clusters(DEFAULT_THRESHOLD), vec![vec![0, 1]]);
        assert!(ix.score(0, 1) > DEFAULT_THRESHOLD, "{}", ix.score(0, 1));
    }

    #[test]
    fn shared_vocabulary_without_a_shared_subject_does_not_merge() {
        // Without the anchor guard these summaries are alike enough to merge two stories.
        let ix = index(&[
            (
                "Raft in practice",
                "What we learned running Raft in production: disk latency and the bugs our \
                 fault injection found in log replication.",
            ),
            (
                "Paxos in practice",
                "What we learned running Multi-Paxos in production: disk latency and the bugs \
                 our fault injection found in log replication.",
            ),
        ]);
        assert!(ix.similarity(0, 1) > DEFAULT_THRESHOLD);
        assert!(!ix.may_match(0, 1));
        assert!(ix.clusters(DEFAULT_THRESHOLD).is_empty());
    }

    #[test]
    fn different_versions_of_the_same_product_do_not_merge() {
        // Release notes share most words; only the version tells them apart.
        let ix = index(&[
            (
                "Rust 1.80 released",
                "The latest release of the Rust language stabilizes lazy types.",
            ),
            (
                "Rust 1.79 released",
                "The latest release of the Rust language stabilizes inline const.",
            ),
            (
                "Announcing Rust 1.80.0",
                "Rust 1.80 stabilizes LazyCell and LazyLock, lazy types.",
            ),
        ]);
        assert!(!ix.may_match(0, 1));
        assert!(ix.may_match(0, 2));
        assert_eq!(ix.clusters(DEFAULT_THRESHOLD), vec![vec![0, 2]]);
    }

    #[test]
    fn a_story_chains_through_its_closest_members_and_a_threshold_of_one_merges_nothing() {
        let ix = index(&[
            (
                "CrowdStrike update crashes Windows PCs",
                "A faulty Falcon sensor update.",
            ),
            (
                "Faulty CrowdStrike update takes down Windows",
                "Falcon sensor update crashed Windows PCs worldwide.",
            ),
            (
                "Airlines grounded after CrowdStrike glitch",
                "Windows PCs crashed worldwide after the faulty update.",
            ),
        ]);
        assert_eq!(ix.clusters(DEFAULT_THRESHOLD), vec![vec![0, 1, 2]]);
        assert!(ix.clusters(1.01).is_empty());
    }

    #[test]
    fn empty_and_wordless_texts_are_no_one_s_cluster() {
        let ix = index(&[("", ""), ("The", "of and"), ("!!!", "")]);
        assert_eq!(ix.similarity(0, 1), 0.0);
        assert!(ix.clusters(0.0).is_empty());
        assert!(Index::new(&[], "").clusters(0.5).is_empty());
    }
}

/// The labelled set `tests/fixtures/clusters/stories.jsonl`: headlines and summaries of 20
/// stories from several outlets each, with look-alike pairs of distinct stories.
#[cfg(test)]
mod labelled {
    use super::*;

    fn stories() -> Vec<(String, String, String)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/clusters/stories.jsonl"
        );
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let s = |k: &str| v[k].as_str().unwrap().to_string();
                (s("story"), s("title"), s("summary"))
            })
            .collect()
    }

    /// The (title, summary) of each labelled item.
    fn texts(items: &[(String, String, String)]) -> Vec<Text<'_>> {
        items
            .iter()
            .map(|i| Text {
                title: &i.1,
                summary: &i.2,
            })
            .collect()
    }

    /// Pairwise precision and recall of `clusters` against the story labels: a pair of items is
    /// predicted when they share a cluster, and true when they share a story.
    fn pairwise(labels: &[String], clusters: &[Group]) -> (f64, f64, usize, usize, usize) {
        let mut cluster_of = vec![usize::MAX; labels.len()];
        for (c, g) in clusters.iter().enumerate() {
            for &i in g {
                cluster_of[i] = c;
            }
        }
        let (mut tp, mut fp, mut fn_) = (0, 0, 0);
        for a in 0..labels.len() {
            for b in a + 1..labels.len() {
                let predicted = cluster_of[a] != usize::MAX && cluster_of[a] == cluster_of[b];
                match (predicted, labels[a] == labels[b]) {
                    (true, true) => tp += 1,
                    (true, false) => fp += 1,
                    (false, true) => fn_ += 1,
                    (false, false) => {}
                }
            }
        }
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / (tp + fn_).max(1) as f64;
        (precision, recall, tp, fp, fn_)
    }

    #[test]
    fn the_dense_similarity_of_the_clustering_pass_is_the_pairwise_similarity_bit_for_bit() {
        // `clusters` spreads one candidate's weights over a dense array and looks the other's
        // words up in it; any difference from `similarity` would move pairs across the threshold.
        let items = stories();
        let texts = texts(&items);
        let index = Index::new(&texts, "");
        let mut dense = vec![0f32; index.postings.starts.len() - 1];
        let mut positive = 0;
        for a in 0..index.len() {
            for &(id, w) in index.words.row(a) {
                dense[id as usize] = w;
            }
            for b in 0..index.len() {
                let (fast, merged) = (index.similarity_dense(a, &dense, b), index.similarity(a, b));
                assert_eq!(fast.to_bits(), merged.to_bits(), "{a} {b}: {fast} {merged}");
                positive += usize::from(merged > 0.0);
            }
            for &(id, _) in index.words.row(a) {
                dense[id as usize] = 0.0;
            }
        }
        assert!(positive > index.len() * 4, "{positive} similar pairs only");
    }

    #[test]
    fn tokenising_in_shares_on_several_threads_gives_what_one_thread_gives() {
        // The ids of later shares are renumbered into the first's: any slip would change word
        // order, hence float sums and clusters, with the number of cores.
        let items = stories();
        let texts = texts(&items);
        let one = Tokens::in_shares(&texts, "rust release", 1);
        for threads in [2, 3, 7] {
            let shared = Tokens::in_shares(&texts, "rust release", threads);
            assert_eq!(shared.words, one.words, "{threads} threads");
            assert_eq!(shared.titles, one.titles, "{threads} threads");
            let v = (&shared.vocabulary, &one.vocabulary);
            assert_eq!(v.0.keys, v.1.keys, "{threads} threads");
            assert_eq!(v.0.capital, v.1.capital);
            assert_eq!(v.0.lower, v.1.lower);
            assert_eq!(v.0.topic, v.1.topic);
            assert_eq!(v.0.version, v.1.version);
        }
        assert!(one.vocabulary.topic.iter().any(|&t| t));
        assert!(one.vocabulary.capital.iter().any(|&c| c));
    }

    #[test]
    fn the_labelled_stories_cluster_with_high_pairwise_precision_and_recall() {
        // A measure that merged look-alike stories (Raft vs Paxos, Rust 1.79 vs 1.80, Redis's
        // licence vs the Valkey fork) would lose precision; one too strict, recall.
        let items = stories();
        let labels: Vec<String> = items.iter().map(|i| i.0.clone()).collect();
        let mut distinct = labels.clone();
        distinct.sort();
        distinct.dedup();
        assert!(items.len() >= 60 && distinct.len() >= 15);
        let texts = texts(&items);
        let index = Index::new(&texts, "");
        let clusters = index.clusters(DEFAULT_THRESHOLD);
        let (precision, recall, tp, fp, fn_) = pairwise(&labels, &clusters);
        println!(
            "labelled set: {} items, {} stories; threshold {DEFAULT_THRESHOLD}: pairwise \
             precision {precision:.3}, recall {recall:.3} ({tp} true pairs found, {fp} false, \
             {fn_} missed)",
            items.len(),
            distinct.len()
        );
        for t in [0.1, 0.14, 0.16, 0.17, 0.18, 0.19, 0.2, 0.25, 0.3] {
            let (p, r, ..) = pairwise(&labels, &index.clusters(t));
            println!("  threshold {t:.2}: precision {p:.3}, recall {r:.3}");
        }
        for g in &clusters {
            let stories: Vec<&str> = g.iter().map(|&i| labels[i].as_str()).collect();
            println!("  cluster {stories:?}");
        }
        for a in 0..items.len() {
            for b in a + 1..items.len() {
                if labels[a] == labels[b]
                    && !clusters.iter().any(|g| g.contains(&a) && g.contains(&b))
                {
                    println!(
                        "  missed {}: {:?} / {:?} (similarity {:.3}, guards {})",
                        labels[a],
                        items[a].1,
                        items[b].1,
                        index.similarity(a, b),
                        index.may_match(a, b)
                    );
                }
            }
        }
        assert!(precision >= 0.95, "precision {precision:.3}");
        assert!(recall >= 0.9, "recall {recall:.3}");
    }
}
