//! Models to wire views. Staff see invite codes; participants do not.

use chrono::{DateTime, Utc};
use jam_domain::ranking::shown_score;
use jam_protocol::api::{AudienceView, AuthorView, CommentView, IdeaView, JamView, SessionView, Voting};
use jam_store::JamFull;
use jam_store::entity::{comments, count, ideas, participants, sessions};

pub fn session_view(jam: &JamFull, s: &sessions::Model, now: DateTime<Utc>) -> SessionView {
    SessionView {
        id: s.id,
        jam_id: s.jam_id,
        title: s.title.clone(),
        description: s.description.clone(),
        opens_at: s.opens_at,
        closes_at: s.closes_at,
        state: jam.session_state(s, now),
    }
}

pub fn jam_view(jam: &JamFull, now: DateTime<Utc>, staff: bool) -> JamView {
    let j = &jam.jam;
    JamView {
        id: j.id,
        slug: j.slug.clone(),
        title: j.title.clone(),
        description: j.description.clone(),
        guidelines: j.guidelines.clone(),
        starts_at: j.starts_at,
        ends_at: j.ends_at,
        state: jam.state(now),
        audiences: jam
            .audiences
            .iter()
            .map(|a| AudienceView {
                name: a.name.clone(),
                invite_code: staff.then(|| a.invite_code.clone()),
                join_path: staff.then(|| format!("/j/{}?code={}", j.slug, a.invite_code)),
                admission: a.admission,
            })
            .collect(),
        voting: Voting {
            method: j.voting_method,
        },
        shortlist_size: j.shortlist_size.max(0) as u32,
        auto_hide: j.auto_hide,
        hide_counts_until_voted: j.hide_counts_until_voted,
        sessions: jam.sessions.iter().map(|s| session_view(jam, s, now)).collect(),
        now,
    }
}

/// An author as others see them; the audience name comes from the jam already loaded.
pub fn author_view(jam: &JamFull, id: uuid::Uuid, author: Option<&participants::Model>) -> AuthorView {
    AuthorView {
        id,
        display_name: author.map(|p| p.display_name.clone()).unwrap_or_default(),
        audience: author
            .and_then(|p| jam.audiences.iter().find(|a| a.id == p.audience_id))
            .map(|a| a.name.clone())
            .unwrap_or_default(),
    }
}

pub fn idea_view(idea: &ideas::Model, author: AuthorView, my_vote: i16) -> IdeaView {
    IdeaView {
        id: idea.id,
        jam_id: idea.jam_id,
        session_id: idea.session_id,
        author,
        title: idea.title.clone(),
        body: idea.body.clone(),
        tags: serde_json::from_str(&idea.tags).unwrap_or_default(),
        created_at: idea.created_at,
        edited_at: idea.edited_at,
        status: idea.status,
        merged_into: idea.merged_into,
        up: count(idea.up),
        down: count(idea.down),
        score: shown_score(count(idea.up), count(idea.down)),
        comments: count(idea.comments),
        my_vote: my_vote.clamp(-1, 1) as i8,
        sentiment: idea.sentiment,
        sentiment_score: idea.sentiment_score,
        following: None,
        counts_hidden: false,
        // Staff only: the routes that answer staff add it (`routes::participation::idea_views`).
        impressions: None,
    }
}

/// Whether `caller`'s view of an idea they gave `my_vote` hides its counts: participants of a
/// jam with `hide_counts_until_voted`, until they vote on it. Staff always see them.
pub fn counts_hidden(jam: &JamFull, staff: bool, my_vote: i8) -> bool {
    jam.jam.hide_counts_until_voted && !staff && my_vote == 0
}

/// Blanks an idea's counts (see [`counts_hidden`]): nothing of them is left to read.
pub fn hide_counts(view: &mut IdeaView) {
    view.up = 0;
    view.down = 0;
    view.score = 0.0;
    view.counts_hidden = true;
}

pub fn comment_view(comment: &comments::Model, author: AuthorView) -> CommentView {
    CommentView {
        id: comment.id,
        idea_id: comment.idea_id,
        parent_id: comment.parent_id,
        author,
        body: comment.body.clone(),
        created_at: comment.created_at,
        status: comment.status,
        sentiment: comment.sentiment,
        sentiment_score: comment.sentiment_score,
    }
}
