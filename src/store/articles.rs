//! Articles in the store: idempotent upsert on the canonical URL, and the candidate query used by
//! selection (tag + window, served by the `(tag, published_at)` index).

use std::borrow::Cow;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use super::Store;
use crate::model::{Article, Discussion, Item, Kind, Publisher};
use crate::period::Window;

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertStats {
    /// Articles not seen before.
    pub new: usize,
    /// Known articles whose text, tags or engagement changed.
    pub updated: usize,
    /// Known articles that arrived identical.
    pub unchanged: usize,
}

impl UpsertStats {
    /// Articles stored, whatever the outcome.
    pub fn total(&self) -> usize {
        self.new + self.updated + self.unchanged
    }
}

impl std::ops::AddAssign for UpsertStats {
    fn add_assign(&mut self, o: Self) {
        self.new += o.new;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
    }
}

/// An article with its store id.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Row id.
    pub id: i64,
    /// The article.
    pub article: Article,
    /// The configured source that first stored it (`None` for rows older than that record).
    pub origin: Option<String>,
    /// Each source's record of it, by source name: recorded once it has a discussion link or a
    /// second source (empty for an article only one source ever sent without one).
    pub discussions: Vec<Discussion>,
}

const COLUMNS: &str = "id, url, title, summary, kind, source_id, source_name, source_avatar, \
                       published_at, upvotes, comments, tags, origin";

fn split_tags(tags: &str) -> Vec<String> {
    tags.split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Stored> {
    let kind: String = r.get(4)?;
    let published: Option<i64> = r.get(8)?;
    let tags: String = r.get(11)?;
    Ok(Stored {
        id: r.get(0)?,
        article: Article {
            url: r.get(1)?,
            title: r.get(2)?,
            summary: r.get(3)?,
            kind: Kind::parse(&kind).unwrap_or(Kind::Article),
            publisher: Publisher {
                id: r.get(5)?,
                name: r.get(6)?,
                avatar: r.get(7)?,
            },
            published_at: published.and_then(|s| DateTime::from_timestamp(s, 0)),
            upvotes: r.get::<_, i64>(9)?.max(0) as u64,
            comments: r.get::<_, i64>(10)?.max(0) as u64,
            tags: split_tags(&tags),
        },
        origin: r.get(12)?,
        discussions: Vec::new(),
    })
}

fn discussion_row(r: &Row<'_>) -> rusqlite::Result<(i64, Discussion)> {
    Ok((
        r.get(0)?,
        Discussion {
            source: r.get(1)?,
            name: r.get(2)?,
            url: r.get(3)?,
            upvotes: r.get::<_, i64>(4)?.max(0) as u64,
            comments: r.get::<_, i64>(5)?.max(0) as u64,
        },
    ))
}

const DISCUSSION_COLUMNS: &str = "article_id, source, name, discussion_url, upvotes, comments";

/// A stored row as the upsert needs it: the article and the tags other sources added.
fn with_extra(r: &Row<'_>) -> rusqlite::Result<(Stored, Vec<String>)> {
    Ok((from_row(r)?, split_tags(&r.get::<_, String>(13)?)))
}

/// Counts stored as SQLite integers (saturating at i64::MAX).
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Sorted union of two normalized tag lists.
fn union(a: &[String], b: &[String]) -> Vec<String> {
    let mut all: Vec<String> = a.iter().chain(b).cloned().collect();
    all.sort();
    all.dedup();
    all
}

/// What the store holds after `incoming` from `origin` meets the stored row `old`, and the tags
/// other sources contributed. The source that first stored an article owns its text: its
/// corrections replace the text and its own tags. Another source only adds its tags, raises
/// engagement and fills in a missing date. Engagement keeps the highest count and a known date
/// stays, whoever sends the article.
fn merge(
    origin: &str,
    incoming: &Article,
    old: &Stored,
    old_extra: &[String],
) -> (Article, Vec<String>) {
    let owner = old.origin.as_deref().is_none_or(|o| o == origin);
    let (mut merged, extra) = if owner {
        let mut a = incoming.clone();
        a.tags = union(&a.tags, old_extra);
        a.published_at = a.published_at.or(old.article.published_at);
        (a, old_extra.to_vec())
    } else {
        let mut a = old.article.clone();
        a.tags = union(&a.tags, &incoming.tags);
        a.published_at = a.published_at.or(incoming.published_at);
        (a, union(old_extra, &incoming.tags))
    };
    merged.upvotes = incoming.upvotes.max(old.article.upvotes);
    merged.comments = incoming.comments.max(old.article.comments);
    (merged, extra)
}

/// The index selection reads candidates through. A load into an empty store drops it and builds
/// it once at the end (a sort, instead of a million scattered inserts); every open re-creates
/// it if a load was killed in between.
const TAG_INDEX: &str = "article_tags_by_tag_time";

impl Store {
    /// Stores the `items` of the configured source `origin` in one transaction (a savepoint
    /// inside a transaction already open, see [`Store::transaction`]). An item is the
    /// stored article with the same GUID from the same source (even if its link changed), else
    /// the one with the same canonical URL (from any source), else new. The source that stored
    /// an article first owns its text; others add tags, engagement and a missing date.
    pub fn upsert(
        &mut self,
        origin: &str,
        items: &[Item],
        now: DateTime<Utc>,
    ) -> Result<UpsertStats> {
        let mut stats = UpsertStats::default();
        let tx = self.conn.savepoint()?;
        {
            let mut by_url = tx.prepare_cached(&format!(
                "SELECT {COLUMNS}, extra_tags FROM articles WHERE url = ?1"
            ))?;
            let mut by_guid = tx.prepare_cached(&format!(
                "SELECT {COLUMNS}, extra_tags FROM articles WHERE id =
                 (SELECT article_id FROM feed_guids WHERE source = ?1 AND guid = ?2)"
            ))?;
            let mut find = |item: &Item| -> rusqlite::Result<Option<(Stored, Vec<String>)>> {
                let url = by_url
                    .query_row([&item.article.url], with_extra)
                    .optional()?;
                let Some(guid) = &item.guid else {
                    return Ok(url);
                };
                let known = by_guid.query_row([origin, guid], with_extra).optional()?;
                // A GUID whose link moved to a URL already stored as another article joins it.
                Ok(url.or(known))
            };
            let mut insert = tx.prepare_cached(
                "INSERT INTO articles (title, summary, kind, source_id, source_name, source_avatar,
                 published_at, upvotes, comments, tags, extra_tags, updated_at, url, origin,
                 first_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?12)",
            )?;
            let mut update = tx.prepare_cached(
                "UPDATE articles SET title = ?1, summary = ?2, kind = ?3, source_id = ?4,
                 source_name = ?5, source_avatar = ?6, published_at = ?7, upvotes = ?8,
                 comments = ?9, tags = ?10, extra_tags = ?11, updated_at = ?12, url = ?13,
                 origin = ?14 WHERE id = ?15",
            )?;
            let mut clear_tags =
                tx.prepare_cached("DELETE FROM article_tags WHERE article_id = ?1")?;
            let mut add_tag = tx.prepare_cached(
                "INSERT OR IGNORE INTO article_tags (article_id, tag, published_at) VALUES (?1, ?2, ?3)",
            )?;
            // Rows stored before origins were recorded belong to the first source seen again.
            let mut claim = tx.prepare_cached(
                "UPDATE articles SET origin = ?1 WHERE id = ?2 AND origin IS NULL",
            )?;
            // A source's record of an article: the highest counts it gave, its latest link.
            let mut record = tx.prepare_cached(
                "INSERT INTO article_sources
                 (article_id, source, name, discussion_url, upvotes, comments)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (article_id, source) DO UPDATE SET name = excluded.name,
                 discussion_url = coalesce(excluded.discussion_url, discussion_url),
                 upvotes = max(upvotes, excluded.upvotes),
                 comments = max(comments, excluded.comments)",
            )?;
            // The owner's record when a second source arrives: the counts stored so far are its.
            let mut record_owner = tx.prepare_cached(
                "INSERT OR IGNORE INTO article_sources
                 (article_id, source, name, discussion_url, upvotes, comments)
                 VALUES (?1, ?2, ?3, NULL, ?4, ?5)",
            )?;
            let mut refresh = tx.prepare_cached(
                "UPDATE article_sources SET name = ?3, upvotes = max(upvotes, ?4),
                 comments = max(comments, ?5) WHERE article_id = ?1 AND source = ?2",
            )?;
            let mut map_guid = tx.prepare_cached(
                "INSERT OR REPLACE INTO feed_guids (source, guid, article_id) VALUES (?1, ?2, ?3)",
            )?;
            for item in items {
                let old = find(item)?;
                // Its owner sending it again unchanged (the usual re-ingest): merging would give
                // the stored row back, so nothing is merged, formatted or written.
                let resent = old.as_ref().is_some_and(|(old, old_extra)| {
                    old_extra.is_empty()
                        && old.origin.as_deref().is_none_or(|o| o == origin)
                        && old.article == item.article
                });
                let (merged, extra) = match &old {
                    Some((old, old_extra)) if !resent => {
                        let (merged, extra) = merge(origin, &item.article, old, old_extra);
                        (Cow::Owned(merged), extra)
                    }
                    _ => (Cow::Borrowed(&item.article), Vec::new()),
                };
                let m = merged.as_ref();
                let id = match &old {
                    Some((old, old_extra))
                        if resent || (old.article == *m && *old_extra == extra) =>
                    {
                        if old.origin.is_none() {
                            claim.execute(params![origin, old.id])?;
                        }
                        stats.unchanged += 1;
                        old.id
                    }
                    _ => {
                        let published = m.published_at.map(|t| t.timestamp());
                        let owner = old
                            .as_ref()
                            .and_then(|(o, _)| o.origin.as_deref())
                            .unwrap_or(origin);
                        let fields = params![
                            m.title,
                            m.summary,
                            m.kind.as_str(),
                            m.publisher.id,
                            m.publisher.name,
                            m.publisher.avatar,
                            published,
                            count(m.upvotes),
                            count(m.comments),
                            m.tags.join(" "),
                            extra.join(" "),
                            now.timestamp(),
                            m.url,
                            owner,
                        ];
                        let id = match &old {
                            Some((old, _)) => {
                                let mut with_id = fields.to_vec();
                                with_id.push(&old.id);
                                update.execute(with_id.as_slice())?;
                                clear_tags.execute([old.id])?;
                                stats.updated += 1;
                                old.id
                            }
                            None => {
                                insert.execute(fields)?;
                                stats.new += 1;
                                tx.last_insert_rowid()
                            }
                        };
                        for t in &m.tags {
                            add_tag.execute(params![id, t, published])?;
                        }
                        id
                    }
                };
                if let Some(guid) = &item.guid {
                    map_guid.execute(params![origin, guid, id])?;
                }
                let a = &item.article;
                let other_owner = old
                    .as_ref()
                    .and_then(|(o, _)| o.origin.as_deref())
                    .filter(|o| *o != origin);
                if let (Some(owner), Some((o, _))) = (other_owner, &old) {
                    let counts = (count(o.article.upvotes), count(o.article.comments));
                    record_owner.execute(params![
                        id,
                        owner,
                        o.article.publisher.name,
                        counts.0,
                        counts.1
                    ])?;
                }
                let counts = (count(a.upvotes), count(a.comments));
                if item.discussion.is_some() || other_owner.is_some() {
                    record.execute(params![
                        id,
                        origin,
                        a.publisher.name,
                        item.discussion,
                        counts.0,
                        counts.1
                    ])?;
                } else if old.is_some() && !resent {
                    refresh.execute(params![id, origin, a.publisher.name, counts.0, counts.1])?;
                }
            }
        }
        tx.commit().context("committing articles")?;
        Ok(stats)
    }

    /// Runs `f` with settings for loading many articles in large transactions: a 32 MiB page
    /// cache, so most of the URL and tag index pages stay in memory between batches, and a WAL
    /// checkpoint every 40 MiB instead of every 4 MiB. Into a store with no articles, the tag
    /// index is dropped and built once afterwards (a sort, not scattered inserts; the sorter's
    /// memory is bounded by the cache size and spills to temporary files past it). The defaults
    /// (small cache, for a flat memory profile while sending) are restored afterwards and the
    /// cache memory released.
    pub fn bulk<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> Result<T> {
        let cache: i64 = self.conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        self.conn
            .execute_batch("PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 10000;")?;
        let fresh: bool =
            self.conn
                .query_row("SELECT NOT EXISTS (SELECT 1 FROM articles)", [], |r| {
                    r.get(0)
                })?;
        if fresh {
            self.conn
                .execute_batch(&format!("DROP INDEX IF EXISTS {TAG_INDEX}"))?;
        }
        let out = f(self);
        if fresh {
            // The loaded pages leave the cache first, and the cache is halved while the index is
            // built: the sort keeps up to a cache's worth of keys in memory beside the cache
            // itself (the peak of a fresh ingest, about 97 MB with the full cache).
            self.conn
                .execute_batch("PRAGMA shrink_memory; PRAGMA cache_size = -16384;")?;
            self.ensure_tag_index()?;
        }
        self.conn.execute_batch(&format!(
            "PRAGMA cache_size = {cache}; PRAGMA wal_autocheckpoint = 1000; PRAGMA shrink_memory;"
        ))?;
        Ok(out)
    }

    /// Builds the tag index if it is missing.
    pub(super) fn ensure_tag_index(&self) -> Result<()> {
        self.conn.execute_batch(&format!(
            "CREATE INDEX IF NOT EXISTS {TAG_INDEX} ON article_tags (tag, published_at, article_id)"
        ))?;
        Ok(())
    }

    /// Dated articles carrying any of `tags` and published inside `window`, in id order.
    pub fn candidates(&self, tags: &[String], window: &Window) -> Result<Vec<Stored>> {
        if tags.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; tags.len()].join(", ");
        let sql = format!(
            "SELECT {COLUMNS} FROM articles WHERE id IN (
                 SELECT article_id FROM article_tags
                 WHERE tag IN ({marks}) AND published_at >= ? AND published_at < ?)
             ORDER BY id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let bounds = [window.start.timestamp(), window.end.timestamp()];
        let params = tags
            .iter()
            .map(|t| rusqlite::types::Value::Text(t.clone()))
            .chain(bounds.into_iter().map(rusqlite::types::Value::Integer));
        let rows = stmt.query_map(params_from_iter(params), from_row)?;
        let mut found: Vec<Stored> = rows.collect::<rusqlite::Result<_>>()?;
        self.attach_discussions(&mut found)?;
        Ok(found)
    }

    /// Fills in the [`Stored::discussions`] of `articles` (in id order).
    fn attach_discussions(&self, articles: &mut [Stored]) -> Result<()> {
        let (Some(first), Some(last)) = (articles.first(), articles.last()) else {
            return Ok(());
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {DISCUSSION_COLUMNS} FROM article_sources
             WHERE article_id BETWEEN ?1 AND ?2 ORDER BY article_id, source"
        ))?;
        let rows = stmt.query_map([first.id, last.id], discussion_row)?;
        let mut at = 0;
        for row in rows {
            let (id, discussion) = row?;
            while at < articles.len() && articles[at].id < id {
                at += 1;
            }
            match articles.get_mut(at) {
                Some(a) if a.id == id => a.discussions.push(discussion),
                Some(_) => {}
                None => break,
            }
        }
        Ok(())
    }

    /// The stored article whose (canonical) URL is `url`, if any.
    pub fn article(&self, url: &str) -> Result<Option<Stored>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM articles WHERE url = ?1"))?;
        let mut rows = stmt.query_map([url], from_row)?;
        let Some(found) = rows.next().transpose()? else {
            return Ok(None);
        };
        let mut found = [found];
        self.attach_discussions(&mut found)?;
        let [found] = found;
        Ok(Some(found))
    }

    /// Number of stored articles, and how many of them are undated.
    pub fn article_counts(&self) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*), COUNT(*) - COUNT(published_at) FROM articles",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn item(url: &str, title: &str, tags: &[&str], comments: u64, guid: Option<&str>) -> Item {
        Item {
            article: Article {
                url: url.into(),
                title: title.into(),
                summary: String::new(),
                kind: Kind::Article,
                publisher: Publisher {
                    id: "p".into(),
                    name: "P".into(),
                    avatar: None,
                },
                tags: tags.iter().map(|t| t.to_string()).collect(),
                published_at: None,
                upvotes: 0,
                comments,
            },
            guid: guid.map(str::to_string),
            discussion: None,
        }
    }

    fn has_tag_index(store: &Store) -> bool {
        store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [TAG_INDEX],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            == 1
    }

    #[test]
    fn each_source_of_one_article_keeps_its_own_counts_and_discussion_link() {
        // With only the merged row, the counts of each place (and its link) would be lost: the
        // email could not say where the article was discussed, nor the score combine them.
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let now = Utc.with_ymd_and_hms(2024, 8, 1, 0, 0, 0).unwrap();
        let url = "https://a.example/1";
        let from = |name: &str, comments: u64, discussion: Option<&str>| {
            let mut i = item(url, name, &["t"], comments, None);
            i.article.publisher.name = name.to_uppercase();
            i.article.published_at = Some(now);
            i.discussion = discussion.map(str::to_string);
            i
        };
        store.upsert("blog", &[from("blog", 2, None)], now).unwrap();
        let alone = store.article(url).unwrap().unwrap();
        assert!(alone.discussions.is_empty(), "{alone:?}");
        let hn = Some("https://news.example/item?id=1");
        store.upsert("hn", &[from("hn", 40, hn)], now).unwrap();
        store
            .upsert(
                "lobsters",
                &[from("lobsters", 5, Some("https://lobste.rs/s/1"))],
                now,
            )
            .unwrap();
        // HN again, with more comments and no link this time: the link stays, the count rises.
        store.upsert("hn", &[from("hn", 41, None)], now).unwrap();
        let stored = store.article(url).unwrap().unwrap();
        let seen: Vec<(&str, &str, Option<&str>, u64)> = stored
            .discussions
            .iter()
            .map(|d| {
                (
                    d.source.as_str(),
                    d.name.as_str(),
                    d.url.as_deref(),
                    d.comments,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("blog", "BLOG", None, 2),
                ("hn", "HN", hn, 41),
                ("lobsters", "LOBSTERS", Some("https://lobste.rs/s/1"), 5),
            ]
        );
        assert_eq!(stored.article.title, "blog");
        assert_eq!(stored.article.comments, 41);
        let window = crate::period::Window {
            start: now - chrono::Duration::days(1),
            end: now + chrono::Duration::days(1),
        };
        let candidates = store.candidates(&["t".to_string()], &window).unwrap();
        assert_eq!(candidates[0].discussions, stored.discussions);
    }

    #[test]
    fn a_load_into_an_empty_store_builds_the_tag_index_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let now = Utc.with_ymd_and_hms(2024, 8, 1, 0, 0, 0).unwrap();
        let seen = store
            .bulk(|s| {
                s.upsert(
                    "src",
                    &[item("https://a.example/1", "A", &["t"], 1, None)],
                    now,
                )
                .unwrap();
                has_tag_index(s)
            })
            .unwrap();
        assert!(!seen, "the index is dropped while an empty store loads");
        assert!(has_tag_index(&store));
        let seen = store.bulk(|s| has_tag_index(s)).unwrap();
        assert!(seen, "a store with articles keeps its index while loading");
    }

    #[test]
    fn opening_a_store_whose_load_was_killed_rebuilds_the_tag_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        store
            .conn
            .execute_batch(&format!("DROP INDEX {TAG_INDEX}"))
            .unwrap();
        drop(store);
        assert!(has_tag_index(&Store::open(&path).unwrap()));
    }

    fn stored(store: &Store) -> Vec<Stored> {
        let mut stmt = store
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM articles ORDER BY id"))
            .unwrap();
        stmt.query_map([], from_row)
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn the_first_source_owns_the_text_and_others_add_tags_dates_and_engagement() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let now = Utc.with_ymd_and_hms(2024, 7, 1, 0, 0, 0).unwrap();
        let url = "https://x.example/a";
        store
            .upsert("a", &[item(url, "A's title", &["x"], 1, None)], now)
            .unwrap();
        let mut other = item(url, "B's title", &["y"], 9, None);
        other.article.published_at = Some(now);
        let stats = store
            .upsert("b", std::slice::from_ref(&other), now)
            .unwrap();
        assert_eq!(stats.updated, 1);
        let s = &stored(&store)[0];
        assert_eq!(s.origin.as_deref(), Some("a"));
        assert_eq!(s.article.title, "A's title");
        assert_eq!(s.article.tags, ["x", "y"]);
        assert_eq!((s.article.comments, s.article.published_at), (9, Some(now)));
        // The owner's correction replaces its text and keeps the other source's tag; nothing
        // flips back and forth when both are read again.
        let fixed = item(url, "A's better title", &["z"], 1, None);
        store
            .upsert("a", std::slice::from_ref(&fixed), now)
            .unwrap();
        let s = &stored(&store)[0];
        assert_eq!(s.article.title, "A's better title");
        assert_eq!(s.article.tags, ["y", "z"]);
        assert_eq!(s.article.comments, 9);
        assert_eq!(store.upsert("b", &[other], now).unwrap().unchanged, 1);
        assert_eq!(store.upsert("a", &[fixed], now).unwrap().unchanged, 1);
    }

    #[test]
    fn a_guid_follows_its_item_to_a_new_link_and_joins_an_article_already_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let now = Utc.with_ymd_and_hms(2024, 7, 1, 0, 0, 0).unwrap();
        store
            .upsert(
                "a",
                &[item("https://x.example/1", "T", &[], 0, Some("g"))],
                now,
            )
            .unwrap();
        let moved = item("https://x.example/one", "T", &[], 0, Some("g"));
        let stats = store.upsert("a", &[moved], now).unwrap();
        assert_eq!((stats.new, stats.updated), (0, 1));
        let urls: Vec<String> = stored(&store).into_iter().map(|s| s.article.url).collect();
        assert_eq!(urls, ["https://x.example/one"]);
        // The same GUID from another source is another item: matched by URL only.
        let stats = store
            .upsert(
                "b",
                &[item("https://x.example/2", "T", &[], 0, Some("g"))],
                now,
            )
            .unwrap();
        assert_eq!(stats.new, 1);
        // A link moving onto an article another source stored joins that article.
        let joined = item("https://x.example/2", "T", &[], 5, Some("g"));
        assert_eq!(store.upsert("a", &[joined], now).unwrap().updated, 1);
        assert_eq!(stored(&store).len(), 2);
        assert_eq!(stored(&store)[1].article.comments, 5);
    }
}
