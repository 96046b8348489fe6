//! Full-text search, similar ideas and likely duplicates (issue 16), on SQLite FTS5 and PostgreSQL
//! `tsvector` (see `jam-migrations`' `m20261210_000004_search` for the index of each).
//!
//! Both backends index the same analysed terms (`jam_domain::terms`), so a query matches the same
//! ideas on both: every searchable word of the query must match a stem of the idea's title, body or
//! tags. Ranking is the database's own: BM25 on SQLite (title × 3, tags × 2, body × 1) and `ts_rank`
//! on PostgreSQL (weights A title, B tags, C body), so equal relevance may order differently.
//!
//! Pages are keyset pages. `relevance`: by score within windows of [`RANK_WINDOW`] matches, newest
//! window first (see [`Window`]), then a unique tie-break (the FTS row on SQLite, the id on
//! PostgreSQL); `new`: newest first. A cursor names its backend's keys, so it is only valid on the
//! deployment that gave it. While ideas are posted, BM25's corpus statistics shift every score a
//! little, so a relevance page after a write may repeat or skip an idea; `new` pages never do.
//!
//! Similar ideas: the input's rarest terms by document frequency (up to [`SIMILAR_TERMS`] of its
//! first [`SIMILAR_LOOKUP`], title first) pick up to [`SIMILAR_CANDIDATES`] candidates in the
//! session: those holding all of them by full-text rank, then those holding all but one, and so on
//! down to any one of them; then each is scored in Rust with
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
/// Terms of the input whose document frequency is read (the title's first, then the body's).
pub const SIMILAR_LOOKUP: usize = 24;
/// Terms of the input used to find candidates: the rarest of those looked up.
pub const SIMILAR_TERMS: usize = 4;

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

/// Matches a relevance search ranks together: its newest `RANK_WINDOW` matches, then the next
/// (see [`Window`]).
pub const RANK_WINDOW: u64 = 2000;

/// A range of a query's matches ranked together, by their tie-breaks (FTS rows on SQLite, idea ids
/// on PostgreSQL; both grow in posting order): below `below` (`None`: up to the newest) and from
/// `from` on (`None`: down to the oldest).
///
/// Why windows: a score costs work per match, and a common word matches most ideas of a jam (tens
/// of thousands at 100,000 ideas), so ranking every match for each page of 20 took seconds. A
/// relevance search ranks the newest [`RANK_WINDOW`] matches best first, then the next window, and
/// so on. A query with at most that many matches is one window, ranked whole; a common word ranks
/// its recent matches first. The windows cut the matches into disjoint ranges, and a cursor keeps
/// its window's bounds, so paging returns every result exactly once, even while ideas are posted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub below: Option<Tie>,
    pub from: Option<Tie>,
}

/// Where a page starts: just after this result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SearchCursor {
    Relevance { score: f64, tie: Tie, window: Window },
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

    fn encode_bound(bound: Option<Self>) -> String {
        bound.map_or_else(|| "-".to_owned(), Tie::encode)
    }

    /// `Some(None)` for `-` (no bound), `None` for anything unreadable.
    fn parse_bound(text: &str) -> Option<Option<Self>> {
        if text == "-" {
            Some(None)
        } else {
            Tie::parse(text).map(Some)
        }
    }
}

impl SearchCursor {
    /// The opaque text clients send back.
    pub fn encode(&self) -> String {
        match self {
            SearchCursor::Relevance { score, tie, window } => format!(
                "s.{:016x}.{}.{}.{}",
                score.to_bits(),
                tie.encode(),
                Tie::encode_bound(window.below),
                Tie::encode_bound(window.from)
            ),
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
                let tie = Tie::parse(parts.next()?)?;
                let below = Tie::parse_bound(parts.next()?)?;
                let from = Tie::parse_bound(parts.next()?)?;
                SearchCursor::Relevance {
                    score,
                    tie,
                    window: Window { below, from },
                }
            }
            (Order::New, "n") => SearchCursor::New(Tie::parse(parts.next()?)?),
            _ => return None,
        };
        parts.next().is_none().then_some(cursor)
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

/// Every way to choose `need` of `n` items (indexes in increasing order), in lexicographic order.
fn combinations(n: usize, need: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut pick: Vec<usize> = (0..need).collect();
    if need == 0 || need > n {
        return out;
    }
    loop {
        out.push(pick.clone());
        // The rightmost index that can still move right, then the ones after it just behind it.
        let Some(i) = (0..need).rev().find(|&i| pick[i] < n - need + i) else {
            return out;
        };
        pick[i] += 1;
        for j in i + 1..need {
            pick[j] = pick[j - 1] + 1;
        }
    }
}

/// "At least `need` of these groups" as an OR of ANDs, with the backend's `and`/`or` and its
/// rendering of one group.
fn at_least(
    groups: &[Vec<String>],
    need: usize,
    and: &str,
    or: &str,
    group: impl Fn(&[String]) -> String,
) -> String {
    let need = need.clamp(1, groups.len().max(1));
    let alts: Vec<String> = combinations(groups.len(), need)
        .into_iter()
        .map(|pick| match pick[..] {
            [i] => group(&groups[i]),
            _ => {
                let words: Vec<String> = pick.iter().map(|&i| group(&groups[i])).collect();
                format!("({})", words.join(and))
            }
        })
        .collect();
    match &alts[..] {
        [one] => one.clone(),
        _ => format!("({})", alts.join(or)),
    }
}

/// The FTS5 MATCH expression: at least `need` words (every one in searches) in title/body/tags,
/// and the filters as `meta` words.
fn fts_match(groups: &[Vec<String>], need: usize, filter: &Filter) -> String {
    let words = at_least(groups, need, " AND ", " OR ", fts_group);
    let mut expr = format!("{{title body tags}} : {words}");
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

/// The PostgreSQL `to_tsquery('simple', …)` text: at least `need` words, and the tag key as
/// weight B.
fn pg_tsquery(groups: &[Vec<String>], need: usize, tag_key: Option<&str>) -> String {
    let mut q = at_least(groups, need, " & ", " | ", |g| format!("({})", g.join(" | ")));
    if let Some(key) = tag_key {
        q.push_str(&format!(" & {key}:B"));
    }
    q
}

/// A UUID as the lower-case hex SQLite's `lower(hex(id))` gives for its 16-byte blob.
fn hex(id: Uuid) -> String {
    id.simple().to_string()
}

/// The ideas of a jam matching every word of `query`, in `order`, after `after`; relevance ranks
/// windows of [`RANK_WINDOW`] matches.
pub async fn search(
    db: &impl ConnectionTrait,
    query: &Query,
    filter: &Filter,
    order: Order,
    after: Option<SearchCursor>,
    limit: u64,
) -> Result<SearchPage, StoreError> {
    search_windowed(db, query, filter, order, after, limit, RANK_WINDOW).await
}

/// [`search`] with relevance windows of `window` matches, so tests cross windows with a few ideas.
pub async fn search_windowed(
    db: &impl ConnectionTrait,
    query: &Query,
    filter: &Filter,
    order: Order,
    after: Option<SearchCursor>,
    limit: u64,
    window: u64,
) -> Result<SearchPage, StoreError> {
    let empty = SearchPage {
        items: Vec::new(),
        next: None,
    };
    if query.groups.is_empty() {
        return Ok(empty);
    }
    let take = limit + 1;
    let mut ids: Vec<(Uuid, SearchCursor)> = match (order, after) {
        (Order::New, None) => newest(db, &query.groups, filter, None, take).await?,
        (Order::New, Some(SearchCursor::New(tie))) => {
            newest(db, &query.groups, filter, Some(tie), take).await?
        }
        (Order::Relevance, None | Some(SearchCursor::Relevance { .. })) => {
            relevant(db, &query.groups, filter, after, take, window.max(1)).await?
        }
        _ => return Ok(empty),
    };
    let next = if ids.len() as u64 > limit {
        ids.truncate(limit as usize);
        ids.last().map(|(_, c)| *c)
    } else {
        None
    };
    let items = load_in_order(db, ids.iter().map(|(id, _)| *id).collect()).await?;
    Ok(SearchPage { items, next })
}

/// The next `take` results by relevance after `after`, window by window (see [`Window`]).
async fn relevant(
    db: &impl ConnectionTrait,
    groups: &[Vec<String>],
    filter: &Filter,
    after: Option<SearchCursor>,
    take: u64,
    size: u64,
) -> Result<Vec<(Uuid, SearchCursor)>, StoreError> {
    let (mut window, mut after_score) = match after {
        Some(SearchCursor::Relevance { score, tie, window }) => (window, Some((score, tie))),
        _ => (
            Window {
                below: None,
                from: window_start(db, groups, filter, None, size).await?,
            },
            None,
        ),
    };
    let mut out: Vec<(Uuid, SearchCursor)> = Vec::new();
    loop {
        let hits = ranked(
            db,
            groups,
            groups.len(),
            filter,
            window,
            after_score,
            take - out.len() as u64,
        )
        .await?;
        out.extend(
            hits.into_iter()
                .map(|(id, score, tie)| (id, SearchCursor::Relevance { score, tie, window })),
        );
        let Some(from) = window.from else { break };
        if out.len() as u64 >= take {
            break;
        }
        // This window has no more results: the next one starts below its oldest match.
        window = Window {
            below: Some(from),
            from: window_start(db, groups, filter, Some(from), size).await?,
        };
        after_score = None;
    }
    Ok(out)
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

/// A bound as this backend's key: `Some(None)` for no bound, `None` for another backend's key
/// (a cursor from another deployment, which finds nothing).
fn row_bound(bound: Option<Tie>) -> Option<Option<i64>> {
    match bound {
        None => Some(None),
        Some(Tie::Row(n)) => Some(Some(n)),
        Some(Tie::Id(_)) => None,
    }
}

fn id_bound(bound: Option<Tie>) -> Option<Option<Uuid>> {
    match bound {
        None => Some(None),
        Some(Tie::Id(id)) => Some(Some(id)),
        Some(Tie::Row(_)) => None,
    }
}

/// Where the window below `below` starts: its `size`-th newest match, or `None` when fewer are
/// left (the window then runs to the oldest).
async fn window_start(
    db: &impl ConnectionTrait,
    groups: &[Vec<String>],
    filter: &Filter,
    below: Option<Tie>,
    size: u64,
) -> Result<Option<Tie>, StoreError> {
    let offset = i64::try_from(size.saturating_sub(1)).unwrap_or(i64::MAX);
    let row = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let Some(below) = row_bound(below) else {
                return Ok(None);
            };
            // The audience is left out: windows only need to cut the matches into ranges, and an
            // audience would cost a join per match.
            let mut values: Vec<Value> = vec![fts_match(groups, groups.len(), filter).into()];
            let cond = match below {
                Some(n) => {
                    values.push(n.into());
                    "AND rowid < ?"
                }
                None => "",
            };
            values.push(offset.into());
            let sql = format!(
                "SELECT rowid AS n FROM ideas_fts WHERE ideas_fts MATCH ? {cond}
                 ORDER BY rowid DESC LIMIT 1 OFFSET ?"
            );
            let row = db
                .query_one_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values))
                .await?;
            return Ok(match row {
                Some(r) => Some(Tie::Row(r.try_get("", "n")?)),
                None => None,
            });
        }
        _ => {
            let Some(below) = id_bound(below) else {
                return Ok(None);
            };
            let (mut values, mut sql_where, join) = pg_base(groups, groups.len(), filter);
            if let Some(id) = below {
                values.push(id.into());
                sql_where.push_str(&format!(" AND i.id < ${}", values.len()));
            }
            values.push(offset.into());
            let sql = format!(
                "SELECT i.id AS idea_id
                 FROM ideas i CROSS JOIN to_tsquery('simple', $1) AS q(q) {join}
                 WHERE {sql_where}
                 ORDER BY i.id DESC LIMIT 1 OFFSET ${}",
                values.len()
            );
            db.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values))
                .await?
        }
    };
    Ok(match row {
        Some(r) => Some(Tie::Id(r.try_get("", "idea_id")?)),
        None => None,
    })
}

/// Up to `take` matches of `window` by relevance, after `after` (a score and its tie-break).
async fn ranked(
    db: &impl ConnectionTrait,
    groups: &[Vec<String>],
    need: usize,
    filter: &Filter,
    window: Window,
    after: Option<(f64, Tie)>,
    take: u64,
) -> Result<Vec<Hit>, StoreError> {
    match db.get_database_backend() {
        DbBackend::Sqlite => sqlite_ranked(db, groups, need, filter, window, after, take).await,
        _ => postgres_ranked(db, groups, need, filter, window, after, take).await,
    }
}

/// Up to `take` matches, newest first, after `after`.
async fn newest(
    db: &impl ConnectionTrait,
    groups: &[Vec<String>],
    filter: &Filter,
    after: Option<Tie>,
    take: u64,
) -> Result<Vec<(Uuid, SearchCursor)>, StoreError> {
    let hits = match db.get_database_backend() {
        DbBackend::Sqlite => sqlite_newest(db, groups, filter, after, take).await?,
        _ => postgres_newest(db, groups, filter, after, take).await?,
    };
    Ok(hits
        .into_iter()
        .map(|(id, _, tie)| (id, SearchCursor::New(tie)))
        .collect())
}

async fn sqlite_ranked(
    db: &impl ConnectionTrait,
    groups: &[Vec<String>],
    need: usize,
    filter: &Filter,
    window: Window,
    after: Option<(f64, Tie)>,
    take: u64,
) -> Result<Vec<Hit>, StoreError> {
    let (Some(below), Some(from)) = (row_bound(window.below), row_bound(window.from)) else {
        return Ok(Vec::new());
    };
    let after = match after {
        Some((score, Tie::Row(n))) => Some((score, n)),
        Some(_) => return Ok(Vec::new()),
        None => None,
    };
    // Values are pushed in the order their `?` appear in the statement.
    let mut values: Vec<Value> = vec![fts_match(groups, need, filter).into()];
    let mut range = String::new();
    if let Some(n) = below {
        values.push(n.into());
        range.push_str(" AND rowid < ?");
    }
    if let Some(n) = from {
        values.push(n.into());
        range.push_str(" AND rowid >= ?");
    }
    if let Some(a) = filter.audience_id {
        values.push(a.into());
    }
    // Qualified in the audience form, where `idea_fts_rows` also has an `n`.
    let q = if filter.audience_id.is_some() { "h." } else { "" };
    let cond = match after {
        Some((score, n)) => {
            values.extend([score.into(), score.into(), n.into()]);
            format!("AND ({q}score > ? OR ({q}score = ? AND {q}n < ?))")
        }
        None => String::new(),
    };
    values.push((take as i64).into());
    let sql = if filter.audience_id.is_some() {
        format!(
            "WITH h AS MATERIALIZED (
                SELECT rowid AS n, bm25(ideas_fts, 3.0, 1.0, 2.0, 0.0) AS score
                FROM ideas_fts WHERE ideas_fts MATCH ? {range})
             SELECT h.n AS n, h.score AS score, r.idea_id AS idea_id
             FROM h JOIN idea_fts_rows r ON r.n = h.n
             JOIN ideas i ON i.id = r.idea_id JOIN participants pa ON pa.id = i.author_id
             WHERE pa.audience_id = ? {cond}
             ORDER BY h.score, h.n DESC LIMIT ?"
        )
    } else {
        // Without an audience every hit qualifies: the page is cut from the index's hits alone,
        // and only its rows are mapped to ideas.
        format!(
            "WITH h AS MATERIALIZED (
                SELECT rowid AS n, bm25(ideas_fts, 3.0, 1.0, 2.0, 0.0) AS score
                FROM ideas_fts WHERE ideas_fts MATCH ? {range}),
             p AS MATERIALIZED (
                SELECT n, score FROM h WHERE 1 = 1 {cond}
                ORDER BY score, n DESC LIMIT ?)
             SELECT p.n AS n, p.score AS score, r.idea_id AS idea_id
             FROM p JOIN idea_fts_rows r ON r.n = p.n
             ORDER BY p.score, p.n DESC"
        )
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values))
        .await?;
    rows.iter().map(|r| hit_of(r, true)).collect()
}

async fn sqlite_newest(
    db: &impl ConnectionTrait,
    groups: &[Vec<String>],
    filter: &Filter,
    after: Option<Tie>,
    take: u64,
) -> Result<Vec<Hit>, StoreError> {
    let Some(after) = row_bound(after) else {
        return Ok(Vec::new());
    };
    let mut values: Vec<Value> = vec![fts_match(groups, groups.len(), filter).into()];
    let (audience_join, audience_cond) = match filter.audience_id {
        Some(a) => {
            values.push(a.into());
            (
                "JOIN ideas i ON i.id = r.idea_id JOIN participants pa ON pa.id = i.author_id",
                "AND pa.audience_id = ?",
            )
        }
        None => ("", ""),
    };
    let cond = match after {
        Some(n) => {
            values.push(n.into());
            "AND f.rowid < ?"
        }
        None => "",
    };
    values.push((take as i64).into());
    let sql = format!(
        "SELECT f.rowid AS n, 0.0 AS score, r.idea_id AS idea_id
         FROM ideas_fts f JOIN idea_fts_rows r ON r.n = f.rowid {audience_join}
         WHERE ideas_fts MATCH ? {audience_cond} {cond}
         ORDER BY f.rowid DESC LIMIT ?"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values))
        .await?;
    rows.iter().map(|r| hit_of(r, true)).collect()
}

/// The values, `WHERE` and audience join every PostgreSQL search shares: `$1` is the tsquery
/// (named `q.q`), `$2` the jam; placeholders are numbered by the length of `values` as each is
/// pushed.
fn pg_base(groups: &[Vec<String>], need: usize, filter: &Filter) -> (Vec<Value>, String, String) {
    let mut values: Vec<Value> = vec![
        pg_tsquery(groups, need, filter.tag_key.as_deref()).into(),
        filter.jam_id.into(),
    ];
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
    (values, sql_where, join)
}

async fn postgres_ranked(
    db: &impl ConnectionTrait,
    groups: &[Vec<String>],
    need: usize,
    filter: &Filter,
    window: Window,
    after: Option<(f64, Tie)>,
    take: u64,
) -> Result<Vec<Hit>, StoreError> {
    let (Some(below), Some(from)) = (id_bound(window.below), id_bound(window.from)) else {
        return Ok(Vec::new());
    };
    let after = match after {
        Some((score, Tie::Id(id))) => Some((score, id)),
        Some(_) => return Ok(Vec::new()),
        None => None,
    };
    let (mut values, mut sql_where, join) = pg_base(groups, need, filter);
    if let Some(id) = below {
        values.push(id.into());
        sql_where.push_str(&format!(" AND i.id < ${}", values.len()));
    }
    if let Some(id) = from {
        values.push(id.into());
        sql_where.push_str(&format!(" AND i.id >= ${}", values.len()));
    }
    let rank = "ts_rank(i.search_tsv, q.q)::float8";
    if let Some((score, id)) = after {
        values.push(score.into());
        let s = values.len();
        values.push(id.into());
        let i = values.len();
        sql_where.push_str(&format!(
            " AND ({rank} < ${s} OR ({rank} = ${s} AND i.id < ${i}))"
        ));
    }
    values.push((take as i64).into());
    let sql = format!(
        "SELECT i.id AS idea_id, {rank} AS score
         FROM ideas i CROSS JOIN to_tsquery('simple', $1) AS q(q) {join}
         WHERE {sql_where}
         ORDER BY score DESC, i.id DESC LIMIT ${}",
        values.len()
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values))
        .await?;
    rows.iter().map(|r| hit_of(r, false)).collect()
}

async fn postgres_newest(
    db: &impl ConnectionTrait,
    groups: &[Vec<String>],
    filter: &Filter,
    after: Option<Tie>,
    take: u64,
) -> Result<Vec<Hit>, StoreError> {
    let Some(after) = id_bound(after) else {
        return Ok(Vec::new());
    };
    let (mut values, mut sql_where, join) = pg_base(groups, groups.len(), filter);
    if let Some(id) = after {
        values.push(id.into());
        sql_where.push_str(&format!(" AND i.id < ${}", values.len()));
    }
    values.push((take as i64).into());
    let sql = format!(
        "SELECT i.id AS idea_id, 0.0::float8 AS score
         FROM ideas i CROSS JOIN to_tsquery('simple', $1) AS q(q) {join}
         WHERE {sql_where}
         ORDER BY i.id DESC LIMIT ${}",
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
    let mut seen: Vec<&str> = Vec::new();
    for t in parts.title.iter().chain(parts.body.iter()) {
        if !seen.contains(t) {
            seen.push(t);
        }
        if seen.len() >= SIMILAR_LOOKUP {
            break;
        }
    }
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    let rare: Vec<Vec<String>> = rarest(db, &seen)
        .await?
        .into_iter()
        .map(|t| vec![t.to_owned()])
        .collect();
    let filter = Filter {
        jam_id,
        session_id: Some(session_id),
        tag_key: None,
        audience_id: None,
        statuses: Statuses::Only(ItemStatus::Visible),
    };
    // Every match of the session is ranked: a duplicate may be old.
    let whole = Window {
        below: None,
        from: None,
    };
    // The ideas sharing the most of these rare terms first: all of them, then all but one, and so
    // on. The first levels match few ideas, so the one that fills the candidates ranks few.
    let mut ids: Vec<Uuid> = Vec::new();
    for need in (1..=rare.len()).rev() {
        let hits = ranked(db, &rare, need, &filter, whole, None, SIMILAR_CANDIDATES + 1).await?;
        for (id, _, _) in hits {
            if Some(id) != except && !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() as u64 >= SIMILAR_CANDIDATES {
            break;
        }
    }
    ids.truncate(SIMILAR_CANDIDATES as usize);
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

/// The [`SIMILAR_TERMS`] rarest of `terms` (by the share of ideas holding each), in that order;
/// equally rare terms keep their order (the title's first).
///
/// Why the rarest: candidates are the session's ideas holding any of these terms, ranked whole. A
/// common term matches most of a session, so it would rank thousands of ideas while telling little
/// about which are alike; rare terms match few ideas and are what a duplicate shares.
async fn rarest<'a>(db: &impl ConnectionTrait, terms: &[&'a str]) -> Result<Vec<&'a str>, StoreError> {
    let shares = document_shares(db, terms).await?;
    let mut order: Vec<usize> = (0..terms.len()).collect();
    order.sort_by(|a, b| shares[*a].total_cmp(&shares[*b]));
    Ok(order.into_iter().take(SIMILAR_TERMS).map(|i| terms[i]).collect())
}

/// How common each term is, comparable within one call: the number of indexed ideas holding it on
/// SQLite (`ideas_fts_vocab`), the share of ideas `ANALYZE` last counted on PostgreSQL (`pg_stats`;
/// a term it did not list is rarer than those it did, so 0; all 0 before the first `ANALYZE`).
async fn document_shares(db: &impl ConnectionTrait, terms: &[&str]) -> Result<Vec<f64>, StoreError> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let mut out = Vec::with_capacity(terms.len());
            for t in terms {
                let row = db
                    .query_one_raw(Statement::from_sql_and_values(
                        DbBackend::Sqlite,
                        "SELECT doc FROM ideas_fts_vocab WHERE term = ?",
                        [Value::from(*t)],
                    ))
                    .await?;
                let doc: i64 = match row {
                    Some(r) => r.try_get("", "doc")?,
                    None => 0,
                };
                out.push(doc as f64);
            }
            Ok(out)
        }
        _ => {
            // Frequencies has three more entries than elements (minimum, maximum, null share):
            // `unnest` pairs them by position and pads the elements with NULL, which match no term.
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT e.term AS term, e.share::float8 AS share
                     FROM pg_stats s,
                        unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs)
                            AS e(term, share)
                     WHERE s.schemaname = current_schema() AND s.tablename = 'ideas'
                        AND s.attname = 'search_tsv'
                        AND e.term = ANY (string_to_array($1, ' '))",
                    [Value::from(terms.join(" "))],
                ))
                .await?;
            let mut out = vec![0.0; terms.len()];
            for r in rows {
                let term: String = r.try_get("", "term")?;
                let share: f64 = r.try_get("", "share")?;
                if let Some(i) = terms.iter().position(|t| *t == term) {
                    out[i] = share;
                }
            }
            Ok(out)
        }
    }
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
                    window: Window {
                        below: None,
                        from: Some(Tie::Row(9)),
                    },
                },
            ),
            (
                Order::Relevance,
                SearchCursor::Relevance {
                    score: 0.5,
                    tie: Tie::Id(id),
                    window: Window {
                        below: Some(Tie::Id(id)),
                        from: None,
                    },
                },
            ),
            (Order::New, SearchCursor::New(Tie::Row(3))),
            (Order::New, SearchCursor::New(Tie::Id(id))),
        ] {
            assert_eq!(SearchCursor::parse(order, &c.encode()), Some(c));
        }
        assert_eq!(SearchCursor::parse(Order::New, "s.0.r1.-.-"), None);
        assert_eq!(SearchCursor::parse(Order::New, "n.x1"), None);
        assert_eq!(
            SearchCursor::parse(Order::Relevance, "s.7ff0000000000000.r1.-.-"),
            None
        );
        // A relevance cursor without its window is not one.
        assert_eq!(SearchCursor::parse(Order::Relevance, "s.0.r1"), None);
        assert_eq!(SearchCursor::parse(Order::Relevance, "s.0.r1.-.x2"), None);
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
        let e = fts_match(&groups, 2, &filter);
        assert!(e.starts_with("{title body tags} : ((\"run\" OR \"running\") AND (\"ecol\"))"));
        assert!(e.contains("meta : \"xvisible\"") && e.contains("tags : \"solarenergy\""));
        assert_eq!(
            pg_tsquery(&groups, 1, Some("solarenergy")),
            "((run | running) | (ecol)) & solarenergy:B"
        );
        let three = vec![vec!["a".to_owned()], vec!["b".to_owned()], vec!["c".to_owned()]];
        assert_eq!(
            pg_tsquery(&three, 2, None),
            "(((a) & (b)) | ((a) & (c)) | ((b) & (c)))"
        );
        assert_eq!(pg_tsquery(&three[..1], 1, None), "(a)");
    }

    #[test]
    fn combinations_choose_each_subset_once() {
        assert_eq!(combinations(4, 2).len(), 6);
        assert_eq!(combinations(3, 3), vec![vec![0, 1, 2]]);
        assert_eq!(combinations(3, 1), vec![vec![0], vec![1], vec![2]]);
        assert!(combinations(2, 3).is_empty());
        let five = combinations(5, 3);
        assert_eq!(five.len(), 10);
        let mut unique = five.clone();
        unique.dedup();
        assert_eq!(unique, five);
        assert!(five.iter().all(|c| c.windows(2).all(|w| w[0] < w[1])));
    }
}
