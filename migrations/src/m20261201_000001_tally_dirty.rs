//! The tally's change log: `tally_dirty` holds one row per idea whose `up`/`down` counters changed
//! and whose new counts the cluster's tally ticker has not yet published (`jam-server`'s
//! `tally_ticker`).
//!
//! A trigger on `ideas` writes it, in the same transaction as the change, for every statement that
//! moves the counters (the vote writer's batches, single votes, merges' recounts, and any later
//! code path), so a committed change is never missed and no write path has to remember it:
//! - a change inserts the idea's row with `version = 1`, or bumps `version` when the row exists;
//! - the ticker reads rows with their versions, publishes the counts it read, then deletes only the
//!   rows whose version is still the one it read, so a change committed meanwhile stays queued.
//!
//! `tally_deployment` holds one random id, made once by this migration: the name every node of one
//! deployment (one database) gives the ticker's broker lease, so two deployments sharing a Redis
//! (test runs, staging next to production) each get their own publisher.
//!
//! The table never holds more rows than ideas changed since the last tick. Deleting an idea (only
//! ever with its jam) deletes its row. The trigger is written per backend (SQLite has no
//! procedural functions; PostgreSQL triggers call one); both fire only when a counter's value
//! actually differs.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE tally_deployment (id uuid_text NOT NULL PRIMARY KEY)",
    "INSERT INTO tally_deployment (id) VALUES (randomblob(16))",
    "CREATE TABLE tally_dirty (
        idea_id uuid_text NOT NULL PRIMARY KEY REFERENCES ideas (id) ON DELETE CASCADE,
        version bigint NOT NULL
    )",
    "CREATE TRIGGER ideas_tally_dirty AFTER UPDATE OF up, down ON ideas
     FOR EACH ROW WHEN NEW.up IS NOT OLD.up OR NEW.down IS NOT OLD.down
     BEGIN
        INSERT INTO tally_dirty (idea_id, version) VALUES (NEW.id, 1)
        ON CONFLICT (idea_id) DO UPDATE SET version = tally_dirty.version + 1;
     END",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE tally_deployment (id uuid NOT NULL PRIMARY KEY)",
    "INSERT INTO tally_deployment (id) VALUES (gen_random_uuid())",
    "CREATE TABLE tally_dirty (
        idea_id uuid NOT NULL PRIMARY KEY REFERENCES ideas (id) ON DELETE CASCADE,
        version bigint NOT NULL
    )",
    "CREATE FUNCTION ideas_tally_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
        INSERT INTO tally_dirty (idea_id, version) VALUES (NEW.id, 1)
        ON CONFLICT (idea_id) DO UPDATE SET version = tally_dirty.version + 1;
        RETURN NULL;
     END
     $$",
    "CREATE TRIGGER ideas_tally_dirty AFTER UPDATE OF up, down ON ideas
     FOR EACH ROW WHEN (NEW.up IS DISTINCT FROM OLD.up OR NEW.down IS DISTINCT FROM OLD.down)
     EXECUTE FUNCTION ideas_tally_dirty()",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS ideas_tally_dirty",
    "DROP TABLE IF EXISTS tally_dirty",
    "DROP TABLE IF EXISTS tally_deployment",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS ideas_tally_dirty ON ideas",
    "DROP FUNCTION IF EXISTS ideas_tally_dirty()",
    "DROP TABLE IF EXISTS tally_dirty",
    "DROP TABLE IF EXISTS tally_deployment",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_per_backend(manager, SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_per_backend(manager, SQLITE_DOWN, POSTGRES_DOWN).await
    }
}
