//! Notifications (issue 18): the inbox's durable copy of what the `me:{participant}` topic carries,
//! who follows which idea, and how far each participant has read.
//!
//! - `notifications`: one row per recipient of a reply, a mention, activity on a followed idea, or a
//!   moderation decision on their idea. Announcements have no rows here: each inbox reads them from
//!   `announcements`, so the rows written are proportional to the people told, never to a jam's size.
//!   The idea's title, the actor's name and an excerpt are copied in, so an inbox page is one query.
//!   Read by `(participant_id, id)`: ids are v7, so that is newest first.
//! - `follows`: one row per participant and idea (`(idea_id, participant_id)` is the key, so a
//!   repeated follow changes nothing); read by idea when a comment arrives, by participant for
//!   "do I follow this".
//! - `inboxes`: per participant, `read_until`, the id of the newest entry read. Notification and
//!   announcement ids are both v7, so one watermark marks both read and unread counts are two
//!   indexed counts.
//! - Every row dies with its participant, its jam or its idea.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Jams {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Ideas {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Participants {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Notifications {
    Table,
    Id,
    ParticipantId,
    JamId,
    Kind,
    IdeaId,
    CommentId,
    ActorName,
    IdeaTitle,
    Excerpt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Follows {
    Table,
    IdeaId,
    ParticipantId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Inboxes {
    Table,
    ParticipantId,
    ReadUntil,
    UpdatedAt,
}

fn cascade(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(uuid(Notifications::Id).primary_key())
                    .col(uuid(Notifications::ParticipantId))
                    .col(uuid(Notifications::JamId))
                    .col(string(Notifications::Kind))
                    .col(uuid_null(Notifications::IdeaId))
                    .col(uuid_null(Notifications::CommentId))
                    .col(string_null(Notifications::ActorName))
                    .col(string_null(Notifications::IdeaTitle))
                    .col(text_null(Notifications::Excerpt))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_notifications_participant_id",
                        (Notifications::Table, Notifications::ParticipantId),
                        (Participants::Table, Participants::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_notifications_jam_id",
                        (Notifications::Table, Notifications::JamId),
                        (Jams::Table, Jams::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_notifications_idea_id",
                        (Notifications::Table, Notifications::IdeaId),
                        (Ideas::Table, Ideas::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_participant_id")
                    .table(Notifications::Table)
                    .col(Notifications::ParticipantId)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Follows::Table)
                    .col(uuid(Follows::IdeaId))
                    .col(uuid(Follows::ParticipantId))
                    .col(timestamp_with_time_zone(Follows::CreatedAt))
                    .primary_key(Index::create().col(Follows::IdeaId).col(Follows::ParticipantId))
                    .foreign_key(&mut cascade(
                        "fk_follows_idea_id",
                        (Follows::Table, Follows::IdeaId),
                        (Ideas::Table, Ideas::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_follows_participant_id",
                        (Follows::Table, Follows::ParticipantId),
                        (Participants::Table, Participants::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_follows_participant_id")
                    .table(Follows::Table)
                    .col(Follows::ParticipantId)
                    .col(Follows::IdeaId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Inboxes::Table)
                    .col(uuid(Inboxes::ParticipantId).primary_key())
                    .col(uuid_null(Inboxes::ReadUntil))
                    .col(timestamp_with_time_zone(Inboxes::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_inboxes_participant_id",
                        (Inboxes::Table, Inboxes::ParticipantId),
                        (Participants::Table, Participants::Id),
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Inboxes::Table.into_iden(),
            Follows::Table.into_iden(),
            Notifications::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
