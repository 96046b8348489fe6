//! Where a post stands with moderation, and the value of a vote: the closed sets of values that
//! are stored in columns and sent on the wire. Each is defined once, here; its spelling in the
//! database and in JSON is the lowercase name below (for votes, the integer), mapped in one place
//! (`as_str`/`parse`, and the sea-orm column mapping behind the `sea-orm` feature).

use std::fmt;

#[cfg(feature = "sea-orm")]
use sea_orm::sea_query::StringLen;
use serde::{Deserialize, Serialize};

/// An idea's or a comment's moderation status. Comments are never `Merged`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(rs_type = "String", db_type = "String(StringLen::None)")
)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    /// Shown to everyone; an idea takes votes and ranks.
    #[default]
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "visible"))]
    Visible,
    /// Hidden by flags or a facilitator until a facilitator decides: shown to its author and staff
    /// only, takes no votes, does not rank.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "hidden"))]
    Hidden,
    /// Removed by a facilitator: its text is withheld from everyone but staff.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "removed"))]
    Removed,
    /// Merged into another idea (its `merged_into`); its votes were carried to the target, each
    /// voter at most once.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "merged"))]
    Merged,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 4] = [
        ItemStatus::Visible,
        ItemStatus::Hidden,
        ItemStatus::Removed,
        ItemStatus::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Visible => "visible",
            ItemStatus::Hidden => "hidden",
            ItemStatus::Removed => "removed",
            ItemStatus::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Only visible ideas take votes and rank.
    pub fn takes_votes(self) -> bool {
        self == ItemStatus::Visible
    }

    /// A facilitator may still decide on it (hide, restore, remove, merge): visible or hidden.
    pub fn is_open(self) -> bool {
        matches!(self, ItemStatus::Visible | ItemStatus::Hidden)
    }

    /// Its text is withheld from participants (other than a hidden idea's author).
    pub fn is_withheld(self) -> bool {
        matches!(self, ItemStatus::Hidden | ItemStatus::Removed)
    }
}

/// Why a hidden idea or comment is hidden: what decides whether it may come back by itself.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(rs_type = "String", db_type = "String(StringLen::None)")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HiddenBy {
    /// The flag threshold hid it: it is visible again when voided flags take it below.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "flags"))]
    Flags,
    /// A facilitator hid it by hand: only a facilitator shows it again.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "staff"))]
    Staff,
    /// Its author was voided: it waits in the moderation queue for a decision.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "void"))]
    Void,
}

impl fmt::Display for ItemStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One participant's vote on one idea: `+1`, `-1`, or retracted. On the wire and in the `votes`
/// table it is the integer `1`, `-1` or `0` (fields of this type declare that schema).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i16")]
pub enum VoteValue {
    Up,
    Down,
    /// No vote (never voted, or retracted).
    #[default]
    Retract,
}

/// A vote value other than `1`, `-1` or `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a vote is 1, -1 or 0 (to retract), not {0}")]
pub struct BadVote(pub i64);

impl VoteValue {
    /// The stored and wire integer.
    pub fn as_i16(self) -> i16 {
        match self {
            VoteValue::Up => 1,
            VoteValue::Down => -1,
            VoteValue::Retract => 0,
        }
    }
}

impl TryFrom<i64> for VoteValue {
    type Error = BadVote;
    fn try_from(value: i64) -> Result<Self, BadVote> {
        match value {
            1 => Ok(VoteValue::Up),
            -1 => Ok(VoteValue::Down),
            0 => Ok(VoteValue::Retract),
            other => Err(BadVote(other)),
        }
    }
}

impl TryFrom<i16> for VoteValue {
    type Error = BadVote;
    fn try_from(value: i16) -> Result<Self, BadVote> {
        Self::try_from(i64::from(value))
    }
}

impl From<VoteValue> for i16 {
    fn from(value: VoteValue) -> i16 {
        value.as_i16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_parses_back_from_its_name() {
        for status in ItemStatus::ALL {
            assert_eq!(ItemStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap_or_default();
            assert_eq!(json, format!("\"{status}\""));
        }
        assert_eq!(ItemStatus::parse("Visible"), None);
    }

    #[test]
    fn only_visible_ideas_take_votes_and_only_open_ones_can_be_decided() {
        let voting: Vec<_> = ItemStatus::ALL.into_iter().filter(|s| s.takes_votes()).collect();
        assert_eq!(voting, [ItemStatus::Visible]);
        let open: Vec<_> = ItemStatus::ALL.into_iter().filter(|s| s.is_open()).collect();
        assert_eq!(open, [ItemStatus::Visible, ItemStatus::Hidden]);
    }

    #[test]
    fn a_vote_is_read_from_its_integer_and_nothing_else() {
        for (n, v) in [(1, VoteValue::Up), (-1, VoteValue::Down), (0, VoteValue::Retract)] {
            assert_eq!(VoteValue::try_from(n as i64), Ok(v));
            assert_eq!(v.as_i16(), n);
            assert_eq!(serde_json::from_str::<VoteValue>(&n.to_string()).ok(), Some(v));
        }
        assert_eq!(VoteValue::try_from(2_i64), Err(BadVote(2)));
        assert!(serde_json::from_str::<VoteValue>("1.5").is_err());
        assert!(serde_json::from_str::<VoteValue>("\"up\"").is_err());
    }
}
