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
    /// Sign-in (token hash) → (still valid, when checked).
    sign_ins: Mutex<HashMap<String, (bool, Instant)>>,
}

impl DbAuthorizer {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            clock,
            jam_of: Mutex::default(),
            sign_ins: Mutex::default(),
        }
    }

    async fn jam_of(&self, topic: &Topic) -> Option<Uuid> {
        let id = match *topic {
            Topic::Jam(id) => return Some(id),
            Topic::Session(id) | Topic::Idea(id) => id,
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
            Topic::Jam(_) => None,
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
        match self.jam_of(topic).await {
            Some(jam) => principal.is_member_of(jam.into()),
            None => false,
        }
    }

    async fn still_signed_in(&self, session_id: &str) -> bool {
        let cached = self
            .sign_ins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(session_id)
            .copied();
        if let Some((valid, at)) = cached
            && at.elapsed() < SIGN_IN_CACHE
        {
            return valid;
        }
        let valid = match jam_store::auth::principal_for(&self.db, session_id, self.clock.now()).await {
            Ok(found) => found.is_some(),
            // A database hiccup must not sign a crowd out: keep the last answer (or assume yes).
            Err(_) => cached.is_none_or(|(valid, _)| valid),
        };
        let mut cache = self.sign_ins.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 100_000 {
            cache.retain(|_, (_, at)| at.elapsed() < SIGN_IN_CACHE);
        }
        cache.insert(session_id.to_owned(), (valid, Instant::now()));
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
        coalesce: Duration::from_millis(live.coalesce_ms),
    }
}
