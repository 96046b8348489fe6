//! `transitions`: lifecycle changes of jams and sessions, recorded once per cluster.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "transitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub jam_id: Uuid,
    /// `jam` | `session`.
    pub subject_kind: String,
    /// The jam's or session's id; unique together with `seq`, so racing nodes record it once.
    pub subject_id: Uuid,
    /// 1, 2, … per subject.
    pub seq: i32,
    pub from_state: String,
    pub to_state: String,
    /// When the state changed according to the schedule (or the manual action).
    pub at: DateTimeUtc,
    /// `schedule` | `manual`.
    pub cause: String,
    /// When a node wrote this row.
    pub recorded_at: DateTimeUtc,
    /// When its event went out to the broker; None until then.
    pub published_at: Option<DateTimeUtc>,
    /// The node that claimed the publishing.
    pub claimed_by: Option<String>,
    pub claimed_at: Option<DateTimeUtc>,
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
}

impl Related<super::jams::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jam.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
