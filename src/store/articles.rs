//! Articles in the store: idempotent upsert on the canonical URL, and the candidate query used by
//! selection (tag + window, served by the `(tag, published_at)` index).

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use super::Store;
use crate::catalog::{Article, Kind, Publisher};
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
}

const COLUMNS: &str = "id, url, title, summary, kind, source_id, source_name, source_avatar, \
                       published_at, upvotes, comments, tags";

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
            tags: tags
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        },
    })
}

/// Counts stored as SQLite integers (saturating at i64::MAX).
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Inserts new articles and updates known ones (same canonical URL) in one transaction.
    /// Engagement keeps the highest count seen, so a re-ingest or a second source never lowers it;
    /// text and tags take the latest values.
    pub fn upsert(&mut self, articles: &[Article], now: DateTime<Utc>) -> Result<UpsertStats> {
        let mut stats = UpsertStats::default();
        let tx = self.conn.transaction()?;
        {
            let mut find =
                tx.prepare_cached(&format!("SELECT {COLUMNS} FROM articles WHERE url = ?1"))?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO articles (url, title, summary, kind, source_id, source_name, source_avatar,
                 published_at, upvotes, comments, tags, first_seen, updated_at)
                 VALUES (?12, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
            )?;
            let mut update = tx.prepare_cached(
                "UPDATE articles SET title = ?1, summary = ?2, kind = ?3, source_id = ?4,
                 source_name = ?5, source_avatar = ?6, published_at = ?7, upvotes = ?8,
                 comments = ?9, tags = ?10, updated_at = ?11 WHERE id = ?12",
            )?;
            let mut clear_tags =
                tx.prepare_cached("DELETE FROM article_tags WHERE article_id = ?1")?;
            let mut add_tag = tx.prepare_cached(
                "INSERT OR IGNORE INTO article_tags (article_id, tag, published_at) VALUES (?1, ?2, ?3)",
            )?;
            for a in articles {
                let old = find.query_row([&a.url], from_row).optional()?;
                let mut merged = a.clone();
                if let Some(old) = &old {
                    merged.upvotes = merged.upvotes.max(old.article.upvotes);
                    merged.comments = merged.comments.max(old.article.comments);
                    if old.article == merged {
                        stats.unchanged += 1;
                        continue;
                    }
                }
                let m = &merged;
                let published = m.published_at.map(|t| t.timestamp());
                // ?12 is the row id for an update, the URL for an insert.
                let key: &dyn rusqlite::ToSql = match &old {
                    Some(old) => &old.id,
                    None => &m.url,
                };
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
                    now.timestamp(),
                    key
                ];
                let id = match &old {
                    Some(old) => {
                        update.execute(fields)?;
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
            }
        }
        tx.commit().context("committing articles")?;
        Ok(stats)
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
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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
