//! One builder per table: a complete row that can be inserted as it is, with a fresh v7 id, times
//! of [`now`], zero counters, visible posts and the Wilson method. Parents are passed as rows, so
//! the foreign keys (jam, session, audience, …) come from them and cannot be swapped.
//!
//! Rows that production code creates are made by the entity's own constructor, so builder and
//! production agree on every defaulted column; the rest are written out here, the one place in
//! the tests that names every column of them. Change a field with [`With::with`]:
//!
//! ```ignore
//! let hidden = rows::idea(&session, &author).with(|i| i.status = ItemStatus::Hidden);
//! ```

use chrono::{DateTime, Duration, Utc};
use jam_domain::ranking::Method;
use jam_domain::{AudienceId, IdeaId, JamId, NotificationKind, ParticipantId, VoteValue};
use jam_store::entity::{
    announcements, audiences, audit_log, auth_sessions, comments, flags, follows, idea_themes, ideas,
    inboxes, jams, notifications, participants, poll_answers, polls, sessions, shortlist_curation,
    shortlist_snapshots, staff, tally_leaves, theme_runs, themes, transitions, votes,
};
use uuid::Uuid;

/// Changes a row in the expression that builds it: `rows::jam().with(|j| j.slug = "x".into())`.
pub trait With: Sized {
    fn with(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self
    }
}

impl<M: sea_orm::ModelTrait> With for M {}

/// Now, truncated to microseconds (PostgreSQL's precision), so rows read back compare equal.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// A short unique suffix for unique columns (slugs, invite codes, e-mails).
fn unique() -> String {
    Uuid::new_v4().simple().to_string()
}

/// A facilitator account with a unique e-mail.
pub fn staff() -> staff::Model {
    staff::Model::new(
        format!("fran-{}@example.org", unique()),
        "Fran Facilitator".into(),
        "facilitator".into(),
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        now(),
    )
}

/// A live jam: scheduled, starting now and ending in 72 hours, ranked by Wilson with a shortlist
/// of 10, with a unique slug.
pub fn jam() -> jams::Model {
    let t = now();
    let new = jams::NewJam {
        slug: format!("jam-{}", unique()),
        title: "Future of work".into(),
        description: "Three days of ideas.".into(),
        guidelines: "Be kind.".into(),
        starts_at: t,
        ends_at: t + Duration::hours(72),
        voting_method: Method::Wilson,
        shortlist_size: 10,
        created_by: None,
    };
    jams::Model::draft(new, t).with(|j| j.scheduled_at = Some(t))
}

/// The jam's first audience, `employee`, with a unique invite code.
pub fn audience(jam: &jams::Model) -> audiences::Model {
    audiences::Model::new(jam.id, "employee".into(), format!("code-{}", unique()), 0)
}

/// A session open for its jam's whole window (no manual override).
pub fn session(jam: &jams::Model) -> sessions::Model {
    sessions::Model::new(
        jam.id,
        "Time".into(),
        "How we spend it.".into(),
        jam.starts_at,
        jam.ends_at,
        now(),
    )
}

/// A participant of the audience (and so of its jam).
pub fn participant(audience: &audiences::Model) -> participants::Model {
    participants::Model::joined(audience, "Pat".into(), None, now())
}

/// A visible idea in the session by `author`, with two tags and no votes.
pub fn idea(session: &sessions::Model, author: &participants::Model) -> ideas::Model {
    ideas::Model::posted(
        session,
        author.id,
        "Four-day week".into(),
        "Try it for a quarter.".into(),
        &["time".into(), "pilot".into()],
        now(),
    )
}

/// A visible top-level comment on the idea by `author`.
pub fn comment(idea: &ideas::Model, author: &participants::Model) -> comments::Model {
    comments::Model::posted(idea, None, author.id, "Yes, and measure it.".into(), now())
}

/// `voter`'s vote on the idea, in the voter's audience.
pub fn vote(idea: &ideas::Model, voter: &participants::Model, value: VoteValue) -> votes::Model {
    votes::Model::new(
        IdeaId(idea.id),
        ParticipantId(voter.id),
        JamId(idea.jam_id),
        AudienceId(voter.audience_id),
        value,
        now(),
    )
}

/// An announcement to the jam by nobody in particular.
pub fn announcement(jam: &jams::Model) -> announcements::Model {
    announcements::Model::new(jam.id, None, "Session 2 opens at noon.".into(), now())
}

/// A sign-in of the staff member for 14 days, keyed by a random 64-hex-digit token hash.
pub fn staff_sign_in(staff: &staff::Model) -> auth_sessions::Model {
    let t = now();
    auth_sessions::Model::for_staff(token_hash(), staff.id, t, t + Duration::days(14))
}

/// A sign-in of the participant for 14 days, keyed by a random 64-hex-digit token hash.
pub fn participant_sign_in(participant: &participants::Model) -> auth_sessions::Model {
    let t = now();
    auth_sessions::Model::for_participant(token_hash(), participant.id, t, t + Duration::days(14))
}

fn token_hash() -> String {
    format!("{}{}", unique(), unique())
}

/// `flagger` flags the idea as off topic.
pub fn flag(idea: &ideas::Model, flagger: &participants::Model) -> flags::Model {
    flags::Model {
        id: Uuid::now_v7(),
        jam_id: idea.jam_id,
        participant_id: flagger.id,
        target_kind: "idea".into(),
        target_id: idea.id,
        reason: "off topic".into(),
        created_at: now(),
        counts: true,
        decided: false,
    }
}

/// The system's audit entry for the jam going live.
pub fn audit(jam: &jams::Model) -> audit_log::Model {
    audit_log::Model {
        id: Uuid::now_v7(),
        jam_id: Some(jam.id),
        actor_kind: "system".into(),
        actor_id: None,
        action: "jam.live".into(),
        subject_kind: "jam".into(),
        subject_id: Some(jam.id),
        detail: "{}".into(),
        at: now(),
    }
}

/// The jam's first transition, `scheduled` → `live` on schedule, recorded now and not yet
/// published.
pub fn transition(jam: &jams::Model) -> transitions::Model {
    let t = now();
    transitions::Model {
        id: Uuid::now_v7(),
        jam_id: jam.id,
        subject_kind: "jam".into(),
        subject_id: jam.id,
        seq: 1,
        from_state: "scheduled".into(),
        to_state: "live".into(),
        at: t,
        cause: "schedule".into(),
        recorded_at: t,
        published_at: None,
        claimed_by: None,
        claimed_at: None,
    }
}

/// A curation decision pinning the idea, by nobody in particular.
pub fn curation(idea: &ideas::Model) -> shortlist_curation::Model {
    shortlist_curation::Model {
        id: Uuid::now_v7(),
        jam_id: idea.jam_id,
        idea_id: idea.id,
        action: "pin".into(),
        reason: String::new(),
        staff_id: None,
        created_at: now(),
    }
}

/// An empty published shortlist of the jam.
pub fn snapshot(jam: &jams::Model) -> shortlist_snapshots::Model {
    let t = now();
    shortlist_snapshots::Model {
        id: Uuid::now_v7(),
        jam_id: jam.id,
        method: Method::Wilson.as_str().to_owned(),
        params: "{}".into(),
        computed_at: t,
        published_at: t,
        published_by: None,
        digest: "0".repeat(64),
        items: "[]".into(),
    }
}

/// A cached digest leaf of the idea at its current `votes_rev`, of no votes.
pub fn tally_leaf(idea: &ideas::Model) -> tally_leaves::Model {
    tally_leaves::Model {
        idea_id: idea.id,
        rev: idea.votes_rev,
        votes: 0,
        leaf: vec![0; 32],
    }
}

/// `recipient` hears that someone replied to the idea (no comment, actor or excerpt).
pub fn notification(idea: &ideas::Model, recipient: &participants::Model) -> notifications::Model {
    notifications::Model::about(recipient.id, NotificationKind::Reply, idea, now())
}

/// `follower` follows the idea.
pub fn follow(idea: &ideas::Model, follower: &participants::Model) -> follows::Model {
    follows::Model {
        idea_id: idea.id,
        participant_id: follower.id,
        created_at: now(),
    }
}

/// The participant's inbox with nothing read yet.
pub fn inbox(participant: &participants::Model) -> inboxes::Model {
    inboxes::Model {
        participant_id: participant.id,
        read_until: None,
        updated_at: now(),
    }
}

/// A yes/no poll to the session, open for an hour, asked by nobody in particular.
pub fn poll(session: &sessions::Model) -> polls::Model {
    polls::Model::asked(
        session,
        "Shall we?".into(),
        &["Yes".into(), "No".into()],
        now() + Duration::hours(1),
        None,
        now(),
    )
}

/// The participant's answer "Yes" (option 0) to the poll.
pub fn poll_answer(poll: &polls::Model, participant: &participants::Model) -> poll_answers::Model {
    poll_answers::Model {
        poll_id: poll.id,
        participant_id: participant.id,
        choice: 0,
        created_at: now(),
    }
}

/// A theme of the jam's latest run, of no ideas yet, labelled with three terms, run now.
pub fn theme(jam: &jams::Model) -> themes::Model {
    themes::Model {
        id: Uuid::now_v7(),
        jam_id: jam.id,
        label: themes::label_json(&["canteen".into(), "menu".into(), "lunch".into()]),
        size: 0,
        run_at: now(),
    }
}

/// The idea's theme (the idea's jam must be the theme's).
pub fn idea_theme(idea: &ideas::Model, theme: &themes::Model) -> idea_themes::Model {
    idea_themes::Model {
        idea_id: idea.id,
        jam_id: idea.jam_id,
        theme_id: theme.id,
    }
}

/// The jam's last clustering run, now, of no ideas.
pub fn theme_run(jam: &jams::Model) -> theme_runs::Model {
    theme_runs::Model {
        jam_id: jam.id,
        run_at: now(),
        ideas: 0,
        ideas_updated_at: None,
    }
}
