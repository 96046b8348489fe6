//! Bodies of an audience's admission settings, personal invites and shared-code rotation.

use chrono::{DateTime, Utc};
pub use jam_domain::{Admission, MailStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `PATCH /jams/{slug}/audiences/{audience}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchAudienceRequest {
    pub admission: Admission,
}

/// `POST /jams/{slug}/audiences/{audience}/invites`: either `count` anonymous invites, or one
/// invite per address of `emails` (e-mailed when SMTP is configured). The answer is CSV
/// (`email,link`), the only time the links are shown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueInvitesRequest {
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub emails: Option<Vec<String>>,
}

/// Where an invite stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InviteState {
    Unused,
    Used,
    Revoked,
}

/// One invite, without its token (never shown again after issuing).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteView {
    pub id: Uuid,
    pub state: InviteState,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The participant who redeemed it.
    pub participant_id: Option<Uuid>,
    /// For invites bound to an address: `pending`, `sent` or `failed`.
    pub mail_status: Option<MailStatus>,
    pub mail_error: Option<String>,
}

/// `GET /jams/{slug}/audiences/{audience}/invites`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteList {
    pub audience: String,
    pub admission: Admission,
    pub total: u64,
    pub used: u64,
    pub unused: u64,
    pub revoked: u64,
    pub items: Vec<InviteView>,
}

/// `POST /jams/{slug}/audiences/{audience}/rotate-code`: the new shared code (the old one no longer
/// admits anyone).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RotatedCode {
    pub audience: String,
    pub invite_code: String,
    pub join_path: String,
}
