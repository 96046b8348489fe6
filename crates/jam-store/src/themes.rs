//! Themes of a jam (issue 16): what the re-clustering job reads (the visible ideas' texts, the
//! previous run's themes as the seed of stable ids, whether the ideas changed since), the run it
//! writes (the jam's themes and each idea's theme, replaced in one transaction), and what the routes
//! and exports read (a jam's themes, a theme's ideas in pages, each idea's theme label, and the
//! activity per theme in two time windows for the hot topics).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jam_domain::ItemStatus;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{comments, idea_themes, ideas, jams, theme_runs, themes, votes};

/// Rows per `INSERT` when saving a run: 3 columns each, far below either backend's limit of bound
/// parameters.
const INSERT_CHUNK: usize = 1_000;

/// One idea's text as the clustering reads it: title and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdeaText {
    pub id: Uuid,
    pub text: String,
}

/// The jam's visible ideas (title, a blank line, body), in id order.
pub async fn idea_texts(db: &impl ConnectionTrait, jam_id: Uuid) -> Result<Vec<IdeaText>, StoreError> {
    let rows: Vec<(Uuid, String, String)> = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::Id)
        .column(ideas::Column::Title)
        .column(ideas::Column::Body)
        .filter(ideas::Column::JamId.eq(jam_id))
        .filter(ideas::Column::Status.eq(ItemStatus::Visible))
        .order_by_asc(ideas::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, title, body)| IdeaText {
            id,
            text: format!("{title}\n\n{body}"),
        })
        .collect())
}

/// What a jam's ideas (every status) look like: how many, and the latest `updated_at` (a post, an
/// edit or a moderation decision moves it). Two equal states mean nothing a run reads has changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IdeasState {
    pub ideas: i32,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The state of every jam with ideas.
pub async fn ideas_states(db: &impl ConnectionTrait) -> Result<HashMap<Uuid, IdeasState>, StoreError> {
    let rows: Vec<(Uuid, i64, Option<DateTime<Utc>>)> = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::JamId)
        .column_as(Expr::col(ideas::Column::Id).count(), "n")
        .column_as(Expr::col(ideas::Column::UpdatedAt).max(), "latest")
        .group_by(ideas::Column::JamId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(jam_id, n, updated_at)| {
            (
                jam_id,
                IdeasState {
                    ideas: i32::try_from(n).unwrap_or(i32::MAX),
                    updated_at,
                },
            )
        })
        .collect())
}

/// The jam's last run, if it was ever clustered.
pub async fn last_run(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
) -> Result<Option<theme_runs::Model>, StoreError> {
    Ok(theme_runs::Entity::find_by_id(jam_id).one(db).await?)
}

/// Every jam's last run.
pub async fn last_runs(db: &impl ConnectionTrait) -> Result<HashMap<Uuid, theme_runs::Model>, StoreError> {
    Ok(theme_runs::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.jam_id, r))
        .collect())
}

/// The jams that are neither drafts nor published, for the job to check.
pub async fn jams_to_check(db: &impl ConnectionTrait) -> Result<Vec<jams::Model>, StoreError> {
    Ok(jams::Entity::find()
        .filter(jams::Column::ScheduledAt.is_not_null())
        .filter(jams::Column::PublishedAt.is_null())
        .order_by_asc(jams::Column::Id)
        .all(db)
        .await?)
}

/// A theme and its ideas (sorted), as a run continues it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    pub theme_id: Uuid,
    pub ideas: Vec<Uuid>,
}

/// The latest run's themes of the jam with their ideas, in theme id order.
pub async fn members(db: &impl ConnectionTrait, jam_id: Uuid) -> Result<Vec<Members>, StoreError> {
    let rows: Vec<(Uuid, Uuid)> = idea_themes::Entity::find()
        .select_only()
        .column(idea_themes::Column::ThemeId)
        .column(idea_themes::Column::IdeaId)
        .filter(idea_themes::Column::JamId.eq(jam_id))
        .order_by_asc(idea_themes::Column::ThemeId)
        .order_by_asc(idea_themes::Column::IdeaId)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: Vec<Members> = Vec::new();
    for (theme_id, idea_id) in rows {
        match out.last_mut() {
            Some(last) if last.theme_id == theme_id => last.ideas.push(idea_id),
            _ => out.push(Members {
                theme_id,
                ideas: vec![idea_id],
            }),
        }
    }
    Ok(out)
}

/// One theme of a run to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTheme {
    pub id: Uuid,
    pub label: Vec<String>,
    pub ideas: Vec<Uuid>,
}

/// A run to save: its themes, when it ran and the state of the ideas it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub jam_id: Uuid,
    pub run_at: DateTime<Utc>,
    pub read: IdeasState,
    pub themes: Vec<NewTheme>,
}

/// Saves a run in one transaction: the jam's themes and assignments are replaced, so readers see
/// either the previous run or this one, never a mix.
pub async fn save_run(db: &DatabaseConnection, run: &Run) -> Result<(), StoreError> {
    let txn = crate::write::begin_write(db).await?;
    replace(&txn, run).await?;
    txn.commit().await?;
    Ok(())
}

/// [`save_run`]'s writes inside the caller's transaction.
pub async fn replace(db: &impl ConnectionTrait, run: &Run) -> Result<(), StoreError> {
    idea_themes::Entity::delete_many()
        .filter(idea_themes::Column::JamId.eq(run.jam_id))
        .exec(db)
        .await?;
    themes::Entity::delete_many()
        .filter(themes::Column::JamId.eq(run.jam_id))
        .exec(db)
        .await?;
    if !run.themes.is_empty() {
        let rows = run.themes.iter().map(|t| {
            themes::ActiveModel::from(themes::Model {
                id: t.id,
                jam_id: run.jam_id,
                label: themes::label_json(&t.label),
                size: i32::try_from(t.ideas.len()).unwrap_or(i32::MAX),
                run_at: run.run_at,
            })
        });
        let rows: Vec<_> = rows.collect();
        for chunk in rows.chunks(INSERT_CHUNK) {
            themes::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
    }
    let assignments: Vec<idea_themes::ActiveModel> = run
        .themes
        .iter()
        .flat_map(|t| {
            t.ideas.iter().map(|idea_id| {
                idea_themes::ActiveModel::from(idea_themes::Model {
                    idea_id: *idea_id,
                    jam_id: run.jam_id,
                    theme_id: t.id,
                })
            })
        })
        .collect();
    for chunk in assignments.chunks(INSERT_CHUNK) {
        idea_themes::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    let row = theme_runs::Model {
        jam_id: run.jam_id,
        run_at: run.run_at,
        ideas: run.read.ideas,
        ideas_updated_at: run.read.updated_at,
    };
    theme_runs::Entity::insert(theme_runs::ActiveModel::from(row))
        .on_conflict(
            OnConflict::column(theme_runs::Column::JamId)
                .update_columns([
                    theme_runs::Column::RunAt,
                    theme_runs::Column::Ideas,
                    theme_runs::Column::IdeasUpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The jam's themes, largest first (ties by id).
pub async fn list(db: &impl ConnectionTrait, jam_id: Uuid) -> Result<Vec<themes::Model>, StoreError> {
    Ok(themes::Entity::find()
        .filter(themes::Column::JamId.eq(jam_id))
        .order_by_desc(themes::Column::Size)
        .order_by_asc(themes::Column::Id)
        .all(db)
        .await?)
}

/// One theme of the jam.
pub async fn get(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    theme_id: Uuid,
) -> Result<Option<themes::Model>, StoreError> {
    Ok(themes::Entity::find_by_id(theme_id)
        .filter(themes::Column::JamId.eq(jam_id))
        .one(db)
        .await?)
}

/// The theme of each of these ideas that has one.
pub async fn of_ideas(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, Uuid>, StoreError> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(INSERT_CHUNK) {
        let rows: Vec<(Uuid, Uuid)> = idea_themes::Entity::find()
            .select_only()
            .column(idea_themes::Column::IdeaId)
            .column(idea_themes::Column::ThemeId)
            .filter(idea_themes::Column::IdeaId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The theme label (terms joined by `, `) of each of these ideas that has a theme.
pub async fn labels_of(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, String>, StoreError> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(INSERT_CHUNK) {
        let rows: Vec<(Uuid, String)> = idea_themes::Entity::find()
            .select_only()
            .column(idea_themes::Column::IdeaId)
            .column(themes::Column::Label)
            .join(JoinType::InnerJoin, idea_themes::Relation::Theme.def())
            .filter(idea_themes::Column::IdeaId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (idea, label) in rows {
            let terms: Vec<String> = serde_json::from_str(&label).unwrap_or_default();
            out.insert(idea, terms.join(", "));
        }
    }
    Ok(out)
}

/// Each themed idea of the jam with its theme's label terms joined by `, ` (for the exports).
pub async fn labels_of_jam(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
) -> Result<HashMap<Uuid, String>, StoreError> {
    let labels: HashMap<Uuid, String> = list(db, jam_id)
        .await?
        .into_iter()
        .map(|t| (t.id, t.terms().join(", ")))
        .collect();
    let rows: Vec<(Uuid, Uuid)> = idea_themes::Entity::find()
        .select_only()
        .column(idea_themes::Column::IdeaId)
        .column(idea_themes::Column::ThemeId)
        .filter(idea_themes::Column::JamId.eq(jam_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(idea, theme)| labels.get(&theme).map(|l| (idea, l.clone())))
        .collect())
}

/// A page of a theme's ideas, newest first (v7 ids), after the cursor `after` (the last id of the
/// previous page); only visible ones unless `any_status`. The next page's cursor is the last id
/// when the page is full.
pub async fn ideas_page(
    db: &impl ConnectionTrait,
    theme_id: Uuid,
    any_status: bool,
    after: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<ideas::Model>, Option<Uuid>), StoreError> {
    let mut q = ideas::Entity::find()
        .join(JoinType::InnerJoin, ideas_to_theme())
        .filter(idea_themes::Column::ThemeId.eq(theme_id));
    if !any_status {
        q = q.filter(ideas::Column::Status.eq(ItemStatus::Visible));
    }
    if let Some(after) = after {
        q = q.filter(ideas::Column::Id.lt(after));
    }
    let items = q.order_by_desc(ideas::Column::Id).limit(limit).all(db).await?;
    let next = (items.len() as u64 == limit)
        .then(|| items.last().map(|i| i.id))
        .flatten();
    Ok((items, next))
}

fn ideas_to_theme() -> sea_orm::RelationDef {
    idea_themes::Relation::Idea.def().rev()
}

/// Activity on a theme's ideas in two consecutive windows: `[0]` the one before, `[1]` the recent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Activity {
    /// Ideas posted (any status but removed).
    pub ideas: [u32; 2],
    /// Comments written (any status but removed).
    pub comments: [u32; 2],
    /// Votes cast or changed (non-zero now), counted once at their latest change.
    pub votes: [u32; 2],
}

/// Activity per theme of the jam in `[from, mid)` and `[mid, to)`, counted on the ideas of the
/// latest run's themes (grouped by the database, so a busy hour costs a few rows per theme). Themes
/// with none are left out.
pub async fn activity(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    from: DateTime<Utc>,
    mid: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashMap<Uuid, Activity>, StoreError> {
    let window = Window { from, mid, to };
    let mut out: HashMap<Uuid, Activity> = HashMap::new();

    let q = ideas::Entity::find()
        .join(JoinType::InnerJoin, ideas_to_theme())
        .filter(idea_themes::Column::JamId.eq(jam_id))
        .filter(ideas::Column::Status.ne(ItemStatus::Removed));
    for (theme, slot, n) in window.counts(db, q, ideas::Column::CreatedAt).await? {
        out.entry(theme).or_default().ideas[slot] += n;
    }

    let q = comments::Entity::find()
        .join(
            JoinType::InnerJoin,
            comments::Entity::belongs_to(idea_themes::Entity)
                .from(comments::Column::IdeaId)
                .to(idea_themes::Column::IdeaId)
                .into(),
        )
        .filter(idea_themes::Column::JamId.eq(jam_id))
        .filter(comments::Column::Status.ne(ItemStatus::Removed));
    for (theme, slot, n) in window.counts(db, q, comments::Column::CreatedAt).await? {
        out.entry(theme).or_default().comments[slot] += n;
    }

    let q = votes::Entity::find()
        .join(
            JoinType::InnerJoin,
            votes::Entity::belongs_to(idea_themes::Entity)
                .from(votes::Column::IdeaId)
                .to(idea_themes::Column::IdeaId)
                .into(),
        )
        .filter(idea_themes::Column::JamId.eq(jam_id))
        .filter(votes::Column::Value.ne(0));
    for (theme, slot, n) in window.counts(db, q, votes::Column::UpdatedAt).await? {
        out.entry(theme).or_default().votes[slot] += n;
    }
    Ok(out)
}

/// The two windows of [`activity`].
struct Window {
    from: DateTime<Utc>,
    mid: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl Window {
    /// `(theme, window, rows)` for the rows of `q` (joined to `idea_themes`) whose `at` is in
    /// `[from, to)`; window 1 is `[mid, to)`.
    async fn counts<E: EntityTrait>(
        &self,
        db: &impl ConnectionTrait,
        q: sea_orm::Select<E>,
        at: impl ColumnTrait,
    ) -> Result<Vec<(Uuid, usize, u32)>, StoreError> {
        let rows: Vec<(Uuid, i32, i64)> = q
            .select_only()
            .column(idea_themes::Column::ThemeId)
            .column_as(
                Into::<Expr>::into(Expr::case(at.gte(self.mid), 1).finally(0)),
                "recent",
            )
            .column_as(Expr::cust("COUNT(*)"), "n")
            .filter(at.gte(self.from))
            .filter(at.lt(self.to))
            .group_by(idea_themes::Column::ThemeId)
            .group_by(Expr::cust("recent"))
            .into_tuple()
            .all(db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(theme, recent, n)| {
                (
                    theme,
                    usize::from(recent == 1),
                    u32::try_from(n).unwrap_or(u32::MAX),
                )
            })
            .collect())
    }
}
