//! Staff accounts that can be switched off, voiding a participant, and flags that hide only when
//! established participants raise them.
//!
//! - `staff.disabled_at`: set while the account is disabled (it cannot sign in, and its sign-ins are
//!   gone); `staff.last_sign_in_at`: the last password sign-in, shown to admins.
//! - `participants.voided_at`: set once a facilitator voided the participant (votes and flags
//!   removed, posts hidden pending review, sign-ins ended); `participants.address_key`: the client
//!   address key (`join_counts.address_key`) the participant joined from, so staff see how many
//!   joins came from the same address.
//! - `ideas.hidden_by`, `comments.hidden_by`: why a hidden item is hidden — `flags` (the threshold
//!   hid it), `staff` (a facilitator's decision) or `void` (its author was voided; it waits in the
//!   moderation queue). Null for visible items and for items hidden before this migration, which are
//!   then treated as hidden by hand (never shown again automatically).
//! - `ideas.hide_flags`, `comments.hide_flags`: the undecided flags that count toward the hide
//!   threshold (those of established participants), beside `flags` (all undecided flags, the queue).
//! - `flags.counts`: whether the flag counts toward the threshold; `flags.decided`: a facilitator's
//!   decision on its item came after it. Existing flags count; those on items with no undecided flags
//!   are marked decided (the item's counter says none are pending).
//! - `jams.auto_hide`: false sends flagged items to the queue without hiding them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::{add, drop};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Staff {
    Table,
    DisabledAt,
    LastSignInAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Participants {
    Table,
    VoidedAt,
    AddressKey,
}

#[derive(DeriveIden, Clone, Copy)]
enum Ideas {
    Table,
    HiddenBy,
    HideFlags,
}

#[derive(DeriveIden, Clone, Copy)]
enum Comments {
    Table,
    HiddenBy,
    HideFlags,
}

#[derive(DeriveIden, Clone, Copy)]
enum Flags {
    Table,
    Counts,
    Decided,
}

#[derive(DeriveIden, Clone, Copy)]
enum Jams {
    Table,
    AutoHide,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for statement in [
            add(
                Staff::Table,
                &mut timestamp_with_time_zone_null(Staff::DisabledAt),
            ),
            add(
                Staff::Table,
                &mut timestamp_with_time_zone_null(Staff::LastSignInAt),
            ),
            add(
                Participants::Table,
                &mut timestamp_with_time_zone_null(Participants::VoidedAt),
            ),
            add(Participants::Table, &mut string_null(Participants::AddressKey)),
            add(Ideas::Table, &mut string_null(Ideas::HiddenBy)),
            add(Ideas::Table, integer(Ideas::HideFlags).default(0)),
            add(Comments::Table, &mut string_null(Comments::HiddenBy)),
            add(Comments::Table, integer(Comments::HideFlags).default(0)),
            add(Flags::Table, boolean(Flags::Counts).default(true)),
            add(Flags::Table, boolean(Flags::Decided).default(false)),
            add(Jams::Table, boolean(Jams::AutoHide).default(true)),
        ] {
            manager.alter_table(statement).await?;
        }
        let db = manager.get_connection();
        for sql in [
            "UPDATE ideas SET hide_flags = flags",
            "UPDATE comments SET hide_flags = flags",
            "UPDATE flags SET decided = TRUE WHERE target_id IN (SELECT id FROM ideas WHERE flags = 0) \
             OR target_id IN (SELECT id FROM comments WHERE flags = 0)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_participants_jam_address")
                    .table(Participants::Table)
                    .col(Alias::new("jam_id"))
                    .col(Participants::AddressKey)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_flags_participant")
                    .table(Flags::Table)
                    .col(Alias::new("participant_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_flags_participant")
                    .table(Flags::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_participants_jam_address")
                    .table(Participants::Table)
                    .to_owned(),
            )
            .await?;
        for statement in [
            drop(Jams::Table, Jams::AutoHide),
            drop(Flags::Table, Flags::Decided),
            drop(Flags::Table, Flags::Counts),
            drop(Comments::Table, Comments::HideFlags),
            drop(Comments::Table, Comments::HiddenBy),
            drop(Ideas::Table, Ideas::HideFlags),
            drop(Ideas::Table, Ideas::HiddenBy),
            drop(Participants::Table, Participants::AddressKey),
            drop(Participants::Table, Participants::VoidedAt),
            drop(Staff::Table, Staff::LastSignInAt),
            drop(Staff::Table, Staff::DisabledAt),
        ] {
            manager.alter_table(statement).await?;
        }
        Ok(())
    }
}
