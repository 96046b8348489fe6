//! The document frequency of each search term, which similar ideas read to look for a draft's
//! rarest terms (issue 16).
//!
//! - SQLite: `ideas_fts_vocab`, an `fts5vocab` table of type `row` over `ideas_fts`: one row per
//!   term with the number of ideas holding it (`doc`), read from the index itself, so it needs no
//!   upkeep. A lookup by `term = ?` reads that term's entries only.
//! - PostgreSQL: nothing to create; `ANALYZE` (autovacuum) keeps each lexeme's share of
//!   `ideas.search_tsv` in `pg_stats.most_common_elems`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &["CREATE VIRTUAL TABLE ideas_fts_vocab USING fts5vocab(ideas_fts, 'row')"];
const SQLITE_DOWN: &[&str] = &["DROP TABLE IF EXISTS ideas_fts_vocab"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_per_backend(manager, SQLITE_UP, &[]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_per_backend(manager, SQLITE_DOWN, &[]).await
    }
}
