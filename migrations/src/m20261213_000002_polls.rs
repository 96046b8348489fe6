//! Quick polls (issue 18): `polls` (a question to one session with 2 to 6 options, stored as a
//! JSON array of strings, open until `closes_at`) and `poll_answers` (one per participant and poll:
//! the primary key refuses a second). Results are counted from the answers when read (one grouped
//! query per page of polls), so no counter can drift. Rows die with their jam, session, poll or
//! participant; a poll keeps its answers when the staff account that asked it is deleted.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Jams {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sessions {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Participants {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Staff {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Polls {
    Table,
    Id,
    JamId,
    SessionId,
    Question,
    Options,
    ClosesAt,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PollAnswers {
    Table,
    PollId,
    ParticipantId,
    Choice,
    CreatedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};
        manager
            .create_table(
                Table::create()
                    .table(Polls::Table)
                    .col(uuid(Polls::Id).primary_key())
                    .col(uuid(Polls::JamId))
                    .col(uuid(Polls::SessionId))
                    .col(text(Polls::Question))
                    .col(text(Polls::Options))
                    .col(timestamp_with_time_zone(Polls::ClosesAt))
                    .col(uuid_null(Polls::CreatedBy))
                    .col(timestamp_with_time_zone(Polls::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_polls_jam_id",
                        (Polls::Table, Polls::JamId),
                        (Jams::Table, Jams::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_polls_session_id",
                        (Polls::Table, Polls::SessionId),
                        (Sessions::Table, Sessions::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_polls_created_by",
                        (Polls::Table, Polls::CreatedBy),
                        (Staff::Table, Staff::Id),
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_polls_session_id")
                    .table(Polls::Table)
                    .col(Polls::SessionId)
                    .col(Polls::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PollAnswers::Table)
                    .col(uuid(PollAnswers::PollId))
                    .col(uuid(PollAnswers::ParticipantId))
                    .col(small_integer(PollAnswers::Choice))
                    .col(timestamp_with_time_zone(PollAnswers::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(PollAnswers::PollId)
                            .col(PollAnswers::ParticipantId),
                    )
                    .foreign_key(&mut fk(
                        "fk_poll_answers_poll_id",
                        (PollAnswers::Table, PollAnswers::PollId),
                        (Polls::Table, Polls::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_poll_answers_participant_id",
                        (PollAnswers::Table, PollAnswers::ParticipantId),
                        (Participants::Table, Participants::Id),
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_poll_answers_participant_id")
                    .table(PollAnswers::Table)
                    .col(PollAnswers::ParticipantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [PollAnswers::Table.into_iden(), Polls::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
