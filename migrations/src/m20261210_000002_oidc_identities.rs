//! OpenID Connect sign-in: who an identity provider's account is here, and the sign-ins under way.
//!
//! - `participant_identities`: one row per `(jam_id, issuer, subject)`, naming the participant that
//!   identity is in that jam, so signing in again, from any browser, gives the same participant (one
//!   person, one voice). Rows die with their jam or participant.
//! - `staff_identities`: one row per `(issuer, subject)`, naming the staff account it signs in as.
//! - `oidc_logins`: a sign-in started and not yet finished, by the SHA-256 of its `state`, with the
//!   nonce and PKCE verifier the callback checks against, what it was for (a jam's audience, or
//!   staff), and when it lapses. A callback consumes its row, so a state works once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Jams {
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
enum ParticipantIdentities {
    Table,
    JamId,
    Issuer,
    Subject,
    ParticipantId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum StaffIdentities {
    Table,
    Issuer,
    Subject,
    StaffId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum OidcLogins {
    Table,
    StateHash,
    Nonce,
    PkceVerifier,
    JamId,
    Audience,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ParticipantIdentities::Table)
                    .col(uuid(ParticipantIdentities::JamId))
                    .col(string(ParticipantIdentities::Issuer))
                    .col(string(ParticipantIdentities::Subject))
                    .col(uuid_uniq(ParticipantIdentities::ParticipantId))
                    .col(timestamp_with_time_zone(ParticipantIdentities::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(ParticipantIdentities::JamId)
                            .col(ParticipantIdentities::Issuer)
                            .col(ParticipantIdentities::Subject),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_participant_identities_jam_id")
                            .from(ParticipantIdentities::Table, ParticipantIdentities::JamId)
                            .to(Jams::Table, Jams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_participant_identities_participant_id")
                            .from(ParticipantIdentities::Table, ParticipantIdentities::ParticipantId)
                            .to(Participants::Table, Participants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StaffIdentities::Table)
                    .col(string(StaffIdentities::Issuer))
                    .col(string(StaffIdentities::Subject))
                    .col(uuid_uniq(StaffIdentities::StaffId))
                    .col(timestamp_with_time_zone(StaffIdentities::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(StaffIdentities::Issuer)
                            .col(StaffIdentities::Subject),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_identities_staff_id")
                            .from(StaffIdentities::Table, StaffIdentities::StaffId)
                            .to(Staff::Table, Staff::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OidcLogins::Table)
                    .col(string(OidcLogins::StateHash).primary_key())
                    .col(string(OidcLogins::Nonce))
                    .col(string(OidcLogins::PkceVerifier))
                    .col(uuid_null(OidcLogins::JamId))
                    .col(string_null(OidcLogins::Audience))
                    .col(timestamp_with_time_zone(OidcLogins::CreatedAt))
                    .col(timestamp_with_time_zone(OidcLogins::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_oidc_logins_jam_id")
                            .from(OidcLogins::Table, OidcLogins::JamId)
                            .to(Jams::Table, Jams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_oidc_logins_expires_at")
                    .table(OidcLogins::Table)
                    .col(OidcLogins::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OidcLogins::Table.into_iden(),
            StaffIdentities::Table.into_iden(),
            ParticipantIdentities::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
