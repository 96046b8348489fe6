//! Bodies of the people routes: staff accounts (`/staff`), a jam's participants and voiding one
//! (re-exported by `api`).

use chrono::{DateTime, Utc};
use jam_domain::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A staff account as admins see it (`GET /staff`, `PATCH /staff/{id}`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccountView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The last password sign-in, if any.
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// `PATCH /staff/{id}`: only the fields given change. Disabling, or changing the role, ends every
/// sign-in of the account.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchStaffRequest {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// `POST /staff/{id}/password`: the account itself gives its `current_password`; an admin resetting
/// another account's password gives only `new_password`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    #[serde(default)]
    pub current_password: Option<String>,
    pub new_password: String,
}

/// `POST /staff/{id}/password`: how many other sign-ins of the account ended.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChanged {
    pub sign_ins_ended: u32,
}

/// One participant of `GET /jams/{slug}/participants`, with what they did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantView {
    pub id: Uuid,
    pub display_name: String,
    pub audience: String,
    pub joined_at: DateTime<Utc>,
    pub voided_at: Option<DateTime<Utc>>,
    pub ideas: u64,
    pub comments: u64,
    /// Non-zero votes standing.
    pub votes: u64,
    pub flags: u64,
    /// New participants of this jam that joined from the same client address (this one included).
    pub joins_from_address: u64,
}

/// `POST /jams/{slug}/participants/{id}/void`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {
    /// 1 to 500 characters, kept in the audit log.
    pub reason: String,
}

/// What voiding a participant did. Repeating it changes nothing (`already_voided`, counts zero).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidResult {
    pub participant_id: Uuid,
    pub voided_at: DateTime<Utc>,
    pub already_voided: bool,
    /// The jam's shortlist is published: votes and statuses stay as published (so the digest still
    /// verifies); only the sign-ins end.
    pub results_frozen: bool,
    pub votes_removed: u32,
    pub flags_removed: u32,
    pub ideas_recounted: u32,
    /// Items their flags had hidden that are visible again.
    pub items_shown_again: u32,
    /// Their ideas and comments now hidden pending review.
    pub posts_hidden: u32,
    pub sign_ins_ended: u32,
}
