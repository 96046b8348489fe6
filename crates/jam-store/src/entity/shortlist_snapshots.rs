//! `shortlist_snapshots`: the published, frozen shortlist of a jam (at most one per jam).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shortlist_snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub jam_id: Uuid,
    /// The ranking method's name.
    pub method: String,
    /// JSON object: the method's parameters.
    #[sea_orm(column_type = "Text")]
    pub params: String,
    pub computed_at: DateTimeUtc,
    pub published_at: DateTimeUtc,
    pub published_by: Option<Uuid>,
    /// SHA-256 (hex) over the canonical sorted vote set.
    pub digest: String,
    /// JSON array of the ranked items.
    #[sea_orm(column_type = "Text")]
    pub items: String,
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
        belongs_to = "super::staff::Entity",
        from = "Column::PublishedBy",
        to = "super::staff::Column::Id",
        on_delete = "SetNull"
    )]
    PublishedBy,
}

impl Related<super::jams::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jam.def()
    }
}

impl Related<super::staff::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PublishedBy.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
