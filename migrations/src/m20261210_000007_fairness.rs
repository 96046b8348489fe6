//! Fairness (issue 17): impressions, one row per participant and idea they saw (at least half
//! visible for at least a second, reported by the browser), and `ideas.impressions`, their count,
//! moved by the impression writer in the same transaction as the rows (`jam_store::impressions`).
//!
//! - The primary key `(idea_id, participant_id)` is what makes an impression unique: the writer
//!   inserts with `ON CONFLICT DO NOTHING` and counts only the rows it inserted, so a repeated
//!   report changes nothing.
//! - `ideas.impressions` is not watched by the tally's `tally_dirty` trigger (that one fires on `up`
//!   and `down` only), so impressions never wake the live tally.
//! - Rows die with their idea and their participant.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Ideas {
    Table,
    Id,
    Impressions,
}

#[derive(DeriveIden, Clone, Copy)]
enum Participants {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Impressions {
    Table,
    IdeaId,
    ParticipantId,
    SeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Ideas::Table)
                    .add_column(integer(Ideas::Impressions).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Impressions::Table)
                    .col(uuid(Impressions::IdeaId))
                    .col(uuid(Impressions::ParticipantId))
                    .col(timestamp_with_time_zone(Impressions::SeenAt))
                    .primary_key(
                        Index::create()
                            .col(Impressions::IdeaId)
                            .col(Impressions::ParticipantId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_impressions_idea_id")
                            .from(Impressions::Table, Impressions::IdeaId)
                            .to(Ideas::Table, Ideas::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_impressions_participant_id")
                            .from(Impressions::Table, Impressions::ParticipantId)
                            .to(Participants::Table, Participants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A participant's impressions (the discover view's "not yet seen by me", and the cascade).
        manager
            .create_index(
                Index::create()
                    .name("idx_impressions_participant_id")
                    .table(Impressions::Table)
                    .col(Impressions::ParticipantId)
                    .col(Impressions::IdeaId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Impressions::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Ideas::Table)
                    .drop_column(Ideas::Impressions)
                    .to_owned(),
            )
            .await
    }
}
