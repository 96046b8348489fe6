//! Moderation: participants' flags, the facilitators' queue and decisions, and merging a duplicate
//! idea into another. Every function runs inside the caller's transaction (begun with
//! [`crate::write::begin_write`], so SQLite takes its write lock at once), next to the audit entry
//! the caller writes.
//!
//! The `flags` counter of an idea or a comment counts the distinct flags *since the last decision*
//! on it: a flag adds one (the unique key `(participant_id, target_kind, target_id)` makes every
//! flag a distinct person), and every decision (hide, restore, remove) sets it back to zero. So:
//! - the hide threshold counts undecided flags: an item a facilitator restored is hidden again
//!   only by that many *new* flags (those who flagged before cannot flag again);
//! - the queue is exactly the items with undecided flags (`flags > 0`) that are still visible or
//!   hidden; a decision takes an item off it, new flags put it back.
//!
//! Only flags that count (their participant had joined `moderation.flag_min_age_minutes` before)
//! move `hide_flags`, which the threshold reads; every flag moves `flags`, which the queue reads. A
//! jam with `auto_hide` off hides nothing by flags. `hidden_by` says why a hidden item is hidden
//! (`flags`, `staff`, `void`), so that voiding a flagger shows again only what flags hid.
//!
//! The flag rows themselves are kept (the queue shows the total and the latest reasons); a decision
//! marks them `decided`. Only voiding their participant deletes them (`crate::void`).
//!
//! A merge moves the duplicate's votes to the target, each voter at most once: a voter with no
//! vote on the target, or a retracted one (`0`), gets the duplicate's vote there; a voter with a
//! `+1` or `-1` on the target keeps it and the duplicate's vote is dropped. The duplicate's vote
//! rows are then deleted, so its counters are zero (its votes live on the target now and no vote
//! is counted twice anywhere); both ideas' `up`, `down` and `voters` are recounted from their rows
//! rather than adjusted. Comments stay on the duplicate, which still answers by id and points
//! to its target.
//!
//! Locks follow the vote writer's order, vote rows first and idea rows after, so a merge and a
//! vote never wait on each other in a circle; two ideas are locked in id order. The vote route
//! checks an idea's status before its transaction, so on PostgreSQL a vote racing the merge can
//! still land on the duplicate: its row stays there, counted there (the recount sees committed
//! rows; a later delta adds to it), and is not carried.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jam_domain::{HiddenBy, ItemStatus};
use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{comments, flags, ideas, votes};

/// What a flag or a decision points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Idea,
    Comment,
}

impl Target {
    /// As stored in `flags.target_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Idea => "idea",
            Target::Comment => "comment",
        }
    }
}

/// The columns moderation touches, which ideas and comments share.
pub(crate) struct Cols<C> {
    pub(crate) id: C,
    pub(crate) status: C,
    pub(crate) hidden_by: C,
    pub(crate) flags: C,
    pub(crate) hide_flags: C,
    pub(crate) updated_at: C,
}

pub(crate) const IDEA: Cols<ideas::Column> = Cols {
    id: ideas::Column::Id,
    status: ideas::Column::Status,
    hidden_by: ideas::Column::HiddenBy,
    flags: ideas::Column::Flags,
    hide_flags: ideas::Column::HideFlags,
    updated_at: ideas::Column::UpdatedAt,
};

pub(crate) const COMMENT: Cols<comments::Column> = Cols {
    id: comments::Column::Id,
    status: comments::Column::Status,
    hidden_by: comments::Column::HiddenBy,
    flags: comments::Column::Flags,
    hide_flags: comments::Column::HideFlags,
    updated_at: comments::Column::UpdatedAt,
};

/// A participant's flag on an item.
#[derive(Debug, Clone)]
pub struct NewFlag {
    pub id: Uuid,
    pub jam_id: Uuid,
    pub participant_id: Uuid,
    pub target: Target,
    pub target_id: Uuid,
    pub reason: String,
    pub at: DateTime<Utc>,
    /// Counts toward the hide threshold (the participant joined long enough before).
    pub counts: bool,
}

/// The item right after a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flagged {
    /// Distinct flags since the last decision, this one included.
    pub flags: i32,
    /// This flag reached the threshold and hid a visible item.
    pub hidden_now: bool,
}

/// Records a flag, counts it on its item and, with `hide_after` given (the jam's `auto_hide`),
/// hides a `visible` item once that many undecided flags that count (`NewFlag::counts`) are
/// reached. A second flag by the same participant on the same item is [`StoreError::Duplicate`]
/// and changes nothing.
pub async fn flag(
    db: &impl ConnectionTrait,
    flag: NewFlag,
    hide_after: Option<u32>,
) -> Result<Flagged, StoreError> {
    let (target, target_id, at, counts) = (flag.target, flag.target_id, flag.at, flag.counts);
    flags::Entity::insert(flags::ActiveModel {
        id: Set(flag.id),
        jam_id: Set(flag.jam_id),
        participant_id: Set(flag.participant_id),
        target_kind: Set(target.as_str().to_owned()),
        target_id: Set(target_id),
        reason: Set(flag.reason),
        created_at: Set(at),
        counts: Set(counts),
        decided: Set(false),
    })
    .exec_without_returning(db)
    .await
    .map_err(StoreError::from_insert)?;
    let hide_after = hide_after.map(|h| i32::try_from(h).unwrap_or(i32::MAX));
    match target {
        Target::Idea => count_flag::<ideas::Entity>(db, &IDEA, target_id, counts, hide_after, at).await,
        Target::Comment => {
            count_flag::<comments::Entity>(db, &COMMENT, target_id, counts, hide_after, at).await
        }
    }
}

async fn count_flag<E: EntityTrait>(
    db: &impl ConnectionTrait,
    c: &Cols<E::Column>,
    id: Uuid,
    counts: bool,
    hide_after: Option<i32>,
    at: DateTime<Utc>,
) -> Result<Flagged, StoreError> {
    E::update_many()
        .col_expr(c.flags, Expr::col(c.flags).add(1))
        .col_expr(c.hide_flags, Expr::col(c.hide_flags).add(i32::from(counts)))
        .filter(c.id.eq(id))
        .exec(db)
        .await?;
    // One conditional statement, so two flags committing at once cannot both miss the threshold.
    let hidden_now = match hide_after {
        Some(hide_after) if counts => {
            E::update_many()
                .col_expr(c.status, Expr::value(ItemStatus::Hidden))
                .col_expr(c.hidden_by, Expr::value(HiddenBy::Flags))
                .col_expr(c.updated_at, Expr::value(at))
                .filter(c.id.eq(id))
                .filter(c.status.eq(ItemStatus::Visible))
                .filter(c.hide_flags.gte(hide_after))
                .exec(db)
                .await?
                .rows_affected
                == 1
        }
        _ => false,
    };
    let flags: i32 = E::find()
        .select_only()
        .column(c.flags)
        .filter(c.id.eq(id))
        .into_tuple()
        .one(db)
        .await?
        .ok_or_else(|| StoreError::Db(sea_orm::DbErr::RecordNotFound(format!("{id}"))))?;
    Ok(Flagged { flags, hidden_now })
}

/// A facilitator's decision on an idea or a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Hide,
    Restore,
    Remove,
}

impl Decision {
    /// The status the item gets.
    pub fn status(self) -> ItemStatus {
        match self {
            Decision::Hide => ItemStatus::Hidden,
            Decision::Restore => ItemStatus::Visible,
            Decision::Remove => ItemStatus::Removed,
        }
    }

    /// The past participle of the audit action (`idea.hidden`, `comment.restored`, …).
    pub fn done(self) -> &'static str {
        match self {
            Decision::Hide => "hidden",
            Decision::Restore => "restored",
            Decision::Remove => "removed",
        }
    }
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// No such item.
    Missing,
    /// A merged idea takes no further decisions.
    Merged,
    /// The item already had that status and no undecided flags: nothing was written.
    Unchanged,
    /// The status was `from` with `flags` undecided flags; now it is the decision's, with none.
    Changed { from: ItemStatus, flags: i32 },
}

/// Applies a decision: sets the status and marks the item's flags as decided (see the module docs).
pub async fn decide(
    db: &impl ConnectionTrait,
    target: Target,
    id: Uuid,
    decision: Decision,
    at: DateTime<Utc>,
) -> Result<Decided, StoreError> {
    match target {
        Target::Idea => decide_on::<ideas::Entity>(db, &IDEA, id, decision, at).await,
        Target::Comment => decide_on::<comments::Entity>(db, &COMMENT, id, decision, at).await,
    }
}

async fn decide_on<E: EntityTrait>(
    db: &impl ConnectionTrait,
    c: &Cols<E::Column>,
    id: Uuid,
    decision: Decision,
    at: DateTime<Utc>,
) -> Result<Decided, StoreError> {
    let found: Option<(ItemStatus, i32, Option<HiddenBy>)> = E::find()
        .select_only()
        .column(c.status)
        .column(c.flags)
        .column(c.hidden_by)
        .filter(c.id.eq(id))
        .lock(LockType::NoKeyUpdate)
        .into_tuple()
        .one(db)
        .await?;
    let Some((from, flags, hidden_by)) = found else {
        return Ok(Decided::Missing);
    };
    if from == ItemStatus::Merged {
        return Ok(Decided::Merged);
    }
    // An item hidden because its author was voided waits for a decision even without flags.
    let pending = flags > 0 || hidden_by == Some(HiddenBy::Void);
    if from == decision.status() && !pending {
        return Ok(Decided::Unchanged);
    }
    let hidden_by = (decision == Decision::Hide).then_some(HiddenBy::Staff);
    E::update_many()
        .col_expr(c.status, Expr::value(decision.status()))
        .col_expr(c.hidden_by, Expr::value(hidden_by))
        .col_expr(c.flags, Expr::value(0))
        .col_expr(c.hide_flags, Expr::value(0))
        .col_expr(c.updated_at, Expr::value(at))
        .filter(c.id.eq(id))
        .exec(db)
        .await?;
    // The item's flags so far are decided: they count toward nothing any more.
    flags::Entity::update_many()
        .col_expr(flags::Column::Decided, Expr::value(true))
        .filter(flags::Column::TargetId.eq(id))
        .filter(flags::Column::Decided.eq(false))
        .exec(db)
        .await?;
    Ok(Decided::Changed { from, flags })
}

/// An idea's vote counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub up: i32,
    pub down: i32,
    pub voters: i32,
}

/// What a merge did with the duplicate's votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeOutcome {
    /// Voters whose vote moved to the target.
    pub moved: u32,
    /// Voters who had voted on both and keep the target's vote.
    pub kept: u32,
    /// The duplicate's counters just before the merge.
    pub source_before: Counts,
    /// The target's counters after it, recounted from its rows.
    pub target_after: Counts,
}

/// How a merge ended. Anything but `Done` wrote votes the caller must roll back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    Done(MergeOutcome),
    /// An idea is missing.
    Missing,
    /// The duplicate is no longer `visible` or `hidden` (it is this).
    SourceIs(ItemStatus),
    /// The target is no longer `visible` or `hidden` (it is this).
    TargetIs(ItemStatus),
}

/// Merges the idea `source` into `target` (two different ideas of one jam: the caller checked)
/// as the module docs describe. Statuses are checked again under the ideas' row locks, so a
/// concurrent merge or removal cannot slip between the caller's checks and this write.
pub async fn merge(
    db: &impl ConnectionTrait,
    source: Uuid,
    target: Uuid,
    at: DateTime<Utc>,
) -> Result<Merged, StoreError> {
    // Vote rows first (the vote writer's lock order), each voter in id order, under their locks.
    let source_votes = votes::Entity::find()
        .filter(votes::Column::IdeaId.eq(source))
        .order_by_asc(votes::Column::ParticipantId)
        .lock_exclusive()
        .all(db)
        .await?;
    let (mut moved, mut kept) = (0, 0);
    for v in source_votes.iter().filter(|v| v.value != 0) {
        if carry(db, v, target, at).await? {
            moved += 1;
        } else {
            kept += 1;
        }
    }
    // Only the rows read (and carried): a row that appeared since stays and is counted below.
    if !source_votes.is_empty() {
        votes::Entity::delete_many()
            .filter(votes::Column::IdeaId.eq(source))
            .filter(votes::Column::ParticipantId.is_in(source_votes.iter().map(|v| v.participant_id)))
            .exec(db)
            .await?;
    }

    let (first, second) = if source < target {
        (source, target)
    } else {
        (target, source)
    };
    let mut locked = Vec::with_capacity(2);
    for id in [first, second] {
        // NO KEY UPDATE: vote inserts hold KEY SHARE on their idea (the foreign key), which FOR UPDATE
        // would wait on; the merge changes no key, so the weaker lock suffices and avoids that queue.
        match ideas::Entity::find_by_id(id)
            .lock(LockType::NoKeyUpdate)
            .one(db)
            .await?
        {
            Some(idea) => locked.push(idea),
            None => return Ok(Merged::Missing),
        }
    }
    let (Some(src), Some(dst)) = (
        locked.iter().find(|i| i.id == source),
        locked.iter().find(|i| i.id == target),
    ) else {
        return Ok(Merged::Missing);
    };
    if !src.status.is_open() {
        return Ok(Merged::SourceIs(src.status));
    }
    if !dst.status.is_open() {
        return Ok(Merged::TargetIs(dst.status));
    }
    let source_before = Counts {
        up: src.up,
        down: src.down,
        voters: src.voters,
    };

    let target_after = recount(db, target, at).await?;
    recount(db, source, at).await?;
    ideas::Entity::update_many()
        .col_expr(ideas::Column::Status, Expr::value(ItemStatus::Merged))
        .col_expr(ideas::Column::MergedInto, Expr::value(Some(target)))
        .filter(ideas::Column::Id.eq(source))
        .exec(db)
        .await?;
    Ok(Merged::Done(MergeOutcome {
        moved,
        kept,
        source_before,
        target_after,
    }))
}

/// Sets an idea's counters from its vote rows and bumps its `votes_rev` (called with the idea's row
/// locked, after its vote rows moved).
pub(crate) async fn recount(
    db: &impl ConnectionTrait,
    idea: Uuid,
    at: DateTime<Utc>,
) -> Result<Counts, StoreError> {
    let (up, down) = crate::votes::recount(db, idea).await?;
    let counts = Counts {
        up: i32::try_from(up).unwrap_or(i32::MAX),
        down: i32::try_from(down).unwrap_or(i32::MAX),
        voters: i32::try_from(up + down).unwrap_or(i32::MAX),
    };
    ideas::Entity::update_many()
        .col_expr(ideas::Column::Up, Expr::value(counts.up))
        .col_expr(ideas::Column::Down, Expr::value(counts.down))
        .col_expr(ideas::Column::Voters, Expr::value(counts.voters))
        .col_expr(ideas::Column::VotesRev, Expr::col(ideas::Column::VotesRev).add(1))
        .col_expr(ideas::Column::UpdatedAt, Expr::value(at))
        .filter(ideas::Column::Id.eq(idea))
        .exec(db)
        .await?;
    Ok(counts)
}

/// Carries one non-zero vote of the duplicate to `target`; false when the voter already has a
/// non-zero vote there (which stands). The row is created if missing, otherwise read under its
/// lock, as the vote writer does, so a vote by the same person at the same moment takes turns.
async fn carry(
    db: &impl ConnectionTrait,
    vote: &votes::Model,
    target: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    // The same vote, cast on the target now.
    let mut carried = vote.clone();
    carried.idea_id = target;
    carried.created_at = at;
    carried.updated_at = at;
    let inserted = votes::Entity::insert(votes::ActiveModel::from(carried))
        .on_conflict(
            OnConflict::columns([votes::Column::IdeaId, votes::Column::ParticipantId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if inserted == 1 {
        return Ok(true);
    }
    let there = votes::Entity::find_by_id((target, vote.participant_id))
        .lock_exclusive()
        .one(db)
        .await?
        .map_or(0, |v| v.value);
    if there != 0 {
        return Ok(false);
    }
    votes::Entity::update_many()
        .col_expr(votes::Column::Value, Expr::value(vote.value))
        .col_expr(votes::Column::UpdatedAt, Expr::value(at))
        .filter(votes::Column::IdeaId.eq(target))
        .filter(votes::Column::ParticipantId.eq(vote.participant_id))
        .exec(db)
        .await?;
    Ok(true)
}

/// An item waiting for a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    Idea(ideas::Model),
    Comment(comments::Model),
}

impl Queued {
    pub fn id(&self) -> Uuid {
        match self {
            Queued::Idea(i) => i.id,
            Queued::Comment(c) => c.id,
        }
    }
}

/// One page of a jam's moderation queue: ideas and comments with undecided flags that are still
/// visible or hidden, oldest item first (ids are v7), after the id `after`; with the next page's
/// cursor (`None` on the last page).
pub async fn queue(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<Queued>, Option<Uuid>), StoreError> {
    // Undecided flags, or hidden because the author was voided (pending review).
    let mut ideas_q = ideas::Entity::find()
        .filter(ideas::Column::JamId.eq(jam_id))
        .filter(
            Condition::any()
                .add(ideas::Column::Flags.gt(0))
                .add(ideas::Column::HiddenBy.eq(HiddenBy::Void)),
        )
        .filter(ideas::Column::Status.is_in([ItemStatus::Visible, ItemStatus::Hidden]));
    let mut comments_q = comments::Entity::find()
        .filter(comments::Column::JamId.eq(jam_id))
        .filter(
            Condition::any()
                .add(comments::Column::Flags.gt(0))
                .add(comments::Column::HiddenBy.eq(HiddenBy::Void)),
        )
        .filter(comments::Column::Status.is_in([ItemStatus::Visible, ItemStatus::Hidden]));
    if let Some(after) = after {
        ideas_q = ideas_q.filter(ideas::Column::Id.gt(after));
        comments_q = comments_q.filter(comments::Column::Id.gt(after));
    }
    let found_ideas = ideas_q
        .order_by_asc(ideas::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let found_comments = comments_q
        .order_by_asc(comments::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let mut items: Vec<Queued> = found_ideas
        .into_iter()
        .map(Queued::Idea)
        .chain(found_comments.into_iter().map(Queued::Comment))
        .collect();
    items.sort_by_key(Queued::id);
    let next = if items.len() as u64 > limit {
        items.truncate(limit as usize);
        items.last().map(Queued::id)
    } else {
        None
    };
    Ok((items, next))
}

/// Every flag on these items, newest first.
pub async fn flags_on(
    db: &impl ConnectionTrait,
    target_ids: impl IntoIterator<Item = Uuid>,
) -> Result<Vec<flags::Model>, StoreError> {
    let ids: Vec<Uuid> = target_ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(flags::Entity::find()
        .filter(flags::Column::TargetId.is_in(ids))
        .order_by_desc(flags::Column::CreatedAt)
        .order_by_desc(flags::Column::Id)
        .all(db)
        .await?)
}

/// The session of each of these ideas (for queued comments, which know only their idea).
pub async fn sessions_of(
    db: &impl ConnectionTrait,
    idea_ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, Uuid>, StoreError> {
    let ids: Vec<Uuid> = idea_ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, Uuid)> = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::Id)
        .column(ideas::Column::SessionId)
        .filter(ideas::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
