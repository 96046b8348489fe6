//! One step of the runner: record the transitions that are due, publish the unpublished ones.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use jam_broker::Broker;
use jam_domain::lifecycle::{self, JamState, SessionState};
use jam_protocol::live::{Event, jam_topic, session_topic};
use jam_store::entity::transitions;
use jam_store::schedule::{self, NewTransition, SubjectKind};
use jam_store::sea_orm::DatabaseConnection;

use crate::OrchestratorError;

/// How long a broker remembers that a transition was published (the dedupe window).
const DEDUPE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Transitions claimed per database round trip.
const CLAIM_BATCH: u64 = 100;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepReport {
    pub recorded: usize,
    pub published: usize,
}

/// Records, for every scheduled jam, the transitions due up to `now` that are not recorded yet.
pub async fn record_due(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<usize, OrchestratorError> {
    let mut recorded = 0;
    for jam in schedule::active_jams(db, now).await? {
        let last = schedule::last_transitions(db, jam.jam.id).await?;
        let jam_times = jam.times();
        let mut due = Vec::new();

        let (from, after, seq) = last.get(&jam.jam.id).map_or((JamState::Draft, None, 0), |l| {
            (l.to_state.parse().unwrap_or(JamState::Draft), Some(l.at), l.seq)
        });
        let points = lifecycle::jam_change_points(&jam_times);
        let manual: Vec<_> = [jam.jam.scheduled_at, jam.jam.closed_at, jam.jam.published_at]
            .into_iter()
            .flatten()
            .collect();
        let mut prev = from;
        for (i, (at, state)) in
            lifecycle::changes(from, after, now, points, |t| lifecycle::jam_state(&jam_times, t))
                .into_iter()
                .enumerate()
        {
            due.push(NewTransition {
                jam_id: jam.jam.id,
                subject_kind: SubjectKind::Jam,
                subject_id: jam.jam.id,
                seq: seq + 1 + i as i32,
                from_state: prev.as_str().to_owned(),
                to_state: state.as_str().to_owned(),
                at,
                manual: manual.contains(&at),
            });
            prev = state;
        }

        for session in &jam.sessions {
            let times = jam.session_times(session);
            let (from, after, seq) = last
                .get(&session.id)
                .map_or((SessionState::Scheduled, None, 0), |l| {
                    (
                        l.to_state.parse().unwrap_or(SessionState::Scheduled),
                        Some(l.at),
                        l.seq,
                    )
                });
            let points = lifecycle::session_change_points(&jam_times, &times);
            let mut prev = from;
            let state_at = |t| lifecycle::session_state(&jam_times, &times, t);
            for (i, (at, state)) in lifecycle::changes(from, after, now, points, state_at)
                .into_iter()
                .enumerate()
            {
                due.push(NewTransition {
                    jam_id: jam.jam.id,
                    subject_kind: SubjectKind::Session,
                    subject_id: session.id,
                    seq: seq + 1 + i as i32,
                    from_state: prev.as_str().to_owned(),
                    to_state: state.as_str().to_owned(),
                    at,
                    manual: times.manual.is_some_and(|(_, m)| m == at) || manual.contains(&at),
                });
                prev = state;
            }
        }
        recorded += schedule::record(db, due, now).await?;
    }
    Ok(recorded)
}

/// Claims and publishes unpublished transitions, oldest first. Returns how many this node published.
pub async fn publish_pending(
    db: &DatabaseConnection,
    broker: &dyn Broker,
    node: &str,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> Result<usize, OrchestratorError> {
    let mut published = 0;
    loop {
        let claimed = schedule::claim_unpublished(db, node, now, stale_before, CLAIM_BATCH).await?;
        if claimed.is_empty() {
            return Ok(published);
        }
        let count = claimed.len() as u64;
        for (i, t) in claimed.iter().enumerate() {
            if let Err(error) = publish_one(broker, t).await {
                // Hand the rest back at once rather than after the claim timeout.
                let rest: Vec<_> = claimed[i..].iter().map(|t| t.id).collect();
                schedule::release_claims(db, &rest).await?;
                return Err(error);
            }
            schedule::mark_published(db, t.id, now).await?;
            published += 1;
        }
        if count < CLAIM_BATCH {
            return Ok(published);
        }
    }
}

async fn publish_one(broker: &dyn Broker, t: &transitions::Model) -> Result<(), OrchestratorError> {
    let event = to_event(t);
    // Serializing these plain enums cannot fail.
    let payload = Bytes::from(serde_json::to_vec(&event).unwrap_or_default());
    let mut topics = vec![jam_topic(t.jam_id)];
    if t.subject_kind == SubjectKind::Session.as_str() {
        topics.push(session_topic(t.subject_id));
    }
    for topic in topics {
        let key = format!("transition:{}:{topic}", t.id);
        broker
            .publish_once(&topic, &key, DEDUPE_TTL, payload.clone())
            .await?;
    }
    Ok(())
}

fn to_event(t: &transitions::Model) -> Event {
    if t.subject_kind == SubjectKind::Jam.as_str() {
        let state = t.to_state.parse().unwrap_or(JamState::Closed);
        return Event::JamState {
            jam_id: t.jam_id,
            state,
            at: t.at,
        };
    }
    let state: SessionState = t.to_state.parse().unwrap_or(SessionState::Closed);
    match state {
        SessionState::Open => Event::SessionOpened {
            jam_id: t.jam_id,
            session_id: t.subject_id,
            state,
            at: t.at,
        },
        SessionState::Closed | SessionState::Scheduled => Event::SessionClosed {
            jam_id: t.jam_id,
            session_id: t.subject_id,
            state,
            at: t.at,
        },
    }
}
