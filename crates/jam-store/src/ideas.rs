//! Ideas: posting, editing, fetching, the three feed orders with keyset cursors (search is `search`).
//!
//! Pages are keyset pages, so ideas posted while someone pages never shift later pages:
//! - `new`: newest first by id (UUIDv7, so by posting time); the cursor is the last id.
//! - `top`: by `up - down`, then id, both descending; the cursor is the last `(net, id)`.
//! - `hot`: by [`hot_key`], then id. The hot score's age term shifts every idea by the same amount at
//!   a given time, so the order does not depend on when it is computed and the key can be taken at
//!   a fixed reference time: it changes only when an idea's votes change. No database computes it
//!   the same way on both backends (SQLite may lack `log10`), so the page is cut in Rust from a
//!   narrow projection (id, up, down, created_at) of the session's listable ideas; the cursor is the
//!   last `(key, id)`. A session holds hundreds to a few thousand ideas, which this reads in one
//!   indexed scan; a stored, vote-maintained key column is the next step if sessions grow larger.
//!
//! - `discover` (issue 17): the session's visible ideas in the reader's discover order
//!   (`jam_domain::fairness::discover_order`: not yet seen by the reader first, then least seen by
//!   everyone, then a shuffle stable per reader). Cut in Rust like `hot`, from (id, impressions) and
//!   the reader's own impressions and votes in the session; the cursor is an offset, since seeing an
//!   idea moves it: a page may repeat or skip an idea seen meanwhile, which the view tolerates (it
//!   is a way to find ideas, not a ranking).
//!
//! In `top` and `hot` an idea whose votes change between two pages may move across the cursor
//! (shown twice or not at all): a live ranking cannot hold still, and the feed refreshes on tally events.
//! New ideas never do: in `new` and `hot` they sort before every cursor, in `top` their net is 0.

use std::cmp::Ordering;
use std::collections::HashSet;

use chrono::{DateTime, TimeZone, Utc};
use jam_domain::ItemStatus;
use jam_domain::fairness::{DiscoverItem, discover_order};
use jam_domain::ranking::hot_score;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{ideas, impressions, sessions, votes};

/// Who is reading, for what they may see: staff see every idea; a participant sees visible ideas
/// and the hidden ones they wrote, never removed or merged ones in lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Staff,
    Participant(Uuid),
}

impl Viewer {
    /// The condition a listed row must meet (`status` and `author_id` columns given).
    pub(crate) fn listable(self, status: impl ColumnTrait, author: impl ColumnTrait) -> Condition {
        match self {
            Viewer::Staff => Condition::all(),
            Viewer::Participant(me) => Condition::any().add(status.eq(ItemStatus::Visible)).add(
                Condition::all()
                    .add(status.eq(ItemStatus::Hidden))
                    .add(author.eq(me)),
            ),
        }
    }
}

/// The order of a session's feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Hot,
    Top,
    New,
    Discover,
}

/// Where a page starts: just after this item in the page's order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cursor {
    New(Uuid),
    Top {
        net: i64,
        id: Uuid,
    },
    Hot {
        key: f64,
        id: Uuid,
    },
    /// Ideas of the discover order already given.
    Discover(u64),
}

impl Cursor {
    /// The opaque text clients send back.
    pub fn encode(&self) -> String {
        match self {
            Cursor::New(id) => format!("n.{}", id.simple()),
            Cursor::Top { net, id } => format!("t.{net}.{}", id.simple()),
            Cursor::Hot { key, id } => format!("h.{:016x}.{}", key.to_bits(), id.simple()),
            Cursor::Discover(offset) => format!("d.{offset}"),
        }
    }

    /// Parses a cursor of this sort; `None` for anything else (the caller answers 422).
    pub fn parse(sort: Sort, text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let cursor = match (sort, parts.next()?) {
            (Sort::New, "n") => Cursor::New(Uuid::parse_str(parts.next()?).ok()?),
            (Sort::Top, "t") => Cursor::Top {
                net: parts.next()?.parse().ok()?,
                id: Uuid::parse_str(parts.next()?).ok()?,
            },
            (Sort::Hot, "h") => {
                let key = f64::from_bits(u64::from_str_radix(parts.next()?, 16).ok()?);
                if !key.is_finite() {
                    return None;
                }
                Cursor::Hot {
                    key,
                    id: Uuid::parse_str(parts.next()?).ok()?,
                }
            }
            (Sort::Discover, "d") => Cursor::Discover(parts.next()?.parse().ok()?),
            _ => return None,
        };
        parts.next().is_none().then_some(cursor)
    }
}

/// The time-invariant hot order key: [`hot_score`] at a fixed reference time (see the module docs).
pub fn hot_key(up: i32, down: i32, created_at: DateTime<Utc>) -> f64 {
    // 2020-01-01T00:00:00Z exists, so `single()` is `Some`; the fallback is never taken.
    let reference = Utc
        .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    hot_score(
        u64::from(crate::entity::count(up)),
        u64::from(crate::entity::count(down)),
        created_at,
        reference,
    )
}

/// Derived columns of an idea, defined beside its entity so its constructor and an edit agree.
pub use crate::entity::ideas::{search_text, tags_json};

/// The session a write or a list names.
pub async fn session(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<sessions::Model>, StoreError> {
    Ok(sessions::Entity::find_by_id(id).one(db).await?)
}

pub async fn insert(db: &impl ConnectionTrait, idea: ideas::Model) -> Result<(), StoreError> {
    ideas::Entity::insert(ideas::ActiveModel::from(idea))
        .exec_without_returning(db)
        .await
        .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<ideas::Model>, StoreError> {
    Ok(ideas::Entity::find_by_id(id).one(db).await?)
}

/// The author's edit: new text, `edited_at`. Counters are untouched (they have their own writers).
pub struct IdeaEdit {
    pub title: String,
    pub body: String,
    /// JSON array of strings.
    pub tags: String,
    pub search_text: String,
    pub at: DateTime<Utc>,
}

/// The ideas with these ids (those that exist), in id order.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<Vec<ideas::Model>, StoreError> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ideas::Entity::find()
        .filter(ideas::Column::Id.is_in(ids))
        .order_by_asc(ideas::Column::Id)
        .all(db)
        .await?)
}

pub async fn edit(db: &impl ConnectionTrait, id: Uuid, edit: IdeaEdit) -> Result<(), StoreError> {
    ideas::Entity::update_many()
        .col_expr(ideas::Column::Title, Expr::value(edit.title))
        .col_expr(ideas::Column::Body, Expr::value(edit.body))
        .col_expr(ideas::Column::Tags, Expr::value(edit.tags))
        .col_expr(ideas::Column::SearchText, Expr::value(edit.search_text))
        .col_expr(ideas::Column::EditedAt, Expr::value(Some(edit.at)))
        .col_expr(ideas::Column::UpdatedAt, Expr::value(edit.at))
        .filter(ideas::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A page and the cursor of the next one (`None` on the last page).
#[derive(Debug, Clone)]
pub struct IdeaPage {
    pub items: Vec<ideas::Model>,
    pub next: Option<Cursor>,
}

fn cursor_of(sort: Sort, idea: &ideas::Model) -> Cursor {
    match sort {
        Sort::New => Cursor::New(idea.id),
        Sort::Top => Cursor::Top {
            net: i64::from(idea.up) - i64::from(idea.down),
            id: idea.id,
        },
        Sort::Hot => Cursor::Hot {
            key: hot_key(idea.up, idea.down, idea.created_at),
            id: idea.id,
        },
        // Never asked: `page` answers discover pages itself.
        Sort::Discover => Cursor::Discover(0),
    }
}

/// One page of a session's ideas in `sort` order, after `after`.
pub async fn page(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    viewer: Viewer,
    sort: Sort,
    after: Option<Cursor>,
    limit: u64,
) -> Result<IdeaPage, StoreError> {
    if sort == Sort::Discover {
        let offset = match after {
            Some(Cursor::Discover(offset)) => offset,
            _ => 0,
        };
        return discover_page(db, session_id, viewer, offset, limit).await;
    }
    let base = ideas::Entity::find()
        .filter(ideas::Column::SessionId.eq(session_id))
        .filter(viewer.listable(ideas::Column::Status, ideas::Column::AuthorId));
    let mut items = match sort {
        Sort::New => {
            let mut q = base;
            if let Some(Cursor::New(id)) = after {
                q = q.filter(ideas::Column::Id.lt(id));
            }
            q.order_by_desc(ideas::Column::Id)
                .limit(limit + 1)
                .all(db)
                .await?
        }
        Sort::Top => {
            let net = || Expr::col(ideas::Column::Up).sub(Expr::col(ideas::Column::Down));
            let mut q = base;
            if let Some(Cursor::Top { net: n, id }) = after {
                q = q.filter(
                    Condition::any()
                        .add(net().lt(n))
                        .add(Condition::all().add(net().eq(n)).add(ideas::Column::Id.lt(id))),
                );
            }
            q.order_by_desc(net())
                .order_by_desc(ideas::Column::Id)
                .limit(limit + 1)
                .all(db)
                .await?
        }
        Sort::Hot => hot_page(db, base, after, limit + 1).await?,
        Sort::Discover => Vec::new(),
    };
    let next = if items.len() as u64 > limit {
        items.truncate(limit as usize);
        items.last().map(|i| cursor_of(sort, i))
    } else {
        None
    };
    Ok(IdeaPage { items, next })
}

async fn hot_page(
    db: &impl ConnectionTrait,
    base: sea_orm::Select<ideas::Entity>,
    after: Option<Cursor>,
    take: u64,
) -> Result<Vec<ideas::Model>, StoreError> {
    let rows: Vec<(Uuid, i32, i32, DateTime<Utc>)> = base
        .select_only()
        .column(ideas::Column::Id)
        .column(ideas::Column::Up)
        .column(ideas::Column::Down)
        .column(ideas::Column::CreatedAt)
        .into_tuple()
        .all(db)
        .await?;
    let desc = |a: &(f64, Uuid), b: &(f64, Uuid)| b.0.total_cmp(&a.0).then_with(|| b.1.cmp(&a.1));
    let mut keyed: Vec<(f64, Uuid)> = rows
        .into_iter()
        .map(|(id, up, down, created_at)| (hot_key(up, down, created_at), id))
        .filter(|k| match after {
            Some(Cursor::Hot { key, id }) => desc(&(key, id), k) == Ordering::Less,
            _ => true,
        })
        .collect();
    keyed.sort_unstable_by(desc);
    keyed.truncate(take as usize);
    let ids: Vec<Uuid> = keyed.iter().map(|(_, id)| *id).collect();
    let mut found = ideas::Entity::find()
        .filter(ideas::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?;
    // Keep the order the keys gave (the rows were read a moment apart, but the ids are the page).
    found.sort_by_key(|i| ids.iter().position(|id| *id == i.id));
    Ok(found)
}

/// A page of the discover order (see the module docs). Staff have no impressions of their own:
/// they get the least seen first, in one fixed shuffle.
async fn discover_page(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    viewer: Viewer,
    offset: u64,
    limit: u64,
) -> Result<IdeaPage, StoreError> {
    let rows: Vec<(Uuid, i32)> = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::Id)
        .column(ideas::Column::Impressions)
        .filter(ideas::Column::SessionId.eq(session_id))
        .filter(ideas::Column::Status.eq(ItemStatus::Visible))
        .into_tuple()
        .all(db)
        .await?;
    let (reader, seen) = match viewer {
        Viewer::Participant(me) => (me, seen_in_session(db, session_id, me).await?),
        Viewer::Staff => (Uuid::nil(), HashSet::new()),
    };
    let mut items: Vec<DiscoverItem> = rows
        .into_iter()
        .map(|(id, impressions)| DiscoverItem {
            id,
            impressions: u64::from(crate::entity::count(impressions)),
            seen: seen.contains(&id),
        })
        .collect();
    discover_order(reader, &mut items);
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(items.len());
    let end = start
        .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
        .min(items.len());
    let ids: Vec<Uuid> = items[start..end].iter().map(|i| i.id).collect();
    let mut found = ideas::Entity::find()
        .filter(ideas::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?;
    found.sort_by_key(|i| ids.iter().position(|id| *id == i.id));
    Ok(IdeaPage {
        items: found,
        next: (end < items.len()).then_some(Cursor::Discover(end as u64)),
    })
}

/// The ideas of the session that `participant` has seen: an impression, or a vote (a vote means
/// they saw it, whether or not their browser reported it).
async fn seen_in_session(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    participant: Uuid,
) -> Result<HashSet<Uuid>, StoreError> {
    let in_session = || {
        Query::select()
            .column(ideas::Column::Id)
            .from(ideas::Entity)
            .and_where(Expr::col(ideas::Column::SessionId).eq(session_id))
            .to_owned()
    };
    let mut seen: HashSet<Uuid> = impressions::Entity::find()
        .select_only()
        .column(impressions::Column::IdeaId)
        .filter(impressions::Column::ParticipantId.eq(participant))
        .filter(impressions::Column::IdeaId.in_subquery(in_session()))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let voted: Vec<Uuid> = votes::Entity::find()
        .select_only()
        .column(votes::Column::IdeaId)
        .filter(votes::Column::ParticipantId.eq(participant))
        .filter(votes::Column::Value.ne(0))
        .filter(votes::Column::IdeaId.in_subquery(in_session()))
        .into_tuple()
        .all(db)
        .await?;
    seen.extend(voted);
    Ok(seen)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_sort() {
        let id = Uuid::now_v7();
        for (sort, c) in [
            (Sort::New, Cursor::New(id)),
            (Sort::Top, Cursor::Top { net: -3, id }),
            (Sort::Hot, Cursor::Hot { key: 1234.5678, id }),
            (Sort::Discover, Cursor::Discover(40)),
        ] {
            assert_eq!(Cursor::parse(sort, &c.encode()), Some(c));
        }
        assert_eq!(Cursor::parse(Sort::Top, &Cursor::New(id).encode()), None);
        assert_eq!(Cursor::parse(Sort::New, "n.zzz"), None);
        assert_eq!(Cursor::parse(Sort::Hot, "h.7ff0000000000000.0"), None);
        assert_eq!(
            Cursor::parse(Sort::New, &format!("{}.x", Cursor::New(id).encode())),
            None
        );
    }

    #[test]
    fn the_hot_key_orders_like_the_hot_score_at_any_time() {
        let t = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
        let a = (5, 1, t);
        let b = (0, 0, t + chrono::Duration::hours(3));
        for now in [t + chrono::Duration::hours(4), t + chrono::Duration::days(3)] {
            let by_score = hot_score(5, 1, a.2, now) > hot_score(0, 0, b.2, now);
            let by_key = hot_key(a.0, a.1, a.2) > hot_key(b.0, b.1, b.2);
            assert_eq!(by_score, by_key);
        }
    }
}
