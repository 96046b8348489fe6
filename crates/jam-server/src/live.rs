//! The live endpoint `GET /api/v1/live`: signs the caller in from the cookie and hands the socket to
//! the hub (`jam-hub`), which checks Origin and owns the connection from then on. The hub asks this
//! module, through `DbAuthorizer`, which topics a caller may read and whether a sign-in still holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use async_trait::async_trait;
use jam_domain::{Clock, Principal};
use jam_hub::{HubSettings, Topic, TopicAuthorizer};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::settings::Settings;
use crate::state::AppState;

/// How long a "still signed in" answer is reused: every connection asks each ping interval, and a
/// node holds thousands, so sign-outs take effect on live sockets within this time.
const SIGN_IN_CACHE: Duration = Duration::from_secs(60);

/// Upgrades to the live protocol (`shared/spec/live.md`).
pub async fn connect(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    state
        .hub
        .upgrade(&req, body, caller.principal, caller.session_id)
        .map_err(|e| ApiError::Malformed(format!("cannot open the live connection: {e}")))
}

/// Answers the hub from the database. Which jam a session or an idea belongs to never changes, so
/// those answers are kept for the life of the process.
pub struct DbAuthorizer {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    /// Session or idea id → its jam.
    jam_of: Mutex<HashMap<Uuid, Uuid>>,
    sign_ins: SignIns,
}

/// "Still signed in?" answers by sign-in (token hash), shared by every connection of that sign-in:
/// at most one database check per sign-in per `SIGN_IN_CACHE`, however many connections ask at
/// once. Heartbeats come in waves (connections open together), and before this every connection of
/// a sign-in whose answer had expired queried the database in the same second: 22,000 queries in a
/// minute at 19,000 connections, which starved the API of pool connections.
#[derive(Default)]
struct SignIns(Mutex<HashMap<String, (bool, Instant)>>);

/// What `SignIns::answer` tells a caller.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Known(bool),
    /// This caller asks the database and records the answer; `last` is the answer to fall back on.
    Check {
        last: bool,
    },
}

impl SignIns {
    /// The answer if it is fresh; otherwise this caller is to check, and until it records the new
    /// answer everyone else gets the last one. An unknown sign-in counts as valid meanwhile: the
    /// connection asking was signed in when it upgraded, moments ago.
    fn answer(&self, session_id: &str, now: Instant) -> Answer {
        let mut known = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let last = match known.get(session_id) {
            Some(&(valid, at)) if now.saturating_duration_since(at) < SIGN_IN_CACHE => {
                return Answer::Known(valid);
            }
            Some(&(valid, _)) => valid,
            None => true,
        };
        if known.len() > 100_000 {
            known.retain(|_, (_, at)| now.saturating_duration_since(*at) < SIGN_IN_CACHE);
        }
        known.insert(session_id.to_owned(), (last, now));
        Answer::Check { last }
    }

    fn record(&self, session_id: &str, valid: bool, now: Instant) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session_id.to_owned(), (valid, now));
    }
}

impl DbAuthorizer {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            clock,
            jam_of: Mutex::default(),
            sign_ins: SignIns::default(),
        }
    }

    async fn jam_of(&self, topic: &Topic) -> Option<Uuid> {
        let id = match *topic {
            Topic::Jam(id) | Topic::Staff(id) => return Some(id),
            Topic::Session(id) | Topic::Idea(id) => id,
            // Answered by `can_read` without a jam.
            Topic::Me(_) => return None,
        };
        if let Some(jam) = self.jam_of.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return Some(*jam);
        }
        let jam = match *topic {
            Topic::Session(id) => jam_store::jams::session_jam(&self.db, id).await.ok().flatten(),
            Topic::Idea(id) => jam_store::ideas::by_id(&self.db, id)
                .await
                .ok()
                .flatten()
                .map(|i| i.jam_id),
            Topic::Jam(_) | Topic::Staff(_) | Topic::Me(_) => None,
        }?;
        self.jam_of
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, jam);
        Some(jam)
    }
}

#[async_trait]
impl TopicAuthorizer for DbAuthorizer {
    async fn can_read(&self, principal: &Principal, topic: &Topic) -> bool {
        // The staff topic carries what participants must not see (mood alerts).
        if matches!(topic, Topic::Staff(_)) && !principal.is_staff() {
            return false;
        }
        // A participant's inbox is theirs alone (staff have none).
        if let Topic::Me(id) = *topic {
            return matches!(principal, Principal::Participant { id: me, .. } if me.0 == id);
        }
        match self.jam_of(topic).await {
            Some(jam) => principal.is_member_of(jam.into()),
            None => false,
        }
    }

    async fn still_signed_in(&self, session_id: &str) -> bool {
        let last = match self.sign_ins.answer(session_id, Instant::now()) {
            Answer::Known(valid) => return valid,
            Answer::Check { last } => last,
        };
        let valid = match jam_store::auth::principal_for(&self.db, session_id, self.clock.now()).await {
            Ok(found) => found.is_some(),
            // A database hiccup must not sign a crowd out: keep the last answer.
            Err(_) => last,
        };
        self.sign_ins.record(session_id, valid, Instant::now());
        valid
    }
}

/// The hub's settings from ours.
pub fn hub_settings(settings: &Settings, node_id: &str) -> HubSettings {
    let live = &settings.live;
    HubSettings {
        allowed_origin: settings.server.public_origin.clone(),
        queue_capacity: live.queue_capacity,
        max_frame_bytes: live.max_frame_bytes,
        max_subscriptions: live.max_subscriptions,
        ping_interval: Duration::from_secs(live.ping_interval_secs),
        client_timeout: Duration::from_secs(live.client_timeout_secs),
        presence_interval: Duration::from_secs(live.presence_interval_secs),
        node_id: node_id.to_owned(),
        max_connections: live.max_connections,
        max_connections_per_sign_in: live.max_connections_per_sign_in,
        coalesce: Duration::from_millis(live.coalesce_ms),
        messages_per_sec: live.messages_per_sec,
        message_burst: live.message_burst,
        replays_per_topic_per_minute: live.replays_per_topic_per_minute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_caller_per_sign_in_checks_an_expired_answer_while_the_others_reuse_the_last() {
        let sign_ins = SignIns::default();
        let t0 = Instant::now();
        // Unknown: the first asker checks; everyone asking meanwhile is told "valid".
        assert_eq!(sign_ins.answer("s", t0), Answer::Check { last: true });
        for _ in 0..1000 {
            assert_eq!(sign_ins.answer("s", t0), Answer::Known(true));
        }
        sign_ins.record("s", false, t0);
        assert_eq!(sign_ins.answer("s", t0 + SIGN_IN_CACHE / 2), Answer::Known(false));
        // Expired: again one check, the others keep the last answer until it is recorded.
        let later = t0 + SIGN_IN_CACHE;
        assert_eq!(sign_ins.answer("s", later), Answer::Check { last: false });
        assert_eq!(sign_ins.answer("s", later), Answer::Known(false));
        sign_ins.record("s", true, later);
        assert_eq!(sign_ins.answer("s", later), Answer::Known(true));
        // Sign-ins are independent.
        assert_eq!(sign_ins.answer("other", later), Answer::Check { last: true });
    }
}
