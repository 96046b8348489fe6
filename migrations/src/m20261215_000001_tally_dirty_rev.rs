//! The tally's change log stamps each queued idea with the idea's `votes_rev` instead of a counter
//! of its own.
//!
//! Before, a row's `version` started at 1 whenever the row was (re)inserted and counted up from
//! there. The ticker deletes the rows it published only if their version is still the one it read
//! (`jam_store::tally_dirty::settle`), so a version that repeats can delete a change it never
//! published: a tick that reads the queue from an older snapshot than the one its delete sees
//! (a SQLite connection whose read snapshot an unfinished statement kept open) reads `(idea, 1)`
//! of a row already published and deleted, and its delete then removes the row a later change
//! inserted, again at version 1. That change's counts never reach the live tally.
//!
//! `ideas.votes_rev` already counts every change to an idea's vote rows, and every statement that
//! moves `up`/`down` bumps it in the same statement (the vote writer, single votes, merges,
//! voids; the cached digest leaves rely on it). So the version is now `NEW.votes_rev`: it never
//! repeats for an idea, whether the row was kept or deleted in between. Rows queued before this
//! migration get version 0, which no later change has, so a delete under way with an old version
//! leaves them for the next tick.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "DROP TRIGGER IF EXISTS ideas_tally_dirty",
    "UPDATE tally_dirty SET version = 0",
    "CREATE TRIGGER ideas_tally_dirty AFTER UPDATE OF up, down ON ideas
     FOR EACH ROW WHEN NEW.up IS NOT OLD.up OR NEW.down IS NOT OLD.down
     BEGIN
        INSERT INTO tally_dirty (idea_id, version) VALUES (NEW.id, NEW.votes_rev)
        ON CONFLICT (idea_id) DO UPDATE SET version = excluded.version;
     END",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE OR REPLACE FUNCTION ideas_tally_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
        INSERT INTO tally_dirty (idea_id, version) VALUES (NEW.id, NEW.votes_rev)
        ON CONFLICT (idea_id) DO UPDATE SET version = EXCLUDED.version;
        RETURN NULL;
     END
     $$",
    "UPDATE tally_dirty SET version = 0",
];

/// The triggers of `m20261201_000001_tally_dirty`, as they were.
const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS ideas_tally_dirty",
    "CREATE TRIGGER ideas_tally_dirty AFTER UPDATE OF up, down ON ideas
     FOR EACH ROW WHEN NEW.up IS NOT OLD.up OR NEW.down IS NOT OLD.down
     BEGIN
        INSERT INTO tally_dirty (idea_id, version) VALUES (NEW.id, 1)
        ON CONFLICT (idea_id) DO UPDATE SET version = tally_dirty.version + 1;
     END",
];

const POSTGRES_DOWN: &[&str] = &[
    "CREATE OR REPLACE FUNCTION ideas_tally_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
        INSERT INTO tally_dirty (idea_id, version) VALUES (NEW.id, 1)
        ON CONFLICT (idea_id) DO UPDATE SET version = tally_dirty.version + 1;
        RETURN NULL;
     END
     $$",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_per_backend(manager, SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_per_backend(manager, SQLITE_DOWN, POSTGRES_DOWN).await
    }

    /// SQLite would otherwise run the migration without a transaction (sea-orm's default there).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
