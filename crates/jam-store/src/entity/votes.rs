//! `votes`: one row per participant per idea; the primary key enforces "one vote each".

use jam_domain::{AudienceId, IdeaId, JamId, ParticipantId, VoteValue};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "votes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub idea_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub participant_id: Uuid,
    pub jam_id: Uuid,
    /// The voter's audience, copied so results break down by audience without a join.
    pub audience_id: Uuid,
    /// `1`, `-1`, or `0` for a retracted vote (a CHECK constraint allows nothing else).
    pub value: i16,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// A participant's vote on an idea, cast `at` (first cast and last change alike).
    pub fn new(
        idea_id: IdeaId,
        participant_id: ParticipantId,
        jam_id: JamId,
        audience_id: AudienceId,
        value: VoteValue,
        at: DateTimeUtc,
    ) -> Self {
        Self {
            idea_id: idea_id.0,
            participant_id: participant_id.0,
            jam_id: jam_id.0,
            audience_id: audience_id.0,
            value: value.as_i16(),
            created_at: at,
            updated_at: at,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::ideas::Entity",
        from = "Column::IdeaId",
        to = "super::ideas::Column::Id"
    )]
    Idea,
    #[sea_orm(
        belongs_to = "super::participants::Entity",
        from = "Column::ParticipantId",
        to = "super::participants::Column::Id"
    )]
    Participant,
    #[sea_orm(
        belongs_to = "super::jams::Entity",
        from = "Column::JamId",
        to = "super::jams::Column::Id",
        on_delete = "Cascade"
    )]
    Jam,
    #[sea_orm(
        belongs_to = "super::audiences::Entity",
        from = "Column::AudienceId",
        to = "super::audiences::Column::Id"
    )]
    Audience,
}

impl Related<super::ideas::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Idea.def()
    }
}

impl Related<super::participants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl Related<super::jams::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jam.def()
    }
}

impl Related<super::audiences::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Audience.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
