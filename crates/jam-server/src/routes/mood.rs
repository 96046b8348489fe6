//! `GET /api/v1/jams/{slug}/mood` (staff): the jam's mood series, its alert and the drill-down to
//! the most negative and most positive ideas (`jam_store::mood`, scored by `jam_pulse::mood` when
//! each post was written).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use jam_protocol::api::{MoodAlertView, MoodBucket, MoodThread, MoodView};
use jam_store::entity::ideas;
use jam_store::mood::End;
use serde::Deserialize;
use uuid::Uuid;

use super::access::jam_by_slug;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Most buckets one answer holds (ask for wider buckets for longer jams).
pub const MAX_BUCKETS: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoodQuery {
    /// Minutes per bucket, 1 to 1440 (default 10).
    pub bucket_minutes: Option<u32>,
    /// One session of the jam (default: the whole jam).
    pub session: Option<String>,
    /// The drill-down window `[from, to)` for the most negative and positive ideas (RFC 3339).
    pub from: Option<String>,
    pub to: Option<String>,
    /// Ideas at each end, 1 to 20 (default 5).
    pub limit: Option<u64>,
}

fn time(field: &str, value: Option<&str>) -> ApiResult<Option<DateTime<Utc>>> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::invalid(field, "must be an RFC 3339 time"))
        })
        .transpose()
}

fn thread(idea: &ideas::Model) -> MoodThread {
    MoodThread {
        id: idea.id,
        session_id: idea.session_id,
        title: idea.title.clone(),
        sentiment_score: idea.sentiment_score.unwrap_or_default(),
        comments: u32::try_from(idea.comments).unwrap_or(0),
        created_at: idea.created_at,
    }
}

pub async fn mood(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    query: web::Query<MoodQuery>,
) -> ApiResult<HttpResponse> {
    caller.require_staff()?;
    let jam = jam_by_slug(&state, &slug).await?;
    let bucket_minutes = query.bucket_minutes.unwrap_or(10);
    if !(1..=1440).contains(&bucket_minutes) {
        return Err(ApiError::invalid("bucket_minutes", "must be between 1 and 1440"));
    }
    let session = match query.session.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => {
            let id = Uuid::parse_str(s)
                .ok()
                .filter(|id| jam.sessions.iter().any(|session| session.id == *id))
                .ok_or_else(|| ApiError::invalid("session", "must be a session of this jam"))?;
            Some(id)
        }
        None => None,
    };
    let from = time("from", query.from.as_deref())?;
    let to = time("to", query.to.as_deref())?;
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    let limit = query.limit.unwrap_or(5);
    if !(1..=20).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 20"));
    }
    let now = state.clock.now();
    let posts = jam_store::mood::posts(&state.db, jam.jam.id, session, None, now).await?;
    let series = jam_store::mood::buckets(&posts, bucket_minutes, now);
    if series.len() > MAX_BUCKETS {
        return Err(ApiError::invalid(
            "bucket_minutes",
            format!("makes more than {MAX_BUCKETS} buckets for this jam; ask for wider buckets"),
        ));
    }
    let buckets = series
        .into_iter()
        .map(|(start, [negative, neutral, positive])| MoodBucket {
            start,
            negative,
            neutral,
            positive,
        })
        .collect();
    let extremes = |end| jam_store::mood::extremes(&state.db, jam.jam.id, session, from, to, end, limit);
    let most_negative = extremes(End::MostNegative).await?.iter().map(thread).collect();
    let most_positive = extremes(End::MostPositive).await?.iter().map(thread).collect();
    let pulse = &state.settings.pulse;
    let alert = jam_store::mood::alert(&state.db, jam.jam.id).await?;
    let alert = MoodAlertView {
        active: alert.as_ref().is_some_and(|a| a.active),
        since: alert.as_ref().and_then(|a| a.since.filter(|_| a.active)),
        fired: alert.as_ref().map_or(0, |a| u32::try_from(a.fired).unwrap_or(0)),
        threshold: pulse.negative_alert_share,
        window_minutes: pulse.alert_window_minutes,
        evaluated_until: alert.as_ref().map(|a| a.evaluated_until),
    };
    Ok(HttpResponse::Ok().json(MoodView {
        jam_id: jam.jam.id,
        session_id: session,
        bucket_minutes,
        buckets,
        alert,
        most_negative,
        most_positive,
    }))
}
