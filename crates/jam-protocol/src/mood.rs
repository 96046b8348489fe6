//! `GET /api/v1/jams/{slug}/mood`: the mood time series of a jam (or one session), the alert's
//! state, and the most negative and most positive ideas of a window (the drill-down).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Posts (ideas and comments) per sentiment label in one bucket `[start, start + bucket_minutes)`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoodBucket {
    pub start: DateTime<Utc>,
    pub negative: u32,
    pub neutral: u32,
    pub positive: u32,
}

/// The negative-mood alert of the jam.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoodAlertView {
    /// Raised: the negative share over the last `window_minutes` is above `threshold`.
    pub active: bool,
    /// When the raised alert fired.
    pub since: Option<DateTime<Utc>>,
    /// How many times it fired in this jam.
    pub fired: u32,
    pub threshold: f64,
    pub window_minutes: u32,
    /// The server-clock minute the alert was last evaluated at.
    pub evaluated_until: Option<DateTime<Utc>>,
}

/// An idea at one end of the scale: the thread to read.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoodThread {
    pub id: Uuid,
    pub session_id: Uuid,
    pub title: String,
    pub sentiment_score: f64,
    pub comments: u32,
    pub created_at: DateTime<Utc>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoodView {
    pub jam_id: Uuid,
    /// The session asked for, if any (otherwise the whole jam).
    pub session_id: Option<Uuid>,
    pub bucket_minutes: u32,
    /// Consecutive buckets from the first scored post's to the current one (empty without posts).
    pub buckets: Vec<MoodBucket>,
    pub alert: MoodAlertView,
    /// Most negative visible ideas of the window asked for (`from`, `to`), lowest score first.
    pub most_negative: Vec<MoodThread>,
    /// Most positive visible ideas of the window, highest score first.
    pub most_positive: Vec<MoodThread>,
}
