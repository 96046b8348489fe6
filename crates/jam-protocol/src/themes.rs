//! `GET /api/v1/jams/{slug}/themes`: a jam's themes from its latest clustering run, with the hot
//! topics' score and trend (`jam_domain::hot`). A theme's ideas are a `Page<IdeaView>`.

use chrono::{DateTime, Utc};
use jam_domain::hot::Trend;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A theme's activity in one window: ideas posted, comments written, votes cast or changed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThemeActivity {
    pub ideas: u32,
    pub comments: u32,
    pub votes: u32,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeView {
    /// Stable across runs while the theme continues.
    pub id: Uuid,
    /// 3–5 distinctive terms (fewer for a tiny theme), most distinctive first.
    pub label: Vec<String>,
    /// Ideas in the theme at the run.
    pub size: u32,
    /// 3 × ideas + 2 × comments + 1 × votes in the last `window_minutes`.
    pub hot_score: u64,
    /// The same score in the window before.
    pub previous_score: u64,
    pub trend: Trend,
    /// The recent window's counts.
    pub activity: ThemeActivity,
    pub run_at: DateTime<Utc>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemesView {
    pub jam_id: Uuid,
    /// When the themes were computed (none before the jam's first run).
    pub run_at: Option<DateTime<Utc>>,
    /// The hot topics' window in minutes, ending at `now`.
    pub window_minutes: u32,
    pub now: DateTime<Utc>,
    /// Hottest first (then larger, then by id).
    pub themes: Vec<ThemeView>,
}
