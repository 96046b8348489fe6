//! Jams with their audiences and sessions, and the writes facilitators make to them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use jam_domain::lifecycle::{self, JamState, JamTimes, ManualAction, SessionState, SessionTimes};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{announcements, audiences, comments, ideas, jams, participants, sessions, votes};

/// A jam as the routes need it: the row, its audiences in order, its sessions by opening time.
#[derive(Debug, Clone)]
pub struct JamFull {
    pub jam: jams::Model,
    pub audiences: Vec<audiences::Model>,
    pub sessions: Vec<sessions::Model>,
}

impl JamFull {
    pub fn times(&self) -> JamTimes {
        times_of(&self.jam)
    }

    pub fn state(&self, now: DateTime<Utc>) -> JamState {
        lifecycle::jam_state(&self.times(), now)
    }

    pub fn session_times(&self, s: &sessions::Model) -> SessionTimes {
        session_times_of(s)
    }

    pub fn session_state(&self, s: &sessions::Model, now: DateTime<Utc>) -> SessionState {
        lifecycle::session_state(&self.times(), &session_times_of(s), now)
    }

    pub fn session(&self, id: Uuid) -> Option<&sessions::Model> {
        self.sessions.iter().find(|s| s.id == id)
    }
}

pub fn times_of(jam: &jams::Model) -> JamTimes {
    JamTimes {
        starts_at: jam.starts_at,
        ends_at: jam.ends_at,
        scheduled_at: jam.scheduled_at,
        closed_at: jam.closed_at,
        published_at: jam.published_at,
    }
}

pub fn session_times_of(s: &sessions::Model) -> SessionTimes {
    let manual = match (s.manual_state.as_deref(), s.manual_at) {
        (Some("open"), Some(at)) => Some((ManualAction::Open, at)),
        (Some("closed"), Some(at)) => Some((ManualAction::Close, at)),
        _ => None,
    };
    SessionTimes {
        opens_at: s.opens_at,
        closes_at: s.closes_at,
        manual,
    }
}

/// Loads audiences and sessions for several jams in two queries.
pub async fn load_full(
    db: &impl ConnectionTrait,
    jams: Vec<jams::Model>,
) -> Result<Vec<JamFull>, StoreError> {
    if jams.is_empty() {
        return Ok(Vec::new());
    }
    let (mut auds, mut sess) = load_parts(db, jams.iter().map(|j| j.id).collect()).await?;
    Ok(jams
        .into_iter()
        .map(|jam| JamFull {
            audiences: auds.remove(&jam.id).unwrap_or_default(),
            sessions: sess.remove(&jam.id).unwrap_or_default(),
            jam,
        })
        .collect())
}

type PartsByJam = (
    HashMap<Uuid, Vec<audiences::Model>>,
    HashMap<Uuid, Vec<sessions::Model>>,
);

async fn load_parts(db: &impl ConnectionTrait, ids: Vec<Uuid>) -> Result<PartsByJam, StoreError> {
    let mut auds: HashMap<Uuid, Vec<audiences::Model>> = HashMap::new();
    for a in audiences::Entity::find()
        .filter(audiences::Column::JamId.is_in(ids.clone()))
        .order_by_asc(audiences::Column::Position)
        .all(db)
        .await?
    {
        auds.entry(a.jam_id).or_default().push(a);
    }
    let mut sess: HashMap<Uuid, Vec<sessions::Model>> = HashMap::new();
    for s in sessions::Entity::find()
        .filter(sessions::Column::JamId.is_in(ids))
        .order_by_asc(sessions::Column::OpensAt)
        .order_by_asc(sessions::Column::Id)
        .all(db)
        .await?
    {
        sess.entry(s.jam_id).or_default().push(s);
    }
    Ok((auds, sess))
}

async fn row_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<jams::Model>, StoreError> {
    Ok(jams::Entity::find()
        .filter(jams::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<JamFull>, StoreError> {
    match row_by_slug(db, slug).await? {
        Some(jam) => Ok(load_full(db, vec![jam]).await?.pop()),
        None => Ok(None),
    }
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<JamFull>, StoreError> {
    match jams::Entity::find_by_id(id).one(db).await? {
        Some(jam) => Ok(load_full(db, vec![jam]).await?.pop()),
        None => Ok(None),
    }
}

/// A node's copy of each jam's audiences and sessions, reused while the jam row's `parts_rev` is the
/// one they were read at. The row itself is read by every lookup (its state changes by the clock and
/// by facilitators); triggers bump `parts_rev` with every change to the parts, so a lookup that finds
/// the same number finds the same parts, on every node, with no invalidation messages. The parts are
/// read after the row, so what is kept is never older than the number it is kept under.
#[derive(Default)]
pub struct JamCache {
    parts: Mutex<HashMap<Uuid, Arc<Parts>>>,
    /// How many lookups had to read the parts (for tests and metrics).
    reads: AtomicU64,
}

struct Parts {
    rev: i64,
    audiences: Vec<audiences::Model>,
    sessions: Vec<sessions::Model>,
}

/// Jams kept at most (a deployment runs a handful; past this the cache starts over).
const CACHED_JAMS: usize = 256;

impl JamCache {
    pub async fn by_id(&self, db: &impl ConnectionTrait, id: Uuid) -> Result<Option<JamFull>, StoreError> {
        match jams::Entity::find_by_id(id).one(db).await? {
            Some(jam) => Ok(Some(self.complete(db, jam).await?)),
            None => Ok(None),
        }
    }

    pub async fn by_slug(
        &self,
        db: &impl ConnectionTrait,
        slug: &str,
    ) -> Result<Option<JamFull>, StoreError> {
        match row_by_slug(db, slug).await? {
            Some(jam) => Ok(Some(self.complete(db, jam).await?)),
            None => Ok(None),
        }
    }

    /// The idea with its jam, the two rows in one query.
    pub async fn idea_with_jam(
        &self,
        db: &impl ConnectionTrait,
        idea_id: Uuid,
    ) -> Result<Option<(ideas::Model, JamFull)>, StoreError> {
        let found = ideas::Entity::find_by_id(idea_id)
            .find_also_related(jams::Entity)
            .one(db)
            .await?;
        match found {
            Some((idea, Some(jam))) => Ok(Some((idea, self.complete(db, jam).await?))),
            _ => Ok(None),
        }
    }

    /// The jam row with its parts: the kept ones if the row's `parts_rev` is theirs, else read now.
    pub async fn complete(&self, db: &impl ConnectionTrait, jam: jams::Model) -> Result<JamFull, StoreError> {
        let kept = self
            .lock()
            .get(&jam.id)
            .filter(|p| p.rev == jam.parts_rev)
            .cloned();
        if let Some(parts) = kept {
            return Ok(JamFull {
                audiences: parts.audiences.clone(),
                sessions: parts.sessions.clone(),
                jam,
            });
        }
        let (mut auds, mut sess) = load_parts(db, vec![jam.id]).await?;
        self.reads.fetch_add(1, Ordering::Relaxed);
        let parts = Arc::new(Parts {
            rev: jam.parts_rev,
            audiences: auds.remove(&jam.id).unwrap_or_default(),
            sessions: sess.remove(&jam.id).unwrap_or_default(),
        });
        {
            let mut kept = self.lock();
            if kept.len() >= CACHED_JAMS && !kept.contains_key(&jam.id) {
                kept.clear();
            }
            kept.insert(jam.id, parts.clone());
        }
        Ok(JamFull {
            audiences: parts.audiences.clone(),
            sessions: parts.sessions.clone(),
            jam,
        })
    }

    /// How many lookups read the parts from the database (the others reused them).
    pub fn parts_reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Parts>>> {
        // The critical sections only look up or replace one entry.
        self.parts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// All jams, newest first (a deployment runs a handful).
pub async fn list(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<JamFull>, StoreError> {
    let jams = jams::Entity::find()
        .order_by_desc(jams::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    load_full(db, jams).await
}

pub struct NewAudience {
    pub name: String,
    pub invite_code: String,
    pub admission: jam_domain::Admission,
}

/// Inserts a draft jam with its audiences. `StoreError::Duplicate` for a taken slug or invite code.
pub async fn insert(
    db: &impl ConnectionTrait,
    jam: jams::Model,
    new_audiences: Vec<NewAudience>,
) -> Result<JamFull, StoreError> {
    jams::Entity::insert(jams::ActiveModel::from(jam.clone()))
        .exec_without_returning(db)
        .await
        .map_err(StoreError::from_insert)?;
    let mut out = Vec::new();
    for (position, a) in new_audiences.into_iter().enumerate() {
        let model =
            audiences::Model::new(jam.id, a.name, a.invite_code, position as i32).admitting(a.admission);
        audiences::Entity::insert(audiences::ActiveModel::from(model.clone()))
            .exec_without_returning(db)
            .await
            .map_err(StoreError::from_insert)?;
        out.push(model);
    }
    Ok(JamFull {
        jam,
        audiences: out,
        sessions: Vec::new(),
    })
}

/// Saves a changed jam row.
pub async fn update(db: &impl ConnectionTrait, jam: jams::Model) -> Result<(), StoreError> {
    let mut active: jams::ActiveModel = jam.into();
    active = active.reset_all();
    // The triggers own it: writing back the number read earlier could undo a bump made meanwhile.
    active.parts_rev = sea_orm::ActiveValue::NotSet;
    active.update(db).await?;
    Ok(())
}

pub async fn insert_session(db: &impl ConnectionTrait, session: sessions::Model) -> Result<(), StoreError> {
    sessions::Entity::insert(sessions::ActiveModel::from(session))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn update_session(db: &impl ConnectionTrait, session: sessions::Model) -> Result<(), StoreError> {
    let mut active: sessions::ActiveModel = session.into();
    active = active.reset_all();
    active.update(db).await?;
    Ok(())
}

pub async fn insert_announcement(
    db: &impl ConnectionTrait,
    announcement: announcements::Model,
) -> Result<(), StoreError> {
    announcements::Entity::insert(announcements::ActiveModel::from(announcement))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// A jam's announcements, newest first, older than `before` (a cursor: the last id of the previous
/// page). Ids are UUIDv7, so their order is the order they were sent.
pub async fn announcements_page(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<announcements::Model>, StoreError> {
    let mut query = announcements::Entity::find().filter(announcements::Column::JamId.eq(jam_id));
    if let Some(before) = before {
        query = query.filter(announcements::Column::Id.lt(before));
    }
    Ok(query
        .order_by_desc(announcements::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Counts for the dashboard.
#[derive(Debug, Clone, Default)]
pub struct JamCounts {
    pub participants_by_audience: Vec<(String, u64)>,
    pub ideas_by_session: Vec<(Uuid, u64)>,
    pub comments: u64,
    pub votes: u64,
}

pub async fn counts(db: &impl ConnectionTrait, jam: &JamFull) -> Result<JamCounts, StoreError> {
    let mut out = JamCounts::default();
    for a in &jam.audiences {
        let n = participants::Entity::find()
            .filter(participants::Column::AudienceId.eq(a.id))
            .count(db)
            .await?;
        out.participants_by_audience.push((a.name.clone(), n));
    }
    for s in &jam.sessions {
        let n = ideas::Entity::find()
            .filter(ideas::Column::SessionId.eq(s.id))
            .count(db)
            .await?;
        out.ideas_by_session.push((s.id, n));
    }
    out.comments = comments::Entity::find()
        .filter(comments::Column::JamId.eq(jam.jam.id))
        .count(db)
        .await?;
    out.votes = votes::Entity::find()
        .filter(votes::Column::JamId.eq(jam.jam.id))
        .filter(votes::Column::Value.ne(0))
        .count(db)
        .await?;
    Ok(out)
}

pub async fn audience_name(
    db: &impl ConnectionTrait,
    audience_id: Uuid,
) -> Result<Option<String>, StoreError> {
    Ok(audiences::Entity::find_by_id(audience_id)
        .one(db)
        .await?
        .map(|a| a.name))
}

/// The jam a session belongs to.
pub async fn session_jam(db: &impl ConnectionTrait, session_id: Uuid) -> Result<Option<Uuid>, StoreError> {
    Ok(sessions::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .map(|s| s.jam_id))
}
