//! OpenID Connect sign-in's storage.
//!
//! - A sign-in under way is a row of `oidc_logins`, keyed by the SHA-256 of its `state`; the
//!   callback [`take_login`]s it, which deletes it, so a state works once and on one node only.
//! - An identity is the pair (issuer, subject) of its ID token. In a jam it is one participant
//!   ([`participant_for`], [`bind_participant`]); among staff it is one account ([`staff_for`],
//!   [`bind_staff`]). Binding races end in `StoreError::Duplicate` for the loser, who reads the
//!   winner's binding back.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{oidc_logins, participant_identities, participants, staff, staff_identities};

/// Records a sign-in under way; old ones that lapsed before `now` are cleared on the way.
pub async fn start_login(db: &impl ConnectionTrait, login: oidc_logins::Model) -> Result<(), StoreError> {
    oidc_logins::Entity::delete_many()
        .filter(oidc_logins::Column::ExpiresAt.lt(login.created_at))
        .exec(db)
        .await?;
    oidc_logins::Entity::insert(oidc_logins::ActiveModel::from(login))
        .exec_without_returning(db)
        .await
        .map_err(StoreError::from_insert)?;
    Ok(())
}

/// Takes (reads and deletes) the sign-in under way with this state hash, if it has not lapsed at
/// `now`. Of two callbacks with one state, at most one gets it.
pub async fn take_login(
    db: &impl ConnectionTrait,
    state_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<oidc_logins::Model>, StoreError> {
    let Some(login) = oidc_logins::Entity::find_by_id(state_hash.to_owned())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let deleted = oidc_logins::Entity::delete_many()
        .filter(oidc_logins::Column::StateHash.eq(state_hash))
        .exec(db)
        .await?;
    Ok((deleted.rows_affected == 1 && login.expires_at > now).then_some(login))
}

/// The participant this identity is in this jam, if it has signed in before.
pub async fn participant_for(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    issuer: &str,
    subject: &str,
) -> Result<Option<participants::Model>, StoreError> {
    let found = participant_identities::Entity::find()
        .filter(participant_identities::Column::JamId.eq(jam_id))
        .filter(participant_identities::Column::Issuer.eq(issuer))
        .filter(participant_identities::Column::Subject.eq(subject))
        .find_also_related(participants::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(_, p)| p))
}

/// Binds a new participant to this identity; `StoreError::Duplicate` when another sign-in of the
/// same identity bound one first.
pub async fn bind_participant(
    db: &impl ConnectionTrait,
    issuer: &str,
    subject: &str,
    participant: &participants::Model,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    participant_identities::Entity::insert(participant_identities::ActiveModel::from(
        participant_identities::Model {
            jam_id: participant.jam_id,
            issuer: issuer.to_owned(),
            subject: subject.to_owned(),
            participant_id: participant.id,
            created_at: now,
        },
    ))
    .exec_without_returning(db)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

/// The staff account this identity signs in as, if it has signed in before.
pub async fn staff_for(
    db: &impl ConnectionTrait,
    issuer: &str,
    subject: &str,
) -> Result<Option<staff::Model>, StoreError> {
    let found = staff_identities::Entity::find()
        .filter(staff_identities::Column::Issuer.eq(issuer))
        .filter(staff_identities::Column::Subject.eq(subject))
        .find_also_related(staff::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(_, s)| s))
}

/// Binds a staff account to this identity; `StoreError::Duplicate` when it is bound already.
pub async fn bind_staff(
    db: &impl ConnectionTrait,
    issuer: &str,
    subject: &str,
    staff_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    staff_identities::Entity::insert(staff_identities::ActiveModel::from(staff_identities::Model {
        issuer: issuer.to_owned(),
        subject: subject.to_owned(),
        staff_id,
        created_at: now,
    }))
    .exec_without_returning(db)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

/// Sets a staff account's role and display name (the provider's claims are the source of truth
/// for an account that signs in through it).
pub async fn update_staff(
    db: &impl ConnectionTrait,
    staff_id: Uuid,
    role: &str,
    display_name: &str,
) -> Result<(), StoreError> {
    use sea_orm::sea_query::Expr;
    staff::Entity::update_many()
        .col_expr(staff::Column::Role, Expr::value(role))
        .col_expr(staff::Column::DisplayName, Expr::value(display_name))
        .filter(staff::Column::Id.eq(staff_id))
        .exec(db)
        .await?;
    Ok(())
}
