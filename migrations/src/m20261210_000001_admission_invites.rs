//! How each audience admits participants, and personal invites.
//!
//! - `audiences.admission`: `code` (the shared invite code, today's behaviour and the default for
//!   existing audiences), `invite` (one-time personal invites) or `sso` (OpenID Connect).
//! - `invites`: one row per personal invite of an audience. Only the SHA-256 of the token is kept
//!   (`token_hash`, unique): the link is shown once, when issued. `email` is set for invites bound to
//!   an address; `mail_status` (`pending`, `sent`, `failed`) and `mail_error` record the e-mail.
//!   `participant_id` and `redeemed_at` are set by the one redemption (a participant is bound to at
//!   most one invite); `revoked_at` by a facilitator, for unused invites only. Rows die with their jam
//!   or audience; the participant column becomes NULL if the participant is deleted.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Jams {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Audiences {
    Table,
    Id,
    Admission,
}

#[derive(DeriveIden, Clone, Copy)]
enum Participants {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Invites {
    Table,
    Id,
    JamId,
    AudienceId,
    TokenHash,
    Email,
    CreatedAt,
    CreatedBy,
    ParticipantId,
    RedeemedAt,
    RevokedAt,
    MailStatus,
    MailError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Audiences::Table)
                    .add_column(string(Audiences::Admission).default("code"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Invites::Table)
                    .col(pk_uuid(Invites::Id))
                    .col(uuid(Invites::JamId))
                    .col(uuid(Invites::AudienceId))
                    .col(string_uniq(Invites::TokenHash))
                    .col(string_null(Invites::Email))
                    .col(timestamp_with_time_zone(Invites::CreatedAt))
                    .col(uuid_null(Invites::CreatedBy))
                    .col(uuid_null(Invites::ParticipantId).unique_key())
                    .col(timestamp_with_time_zone_null(Invites::RedeemedAt))
                    .col(timestamp_with_time_zone_null(Invites::RevokedAt))
                    .col(string_null(Invites::MailStatus))
                    .col(string_null(Invites::MailError))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invites_jam_id")
                            .from(Invites::Table, Invites::JamId)
                            .to(Jams::Table, Jams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invites_audience_id")
                            .from(Invites::Table, Invites::AudienceId)
                            .to(Audiences::Table, Audiences::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invites_participant_id")
                            .from(Invites::Table, Invites::ParticipantId)
                            .to(Participants::Table, Participants::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invites_audience_id")
                    .table(Invites::Table)
                    .col(Invites::AudienceId)
                    .col(Invites::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Invites::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Audiences::Table)
                    .drop_column(Audiences::Admission)
                    .to_owned(),
            )
            .await
    }

    /// SQLite would otherwise run the migration without a transaction (sea-orm's default there).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
