//! How an audience admits its participants: the closed set stored in `audiences.admission` and sent
//! on the wire, defined once here (its spelling in the database and in JSON is the lowercase name).

use std::fmt;

#[cfg(feature = "sea-orm")]
use sea_orm::sea_query::StringLen;
use serde::{Deserialize, Serialize};

/// How people join an audience. Each mode admits one identity per person in its own way:
/// - `code`: anyone holding the audience's shared invite code (new participants per client address
///   and day are capped);
/// - `invite`: one-time personal invite links, each redeemed by one browser;
/// - `sso`: OpenID Connect sign-in, one participant per provider identity (issuer, subject).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(rs_type = "String", db_type = "String(StringLen::None)")
)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Admission {
    /// The audience's shared invite code.
    #[default]
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "code"))]
    Code,
    /// One-time personal invites only; the shared code is refused.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "invite"))]
    Invite,
    /// OpenID Connect sign-in only; the shared code is refused.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "sso"))]
    Sso,
}

impl Admission {
    pub const ALL: [Admission; 3] = [Admission::Code, Admission::Invite, Admission::Sso];

    pub fn as_str(self) -> &'static str {
        match self {
            Admission::Code => "code",
            Admission::Invite => "invite",
            Admission::Sso => "sso",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == s)
    }

    /// Whether the audience's shared invite code admits anyone.
    pub fn takes_code(self) -> bool {
        self == Admission::Code
    }
}

/// Where the e-mail of an invite bound to an address stands (stored in `invites.mail_status`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(rs_type = "String", db_type = "String(StringLen::None)")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailStatus {
    /// Waiting to be sent (or no SMTP server is configured: the facilitator hands the link out).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "pending"))]
    Pending,
    /// The SMTP server accepted the message.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "sent"))]
    Sent,
    /// Sending failed; `mail_error` says why.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "failed"))]
    Failed,
}

impl fmt::Display for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_parses_back_from_its_name_and_only_code_takes_the_code() {
        for mode in Admission::ALL {
            assert_eq!(Admission::parse(mode.as_str()), Some(mode));
            let json = serde_json::to_string(&mode).unwrap_or_default();
            assert_eq!(json, format!("\"{mode}\""));
        }
        assert_eq!(Admission::parse("Code"), None);
        assert_eq!(Admission::default(), Admission::Code);
        let coded: Vec<_> = Admission::ALL.into_iter().filter(|m| m.takes_code()).collect();
        assert_eq!(coded, [Admission::Code]);
    }
}
