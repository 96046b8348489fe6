//! People: staff accounts (list, role, disable, passwords) and a jam's participants (list, void).
//! Each handler: checks → storage with its audit entry in one transaction → ending sign-ins on every
//! node → response.
//!
//! Decisions made here:
//! - Only admins list and change accounts. An admin cannot leave the deployment without an active
//!   admin: disabling or demoting the last one is 409.
//! - Disabling an account, or changing its role, ends every sign-in of it: the rows go in the
//!   change's transaction, then [`crate::signins::SignInCache::end`] drops them from every node's
//!   cache and closes their live connections with 4001 (the account signs in again, with its new
//!   role, once enabled).
//! - A password change by the account itself needs its current password and keeps the caller's own
//!   sign-in; an admin's reset of another account needs none and ends all of its sign-ins. Both end
//!   every other sign-in of the account.
//! - Voiding a participant (facilitators and admins) is `jam_store::void` plus the audit entry
//!   (`participant.voided`, with the reason) and the end of their sign-ins; repeating it changes
//!   nothing and writes no second entry. Changed ideas and comments go out live as
//!   `idea.updated`/`comment.updated`; new counts reach the live tally through the ticker.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use jam_domain::text::Lines;
use jam_domain::{Principal, Role};
use jam_protocol::api::{
    Page, ParticipantView, PasswordChanged, PasswordRequest, PatchStaffRequest, StaffAccountView,
    VoidRequest, VoidResult,
};
use jam_store::audit::NewAudit;
use jam_store::entity::staff;
use jam_store::moderation::Target;
use jam_store::sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Deserialize;
use uuid::Uuid;

use super::access::{jam_by_slug, parse_id, store_err};
use crate::auth::{self, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::rate_limit::Action;
use crate::routes::jams::PageQuery;
use crate::state::{AppState, client_ip};
use crate::validate::Check;

/// Longest void reason, in characters.
const REASON_MAX: usize = 500;

fn account_view(a: &staff::Model) -> ApiResult<StaffAccountView> {
    let role: Role = a
        .role
        .parse()
        .map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))?;
    Ok(StaffAccountView {
        id: a.id,
        email: a.email.clone(),
        display_name: a.display_name.clone(),
        role,
        disabled: a.disabled_at.is_some(),
        disabled_at: a.disabled_at,
        created_at: a.created_at,
        last_sign_in_at: a.last_sign_in_at,
    })
}

async fn account(state: &AppState, raw: &str) -> ApiResult<staff::Model> {
    let id = parse_id(raw, "staff account")?;
    jam_store::staff::by_id(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("staff account"))
}

// ---- staff accounts ----

pub async fn list_staff(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require_admin()?;
    let items = jam_store::staff::list(&state.db)
        .await?
        .iter()
        .map(account_view)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

pub async fn patch_staff(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ApiJson(body): ApiJson<PatchStaffRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_admin()?;
    let before = account(&state, &id).await?;
    let now = state.clock.now();
    let was_admin = before.role == Role::Admin.as_str() && before.disabled_at.is_none();
    let role = body.role.map(Role::as_str).filter(|r| *r != before.role);
    let disabled_at = match body.disabled {
        Some(true) if before.disabled_at.is_none() => Some(Some(now)),
        Some(false) if before.disabled_at.is_some() => Some(None),
        _ => None,
    };
    if role.is_none() && disabled_at.is_none() {
        return Ok(HttpResponse::Ok().json(account_view(&before)?));
    }
    let stays_admin = role.map_or(was_admin, |r| r == Role::Admin.as_str())
        && disabled_at.map_or(before.disabled_at.is_none(), |d| d.is_none());
    let txn = jam_store::write::begin_write(&state.db).await?;
    if was_admin && !stays_admin {
        // Read under row locks (PostgreSQL), so two admins demoting each other take turns.
        let admins: Vec<Uuid> = staff::Entity::find()
            .select_only()
            .column(staff::Column::Id)
            .filter(staff::Column::Role.eq(Role::Admin.as_str()))
            .filter(staff::Column::DisabledAt.is_null())
            .lock_exclusive()
            .into_tuple()
            .all(&txn)
            .await
            .map_err(store_err)?;
        if admins.len() <= 1 {
            return Err(ApiError::Conflict(
                "this is the last active admin: it cannot be disabled or demoted".into(),
            ));
        }
    }
    jam_store::staff::update(
        &txn,
        before.id,
        jam_store::staff::StaffChange {
            role: role.map(str::to_owned),
            disabled_at,
            password_hash: None,
        },
    )
    .await?;
    // A disabled account has no sign-ins; a new role takes effect at the next sign-in.
    let ended = if disabled_at == Some(Some(now)) || role.is_some() {
        jam_store::auth::end_staff(&txn, before.id, None).await?
    } else {
        Vec::new()
    };
    jam_store::audit::record(
        &txn,
        NewAudit {
            jam_id: None,
            actor: caller.actor(),
            action: "staff.updated".into(),
            subject_kind: "staff",
            subject_id: Some(before.id),
            detail: serde_json::json!({
                "email": before.email,
                "role": { "from": before.role, "to": role.unwrap_or(&before.role) },
                "disabled": disabled_at.map_or(before.disabled_at.is_some(), |d| d.is_some()),
                "sign_ins_ended": ended.len(),
            }),
            at: now,
        },
    )
    .await?;
    txn.commit().await.map_err(store_err)?;
    state.signins.end(state.broker.as_ref(), &state.hub, &ended).await;
    let after = account(&state, &id).await?;
    Ok(HttpResponse::Ok().json(account_view(&after)?))
}

pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    ApiJson(body): ApiJson<PasswordRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_staff()?;
    let target = account(&state, &id).await?;
    let own = matches!(caller.principal, Principal::Staff { id, .. } if id.0 == target.id);
    if own {
        state.limit(Action::Login, &client_ip(&req), state.settings.rate_limits.login)?;
    } else {
        caller.require_admin()?;
    }
    let mut check = Check::default();
    if let Err(ApiError::Invalid(mut e)) = auth::check_password_field(
        "new_password",
        &body.new_password,
        state.settings.auth.password_min_chars,
    ) {
        check.0.append(&mut e);
    }
    if own && body.current_password.is_none() {
        check.fail("current_password", "is required to change your own password");
    }
    check.done()?;
    if let (true, Some(current)) = (own, body.current_password)
        && (current.len() > 1024
            || !auth::verify_password(current, Some(target.password_hash.clone())).await?)
    {
        return Err(ApiError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    let hash = auth::hash_password(body.new_password).await?;
    let now = state.clock.now();
    let txn = jam_store::write::begin_write(&state.db).await?;
    jam_store::staff::update(
        &txn,
        target.id,
        jam_store::staff::StaffChange {
            password_hash: Some(hash),
            ..Default::default()
        },
    )
    .await?;
    let keep = own.then_some(caller.session_id.as_str());
    let ended = jam_store::auth::end_staff(&txn, target.id, keep).await?;
    jam_store::audit::record(
        &txn,
        NewAudit {
            jam_id: None,
            actor: caller.actor(),
            action: "staff.password_changed".into(),
            subject_kind: "staff",
            subject_id: Some(target.id),
            detail: serde_json::json!({ "by": if own { "self" } else { "admin" }, "sign_ins_ended": ended.len() }),
            at: now,
        },
    )
    .await?;
    txn.commit().await.map_err(store_err)?;
    state.signins.end(state.broker.as_ref(), &state.hub, &ended).await;
    Ok(HttpResponse::Ok().json(PasswordChanged {
        sign_ins_ended: u32::try_from(ended.len()).unwrap_or(u32::MAX),
    }))
}

// ---- participants ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantsQuery {
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub async fn list_participants(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    query: web::Query<ParticipantsQuery>,
) -> ApiResult<HttpResponse> {
    caller.require_staff()?;
    let jam = jam_by_slug(&state, &slug).await?;
    let query = query.into_inner();
    if query
        .q
        .as_ref()
        .is_some_and(|q| q.chars().count() > state.settings.limits.search_query_max)
    {
        return Err(ApiError::invalid(
            "q",
            format!(
                "must be at most {} characters",
                state.settings.limits.search_query_max
            ),
        ));
    }
    let page = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    };
    let limit = page.limit(&state, 50)?;
    let (found, next) = jam_store::participants::list(
        &state.db,
        jam.jam.id,
        query.q.as_deref(),
        page.cursor_uuid()?,
        limit,
    )
    .await?;
    let audiences: HashMap<Uuid, &str> = jam.audiences.iter().map(|a| (a.id, a.name.as_str())).collect();
    let items: Vec<ParticipantView> = found
        .into_iter()
        .map(|l| ParticipantView {
            id: l.participant.id,
            audience: audiences
                .get(&l.participant.audience_id)
                .map(|a| (*a).to_owned())
                .unwrap_or_default(),
            display_name: l.participant.display_name,
            joined_at: l.participant.created_at,
            voided_at: l.participant.voided_at,
            ideas: l.ideas,
            comments: l.comments,
            votes: l.votes,
            flags: l.flags,
            joins_from_address: l.joins_from_address,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next.map(|id| id.to_string()),
    }))
}

pub async fn void_participant(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    ApiJson(body): ApiJson<VoidRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let (slug, raw) = path.into_inner();
    let jam = jam_by_slug(&state, &slug).await?;
    let id = parse_id(&raw, "participant")?;
    let participant = jam_store::participants::by_id(&state.db, id)
        .await?
        .filter(|p| p.jam_id == jam.jam.id)
        .ok_or_else(|| ApiError::not_found("participant"))?;
    let mut check = Check::default();
    check.text("reason", &body.reason, 1, REASON_MAX, Lines::Multi);
    check.done()?;

    let now = state.clock.now();
    let frozen = jam.jam.published_at.is_some();
    let hide_after = jam
        .jam
        .auto_hide
        .then_some(state.settings.moderation.hide_after_flags);
    let txn = jam_store::write::begin_write(&state.db).await?;
    let voided = jam_store::void::void(&txn, participant.id, hide_after, frozen, now)
        .await?
        .ok_or_else(|| ApiError::not_found("participant"))?;
    let ended = jam_store::auth::end_participant(&txn, participant.id).await?;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let result = VoidResult {
        participant_id: participant.id,
        voided_at: voided.voided_at.unwrap_or(now),
        already_voided: !voided.first,
        results_frozen: frozen,
        votes_removed: voided.votes_removed,
        flags_removed: voided.flags_removed,
        ideas_recounted: count(voided.recounted.len()),
        items_shown_again: count(voided.shown_again.len()),
        posts_hidden: count(voided.hidden.len()),
        sign_ins_ended: count(ended.len()),
    };
    if voided.first {
        jam_store::audit::record(
            &txn,
            NewAudit {
                jam_id: Some(jam.jam.id),
                actor: caller.actor(),
                action: "participant.voided".into(),
                subject_kind: "participant",
                subject_id: Some(participant.id),
                detail: serde_json::json!({
                    "reason": body.reason,
                    "display_name": participant.display_name,
                    "results_frozen": frozen,
                    "votes_removed": result.votes_removed,
                    "flags_removed": result.flags_removed,
                    "ideas_recounted": result.ideas_recounted,
                    "items_shown_again": result.items_shown_again,
                    "posts_hidden": result.posts_hidden,
                    "sign_ins_ended": result.sign_ins_ended,
                }),
                at: now,
            },
        )
        .await?;
    }
    txn.commit().await.map_err(store_err)?;
    state.signins.end(state.broker.as_ref(), &state.hub, &ended).await;
    for (target, id) in voided.shown_again.iter().chain(&voided.hidden) {
        super::moderation::publish_item(&state, &jam, *target, *id).await?;
    }
    // Counters reach the live tally through the ticker (the recount queued the ideas in
    // `tally_dirty`); an idea whose counts changed also goes out whole to its own page.
    for idea in &voided.recounted {
        super::moderation::publish_item(&state, &jam, Target::Idea, *idea).await?;
    }
    Ok(HttpResponse::Ok().json(result))
}
