//! Topic names of the live protocol and the question the server answers about them.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use jam_domain::Principal;
use uuid::Uuid;

/// A topic a client may subscribe to. Parsed from and displayed as `jam:{uuid}`, `session:{uuid}`,
/// `idea:{uuid}`, `staff:{uuid}`, `me:{uuid}`; the displayed form (lower-case, hyphenated) is the one name used with the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Jam(Uuid),
    Session(Uuid),
    Idea(Uuid),
    /// `staff:{jam_id}`: the jam's staff-only events (mood alerts).
    Staff(Uuid),
    /// `me:{participant_id}`: one participant's inbox; readable by that participant only.
    Me(Uuid),
}

impl Topic {
    /// Jams and sessions carry presence counts; ideas do not.
    pub fn has_presence(&self) -> bool {
        matches!(self, Topic::Jam(_) | Topic::Session(_))
    }
}

/// The name is not one of the topics above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTopic;

impl std::error::Error for BadTopic {}

impl fmt::Display for BadTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected jam:{uuid}, session:{uuid}, idea:{uuid}, staff:{uuid} or me:{uuid}")
    }
}

impl FromStr for Topic {
    type Err = BadTopic;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, id) = s.split_once(':').ok_or(BadTopic)?;
        let id = Uuid::parse_str(id).map_err(|_| BadTopic)?;
        match kind {
            "jam" => Ok(Topic::Jam(id)),
            "session" => Ok(Topic::Session(id)),
            "idea" => Ok(Topic::Idea(id)),
            "staff" => Ok(Topic::Staff(id)),
            "me" => Ok(Topic::Me(id)),
            _ => Err(BadTopic),
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Jam(id) => write!(f, "jam:{id}"),
            Topic::Session(id) => write!(f, "session:{id}"),
            Topic::Idea(id) => write!(f, "idea:{id}"),
            Topic::Staff(id) => write!(f, "staff:{id}"),
            Topic::Me(id) => write!(f, "me:{id}"),
        }
    }
}

/// What the hub asks the server about a caller. The server answers from its database (and may cache).
#[async_trait]
pub trait TopicAuthorizer: Send + Sync + 'static {
    /// May this principal read this topic?
    async fn can_read(&self, principal: &Principal, topic: &Topic) -> bool;

    /// Is the sign-in still valid? Asked every ping interval; `false` closes the connection with 4001.
    async fn still_signed_in(&self, session_id: &str) -> bool;
}

/// What the broker's `control:` broadcasts are for: cluster-wide notices between nodes (e.g. "this
/// sign-in ended", so every node drops it from its cache), never sent to clients. The node installs
/// one with `Hub::set_control` and subscribes the broker to its topics; the hub, which is the
/// broker's one sink, hands them over.
pub trait ControlSink: Send + Sync {
    /// A broadcast on a broker topic starting with [`CONTROL_PREFIX`].
    fn control(&self, topic: &str, payload: &[u8]);
    /// The broker reconnected: notices may have been missed (a cache should start over).
    fn missed(&self);
}

/// Broker topics of node-to-node notices start with this.
pub const CONTROL_PREFIX: &str = "control:";

/// The notice that sign-ins ended (sign-out, a disabled staff account, a voided participant...):
/// the payload is their token hashes, one per line. Every node's hub closes its live connections of
/// those sign-ins with 4001 at once, then hands the notice to the control sink (the sign-in cache).
pub const SIGNED_OUT: &str = "control:signed-out";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn topics_round_trip_through_their_names() {
        let id = Uuid::new_v4();
        for topic in [
            Topic::Jam(id),
            Topic::Session(id),
            Topic::Idea(id),
            Topic::Staff(id),
            Topic::Me(id),
        ] {
            assert_eq!(topic.to_string().parse::<Topic>(), Ok(topic));
        }
    }

    #[test]
    fn names_are_canonical_whatever_case_the_client_sent() {
        let id = Uuid::new_v4();
        let upper = format!("session:{}", id.to_string().to_uppercase());
        assert_eq!(
            upper.parse::<Topic>().unwrap().to_string(),
            format!("session:{id}")
        );
    }

    #[test]
    fn unknown_kinds_and_bad_ids_are_refused() {
        for bad in [
            "",
            "jam",
            "jam:",
            "jam:42",
            "vote:6f1c2e1a-0000-4000-8000-000000000000",
            "tally:jam:x",
        ] {
            assert_eq!(bad.parse::<Topic>(), Err(BadTopic), "{bad}");
        }
    }
}
