//! Who is asking: staff with a role, or a participant of one jam.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{AudienceId, JamId, ParticipantId, StaffId};

/// Staff roles. `Admin` may do everything; `Facilitator` runs jams; `Executive` reads results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Facilitator,
    Executive,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Facilitator => "facilitator",
            Role::Executive => "executive",
        }
    }

    /// May create, schedule and moderate jams.
    pub fn runs_jams(self) -> bool {
        matches!(self, Role::Admin | Role::Facilitator)
    }

    /// May read and download results.
    pub fn reads_results(self) -> bool {
        true
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "facilitator" => Ok(Role::Facilitator),
            "executive" => Ok(Role::Executive),
            other => Err(format!(
                "unknown role `{other}` (expected admin, facilitator or executive)"
            )),
        }
    }
}

/// The signed-in caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Staff {
        id: StaffId,
        role: Role,
    },
    Participant {
        id: ParticipantId,
        jam_id: JamId,
        audience_id: AudienceId,
    },
}

impl Principal {
    /// Staff of any role, or a participant of this jam.
    pub fn is_member_of(&self, jam: JamId) -> bool {
        match self {
            Principal::Staff { .. } => true,
            Principal::Participant { jam_id, .. } => *jam_id == jam,
        }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self, Principal::Staff { .. })
    }

    /// A facilitator or an admin.
    pub fn runs_jams(&self) -> bool {
        matches!(self, Principal::Staff { role, .. } if role.runs_jams())
    }

    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Principal::Staff {
                role: Role::Admin,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [Role::Admin, Role::Facilitator, Role::Executive] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn a_participant_is_a_member_of_its_own_jam_only() {
        let jam = JamId::new();
        let p = Principal::Participant {
            id: ParticipantId::new(),
            jam_id: jam,
            audience_id: AudienceId::new(),
        };
        assert!(p.is_member_of(jam));
        assert!(!p.is_member_of(JamId::new()));
        assert!(!p.runs_jams());
        let exec = Principal::Staff {
            id: StaffId::new(),
            role: Role::Executive,
        };
        assert!(exec.is_member_of(jam));
        assert!(!exec.runs_jams());
    }
}
