//! The mood of a jam: its posts' sentiments by time (`ideas` and `comments`, written with each post),
//! the most negative and most positive ideas of a window, and the alert's state per jam.

use chrono::{DateTime, Utc};
use jam_domain::{ItemStatus, Sentiment};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{comments, ideas, mood_alerts};

/// One scored post: when, in which session, and its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Post {
    pub at: DateTime<Utc>,
    pub session_id: Uuid,
    pub label: Sentiment,
}

/// The jam's scored ideas and comments with `from < created_at <= to` (`from` = none: all before
/// `to`), in `session` if given, oldest first. Removed posts are left out.
pub async fn posts(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    session: Option<Uuid>,
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
) -> Result<Vec<Post>, StoreError> {
    let mut q = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::CreatedAt)
        .column(ideas::Column::SessionId)
        .column(ideas::Column::Sentiment)
        .filter(ideas::Column::JamId.eq(jam_id))
        .filter(ideas::Column::Sentiment.is_not_null())
        .filter(ideas::Column::Status.ne(ItemStatus::Removed))
        .filter(ideas::Column::CreatedAt.lte(to));
    if let Some(from) = from {
        q = q.filter(ideas::Column::CreatedAt.gt(from));
    }
    if let Some(session) = session {
        q = q.filter(ideas::Column::SessionId.eq(session));
    }
    let idea_rows: Vec<(DateTime<Utc>, Uuid, Sentiment)> = q.into_tuple().all(db).await?;

    let mut q = comments::Entity::find()
        .select_only()
        .column(comments::Column::CreatedAt)
        .column_as(ideas::Column::SessionId, "session_id")
        .column(comments::Column::Sentiment)
        .join(JoinType::InnerJoin, comments::Relation::Idea.def())
        .filter(comments::Column::JamId.eq(jam_id))
        .filter(comments::Column::Sentiment.is_not_null())
        .filter(comments::Column::Status.ne(ItemStatus::Removed))
        .filter(comments::Column::CreatedAt.lte(to));
    if let Some(from) = from {
        q = q.filter(comments::Column::CreatedAt.gt(from));
    }
    if let Some(session) = session {
        q = q.filter(ideas::Column::SessionId.eq(session));
    }
    let comment_rows: Vec<(DateTime<Utc>, Uuid, Sentiment)> = q.into_tuple().all(db).await?;

    let mut posts: Vec<Post> = idea_rows
        .into_iter()
        .chain(comment_rows)
        .map(|(at, session_id, label)| Post {
            at,
            session_id,
            label,
        })
        .collect();
    posts.sort_by_key(|p| p.at);
    Ok(posts)
}

/// Which end of the scale [`extremes`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    MostNegative,
    MostPositive,
}

/// The visible ideas posted in `[from, to)` (in `session` if given) with the lowest or the highest
/// sentiment score, at most `limit`.
pub async fn extremes(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    session: Option<Uuid>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    end: End,
    limit: u64,
) -> Result<Vec<ideas::Model>, StoreError> {
    let mut q = ideas::Entity::find()
        .filter(ideas::Column::JamId.eq(jam_id))
        .filter(ideas::Column::Status.eq(ItemStatus::Visible))
        .filter(ideas::Column::SentimentScore.is_not_null());
    if let Some(session) = session {
        q = q.filter(ideas::Column::SessionId.eq(session));
    }
    if let Some(from) = from {
        q = q.filter(ideas::Column::CreatedAt.gte(from));
    }
    if let Some(to) = to {
        q = q.filter(ideas::Column::CreatedAt.lt(to));
    }
    let q = match end {
        End::MostNegative => q
            .filter(ideas::Column::Sentiment.eq(Sentiment::Negative))
            .order_by_asc(ideas::Column::SentimentScore),
        End::MostPositive => q
            .filter(ideas::Column::Sentiment.eq(Sentiment::Positive))
            .order_by_desc(ideas::Column::SentimentScore),
    };
    Ok(q.order_by_asc(ideas::Column::Id).limit(limit).all(db).await?)
}

/// An idea's sentiment after its author's edit.
pub async fn set_idea(
    db: &impl ConnectionTrait,
    id: Uuid,
    label: Sentiment,
    score: f64,
) -> Result<(), StoreError> {
    ideas::Entity::update_many()
        .col_expr(ideas::Column::Sentiment, Expr::value(Some(label)))
        .col_expr(ideas::Column::SentimentScore, Expr::value(Some(score)))
        .filter(ideas::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The jams with a post after `since`, and those whose alert is raised (so it can re-arm).
pub async fn jams_to_watch(db: &impl ConnectionTrait, since: DateTime<Utc>) -> Result<Vec<Uuid>, StoreError> {
    let mut jams: Vec<Uuid> = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::JamId)
        .distinct()
        .filter(ideas::Column::CreatedAt.gt(since))
        .into_tuple()
        .all(db)
        .await?;
    let commented: Vec<Uuid> = comments::Entity::find()
        .select_only()
        .column(comments::Column::JamId)
        .distinct()
        .filter(comments::Column::CreatedAt.gt(since))
        .into_tuple()
        .all(db)
        .await?;
    let raised: Vec<Uuid> = mood_alerts::Entity::find()
        .select_only()
        .column(mood_alerts::Column::JamId)
        .filter(mood_alerts::Column::Active.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    jams.extend(commented);
    jams.extend(raised);
    jams.sort();
    jams.dedup();
    Ok(jams)
}

/// The time of the jam's first scored post, if any.
pub async fn first_post(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let idea: Option<DateTime<Utc>> = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::CreatedAt)
        .filter(ideas::Column::JamId.eq(jam_id))
        .filter(ideas::Column::Sentiment.is_not_null())
        .order_by_asc(ideas::Column::CreatedAt)
        .into_tuple()
        .one(db)
        .await?;
    let comment: Option<DateTime<Utc>> = comments::Entity::find()
        .select_only()
        .column(comments::Column::CreatedAt)
        .filter(comments::Column::JamId.eq(jam_id))
        .filter(comments::Column::Sentiment.is_not_null())
        .order_by_asc(comments::Column::CreatedAt)
        .into_tuple()
        .one(db)
        .await?;
    Ok(match (idea, comment) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

pub async fn alert(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
) -> Result<Option<mood_alerts::Model>, StoreError> {
    Ok(mood_alerts::Entity::find_by_id(jam_id).one(db).await?)
}

/// Writes the alert's state (insert or replace).
pub async fn save_alert(db: &impl ConnectionTrait, state: mood_alerts::Model) -> Result<(), StoreError> {
    mood_alerts::Entity::insert(mood_alerts::ActiveModel::from(state))
        .on_conflict(
            OnConflict::column(mood_alerts::Column::JamId)
                .update_columns([
                    mood_alerts::Column::EvaluatedUntil,
                    mood_alerts::Column::Active,
                    mood_alerts::Column::Since,
                    mood_alerts::Column::Fired,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Counts per label in consecutive buckets of `minutes`, aligned on multiples of `minutes` since
/// the Unix epoch (so 60-minute buckets start on the hour), from the first post's bucket to the
/// bucket holding `until` (or the last post, if later). Empty without posts. `posts` need not be
/// sorted.
pub fn buckets(posts: &[Post], minutes: u32, until: DateTime<Utc>) -> Vec<(DateTime<Utc>, [u32; 3])> {
    let width = i64::from(minutes.max(1)) * 60;
    let index = |at: DateTime<Utc>| at.timestamp().div_euclid(width);
    let Some(first) = posts.iter().map(|p| index(p.at)).min() else {
        return Vec::new();
    };
    let last = posts
        .iter()
        .map(|p| index(p.at))
        .max()
        .unwrap_or(first)
        .max(index(until));
    let mut out: Vec<(DateTime<Utc>, [u32; 3])> = (first..=last)
        .map(|i| (DateTime::from_timestamp(i * width, 0).unwrap_or_default(), [0; 3]))
        .collect();
    for post in posts {
        let slot = (index(post.at) - first) as usize;
        let label = match post.label {
            Sentiment::Negative => 0,
            Sentiment::Neutral => 1,
            Sentiment::Positive => 2,
        };
        out[slot].1[label] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        // From 2027-01-15 08:00 UTC, a whole hour (1.8e9 is a multiple of 3,600).
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap_or_default()
    }

    #[test]
    fn buckets_are_aligned_consecutive_and_count_each_label() {
        let post = |minute, label| Post {
            at: at(minute),
            session_id: Uuid::nil(),
            label,
        };
        let posts = [
            post(25, Sentiment::Positive),
            post(3, Sentiment::Negative),
            post(9, Sentiment::Negative),
            post(10, Sentiment::Neutral),
        ];
        let series = buckets(&posts, 10, at(41));
        let starts: Vec<DateTime<Utc>> = series.iter().map(|b| b.0).collect();
        assert_eq!(starts, vec![at(0), at(10), at(20), at(30), at(40)]);
        let counts: Vec<[u32; 3]> = series.iter().map(|b| b.1).collect();
        assert_eq!(
            counts,
            vec![[2, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]]
        );
        assert!(buckets(&[], 10, at(0)).is_empty());
        let hourly = buckets(&posts, 60, at(0));
        assert_eq!(hourly, vec![(at(0), [2, 1, 1])]);
    }
}
