//! Participation: the welcome page and joining with an invite code; ideas (post, edit, feeds),
//! threaded comments and votes (search is `routes::search`). Each handler: checks (auth, membership, role, fields, the
//! session open at this moment) → storage in one transaction → publish live events → response.
//!
//! Who may do what (`shared/spec/api.md`): reads are for members (staff, and participants of the
//! jam that owns the thing; anyone else gets 404); writes are for participants of that jam only
//! (staff get 403). Hidden and removed items are seen only by staff and their author.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use jam_domain::lifecycle::{self, JamState};
use jam_domain::text::{DisplayName, Lines};
use jam_domain::{AudienceId, IdeaId, ItemStatus, JamId, ParticipantId, Principal};
use jam_protocol::api::{
    CreateCommentRequest, CreateIdeaRequest, IdeaSort, IdeaView, JoinRequest, Me, Page, PatchIdeaRequest,
    PrincipalKind, VoteRequest, VoteResult, WelcomeView,
};
use jam_protocol::live::{Event, idea_topic, jam_topic, session_topic};
use jam_store::JamFull;
use jam_store::audit::{Actor, NewAudit};
use jam_store::auth::Subject;
use jam_store::entity::{comments, count, ideas, participants, sessions};
use jam_store::ideas::{Cursor, IdeaEdit, Sort};
use jam_store::join_caps::JoinKey;
use jam_store::votes::VoteInput;
use serde::Deserialize;
use uuid::Uuid;

use super::access::{
    can_see, jam_by_id, jam_by_slug, load_idea, parse_id, participant_id, publish, require_member, store_err,
    viewer,
};
use super::inbox::Tell;
use super::invites::{self, Admit};
use crate::auth::{self, Caller, MaybeCaller};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::rate_limit::Action;
use crate::routes::jams::PageQuery;
use crate::settings::Limits;
use crate::state::{AppState, address_key, client_ip};
use crate::validate::Check;
use crate::views::{author_view, comment_view, counts_hidden, hide_counts, idea_view, session_view};

/// A participant of this jam, for writes: `(participant id, audience id)`. Staff get 403 (they read
/// but do not take part); participants of another jam get 404 (they cannot see it).
pub(super) fn require_participant(caller: &Caller, jam: &JamFull, what: &str) -> ApiResult<(Uuid, Uuid)> {
    match caller.principal {
        Principal::Participant {
            id,
            jam_id,
            audience_id,
        } if jam_id.0 == jam.jam.id => Ok((id.0, audience_id.0)),
        Principal::Participant { .. } => Err(ApiError::not_found(what)),
        Principal::Staff { .. } => Err(ApiError::Forbidden(
            "only participants of this jam post, comment and vote".into(),
        )),
    }
}

/// 409 unless the session takes writes at this moment (the lifecycle function, not a timer).
fn require_open(jam: &JamFull, session: &sessions::Model, now: DateTime<Utc>) -> ApiResult<()> {
    if lifecycle::accepts_writes(&jam.times(), &jam.session_times(session), now) {
        Ok(())
    } else {
        Err(ApiError::Conflict("session is not open".into()))
    }
}

fn session_of(jam: &JamFull, id: Uuid) -> ApiResult<&sessions::Model> {
    jam.session(id).ok_or_else(|| ApiError::not_found("session"))
}

/// A session the caller may read, with its jam.
pub(super) async fn load_session(state: &AppState, caller: &Caller, raw: &str) -> ApiResult<(JamFull, Uuid)> {
    let id = parse_id(raw, "session")?;
    let session = jam_store::ideas::session(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    let jam = jam_by_id(state, session.jam_id, "session").await?;
    require_member(caller, &jam, "session")?;
    Ok((jam, id))
}

// ---- welcome and join ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WelcomeQuery {
    pub code: Option<String>,
    /// A personal invite's token, instead of a code.
    pub invite: Option<String>,
}

/// Each lookup tries an invite code, so lookups are limited per client address and jam: guessing a
/// code costs a guesser as much as joining does.
pub async fn welcome(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    query: web::Query<WelcomeQuery>,
) -> ApiResult<HttpResponse> {
    let jam = jam_by_slug(&state, &slug).await?;
    let key = format!("{} {}", jam.jam.id, address_key(&client_ip(&req)));
    state.limit(Action::Welcome, &key, state.settings.rate_limits.welcome)?;
    let code = query.code.as_deref().unwrap_or_default();
    let admit = invites::admit(&state, &jam, code, query.invite.as_deref()).await?;
    let audience = admit.audience();
    let now = state.clock.now();
    let j = &jam.jam;
    Ok(HttpResponse::Ok().json(WelcomeView {
        id: j.id,
        slug: j.slug.clone(),
        title: j.title.clone(),
        description: j.description.clone(),
        guidelines: j.guidelines.clone(),
        starts_at: j.starts_at,
        ends_at: j.ends_at,
        state: jam.state(now),
        sessions: jam.sessions.iter().map(|s| session_view(&jam, s, now)).collect(),
        audience: audience.name.clone(),
        now,
    }))
}

/// The participant a browser already holds a sign-in for in this jam, as `Me`: joining again gives
/// it back (200, same id, same sign-in) rather than a second voice.
fn held_participant(jam: &JamFull, caller: Option<Caller>) -> Option<Me> {
    let caller = caller?;
    let Principal::Participant {
        id,
        jam_id,
        audience_id,
    } = caller.principal
    else {
        return None;
    };
    (jam_id.0 == jam.jam.id).then(|| Me {
        kind: PrincipalKind::Participant,
        id: id.0,
        display_name: caller.display_name,
        role: None,
        jam_id: Some(jam_id.0),
        audience: jam
            .audiences
            .iter()
            .find(|a| a.id == audience_id.0)
            .map(|a| a.name.clone()),
    })
}

/// Takes one of the address's new-participant slots for today in the join's transaction (see
/// `jam_store::join_caps`), or records the first refusal of the day in the audit log, once per jam,
/// address and day across the cluster, and answers false.
async fn take_join_slot(
    state: &AppState,
    txn: &impl sea_orm::ConnectionTrait,
    key: &JoinKey,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let cap = state.settings.limits.joins_per_address_per_day;
    if jam_store::join_caps::take_slot(txn, key, cap).await? {
        return Ok(true);
    }
    if jam_store::join_caps::mark_capped(txn, key, now).await? {
        tracing::warn!(jam_id = %key.jam_id, address = %key.address_key, cap, "join cap reached");
        jam_store::audit::record(
            txn,
            NewAudit {
                jam_id: Some(key.jam_id),
                actor: Actor::System,
                action: "join.capped".into(),
                subject_kind: "jam",
                subject_id: Some(key.jam_id),
                detail: serde_json::json!({ "address_key": key.address_key, "day": key.day, "cap": cap }),
                at: now,
            },
        )
        .await?;
    }
    Ok(false)
}

/// 429 for a join over the address's daily cap, with Retry-After: the seconds until the next UTC
/// day, when the address's count starts again.
fn join_capped(now: DateTime<Utc>) -> ApiError {
    let next_day = now
        .date_naive()
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc());
    let retry_after_secs = next_day.map_or(86_400, |t| (t - now).num_seconds().max(1).unsigned_abs());
    ApiError::RateLimited { retry_after_secs }
}

pub async fn join(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeCaller(caller): MaybeCaller,
    slug: web::Path<String>,
    ApiJson(body): ApiJson<JoinRequest>,
) -> ApiResult<HttpResponse> {
    let address = address_key(&client_ip(&req));
    state.limit(Action::Join, &address, state.settings.rate_limits.join)?;
    let jam = jam_by_slug(&state, &slug).await?;
    let admit = invites::admit(&state, &jam, &body.invite_code, body.invite_token.as_deref()).await?;
    let audience = admit.audience().clone();
    let now = state.clock.now();
    if matches!(jam.state(now), JamState::Closed | JamState::Published) {
        return Err(ApiError::Conflict(
            "this jam has ended; it takes no new participants".into(),
        ));
    }
    let mut check = Check::default();
    let name = DisplayName::parse("display_name", &body.display_name)
        .map_err(|e| check.0.push(e))
        .ok();
    if !body.accept_guidelines {
        check.fail(
            "accept_guidelines",
            "must be true: joining means accepting the guidelines",
        );
    }
    if let Some(locale) = &body.locale {
        let ok = (2..=35).contains(&locale.len())
            && locale.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            check.fail("locale", "must be a language tag such as `en` or `pt-BR`");
        }
    }
    check.done()?;
    let Some(name) = name else {
        return Err(ApiError::invalid("display_name", "is invalid"));
    };
    // After the checks, so a bad request gets its 4xx whoever sends it; before the cap, so coming
    // back never counts as a new participant.
    // A used invite answers 409 except to the browser that redeemed it.
    if let Admit::Invite(_, invite) = &admit {
        invites::check_redeemed(invite, caller.as_ref().map(|c| &c.principal))?;
    }
    if let Some(me) = held_participant(&jam, caller) {
        return Ok(HttpResponse::Ok().json(me));
    }
    let mut participant = participants::Model::joined(&audience, name.into_string(), body.locale, now);
    participant.address_key = Some(address.clone());
    let expires_at = now + Duration::hours(state.settings.auth.participant_session_hours);
    let token = auth::new_token()?;
    let txn = jam_store::write::begin_write(&state.db).await?;
    let key = JoinKey {
        jam_id: jam.jam.id,
        address_key: address,
        day: now.date_naive(),
    };
    // An invite admits one person, so it takes no slot of the address's cap; it is bound to the
    // participant in the same transaction (a second browser racing with the link gets 409).
    let invite = match &admit {
        Admit::Invite(_, invite) => Some(invite.id),
        Admit::Code(_) => None,
    };
    if invite.is_none() && !take_join_slot(&state, &txn, &key, now).await? {
        txn.commit().await.map_err(store_err)?;
        return Err(join_capped(now));
    }
    jam_store::participants::insert(&txn, participant.clone()).await?;
    if let Some(invite_id) = invite
        && !jam_store::invites::redeem(&txn, invite_id, participant.id, now).await?
    {
        txn.rollback().await.map_err(store_err)?;
        return Err(ApiError::Conflict("this invite was already used".into()));
    }
    jam_store::auth::create(
        &txn,
        &auth::token_hash(&token),
        Subject::Participant(participant.id),
        now,
        expires_at,
    )
    .await?;
    jam_store::audit::record(
        &txn,
        NewAudit {
            jam_id: Some(jam.jam.id),
            actor: Actor::Participant(participant.id),
            action: "participant.joined".into(),
            subject_kind: "participant",
            subject_id: Some(participant.id),
            detail: serde_json::json!({ "audience": audience.name, "display_name": participant.display_name, "invite": invite }),
            at: now,
        },
    )
    .await?;
    txn.commit().await.map_err(store_err)?;
    let me = Me {
        kind: PrincipalKind::Participant,
        id: participant.id,
        display_name: participant.display_name,
        role: None,
        jam_id: Some(jam.jam.id),
        audience: Some(audience.name),
    };
    Ok(HttpResponse::Created()
        .cookie(auth::session_cookie(&state, token, expires_at))
        .json(me))
}

// ---- ideas ----

/// Checks idea fields that are given; returns the tags to store (repeats differing only in case
/// dropped, the first spelling kept).
fn check_idea(
    check: &mut Check,
    limits: &Limits,
    title: Option<&str>,
    body: Option<&str>,
    tags: Option<&[String]>,
) -> Vec<String> {
    if let Some(title) = title {
        check.text("title", title, 1, limits.idea_title_max, Lines::Single);
    }
    if let Some(body) = body {
        check.text("body", body, 1, limits.idea_body_max, Lines::Multi);
    }
    let mut kept: Vec<String> = Vec::new();
    let Some(tags) = tags else {
        return kept;
    };
    if tags.len() > limits.idea_tags_max {
        check.fail("tags", &format!("give at most {} tags", limits.idea_tags_max));
        return kept;
    }
    for (i, tag) in tags.iter().enumerate() {
        check.text(&format!("tags[{i}]"), tag, 1, limits.idea_tag_max, Lines::Single);
        if !kept.iter().any(|k| k.to_lowercase() == tag.to_lowercase()) {
            kept.push(tag.clone());
        }
    }
    kept
}

/// Wire views of ideas: authors in one query, the caller's own votes in another.
pub(super) async fn idea_views(
    state: &AppState,
    jam: &JamFull,
    caller: &Caller,
    items: &[ideas::Model],
) -> ApiResult<Vec<IdeaView>> {
    let authors = jam_store::participants::by_ids(&state.db, items.iter().map(|i| i.author_id)).await?;
    let mine = match participant_id(caller) {
        Some(me) => jam_store::votes::mine(&state.db, me, items.iter().map(|i| i.id)).await?,
        None => HashMap::new(),
    };
    let staff = caller.principal.is_staff();
    Ok(items
        .iter()
        .map(|i| {
            let author = author_view(jam, i.author_id, authors.get(&i.author_id));
            let mut view = idea_view(i, author, mine.get(&i.id).copied().unwrap_or(0));
            if staff {
                view.impressions = Some(count(i.impressions).into());
            }
            if counts_hidden(jam, staff, view.my_vote) {
                hide_counts(&mut view);
            }
            view
        })
        .collect())
}

pub async fn create_idea(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ApiJson(body): ApiJson<CreateIdeaRequest>,
) -> ApiResult<HttpResponse> {
    let (jam, session_id) = load_session(&state, &caller, &id).await?;
    let (author_id, _) = require_participant(&caller, &jam, "session")?;
    let mut check = Check::default();
    let tags = check_idea(
        &mut check,
        &state.settings.limits,
        Some(&body.title),
        Some(&body.body),
        Some(&body.tags),
    );
    check.done()?;
    state.limit(
        Action::Idea,
        &author_id.to_string(),
        state.settings.rate_limits.ideas,
    )?;
    let now = state.clock.now();
    let session = session_of(&jam, session_id)?;
    require_open(&jam, session, now)?;
    let mut idea = ideas::Model::posted(session, author_id, body.title, body.body, &tags, now);
    let mood = jam_pulse::mood::score_idea(&idea.title, &idea.body, None);
    idea.sentiment = Some(mood.label);
    idea.sentiment_score = Some(mood.score);
    let tell = Tell::of_idea(&state, &jam, &idea, &caller.display_name).await?;
    let txn = jam_store::write::begin_write(&state.db).await?;
    jam_store::ideas::insert(&txn, idea.clone()).await?;
    // An author follows their own idea, so its activity reaches them however it comes.
    jam_store::inbox::follow(&txn, idea.id, author_id, now).await?;
    tell.write(&txn).await?;
    txn.commit().await.map_err(store_err)?;
    tell.push(&state).await;
    let mut views = idea_views(&state, &jam, &caller, std::slice::from_ref(&idea)).await?;
    let view = views.pop().ok_or_else(|| ApiError::not_found("idea"))?;
    let event = Event::IdeaCreated {
        idea: Box::new(view.clone()),
    };
    publish(
        &state,
        &[session_topic(session_id), jam_topic(jam.jam.id)],
        &event,
    )
    .await;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdeasQuery {
    #[serde(default)]
    pub sort: IdeaSort,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub async fn list_ideas(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<IdeasQuery>,
) -> ApiResult<HttpResponse> {
    let (jam, session_id) = load_session(&state, &caller, &id).await?;
    let sort = match query.sort {
        // Where counts are hidden until one votes, an order by votes would tell them: a
        // participant's hot and top feeds are the newest first there.
        IdeaSort::Hot | IdeaSort::Top if counts_hidden(&jam, caller.principal.is_staff(), 0) => Sort::New,
        IdeaSort::Hot => Sort::Hot,
        IdeaSort::Top => Sort::Top,
        IdeaSort::New => Sort::New,
        IdeaSort::Discover => Sort::Discover,
    };
    let page = PageQuery {
        cursor: None,
        limit: query.limit,
    };
    let limit = page.limit(&state, 20)?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| {
            Cursor::parse(sort, c)
                .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this server gave for this sort"))
        })
        .transpose()?;
    let found = jam_store::ideas::page(&state.db, session_id, viewer(&caller), sort, after, limit).await?;
    let items = idea_views(&state, &jam, &caller, &found.items).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: found.next.map(|c| c.encode()),
    }))
}

pub async fn get_idea(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (jam, idea) = load_idea(&state, &caller, &id).await?;
    let mut views = idea_views(&state, &jam, &caller, std::slice::from_ref(&idea)).await?;
    let mut view = views.pop().ok_or_else(|| ApiError::not_found("idea"))?;
    if let Some(me) = participant_id(&caller) {
        view.following = Some(jam_store::inbox::is_following(&state.db, idea.id, me).await?);
    }
    Ok(HttpResponse::Ok().json(view))
}

pub async fn patch_idea(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ApiJson(body): ApiJson<PatchIdeaRequest>,
) -> ApiResult<HttpResponse> {
    let (jam, idea) = load_idea(&state, &caller, &id).await?;
    let (me, _) = require_participant(&caller, &jam, "idea")?;
    if idea.author_id != me {
        return Err(ApiError::Forbidden("only its author may edit an idea".into()));
    }
    let limits = &state.settings.limits;
    let mut check = Check::default();
    let tags = check_idea(
        &mut check,
        limits,
        body.title.as_deref(),
        body.body.as_deref(),
        body.tags.as_deref(),
    );
    check.done()?;
    let now = state.clock.now();
    if !idea.status.is_open() {
        return Err(ApiError::Conflict(format!(
            "a {} idea cannot change",
            idea.status
        )));
    }
    if now - idea.created_at > Duration::minutes(limits.idea_edit_minutes) {
        return Err(ApiError::Conflict(format!(
            "ideas can be edited for {} minutes after posting",
            limits.idea_edit_minutes
        )));
    }
    require_open(&jam, session_of(&jam, idea.session_id)?, now)?;
    let title = body.title.unwrap_or_else(|| idea.title.clone());
    let text = body.body.unwrap_or_else(|| idea.body.clone());
    let tags = match body.tags {
        Some(_) => tags,
        None => serde_json::from_str(&idea.tags).unwrap_or_default(),
    };
    let mood = jam_pulse::mood::score_idea(&title, &text, None);
    let edit = IdeaEdit {
        search_text: jam_store::ideas::search_text(&title, &text, &tags),
        tags: serde_json::to_string(&tags).map_err(|e| ApiError::Internal(e.into()))?,
        title,
        body: text,
        at: now,
    };
    jam_store::ideas::edit(&state.db, idea.id, edit).await?;
    jam_store::mood::set_idea(&state.db, idea.id, mood.label, mood.score).await?;
    let idea = jam_store::ideas::by_id(&state.db, idea.id)
        .await?
        .ok_or_else(|| ApiError::not_found("idea"))?;
    let mut views = idea_views(&state, &jam, &caller, std::slice::from_ref(&idea)).await?;
    let view = views.pop().ok_or_else(|| ApiError::not_found("idea"))?;
    // A hidden idea's text is for staff and its author only: its edit goes to no public topic
    // (the author has it in this answer; staff read it from the queue).
    if !idea.status.is_withheld() {
        let event = Event::IdeaUpdated {
            idea: Box::new(IdeaView {
                my_vote: 0,
                impressions: None,
                following: None,
                ..view.clone()
            }),
        };
        publish(
            &state,
            &[idea_topic(idea.id), session_topic(idea.session_id)],
            &event,
        )
        .await;
    }
    Ok(HttpResponse::Ok().json(view))
}

// ---- comments ----

pub async fn create_comment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ApiJson(body): ApiJson<CreateCommentRequest>,
) -> ApiResult<HttpResponse> {
    let (jam, idea) = load_idea(&state, &caller, &id).await?;
    let (author_id, _) = require_participant(&caller, &jam, "idea")?;
    let mut check = Check::default();
    check.text(
        "body",
        &body.body,
        1,
        state.settings.limits.comment_body_max,
        Lines::Multi,
    );
    if let Some(parent_id) = body.parent_id {
        let parent = jam_store::comments::by_id(&state.db, parent_id).await?;
        if !parent.is_some_and(|p| p.idea_id == idea.id && can_see(&caller, p.status, p.author_id)) {
            check.fail("parent_id", "must be a comment on the same idea");
        }
    }
    check.done()?;
    state.limit(
        Action::Comment,
        &author_id.to_string(),
        state.settings.rate_limits.comments,
    )?;
    if idea.status != ItemStatus::Visible {
        return Err(ApiError::Conflict(format!(
            "a {} idea takes no comments",
            idea.status
        )));
    }
    let now = state.clock.now();
    require_open(&jam, session_of(&jam, idea.session_id)?, now)?;
    let mut comment = comments::Model::posted(&idea, body.parent_id, author_id, body.body, now);
    let mood = jam_pulse::mood::score(&comment.body, None);
    comment.sentiment = Some(mood.label);
    comment.sentiment_score = Some(mood.score);
    let tell = Tell::of_comment(&state, &jam, &idea, &comment, &caller.display_name).await?;
    let txn = jam_store::write::begin_write(&state.db).await?;
    jam_store::comments::insert(&txn, comment.clone()).await?;
    tell.write(&txn).await?;
    txn.commit().await.map_err(store_err)?;
    let authors = jam_store::participants::by_ids(&state.db, [author_id]).await?;
    let view = comment_view(&comment, author_view(&jam, author_id, authors.get(&author_id)));
    let event = Event::CommentCreated {
        comment: Box::new(view.clone()),
    };
    publish(&state, &[idea_topic(idea.id)], &event).await;
    tell.push(&state).await;
    Ok(HttpResponse::Created().json(view))
}

pub async fn list_comments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let (jam, idea) = load_idea(&state, &caller, &id).await?;
    let limit = query.limit(&state, 50)?;
    let (found, next) =
        jam_store::comments::page(&state.db, idea.id, viewer(&caller), query.cursor_uuid()?, limit).await?;
    let authors = jam_store::participants::by_ids(&state.db, found.iter().map(|c| c.author_id)).await?;
    let items: Vec<_> = found
        .iter()
        .map(|c| comment_view(c, author_view(&jam, c.author_id, authors.get(&c.author_id))))
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next.map(|id| id.to_string()),
    }))
}

// ---- votes ----

pub async fn vote(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ApiJson(body): ApiJson<VoteRequest>,
) -> ApiResult<HttpResponse> {
    let (jam, idea) = load_idea(&state, &caller, &id).await?;
    let (participant_id, audience_id) = require_participant(&caller, &jam, "idea")?;
    state.limit(
        Action::Vote,
        &participant_id.to_string(),
        state.settings.rate_limits.votes,
    )?;
    if !idea.status.takes_votes() {
        return Err(ApiError::Conflict(format!(
            "a {} idea takes no votes",
            idea.status
        )));
    }
    let now = state.clock.now();
    require_open(&jam, session_of(&jam, idea.session_id)?, now)?;
    // Answered only after the batch holding this vote committed (group commit).
    let outcome = state
        .votes
        .cast(VoteInput {
            idea_id: IdeaId(idea.id),
            participant_id: ParticipantId(participant_id),
            jam_id: JamId(jam.jam.id),
            audience_id: AudienceId(audience_id),
            value: body.value,
            at: now,
        })
        .await
        .map_err(|err| match err {
            jam_store::StoreError::Overloaded => ApiError::Unavailable {
                detail: "too many votes at once; retry in a moment".into(),
                retry_after_secs: 1,
            },
            other => other.into(),
        })?;
    let my_vote = outcome.value as i8;
    let hidden = counts_hidden(&jam, false, my_vote);
    let (up, down) = if hidden {
        (0, 0)
    } else {
        (count(outcome.up), count(outcome.down))
    };
    Ok(HttpResponse::Ok().json(VoteResult {
        idea_id: outcome.idea_id,
        up,
        down,
        score: if hidden {
            0.0
        } else {
            jam_domain::ranking::shown_score(up, down)
        },
        my_vote,
        counts_hidden: hidden,
    }))
}
