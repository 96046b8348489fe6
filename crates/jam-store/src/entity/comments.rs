//! `comments`: threaded replies on an idea.

use jam_domain::{HiddenBy, ItemStatus, Sentiment};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "comments")]
pub struct Model {
    /// v7, so `(idea_id, id)` pages a thread oldest first.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub jam_id: Uuid,
    pub idea_id: Uuid,
    /// The comment this one replies to, if any.
    pub parent_id: Option<Uuid>,
    pub author_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Never `Merged`.
    pub status: ItemStatus,
    /// Why it is hidden (set only while `status` is `hidden`).
    pub hidden_by: Option<HiddenBy>,
    #[sea_orm(default_value = 0)]
    pub flags: i32,
    /// The undecided flags that count toward the hide threshold (established participants').
    #[sea_orm(default_value = 0)]
    pub hide_flags: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The post's mood (`jam-pulse`), written with it; null for posts older than the column.
    pub sentiment: Option<Sentiment>,
    /// The mood's score in [-1, 1] (negative below 0).
    pub sentiment_score: Option<f64>,
}

impl Model {
    /// A new visible comment on `idea` by `author_id`, replying to `parent_id` if given, posted `now`.
    pub fn posted(
        idea: &super::ideas::Model,
        parent_id: Option<Uuid>,
        author_id: Uuid,
        body: String,
        now: DateTimeUtc,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            jam_id: idea.jam_id,
            idea_id: idea.id,
            parent_id,
            author_id,
            body,
            status: ItemStatus::Visible,
            hidden_by: None,
            flags: 0,
            hide_flags: 0,
            created_at: now,
            updated_at: now,
            sentiment: None,
            sentiment_score: None,
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
        belongs_to = "super::ideas::Entity",
        from = "Column::IdeaId",
        to = "super::ideas::Column::Id"
    )]
    Idea,
    /// The parent comment (a self-reference, so there is no `Related` impl for it).
    #[sea_orm(belongs_to = "Entity", from = "Column::ParentId", to = "Column::Id")]
    Parent,
    #[sea_orm(
        belongs_to = "super::participants::Entity",
        from = "Column::AuthorId",
        to = "super::participants::Column::Id"
    )]
    Author,
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

impl Related<super::participants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Author.def()
    }
}

// `sentiment_score` is a float, but never NaN (the analyser clamps a finite score), so equality
// stays reflexive.
impl Eq for Model {}

impl ActiveModelBehavior for ActiveModel {}
