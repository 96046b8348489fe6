//! The audit log: who did what, when. Written in the same transaction as the change it records.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::audit_log;

#[derive(Debug, Clone, Copy)]
pub enum Actor {
    Staff(Uuid),
    Participant(Uuid),
    System,
}

#[derive(Debug, Clone)]
pub struct NewAudit {
    pub jam_id: Option<Uuid>,
    pub actor: Actor,
    pub action: String,
    pub subject_kind: &'static str,
    pub subject_id: Option<Uuid>,
    pub detail: serde_json::Value,
    pub at: DateTime<Utc>,
}

pub async fn record(db: &impl ConnectionTrait, entry: NewAudit) -> Result<(), StoreError> {
    let (actor_kind, actor_id) = match entry.actor {
        Actor::Staff(id) => ("staff", Some(id)),
        Actor::Participant(id) => ("participant", Some(id)),
        Actor::System => ("system", None),
    };
    audit_log::Entity::insert(audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        jam_id: Set(entry.jam_id),
        actor_kind: Set(actor_kind.to_owned()),
        actor_id: Set(actor_id),
        action: Set(entry.action),
        subject_kind: Set(entry.subject_kind.to_owned()),
        subject_id: Set(entry.subject_id),
        detail: Set(entry.detail.to_string()),
        at: Set(entry.at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A page of a jam's log, oldest first, after the entry `after` (exclusive).
pub async fn page(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<audit_log::Model>, StoreError> {
    let mut query = audit_log::Entity::find().filter(audit_log::Column::JamId.eq(jam_id));
    if let Some(after) = after {
        query = query.filter(audit_log::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(audit_log::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
