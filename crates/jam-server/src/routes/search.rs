//! Search, a session's top tags, similar ideas and likely duplicates (issue 16). The storage side is
//! `jam_store::search`; the text analysis `jam_domain::terms`.
//!
//! Who may do what: search, tags and similar ideas are for members of the jam (staff, and its
//! participants; anyone else gets 404). Participants only ever get visible ideas (never hidden,
//! removed or merged ones, their own included); staff get every status and may filter by it.
//! Likely duplicates are for facilitators and admins. Searches and similar-idea lookups are
//! rate-limited per caller (`search.rate`, `search.similar_rate`).

use actix_web::{HttpResponse, web};
use jam_domain::text::Lines;
use jam_domain::{ItemStatus, Principal, terms};
use jam_protocol::api::{DuplicatePair, Page, SearchSort, SimilarIdea, TagCount};
use jam_store::search::{Filter, Order, SearchCursor, SimilarParams, Statuses};
use serde::Deserialize;
use uuid::Uuid;

use super::access::{jam_by_slug, require_member};
use super::participation::{idea_views, load_session};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::rate_limit::Action;
use crate::routes::jams::PageQuery;
use crate::state::AppState;
use crate::validate::Check;

/// Who is limited: the participant or staff account (one bucket per person, on this node).
fn limit_key(caller: &Caller) -> String {
    match caller.principal {
        Principal::Participant { id, .. } => id.0.to_string(),
        Principal::Staff { id, .. } => id.0.to_string(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    pub q: String,
    /// A session id of the jam.
    pub session: Option<String>,
    /// A tag, in any spelling (matched by its key).
    pub tag: Option<String>,
    /// An audience of the jam, by id or name: ideas whose authors belong to it.
    pub audience: Option<String>,
    /// Staff only: `visible`, `hidden`, `removed` or `merged`.
    pub status: Option<String>,
    #[serde(default)]
    pub sort: SearchSort,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    query: web::Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    let jam = jam_by_slug(&state, &slug).await?;
    require_member(&caller, &jam, "jam")?;
    let settings = &state.settings.search;
    let mut check = Check::default();
    check.text(
        "q",
        &query.q,
        1,
        state.settings.limits.search_query_max,
        Lines::Single,
    );
    let parsed = terms::query(&query.q);
    if parsed.word_count > settings.max_words {
        check.fail("q", &format!("give at most {} words", settings.max_words));
    } else if parsed.groups.is_empty() && !query.q.trim().is_empty() {
        check.fail(
            "q",
            "give at least one word that is not a common word (the, and, le, de…)",
        );
    }
    let session_id = match query.session.as_deref() {
        None | Some("") => None,
        Some(raw) => match Uuid::parse_str(raw).ok().filter(|id| jam.session(*id).is_some()) {
            Some(id) => Some(id),
            None => {
                check.fail("session", "is not a session of this jam");
                None
            }
        },
    };
    let tag_key = match query.tag.as_deref() {
        None | Some("") => None,
        Some(tag) => {
            let key = terms::tag_key(tag);
            if key.is_none() {
                check.fail("tag", "must hold a letter or a digit");
            }
            key
        }
    };
    let audience_id = match query.audience.as_deref() {
        None | Some("") => None,
        Some(raw) => {
            let found = jam
                .audiences
                .iter()
                .find(|a| a.name == raw || a.id.to_string() == raw)
                .map(|a| a.id);
            if found.is_none() {
                check.fail("audience", "is not an audience of this jam");
            }
            found
        }
    };
    let statuses = match (query.status.as_deref(), caller.principal.is_staff()) {
        (None | Some(""), true) => Statuses::Any,
        (None | Some(""), false) => Statuses::Only(ItemStatus::Visible),
        (Some(_), false) => {
            return Err(ApiError::Forbidden(
                "only staff filter by status; participants see visible ideas".into(),
            ));
        }
        (Some(raw), true) => match ItemStatus::parse(raw) {
            Some(s) => Statuses::Only(s),
            None => {
                check.fail("status", "must be visible, hidden, removed or merged");
                Statuses::Any
            }
        },
    };
    let order = match query.sort {
        SearchSort::Relevance => Order::Relevance,
        SearchSort::New => Order::New,
    };
    let after = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => {
            let parsed = SearchCursor::parse(order, c);
            if parsed.is_none() {
                check.fail("cursor", "is not a cursor this server gave for this sort");
            }
            parsed
        }
    };
    let page = PageQuery {
        cursor: None,
        limit: query.limit,
    };
    let limit = page.limit(&state, 20)?;
    check.done()?;
    state.limit(Action::Search, &limit_key(&caller), settings.rate)?;
    let filter = Filter {
        jam_id: jam.jam.id,
        session_id,
        tag_key,
        audience_id,
        statuses,
    };
    let found = jam_store::search::search(&state.db, &parsed, &filter, order, after, limit).await?;
    let items = idea_views(&state, &jam, &caller, &found.items).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: found.next.map(|c| c.encode()),
    }))
}

pub async fn session_tags(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let (_jam, session_id) = load_session(&state, &caller, &id).await?;
    if query.cursor.is_some() {
        return Err(ApiError::invalid("cursor", "tags come in one page"));
    }
    let limit = query.limit(&state, state.settings.search.tags_default)?;
    let tags = jam_store::search::session_tags(&state.db, session_id, limit as usize).await?;
    let items: Vec<TagCount> = tags
        .into_iter()
        .map(|t| TagCount {
            tag: t.tag,
            key: t.key,
            count: t.count,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarQuery {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// An idea to leave out (the one being edited or merged).
    pub except: Option<String>,
}

pub async fn similar(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<SimilarQuery>,
) -> ApiResult<HttpResponse> {
    let (jam, session_id) = load_session(&state, &caller, &id).await?;
    let limits = &state.settings.limits;
    let settings = &state.settings.search;
    let mut check = Check::default();
    if query.title.trim().is_empty() && query.body.trim().is_empty() {
        check.fail("title", "give a title or a body to compare");
    }
    if query.title.chars().count() > limits.idea_title_max {
        check.fail(
            "title",
            &format!("must be at most {} characters", limits.idea_title_max),
        );
    }
    if query.body.chars().count() > limits.idea_body_max {
        check.fail(
            "body",
            &format!("must be at most {} characters", limits.idea_body_max),
        );
    }
    let except = match query.except.as_deref() {
        None | Some("") => None,
        Some(raw) => {
            let id = Uuid::parse_str(raw).ok();
            if id.is_none() {
                check.fail("except", "must be an idea id");
            }
            id
        }
    };
    check.done()?;
    state.limit(Action::Similar, &limit_key(&caller), settings.similar_rate)?;
    let stored = terms::stored_text(&query.title, &query.body, &[]);
    let found = jam_store::search::similar(
        &state.db,
        jam.jam.id,
        session_id,
        &stored,
        except,
        SimilarParams {
            min_score: settings.similar_min_score,
            limit: settings.similar_max,
        },
    )
    .await?;
    let ideas: Vec<_> = found.iter().map(|s| s.idea.clone()).collect();
    let views = idea_views(&state, &jam, &caller, &ideas).await?;
    let items: Vec<SimilarIdea> = views
        .into_iter()
        .zip(found.iter())
        .map(|(idea, s)| SimilarIdea {
            idea,
            score: round3(s.score),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// Scores go out with three decimals: more would only be noise.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub async fn duplicates(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require_runs_jams()?;
    let jam = jam_by_slug(&state, &slug).await?;
    let settings = &state.settings.search;
    let pairs = jam_store::search::duplicates(
        &state.db,
        jam.jam.id,
        settings.duplicates_recent,
        settings.duplicates_min_score,
        settings.duplicates_max,
    )
    .await?;
    let mut flat = Vec::with_capacity(pairs.len() * 2);
    for p in &pairs {
        flat.push(p.idea.clone());
        flat.push(p.other.clone());
    }
    let views = idea_views(&state, &jam, &caller, &flat).await?;
    let mut views = views.into_iter();
    let mut items = Vec::with_capacity(pairs.len());
    for p in &pairs {
        let (Some(idea), Some(other)) = (views.next(), views.next()) else {
            break;
        };
        items.push(DuplicatePair {
            idea,
            other,
            score: round3(p.score),
        });
    }
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}
