//! Quick polls (issue 18): a facilitator or an admin (hosts later) asks a session a question with
//! 2 to 6 options, open until a time; each participant of the jam answers once while it is open
//! (by the clock at the moment of the answer); everyone in the session sees the results live
//! (`poll.created`, `poll.updated` on `session:{id}`, with absolute counts).

use actix_web::{HttpResponse, web};
use jam_domain::Principal;
use jam_domain::polls::{self, MAX_OPTIONS, MIN_OPTIONS};
use jam_domain::text::Lines;
use jam_protocol::api::{AnswerPollRequest, CreatePollRequest, Page, PollView};
use jam_protocol::live::{Event, session_topic};
use jam_store::JamFull;
use jam_store::entity::polls as poll_rows;
use uuid::Uuid;

use super::access::{jam_by_id, parse_id, publish, require_member};
use super::participation::load_session;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::validate::Check;

/// Polls a session page lists at most.
const LISTED: u64 = 50;

/// Wire views of polls with their results and the caller's own answers, in two queries.
async fn views(state: &AppState, caller: &Caller, rows: &[poll_rows::Model]) -> ApiResult<Vec<PollView>> {
    let results = jam_store::polls::results(&state.db, rows).await?;
    let mine = match caller.principal {
        Principal::Participant { id, .. } => {
            jam_store::polls::mine(&state.db, id.0, rows.iter().map(|p| p.id)).await?
        }
        Principal::Staff { .. } => Default::default(),
    };
    let now = state.clock.now();
    Ok(rows
        .iter()
        .map(|p| {
            let counts = results.get(&p.id).cloned().unwrap_or_default();
            PollView {
                id: p.id,
                jam_id: p.jam_id,
                session_id: p.session_id,
                question: p.question.clone(),
                options: p.option_list(),
                closes_at: p.closes_at,
                state: polls::poll_state(p.closes_at, now),
                answers: counts.iter().sum(),
                counts,
                my_answer: mine.get(&p.id).and_then(|c| u32::try_from(*c).ok()),
                created_at: p.created_at,
            }
        })
        .collect())
}

async fn one_view(state: &AppState, caller: &Caller, row: &poll_rows::Model) -> ApiResult<PollView> {
    views(state, caller, std::slice::from_ref(row))
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("poll"))
}

/// The live copy: no caller's answer in it.
async fn push(state: &AppState, view: &PollView, created: bool) {
    let poll = Box::new(PollView {
        my_answer: None,
        ..view.clone()
    });
    let event = if created {
        Event::PollCreated { poll }
    } else {
        Event::PollUpdated { poll }
    };
    publish(state, &[session_topic(view.session_id)], &event).await;
}

/// `POST /sessions/{id}/polls`.
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ApiJson(body): ApiJson<CreatePollRequest>,
) -> ApiResult<HttpResponse> {
    let (jam, session_id) = load_session(&state, &caller, &id).await?;
    caller.require_runs_jams()?;
    let limits = &state.settings.limits;
    let now = state.clock.now();
    let mut check = Check::default();
    check.text(
        "question",
        &body.question,
        1,
        limits.poll_question_max,
        Lines::Multi,
    );
    if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&body.options.len()) {
        check.fail("options", &format!("give {MIN_OPTIONS} to {MAX_OPTIONS} options"));
    } else {
        for (i, option) in body.options.iter().enumerate() {
            check.text(
                &format!("options[{i}]"),
                option,
                1,
                limits.poll_option_max,
                Lines::Single,
            );
        }
    }
    if body.closes_at <= now {
        check.fail("closes_at", "must be later than now");
    }
    check.done()?;
    let session = jam
        .session(session_id)
        .ok_or_else(|| ApiError::not_found("session"))?;
    let staff = match caller.principal {
        Principal::Staff { id, .. } => Some(id.0),
        Principal::Participant { .. } => None,
    };
    let row = poll_rows::Model::asked(session, body.question, &body.options, body.closes_at, staff, now);
    jam_store::polls::insert(&state.db, row.clone()).await?;
    let view = one_view(&state, &caller, &row).await?;
    push(&state, &view, true).await;
    Ok(HttpResponse::Created().json(view))
}

/// `GET /sessions/{id}/polls`: newest first, with results.
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (_, session_id) = load_session(&state, &caller, &id).await?;
    let rows = jam_store::polls::in_session(&state.db, session_id, LISTED).await?;
    let items = views(&state, &caller, &rows).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// A poll the caller may read, with its jam.
async fn load_poll(state: &AppState, caller: &Caller, raw: &str) -> ApiResult<(JamFull, poll_rows::Model)> {
    let row = jam_store::polls::by_id(&state.db, parse_id(raw, "poll")?)
        .await?
        .ok_or_else(|| ApiError::not_found("poll"))?;
    let jam = jam_by_id(state, row.jam_id, "poll").await?;
    require_member(caller, &jam, "poll")?;
    Ok((jam, row))
}

/// `POST /polls/{id}/answer`: once per participant, while the poll is open.
pub async fn answer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ApiJson(body): ApiJson<AnswerPollRequest>,
) -> ApiResult<HttpResponse> {
    let (_, row) = load_poll(&state, &caller, &id).await?;
    let me: Uuid = match caller.principal {
        Principal::Participant { id, .. } => id.0,
        Principal::Staff { .. } => {
            return Err(ApiError::Forbidden("only participants answer polls".into()));
        }
    };
    let choice = polls::option_index(body.option, row.option_list().len())
        .and_then(|i| i16::try_from(i).ok())
        .ok_or_else(|| ApiError::invalid("option", "must be the index of one of the poll's options"))?;
    let now = state.clock.now();
    if polls::poll_state(row.closes_at, now) == polls::PollState::Closed {
        return Err(ApiError::Conflict("the poll is closed".into()));
    }
    if !jam_store::polls::answer(&state.db, row.id, me, choice, now).await? {
        return Err(ApiError::Conflict("you have already answered this poll".into()));
    }
    let view = one_view(&state, &caller, &row).await?;
    push(&state, &view, false).await;
    Ok(HttpResponse::Ok().json(view))
}
