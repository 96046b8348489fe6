//! `join_counts`: how many new participants each client address brought into each jam on each UTC
//! day, so the cap on joins per address (`limits.joins_per_address_per_day`) holds across the
//! cluster and across restarts.
//!
//! - One row per `(jam_id, address_key, day)`: the address key is the client's address reduced to
//!   what one household or device controls (an IPv4 /32, an IPv6 /64), the day is UTC.
//! - A join takes its slot with one conditional upsert (`joins + 1` only while `joins < cap`) in
//!   the same transaction that inserts the participant, so concurrent joins on any node never pass
//!   the cap and a failed join gives its slot back.
//! - `capped_at` is set by the first refused join of the day, once (so facilitators see the cap was
//!   hit, and the audit log records it once).
//!
//! Only shared-code joins count here: invite links and single sign-on (planned) admit one identity
//! each, which needs no per-address cap. Rows die with their jam.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Jams {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum JoinCounts {
    Table,
    JamId,
    AddressKey,
    Day,
    Joins,
    CappedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JoinCounts::Table)
                    .col(uuid(JoinCounts::JamId))
                    .col(string(JoinCounts::AddressKey))
                    .col(date(JoinCounts::Day))
                    .col(integer(JoinCounts::Joins))
                    .col(timestamp_with_time_zone_null(JoinCounts::CappedAt))
                    .primary_key(
                        Index::create()
                            .col(JoinCounts::JamId)
                            .col(JoinCounts::AddressKey)
                            .col(JoinCounts::Day),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_join_counts_jam_id")
                            .from(JoinCounts::Table, JoinCounts::JamId)
                            .to(Jams::Table, Jams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JoinCounts::Table).to_owned())
            .await
    }
}
