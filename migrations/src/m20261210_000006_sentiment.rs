//! The mood of a jam (issue 16).
//!
//! - `ideas.sentiment`, `comments.sentiment`: `negative`, `neutral` or `positive`, and
//!   `sentiment_score` in [-1, 1], written with the post (and again on an idea's edit) by
//!   `jam-pulse`'s analyser. Posts written before this migration keep nulls: they are left out of the
//!   mood series (no backfill; the analyser is not part of the migration crate).
//! - `mood_alerts`: per jam, the negative-share alert's state, so whichever node holds the alert
//!   lease carries on where the last one stopped: the time evaluated up to, whether the alert is
//!   raised (and since when), and how many times it fired.
//! - `(jam_id, created_at)` indexes on `ideas` and `comments`: the mood series reads a jam's posts
//!   by time.

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::{add, drop};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Ideas {
    Table,
    JamId,
    CreatedAt,
    Sentiment,
    SentimentScore,
}

#[derive(DeriveIden, Clone, Copy)]
enum Comments {
    Table,
    JamId,
    CreatedAt,
    Sentiment,
    SentimentScore,
}

#[derive(DeriveIden, Clone, Copy)]
enum MoodAlerts {
    Table,
    JamId,
    EvaluatedUntil,
    Active,
    Since,
    Fired,
}

#[derive(DeriveIden)]
enum Jams {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for statement in [
            add(Ideas::Table, &mut string_null(Ideas::Sentiment)),
            add(Ideas::Table, &mut double_null(Ideas::SentimentScore)),
            add(Comments::Table, &mut string_null(Comments::Sentiment)),
            add(Comments::Table, &mut double_null(Comments::SentimentScore)),
        ] {
            manager.alter_table(statement).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(MoodAlerts::Table)
                    .col(uuid(MoodAlerts::JamId).primary_key())
                    .col(timestamp_with_time_zone(MoodAlerts::EvaluatedUntil))
                    .col(boolean(MoodAlerts::Active).default(false))
                    .col(timestamp_with_time_zone_null(MoodAlerts::Since))
                    .col(integer(MoodAlerts::Fired).default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(MoodAlerts::Table, MoodAlerts::JamId)
                            .to(Jams::Table, Jams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ideas_jam_created")
                    .table(Ideas::Table)
                    .col(Ideas::JamId)
                    .col(Ideas::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_comments_jam_created")
                    .table(Comments::Table)
                    .col(Comments::JamId)
                    .col(Comments::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_comments_jam_created")
                    .table(Comments::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_ideas_jam_created")
                    .table(Ideas::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(MoodAlerts::Table).to_owned())
            .await?;
        for statement in [
            drop(Comments::Table, Comments::SentimentScore),
            drop(Comments::Table, Comments::Sentiment),
            drop(Ideas::Table, Ideas::SentimentScore),
            drop(Ideas::Table, Ideas::Sentiment),
        ] {
            manager.alter_table(statement).await?;
        }
        Ok(())
    }
}
