//! `announcements`: facilitators' messages pushed live to everyone in a jam.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "announcements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub jam_id: Uuid,
    /// The staff member who wrote it; NULL once that account is deleted.
    pub author_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub created_at: DateTimeUtc,
}

impl Model {
    /// A new announcement to everyone in `jam_id`, sent `now`.
    pub fn new(jam_id: Uuid, author_id: Option<Uuid>, text: String, now: DateTimeUtc) -> Self {
        Self {
            id: Uuid::now_v7(),
            jam_id,
            author_id,
            text,
            created_at: now,
        }
    }
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
        from = "Column::AuthorId",
        to = "super::staff::Column::Id",
        on_delete = "SetNull"
    )]
    Author,
}

impl Related<super::jams::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jam.def()
    }
}

impl Related<super::staff::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Author.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
