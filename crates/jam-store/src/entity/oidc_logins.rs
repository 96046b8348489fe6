//! `oidc_logins`: OpenID Connect sign-ins started and not yet finished (see `jam_store::oidc`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oidc_logins")]
pub struct Model {
    /// SHA-256 (hex) of the `state` sent to the provider; the state itself is only in the browser.
    #[sea_orm(primary_key, auto_increment = false)]
    pub state_hash: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier that goes with the code challenge sent to the provider.
    pub pkce_verifier: String,
    /// The jam joined; None for a staff sign-in.
    pub jam_id: Option<Uuid>,
    /// The audience asked for, by name; None to let the claim mapping choose.
    pub audience: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
