//! `ideas`: posts in a session, with denormalized counters kept by the writers.

use jam_domain::{HiddenBy, ItemStatus, Sentiment};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
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
    /// The analysed terms of title, body and tags (`jam_domain::terms::stored_text`), indexed by
    /// SQLite's `ideas_fts` and PostgreSQL's `search_tsv` (see `crate::search`).
    #[sea_orm(column_type = "Text")]
    pub search_text: String,
    pub status: ItemStatus,
    /// Why it is hidden (set only while `status` is `hidden`).
    pub hidden_by: Option<HiddenBy>,
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
    /// The undecided flags that count toward the hide threshold (established participants').
    #[sea_orm(default_value = 0)]
    pub hide_flags: i32,
    /// Bumped by every write that changes the idea's vote rows (the tally's leaf cache key).
    #[sea_orm(default_value = 0)]
    pub votes_rev: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Last edit by the author, if any.
    pub edited_at: Option<DateTimeUtc>,
    /// The post's mood (`jam-pulse`), written with it; null for posts older than the column.
    pub sentiment: Option<Sentiment>,
    /// The mood's score in [-1, 1] (negative below 0).
    pub sentiment_score: Option<f64>,
    /// Distinct participants who saw the idea (rows of `impressions`), moved only by the
    /// impression writer (`crate::impressions`) in the transaction that inserts the rows.
    #[sea_orm(default_value = 0)]
    pub impressions: i32,
}

impl Model {
    /// A new visible idea in `session` by `author_id`, posted `now`, with no votes, comments,
    /// flags or edits yet; `tags` and `search_text` are derived from the given tags.
    pub fn posted(
        session: &super::sessions::Model,
        author_id: Uuid,
        title: String,
        body: String,
        tags: &[String],
        now: DateTimeUtc,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            jam_id: session.jam_id,
            session_id: session.id,
            author_id,
            search_text: search_text(&title, &body, tags),
            tags: tags_json(tags),
            title,
            body,
            status: ItemStatus::Visible,
            hidden_by: None,
            merged_into: None,
            up: 0,
            down: 0,
            voters: 0,
            comments: 0,
            flags: 0,
            hide_flags: 0,
            votes_rev: 0,
            created_at: now,
            updated_at: now,
            edited_at: None,
            sentiment: None,
            sentiment_score: None,
            impressions: 0,
        }
    }
}

/// The `tags` column: the tags as a JSON array of strings.
pub fn tags_json(tags: &[String]) -> String {
    // `Value`'s `Display` writes JSON and cannot fail, unlike `serde_json::to_string`'s signature.
    serde_json::Value::from(tags.to_vec()).to_string()
}

/// The `search_text` column: the analysed terms of title, body and tags.
pub fn search_text(title: &str, body: &str, tags: &[String]) -> String {
    jam_domain::terms::stored_text(title, body, tags)
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

// `sentiment_score` is a float, but never NaN (the analyser clamps a finite score), so equality
// stays reflexive.
impl Eq for Model {}

impl ActiveModelBehavior for ActiveModel {}
