//! `shortlist_curation`: facilitators' exclusions and pins, each with a reason.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shortlist_curation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub jam_id: Uuid,
    pub idea_id: Uuid,
    /// `exclude` | `pin` | `clear`; the latest row per idea wins.
    pub action: String,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub staff_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::jams::Entity",
        from = "Column::JamId",
        to = "super::jams::Column::Id",
        on_delete = "Cascade"
    )]
    Jam,
    #[sea_orm(
        belongs_to = "super::ideas::Entity",
        from = "Column::IdeaId",
        to = "super::ideas::Column::Id"
    )]
    Idea,
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::StaffId",
        to = "super::staff::Column::Id",
        on_delete = "SetNull"
    )]
    Staff,
}

impl Related<super::jams::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jam.def()
    }
}

impl Related<super::ideas::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Idea.def()
    }
}

impl Related<super::staff::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Staff.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
