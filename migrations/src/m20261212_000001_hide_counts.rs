//! `jams.hide_counts_until_voted` (issue 17): a jam option that hides an idea's counts from a
//! participant until they vote on it, so early counts do not herd later voters. Off for every
//! existing jam.

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::{add, drop};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Jams {
    Table,
    HideCountsUntilVoted,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(add(
                Jams::Table,
                boolean(Jams::HideCountsUntilVoted).default(false),
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(drop(Jams::Table, Jams::HideCountsUntilVoted))
            .await
    }
}
