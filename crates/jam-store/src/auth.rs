//! Sign-ins: one row per signed-in browser, keyed by the SHA-256 of its cookie token, so every node
//! sees every sign-in and a sign-out anywhere is a sign-out everywhere.

use chrono::{DateTime, Utc};
use jam_domain::{AudienceId, JamId, ParticipantId, Principal, Role, StaffId};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{auth_sessions, participants, staff};

/// Who a sign-in belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    Staff(Uuid),
    Participant(Uuid),
}

#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Principal,
    pub display_name: String,
    /// When the sign-in ends (a cache of it must not outlive this).
    pub expires_at: DateTime<Utc>,
}

pub async fn create(
    db: &impl ConnectionTrait,
    token_hash: &str,
    subject: Subject,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = match subject {
        Subject::Staff(id) => auth_sessions::Model::for_staff(token_hash.to_owned(), id, now, expires_at),
        Subject::Participant(id) => {
            auth_sessions::Model::for_participant(token_hash.to_owned(), id, now, expires_at)
        }
    };
    auth_sessions::Entity::insert(auth_sessions::ActiveModel::from(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The principal of an unexpired sign-in, or `None`.
pub async fn principal_for(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<SignedIn>, StoreError> {
    // A participant's sign-in (the many) comes with its participant in one query; staff take a second.
    let Some((session, participant)) = auth_sessions::Entity::find_by_id(token_hash.to_owned())
        .find_also_related(participants::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if session.expires_at <= now {
        return Ok(None);
    }
    if let Some(staff_id) = session.staff_id {
        let Some(s) = staff::Entity::find_by_id(staff_id).one(db).await? else {
            return Ok(None);
        };
        if s.disabled_at.is_some() {
            return Ok(None);
        }
        let Ok(role) = s.role.parse::<Role>() else {
            return Ok(None);
        };
        return Ok(Some(SignedIn {
            principal: Principal::Staff {
                id: StaffId(s.id),
                role,
            },
            display_name: s.display_name,
            expires_at: session.expires_at,
        }));
    }
    if let Some(p) = participant.filter(|p| p.voided_at.is_none()) {
        return Ok(Some(SignedIn {
            principal: Principal::Participant {
                id: ParticipantId(p.id),
                jam_id: JamId(p.jam_id),
                audience_id: AudienceId(p.audience_id),
            },
            display_name: p.display_name,
            expires_at: session.expires_at,
        }));
    }
    Ok(None)
}

pub async fn delete(db: &impl ConnectionTrait, token_hash: &str) -> Result<(), StoreError> {
    auth_sessions::Entity::delete_by_id(token_hash.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

/// Removes expired sign-ins; returns how many.
pub async fn purge_expired(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let res = auth_sessions::Entity::delete_many()
        .filter(auth_sessions::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Ends the sign-ins of a staff account (all but `keep`, the caller's own, when given); returns
/// their token hashes, for the caches and live connections of every node.
pub async fn end_staff(
    db: &impl ConnectionTrait,
    staff_id: Uuid,
    keep: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let mut find = auth_sessions::Entity::find().filter(auth_sessions::Column::StaffId.eq(staff_id));
    if let Some(keep) = keep {
        find = find.filter(auth_sessions::Column::Id.ne(keep));
    }
    end(db, find).await
}

/// Ends every sign-in of a participant; returns their token hashes.
pub async fn end_participant(
    db: &impl ConnectionTrait,
    participant_id: Uuid,
) -> Result<Vec<String>, StoreError> {
    let find = auth_sessions::Entity::find().filter(auth_sessions::Column::ParticipantId.eq(participant_id));
    end(db, find).await
}

async fn end(
    db: &impl ConnectionTrait,
    find: sea_orm::Select<auth_sessions::Entity>,
) -> Result<Vec<String>, StoreError> {
    use sea_orm::QuerySelect;
    let hashes: Vec<String> = find
        .select_only()
        .column(auth_sessions::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    if !hashes.is_empty() {
        auth_sessions::Entity::delete_many()
            .filter(auth_sessions::Column::Id.is_in(hashes.clone()))
            .exec(db)
            .await?;
    }
    Ok(hashes)
}
