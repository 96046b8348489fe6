//! Moderation: participants flag ideas and comments; facilitators work the queue, hide, restore
//! or remove items, and merge duplicate ideas. Each handler: checks (auth, role, membership,
//! fields, state) → storage with its audit entry in one transaction → publish live events →
//! response. The rules themselves (what a flag counts, how votes carry) are in
//! `jam_store::moderation`.
//!
//! Decisions made here, and what clients see of them:
//! - Flags: participants of the item's jam only (staff 403, another jam's participants 404), at
//!   any time the item is readable (not only while its session is open). A reason of 1 to 500
//!   characters, several lines allowed. Once per participant per item: a repeat is 409 and keeps
//!   the first reason. Flagging one's own idea or comment is 409. Merged or removed items take no
//!   flags (409). Answered 201 with the flag.
//! - At `moderation.hide_after_flags` undecided flags a visible item becomes `hidden` in the
//!   flag's transaction, audited as `idea.hidden`/`comment.hidden` by the system. Only flags of
//!   participants who joined at least `moderation.flag_min_age_minutes` before flagging count
//!   toward it; younger ones are recorded and put the item in the queue. A jam with `auto_hide` off
//!   hides nothing by flags: flagged items only wait in the queue.
//! - Decisions (`hide`, `restore`, `remove`): facilitators and admins, on any item that is not
//!   merged (409), answered 200 with the item. Each one clears the item's undecided flags, so a
//!   restored item is hidden again only by new flags from other participants, and the item leaves
//!   the queue until new flags arrive. Repeating a decision that changes nothing writes nothing.
//!   `restore` also undoes a removal. Audited as `idea.hidden`, `idea.restored`, `idea.removed`,
//!   `comment.…`.
//! - Merge: into another idea of the same jam (itself, an unknown idea or another jam's: 422 on
//!   `into`), both `visible` or `hidden` (else 409). The duplicate becomes `merged`, points to its
//!   target, keeps its comments and loses its votes to the target (each voter at most once; see
//!   the store). Audited as `idea.merged` with the counts moved and kept.
//! - Live: `idea.updated` (on `idea:{id}` and `session:{id}`) and `comment.updated` (on
//!   `idea:{id}`) after the commit. An item that became hidden or removed goes out without its
//!   title, body and tags: everyone on the topic gets the event, but only staff and the author may
//!   read the text, and they refetch it.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use jam_domain::Principal;
use jam_domain::text::Lines;
use jam_protocol::api::{
    CommentView, FlagReasonView, FlagRequest, FlagTarget, FlagView, IdeaView, ItemStatus, MergeRequest,
    MergeResult, ModerationItem, Page,
};
use jam_protocol::live::{Event, idea_topic, session_topic};
use jam_store::JamFull;
use jam_store::audit::{Actor, NewAudit};
use jam_store::entity::{comments, ideas};
use jam_store::moderation::{Decided, Decision, Merged, NewFlag, Queued, Target};
use uuid::Uuid;

use super::access::{can_see, load_idea, parse_id, publish, readable_idea, store_err};
use super::inbox::Tell;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::rate_limit::Action;
use crate::routes::jams::PageQuery;
use crate::state::AppState;
use crate::validate::Check;
use crate::views::{author_view, comment_view, idea_view};

/// Longest flag reason, in characters.
const REASON_MAX: usize = 500;
/// Reasons shown per item in the queue, newest first.
const REASONS_SHOWN: usize = 5;

/// The caller's participant id if they take part in this jam. Staff get 403 (they moderate by
/// decisions, not flags); participants of another jam get 404 (they cannot see the item).
fn require_participant(caller: &Caller, jam: &JamFull, what: &str) -> ApiResult<Uuid> {
    match caller.principal {
        Principal::Participant { id, jam_id, .. } if jam_id.0 == jam.jam.id => Ok(id.0),
        Principal::Participant { .. } => Err(ApiError::not_found(what)),
        Principal::Staff { .. } => Err(ApiError::Forbidden(
            "only participants of this jam flag; staff decide in the moderation queue".into(),
        )),
    }
}

/// A comment the caller may read (and its idea too), with its jam and idea (404 otherwise).
async fn load_comment(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> ApiResult<(JamFull, ideas::Model, comments::Model)> {
    let id = parse_id(raw, "comment")?;
    let comment = jam_store::comments::by_id(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    let (jam, idea) = readable_idea(state, caller, comment.idea_id, "comment").await?;
    if !can_see(caller, comment.status, comment.author_id) {
        return Err(ApiError::not_found("comment"));
    }
    Ok((jam, idea, comment))
}

/// `idea.updated` for everyone on the idea's topics; the text stays out when it may not be read.
async fn publish_idea(state: &AppState, view: &IdeaView) {
    let mut idea = IdeaView {
        my_vote: 0,
        // Staff only, never in events.
        impressions: None,
        ..view.clone()
    };
    if idea.status.is_withheld() {
        idea.title.clear();
        idea.body.clear();
        idea.tags.clear();
    }
    let event = Event::IdeaUpdated { idea: Box::new(idea) };
    publish(
        state,
        &[idea_topic(view.id), session_topic(view.session_id)],
        &event,
    )
    .await;
}

/// `comment.updated` on its idea's topic; the text stays out when it may not be read.
async fn publish_comment(state: &AppState, view: &CommentView) {
    let mut comment = view.clone();
    if comment.status.is_withheld() {
        comment.body.clear();
    }
    let event = Event::CommentUpdated {
        comment: Box::new(comment),
    };
    publish(state, &[idea_topic(view.idea_id)], &event).await;
}

async fn reload_idea(state: &AppState, id: Uuid) -> ApiResult<ideas::Model> {
    jam_store::ideas::by_id(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("idea"))
}

async fn staff_idea_view(state: &AppState, jam: &JamFull, idea: &ideas::Model) -> ApiResult<IdeaView> {
    let authors = jam_store::participants::by_ids(&state.db, [idea.author_id]).await?;
    Ok(idea_view(
        idea,
        author_view(jam, idea.author_id, authors.get(&idea.author_id)),
        0,
    ))
}

async fn comment_view_of(
    state: &AppState,
    jam: &JamFull,
    comment: &comments::Model,
) -> ApiResult<CommentView> {
    let authors = jam_store::participants::by_ids(&state.db, [comment.author_id]).await?;
    Ok(comment_view(
        comment,
        author_view(jam, comment.author_id, authors.get(&comment.author_id)),
    ))
}

/// Publishes an idea's or a comment's current state (after a change made elsewhere, e.g. a void).
pub(super) async fn publish_item(state: &AppState, jam: &JamFull, target: Target, id: Uuid) -> ApiResult<()> {
    match target {
        Target::Idea => {
            let idea = reload_idea(state, id).await?;
            publish_idea(state, &staff_idea_view(state, jam, &idea).await?).await;
        }
        Target::Comment => {
            if let Some(comment) = jam_store::comments::by_id(&state.db, id).await? {
                publish_comment(state, &comment_view_of(state, jam, &comment).await?).await;
            }
        }
    }
    Ok(())
}

// ---- flags ----

pub async fn flag_idea(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<FlagRequest>,
) -> ApiResult<HttpResponse> {
    let (jam, idea) = load_idea(&state, &caller, &id).await?;
    let item = Flaggable {
        target: Target::Idea,
        id: idea.id,
        author_id: idea.author_id,
        status: idea.status,
    };
    let (view, hidden_now) = flag(&state, &caller, &jam, item, body).await?;
    if hidden_now {
        let idea = reload_idea(&state, idea.id).await?;
        publish_idea(&state, &staff_idea_view(&state, &jam, &idea).await?).await;
    }
    Ok(HttpResponse::Created().json(view))
}

pub async fn flag_comment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<FlagRequest>,
) -> ApiResult<HttpResponse> {
    let (jam, _, comment) = load_comment(&state, &caller, &id).await?;
    let item = Flaggable {
        target: Target::Comment,
        id: comment.id,
        author_id: comment.author_id,
        status: comment.status,
    };
    let (view, hidden_now) = flag(&state, &caller, &jam, item, body).await?;
    if hidden_now {
        let comment = jam_store::comments::by_id(&state.db, comment.id)
            .await?
            .ok_or_else(|| ApiError::not_found("comment"))?;
        publish_comment(&state, &comment_view_of(&state, &jam, &comment).await?).await;
    }
    Ok(HttpResponse::Created().json(view))
}

/// What a flag needs to know about its item.
struct Flaggable {
    target: Target,
    id: Uuid,
    author_id: Uuid,
    status: ItemStatus,
}

/// The checks and the write shared by both flag routes; true when this flag hid the item.
async fn flag(
    state: &AppState,
    caller: &Caller,
    jam: &JamFull,
    item: Flaggable,
    ApiJson(body): ApiJson<FlagRequest>,
) -> ApiResult<(FlagView, bool)> {
    let kind = item.target.as_str();
    let participant_id = require_participant(caller, jam, kind)?;
    state.limit(
        Action::Flag,
        &participant_id.to_string(),
        state.settings.rate_limits.flags,
    )?;
    let mut check = Check::default();
    check.text("reason", &body.reason, 1, REASON_MAX, Lines::Multi);
    check.done()?;
    if item.author_id == participant_id {
        return Err(ApiError::Conflict(format!("you cannot flag your own {kind}")));
    }
    if !item.status.is_open() {
        return Err(ApiError::Conflict(format!(
            "a {} {kind} takes no flags",
            item.status
        )));
    }
    let now = state.clock.now();
    let threshold = state.settings.moderation.hide_after_flags;
    // Only established participants' flags count toward hiding (see the module docs).
    let min_age = chrono::Duration::minutes(state.settings.moderation.flag_min_age_minutes);
    let joined_at = jam_store::participants::by_id(&state.db, participant_id)
        .await?
        .map(|p| p.created_at)
        .ok_or(ApiError::Unauthorized)?;
    let counts = joined_at + min_age <= now;
    let new = NewFlag {
        id: Uuid::now_v7(),
        jam_id: jam.jam.id,
        participant_id,
        target: item.target,
        target_id: item.id,
        reason: body.reason,
        at: now,
        counts,
    };
    let hide_after = jam.jam.auto_hide.then_some(threshold);
    let txn = jam_store::write::begin_write(&state.db).await?;
    let flagged = jam_store::moderation::flag(&txn, new.clone(), hide_after)
        .await
        .map_err(|e| match e {
            jam_store::StoreError::Duplicate => {
                ApiError::Conflict(format!("you have already flagged this {kind}"))
            }
            other => other.into(),
        })?;
    if flagged.hidden_now {
        jam_store::audit::record(
            &txn,
            NewAudit {
                jam_id: Some(jam.jam.id),
                actor: Actor::System,
                action: format!("{kind}.hidden"),
                subject_kind: kind,
                subject_id: Some(item.id),
                detail: serde_json::json!({ "by": "flags", "flags": flagged.flags, "threshold": threshold }),
                at: now,
            },
        )
        .await?;
    }
    txn.commit().await.map_err(store_err)?;
    let target_kind = match item.target {
        Target::Idea => FlagTarget::Idea,
        Target::Comment => FlagTarget::Comment,
    };
    let view = FlagView {
        id: new.id,
        target_kind,
        target_id: item.id,
        reason: new.reason,
        created_at: now,
    };
    Ok((view, flagged.hidden_now))
}

// ---- the queue ----

pub async fn queue(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let jam = super::access::jam_by_slug(&state, &slug).await?;
    let limit = query.limit(&state, 50)?;
    let (found, next) =
        jam_store::moderation::queue(&state.db, jam.jam.id, query.cursor_uuid()?, limit).await?;
    let flags = jam_store::moderation::flags_on(&state.db, found.iter().map(Queued::id)).await?;
    let sessions = jam_store::moderation::sessions_of(
        &state.db,
        found.iter().filter_map(|q| match q {
            Queued::Comment(c) => Some(c.idea_id),
            Queued::Idea(_) => None,
        }),
    )
    .await?;
    let people = jam_store::participants::by_ids(
        &state.db,
        found
            .iter()
            .map(|q| match q {
                Queued::Idea(i) => i.author_id,
                Queued::Comment(c) => c.author_id,
            })
            .chain(flags.iter().map(|f| f.participant_id)),
    )
    .await?;
    let mut by_item: HashMap<Uuid, Vec<&jam_store::entity::flags::Model>> = HashMap::new();
    for f in &flags {
        by_item.entry(f.target_id).or_default().push(f);
    }
    let person = |id: Uuid| author_view(&jam, id, people.get(&id));
    let items: Vec<ModerationItem> = found
        .iter()
        .map(|q| {
            let on = by_item.get(&q.id()).map(Vec::as_slice).unwrap_or_default();
            let reasons = on
                .iter()
                .take(REASONS_SHOWN)
                .map(|f| FlagReasonView {
                    by: person(f.participant_id),
                    reason: f.reason.clone(),
                    created_at: f.created_at,
                })
                .collect();
            let flags_total = u32::try_from(on.len()).unwrap_or(u32::MAX);
            match q {
                Queued::Idea(i) => ModerationItem {
                    kind: FlagTarget::Idea,
                    id: i.id,
                    idea_id: i.id,
                    session_id: i.session_id,
                    author: person(i.author_id),
                    title: Some(i.title.clone()),
                    body: i.body.clone(),
                    status: i.status,
                    created_at: i.created_at,
                    flags: u32::try_from(i.flags).unwrap_or(0),
                    flags_total,
                    reasons,
                },
                Queued::Comment(c) => ModerationItem {
                    kind: FlagTarget::Comment,
                    id: c.id,
                    idea_id: c.idea_id,
                    session_id: sessions.get(&c.idea_id).copied().unwrap_or_default(),
                    author: person(c.author_id),
                    title: None,
                    body: c.body.clone(),
                    status: c.status,
                    created_at: c.created_at,
                    flags: u32::try_from(c.flags).unwrap_or(0),
                    flags_total,
                    reasons,
                },
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next.map(|id| id.to_string()),
    }))
}

// ---- decisions ----

pub async fn hide_idea(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    decide_idea(&state, &caller, &id, Decision::Hide).await
}

pub async fn restore_idea(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    decide_idea(&state, &caller, &id, Decision::Restore).await
}

pub async fn remove_idea(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    decide_idea(&state, &caller, &id, Decision::Remove).await
}

pub async fn hide_comment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    decide_comment(&state, &caller, &id, Decision::Hide).await
}

pub async fn restore_comment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    decide_comment(&state, &caller, &id, Decision::Restore).await
}

pub async fn remove_comment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    decide_comment(&state, &caller, &id, Decision::Remove).await
}

async fn decide_idea(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    decision: Decision,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let (jam, idea) = load_idea(state, caller, raw).await?;
    let changed = decide(state, caller, &jam, Target::Idea, idea.id, decision, Some(&idea)).await?;
    let view = staff_idea_view(state, &jam, &reload_idea(state, idea.id).await?).await?;
    if changed {
        publish_idea(state, &view).await;
    }
    Ok(HttpResponse::Ok().json(view))
}

async fn decide_comment(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    decision: Decision,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let (jam, _, comment) = load_comment(state, caller, raw).await?;
    let changed = decide(state, caller, &jam, Target::Comment, comment.id, decision, None).await?;
    let comment = jam_store::comments::by_id(&state.db, comment.id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    let view = comment_view_of(state, &jam, &comment).await?;
    if changed {
        publish_comment(state, &view).await;
    }
    Ok(HttpResponse::Ok().json(view))
}

/// The decision and its audit entry in one transaction; true when something changed. When the
/// item is an idea (`idea`), its author hears of a change in their inbox.
async fn decide(
    state: &AppState,
    caller: &Caller,
    jam: &JamFull,
    target: Target,
    id: Uuid,
    decision: Decision,
    idea: Option<&ideas::Model>,
) -> ApiResult<bool> {
    let mut tell = Tell::default();
    let kind = target.as_str();
    let now = state.clock.now();
    let txn = jam_store::write::begin_write(&state.db).await?;
    let changed = match jam_store::moderation::decide(&txn, target, id, decision, now).await? {
        Decided::Missing => return Err(ApiError::not_found(kind)),
        Decided::Merged => {
            return Err(ApiError::Conflict(format!(
                "a merged {kind} takes no moderation decisions"
            )));
        }
        Decided::Unchanged => false,
        Decided::Changed { from, flags } => {
            jam_store::audit::record(
                &txn,
                NewAudit {
                    jam_id: Some(jam.jam.id),
                    actor: caller.actor(),
                    action: format!("{kind}.{}", decision.done()),
                    subject_kind: kind,
                    subject_id: Some(id),
                    detail: serde_json::json!({ "from": from, "to": decision.status(), "flags": flags }),
                    at: now,
                },
            )
            .await?;
            if let Some(idea) = idea {
                tell = Tell::decision(idea, decision.status(), now);
                tell.write(&txn).await?;
            }
            true
        }
    };
    txn.commit().await.map_err(store_err)?;
    tell.push(state).await;
    Ok(changed)
}

// ---- merge ----

pub async fn merge(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ApiJson(body): ApiJson<MergeRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let (jam, source) = load_idea(&state, &caller, &id).await?;
    if body.into == source.id {
        return Err(ApiError::invalid(
            "into",
            "must be another idea than the one merged",
        ));
    }
    let target = jam_store::ideas::by_id(&state.db, body.into)
        .await?
        .filter(|t| t.jam_id == source.jam_id)
        .ok_or_else(|| ApiError::invalid("into", "must be an idea of the same jam"))?;
    if !source.status.is_open() {
        return Err(ApiError::Conflict(format!(
            "a {} idea cannot be merged",
            source.status
        )));
    }
    if !target.status.is_open() {
        return Err(ApiError::Conflict(format!(
            "an idea cannot be merged into a {} one",
            target.status
        )));
    }
    let now = state.clock.now();
    let txn = jam_store::write::begin_write(&state.db).await?;
    // Anything but `Done` returns early: dropping `txn` rolls back the votes already carried.
    let outcome = match jam_store::moderation::merge(&txn, source.id, target.id, now).await? {
        Merged::Done(outcome) => outcome,
        Merged::Missing => return Err(ApiError::not_found("idea")),
        Merged::SourceIs(status) => {
            return Err(ApiError::Conflict(format!("a {status} idea cannot be merged")));
        }
        Merged::TargetIs(status) => {
            return Err(ApiError::Conflict(format!(
                "an idea cannot be merged into a {status} one"
            )));
        }
    };
    let counts = |c: jam_store::moderation::Counts| serde_json::json!({ "up": c.up, "down": c.down, "voters": c.voters });
    jam_store::audit::record(
        &txn,
        NewAudit {
            jam_id: Some(jam.jam.id),
            actor: caller.actor(),
            action: "idea.merged".into(),
            subject_kind: "idea",
            subject_id: Some(source.id),
            detail: serde_json::json!({
                "into": target.id,
                "votes_moved": outcome.moved,
                "votes_kept": outcome.kept,
                "source_before": counts(outcome.source_before),
                "into_after": counts(outcome.target_after),
            }),
            at: now,
        },
    )
    .await?;
    let tell = Tell::decision(&source, ItemStatus::Merged, now);
    tell.write(&txn).await?;
    txn.commit().await.map_err(store_err)?;
    tell.push(&state).await;

    let source = staff_idea_view(&state, &jam, &reload_idea(&state, source.id).await?).await?;
    let into = staff_idea_view(&state, &jam, &reload_idea(&state, target.id).await?).await?;
    publish_idea(&state, &source).await;
    publish_idea(&state, &into).await;
    Ok(HttpResponse::Ok().json(MergeResult {
        source,
        into,
        votes_moved: outcome.moved,
        votes_kept: outcome.kept,
    }))
}
