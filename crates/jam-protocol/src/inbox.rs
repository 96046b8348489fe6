//! Bodies of the inbox routes (issue 18): notifications, marking them read, following an idea,
//! and the `@name` picker. Re-exported by `api`.

use chrono::{DateTime, Utc};
pub use jam_domain::NotificationKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One inbox entry. Which fields are set depends on `kind`: `idea_id` and `idea_title` for all but
/// announcements; `comment_id` for replies, mentions in comments and activity on followed ideas;
/// `actor` when a participant caused it; `text` the start of the comment or idea, or the whole
/// announcement.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: Uuid,
    pub jam_id: Uuid,
    pub kind: NotificationKind,
    pub idea_id: Option<Uuid>,
    pub idea_title: Option<String>,
    pub comment_id: Option<Uuid>,
    /// The display name of who caused it.
    pub actor: Option<String>,
    pub text: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Older than the caller's read mark.
    pub read: bool,
}

/// `GET /me/notifications`: a page, newest first, and how many entries are unread in all.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboxView {
    pub items: Vec<NotificationView>,
    pub next_cursor: Option<String>,
    pub unread: u64,
}

/// `POST /me/notifications/read`: marks every entry up to `up_to` (an entry's id) read; without
/// it, everything so far.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    #[serde(default)]
    pub up_to: Option<Uuid>,
}

/// The unread count after a change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnreadView {
    pub unread: u64,
}

/// `PUT`/`DELETE /ideas/{id}/follow`: whether the caller follows the idea now.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FollowView {
    pub idea_id: Uuid,
    pub following: bool,
}

/// `GET /jams/{slug}/mentions?q=`: a participant whose name starts with `q`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MentionCandidate {
    pub id: Uuid,
    pub display_name: String,
}
