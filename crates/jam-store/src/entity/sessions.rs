//! `sessions`: themed forums inside a jam, each with its own window and manual override.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub jam_id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub opens_at: DateTimeUtc,
    pub closes_at: DateTimeUtc,
    /// A facilitator's override: `open` | `closed`, or none.
    pub manual_state: Option<String>,
    /// When the override was made.
    pub manual_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// A new session of `jam_id` that follows its window (no manual override), created `now`.
    pub fn new(
        jam_id: Uuid,
        title: String,
        description: String,
        opens_at: DateTimeUtc,
        closes_at: DateTimeUtc,
        now: DateTimeUtc,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            jam_id,
            title,
            description,
            opens_at,
            closes_at,
            manual_state: None,
            manual_at: None,
            created_at: now,
            updated_at: now,
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
    #[sea_orm(has_many = "super::ideas::Entity")]
    Ideas,
}

impl Related<super::jams::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jam.def()
    }
}

impl Related<super::ideas::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Ideas.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
