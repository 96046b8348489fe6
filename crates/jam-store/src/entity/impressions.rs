//! `impressions`: one row per participant and idea they saw (issue 17); written by
//! [`crate::impressions`], counted on `ideas.impressions` in the same transaction.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "impressions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub idea_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub participant_id: Uuid,
    /// When the first report of this impression was written.
    pub seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
