//! Fairness (issue 17): the impressions a browser reports (which ideas a participant saw).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /api/v1/jams/{slug}/impressions`: ideas the participant saw (at least half visible for at
/// least a second), sent in batches. At most `impressions.max_ids` ids per request (422 beyond).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpressionsRequest {
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub idea_ids: Vec<Uuid>,
}

/// What became of a report. Every distinct id given is counted once in exactly one of `recorded`,
/// `repeated` or `ignored`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpressionsResult {
    /// Impressions stored by this report (the participant had not been counted for these ideas).
    pub recorded: u64,
    /// Ideas this participant had already been counted for: nothing changes.
    pub repeated: u64,
    /// Ids that are no idea of this jam (unknown, or another jam's): dropped, so one stale id in a
    /// browser's batch does not cost the others.
    pub ignored: u64,
}
