//! `staff`: accounts with a password (admin, facilitator, executive).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Stored lowercased; unique.
    #[sea_orm(unique)]
    pub email: String,
    pub display_name: String,
    /// `admin` | `facilitator` | `executive`.
    pub role: String,
    pub password_hash: String,
    pub created_at: DateTimeUtc,
    /// Set while the account is disabled: it cannot sign in and has no sign-ins.
    pub disabled_at: Option<DateTimeUtc>,
    /// The last password sign-in.
    pub last_sign_in_at: Option<DateTimeUtc>,
}

impl Model {
    /// A new staff account, created `now`.
    pub fn new(
        email: String,
        display_name: String,
        role: String,
        password_hash: String,
        now: DateTimeUtc,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            email,
            display_name,
            role,
            password_hash,
            created_at: now,
            disabled_at: None,
            last_sign_in_at: None,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::auth_sessions::Entity")]
    AuthSessions,
}

impl Related<super::auth_sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuthSessions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
