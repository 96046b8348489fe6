//! The inputs of the tally, as plain values read from the database by the caller.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jam_domain::ItemStatus;
use jam_domain::ranking::Method;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `+1` and `-1` votes on one idea from one audience.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AudienceCounts {
    pub up: u64,
    pub down: u64,
}

/// Everything the tally needs to know about one idea. `up` and `down` count non-zero votes (after merges);
/// `by_audience` splits them by the voter's audience name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdeaFacts {
    pub id: Uuid,
    pub title: String,
    pub session_id: Uuid,
    pub session_title: String,
    /// The author's display name.
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub status: ItemStatus,
    pub up: u64,
    pub down: u64,
    /// Distinct participants who saw the idea (reported impressions).
    #[serde(default)]
    pub impressions: u64,
    pub comments: u64,
    pub by_audience: BTreeMap<String, AudienceCounts>,
}

/// A facilitator's decision to keep an idea off the shortlist.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Exclusion {
    pub idea_id: Uuid,
    /// Why, in the facilitator's words; shown in every export.
    pub reason: String,
    /// Display name of the staff member who decided; shown in the exports, not part of the digest.
    pub by: String,
    /// When it was decided; shown in the exports, not part of the digest.
    pub at: DateTime<Utc>,
}

/// The facilitators' decisions on the shortlist. Order does not matter anywhere: [`crate::compute`] and
/// the digest read both lists as sets. Decisions about ideas that do not rank (hidden, removed, merged or
/// unknown) are kept and shown, but change nothing in the ranking.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Curation {
    pub excluded: Vec<Exclusion>,
    /// Ideas that go on the shortlist even below the cut (see [`crate::compute`] for the exact rule).
    pub pinned: Vec<Uuid>,
}

/// How the jam ranks. The Bayesian prior is not a parameter: it is derived from the ranked ideas' own
/// votes ([`jam_domain::ranking::jam_prior`]) and reported in [`crate::Results::prior`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Params {
    pub method: Method,
    /// N of the top-N shortlist (jam setting, default 10).
    pub shortlist_size: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            method: Method::Wilson,
            shortlist_size: 10,
        }
    }
}
