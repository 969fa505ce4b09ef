//! Stage 2, store: one embedded SQLite file holding articles, per-source fetch state, the
//! delivery ledger, suppressions and the daemon's runs. Created on first use; the schema is
//! migrated by `PRAGMA user_version`.

mod articles;
mod inbound;
mod ledger;
mod members;
mod metrics;
mod reviews;
mod runs;
mod sources;
mod suppressions;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusqlite::Connection;

pub use articles::{Stored, UpsertStats};
pub use inbound::{Event, IssueBounces};
pub use ledger::{Counts, Enqueued, Pending, Row, State};
pub use members::{Consent, Forgotten, Member};
pub use reviews::{Approval, Review, ReviewState};
pub use runs::{Run, RunStatus};
pub use sources::SourceHealth;
pub use suppressions::{ALL_DIGESTS, Reason, Suppression, hashed};

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
    // 2: subscribers (stable ids for unsubscribe tokens), the delivery ledger, suppressions.
    "CREATE TABLE subscribers (
        id      INTEGER PRIMARY KEY,
        address TEXT NOT NULL UNIQUE       -- dedupe key: the address, lowercased
    );
    CREATE TABLE deliveries (
        issue         TEXT NOT NULL,         -- <digest>/<period>
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
        send_to       TEXT NOT NULL,         -- the address as written in the list
        name          TEXT,
        state         TEXT NOT NULL,         -- pending | sent | deferred | failed | suppressed
        attempts      INTEGER NOT NULL DEFAULT 0,
        last_reply    TEXT,
        updated_at    INTEGER NOT NULL,
        sent_at       INTEGER,
        PRIMARY KEY (issue, subscriber_id)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_by_sent_at ON deliveries (sent_at) WHERE sent_at IS NOT NULL;
    CREATE TABLE suppressions (
        address    TEXT NOT NULL,            -- lowercased
        scope      TEXT NOT NULL,            -- '*' (every digest) or a digest id
        reason     TEXT NOT NULL,            -- unsubscribed | bounced | complained | manual
        detail     TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (address, scope)
    ) WITHOUT ROWID;",
    // 3: the daemon's scheduled runs, one per (digest, period).
    "CREATE TABLE runs (
        digest       TEXT NOT NULL,
        period       TEXT NOT NULL,
        scheduled_at INTEGER NOT NULL,
        status       TEXT NOT NULL,
        attempts     INTEGER NOT NULL,
        started_at   INTEGER,
        finished_at  INTEGER,
        detail       TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (digest, period)
    ) WITHOUT ROWID;
    CREATE INDEX runs_by_digest_time ON runs (digest, scheduled_at);",
    // 4: feed sources: fetch state and health per source, GUID identity, which configured
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
    // 5: what came back (`digest inbound`): each message processed once, a row per finding, and
    // suppressions that end (after frequent soft bounces).
    "CREATE TABLE inbound_messages (
        key         TEXT PRIMARY KEY,        -- 'id:<Message-ID>' or 'sha256:<content hash>'
        received_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE inbound_events (
        id            INTEGER PRIMARY KEY,
        received_at   INTEGER NOT NULL,
        kind          TEXT NOT NULL,         -- bounce | complaint | auto_reply | unsubscribe | other
        class         TEXT,                  -- hard | soft | policy | complaint | auto_reply | unknown
        status        TEXT,                  -- enhanced status code
        recipient     TEXT,                  -- address key reported on
        subscriber_id INTEGER,
        issue         TEXT,                  -- <digest>/<period>, when matched
        matched_by    TEXT NOT NULL,         -- verp | message_id | recipient | token | none
        message_id    TEXT,                  -- of the message that came back, else its file name
        detail        TEXT
    );
    CREATE INDEX inbound_events_by_issue ON inbound_events (issue, class);
    CREATE INDEX inbound_events_by_subscriber ON inbound_events (subscriber_id, class, issue);
    ALTER TABLE suppressions ADD COLUMN expires_at INTEGER;",
    // 6: reviews of issues whose digest has `review = "required"`: one row per (digest, period),
    // from the review request (or the first approval) to the decision.
    "CREATE TABLE reviews (
        digest       TEXT NOT NULL,
        period       TEXT NOT NULL,
        state        TEXT NOT NULL,          -- awaiting | approved | sent_at_deadline | skipped
        requested_at INTEGER,
        deadline     INTEGER,
        mailed_at    INTEGER,                -- when the reviewers were mailed
        decided_at   INTEGER,
        decided_by   TEXT,                   -- a reviewer's address, `cli`, or `deadline`
        PRIMARY KEY (digest, period)
    ) WITHOUT ROWID;",
    // 7: readers who joined on the sign-up page, with the record of their consent, and the
    // confirmation tokens already used (a replayed link confirms nothing).
    "CREATE TABLE members (
        id              INTEGER PRIMARY KEY,
        list            TEXT NOT NULL,
        address         TEXT NOT NULL,       -- dedupe key: the address, lowercased
        send_to         TEXT NOT NULL,       -- the address as typed
        name            TEXT,
        digests         TEXT NOT NULL,       -- chosen digest ids: ',a,b,'
        paused_until    INTEGER,
        consent_at      INTEGER NOT NULL,
        consent_form    TEXT NOT NULL,       -- subscribe | manage | import
        consent_text    TEXT NOT NULL,       -- the text shown beside the confirm button
        consent_digests TEXT NOT NULL,       -- ',a,b,' as confirmed
        consent_ip      TEXT,                -- IPv4 /24 or IPv6 /48 network only
        UNIQUE (list, address)
    );
    CREATE INDEX members_by_address ON members (address);
    CREATE TABLE used_tokens (
        mac     TEXT PRIMARY KEY,
        used_at INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // 8: delay warnings (DSNs with `Action: delayed`) are recorded apart from bounces: the message
    // may still arrive, so they never count toward a soft-bounce suppression.
    "ALTER TABLE inbound_events ADD COLUMN delayed INTEGER NOT NULL DEFAULT 0;",
    // 9: each source's record of an article it delivered (the same link from its blog, Hacker
    // News, Lobsters…): its own counts and its discussion link. Written once an article has a
    // discussion link or a second source; an article only one source ever sent has none.
    "CREATE TABLE article_sources (
        article_id     INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        source         TEXT NOT NULL,        -- the configured source
        name           TEXT NOT NULL,        -- how it names itself (its publisher name)
        discussion_url TEXT,
        upvotes        INTEGER NOT NULL,
        comments       INTEGER NOT NULL,
        PRIMARY KEY (article_id, source)
    ) WITHOUT ROWID;",
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
        self.ensure_tag_index()
    }

    /// Runs `f` inside one transaction that is always rolled back: a rehearsal of writes
    /// (`send --dry-run` resolves its audience through the real ledger code this way).
    /// Writes inside use savepoints, which nest in the outer transaction instead of committing.
    pub fn rehearse<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN")?;
        let result = f(self);
        self.conn.execute_batch("ROLLBACK")?;
        result
    }

    /// Runs `f` inside one write transaction (`BEGIN IMMEDIATE`: the write lock is taken first,
    /// so a busy store fails here, before any work), committed if `f` succeeds, else rolled back.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = f(self).and_then(|v| {
            self.conn.execute_batch("COMMIT")?;
            Ok(v)
        });
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        result
    }

    /// Whether this `open` created the file.
    pub fn was_created(&self) -> bool {
        self.created
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers a query on the runs table: the store is open, readable and migrated.
    pub fn ping(&self) -> Result<()> {
        self.conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }

    /// `PRAGMA integrity_check`: "ok" for a sound file.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}
