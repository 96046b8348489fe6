//! The first schema: every table of OpenJam 1.0.
//!
//! Foreign keys and what deleting a row does:
//! - `jam_id` columns cascade: a jam owns everything that happens in it, so deleting a jam removes
//!   its audiences, sessions, participants, ideas, comments, votes, flags, announcements,
//!   transitions and shortlist. The audit log keeps its rows (its `jam_id` has no foreign key).
//! - optional references to staff (`created_by`, `author_id`, `staff_id`, `published_by`) become
//!   NULL when the account is deleted, so removing an account never removes a jam's history;
//!   sign-in sessions (`auth_sessions`) are deleted with their staff member or participant.
//! - every other reference (idea → session, vote → idea, …) refuses the delete while rows point
//!   at it: ideas and comments are hidden, removed or merged by status, never deleted one by one.
//!
//! Index names carry their table (`idx_<table>_<columns>`, `uq_…` for unique ones) because
//! PostgreSQL keeps index names in one namespace per schema.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_staff(manager).await?;
        create_jams(manager).await?;
        create_audiences(manager).await?;
        create_sessions(manager).await?;
        create_participants(manager).await?;
        create_auth_sessions(manager).await?;
        create_ideas(manager).await?;
        create_comments(manager).await?;
        create_votes(manager).await?;
        create_flags(manager).await?;
        create_announcements(manager).await?;
        create_audit_log(manager).await?;
        create_transitions(manager).await?;
        create_shortlist_curation(manager).await?;
        create_shortlist_snapshots(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Reverse order of `up`, so no table is dropped while another still references it.
        let tables: [DynIden; 15] = [
            ShortlistSnapshots::Table.into_iden(),
            ShortlistCuration::Table.into_iden(),
            Transitions::Table.into_iden(),
            AuditLog::Table.into_iden(),
            Announcements::Table.into_iden(),
            Flags::Table.into_iden(),
            Votes::Table.into_iden(),
            Comments::Table.into_iden(),
            Ideas::Table.into_iden(),
            AuthSessions::Table.into_iden(),
            Participants::Table.into_iden(),
            Sessions::Table.into_iden(),
            Audiences::Table.into_iden(),
            Jams::Table.into_iden(),
            Staff::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }

    /// SQLite would otherwise run the migration without a transaction (sea-orm's default there).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// A named foreign key from `from.0(from.1)` to `to.0(to.1)`.
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
        .on_update(ForeignKeyAction::NoAction)
        .to_owned()
}

/// A foreign key to `jams(id)` that is deleted with its jam.
fn fk_jam(name: &str, table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    fk(
        name,
        (table, column),
        (Jams::Table, Jams::Id),
        ForeignKeyAction::Cascade,
    )
}

/// A foreign key that refuses to delete the row it points at while it exists.
fn fk_restrict(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    // NO ACTION rather than RESTRICT: both backends check it at the end of the statement, so a
    // cascade from `jams` may delete a session and its ideas in the same statement.
    fk(name, from, to, ForeignKeyAction::NoAction)
}

async fn create_staff(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Staff::Table)
            .col(pk_uuid(Staff::Id))
            // Lowercased by the writer, so the unique key is case-insensitive in effect.
            .col(string_uniq(Staff::Email))
            .col(string(Staff::DisplayName))
            .col(string(Staff::Role))
            .col(string(Staff::PasswordHash))
            .col(timestamp_with_time_zone(Staff::CreatedAt))
            .to_owned(),
    )
    .await
}

async fn create_jams(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Jams::Table)
            .col(pk_uuid(Jams::Id))
            .col(string_uniq(Jams::Slug))
            .col(string(Jams::Title))
            .col(text(Jams::Description))
            .col(text(Jams::Guidelines))
            .col(timestamp_with_time_zone(Jams::StartsAt))
            .col(timestamp_with_time_zone(Jams::EndsAt))
            .col(timestamp_with_time_zone_null(Jams::ScheduledAt))
            .col(timestamp_with_time_zone_null(Jams::ClosedAt))
            .col(timestamp_with_time_zone_null(Jams::PublishedAt))
            .col(string(Jams::VotingMethod))
            .col(integer(Jams::ShortlistSize))
            .col(uuid_null(Jams::CreatedBy))
            .col(timestamp_with_time_zone(Jams::CreatedAt))
            .col(timestamp_with_time_zone(Jams::UpdatedAt))
            .foreign_key(&mut fk(
                "fk_jams_created_by",
                (Jams::Table, Jams::CreatedBy),
                (Staff::Table, Staff::Id),
                ForeignKeyAction::SetNull,
            ))
            .to_owned(),
    )
    .await
}

async fn create_audiences(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Audiences::Table)
            .col(pk_uuid(Audiences::Id))
            .col(uuid(Audiences::JamId))
            .col(string(Audiences::Name))
            // Globally unique: the code alone identifies the jam and the audience on join.
            .col(string_uniq(Audiences::InviteCode))
            .col(integer(Audiences::Position))
            .foreign_key(&mut fk_jam(
                "fk_audiences_jam_id",
                Audiences::Table,
                Audiences::JamId,
            ))
            .to_owned(),
    )
    .await?;
    // Also serves as the index on `jam_id`.
    m.create_index(
        Index::create()
            .name("uq_audiences_jam_id_name")
            .table(Audiences::Table)
            .col(Audiences::JamId)
            .col(Audiences::Name)
            .unique()
            .to_owned(),
    )
    .await
}

async fn create_sessions(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Sessions::Table)
            .col(pk_uuid(Sessions::Id))
            .col(uuid(Sessions::JamId))
            .col(string(Sessions::Title))
            .col(text(Sessions::Description))
            .col(timestamp_with_time_zone(Sessions::OpensAt))
            .col(timestamp_with_time_zone(Sessions::ClosesAt))
            .col(string_null(Sessions::ManualState))
            .col(timestamp_with_time_zone_null(Sessions::ManualAt))
            .col(timestamp_with_time_zone(Sessions::CreatedAt))
            .col(timestamp_with_time_zone(Sessions::UpdatedAt))
            .foreign_key(&mut fk_jam(
                "fk_sessions_jam_id",
                Sessions::Table,
                Sessions::JamId,
            ))
            .to_owned(),
    )
    .await?;
    m.create_index(
        Index::create()
            .name("idx_sessions_jam_id")
            .table(Sessions::Table)
            .col(Sessions::JamId)
            .to_owned(),
    )
    .await
}

async fn create_participants(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Participants::Table)
            .col(pk_uuid(Participants::Id))
            .col(uuid(Participants::JamId))
            .col(uuid(Participants::AudienceId))
            .col(string(Participants::DisplayName))
            .col(string_null(Participants::Locale))
            .col(timestamp_with_time_zone(Participants::AcceptedGuidelinesAt))
            .col(timestamp_with_time_zone(Participants::CreatedAt))
            .foreign_key(&mut fk_jam(
                "fk_participants_jam_id",
                Participants::Table,
                Participants::JamId,
            ))
            .foreign_key(&mut fk_restrict(
                "fk_participants_audience_id",
                (Participants::Table, Participants::AudienceId),
                (Audiences::Table, Audiences::Id),
            ))
            .to_owned(),
    )
    .await?;
    m.create_index(
        Index::create()
            .name("idx_participants_jam_id")
            .table(Participants::Table)
            .col(Participants::JamId)
            .to_owned(),
    )
    .await
}

async fn create_auth_sessions(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(AuthSessions::Table)
            // Hex SHA-256 of the cookie token: a leaked table does not reveal live cookies.
            .col(string(AuthSessions::Id).primary_key())
            .col(uuid_null(AuthSessions::StaffId))
            .col(uuid_null(AuthSessions::ParticipantId))
            .col(timestamp_with_time_zone(AuthSessions::CreatedAt))
            .col(timestamp_with_time_zone(AuthSessions::ExpiresAt))
            .foreign_key(&mut fk(
                "fk_auth_sessions_staff_id",
                (AuthSessions::Table, AuthSessions::StaffId),
                (Staff::Table, Staff::Id),
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "fk_auth_sessions_participant_id",
                (AuthSessions::Table, AuthSessions::ParticipantId),
                (Participants::Table, Participants::Id),
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
    )
    .await?;
    m.create_index(
        Index::create()
            .name("idx_auth_sessions_expires_at")
            .table(AuthSessions::Table)
            .col(AuthSessions::ExpiresAt)
            .to_owned(),
    )
    .await
}

async fn create_ideas(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Ideas::Table)
            .col(pk_uuid(Ideas::Id))
            .col(uuid(Ideas::JamId))
            .col(uuid(Ideas::SessionId))
            .col(uuid(Ideas::AuthorId))
            .col(string(Ideas::Title))
            .col(text(Ideas::Body))
            // JSON array of strings.
            .col(text(Ideas::Tags))
            // Lowercased title, body and tags: `LIKE` on it searches the same way on both backends.
            .col(text(Ideas::SearchText))
            .col(string(Ideas::Status).default("visible"))
            .col(uuid_null(Ideas::MergedInto))
            .col(integer(Ideas::Up).default(0))
            .col(integer(Ideas::Down).default(0))
            .col(integer(Ideas::Voters).default(0))
            .col(integer(Ideas::Comments).default(0))
            .col(integer(Ideas::Flags).default(0))
            .col(timestamp_with_time_zone(Ideas::CreatedAt))
            .col(timestamp_with_time_zone(Ideas::UpdatedAt))
            .col(timestamp_with_time_zone_null(Ideas::EditedAt))
            .foreign_key(&mut fk_jam("fk_ideas_jam_id", Ideas::Table, Ideas::JamId))
            .foreign_key(&mut fk_restrict(
                "fk_ideas_session_id",
                (Ideas::Table, Ideas::SessionId),
                (Sessions::Table, Sessions::Id),
            ))
            .foreign_key(&mut fk_restrict(
                "fk_ideas_author_id",
                (Ideas::Table, Ideas::AuthorId),
                (Participants::Table, Participants::Id),
            ))
            .foreign_key(&mut fk_restrict(
                "fk_ideas_merged_into",
                (Ideas::Table, Ideas::MergedInto),
                (Ideas::Table, Ideas::Id),
            ))
            .to_owned(),
    )
    .await?;
    // Keyset pages of a session's and of a jam's ideas.
    m.create_index(
        Index::create()
            .name("idx_ideas_session_id_id")
            .table(Ideas::Table)
            .col(Ideas::SessionId)
            .col(Ideas::Id)
            .to_owned(),
    )
    .await?;
    m.create_index(
        Index::create()
            .name("idx_ideas_jam_id_id")
            .table(Ideas::Table)
            .col(Ideas::JamId)
            .col(Ideas::Id)
            .to_owned(),
    )
    .await
}

async fn create_comments(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Comments::Table)
            .col(pk_uuid(Comments::Id))
            .col(uuid(Comments::JamId))
            .col(uuid(Comments::IdeaId))
            .col(uuid_null(Comments::ParentId))
            .col(uuid(Comments::AuthorId))
            .col(text(Comments::Body))
            .col(string(Comments::Status).default("visible"))
            .col(integer(Comments::Flags).default(0))
            .col(timestamp_with_time_zone(Comments::CreatedAt))
            .col(timestamp_with_time_zone(Comments::UpdatedAt))
            .foreign_key(&mut fk_jam(
                "fk_comments_jam_id",
                Comments::Table,
                Comments::JamId,
            ))
            .foreign_key(&mut fk_restrict(
                "fk_comments_idea_id",
                (Comments::Table, Comments::IdeaId),
                (Ideas::Table, Ideas::Id),
            ))
            .foreign_key(&mut fk_restrict(
                "fk_comments_parent_id",
                (Comments::Table, Comments::ParentId),
                (Comments::Table, Comments::Id),
            ))
            .foreign_key(&mut fk_restrict(
                "fk_comments_author_id",
                (Comments::Table, Comments::AuthorId),
                (Participants::Table, Participants::Id),
            ))
            .to_owned(),
    )
    .await?;
    // An idea's thread, oldest first (ids are v7).
    m.create_index(
        Index::create()
            .name("idx_comments_idea_id_id")
            .table(Comments::Table)
            .col(Comments::IdeaId)
            .col(Comments::Id)
            .to_owned(),
    )
    .await
}

async fn create_votes(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Votes::Table)
            .col(uuid(Votes::IdeaId))
            .col(uuid(Votes::ParticipantId))
            .col(uuid(Votes::JamId))
            .col(uuid(Votes::AudienceId))
            // 1 up, -1 down, 0 retracted (kept, so a retraction is an update like any other).
            .col(small_integer(Votes::Value).check(Check::named(
                "ck_votes_value",
                Expr::col(Votes::Value).is_in([-1, 0, 1]),
            )))
            .col(timestamp_with_time_zone(Votes::CreatedAt))
            .col(timestamp_with_time_zone(Votes::UpdatedAt))
            // This key is what makes "one vote per participant per idea" hold, on every node.
            .primary_key(Index::create().col(Votes::IdeaId).col(Votes::ParticipantId))
            .foreign_key(&mut fk_restrict(
                "fk_votes_idea_id",
                (Votes::Table, Votes::IdeaId),
                (Ideas::Table, Ideas::Id),
            ))
            .foreign_key(&mut fk_restrict(
                "fk_votes_participant_id",
                (Votes::Table, Votes::ParticipantId),
                (Participants::Table, Participants::Id),
            ))
            .foreign_key(&mut fk_jam("fk_votes_jam_id", Votes::Table, Votes::JamId))
            .foreign_key(&mut fk_restrict(
                "fk_votes_audience_id",
                (Votes::Table, Votes::AudienceId),
                (Audiences::Table, Audiences::Id),
            ))
            .to_owned(),
    )
    .await?;
    m.create_index(
        Index::create()
            .name("idx_votes_participant_id")
            .table(Votes::Table)
            .col(Votes::ParticipantId)
            .to_owned(),
    )
    .await?;
    // Recounting a jam's tallies and the shortlist digest read all of its votes.
    m.create_index(
        Index::create()
            .name("idx_votes_jam_id")
            .table(Votes::Table)
            .col(Votes::JamId)
            .to_owned(),
    )
    .await
}

async fn create_flags(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Flags::Table)
            .col(pk_uuid(Flags::Id))
            .col(uuid(Flags::JamId))
            .col(uuid(Flags::ParticipantId))
            .col(string(Flags::TargetKind))
            // An idea or a comment, per `target_kind`, so no foreign key.
            .col(uuid(Flags::TargetId))
            .col(text(Flags::Reason))
            .col(timestamp_with_time_zone(Flags::CreatedAt))
            .foreign_key(&mut fk_jam("fk_flags_jam_id", Flags::Table, Flags::JamId))
            .foreign_key(&mut fk_restrict(
                "fk_flags_participant_id",
                (Flags::Table, Flags::ParticipantId),
                (Participants::Table, Participants::Id),
            ))
            .to_owned(),
    )
    .await?;
    // One flag per participant per item: the hide threshold counts distinct people.
    m.create_index(
        Index::create()
            .name("uq_flags_participant_id_target")
            .table(Flags::Table)
            .col(Flags::ParticipantId)
            .col(Flags::TargetKind)
            .col(Flags::TargetId)
            .unique()
            .to_owned(),
    )
    .await?;
    m.create_index(
        Index::create()
            .name("idx_flags_jam_id")
            .table(Flags::Table)
            .col(Flags::JamId)
            .to_owned(),
    )
    .await
}

async fn create_announcements(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Announcements::Table)
            .col(pk_uuid(Announcements::Id))
            .col(uuid(Announcements::JamId))
            .col(uuid_null(Announcements::AuthorId))
            .col(text(Announcements::Text))
            .col(timestamp_with_time_zone(Announcements::CreatedAt))
            .foreign_key(&mut fk_jam(
                "fk_announcements_jam_id",
                Announcements::Table,
                Announcements::JamId,
            ))
            .foreign_key(&mut fk(
                "fk_announcements_author_id",
                (Announcements::Table, Announcements::AuthorId),
                (Staff::Table, Staff::Id),
                ForeignKeyAction::SetNull,
            ))
            .to_owned(),
    )
    .await?;
    m.create_index(
        Index::create()
            .name("idx_announcements_jam_id")
            .table(Announcements::Table)
            .col(Announcements::JamId)
            .to_owned(),
    )
    .await
}

async fn create_audit_log(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(AuditLog::Table)
            // v7: time ordered, so `(jam_id, id)` pages the log in the order things happened.
            .col(pk_uuid(AuditLog::Id))
            // No foreign keys on purpose: the record outlives what it talks about.
            .col(uuid_null(AuditLog::JamId))
            .col(string(AuditLog::ActorKind))
            .col(uuid_null(AuditLog::ActorId))
            .col(string(AuditLog::Action))
            .col(string(AuditLog::SubjectKind))
            .col(uuid_null(AuditLog::SubjectId))
            // JSON object.
            .col(text(AuditLog::Detail))
            .col(timestamp_with_time_zone(AuditLog::At))
            .to_owned(),
    )
    .await?;
    m.create_index(
        Index::create()
            .name("idx_audit_log_jam_id_id")
            .table(AuditLog::Table)
            .col(AuditLog::JamId)
            .col(AuditLog::Id)
            .to_owned(),
    )
    .await
}

async fn create_transitions(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Transitions::Table)
            .col(pk_uuid(Transitions::Id))
            .col(uuid(Transitions::JamId))
            .col(string(Transitions::SubjectKind))
            // A jam or a session, per `subject_kind`, so no foreign key.
            .col(uuid(Transitions::SubjectId))
            .col(integer(Transitions::Seq))
            .col(string(Transitions::FromState))
            .col(string(Transitions::ToState))
            .col(timestamp_with_time_zone(Transitions::At))
            .col(string(Transitions::Cause))
            .col(timestamp_with_time_zone(Transitions::RecordedAt))
            .col(timestamp_with_time_zone_null(Transitions::PublishedAt))
            .col(string_null(Transitions::ClaimedBy))
            .col(timestamp_with_time_zone_null(Transitions::ClaimedAt))
            .foreign_key(&mut fk_jam(
                "fk_transitions_jam_id",
                Transitions::Table,
                Transitions::JamId,
            ))
            .to_owned(),
    )
    .await?;
    // Every node may detect the same transition; this key records it once per cluster.
    m.create_index(
        Index::create()
            .name("uq_transitions_subject_id_seq")
            .table(Transitions::Table)
            .col(Transitions::SubjectId)
            .col(Transitions::Seq)
            .unique()
            .to_owned(),
    )
    .await?;
    m.create_index(
        Index::create()
            .name("idx_transitions_jam_id")
            .table(Transitions::Table)
            .col(Transitions::JamId)
            .to_owned(),
    )
    .await?;
    // The publisher looks for unpublished transitions (`published_at IS NULL`).
    m.create_index(
        Index::create()
            .name("idx_transitions_published_at")
            .table(Transitions::Table)
            .col(Transitions::PublishedAt)
            .to_owned(),
    )
    .await
}

async fn create_shortlist_curation(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(ShortlistCuration::Table)
            .col(pk_uuid(ShortlistCuration::Id))
            .col(uuid(ShortlistCuration::JamId))
            .col(uuid(ShortlistCuration::IdeaId))
            .col(string(ShortlistCuration::Action))
            .col(text(ShortlistCuration::Reason))
            .col(uuid_null(ShortlistCuration::StaffId))
            .col(timestamp_with_time_zone(ShortlistCuration::CreatedAt))
            .foreign_key(&mut fk_jam(
                "fk_shortlist_curation_jam_id",
                ShortlistCuration::Table,
                ShortlistCuration::JamId,
            ))
            .foreign_key(&mut fk_restrict(
                "fk_shortlist_curation_idea_id",
                (ShortlistCuration::Table, ShortlistCuration::IdeaId),
                (Ideas::Table, Ideas::Id),
            ))
            .foreign_key(&mut fk(
                "fk_shortlist_curation_staff_id",
                (ShortlistCuration::Table, ShortlistCuration::StaffId),
                (Staff::Table, Staff::Id),
                ForeignKeyAction::SetNull,
            ))
            .to_owned(),
    )
    .await?;
    m.create_index(
        Index::create()
            .name("idx_shortlist_curation_jam_id")
            .table(ShortlistCuration::Table)
            .col(ShortlistCuration::JamId)
            .to_owned(),
    )
    .await
}

async fn create_shortlist_snapshots(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(ShortlistSnapshots::Table)
            .col(pk_uuid(ShortlistSnapshots::Id))
            // One frozen shortlist per jam: publishing twice is a unique violation, not a second row.
            .col(uuid_uniq(ShortlistSnapshots::JamId))
            .col(string(ShortlistSnapshots::Method))
            // JSON object.
            .col(text(ShortlistSnapshots::Params))
            .col(timestamp_with_time_zone(ShortlistSnapshots::ComputedAt))
            .col(timestamp_with_time_zone(ShortlistSnapshots::PublishedAt))
            .col(uuid_null(ShortlistSnapshots::PublishedBy))
            .col(string(ShortlistSnapshots::Digest))
            // JSON array of the ranked items.
            .col(text(ShortlistSnapshots::Items))
            .foreign_key(&mut fk_jam(
                "fk_shortlist_snapshots_jam_id",
                ShortlistSnapshots::Table,
                ShortlistSnapshots::JamId,
            ))
            .foreign_key(&mut fk(
                "fk_shortlist_snapshots_published_by",
                (ShortlistSnapshots::Table, ShortlistSnapshots::PublishedBy),
                (Staff::Table, Staff::Id),
                ForeignKeyAction::SetNull,
            ))
            .to_owned(),
    )
    .await
}

#[derive(DeriveIden, Clone, Copy)]
enum Staff {
    Table,
    Id,
    Email,
    DisplayName,
    Role,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuthSessions {
    Table,
    Id,
    StaffId,
    ParticipantId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Jams {
    Table,
    Id,
    Slug,
    Title,
    Description,
    Guidelines,
    StartsAt,
    EndsAt,
    ScheduledAt,
    ClosedAt,
    PublishedAt,
    VotingMethod,
    ShortlistSize,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Audiences {
    Table,
    Id,
    JamId,
    Name,
    InviteCode,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sessions {
    Table,
    Id,
    JamId,
    Title,
    Description,
    OpensAt,
    ClosesAt,
    ManualState,
    ManualAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Participants {
    Table,
    Id,
    JamId,
    AudienceId,
    DisplayName,
    Locale,
    AcceptedGuidelinesAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Ideas {
    Table,
    Id,
    JamId,
    SessionId,
    AuthorId,
    Title,
    Body,
    Tags,
    SearchText,
    Status,
    MergedInto,
    Up,
    Down,
    Voters,
    Comments,
    Flags,
    CreatedAt,
    UpdatedAt,
    EditedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Comments {
    Table,
    Id,
    JamId,
    IdeaId,
    ParentId,
    AuthorId,
    Body,
    Status,
    Flags,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Votes {
    Table,
    IdeaId,
    ParticipantId,
    JamId,
    AudienceId,
    Value,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Flags {
    Table,
    Id,
    JamId,
    ParticipantId,
    TargetKind,
    TargetId,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Announcements {
    Table,
    Id,
    JamId,
    AuthorId,
    Text,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    JamId,
    ActorKind,
    ActorId,
    Action,
    SubjectKind,
    SubjectId,
    Detail,
    At,
}

#[derive(DeriveIden, Clone, Copy)]
enum Transitions {
    Table,
    Id,
    JamId,
    SubjectKind,
    SubjectId,
    Seq,
    FromState,
    ToState,
    At,
    Cause,
    RecordedAt,
    PublishedAt,
    ClaimedBy,
    ClaimedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ShortlistCuration {
    Table,
    Id,
    JamId,
    IdeaId,
    Action,
    Reason,
    StaffId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ShortlistSnapshots {
    Table,
    Id,
    JamId,
    Method,
    Params,
    ComputedAt,
    PublishedAt,
    PublishedBy,
    Digest,
    Items,
}
