//! Personal invites and the audience settings that go with them (admission mode, shared code).
//!
//! An invite is found by the SHA-256 of its token (the token itself is never stored). Redeeming
//! binds it to the new participant with one conditional update in the join's transaction, so two
//! browsers racing with the same link, on any node, get one participant between them.

use chrono::{DateTime, Utc};
use jam_domain::{Admission, MailStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{audiences, invites};

/// Inserts freshly issued invites.
pub async fn insert_many(db: &impl ConnectionTrait, rows: Vec<invites::Model>) -> Result<(), StoreError> {
    // Bounded statements: a few hundred rows of 12 columns stay far below every backend's limit.
    for chunk in rows.chunks(500) {
        invites::Entity::insert_many(chunk.iter().cloned().map(invites::ActiveModel::from))
            .exec_without_returning(db)
            .await
            .map_err(StoreError::from_insert)?;
    }
    Ok(())
}

/// The invite whose token hashes to `token_hash`.
pub async fn by_token_hash(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<invites::Model>, StoreError> {
    Ok(invites::Entity::find()
        .filter(invites::Column::TokenHash.eq(token_hash))
        .one(db)
        .await?)
}

/// An audience's invites, oldest first.
pub async fn of_audience(
    db: &impl ConnectionTrait,
    audience_id: Uuid,
) -> Result<Vec<invites::Model>, StoreError> {
    Ok(invites::Entity::find()
        .filter(invites::Column::AudienceId.eq(audience_id))
        .order_by_asc(invites::Column::CreatedAt)
        .order_by_asc(invites::Column::Id)
        .all(db)
        .await?)
}

/// Binds an unused, unrevoked invite to `participant_id` (inserted in the same transaction);
/// false when it was redeemed or revoked meanwhile.
pub async fn redeem(
    db: &impl ConnectionTrait,
    invite_id: Uuid,
    participant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = invites::Entity::update_many()
        .col_expr(invites::Column::ParticipantId, Expr::value(participant_id))
        .col_expr(invites::Column::RedeemedAt, Expr::value(now))
        .filter(invites::Column::Id.eq(invite_id))
        .filter(invites::Column::ParticipantId.is_null())
        .filter(invites::Column::RedeemedAt.is_null())
        .filter(invites::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Revokes an unused invite of `audience_id`; false when there is no such unused invite.
pub async fn revoke(
    db: &impl ConnectionTrait,
    audience_id: Uuid,
    invite_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = invites::Entity::update_many()
        .col_expr(invites::Column::RevokedAt, Expr::value(now))
        .filter(invites::Column::Id.eq(invite_id))
        .filter(invites::Column::AudienceId.eq(audience_id))
        .filter(invites::Column::RedeemedAt.is_null())
        .filter(invites::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Records how sending an invite's e-mail went.
pub async fn set_mail(
    db: &impl ConnectionTrait,
    invite_id: Uuid,
    status: MailStatus,
    error: Option<String>,
) -> Result<(), StoreError> {
    invites::Entity::update_many()
        .col_expr(invites::Column::MailStatus, Expr::value(status))
        .col_expr(invites::Column::MailError, Expr::value(error))
        .filter(invites::Column::Id.eq(invite_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Sets how an audience admits participants. The row's update bumps the jam's `parts_rev`, so every
/// node's cached audiences are replaced on their next lookup.
pub async fn set_admission(
    db: &impl ConnectionTrait,
    audience_id: Uuid,
    admission: Admission,
) -> Result<(), StoreError> {
    audiences::Entity::update_many()
        .col_expr(audiences::Column::Admission, Expr::value(admission))
        .filter(audiences::Column::Id.eq(audience_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Replaces an audience's shared code. Like [`set_admission`], every node sees the new code (and
/// stops taking the old one) on its next lookup of the jam. `StoreError::Duplicate` if taken.
pub async fn set_code(db: &impl ConnectionTrait, audience_id: Uuid, code: &str) -> Result<(), StoreError> {
    audiences::Entity::update_many()
        .col_expr(audiences::Column::InviteCode, Expr::value(code))
        .filter(audiences::Column::Id.eq(audience_id))
        .exec(db)
        .await
        .map_err(StoreError::from_insert)?;
    Ok(())
}
