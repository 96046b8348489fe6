//! The digest's per-idea cache (`jam-tally`'s digest format v2 hashes one leaf per idea).
//!
//! - `ideas.votes_rev` counts the changes to an idea's vote rows: every write path that inserts,
//!   changes or deletes vote rows bumps it in the statement that moves the idea's counters (the vote
//!   writer's batches, single votes, a merge's recounts), so it moves even when a batch nets to the
//!   same counts (one voter retracts as another votes).
//! - `tally_leaves` holds, per idea, the leaf hash of its sorted vote rows, the number of non-zero
//!   votes in it, and the `votes_rev` it was computed at. A leaf whose `rev` is not the idea's
//!   `votes_rev` is stale and is recomputed from the rows; the table is only a cache (deleting it
//!   costs one full read of the votes), and `jamd tally verify` never reads it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Ideas {
    Table,
    Id,
    VotesRev,
}

#[derive(DeriveIden, Clone, Copy)]
enum TallyLeaves {
    Table,
    IdeaId,
    Rev,
    Votes,
    Leaf,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Ideas::Table)
                    .add_column(big_integer(Ideas::VotesRev).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TallyLeaves::Table)
                    .col(pk_uuid(TallyLeaves::IdeaId))
                    .col(big_integer(TallyLeaves::Rev))
                    .col(big_integer(TallyLeaves::Votes))
                    .col(binary(TallyLeaves::Leaf))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tally_leaves_idea_id")
                            .from(TallyLeaves::Table, TallyLeaves::IdeaId)
                            .to(Ideas::Table, Ideas::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TallyLeaves::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Ideas::Table)
                    .drop_column(Ideas::VotesRev)
                    .to_owned(),
            )
            .await
    }
}
