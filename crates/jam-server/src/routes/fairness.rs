//! Fairness (issue 17): the impressions browsers report, which the discover view and the exposure
//! method read.
//!
//! An impression is a participant having seen an idea (at least half of it visible for at least a
//! second, as the browser measures it). It is stored once per participant and idea by the node's
//! impression writer (`jam_store::impressions`, group commit), which also moves `ideas.impressions`.

use actix_web::{HttpResponse, web};
use jam_domain::lifecycle::JamState;
use jam_protocol::api::{ImpressionsRequest, ImpressionsResult};

use super::access::jam_by_slug;
use super::participation::require_participant;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::rate_limit::Action;
use crate::state::AppState;

/// `POST /jams/{slug}/impressions`: participants of the jam only, while it is live (a closed jam's
/// exposure is frozen with its results). Ids that are no idea of this jam are dropped and counted in
/// `ignored`; the others are answered after their batch committed.
pub async fn report_impressions(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
    ApiJson(body): ApiJson<ImpressionsRequest>,
) -> ApiResult<HttpResponse> {
    let jam = jam_by_slug(&state, &slug).await?;
    let (participant_id, _) = require_participant(&caller, &jam, "jam")?;
    let max = state.settings.impressions.max_ids;
    if body.idea_ids.is_empty() {
        return Err(ApiError::invalid("idea_ids", "give at least one idea id"));
    }
    if body.idea_ids.len() > max {
        return Err(ApiError::invalid(
            "idea_ids",
            format!("give at most {max} idea ids per report"),
        ));
    }
    state.limit(
        Action::Impressions,
        &participant_id.to_string(),
        state.settings.impressions.rate,
    )?;
    if jam.state(state.clock.now()) != JamState::Live {
        return Err(ApiError::Conflict(
            "impressions are taken while the jam is live".into(),
        ));
    }
    let mut ids = body.idea_ids;
    ids.sort_unstable();
    ids.dedup();
    let known = jam_store::impressions::ideas_in(&state.db, jam.jam.id, &ids).await?;
    let ignored = (ids.len() - known.len()) as u64;
    let kept: Vec<_> = ids.into_iter().filter(|id| known.contains(id)).collect();
    let total = kept.len() as u64;
    let recorded = if kept.is_empty() {
        0
    } else {
        let written = state
            .impressions
            .submit(participant_id, kept)
            .map_err(overloaded)?;
        written.await.map_err(overloaded)?
    };
    Ok(HttpResponse::Ok().json(ImpressionsResult {
        recorded,
        repeated: total - recorded,
        ignored,
    }))
}

/// A full writer queue is the server's trouble, not the report's: 503 with Retry-After.
fn overloaded(err: jam_store::StoreError) -> ApiError {
    match err {
        jam_store::StoreError::Overloaded => ApiError::Unavailable {
            detail: "too many impressions at once; retry in a moment".into(),
            retry_after_secs: 1,
        },
        other => other.into(),
    }
}
