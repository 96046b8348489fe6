//! `participant_identities`: the participant an OpenID Connect identity (issuer, subject) is in a jam.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participant_identities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub jam_id: Uuid,
    /// The provider's issuer URL, as the ID token's `iss` says it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub issuer: String,
    /// The ID token's `sub`: the provider's stable id of the person.
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject: String,
    #[sea_orm(unique)]
    pub participant_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::participants::Entity",
        from = "Column::ParticipantId",
        to = "super::participants::Column::Id",
        on_delete = "Cascade"
    )]
    Participant,
}

impl Related<super::participants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
