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

/// How long "no such session or idea" is remembered: a subscription to an id that does not exist
/// costs one database query per id and this long, however often it is asked for. Short, since the
/// id of an idea posted meanwhile becomes known on its own: nobody can guess a v7 id before.
const UNKNOWN_TOPIC_CACHE: Duration = Duration::from_secs(10);

/// Ids remembered as unknown at most; beyond, the expired ones go, and if none has, all of them.
const UNKNOWN_TOPICS_MAX: usize = 10_000;

/// Answers the hub from the database. Which jam a session or an idea belongs to never changes, so
/// those answers are kept for the life of the process; ids found to exist in no jam are remembered
/// for `UNKNOWN_TOPIC_CACHE`.
pub struct DbAuthorizer {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    /// Session or idea id → its jam.
    jam_of: Mutex<HashMap<Uuid, Uuid>>,
    /// Session or idea ids the database did not know, and when it said so.
    unknown: Mutex<HashMap<Uuid, Instant>>,
    /// Database lookups of a topic's jam so far.
    lookups: std::sync::atomic::AtomicU64,
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
            unknown: Mutex::default(),
            lookups: std::sync::atomic::AtomicU64::new(0),
            sign_ins: SignIns::default(),
        }
    }

    /// Database lookups of a topic's jam so far (what the caches save shows here).
    pub fn lookups(&self) -> u64 {
        self.lookups.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn known_unknown(&self, id: Uuid, now: Instant) -> bool {
        let unknown = self.unknown.lock().unwrap_or_else(|p| p.into_inner());
        unknown
            .get(&id)
            .is_some_and(|at| now.saturating_duration_since(*at) < UNKNOWN_TOPIC_CACHE)
    }

    fn remember_unknown(&self, id: Uuid, now: Instant) {
        let mut unknown = self.unknown.lock().unwrap_or_else(|p| p.into_inner());
        if unknown.len() >= UNKNOWN_TOPICS_MAX {
            unknown.retain(|_, at| now.saturating_duration_since(*at) < UNKNOWN_TOPIC_CACHE);
            if unknown.len() >= UNKNOWN_TOPICS_MAX {
                unknown.clear();
            }
        }
        unknown.insert(id, now);
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
        let now = Instant::now();
        if self.known_unknown(id, now) {
            return None;
        }
        self.lookups.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let found = match *topic {
            Topic::Session(id) => jam_store::jams::session_jam(&self.db, id).await,
            Topic::Idea(id) => jam_store::ideas::by_id(&self.db, id)
                .await
                .map(|idea| idea.map(|i| i.jam_id)),
            Topic::Jam(_) | Topic::Staff(_) | Topic::Me(_) => Ok(None),
        };
        let jam = match found {
            Ok(Some(jam)) => jam,
            // Only an answer is remembered; a failed query is asked again next time.
            Ok(None) => {
                self.remember_unknown(id, now);
                return None;
            }
            Err(_) => return None,
        };
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
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Subscriptions to ids that exist in no jam cost one lookup per id and `UNKNOWN_TOPIC_CACHE`,
    /// however often they are asked for; each new id costs its own.
    #[tokio::test]
    async fn an_unknown_topic_is_looked_up_once_while_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let db = jam_store::connect(&jam_store::DbSettings {
            url: format!("sqlite://{}", dir.path().join("t.db").display()),
            max_connections: 2,
            min_connections: 1,
            connect_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(10),
        })
        .await
        .unwrap();
        jam_store::migrate(&db).await.unwrap();
        let authorizer = DbAuthorizer::new(db, Arc::new(jam_domain::SystemClock));
        let staff = Principal::Staff {
            id: jam_domain::StaffId::new(),
            role: jam_domain::Role::Admin,
        };
        let ghost = Uuid::now_v7();
        for topic in [Topic::Session(ghost), Topic::Idea(ghost)] {
            for _ in 0..50 {
                assert!(!authorizer.can_read(&staff, &topic).await);
            }
        }
        assert_eq!(authorizer.lookups(), 1, "one lookup for the one unknown id");
        assert!(!authorizer.can_read(&staff, &Topic::Session(Uuid::now_v7())).await);
        assert_eq!(authorizer.lookups(), 2, "another id is looked up");
    }

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
