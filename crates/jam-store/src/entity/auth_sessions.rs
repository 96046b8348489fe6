//! `auth_sessions`: signed-in cookies of staff and participants.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_sessions")]
pub struct Model {
    /// Hex SHA-256 of the cookie token (the token itself is never stored).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Set for a staff sign-in.
    pub staff_id: Option<Uuid>,
    /// Set for a participant sign-in.
    pub participant_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

impl Model {
    /// A staff member's sign-in, keyed by the hash of its cookie token.
    pub fn for_staff(token_hash: String, staff_id: Uuid, now: DateTimeUtc, expires_at: DateTimeUtc) -> Self {
        Self {
            id: token_hash,
            staff_id: Some(staff_id),
            participant_id: None,
            created_at: now,
            expires_at,
        }
    }

    /// A participant's sign-in, keyed by the hash of its cookie token.
    pub fn for_participant(
        token_hash: String,
        participant_id: Uuid,
        now: DateTimeUtc,
        expires_at: DateTimeUtc,
    ) -> Self {
        Self {
            id: token_hash,
            staff_id: None,
            participant_id: Some(participant_id),
            created_at: now,
            expires_at,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::StaffId",
        to = "super::staff::Column::Id",
        on_delete = "Cascade"
    )]
    Staff,
    #[sea_orm(
        belongs_to = "super::participants::Entity",
        from = "Column::ParticipantId",
        to = "super::participants::Column::Id",
        on_delete = "Cascade"
    )]
    Participant,
}

impl Related<super::staff::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Staff.def()
    }
}

impl Related<super::participants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
