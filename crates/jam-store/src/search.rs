//! Full-text search, similar ideas and likely duplicates (issue 16), on SQLite FTS5 and PostgreSQL
//! `tsvector` (see `jam-migrations`' `m20261210_000004_search` for the index of each).
//!
//! Both backends index the same analysed terms (`jam_domain::terms`), so a query matches the same
//! ideas on both: every searchable word of the query must match a stem of the idea's title, body or
//! tags. Ranking is the database's own: BM25 on SQLite (title × 3, tags × 2, body × 1) and `ts_rank`
//! on PostgreSQL (weights A title, B tags, C body), so equal relevance may order differently.
//!
//! Pages are keyset pages. `relevance`: by score, then a unique tie-break (the FTS row on SQLite, the
//! id on PostgreSQL); `new`: newest first. A cursor names its backend's keys, so it is only valid on
//! the deployment that gave it. While ideas are posted, BM25's corpus statistics shift every score a
//! little, so a relevance page after a write may repeat or skip an idea; `new` pages never do.
//!
//! Similar ideas: the input's terms (title first) pick up to [`SIMILAR_CANDIDATES`] candidates in
//! the session by full-text rank (any term), then each is scored in Rust with
//! `jam_domain::terms::similarity` (a weighted cosine in [0, 1]); those at or above the threshold,
//! best first, up to the limit.

use jam_domain::ItemStatus;
use jam_domain::terms::{self, Query};
use sea_orm::{ColumnTrait, QueryResult};
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::ideas;

/// Candidates read per similar-ideas request before scoring.
pub const SIMILAR_CANDIDATES: u64 = 30;
/// Terms of the input used to find candidates (the title's first, then the body's).
pub const SIMILAR_TERMS: usize = 12;

/// Which statuses a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statuses {
    /// Every status (staff with no status facet).
    Any,
    /// One status (participants always get `Visible`).
    Only(ItemStatus),
}

/// What a search is restricted to.
#[derive(Debug, Clone)]
pub struct Filter {
    pub jam_id: Uuid,
    pub session_id: Option<Uuid>,
    /// A tag key (`jam_domain::terms::tag_key`).
    pub tag_key: Option<String>,
    /// The authors' audience.
    pub audience_id: Option<Uuid>,
    pub statuses: Statuses,
}

/// The order of results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Relevance,
    New,
}

/// The unique tie-break of a result: SQLite's FTS row number or PostgreSQL's idea id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tie {
    Row(i64),
    Id(Uuid),
}

/// Where a page starts: just after this result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SearchCursor {
    Relevance { score: f64, tie: Tie },
    New(Tie),
}

impl Tie {
    fn encode(self) -> String {
        match self {
            Tie::Row(n) => format!("r{n}"),
            Tie::Id(id) => format!("i{}", id.simple()),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text.split_at_checked(1)? {
            ("r", n) => Some(Tie::Row(n.parse().ok()?)),
            ("i", id) => Some(Tie::Id(Uuid::parse_str(id).ok()?)),
            _ => None,
        }
    }
}

impl SearchCursor {
    /// The opaque text clients send back.
    pub fn encode(&self) -> String {
        match self {
            SearchCursor::Relevance { score, tie } => {
                format!("s.{:016x}.{}", score.to_bits(), tie.encode())
            }
            SearchCursor::New(tie) => format!("n.{}", tie.encode()),
        }
    }

    /// Parses a cursor of this order; `None` for anything else (the caller answers 422).
    pub fn parse(order: Order, text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let cursor = match (order, parts.next()?) {
            (Order::Relevance, "s") => {
                let score = f64::from_bits(u64::from_str_radix(parts.next()?, 16).ok()?);
                if !score.is_finite() {
                    return None;
                }
                SearchCursor::Relevance {
                    score,
                    tie: Tie::parse(parts.next()?)?,
                }
            }
            (Order::New, "n") => SearchCursor::New(Tie::parse(parts.next()?)?),
            _ => return None,
        };
        parts.next().is_none().then_some(cursor)
    }

    fn tie(&self) -> Tie {
        match self {
            SearchCursor::Relevance { tie, .. } | SearchCursor::New(tie) => *tie,
        }
    }
}

/// One page of results and the cursor of the next (`None` on the last page).
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub items: Vec<ideas::Model>,
    pub next: Option<SearchCursor>,
}

/// A query word's stems as an FTS5 OR group, quoted (stems are letters and digits only).
fn fts_group(group: &[String]) -> String {
    let alts: Vec<String> = group.iter().map(|s| format!("\"{s}\"")).collect();
    format!("({})", alts.join(" OR "))
}

/// The FTS5 MATCH expression: every word in title/body/tags, and the filters as `meta` words.
fn fts_match(groups: &[Vec<String>], all: bool, filter: &Filter) -> String {
    let glue = if all { " AND " } else { " OR " };
    let words: Vec<String> = groups.iter().map(|g| fts_group(g)).collect();
    let mut expr = format!("{{title body tags}} : ({})", words.join(glue));
    expr.push_str(&format!(" AND meta : \"j{}\"", hex(filter.jam_id)));
    if let Some(s) = filter.session_id {
        expr.push_str(&format!(" AND meta : \"s{}\"", hex(s)));
    }
    if let Statuses::Only(status) = filter.statuses {
        expr.push_str(&format!(" AND meta : \"x{}\"", status.as_str()));
    }
    if let Some(key) = &filter.tag_key {
        expr.push_str(&format!(" AND tags : \"{key}\""));
    }
    expr
}

/// The PostgreSQL `to_tsquery('simple', …)` text: every (or any) word, and the tag key as weight B.
fn pg_tsquery(groups: &[Vec<String>], all: bool, tag_key: Option<&str>) -> String {
    let glue = if all { " & " } else { " | " };
    let words: Vec<String> = groups.iter().map(|g| format!("({})", g.join(" | "))).collect();
    let mut q = format!("({})", words.join(glue));
    if let Some(key) = tag_key {
        q.push_str(&format!(" & {key}:B"));
    }
    q
}

/// A UUID as the lower-case hex SQLite's `lower(hex(id))` gives for its 16-byte blob.
fn hex(id: Uuid) -> String {
    id.simple().to_string()
}

/// The ideas of a jam matching every word of `query`, in `order`, after `after`.
pub async fn search(
    db: &impl ConnectionTrait,
    query: &Query,
    filter: &Filter,
    order: Order,
    after: Option<SearchCursor>,
    limit: u64,
) -> Result<SearchPage, StoreError> {
    if query.groups.is_empty() {
        return Ok(SearchPage {
            items: Vec::new(),
            next: None,
        });
    }
    let hits = match db.get_database_backend() {
        DbBackend::Sqlite => sqlite_hits(db, &query.groups, true, filter, order, after, limit + 1).await?,
        _ => postgres_hits(db, &query.groups, true, filter, order, after, limit + 1).await?,
    };
    let mut ids: Vec<(Uuid, SearchCursor)> = hits
        .into_iter()
        .map(|(id, score, tie)| {
            let c = match order {
                Order::Relevance => SearchCursor::Relevance { score, tie },
                Order::New => SearchCursor::New(tie),
            };
            (id, c)
        })
        .collect();
    let next = if ids.len() as u64 > limit {
        ids.truncate(limit as usize);
        ids.last().map(|(_, c)| *c)
    } else {
        None
    };
    let items = load_in_order(db, ids.iter().map(|(id, _)| *id).collect()).await?;
    Ok(SearchPage { items, next })
}

/// The ideas with these ids, in this order (ideas deleted meanwhile left out).
async fn load_in_order(db: &impl ConnectionTrait, ids: Vec<Uuid>) -> Result<Vec<ideas::Model>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = ideas::Entity::find()
        .filter(ideas::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?;
    found.sort_by_key(|i| ids.iter().position(|id| *id == i.id));
    Ok(found)
}

type Hit = (Uuid, f64, Tie);

fn hit_of(row: &QueryResult, tie_is_row: bool) -> Result<Hit, StoreError> {
    let id: Uuid = row.try_get("", "idea_id")?;
    let score: f64 = row.try_get("", "score")?;
    let tie = if tie_is_row {
        Tie::Row(row.try_get("", "n")?)
    } else {
        Tie::Id(id)
    };
    Ok((id, score, tie))
}

async fn sqlite_hits(
    db: &impl ConnectionTrait,
    groups: &[Vec<String>],
    all: bool,
    filter: &Filter,
    order: Order,
    after: Option<SearchCursor>,
    take: u64,
) -> Result<Vec<Hit>, StoreError> {
    // Values are pushed in the order their `?` appear in the statement.
    let mut values: Vec<Value> = vec![fts_match(groups, all, filter).into()];
    let (audience_join, audience_cond) = match filter.audience_id {
        Some(_) => (
            "JOIN ideas i ON i.id = r.idea_id JOIN participants pa ON pa.id = i.author_id",
            "AND pa.audience_id = ?",
        ),
        None => ("", ""),
    };
    let last_row = match after.map(|c| (c, c.tie())) {
        Some((c, Tie::Row(n))) => Some((c, n)),
        Some(_) => return Ok(Vec::new()),
        None => None,
    };
    let sql = match order {
        Order::Relevance => {
            if let Some(a) = filter.audience_id {
                values.push(a.into());
            }
            // Qualified in the audience form, where `idea_fts_rows` also has an `n`.
            let q = if filter.audience_id.is_some() { "h." } else { "" };
            let cond = match last_row {
                Some((SearchCursor::Relevance { score, .. }, n)) => {
                    values.extend([score.into(), score.into(), n.into()]);
                    format!("AND ({q}score > ? OR ({q}score = ? AND {q}n < ?))")
                }
                _ => String::new(),
            };
            values.push((take as i64).into());
            if filter.audience_id.is_some() {
                format!(
                    "WITH h AS MATERIALIZED (
                        SELECT rowid AS n, bm25(ideas_fts, 3.0, 1.0, 2.0, 0.0) AS score
                        FROM ideas_fts WHERE ideas_fts MATCH ?)
                     SELECT h.n AS n, h.score AS score, r.idea_id AS idea_id
                     FROM h JOIN idea_fts_rows r ON r.n = h.n {audience_join}
                     WHERE 1 = 1 {audience_cond} {cond}
                     ORDER BY h.score, h.n DESC LIMIT ?"
                )
            } else {
                // Without an audience every hit qualifies: the page is cut from the index's hits
                // alone, and only its rows are mapped to ideas.
                format!(
                    "WITH h AS MATERIALIZED (
                        SELECT rowid AS n, bm25(ideas_fts, 3.0, 1.0, 2.0, 0.0) AS score
                        FROM ideas_fts WHERE ideas_fts MATCH ?),
                     p AS MATERIALIZED (
                        SELECT n, score FROM h WHERE 1 = 1 {cond}
                        ORDER BY score, n DESC LIMIT ?)
                     SELECT p.n AS n, p.score AS score, r.idea_id AS idea_id
                     FROM p JOIN idea_fts_rows r ON r.n = p.n
                     ORDER BY p.score, p.n DESC"
                )
            }
        }
        Order::New => {
            if let Some(a) = filter.audience_id {
                values.push(a.into());
            }
            let cond = match last_row {
                Some((_, n)) => {
                    values.push(n.into());
                    "AND f.rowid < ?"
                }
                None => "",
            };
            values.push((take as i64).into());
            format!(
                "SELECT f.rowid AS n, 0.0 AS score, r.idea_id AS idea_id
                 FROM ideas_fts f JOIN idea_fts_rows r ON r.n = f.rowid {audience_join}
                 WHERE ideas_fts MATCH ? {audience_cond} {cond}
                 ORDER BY f.rowid DESC LIMIT ?"
            )
        }
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values))
        .await?;
    rows.iter().map(|r| hit_of(r, true)).collect()
}

async fn postgres_hits(
    db: &impl ConnectionTrait,
    groups: &[Vec<String>],
    all: bool,
    filter: &Filter,
    order: Order,
    after: Option<SearchCursor>,
    take: u64,
) -> Result<Vec<Hit>, StoreError> {
    let mut values: Vec<Value> = vec![
        pg_tsquery(groups, all, filter.tag_key.as_deref()).into(),
        filter.jam_id.into(),
    ];
    // Placeholders are numbered by the length of `values` as each is pushed.
    let mut sql_where = String::from("i.search_tsv @@ q.q AND i.jam_id = $2");
    let mut join = String::new();
    if let Some(s) = filter.session_id {
        values.push(s.into());
        sql_where.push_str(&format!(" AND i.session_id = ${}", values.len()));
    }
    if let Statuses::Only(status) = filter.statuses {
        values.push(status.as_str().into());
        sql_where.push_str(&format!(" AND i.status = ${}", values.len()));
    }
    if let Some(a) = filter.audience_id {
        values.push(a.into());
        join = format!(
            "JOIN participants pa ON pa.id = i.author_id AND pa.audience_id = ${}",
            values.len()
        );
    }
    let last_id = match after.map(|c| (c, c.tie())) {
        Some((c, Tie::Id(id))) => Some((c, id)),
        Some(_) => return Ok(Vec::new()),
        None => None,
    };
    let rank = "ts_rank(i.search_tsv, q.q)::float8";
    let order_by = match order {
        Order::Relevance => {
            if let Some((SearchCursor::Relevance { score, .. }, id)) = last_id {
                values.push(score.into());
                let s = values.len();
                values.push(id.into());
                let i = values.len();
                sql_where.push_str(&format!(
                    " AND ({rank} < ${s} OR ({rank} = ${s} AND i.id < ${i}))"
                ));
            }
            "score DESC, i.id DESC"
        }
        Order::New => {
            if let Some((_, id)) = last_id {
                values.push(id.into());
                sql_where.push_str(&format!(" AND i.id < ${}", values.len()));
            }
            "i.id DESC"
        }
    };
    values.push((take as i64).into());
    let score = match order {
        Order::Relevance => rank,
        Order::New => "0.0::float8",
    };
    let sql = format!(
        "SELECT i.id AS idea_id, {score} AS score
         FROM ideas i CROSS JOIN to_tsquery('simple', $1) AS q(q) {join}
         WHERE {sql_where}
         ORDER BY {order_by} LIMIT ${}",
        values.len()
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values))
        .await?;
    rows.iter().map(|r| hit_of(r, false)).collect()
}

/// A likely duplicate and how alike it is, in [0, 1].
#[derive(Debug, Clone)]
pub struct Similar {
    pub idea: ideas::Model,
    pub score: f64,
}

/// What to compare and how strict to be.
#[derive(Debug, Clone, Copy)]
pub struct SimilarParams {
    /// Lowest score returned.
    pub min_score: f64,
    /// Most ideas returned.
    pub limit: usize,
}

/// The visible ideas of `session_id` most like this stored text (see the module docs), without
/// `except` (the idea being compared, when it is stored).
pub async fn similar(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    session_id: Uuid,
    stored: &str,
    except: Option<Uuid>,
    params: SimilarParams,
) -> Result<Vec<Similar>, StoreError> {
    let parts = terms::parse_stored(stored);
    let mut picked: Vec<Vec<String>> = Vec::new();
    for t in parts.title.iter().chain(parts.body.iter()) {
        let g = vec![(*t).to_owned()];
        if !picked.contains(&g) {
            picked.push(g);
        }
        if picked.len() >= SIMILAR_TERMS {
            break;
        }
    }
    if picked.is_empty() {
        return Ok(Vec::new());
    }
    let filter = Filter {
        jam_id,
        session_id: Some(session_id),
        tag_key: None,
        audience_id: None,
        statuses: Statuses::Only(ItemStatus::Visible),
    };
    let hits = match db.get_database_backend() {
        DbBackend::Sqlite => {
            sqlite_hits(
                db,
                &picked,
                false,
                &filter,
                Order::Relevance,
                None,
                SIMILAR_CANDIDATES,
            )
            .await?
        }
        _ => {
            postgres_hits(
                db,
                &picked,
                false,
                &filter,
                Order::Relevance,
                None,
                SIMILAR_CANDIDATES,
            )
            .await?
        }
    };
    let ids: Vec<Uuid> = hits
        .iter()
        .map(|(id, _, _)| *id)
        .filter(|id| Some(*id) != except)
        .collect();
    let candidates = load_in_order(db, ids).await?;
    let mut scored: Vec<Similar> = candidates
        .into_iter()
        .filter(|c| c.status == ItemStatus::Visible)
        .map(|c| {
            let score = terms::similarity(&parts, &terms::parse_stored(&c.search_text));
            Similar { idea: c, score }
        })
        .filter(|s| s.score >= params.min_score)
        .collect();
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.idea.id.cmp(&a.idea.id))
    });
    scored.truncate(params.limit);
    Ok(scored)
}

/// A likely duplicate pair: the newer idea first.
#[derive(Debug, Clone)]
pub struct DuplicatePair {
    pub idea: ideas::Model,
    pub other: ideas::Model,
    pub score: f64,
}

/// Likely duplicate pairs among the `recent` newest visible ideas of a jam: each compared with its
/// session's ideas; pairs at or above `min_score`, best first, each pair once, at most `limit`.
pub async fn duplicates(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    recent: u64,
    min_score: f64,
    limit: usize,
) -> Result<Vec<DuplicatePair>, StoreError> {
    let newest = ideas::Entity::find()
        .filter(ideas::Column::JamId.eq(jam_id))
        .filter(ideas::Column::Status.eq(ItemStatus::Visible))
        .order_by_desc(ideas::Column::Id)
        .limit(recent)
        .all(db)
        .await?;
    let mut pairs: Vec<DuplicatePair> = Vec::new();
    for idea in newest {
        let found = similar(
            db,
            jam_id,
            idea.session_id,
            &idea.search_text,
            Some(idea.id),
            SimilarParams { min_score, limit: 3 },
        )
        .await?;
        for s in found {
            let (a, b) = if idea.id > s.idea.id {
                (idea.clone(), s.idea)
            } else {
                (s.idea, idea.clone())
            };
            if !pairs.iter().any(|p| p.idea.id == a.id && p.other.id == b.id) {
                pairs.push(DuplicatePair {
                    idea: a,
                    other: b,
                    score: s.score,
                });
            }
        }
    }
    pairs.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.idea.id.cmp(&a.idea.id))
    });
    pairs.truncate(limit);
    Ok(pairs)
}

/// A tag of a session and how many of its visible ideas carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    /// The spelling most ideas use (the first seen on a tie).
    pub tag: String,
    /// What `tag=` filters on (`jam_domain::terms::tag_key`).
    pub key: String,
    pub count: u64,
}

/// The `limit` most used tags of a session's visible ideas, most used first (then by key).
/// Reads the session's tag column once (a narrow projection), as the `hot` feed reads its keys.
pub async fn session_tags(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    limit: usize,
) -> Result<Vec<TagCount>, StoreError> {
    let rows: Vec<String> = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::Tags)
        .filter(ideas::Column::SessionId.eq(session_id))
        .filter(ideas::Column::Status.eq(ItemStatus::Visible))
        .into_tuple()
        .all(db)
        .await?;
    // key → (count, spellings with their counts in first-seen order)
    let mut by_key: std::collections::HashMap<String, (u64, Vec<(String, u64)>)> =
        std::collections::HashMap::new();
    for json in rows {
        let tags: Vec<String> = serde_json::from_str(&json).unwrap_or_default();
        let mut seen: Vec<String> = Vec::new();
        for tag in tags {
            let Some(key) = terms::tag_key(&tag) else { continue };
            if seen.contains(&key) {
                continue;
            }
            seen.push(key.clone());
            let entry = by_key.entry(key).or_default();
            entry.0 += 1;
            match entry.1.iter_mut().find(|(s, _)| *s == tag) {
                Some((_, n)) => *n += 1,
                None => entry.1.push((tag, 1)),
            }
        }
    }
    let mut out: Vec<TagCount> = by_key
        .into_iter()
        .map(|(key, (count, spellings))| {
            let mut best = (String::new(), 0);
            for (s, n) in spellings {
                if n > best.1 {
                    best = (s, n);
                }
            }
            TagCount {
                tag: best.0,
                key,
                count,
            }
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    out.truncate(limit);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_order() {
        let id = Uuid::now_v7();
        for (order, c) in [
            (
                Order::Relevance,
                SearchCursor::Relevance {
                    score: -3.25,
                    tie: Tie::Row(17),
                },
            ),
            (
                Order::Relevance,
                SearchCursor::Relevance {
                    score: 0.5,
                    tie: Tie::Id(id),
                },
            ),
            (Order::New, SearchCursor::New(Tie::Row(3))),
            (Order::New, SearchCursor::New(Tie::Id(id))),
        ] {
            assert_eq!(SearchCursor::parse(order, &c.encode()), Some(c));
        }
        assert_eq!(SearchCursor::parse(Order::New, "s.0.r1"), None);
        assert_eq!(SearchCursor::parse(Order::New, "n.x1"), None);
        assert_eq!(
            SearchCursor::parse(Order::Relevance, "s.7ff0000000000000.r1"),
            None
        );
    }

    #[test]
    fn match_expressions_quote_stems_and_name_the_filters() {
        let filter = Filter {
            jam_id: Uuid::nil(),
            session_id: None,
            tag_key: Some("solarenergy".into()),
            audience_id: None,
            statuses: Statuses::Only(ItemStatus::Visible),
        };
        let groups = vec![
            vec!["run".to_owned(), "running".to_owned()],
            vec!["ecol".to_owned()],
        ];
        let e = fts_match(&groups, true, &filter);
        assert!(e.starts_with("{title body tags} : ((\"run\" OR \"running\") AND (\"ecol\"))"));
        assert!(e.contains("meta : \"xvisible\"") && e.contains("tags : \"solarenergy\""));
        assert_eq!(
            pg_tsquery(&groups, false, Some("solarenergy")),
            "((run | running) | (ecol)) & solarenergy:B"
        );
    }
}
