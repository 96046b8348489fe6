//! `audit_log`: who did what, when. No foreign keys: entries outlive what they describe.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// v7, so `(jam_id, id)` pages the log in the order things happened.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// None for entries about no jam (e.g. staff accounts).
    pub jam_id: Option<Uuid>,
    /// `staff` | `participant` | `system`.
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub subject_kind: String,
    pub subject_id: Option<Uuid>,
    /// JSON object.
    #[sea_orm(column_type = "Text")]
    pub detail: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
