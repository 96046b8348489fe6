//! Models to wire views. Staff see invite codes; participants do not.

use chrono::{DateTime, Utc};
use jam_protocol::api::{AudienceView, JamView, SessionView, Voting, VotingMethod};
use jam_store::JamFull;
use jam_store::entity::sessions;

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
            })
            .collect(),
        voting: Voting {
            method: VotingMethod::parse(&j.voting_method).unwrap_or(VotingMethod::Wilson),
        },
        shortlist_size: j.shortlist_size.max(0) as u32,
        sessions: jam.sessions.iter().map(|s| session_view(jam, s, now)).collect(),
        now,
    }
}
