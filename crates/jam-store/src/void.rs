//! Voiding a participant: what one person did stops counting, in one transaction (begun with
//! [`crate::write::begin_write`]) beside the audit entry the caller writes.
//!
//! - Their vote rows are deleted and every idea they had voted on is recounted from its rows, which
//!   bumps its `votes_rev` (the digest's cached leaf is stale from then on) and, through the trigger
//!   on `ideas`, queues the idea in `tally_dirty`, so the ticker publishes its new counts on its next
//!   tick. Locks follow the vote writer's order: vote rows first, then idea rows in id order.
//! - Their flag rows are deleted and each flagged item's `flags` and `hide_flags` recounted from the
//!   undecided rows left. An item that flags hid (`hidden_by = flags`) and that no longer reaches the
//!   threshold is visible again; an item a facilitator hid stays hidden.
//! - Their visible ideas and comments are hidden with `hidden_by = void`, which puts them in the
//!   moderation queue until a facilitator decides.
//! - `participants.voided_at` is set; a participant already voided is left as it is (idempotent).
//!
//! With `frozen` (the jam's shortlist is published) nothing the ranking reads changes — no vote
//! row, no status — so the published digest still verifies against the rows; the participant is
//! only marked voided (and the caller ends their sign-ins).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use jam_domain::{HiddenBy, ItemStatus};
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{comments, flags, ideas, participants, votes};
use crate::moderation::{COMMENT, Cols, IDEA, Target};

/// What a void changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Voided {
    /// False when the participant was already voided: nothing was written.
    pub first: bool,
    pub voided_at: Option<DateTime<Utc>>,
    /// Non-zero votes removed.
    pub votes_removed: u32,
    pub flags_removed: u32,
    /// Ideas whose counters were recounted.
    pub recounted: Vec<Uuid>,
    /// Items flags had hid that are visible again.
    pub shown_again: Vec<(Target, Uuid)>,
    /// Their own items now hidden pending review.
    pub hidden: Vec<(Target, Uuid)>,
}

/// Voids `participant` (of any jam; the caller checked which) as the module docs describe.
/// `hide_after` is the flag threshold in force (`None`: the jam does not hide by flags).
/// `Ok(None)` when there is no such participant.
pub async fn void(
    db: &impl ConnectionTrait,
    participant: Uuid,
    hide_after: Option<u32>,
    frozen: bool,
    at: DateTime<Utc>,
) -> Result<Option<Voided>, StoreError> {
    let Some(person) = participants::Entity::find_by_id(participant)
        .lock(LockType::Update)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if person.voided_at.is_some() {
        return Ok(Some(Voided {
            voided_at: person.voided_at,
            ..Voided::default()
        }));
    }
    let mut out = Voided {
        first: true,
        voided_at: Some(at),
        ..Voided::default()
    };
    if !frozen {
        remove_votes(db, participant, at, &mut out).await?;
        remove_flags(db, participant, hide_after, at, &mut out).await?;
        hide_posts(db, participant, at, &mut out).await?;
    }
    participants::Entity::update_many()
        .col_expr(participants::Column::VoidedAt, Expr::value(Some(at)))
        .filter(participants::Column::Id.eq(participant))
        .exec(db)
        .await?;
    Ok(Some(out))
}

async fn remove_votes(
    db: &impl ConnectionTrait,
    participant: Uuid,
    at: DateTime<Utc>,
    out: &mut Voided,
) -> Result<(), StoreError> {
    let rows = votes::Entity::find()
        .filter(votes::Column::ParticipantId.eq(participant))
        .order_by_asc(votes::Column::IdeaId)
        .lock_exclusive()
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    out.votes_removed = u32::try_from(rows.iter().filter(|v| v.value != 0).count()).unwrap_or(u32::MAX);
    votes::Entity::delete_many()
        .filter(votes::Column::ParticipantId.eq(participant))
        .filter(votes::Column::IdeaId.is_in(rows.iter().map(|v| v.idea_id)))
        .exec(db)
        .await?;
    // Ids ascending: two voids lock ideas in the same order.
    let touched: BTreeSet<Uuid> = rows.iter().map(|v| v.idea_id).collect();
    for idea in touched {
        ideas::Entity::find_by_id(idea)
            .select_only()
            .column(ideas::Column::Id)
            .lock(LockType::NoKeyUpdate)
            .into_tuple::<Uuid>()
            .one(db)
            .await?;
        crate::moderation::recount(db, idea, at).await?;
        out.recounted.push(idea);
    }
    Ok(())
}

async fn remove_flags(
    db: &impl ConnectionTrait,
    participant: Uuid,
    hide_after: Option<u32>,
    at: DateTime<Utc>,
    out: &mut Voided,
) -> Result<(), StoreError> {
    let rows = flags::Entity::find()
        .filter(flags::Column::ParticipantId.eq(participant))
        .order_by_asc(flags::Column::TargetId)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    out.flags_removed = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    flags::Entity::delete_many()
        .filter(flags::Column::ParticipantId.eq(participant))
        .exec(db)
        .await?;
    let threshold = hide_after.map_or(i32::MAX, |h| i32::try_from(h).unwrap_or(i32::MAX));
    for flag in rows {
        let target = if flag.target_kind == Target::Comment.as_str() {
            Target::Comment
        } else {
            Target::Idea
        };
        let shown = match target {
            Target::Idea => recount_flags::<ideas::Entity>(db, &IDEA, flag.target_id, threshold, at).await?,
            Target::Comment => {
                recount_flags::<comments::Entity>(db, &COMMENT, flag.target_id, threshold, at).await?
            }
        };
        if shown {
            out.shown_again.push((target, flag.target_id));
        }
    }
    Ok(())
}

/// Sets an item's `flags` and `hide_flags` from its undecided flag rows; shows it again when flags
/// hid it and no longer reach `threshold`. True when it became visible.
async fn recount_flags<E: EntityTrait>(
    db: &impl ConnectionTrait,
    c: &Cols<E::Column>,
    id: Uuid,
    threshold: i32,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let undecided = || {
        flags::Entity::find()
            .filter(flags::Column::TargetId.eq(id))
            .filter(flags::Column::Decided.eq(false))
    };
    let all = i32::try_from(undecided().count(db).await?).unwrap_or(i32::MAX);
    let counting = i32::try_from(
        undecided()
            .filter(flags::Column::Counts.eq(true))
            .count(db)
            .await?,
    )
    .unwrap_or(i32::MAX);
    E::update_many()
        .col_expr(c.flags, Expr::value(all))
        .col_expr(c.hide_flags, Expr::value(counting))
        .filter(c.id.eq(id))
        .exec(db)
        .await?;
    if counting >= threshold {
        return Ok(false);
    }
    let shown = E::update_many()
        .col_expr(c.status, Expr::value(ItemStatus::Visible))
        .col_expr(c.hidden_by, Expr::value(None::<HiddenBy>))
        .col_expr(c.updated_at, Expr::value(at))
        .filter(c.id.eq(id))
        .filter(c.status.eq(ItemStatus::Hidden))
        .filter(c.hidden_by.eq(HiddenBy::Flags))
        .exec(db)
        .await?
        .rows_affected;
    Ok(shown == 1)
}

async fn hide_posts(
    db: &impl ConnectionTrait,
    participant: Uuid,
    at: DateTime<Utc>,
    out: &mut Voided,
) -> Result<(), StoreError> {
    let idea_ids: Vec<Uuid> = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::Id)
        .filter(ideas::Column::AuthorId.eq(participant))
        .filter(ideas::Column::Status.eq(ItemStatus::Visible))
        .order_by_asc(ideas::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    if !idea_ids.is_empty() {
        ideas::Entity::update_many()
            .col_expr(ideas::Column::Status, Expr::value(ItemStatus::Hidden))
            .col_expr(ideas::Column::HiddenBy, Expr::value(HiddenBy::Void))
            .col_expr(ideas::Column::UpdatedAt, Expr::value(at))
            .filter(ideas::Column::Id.is_in(idea_ids.clone()))
            .filter(ideas::Column::Status.eq(ItemStatus::Visible))
            .exec(db)
            .await?;
    }
    let comment_ids: Vec<Uuid> = comments::Entity::find()
        .select_only()
        .column(comments::Column::Id)
        .filter(comments::Column::AuthorId.eq(participant))
        .filter(comments::Column::Status.eq(ItemStatus::Visible))
        .order_by_asc(comments::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    if !comment_ids.is_empty() {
        comments::Entity::update_many()
            .col_expr(comments::Column::Status, Expr::value(ItemStatus::Hidden))
            .col_expr(comments::Column::HiddenBy, Expr::value(HiddenBy::Void))
            .col_expr(comments::Column::UpdatedAt, Expr::value(at))
            .filter(comments::Column::Id.is_in(comment_ids.clone()))
            .filter(comments::Column::Status.eq(ItemStatus::Visible))
            .exec(db)
            .await?;
    }
    out.hidden = idea_ids
        .into_iter()
        .map(|id| (Target::Idea, id))
        .chain(comment_ids.into_iter().map(|id| (Target::Comment, id)))
        .collect();
    Ok(())
}
