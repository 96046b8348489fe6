//! `invites`: one-time personal invites to an audience; the token itself is never stored.

use jam_domain::MailStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invites")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub jam_id: Uuid,
    pub audience_id: Uuid,
    /// Lowercase hex SHA-256 of the token the link carries. Unique.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The address the invite was issued for, if any (then it is e-mailed when SMTP is configured).
    pub email: Option<String>,
    pub created_at: DateTimeUtc,
    /// The staff account that issued it (None from the CLI).
    pub created_by: Option<Uuid>,
    /// The participant that redeemed it. Unique: one invite per participant.
    #[sea_orm(unique)]
    pub participant_id: Option<Uuid>,
    pub redeemed_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    /// None for invites not bound to an address.
    pub mail_status: Option<MailStatus>,
    pub mail_error: Option<String>,
}

impl Model {
    /// A new unused invite to `audience`, by the hash of its token.
    pub fn issued(
        audience: &super::audiences::Model,
        token_hash: String,
        email: Option<String>,
        created_by: Option<Uuid>,
        now: DateTimeUtc,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            jam_id: audience.jam_id,
            audience_id: audience.id,
            token_hash,
            mail_status: email.as_ref().map(|_| MailStatus::Pending),
            email,
            created_at: now,
            created_by,
            participant_id: None,
            redeemed_at: None,
            revoked_at: None,
            mail_error: None,
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
        to = "super::audiences::Column::Id",
        on_delete = "Cascade"
    )]
    Audience,
}

impl Related<super::audiences::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Audience.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
