//! `flags`: one per participant per idea or comment; the writer hides the item at the threshold.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub jam_id: Uuid,
    /// Unique together with `target_kind` and `target_id`.
    pub participant_id: Uuid,
    /// `idea` | `comment`.
    pub target_kind: String,
    /// The flagged idea's or comment's id (no foreign key: it depends on `target_kind`).
    pub target_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub created_at: DateTimeUtc,
    /// Counts toward the hide threshold: its participant had joined `moderation.flag_min_age_minutes`
    /// before flagging.
    pub counts: bool,
    /// A facilitator's decision on the item came after it (it no longer counts anywhere).
    pub decided: bool,
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
        belongs_to = "super::participants::Entity",
        from = "Column::ParticipantId",
        to = "super::participants::Column::Id"
    )]
    Participant,
}

impl Related<super::jams::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jam.def()
    }
}

impl Related<super::participants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
