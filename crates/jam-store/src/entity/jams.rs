//! `jams`: one time-boxed event with its schedule and voting settings.

use jam_domain::ranking::Method;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jams")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    #[sea_orm(column_type = "Text")]
    pub guidelines: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    /// When a facilitator moved it from `draft` to `scheduled`.
    pub scheduled_at: Option<DateTimeUtc>,
    /// When a facilitator closed it early.
    pub closed_at: Option<DateTimeUtc>,
    /// When its shortlist was published (results frozen).
    pub published_at: Option<DateTimeUtc>,
    pub voting_method: Method,
    pub shortlist_size: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Flags hide an item at the threshold; false sends flagged items to the queue only.
    pub auto_hide: bool,
    /// Participants see an idea's counts only once they voted on it (issue 17).
    pub hide_counts_until_voted: bool,
    /// Bumped by triggers whenever the jam's sessions or audiences change (never written by code:
    /// `jams::update` leaves it out).
    pub parts_rev: i64,
}

/// What a facilitator decides when creating a jam; [`Model::draft`] fills in the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJam {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub guidelines: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub voting_method: Method,
    pub shortlist_size: i32,
    pub created_by: Option<Uuid>,
}

impl Model {
    /// A new draft jam: a fresh v7 id, not scheduled, closed or published yet, created `now`.
    pub fn draft(new: NewJam, now: DateTimeUtc) -> Self {
        Self {
            id: Uuid::now_v7(),
            slug: new.slug,
            title: new.title,
            description: new.description,
            guidelines: new.guidelines,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            scheduled_at: None,
            closed_at: None,
            published_at: None,
            voting_method: new.voting_method,
            shortlist_size: new.shortlist_size,
            created_by: new.created_by,
            created_at: now,
            updated_at: now,
            auto_hide: true,
            hide_counts_until_voted: false,
            parts_rev: 0,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::CreatedBy",
        to = "super::staff::Column::Id",
        on_delete = "SetNull"
    )]
    CreatedBy,
    #[sea_orm(has_many = "super::audiences::Entity")]
    Audiences,
    #[sea_orm(has_many = "super::sessions::Entity")]
    Sessions,
    #[sea_orm(has_many = "super::participants::Entity")]
    Participants,
    #[sea_orm(has_many = "super::ideas::Entity")]
    Ideas,
}

impl Related<super::staff::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CreatedBy.def()
    }
}

impl Related<super::audiences::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Audiences.def()
    }
}

impl Related<super::sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl Related<super::participants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participants.def()
    }
}

impl Related<super::ideas::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Ideas.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
