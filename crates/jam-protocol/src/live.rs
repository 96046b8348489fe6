//! Live protocol v1: frames and the events they carry.

use chrono::{DateTime, Utc};
use jam_domain::{JamState, SessionState};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::{CommentView, IdeaView, NotificationView, PollView};

/// The payload of an `event` frame, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Event {
    #[serde(rename = "session.opened")]
    SessionOpened {
        jam_id: Uuid,
        session_id: Uuid,
        state: SessionState,
        at: DateTime<Utc>,
    },
    #[serde(rename = "session.closed")]
    SessionClosed {
        jam_id: Uuid,
        session_id: Uuid,
        state: SessionState,
        at: DateTime<Utc>,
    },
    #[serde(rename = "jam.state")]
    JamState {
        jam_id: Uuid,
        state: JamState,
        at: DateTime<Utc>,
    },
    #[serde(rename = "announcement")]
    Announcement {
        jam_id: Uuid,
        id: Uuid,
        text: String,
        created_at: DateTime<Utc>,
    },
    /// A new idea, on `session:{id}` and (as the jam's ticker) on `jam:{id}`. `my_vote` is 0.
    #[serde(rename = "idea.created")]
    IdeaCreated { idea: Box<IdeaView> },
    /// An idea changed (edit; later hide, restore, remove, merge), on `idea:{id}` and `session:{id}`.
    #[serde(rename = "idea.updated")]
    IdeaUpdated { idea: Box<IdeaView> },
    /// A new comment, on `idea:{id}`.
    #[serde(rename = "comment.created")]
    CommentCreated { comment: Box<CommentView> },
    /// A comment changed (hide, restore, remove), on `idea:{id}`.
    #[serde(rename = "comment.updated")]
    CommentUpdated { comment: Box<CommentView> },
    /// A new entry of the caller's inbox, on `me:{participant_id}` only (announcements come on
    /// `jam:{id}` as `announcement`; the inbox merges them).
    #[serde(rename = "notification")]
    Notification { notification: Box<NotificationView> },
    /// A facilitator asked the session a quick poll, on `session:{id}`.
    #[serde(rename = "poll.created")]
    PollCreated { poll: Box<PollView> },
    /// A poll's results changed (absolute counts), on `session:{id}`.
    #[serde(rename = "poll.updated")]
    PollUpdated { poll: Box<PollView> },
    /// The jam's themes were recomputed (`GET /jams/{slug}/themes` has the new run), on `jam:{id}`;
    /// a page showing themes refetches them.
    #[serde(rename = "themes.updated")]
    ThemesUpdated {
        jam_id: Uuid,
        /// The server-clock time of the run.
        run_at: DateTime<Utc>,
        /// Themes the run found.
        themes: u32,
    },
    /// The jam's negative share rose above `pulse.negative_alert_share` over the last
    /// `pulse.alert_window_minutes`: once per crossing, on `staff:{jam_id}` only.
    #[serde(rename = "mood.alert")]
    MoodAlert {
        jam_id: Uuid,
        /// The negative share over the window when it fired, in [0, 1].
        negative_share: f64,
        threshold: f64,
        window_minutes: u32,
        /// Posts (ideas and comments) in the window.
        posts: u32,
        /// The server-clock minute it fired at.
        at: DateTime<Utc>,
    },
}

/// Topic names.
pub fn jam_topic(jam_id: Uuid) -> String {
    format!("jam:{jam_id}")
}

pub fn session_topic(session_id: Uuid) -> String {
    format!("session:{session_id}")
}

/// The jam's staff-only topic (mood alerts): readable by staff, never by participants.
pub fn staff_topic(jam_id: Uuid) -> String {
    format!("staff:{jam_id}")
}

/// A participant's own topic (their inbox): readable by that participant only.
pub fn me_topic(participant_id: Uuid) -> String {
    format!("me:{participant_id}")
}

pub fn idea_topic(idea_id: Uuid) -> String {
    format!("idea:{idea_id}")
}

/// What the broker topics of live tallies start with: the tally ticker broadcasts the counts of a
/// session on `tally:session:{id}` ([`tally_topic`]), and each node's hub hands them to the
/// subscribers of `session:{id}` ([`tallied_topic`]).
const TALLY_PREFIX: &str = "tally:";

/// The broker topic that carries the live tallies of a client topic.
pub fn tally_topic(topic: &str) -> String {
    format!("{TALLY_PREFIX}{topic}")
}

/// The client topic whose tallies a broker topic carries, if it is a tally topic.
pub fn tallied_topic(broker_topic: &str) -> Option<&str> {
    broker_topic.strip_prefix(TALLY_PREFIX)
}

/// The payload of a live tally: the counts of the ideas of one session that changed since the last
/// tick. Broadcast on `tally_topic(session_topic(id))` only: an idea's page reads its counts from its
/// session's tallies, so each change reaches each open page once. A subscriber receives it as
/// `{"type":"tally","topic":T,"ideas":[…]}` (`docs/live.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TallyMessage {
    pub ideas: Vec<TallyIdea>,
}

/// One idea's counts in a [`TallyMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TallyIdea {
    pub id: Uuid,
    pub up: u32,
    pub down: u32,
    /// [`jam_domain::ranking::shown_score`] of `up` and `down`.
    pub score: f64,
}

impl TallyIdea {
    pub fn new(id: Uuid, up: u32, down: u32) -> Self {
        Self {
            id,
            up,
            down,
            score: jam_domain::ranking::shown_score(up, down),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_topic_names_the_topic_it_carries_the_counts_of() {
        let topic = session_topic(Uuid::nil());
        assert_eq!(tally_topic(&topic), format!("tally:{topic}"));
        assert_eq!(tallied_topic(&tally_topic(&topic)), Some(topic.as_str()));
        assert_eq!(tallied_topic(&topic), None);
    }

    #[test]
    fn a_tally_idea_carries_the_score_shown_for_its_counts() {
        let idea = TallyIdea::new(Uuid::nil(), 8, 2);
        assert_eq!(idea.score, jam_domain::ranking::wilson_lower_bound(8, 2));
        assert!(idea.score > 0.0 && idea.score < 0.8);
    }
}
