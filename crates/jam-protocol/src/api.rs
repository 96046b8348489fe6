//! HTTP bodies of API v1.

use chrono::{DateTime, Utc};
pub use jam_domain::ranking::Method;
pub use jam_domain::{ItemStatus, JamState, Role, Sentiment, SessionState, VoteValue};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::fairness::{ImpressionsRequest, ImpressionsResult};
pub use crate::inbox::*;
pub use crate::invites::*;

pub use crate::people::*;
pub use crate::polls::*;

pub use crate::mood::{MoodAlertView, MoodBucket, MoodThread, MoodView};
pub use crate::search::{DuplicatePair, SearchSort, SimilarIdea, TagCount};
pub use crate::themes::{ThemeActivity, ThemeView, ThemesView};
pub use jam_domain::hot::Trend;

/// `{items, next_cursor}`; `next_cursor` is null on the last page.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

// ---- identity ----

/// `GET /auth/oidc`: the sign-ins this deployment offers, for the web app.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    /// Participants of `sso` audiences sign in with their organisation account.
    pub organisation_participants: bool,
    /// Staff sign in with their organisation account.
    pub organisation_staff: bool,
    /// Staff sign in with e-mail and password (`POST /auth/login`).
    pub password: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
/// `Debug` shows no password (requests may end up in logs).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// An e-mail address as jamd reads one: local@domain.tld.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f.][^@\s\x00-\x1f\x7f-\x9f]*\.[^@\s\x00-\x1f\x7f-\x9f]*[^@\s\x00-\x1f\x7f-\x9f.]$",
            max_length = 254
        )
    )]
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .field("password", &"****")
            .finish()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    Staff,
    Participant,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
/// `Debug` shows no password (requests may end up in logs).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    /// An e-mail address as jamd reads one: local@domain.tld.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f.][^@\s\x00-\x1f\x7f-\x9f]*\.[^@\s\x00-\x1f\x7f-\x9f]*[^@\s\x00-\x1f\x7f-\x9f.]$",
            max_length = 254
        )
    )]
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

impl std::fmt::Debug for CreateStaffRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateStaffRequest")
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password", &"****")
            .finish()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StaffView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

// ---- jams and sessions ----

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voting {
    pub method: Method,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceInput {
    pub name: String,
    /// The audience's shared code: 10 to 64 letters, digits, `-` or `_`; generated when missing.
    #[serde(default)]
    pub invite_code: Option<String>,
    /// How participants join: `code` (default), `invite` or `sso`.
    #[serde(default)]
    pub admission: Option<Admission>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJamRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 64, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")
    )]
    pub slug: String,
    #[cfg_attr(feature = "openapi", schema(pattern = r"\S"))]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub guidelines: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 20))]
    pub audiences: Vec<AudienceInput>,
    #[serde(default)]
    pub voting: Option<Voting>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub shortlist_size: Option<u32>,
    /// Flags hide an item at `moderation.hide_after_flags` (default true); false only queues it.
    #[serde(default)]
    pub auto_hide: Option<bool>,
    /// Participants see an idea's counts only once they voted on it (default false).
    #[serde(default)]
    pub hide_counts_until_voted: Option<bool>,
}

/// Every field optional: only those given change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchJamRequest {
    #[cfg_attr(feature = "openapi", schema(pattern = r"\S"))]
    pub title: Option<String>,
    pub description: Option<String>,
    pub guidelines: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub voting: Option<Voting>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub shortlist_size: Option<u32>,
    pub auto_hide: Option<bool>,
    pub hide_counts_until_voted: Option<bool>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AudienceView {
    pub name: String,
    /// Shown to staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_code: Option<String>,
    /// Where an invitee lands (`/j/{slug}?code=…`); staff only, since it carries the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_path: Option<String>,
    /// How participants join this audience.
    #[serde(default)]
    pub admission: Admission,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Flags hide an item at the threshold; false sends flagged items to the queue only.
    pub auto_hide: bool,
    /// Participants see an idea's counts only once they voted on it.
    #[serde(default)]
    pub hide_counts_until_voted: bool,
    pub sessions: Vec<SessionView>,
    /// The server's time when this was read, so clients can show countdowns without trusting theirs.
    pub now: DateTime<Utc>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchSessionRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementRequest {
    #[cfg_attr(feature = "openapi", schema(pattern = r"\S"))]
    pub text: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnnouncementView {
    pub id: Uuid,
    pub jam_id: Uuid,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

// ---- participation: join, ideas, comments, votes ----

/// `GET /jams/{slug}/welcome?code=…`: what a visitor reads before joining.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The audience's shared code (`code` audiences); empty or missing with `invite_token`.
    #[serde(default)]
    pub invite_code: String,
    /// The token of a personal invite link (`invite` audiences), instead of a code.
    #[serde(default)]
    pub invite_token: Option<String>,
    pub display_name: String,
    /// Must be `true`: joining means accepting the jam's guidelines.
    pub accept_guidelines: bool,
    #[serde(default)]
    pub locale: Option<String>,
}

/// `sort` of `GET /sessions/{id}/ideas`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Not yet seen by the caller first, then least seen by everyone, in a shuffle stable per
    /// participant (issue 17): the fair way in.
    Discover,
}

/// Who wrote an idea or a comment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorView {
    pub id: Uuid,
    pub display_name: String,
    pub audience: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIdeaRequest {
    #[cfg_attr(feature = "openapi", schema(pattern = r"\S"))]
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(pattern = r"\S"))]
    pub body: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Every field optional: only those given change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchIdeaRequest {
    #[cfg_attr(feature = "openapi", schema(pattern = r"\S"))]
    pub title: Option<String>,
    #[cfg_attr(feature = "openapi", schema(pattern = r"\S"))]
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The idea's mood (title and body), scored when posted or edited; absent for ideas older
    /// than the mood feature.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sentiment: Option<Sentiment>,
    /// The mood's score in [-1, 1] (negative below 0).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sentiment_score: Option<f64>,
    /// Whether the caller follows the idea: given by `GET /ideas/{id}` to a participant, absent
    /// elsewhere.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub following: Option<bool>,
    /// True when the jam hides counts until one votes and the caller has not voted on this idea:
    /// `up`, `down` and `score` are then 0 and say nothing.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub counts_hidden: bool,
    /// Distinct participants who saw the idea (reported impressions); staff only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub impressions: Option<u64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCommentRequest {
    #[cfg_attr(feature = "openapi", schema(pattern = r"\S"))]
    pub body: String,
    #[serde(default)]
    pub parent_id: Option<Uuid>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentView {
    pub id: Uuid,
    pub idea_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author: AuthorView,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub status: ItemStatus,
    /// The comment's mood, scored when posted; absent for comments older than the mood feature.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sentiment: Option<Sentiment>,
    /// The mood's score in [-1, 1] (negative below 0).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sentiment_score: Option<f64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteRequest {
    /// `1`, `-1`, or `0` to retract; anything else is 422.
    #[cfg_attr(feature = "openapi", schema(value_type = i16, minimum = -1, maximum = 1))]
    pub value: VoteValue,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteResult {
    pub idea_id: Uuid,
    pub up: u32,
    pub down: u32,
    pub score: f64,
    pub my_vote: i8,
    /// True after a retraction in a jam that hides counts until one votes: the counts are 0.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub counts_hidden: bool,
}

// ---- moderation: flags, the queue, decisions, merges ----

/// What a flag points at.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagTarget {
    Idea,
    Comment,
}

impl FlagTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagTarget::Idea => "idea",
            FlagTarget::Comment => "comment",
        }
    }
}

/// `POST /ideas/{id}/flags` · `POST /comments/{id}/flags`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagRequest {
    /// Why, in the participant's words: 1 to 500 characters, several lines allowed.
    #[cfg_attr(feature = "openapi", schema(pattern = r"\S", max_length = 500))]
    pub reason: String,
}

/// A participant's flag, as its author gets it back (201).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagView {
    pub id: Uuid,
    pub target_kind: FlagTarget,
    pub target_id: Uuid,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// One flag as facilitators see it in the queue: who, why, when.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagReasonView {
    pub by: AuthorView,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// An item of `GET /jams/{slug}/moderation`: an idea or a comment waiting for a decision.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationItem {
    pub kind: FlagTarget,
    pub id: Uuid,
    /// The idea itself, or the idea a comment is on.
    pub idea_id: Uuid,
    pub session_id: Uuid,
    pub author: AuthorView,
    /// Ideas only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub title: Option<String>,
    pub body: String,
    pub status: ItemStatus,
    pub created_at: DateTime<Utc>,
    /// Distinct flags since the last facilitator decision on this item (what the hide threshold counts).
    pub flags: u32,
    /// Every flag the item ever got, decided or not.
    pub flags_total: u32,
    /// The most recent flags, newest first (at most a few).
    pub reasons: Vec<FlagReasonView>,
}

/// `POST /ideas/{id}/merge`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The idea of the same jam that the duplicate is merged into.
    pub into: Uuid,
}

/// The answer to a merge: both ideas after it, and what happened to the duplicate's votes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeResult {
    /// The duplicate, now `merged` with `merged_into` set and no votes of its own.
    pub source: IdeaView,
    /// The idea merged into, with its counts recomputed.
    pub into: IdeaView,
    /// Voters whose vote moved to the target (they had none there, or a retracted one).
    pub votes_moved: u32,
    /// Voters who had voted on both: their vote on the target stands, the duplicate's is dropped.
    pub votes_kept: u32,
}

// ---- results: the shortlist, its curation and publication ----

/// `+1` and `-1` votes from one audience.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceCountsView {
    pub up: u64,
    pub down: u64,
}

/// The idea of a shortlist item.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortlistIdeaView {
    pub id: Uuid,
    pub title: String,
    pub session_id: Uuid,
    /// The author's display name.
    pub author: String,
}

/// One place on the shortlist.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShortlistItemView {
    /// Place on the curated shortlist (1..).
    pub rank: u32,
    /// Place by the method among all visible ideas, before curation.
    pub method_rank: u32,
    pub idea: ShortlistIdeaView,
    pub score: f64,
    pub up: u64,
    pub down: u64,
    /// Distinct participants with a non-zero vote.
    pub voters: u64,
    /// Votes by the voters' audience name.
    pub by_audience: std::collections::BTreeMap<String, AudienceCountsView>,
    pub comments: u64,
    /// Put on the shortlist by a facilitator.
    pub pinned: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShortlistState {
    /// Computed live from the votes and the curation so far.
    Draft,
    /// Frozen by a facilitator once the jam closed.
    Published,
}

/// `GET /jams/{slug}/shortlist`: the top N with the method, when it was computed and the digest that
/// lets anyone recompute it (`jamd tally verify`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShortlistView {
    pub jam_id: Uuid,
    pub state: ShortlistState,
    pub method: Method,
    /// N of the top N.
    pub shortlist_size: u32,
    pub computed_at: DateTime<Utc>,
    /// Set once published.
    pub published_at: Option<DateTime<Utc>>,
    /// SHA-256 (64 hex digits) over the method, N, the sorted vote set and the curation.
    pub digest: String,
    pub items: Vec<ShortlistItemView>,
    /// The fairness report: how much each ranking method rewards being early, over the same
    /// ideas (empty for shortlists published before it existed).
    #[serde(default)]
    pub fairness: Vec<MethodFairnessView>,
}

/// One line of the fairness report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MethodFairnessView {
    pub method: Method,
    /// Spearman's ρ between rank under the method (1 = best) and posting time, in [-1, 1]: near 0
    /// when posting time does not matter, positive when earlier ideas rank better.
    pub rank_post_time: f64,
}

/// An idea to keep off the shortlist, and why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurateExclusion {
    pub idea_id: Uuid,
    /// 1 to 500 characters; shown in the exports.
    pub reason: String,
}

/// `POST /jams/{slug}/shortlist/curate`: decisions on ideas of the jam; each idea's latest decision
/// is in force. An idea may appear in one list only.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurateRequest {
    #[serde(default)]
    pub exclude: Vec<CurateExclusion>,
    /// Ideas to put on the shortlist even below the cut.
    #[serde(default)]
    pub pin: Vec<Uuid>,
    /// Ideas whose exclusion or pin is withdrawn.
    #[serde(default)]
    pub clear: Vec<Uuid>,
}

/// A decision in force.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurationDecisionView {
    pub idea_id: Uuid,
    /// Empty for pins.
    pub reason: String,
    /// The staff member's display name.
    pub by: String,
    pub at: DateTime<Utc>,
}

/// The curation in force after a `curate` request.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurationView {
    pub excluded: Vec<CurationDecisionView>,
    pub pinned: Vec<CurationDecisionView>,
}
