//! Stage 2, store: one embedded SQLite file holding articles and per-source fetch state (and, in
//! later stages, deliveries, suppressions and schedule state). Created on first use; the schema is migrated by
//! `PRAGMA user_version`.

mod articles;
mod sources;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusqlite::Connection;

pub use articles::{Stored, UpsertStats};
pub use sources::SourceHealth;

/// Schema migrations, applied in order; index + 1 is the `user_version` after applying it.
const MIGRATIONS: &[&str] = &[
    // 1: articles and their tags.
    "CREATE TABLE articles (
        id           INTEGER PRIMARY KEY,
        url          TEXT NOT NULL UNIQUE,
        title        TEXT NOT NULL,
        summary      TEXT NOT NULL,
        kind         TEXT NOT NULL,
        source_id    TEXT NOT NULL,
        source_name  TEXT NOT NULL,
        source_avatar TEXT,
        published_at INTEGER,
        upvotes      INTEGER NOT NULL,
        comments     INTEGER NOT NULL,
        tags         TEXT NOT NULL,
        first_seen   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
    );
    CREATE TABLE article_tags (
        article_id   INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        tag          TEXT NOT NULL,
        published_at INTEGER,
        PRIMARY KEY (article_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX article_tags_by_tag_time ON article_tags (tag, published_at, article_id);",
    // 2: feed sources: fetch state and health per source, GUID identity, which configured
    // source stored an article first (it owns the text; others add tags and engagement).
    "CREATE TABLE source_state (
        name                 TEXT PRIMARY KEY,
        location             TEXT,
        etag                 TEXT,
        last_modified        TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_error           TEXT,
        last_attempt         INTEGER,
        last_success         INTEGER
    );
    CREATE TABLE feed_guids (
        source     TEXT NOT NULL,
        guid       TEXT NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        PRIMARY KEY (source, guid)
    ) WITHOUT ROWID;
    ALTER TABLE articles ADD COLUMN origin TEXT;
    ALTER TABLE articles ADD COLUMN extra_tags TEXT NOT NULL DEFAULT '';",
];

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    created: bool,
}

impl Store {
    /// Opens the store at `path`, creating the file and its folder on first use and migrating the
    /// schema.
    pub fn open(path: &Path) -> Result<Store> {
        let created = !path.exists();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the store's folder {}", parent.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening the store {}", path.display()))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            created,
        };
        store
            .configure()
            .with_context(|| format!("preparing the store {}", path.display()))?;
        Ok(store)
    }

    fn configure(&mut self) -> Result<()> {
        self.conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL: readers never block the sender; NORMAL: a committed row survives a process crash.
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", true)?;
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        if version > MIGRATIONS.len() {
            anyhow::bail!(
                "the store has schema version {version}, newer than this digest understands ({}); \
                 upgrade digest",
                MIGRATIONS.len()
            );
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)
                .with_context(|| format!("schema migration {}", i + 1))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Whether this `open` created the file.
    pub fn was_created(&self) -> bool {
        self.created
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `PRAGMA integrity_check`: "ok" for a sound file.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}
