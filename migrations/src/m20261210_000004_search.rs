//! Full-text search over ideas (issue 16), the same behaviour on both backends.
//!
//! `ideas.search_text` now holds the idea's analysed terms (`jam_domain::terms::stored_text`: three
//! lines, the title's stems, the body's and tags' stems, the tags' keys; English and French stems,
//! accents folded). This migration rewrites it for every existing idea (the backfill), then indexes
//! it:
//! - SQLite: `ideas_fts`, an FTS5 table (`unicode61 remove_diacritics 2`, contentless with deletes)
//!   with the columns `title`, `body`, `tags` and `meta` (the jam, session and status as words:
//!   `j<hex id>`, `s<hex id>`, `x<status>`, so a page's filters are answered by the index itself).
//!   Its rowid is `idea_fts_rows.n`, a stable integer per idea: an idea's own rowid may change on
//!   `VACUUM` (its key is a UUID, not an integer), which would point the index at other ideas.
//!   Triggers on `ideas` keep both in step with every insert, every change of `search_text`,
//!   `status` or `session_id`, and every delete, in the write's own transaction.
//!   The insert and update triggers run only when every row the idea points at exists. A statement
//!   whose foreign key check fails (at its end, after the triggers) would otherwise have written to
//!   FTS5 first, and SQLite 3.51's FTS5 then keeps a read of the database open on that connection
//!   after the failed statement: its next write, once another connection has written, fails with
//!   SQLITE_BUSY_SNAPSHOT, and its reads see the old snapshot (`tests/fts_snapshots.rs` in
//!   jam-store shows both). The guard makes such a statement fail before touching FTS5. The delete
//!   trigger has no such guard: ideas are deleted only with their jam, whose cascade deletes what
//!   points at them in the same statement.
//! - PostgreSQL: `ideas.search_tsv`, a stored generated `tsvector` of the same three lines with the
//!   `'simple'` configuration (no further stemming), weighted A (title), C (body) and B (tag keys),
//!   and a GIN index on it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE idea_fts_rows (
        n INTEGER PRIMARY KEY,
        idea_id uuid_text NOT NULL UNIQUE REFERENCES ideas (id) ON DELETE CASCADE
    )",
    "CREATE VIRTUAL TABLE ideas_fts USING fts5(
        title, body, tags, meta,
        content = '', contentless_delete = 1,
        tokenize = 'unicode61 remove_diacritics 2'
    )",
    // Posting order, so the FTS rowid order is the `new` order.
    "INSERT INTO idea_fts_rows (idea_id) SELECT id FROM ideas ORDER BY id",
    "INSERT INTO ideas_fts (rowid, title, body, tags, meta)
     SELECT r.n,
        substr(i.search_text, 1, instr(i.search_text, char(10)) - 1),
        substr(substr(i.search_text, instr(i.search_text, char(10)) + 1), 1,
            instr(substr(i.search_text, instr(i.search_text, char(10)) + 1), char(10)) - 1),
        substr(substr(i.search_text, instr(i.search_text, char(10)) + 1),
            instr(substr(i.search_text, instr(i.search_text, char(10)) + 1), char(10)) + 1),
        'j' || lower(hex(i.jam_id)) || ' s' || lower(hex(i.session_id)) || ' x' || i.status
     FROM ideas i JOIN idea_fts_rows r ON r.idea_id = i.id",
    "CREATE TRIGGER ideas_fts_insert AFTER INSERT ON ideas
     FOR EACH ROW WHEN EXISTS (SELECT 1 FROM jams WHERE id = NEW.jam_id)
        AND EXISTS (SELECT 1 FROM sessions WHERE id = NEW.session_id)
        AND EXISTS (SELECT 1 FROM participants WHERE id = NEW.author_id)
        AND (NEW.merged_into IS NULL OR EXISTS (SELECT 1 FROM ideas WHERE id = NEW.merged_into))
     BEGIN
        INSERT INTO idea_fts_rows (idea_id) VALUES (NEW.id);
        INSERT INTO ideas_fts (rowid, title, body, tags, meta) VALUES (
            (SELECT n FROM idea_fts_rows WHERE idea_id = NEW.id),
            substr(NEW.search_text, 1, instr(NEW.search_text, char(10)) - 1),
            substr(substr(NEW.search_text, instr(NEW.search_text, char(10)) + 1), 1,
                instr(substr(NEW.search_text, instr(NEW.search_text, char(10)) + 1), char(10)) - 1),
            substr(substr(NEW.search_text, instr(NEW.search_text, char(10)) + 1),
                instr(substr(NEW.search_text, instr(NEW.search_text, char(10)) + 1), char(10)) + 1),
            'j' || lower(hex(NEW.jam_id)) || ' s' || lower(hex(NEW.session_id)) || ' x' || NEW.status);
     END",
    "CREATE TRIGGER ideas_fts_update AFTER UPDATE OF search_text, status, session_id ON ideas
     FOR EACH ROW WHEN (NEW.search_text IS NOT OLD.search_text OR NEW.status IS NOT OLD.status
        OR NEW.session_id IS NOT OLD.session_id)
        AND EXISTS (SELECT 1 FROM jams WHERE id = NEW.jam_id)
        AND EXISTS (SELECT 1 FROM sessions WHERE id = NEW.session_id)
        AND EXISTS (SELECT 1 FROM participants WHERE id = NEW.author_id)
        AND (NEW.merged_into IS NULL OR EXISTS (SELECT 1 FROM ideas WHERE id = NEW.merged_into))
     BEGIN
        DELETE FROM ideas_fts WHERE rowid = (SELECT n FROM idea_fts_rows WHERE idea_id = NEW.id);
        INSERT INTO ideas_fts (rowid, title, body, tags, meta) VALUES (
            (SELECT n FROM idea_fts_rows WHERE idea_id = NEW.id),
            substr(NEW.search_text, 1, instr(NEW.search_text, char(10)) - 1),
            substr(substr(NEW.search_text, instr(NEW.search_text, char(10)) + 1), 1,
                instr(substr(NEW.search_text, instr(NEW.search_text, char(10)) + 1), char(10)) - 1),
            substr(substr(NEW.search_text, instr(NEW.search_text, char(10)) + 1),
                instr(substr(NEW.search_text, instr(NEW.search_text, char(10)) + 1), char(10)) + 1),
            'j' || lower(hex(NEW.jam_id)) || ' s' || lower(hex(NEW.session_id)) || ' x' || NEW.status);
     END",
    "CREATE TRIGGER ideas_fts_delete BEFORE DELETE ON ideas
     BEGIN
        DELETE FROM ideas_fts WHERE rowid = (SELECT n FROM idea_fts_rows WHERE idea_id = OLD.id);
        DELETE FROM idea_fts_rows WHERE idea_id = OLD.id;
     END",
];

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE ideas ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, split_part(search_text, E'\\n', 1)), 'A')
        || setweight(to_tsvector('simple'::regconfig, split_part(search_text, E'\\n', 2)), 'C')
        || setweight(to_tsvector('simple'::regconfig, split_part(search_text, E'\\n', 3)), 'B')
    ) STORED",
    "CREATE INDEX ideas_search_tsv ON ideas USING GIN (search_tsv)",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS ideas_fts_insert",
    "DROP TRIGGER IF EXISTS ideas_fts_update",
    "DROP TRIGGER IF EXISTS ideas_fts_delete",
    "DROP TABLE IF EXISTS ideas_fts",
    "DROP TABLE IF EXISTS idea_fts_rows",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS ideas_search_tsv",
    "ALTER TABLE ideas DROP COLUMN IF EXISTS search_tsv",
];

/// Ideas rewritten per round of the backfill.
const BACKFILL_BATCH: i64 = 500;

/// Rewrites `search_text` of every idea in the analysed form, in batches by id.
async fn backfill(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    // Ids travel as text (hex on SQLite, the canonical form on PostgreSQL), so no UUID type is
    // needed here.
    let (select_first, select_after, update) = match backend {
        DatabaseBackend::Sqlite => (
            "SELECT hex(id) AS id, title, body, tags FROM ideas ORDER BY id LIMIT ?",
            "SELECT hex(id) AS id, title, body, tags FROM ideas WHERE id > unhex(?) ORDER BY id LIMIT ?",
            "UPDATE ideas SET search_text = ? WHERE id = unhex(?)",
        ),
        DatabaseBackend::Postgres => (
            "SELECT id::text AS id, title, body, tags FROM ideas ORDER BY id LIMIT $1",
            "SELECT id::text AS id, title, body, tags FROM ideas WHERE id > $1::uuid ORDER BY id LIMIT $2",
            "UPDATE ideas SET search_text = $1 WHERE id = $2::uuid",
        ),
        other => return Err(DbErr::Migration(format!("unsupported backend {other:?}"))),
    };
    let mut after: Option<String> = None;
    loop {
        let stmt = match &after {
            None => Statement::from_sql_and_values(backend, select_first, [Value::from(BACKFILL_BATCH)]),
            Some(id) => Statement::from_sql_and_values(
                backend,
                select_after,
                [Value::from(id.clone()), Value::from(BACKFILL_BATCH)],
            ),
        };
        let rows = db.query_all_raw(stmt).await?;
        if rows.is_empty() {
            return Ok(());
        }
        for row in &rows {
            let id: String = row.try_get("", "id")?;
            let title: String = row.try_get("", "title")?;
            let body: String = row.try_get("", "body")?;
            let tags: String = row.try_get("", "tags")?;
            let tags: Vec<String> = serde_json::from_str(&tags).unwrap_or_default();
            let text = jam_domain::terms::stored_text(&title, &body, &tags);
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                update,
                [Value::from(text), Value::from(id.clone())],
            ))
            .await?;
            after = Some(id);
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        backfill(manager).await?;
        crate::run_per_backend(manager, SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_per_backend(manager, SQLITE_DOWN, POSTGRES_DOWN).await
    }
}
