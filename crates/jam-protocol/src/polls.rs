//! Bodies of the quick-poll routes (issue 18). Re-exported by `api`.

use chrono::{DateTime, Utc};
pub use jam_domain::PollState;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /sessions/{id}/polls`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePollRequest {
    pub question: String,
    /// 2 to 6 options, each one line.
    pub options: Vec<String>,
    /// When the poll stops taking answers (after now).
    pub closes_at: DateTime<Utc>,
}

/// `POST /polls/{id}/answer`: the index of the chosen option.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerPollRequest {
    pub option: i64,
}

/// A poll with its results so far.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollView {
    pub id: Uuid,
    pub jam_id: Uuid,
    pub session_id: Uuid,
    pub question: String,
    pub options: Vec<String>,
    pub closes_at: DateTime<Utc>,
    pub state: PollState,
    /// Answers per option, in the order of `options`.
    pub counts: Vec<u32>,
    /// Answers in all.
    pub answers: u32,
    /// The caller's answer (an option's index); absent when none, and in live events.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub my_answer: Option<u32>,
    pub created_at: DateTime<Utc>,
}
