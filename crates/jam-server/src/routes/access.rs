//! What the participation and moderation routes share: loading a jam, an idea or a session the
//! caller may read (404 otherwise, so existence does not leak), who sees hidden items, and publishing
//! after a commit.

use jam_domain::ItemStatus;
use jam_domain::{JamId, Principal};
use jam_protocol::live::Event;
use jam_store::JamFull;
use jam_store::entity::ideas;
use jam_store::ideas::Viewer;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(super) fn store_err(e: sea_orm::DbErr) -> ApiError {
    jam_store::StoreError::from(e).into()
}

pub(super) async fn jam_by_slug(state: &AppState, slug: &str) -> ApiResult<JamFull> {
    state
        .jams
        .by_slug(&state.db, slug)
        .await?
        .ok_or_else(|| ApiError::not_found("jam"))
}

pub(super) async fn jam_by_id(state: &AppState, id: Uuid, what: &str) -> ApiResult<JamFull> {
    state
        .jams
        .by_id(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found(what))
}

/// A malformed id names nothing: 404, like an unknown one.
pub(super) fn parse_id(raw: &str, what: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found(what))
}

/// 404 unless the caller may read things of this jam.
pub(super) fn require_member(caller: &Caller, jam: &JamFull, what: &str) -> ApiResult<()> {
    if caller.principal.is_member_of(JamId(jam.jam.id)) {
        Ok(())
    } else {
        Err(ApiError::not_found(what))
    }
}

pub(super) fn viewer(caller: &Caller) -> Viewer {
    match caller.principal {
        Principal::Staff { .. } => Viewer::Staff,
        Principal::Participant { id, .. } => Viewer::Participant(id.0),
    }
}

pub(super) fn participant_id(caller: &Caller) -> Option<Uuid> {
    match caller.principal {
        Principal::Participant { id, .. } => Some(id.0),
        Principal::Staff { .. } => None,
    }
}

/// Hidden and removed items are seen by staff and their author only; visible and merged ones by
/// every member (a merged idea still answers by id, pointing to its target).
pub(super) fn can_see(caller: &Caller, status: ItemStatus, author_id: Uuid) -> bool {
    caller.principal.is_staff() || !status.is_withheld() || participant_id(caller) == Some(author_id)
}

/// An idea the caller may read, with its jam (404 otherwise).
pub(super) async fn load_idea(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> ApiResult<(JamFull, ideas::Model)> {
    readable_idea(state, caller, parse_id(raw, "idea")?, "idea").await
}

/// The idea `id` if the caller may read it, with its jam; else 404 naming `what`.
pub(super) async fn readable_idea(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    what: &str,
) -> ApiResult<(JamFull, ideas::Model)> {
    let (idea, jam) = state
        .jams
        .idea_with_jam(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found(what))?;
    require_member(caller, &jam, what)?;
    if !can_see(caller, idea.status, idea.author_id) {
        return Err(ApiError::not_found(what));
    }
    Ok((jam, idea))
}

/// Publishes after the commit; the write stands even if the broker is down (clients refetch).
pub(super) async fn publish(state: &AppState, topics: &[String], event: &Event) {
    let Ok(payload) = serde_json::to_vec(event) else {
        return;
    };
    let payload = bytes::Bytes::from(payload);
    for topic in topics {
        if let Err(error) = state.broker.publish(topic, payload.clone()).await {
            tracing::warn!(%error, %topic, "stored but not pushed live");
        }
    }
}
