//! Jams and sessions: create, read, edit, schedule, open and close by hand, announce, audit, stats.
//! Each handler: checks (auth, role, state, fields) → storage with its audit entry in one
//! transaction → side effects (wake the runner, publish) → response.

use std::collections::HashSet;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use jam_domain::JamId;
use jam_domain::lifecycle::JamState;
use jam_domain::text::{Lines, Slug, check_invite_code};
use jam_protocol::api::{
    AnnouncementRequest, AnnouncementView, AuditEntry, CreateJamRequest, CreateSessionRequest, Method, Page,
    PatchJamRequest, PatchSessionRequest,
};
use jam_protocol::live::{Event, jam_topic};
use jam_store::JamFull;
use jam_store::audit::NewAudit;
use jam_store::entity::{announcements, jams, sessions};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Caller, new_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::validate::Check;
use crate::views::{jam_view, session_view};

async fn load(state: &AppState, slug: &str) -> ApiResult<JamFull> {
    super::access::jam_by_slug(state, slug).await
}

fn parse_session_id(jam: &JamFull, raw: &str) -> ApiResult<sessions::Model> {
    Uuid::parse_str(raw)
        .ok()
        .and_then(|id| jam.session(id).cloned())
        .ok_or_else(|| ApiError::not_found("session"))
}

fn audit(
    jam_id: Uuid,
    caller: &Caller,
    action: &str,
    kind: &'static str,
    id: Uuid,
    detail: serde_json::Value,
    at: DateTime<Utc>,
) -> NewAudit {
    NewAudit {
        jam_id: Some(jam_id),
        actor: caller.actor(),
        action: action.into(),
        subject_kind: kind,
        subject_id: Some(id),
        detail,
        at,
    }
}

fn check_window(check: &mut Check, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) {
    if ends_at <= starts_at {
        check.fail("ends_at", "must be after starts_at");
    }
}

fn check_session_window(
    check: &mut Check,
    jam: &jams::Model,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
) {
    if closes_at <= opens_at {
        check.fail("closes_at", "must be after opens_at");
    }
    if opens_at < jam.starts_at || opens_at >= jam.ends_at {
        check.fail("opens_at", "must be inside the jam's window");
    }
    if closes_at > jam.ends_at {
        check.fail("closes_at", "must not be after the jam's ends_at");
    }
}

pub async fn create_jam(
    state: web::Data<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateJamRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let limits = &state.settings.limits;
    let mut check = Check::default();
    let slug = Slug::parse("slug", &body.slug).map_err(|e| check.0.push(e)).ok();
    check.text("title", &body.title, 1, limits.jam_title_max, Lines::Single);
    check.text(
        "description",
        &body.description,
        0,
        limits.jam_description_max,
        Lines::Multi,
    );
    check.text(
        "guidelines",
        &body.guidelines,
        0,
        limits.jam_guidelines_max,
        Lines::Multi,
    );
    check_window(&mut check, body.starts_at, body.ends_at);
    if body.audiences.is_empty() || body.audiences.len() > limits.audiences_max {
        check.fail(
            "audiences",
            &format!("give 1 to {} audiences", limits.audiences_max),
        );
    }
    let shortlist_size = body.shortlist_size.unwrap_or(10);
    if !(1..=100).contains(&shortlist_size) {
        check.fail("shortlist_size", "must be 1 to 100");
    }
    let mut names = HashSet::new();
    let mut codes = HashSet::new();
    let mut audiences = Vec::new();
    for (i, a) in body.audiences.iter().enumerate() {
        let field = format!("audiences[{i}].name");
        check.text(&field, &a.name, 1, 60, Lines::Single);
        if !names.insert(a.name.to_lowercase()) {
            check.fail(&field, "is given twice");
        }
        let code = match &a.invite_code {
            Some(code) => code.clone(),
            None => new_token()?[..16].to_owned(),
        };
        let field = format!("audiences[{i}].invite_code");
        if let Err(e) = check_invite_code(&field, &code) {
            check.0.push(e);
        }
        if !codes.insert(code.clone()) {
            check.fail(&field, "is given twice");
        }
        audiences.push(jam_store::jams::NewAudience {
            name: a.name.clone(),
            invite_code: code,
            admission: a.admission.unwrap_or_default(),
        });
    }
    check.done()?;
    let Some(slug) = slug else {
        return Err(ApiError::invalid("slug", "is invalid"));
    };

    let now = state.clock.now();
    let new = jams::NewJam {
        slug: slug.as_str().to_owned(),
        title: body.title,
        description: body.description,
        guidelines: body.guidelines,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        voting_method: body.voting.map_or(Method::Wilson, |v| v.method),
        shortlist_size: shortlist_size as i32,
        created_by: Some(caller_staff_id(&caller)),
    };
    let mut jam = jams::Model::draft(new, now);
    jam.auto_hide = body.auto_hide.unwrap_or(true);
    jam.hide_counts_until_voted = body.hide_counts_until_voted.unwrap_or(false);
    let txn = jam_store::write::begin_write(&state.db).await?;
    let full = jam_store::jams::insert(&txn, jam, audiences)
        .await
        .map_err(|e| match e {
            jam_store::StoreError::Duplicate => {
                ApiError::Conflict("the slug or an invite code is taken".into())
            }
            other => other.into(),
        })?;
    let detail = serde_json::json!({ "slug": full.jam.slug, "title": full.jam.title });
    jam_store::audit::record(
        &txn,
        audit(
            full.jam.id,
            &caller,
            "jam.created",
            "jam",
            full.jam.id,
            detail,
            now,
        ),
    )
    .await?;
    txn.commit().await.map_err(jam_store::StoreError::from)?;
    Ok(HttpResponse::Created().json(jam_view(&full, now, true)))
}

fn caller_staff_id(caller: &Caller) -> Uuid {
    match caller.principal {
        jam_domain::Principal::Staff { id, .. } => id.0,
        jam_domain::Principal::Participant { id, .. } => id.0,
    }
}

pub async fn list_jams(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require_staff()?;
    let now = state.clock.now();
    let jams = jam_store::jams::list(&state.db, 500).await?;
    // Invite codes are for those who run jams; executives read results, they do not admit people.
    let codes = caller.principal.runs_jams();
    let views: Vec<_> = jams.iter().map(|j| jam_view(j, now, codes)).collect();
    Ok(HttpResponse::Ok().json(Page {
        items: views,
        next_cursor: None,
    }))
}

pub async fn get_jam(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let jam = load(&state, &slug).await?;
    caller.require_member(JamId(jam.jam.id))?;
    Ok(HttpResponse::Ok().json(jam_view(&jam, state.clock.now(), caller.principal.runs_jams())))
}

pub async fn patch_jam(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    ApiJson(body): ApiJson<PatchJamRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let full = load(&state, &slug).await?;
    let now = state.clock.now();
    let current = full.state(now);
    if current == JamState::Published {
        return Err(ApiError::Conflict("a published jam cannot change".into()));
    }
    let limits = &state.settings.limits;
    let mut jam = full.jam.clone();
    let mut check = Check::default();
    if let Some(title) = body.title {
        check.text("title", &title, 1, limits.jam_title_max, Lines::Single);
        jam.title = title;
    }
    if let Some(description) = body.description {
        check.text(
            "description",
            &description,
            0,
            limits.jam_description_max,
            Lines::Multi,
        );
        jam.description = description;
    }
    if let Some(guidelines) = body.guidelines {
        check.text(
            "guidelines",
            &guidelines,
            0,
            limits.jam_guidelines_max,
            Lines::Multi,
        );
        jam.guidelines = guidelines;
    }
    if let Some(starts_at) = body.starts_at.filter(|s| *s != jam.starts_at) {
        if !matches!(current, JamState::Draft | JamState::Scheduled) {
            return Err(ApiError::Conflict(
                "the jam has started: its start can no longer move".into(),
            ));
        }
        jam.starts_at = starts_at;
    }
    if let Some(ends_at) = body.ends_at.filter(|e| *e != jam.ends_at) {
        if current == JamState::Closed {
            return Err(ApiError::Conflict(
                "the jam is closed: its end can no longer move".into(),
            ));
        }
        if current == JamState::Live && ends_at <= now {
            check.fail(
                "ends_at",
                "must be in the future while the jam is live (use close to end it now)",
            );
        }
        jam.ends_at = ends_at;
    }
    if let Some(voting) = body.voting {
        jam.voting_method = voting.method;
    }
    if let Some(size) = body.shortlist_size {
        if !(1..=100).contains(&size) {
            check.fail("shortlist_size", "must be 1 to 100");
        }
        jam.shortlist_size = size as i32;
    }
    if let Some(auto_hide) = body.auto_hide {
        jam.auto_hide = auto_hide;
    }
    if let Some(hide) = body.hide_counts_until_voted {
        jam.hide_counts_until_voted = hide;
    }
    check_window(&mut check, jam.starts_at, jam.ends_at);
    for (i, s) in full.sessions.iter().enumerate() {
        if s.opens_at < jam.starts_at || s.closes_at > jam.ends_at {
            check.fail(
                "ends_at",
                &format!(
                    "session {} ({}) would fall outside the jam's window",
                    i + 1,
                    s.title
                ),
            );
        }
    }
    check.done()?;
    jam.updated_at = now;
    let detail = serde_json::json!({
        "starts_at": jam.starts_at, "ends_at": jam.ends_at, "title": jam.title, "auto_hide": jam.auto_hide,
        "hide_counts_until_voted": jam.hide_counts_until_voted,
    });
    save_jam(
        &state,
        &caller,
        JamFull { jam, ..full },
        "jam.updated",
        detail,
        now,
    )
    .await
}

pub async fn schedule_jam(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let full = load(&state, &slug).await?;
    let now = state.clock.now();
    if full.state(now) != JamState::Draft {
        return Err(ApiError::Conflict("only a draft jam can be scheduled".into()));
    }
    if full.sessions.is_empty() {
        return Err(ApiError::invalid(
            "sessions",
            "add at least one session before scheduling",
        ));
    }
    if full.jam.ends_at <= now {
        return Err(ApiError::invalid(
            "ends_at",
            "the jam's end has passed; move it before scheduling",
        ));
    }
    let mut jam = full.jam.clone();
    jam.scheduled_at = Some(now);
    jam.updated_at = now;
    save_jam(
        &state,
        &caller,
        JamFull { jam, ..full },
        "jam.scheduled",
        serde_json::json!({}),
        now,
    )
    .await
}

pub async fn close_jam(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let full = load(&state, &slug).await?;
    let now = state.clock.now();
    if !matches!(full.state(now), JamState::Scheduled | JamState::Live) {
        return Err(ApiError::Conflict(
            "only a scheduled or live jam can be closed".into(),
        ));
    }
    let mut jam = full.jam.clone();
    jam.closed_at = Some(now);
    jam.updated_at = now;
    save_jam(
        &state,
        &caller,
        JamFull { jam, ..full },
        "jam.closed",
        serde_json::json!({}),
        now,
    )
    .await
}

/// Saves an edited jam with its audit entry, wakes the schedule runner (the change may be due now)
/// and answers with the jam's view.
async fn save_jam(
    state: &AppState,
    caller: &Caller,
    full: JamFull,
    action: &str,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> ApiResult<HttpResponse> {
    let jam = &full.jam;
    let txn = jam_store::write::begin_write(&state.db).await?;
    jam_store::jams::update(&txn, jam.clone()).await?;
    jam_store::audit::record(&txn, audit(jam.id, caller, action, "jam", jam.id, detail, now)).await?;
    txn.commit().await.map_err(jam_store::StoreError::from)?;
    state.orchestrator.poke();
    Ok(HttpResponse::Ok().json(jam_view(&full, now, true)))
}

pub async fn create_session(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    ApiJson(body): ApiJson<CreateSessionRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let mut full = load(&state, &slug).await?;
    let now = state.clock.now();
    if matches!(full.state(now), JamState::Closed | JamState::Published) {
        return Err(ApiError::Conflict("the jam is closed".into()));
    }
    let limits = &state.settings.limits;
    if full.sessions.len() >= limits.sessions_max {
        return Err(ApiError::Conflict(format!(
            "a jam has at most {} sessions",
            limits.sessions_max
        )));
    }
    let mut check = Check::default();
    check.text("title", &body.title, 1, limits.session_title_max, Lines::Single);
    check.text(
        "description",
        &body.description,
        0,
        limits.session_description_max,
        Lines::Multi,
    );
    check_session_window(&mut check, &full.jam, body.opens_at, body.closes_at);
    check.done()?;
    let session = sessions::Model::new(
        full.jam.id,
        body.title,
        body.description,
        body.opens_at,
        body.closes_at,
        now,
    );
    let txn = jam_store::write::begin_write(&state.db).await?;
    jam_store::jams::insert_session(&txn, session.clone()).await?;
    let detail = serde_json::json!({ "title": session.title, "opens_at": session.opens_at, "closes_at": session.closes_at });
    jam_store::audit::record(
        &txn,
        audit(
            full.jam.id,
            &caller,
            "session.created",
            "session",
            session.id,
            detail,
            now,
        ),
    )
    .await?;
    txn.commit().await.map_err(jam_store::StoreError::from)?;
    state.orchestrator.poke();
    full.sessions.push(session.clone());
    Ok(HttpResponse::Created().json(session_view(&full, &session, now)))
}

pub async fn patch_session(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    ApiJson(body): ApiJson<PatchSessionRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let (slug, id) = path.into_inner();
    let mut full = load(&state, &slug).await?;
    let mut session = parse_session_id(&full, &id)?;
    let now = state.clock.now();
    if matches!(full.state(now), JamState::Closed | JamState::Published) {
        return Err(ApiError::Conflict("the jam is closed".into()));
    }
    let limits = &state.settings.limits;
    let mut check = Check::default();
    if let Some(title) = body.title {
        check.text("title", &title, 1, limits.session_title_max, Lines::Single);
        session.title = title;
    }
    if let Some(description) = body.description {
        check.text(
            "description",
            &description,
            0,
            limits.session_description_max,
            Lines::Multi,
        );
        session.description = description;
    }
    session.opens_at = body.opens_at.unwrap_or(session.opens_at);
    session.closes_at = body.closes_at.unwrap_or(session.closes_at);
    check_session_window(&mut check, &full.jam, session.opens_at, session.closes_at);
    check.done()?;
    session.updated_at = now;
    let detail = serde_json::json!({ "title": session.title, "opens_at": session.opens_at, "closes_at": session.closes_at });
    save_session(
        &state,
        &caller,
        &mut full,
        session,
        "session.updated",
        detail,
        now,
    )
    .await
}

pub async fn open_session(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    set_session_manual(state, caller, path, "open").await
}

pub async fn close_session(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    set_session_manual(state, caller, path, "closed").await
}

async fn set_session_manual(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    to: &str,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let (slug, id) = path.into_inner();
    let mut full = load(&state, &slug).await?;
    let mut session = parse_session_id(&full, &id)?;
    let now = state.clock.now();
    if full.state(now) != JamState::Live {
        return Err(ApiError::Conflict(
            "sessions open and close by hand only while the jam is live".into(),
        ));
    }
    session.manual_state = Some(to.to_owned());
    session.manual_at = Some(now);
    session.updated_at = now;
    let action = if to == "open" {
        "session.opened_by_hand"
    } else {
        "session.closed_by_hand"
    };
    save_session(
        &state,
        &caller,
        &mut full,
        session,
        action,
        serde_json::json!({}),
        now,
    )
    .await
}

/// Saves an edited session with its audit entry, wakes the schedule runner (the change may be due
/// now) and answers with the session's view.
async fn save_session(
    state: &AppState,
    caller: &Caller,
    full: &mut JamFull,
    session: sessions::Model,
    action: &str,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> ApiResult<HttpResponse> {
    let txn = jam_store::write::begin_write(&state.db).await?;
    jam_store::jams::update_session(&txn, session.clone()).await?;
    jam_store::audit::record(
        &txn,
        audit(full.jam.id, caller, action, "session", session.id, detail, now),
    )
    .await?;
    txn.commit().await.map_err(jam_store::StoreError::from)?;
    state.orchestrator.poke();
    if let Some(slot) = full.sessions.iter_mut().find(|s| s.id == session.id) {
        *slot = session.clone();
    }
    Ok(HttpResponse::Ok().json(session_view(full, &session, now)))
}

pub async fn announce(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    ApiJson(body): ApiJson<AnnouncementRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let full = load(&state, &slug).await?;
    let mut check = Check::default();
    check.text(
        "text",
        &body.text,
        1,
        state.settings.limits.announcement_max,
        Lines::Multi,
    );
    check.done()?;
    let now = state.clock.now();
    let row = announcements::Model::new(full.jam.id, Some(caller_staff_id(&caller)), body.text, now);
    let txn = jam_store::write::begin_write(&state.db).await?;
    jam_store::jams::insert_announcement(&txn, row.clone()).await?;
    jam_store::audit::record(
        &txn,
        audit(
            full.jam.id,
            &caller,
            "announcement.sent",
            "announcement",
            row.id,
            serde_json::json!({ "text": row.text }),
            now,
        ),
    )
    .await?;
    txn.commit().await.map_err(jam_store::StoreError::from)?;
    let event = Event::Announcement {
        jam_id: row.jam_id,
        id: row.id,
        text: row.text.clone(),
        created_at: now,
    };
    // Stored first: if the broker is down the announcement is not lost, clients see it on refetch.
    if let Ok(payload) = serde_json::to_vec(&event)
        && let Err(error) = state.broker.publish(&jam_topic(row.jam_id), payload.into()).await
    {
        tracing::warn!(%error, "announcement stored but not pushed live");
    }
    Ok(HttpResponse::Created().json(AnnouncementView {
        id: row.id,
        jam_id: row.jam_id,
        text: row.text,
        created_at: now,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

impl PageQuery {
    /// The page size, checked against `limits.page_max`.
    pub fn limit(&self, state: &AppState, default: u32) -> ApiResult<u64> {
        let max = state.settings.limits.page_max;
        match self.limit {
            None => Ok(u64::from(default.min(max))),
            Some(n) if n >= 1 && n <= i64::from(max) => Ok(n as u64),
            Some(_) => Err(ApiError::invalid("limit", format!("must be 1 to {max}"))),
        }
    }

    pub fn cursor_uuid(&self) -> ApiResult<Option<Uuid>> {
        self.cursor
            .as_deref()
            .map(|c| {
                Uuid::parse_str(c)
                    .map_err(|_| ApiError::invalid("cursor", "is not a cursor this server gave"))
            })
            .transpose()
    }
}

fn announcement_view(row: announcements::Model) -> AnnouncementView {
    AnnouncementView {
        id: row.id,
        jam_id: row.jam_id,
        text: row.text,
        created_at: row.created_at,
    }
}

/// The announcements sent so far, newest first: someone who arrives after one still reads it.
pub async fn list_announcements(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let full = load(&state, &slug).await?;
    caller.require_member(JamId(full.jam.id))?;
    let limit = query.limit(&state, 20)?;
    let rows =
        jam_store::jams::announcements_page(&state.db, full.jam.id, query.cursor_uuid()?, limit).await?;
    let next_cursor = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    let items: Vec<AnnouncementView> = rows.into_iter().map(announcement_view).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

pub async fn audit_log(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let full = load(&state, &slug).await?;
    let limit = query.limit(&state, 100)?;
    let rows = jam_store::audit::page(&state.db, full.jam.id, query.cursor_uuid()?, limit).await?;
    let next_cursor = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    let items = rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: r.at,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            action: r.action,
            subject_kind: r.subject_kind,
            subject_id: r.subject_id,
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

pub async fn stats(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require_staff()?;
    let full = load(&state, &slug).await?;
    let counts = jam_store::jams::counts(&state.db, &full).await?;
    let per_hour = jam_store::tally::activity_per_hour(&state.db, full.jam.id).await?;
    let mut per_session = jam_store::tally::activity_per_session(&state.db, full.jam.id).await?;
    let online = state.broker.presence(&jam_topic(full.jam.id)).await.unwrap_or(0);
    let join_caps_hit = join_caps_hit(&state, &caller, full.jam.id).await?;
    let body = serde_json::json!({
        "jam_id": full.jam.id,
        "state": full.state(state.clock.now()),
        "participants": counts.participants_by_audience.iter().map(|(_, n)| n).sum::<u64>(),
        "participants_by_audience": counts.participants_by_audience.iter().map(|(a, n)| (a.clone(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
        "online": online,
        "ideas": counts.ideas_by_session.iter().map(|(_, n)| n).sum::<u64>(),
        "comments": counts.comments,
        "votes": counts.votes,
        "sessions": counts.ideas_by_session.iter().map(|(id, n)| serde_json::json!({ "session_id": id, "ideas": n })).collect::<Vec<_>>(),
        // UTC hour (`YYYY-MM-DDTHH:00:00Z`, in time order) → what happened in it; votes count at their
        // last change, retracted ones not at all.
        "per_hour": per_hour.iter().map(|(hour, a)| (hour.clone(), serde_json::json!({ "ideas": a.ideas, "comments": a.comments, "votes": a.votes }))).collect::<serde_json::Map<_, _>>(),
        // Every session in order, with the ideas posted in it and the comments and votes on them.
        "per_session": full.sessions.iter().map(|s| {
            let a = per_session.remove(&s.id).unwrap_or_default();
            serde_json::json!({ "session_id": s.id, "title": s.title, "ideas": a.ideas, "comments": a.comments, "votes": a.votes })
        }).collect::<Vec<_>>(),
        // Client addresses that reached `limits.joins_per_address_per_day` (newest first): each
        // refused new participants with a shared code that day.
        "join_caps_hit": join_caps_hit,
    });
    Ok(HttpResponse::Ok().json(body))
}

/// Addresses listed on the dashboard at most (the newest).
const JOIN_CAPS_SHOWN: u64 = 100;

/// The addresses that hit the join cap, for the dashboard: `{address_key, day, joins, capped_at}`.
/// Facilitators and admins see the address; executives see that a cap was hit, not by whom.
async fn join_caps_hit(state: &AppState, caller: &Caller, jam_id: Uuid) -> ApiResult<Vec<serde_json::Value>> {
    let rows = jam_store::join_caps::caps_hit(&state.db, jam_id, JOIN_CAPS_SHOWN).await?;
    let show_address = caller.principal.runs_jams();
    Ok(rows
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "address_key": show_address.then_some(r.address_key),
                "day": r.day,
                "joins": r.joins,
                "capped_at": r.capped_at,
            })
        })
        .collect())
}
