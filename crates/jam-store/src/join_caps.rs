//! The cap on new participants per jam, client address and UTC day (`join_counts`).
//!
//! Shared invite codes let anyone holding one mint participants; the cap bounds how many one
//! address can mint in a day. The count is in the database so that every node of a cluster, and a
//! restarted node, enforce the same cap.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::join_counts;

/// Who is joining, for the cap: which jam, from which address (already reduced to its network,
/// e.g. an IPv6 /64), on which UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinKey {
    pub jam_id: Uuid,
    pub address_key: String,
    pub day: NaiveDate,
}

/// Takes one of the `cap` slots of `key`: true if the join may go ahead. One conditional upsert
/// (insert 1, or add 1 while below the cap), atomic on both backends: concurrent joins from any node
/// never pass the cap. Run it in the join's transaction, so a join that fails later gives the slot
/// back. A cap of 0 admits nobody.
pub async fn take_slot(db: &impl ConnectionTrait, key: &JoinKey, cap: u32) -> Result<bool, StoreError> {
    if cap == 0 {
        return Ok(false);
    }
    let cap = i32::try_from(cap).unwrap_or(i32::MAX);
    let joins = Expr::col((join_counts::Entity, join_counts::Column::Joins));
    let written = join_counts::Entity::insert(join_counts::ActiveModel {
        jam_id: Set(key.jam_id),
        address_key: Set(key.address_key.clone()),
        day: Set(key.day),
        joins: Set(1),
        capped_at: Set(None),
    })
    .on_conflict(
        OnConflict::columns([
            join_counts::Column::JamId,
            join_counts::Column::AddressKey,
            join_counts::Column::Day,
        ])
        .value(join_counts::Column::Joins, joins.clone().add(1))
        .action_and_where(joins.lt(cap))
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(written == 1)
}

/// Records that `key` hit its cap `at`: true the first time (once per jam, address and day across
/// the cluster), so the caller writes one audit entry, not one per refused join.
pub async fn mark_capped(
    db: &impl ConnectionTrait,
    key: &JoinKey,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = join_counts::Entity::update_many()
        .col_expr(join_counts::Column::CappedAt, Expr::value(at))
        .filter(join_counts::Column::JamId.eq(key.jam_id))
        .filter(join_counts::Column::AddressKey.eq(key.address_key.as_str()))
        .filter(join_counts::Column::Day.eq(key.day))
        .filter(join_counts::Column::CappedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The addresses that hit the cap in a jam, newest first, at most `limit`.
pub async fn caps_hit(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    limit: u64,
) -> Result<Vec<join_counts::Model>, StoreError> {
    Ok(join_counts::Entity::find()
        .filter(join_counts::Column::JamId.eq(jam_id))
        .filter(join_counts::Column::CappedAt.is_not_null())
        .order_by_desc(join_counts::Column::CappedAt)
        .limit(limit)
        .all(db)
        .await?)
}
