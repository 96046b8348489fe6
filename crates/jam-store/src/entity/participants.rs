//! `participants`: people who joined one jam through an invite code.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub jam_id: Uuid,
    pub audience_id: Uuid,
    pub display_name: String,
    pub locale: Option<String>,
    pub accepted_guidelines_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// Set once a facilitator voided the participant (votes and flags gone, sign-ins ended).
    pub voided_at: Option<DateTimeUtc>,
    /// The client address key (`join_counts.address_key`) the participant joined from.
    pub address_key: Option<String>,
}

impl Model {
    /// Someone who joined `audience` (and so its jam) `now`, accepting the guidelines.
    pub fn joined(
        audience: &super::audiences::Model,
        display_name: String,
        locale: Option<String>,
        now: DateTimeUtc,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            jam_id: audience.jam_id,
            audience_id: audience.id,
            display_name,
            locale,
            accepted_guidelines_at: now,
            created_at: now,
            voided_at: None,
            address_key: None,
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
        belongs_to = "super::audiences::Entity",
        from = "Column::AudienceId",
        to = "super::audiences::Column::Id"
    )]
    Audience,
    #[sea_orm(has_many = "super::ideas::Entity")]
    Ideas,
    #[sea_orm(has_many = "super::votes::Entity")]
    Votes,
    #[sea_orm(has_many = "super::auth_sessions::Entity")]
    AuthSessions,
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

impl Related<super::ideas::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Ideas.def()
    }
}

impl Related<super::votes::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Votes.def()
    }
}

impl Related<super::auth_sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuthSessions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
