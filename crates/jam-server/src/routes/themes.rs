//! Themes and hot topics (issue 16): a jam's themes from its latest clustering run
//! (`themes_job`), each with its hot score and trend (`jam_domain::hot`), and a theme's ideas in
//! pages. Members of the jam (its participants and staff) read them; anyone else gets 404.
//! Participants page through visible ideas only; staff through every status.

use actix_web::{HttpResponse, web};
use chrono::TimeDelta;
use jam_domain::hot::{self, Activity};
use jam_protocol::api::{Page, ThemeActivity, ThemeView, ThemesView};
use jam_store::entity::themes;

use super::access::{jam_by_slug, parse_id, require_member};
use super::participation::idea_views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::routes::jams::PageQuery;
use crate::state::AppState;

fn view(theme: themes::Model, activity: jam_store::themes::Activity) -> ThemeView {
    let window = |i: usize| Activity {
        ideas: activity.ideas[i],
        comments: activity.comments[i],
        votes: activity.votes[i],
    };
    let (earlier, recent) = (window(0), window(1));
    let heat = hot::hot(earlier, recent);
    ThemeView {
        id: theme.id,
        label: theme.terms(),
        size: jam_store::entity::count(theme.size),
        hot_score: heat.score,
        previous_score: heat.previous,
        trend: heat.trend,
        activity: ThemeActivity {
            ideas: recent.ideas,
            comments: recent.comments,
            votes: recent.votes,
        },
        run_at: theme.run_at,
    }
}

pub async fn list_themes(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let jam = jam_by_slug(&state, &slug).await?;
    require_member(&caller, &jam, "jam")?;
    let now = state.clock.now();
    let minutes = state.settings.pulse.hot_window_minutes;
    let window = TimeDelta::minutes(i64::from(minutes));
    // One snapshot for the themes and the run they come from: read apart, a run saved in between
    // answered the new run's time with the old run's (empty) themes.
    let txn = jam_store::tally::begin_snapshot(&state.db).await?;
    let rows = jam_store::themes::list(&txn, jam.jam.id).await?;
    let activity =
        jam_store::themes::activity(&txn, jam.jam.id, now - window - window, now - window, now).await?;
    let last_run = jam_store::themes::last_run(&txn, jam.jam.id).await?;
    txn.commit().await.map_err(jam_store::StoreError::from)?;
    let run_at = rows.first().map(|t| t.run_at);
    let mut items: Vec<ThemeView> = rows
        .into_iter()
        .map(|t| {
            let a = activity.get(&t.id).copied().unwrap_or_default();
            view(t, a)
        })
        .collect();
    items.sort_by(|a, b| {
        b.hot_score
            .cmp(&a.hot_score)
            .then(b.size.cmp(&a.size))
            .then(a.id.cmp(&b.id))
    });
    let run_at = run_at.or(last_run.map(|r| r.run_at));
    Ok(HttpResponse::Ok().json(ThemesView {
        jam_id: jam.jam.id,
        run_at,
        window_minutes: minutes,
        now,
        themes: items,
    }))
}

pub async fn theme_ideas(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let (slug, theme_id) = path.into_inner();
    let jam = jam_by_slug(&state, &slug).await?;
    require_member(&caller, &jam, "jam")?;
    let theme_id = parse_id(&theme_id, "theme")?;
    let limit = query.limit(&state, 20)?;
    let after = query.cursor_uuid()?;
    if jam_store::themes::get(&state.db, jam.jam.id, theme_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("theme"));
    }
    let (items, next) =
        jam_store::themes::ideas_page(&state.db, theme_id, caller.principal.is_staff(), after, limit).await?;
    let items = idea_views(&state, &jam, &caller, &items).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next.map(|id| id.to_string()),
    }))
}
