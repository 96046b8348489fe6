//! Live protocol v1: frames and the events they carry.

use chrono::{DateTime, Utc};
use jam_domain::{JamState, SessionState};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::{CommentView, IdeaView};

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
}

/// Topic names.
pub fn jam_topic(jam_id: Uuid) -> String {
    format!("jam:{jam_id}")
}

pub fn session_topic(session_id: Uuid) -> String {
    format!("session:{session_id}")
}

pub fn idea_topic(idea_id: Uuid) -> String {
    format!("idea:{idea_id}")
}
