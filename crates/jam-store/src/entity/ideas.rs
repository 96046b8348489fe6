//! `ideas`: posts in a session, with denormalized counters kept by the writers.

use jam_domain::ItemStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ideas")]
pub struct Model {
    /// v7, so `(session_id, id)` and `(jam_id, id)` page ideas in posting order.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub jam_id: Uuid,
    pub session_id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub tags: String,
    /// Lowercased title, body and tags, searched with `LIKE` on both backends.
    #[sea_orm(column_type = "Text")]
    pub search_text: String,
    pub status: ItemStatus,
    /// The idea this one was merged into, when `status` is `merged`.
    pub merged_into: Option<Uuid>,
    #[sea_orm(default_value = 0)]
    pub up: i32,
    #[sea_orm(default_value = 0)]
    pub down: i32,
    /// Distinct participants with a non-zero vote.
    #[sea_orm(default_value = 0)]
    pub voters: i32,
    #[sea_orm(default_value = 0)]
    pub comments: i32,
    #[sea_orm(default_value = 0)]
    pub flags: i32,
    /// Bumped by every write that changes the idea's vote rows (the tally's leaf cache key).
    #[sea_orm(default_value = 0)]
    pub votes_rev: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Last edit by the author, if any.
    pub edited_at: Option<DateTimeUtc>,
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
        belongs_to = "super::sessions::Entity",
        from = "Column::SessionId",
        to = "super::sessions::Column::Id"
    )]
    Session,
    #[sea_orm(
        belongs_to = "super::participants::Entity",
        from = "Column::AuthorId",
        to = "super::participants::Column::Id"
    )]
    Author,
    /// The target of a merge (a self-reference, so there is no `Related` impl for it).
    #[sea_orm(belongs_to = "Entity", from = "Column::MergedInto", to = "Column::Id")]
    MergedInto,
    #[sea_orm(has_many = "super::comments::Entity")]
    Comments,
    #[sea_orm(has_many = "super::votes::Entity")]
    Votes,
}

impl Related<super::jams::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jam.def()
    }
}

impl Related<super::sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl Related<super::participants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Author.def()
    }
}

impl Related<super::comments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Comments.def()
    }
}

impl Related<super::votes::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Votes.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
