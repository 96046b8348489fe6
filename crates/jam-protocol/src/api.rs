//! HTTP bodies of API v1.

use chrono::{DateTime, Utc};
use jam_domain::{JamState, Role, SessionState};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `{items, next_cursor}`; `next_cursor` is null on the last page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

// ---- identity ----

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    Staff,
    Participant,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Me {
    pub kind: PrincipalKind,
    pub id: Uuid,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jam_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StaffView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

// ---- jams and sessions ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VotingMethod {
    /// Lower bound of the 95% Wilson score interval on the share of +1 votes.
    Wilson,
    /// Up minus down.
    Net,
    /// Bayesian average of the vote values with a prior from the whole jam.
    Bayesian,
}

impl VotingMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            VotingMethod::Wilson => "wilson",
            VotingMethod::Net => "net",
            VotingMethod::Bayesian => "bayesian",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wilson" => Some(VotingMethod::Wilson),
            "net" => Some(VotingMethod::Net),
            "bayesian" => Some(VotingMethod::Bayesian),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voting {
    pub method: VotingMethod,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceInput {
    pub name: String,
    #[serde(default)]
    pub invite_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJamRequest {
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub guidelines: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub audiences: Vec<AudienceInput>,
    #[serde(default)]
    pub voting: Option<Voting>,
    #[serde(default)]
    pub shortlist_size: Option<u32>,
}

/// Every field optional: only those given change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchJamRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    pub guidelines: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub voting: Option<Voting>,
    pub shortlist_size: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AudienceView {
    pub name: String,
    /// Shown to staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_code: Option<String>,
    /// Where an invitee lands (`/j/{slug}?code=…`); staff only, since it carries the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_path: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionView {
    pub id: Uuid,
    pub jam_id: Uuid,
    pub title: String,
    pub description: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub state: SessionState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JamView {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub guidelines: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub state: JamState,
    pub audiences: Vec<AudienceView>,
    pub voting: Voting,
    pub shortlist_size: u32,
    pub sessions: Vec<SessionView>,
    /// The server's time when this was read, so clients can show countdowns without trusting theirs.
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchSessionRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementRequest {
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnnouncementView {
    pub id: Uuid,
    pub jam_id: Uuid,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// `staff`, `participant` or `system`.
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub subject_kind: String,
    pub subject_id: Option<Uuid>,
    pub detail: serde_json::Value,
}

// ---- participation: join, ideas, comments, votes ----

/// `GET /jams/{slug}/welcome?code=…`: what a visitor reads before joining.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WelcomeView {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub guidelines: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub state: JamState,
    pub sessions: Vec<SessionView>,
    /// The audience the code belongs to (a joiner lands in it).
    pub audience: String,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub invite_code: String,
    pub display_name: String,
    /// Must be `true`: joining means accepting the jam's guidelines.
    pub accept_guidelines: bool,
    #[serde(default)]
    pub locale: Option<String>,
}

/// `visible` | `hidden` (flags or a facilitator) | `removed` | `merged` (into `merged_into`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Visible,
    Hidden,
    Removed,
    Merged,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Visible => "visible",
            ItemStatus::Hidden => "hidden",
            ItemStatus::Removed => "removed",
            ItemStatus::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "visible" => Some(ItemStatus::Visible),
            "hidden" => Some(ItemStatus::Hidden),
            "removed" => Some(ItemStatus::Removed),
            "merged" => Some(ItemStatus::Merged),
            _ => None,
        }
    }
}

/// `sort` of `GET /sessions/{id}/ideas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdeaSort {
    /// Score and age mixed (`jam_domain::ranking::hot_score`): the live feed.
    #[default]
    Hot,
    /// Up minus down, most first.
    Top,
    /// Newest first.
    New,
}

/// Who wrote an idea or a comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorView {
    pub id: Uuid,
    pub display_name: String,
    pub audience: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIdeaRequest {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Every field optional: only those given change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchIdeaRequest {
    pub title: Option<String>,
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdeaView {
    pub id: Uuid,
    pub jam_id: Uuid,
    pub session_id: Uuid,
    pub author: AuthorView,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub edited_at: Option<DateTime<Utc>>,
    pub status: ItemStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub merged_into: Option<Uuid>,
    pub up: u32,
    pub down: u32,
    /// Lower bound of the 95% Wilson interval on the share of `+1` votes.
    pub score: f64,
    pub comments: u32,
    /// The caller's own vote: `1`, `-1`, or `0` for none (always `0` in live events).
    pub my_vote: i8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCommentRequest {
    pub body: String,
    #[serde(default)]
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentView {
    pub id: Uuid,
    pub idea_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author: AuthorView,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub status: ItemStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteRequest {
    /// `1`, `-1`, or `0` to retract; anything else is 422.
    pub value: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteResult {
    pub idea_id: Uuid,
    pub up: u32,
    pub down: u32,
    pub score: f64,
    pub my_vote: i8,
}
