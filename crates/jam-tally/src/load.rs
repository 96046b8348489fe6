//! From the database to the tally's inputs, and back: the code paths that the shortlist route,
//! publishing, the exports and `jamd tally verify` share, so a published digest can be recomputed
//! exactly as it was made.
//!
//! - [`count`] reads a jam's ranking inputs (one compact row per idea), the [`Curation`] in force and
//!   the digest of the vote set, from the stored counters and cached leaves ([`Source::Stored`]: the
//!   fast path, which reads only the votes of ideas whose votes changed since their leaf was cached)
//!   or from every vote row ([`Source::VoteRows`]: the audit path). Call it inside one snapshot
//!   transaction (`jam_store::tally::begin_snapshot`) so that counts and digest see the same votes.
//! - [`Counted::rank`] ranks (pure CPU, for a blocking thread) into a [`Ranked`]: a [`Ranking`] of
//!   fixed-size slots. [`Ranked::into_tally`] reads the shortlisted ideas' texts into a [`Tally`];
//!   the exports instead read [`rows`] for a chunk of slots at a time, so a download never holds
//!   every idea's texts.
//! - [`keep_leaves`] saves the leaves a tally had to recompute, after its snapshot.
//! - [`snapshot_row`] and [`read_snapshot`] write and read the frozen `shortlist_snapshots` row.
//! - [`verify`] recomputes a published shortlist from the vote rows and lists what differs
//!   ([`differences`]).
//!
//! # The vote set the digest covers
//!
//! Every stored vote row with a non-zero value on an idea of the jam, whatever the idea's status.
//! Hidden and removed ideas keep their votes, so those votes are in the digest although the ideas do
//! not rank; a merge moves the duplicate's votes to the idea it was merged into (each voter at most
//! once) and deletes them from the duplicate, so they are hashed under the target. The digest is thus
//! a fingerprint of the vote table as stored: changing, adding or removing any of those rows changes it.
//!
//! # The leaf cache
//!
//! Each idea's leaf (the hash of its sorted votes, see [`crate::DigestBuilder`]) is cached in
//! `tally_leaves` with the idea's `votes_rev`, which every vote write path bumps. A leaf is used only
//! when its `rev` is the idea's current one and its vote count matches the counters; otherwise the
//! idea's votes are read again. The cache can only make a tally faster: [`verify`] never reads it, so a
//! cache or counter that disagreed with the vote rows would show as a difference there.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use jam_domain::ranking::{BayesianPrior, Method};
use jam_store::JamFull;
use jam_store::entity::{jams, shortlist_snapshots};
use jam_store::sea_orm::{ConnectionTrait, DatabaseTransaction};
use jam_store::tally::{CurationAction, IdeaText, NewLeaf, RANKING_PAGE, RankingRow, VOTE_CHUNK_IDEAS};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::compute::{
    IdeaDetails, MethodFairness, RankInput, RankedIdea, Ranking, Shortlist, ShortlistItem, ShortlistState,
    Slot, rank_ideas,
};
use crate::digest::{DIGEST_VERSION, Digest, DigestBuilder, Leaf, LeafBuilder};
use crate::error::TallyError;
use crate::export::{ExportHeader, XlsxOptions};
use crate::model::{AudienceCounts, Curation, Exclusion, Params};

/// Why reading or checking a tally failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] jam_store::StoreError),
    #[error(transparent)]
    Tally(#[from] TallyError),
    /// `jams.shortlist_size` is negative.
    #[error("the jam's shortlist size {0} is negative")]
    BadShortlistSize(i32),
    /// The jam has no published snapshot (for [`verify`]).
    #[error("the jam has not been published")]
    NotPublished,
    /// The snapshot row does not parse.
    #[error("the published snapshot is unreadable: {0}")]
    BadSnapshot(String),
    /// The export's reading task or writing thread panicked or was cancelled.
    #[error("the export task failed: {0}")]
    Task(String),
    /// A stale idea's leaf was not recomputed (unreachable unless the reads disagree).
    #[error("no leaf was computed for idea {0}")]
    LeafMissing(Uuid),
}

/// The jam's ranking parameters from its row.
pub fn params_of(jam: &jams::Model) -> Result<Params, LoadError> {
    let method = jam.voting_method;
    let shortlist_size =
        usize::try_from(jam.shortlist_size).map_err(|_| LoadError::BadShortlistSize(jam.shortlist_size))?;
    Ok(Params {
        method,
        shortlist_size,
    })
}

/// The curation in force: each idea's latest decision (exclusions with their reason, who and when;
/// pins), cleared ideas left out.
pub async fn curation(db: &impl ConnectionTrait, jam_id: Uuid) -> Result<Curation, LoadError> {
    let mut out = Curation::default();
    for decision in jam_store::tally::curation_in_force(db, jam_id).await? {
        match decision.action {
            CurationAction::Exclude => out.excluded.push(Exclusion {
                idea_id: decision.idea_id,
                reason: decision.reason,
                by: decision.by,
                at: decision.at,
            }),
            CurationAction::Pin => out.pinned.push(decision.idea_id),
            CurationAction::Clear => {}
        }
    }
    Ok(out)
}

/// Where a tally's counts and digest come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The ideas' stored counters and the cached leaves of ideas whose votes did not change since
    /// (recomputing the others from their vote rows): what the shortlist, publishing and the exports
    /// use. One compact row per idea plus the changed ideas' votes.
    Stored,
    /// Every vote row, no counter and no cache: the audit path of `jamd tally verify`.
    VoteRows,
}

/// A jam's ranking inputs, curation and digest, read in one snapshot by [`count`].
#[derive(Debug, Clone)]
pub struct Counted {
    pub jam_id: Uuid,
    pub params: Params,
    pub inputs: Vec<RankInput>,
    pub curation: Curation,
    pub digest: Digest,
    /// Non-zero votes hashed into the digest.
    pub votes: u64,
    /// Leaves recomputed from vote rows because the cache had none for the idea's current
    /// `votes_rev`: hand them to [`keep_leaves`] once the snapshot has ended.
    pub fresh_leaves: Vec<NewLeaf>,
    /// Ideas whose stored counters disagree with their vote rows (a bug or a hand-edited database:
    /// the tally then ranks by the counters, and `jamd tally verify` shows the difference).
    pub drifted: Vec<Uuid>,
}

impl Counted {
    /// Ranks the ideas (CPU only: run it off the async threads for big jams).
    pub fn rank(self, computed_at: DateTime<Utc>) -> Ranked {
        let ranking = rank_ideas(self.inputs, &self.curation, &self.params, computed_at);
        Ranked {
            jam_id: self.jam_id,
            ranking,
            digest: self.digest,
            votes: self.votes,
            fresh_leaves: self.fresh_leaves,
            drifted: self.drifted,
        }
    }
}

/// A ranked jam before its shortlisted ideas' texts are read ([`Ranked::into_tally`]); the exports
/// stream [`rows`] of its slots instead.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub jam_id: Uuid,
    pub ranking: Ranking,
    pub digest: Digest,
    pub votes: u64,
    pub fresh_leaves: Vec<NewLeaf>,
    pub drifted: Vec<Uuid>,
}

impl Ranked {
    /// Reads the shortlisted ideas' texts and per-audience counts (call it in the snapshot that
    /// [`count`] read).
    pub async fn into_tally(self, db: &impl ConnectionTrait, jam: &JamFull) -> Result<Tally, LoadError> {
        let slots: Vec<Slot> = self.ranking.shortlist().copied().collect();
        let shortlist = rows(db, jam, &self.ranking, &slots).await?;
        Ok(Tally {
            jam_id: self.jam_id,
            ranking: self.ranking,
            shortlist,
            digest: self.digest,
            audiences: jam.audiences.iter().map(|a| a.name.clone()).collect(),
            votes: self.votes,
            fresh_leaves: self.fresh_leaves,
            drifted: self.drifted,
        })
    }
}

/// A computed tally: the ranking, the shortlisted rows with their texts, and the digest.
#[derive(Debug, Clone)]
pub struct Tally {
    pub jam_id: Uuid,
    pub ranking: Ranking,
    /// The shortlisted ideas' rows, in shortlist order.
    pub shortlist: Vec<RankedIdea>,
    pub digest: Digest,
    /// The jam's audience names in their configured order (the exports' column order).
    pub audiences: Vec<String>,
    pub votes: u64,
    /// See [`Counted::fresh_leaves`].
    pub fresh_leaves: Vec<NewLeaf>,
    /// See [`Counted::drifted`].
    pub drifted: Vec<Uuid>,
}

impl Tally {
    /// The API's shortlist object.
    pub fn shortlist(&self, state: ShortlistState) -> Shortlist {
        Shortlist {
            jam_id: self.jam_id,
            state,
            method: self.ranking.params.method,
            computed_at: self.ranking.computed_at,
            digest: self.digest,
            items: self.shortlist.iter().map(ShortlistItem::from).collect(),
            fairness: self.ranking.fairness.clone(),
        }
    }
}

/// Reads, ranks and assembles a tally in one call (the ranking runs on the calling thread).
pub async fn tally(
    db: &impl ConnectionTrait,
    jam: &JamFull,
    params: Params,
    computed_at: DateTime<Utc>,
    source: Source,
) -> Result<Tally, LoadError> {
    count(db, jam.jam.id, params, source)
        .await?
        .rank(computed_at)
        .into_tally(db, jam)
        .await
}

/// Reads the jam's ranking inputs, the curation in force and the digest of its vote set under
/// `params`, from `source`. Call it inside one snapshot transaction
/// (`jam_store::tally::begin_snapshot`) so that the counts and the digest see the same votes.
/// Memory: one compact row per idea; votes are hashed a chunk of ideas at a time.
pub async fn count(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    params: Params,
    source: Source,
) -> Result<Counted, LoadError> {
    let curation = curation(db, jam_id).await?;
    let mut builder = DigestBuilder::new(&params);
    let mut fresh_leaves = Vec::new();
    let mut drifted = Vec::new();
    // Compact state, one entry per idea in id order: the ranking input and where its leaf comes from.
    let mut inputs = Vec::new();
    let mut leaves_of: Vec<LeafSource> = Vec::new();
    let mut after = None;
    loop {
        let page = jam_store::tally::ranking_rows(db, jam_id, after, RANKING_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let full = page.len() as u64 == RANKING_PAGE;
        for row in page {
            let (up, down) = (counter(row.up), counter(row.down));
            leaves_of.push(match (source, cached_leaf(&row)) {
                (Source::Stored, Some(leaf)) => LeafSource::Cached(leaf),
                (Source::Stored, None) => LeafSource::Stale { rev: row.votes_rev },
                (Source::VoteRows, _) => LeafSource::Recount,
            });
            inputs.push(RankInput {
                id: row.id,
                status: row.status,
                up,
                down,
                impressions: jam_store::entity::count64(row.impressions.into()),
                created_at: row.created_at,
            });
        }
        if !full {
            break;
        }
    }
    // Leaves in id order, [`VOTE_CHUNK_IDEAS`] ideas at a time: cached ones as they are, the others
    // from their vote rows (which also give the counts when recounting).
    for (inputs, sources) in inputs
        .chunks_mut(VOTE_CHUNK_IDEAS)
        .zip(leaves_of.chunks(VOTE_CHUNK_IDEAS))
    {
        let unread: Vec<Uuid> = inputs
            .iter()
            .zip(sources)
            .filter(|(_, source)| !matches!(source, LeafSource::Cached(_)))
            .map(|(input, _)| input.id)
            .collect();
        let mut read = leaves(db, &unread).await?.into_iter();
        // Under exposure the impressions rank and are hashed; the audit path counts their rows.
        let exposure = params.method == Method::Exposure;
        let recounted = if exposure && source == Source::VoteRows {
            let ids: Vec<Uuid> = inputs.iter().map(|i| i.id).collect();
            Some(jam_store::impressions::recount(db, &ids).await?)
        } else {
            None
        };
        for (input, source) in inputs.iter_mut().zip(sources) {
            if let Some(recounted) = &recounted {
                input.impressions = recounted.get(&input.id).copied().unwrap_or(0);
            }
            let leaf = match source {
                LeafSource::Cached(leaf) => *leaf,
                LeafSource::Stale { rev } => {
                    let (leaf, up, down) = read.next().ok_or(LoadError::LeafMissing(input.id))?;
                    if (up, down) != (input.up, input.down) {
                        drifted.push(input.id);
                    }
                    fresh_leaves.push(NewLeaf {
                        idea_id: input.id,
                        rev: *rev,
                        votes: i64::try_from(leaf.votes).unwrap_or(i64::MAX),
                        leaf: leaf.hash.0.to_vec(),
                    });
                    leaf
                }
                LeafSource::Recount => {
                    let (leaf, up, down) = read.next().ok_or(LoadError::LeafMissing(input.id))?;
                    (input.up, input.down) = (up, down);
                    leaf
                }
            };
            builder.push_leaf(&leaf)?;
            if exposure {
                builder.push_impressions(input.id, input.impressions)?;
            }
        }
    }
    let votes = builder.votes_counted();
    Ok(Counted {
        jam_id,
        params,
        inputs,
        digest: builder.finish(&curation)?,
        curation,
        votes,
        fresh_leaves,
        drifted,
    })
}

fn counter(value: i32) -> u64 {
    u64::from(jam_store::entity::count(value))
}

/// Where [`count`] takes one idea's leaf from.
enum LeafSource {
    /// The cache, valid for the idea's current votes.
    Cached(Leaf),
    /// Its vote rows, to be cached at `rev` afterwards.
    Stale { rev: i64 },
    /// Its vote rows, which also give its counts ([`Source::VoteRows`]).
    Recount,
}

/// The row's cached leaf, if it was computed at the idea's current `votes_rev` and agrees with its
/// counters (a disagreement is recomputed, and reported if it persists).
fn cached_leaf(row: &RankingRow) -> Option<Leaf> {
    let hash: [u8; 32] = row.leaf.as_deref()?.try_into().ok()?;
    let votes = u64::try_from(row.leaf_votes?).ok()?;
    (row.leaf_rev == Some(row.votes_rev) && votes == counter(row.up) + counter(row.down)).then_some(Leaf {
        idea_id: row.id,
        votes,
        hash: Digest(hash),
    })
}

/// The leaves of `ids` (ascending, at most [`VOTE_CHUNK_IDEAS`]) from their vote rows, one per id
/// (an idea without votes gets an empty leaf), with the up and down votes counted.
async fn leaves(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<(Leaf, u64, u64)>, LoadError> {
    let votes = jam_store::tally::sorted_votes(db, ids).await?;
    let mut votes = votes.into_iter().peekable();
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let mut leaf = LeafBuilder::new(id);
        let (mut up, mut down) = (0, 0);
        while let Some((_, participant, value)) = votes.next_if(|(idea, _, _)| *idea == id) {
            // The column's CHECK allows -1, 0 and 1 only; anything else is refused by `push`.
            let value = i8::try_from(value).unwrap_or(i8::MAX);
            leaf.push(participant, value)?;
            match value {
                1 => up += 1,
                -1 => down += 1,
                _ => {}
            }
        }
        out.push((leaf.finish(), up, down));
    }
    if let Some((idea, participant, _)) = votes.next() {
        // Only if `ids` was not ascending: the rows came in id order.
        return Err(TallyError::UnsortedVotes {
            idea,
            participant,
            next_idea: idea,
            next_participant: participant,
        }
        .into());
    }
    Ok(out)
}

/// Saves [`Counted::fresh_leaves`] in the cache, so the next tally reads them instead of the votes.
pub async fn keep_leaves(db: &impl ConnectionTrait, leaves: &[NewLeaf]) -> Result<(), LoadError> {
    Ok(jam_store::tally::save_leaves(db, leaves).await?)
}

/// The full rows of `slots` (any slots of `ranking`, e.g. one chunk of an export), with their ideas'
/// texts and per-audience counts read from the database, in the order given.
pub async fn rows(
    db: &impl ConnectionTrait,
    jam: &JamFull,
    ranking: &Ranking,
    slots: &[Slot],
) -> Result<Vec<RankedIdea>, LoadError> {
    let ids: Vec<Uuid> = slots.iter().map(|slot| slot.id).collect();
    let mut texts: HashMap<Uuid, IdeaText> = jam_store::tally::idea_texts(db, &ids)
        .await?
        .into_iter()
        .map(|text| (text.id, text))
        .collect();
    let mut themes = jam_store::themes::labels_of(db, ids.iter().copied()).await?;
    let audience_names: HashMap<Uuid, &str> = jam.audiences.iter().map(|a| (a.id, a.name.as_str())).collect();
    let session_titles: HashMap<Uuid, &str> = jam.sessions.iter().map(|s| (s.id, s.title.as_str())).collect();
    let mut counts: HashMap<Uuid, BTreeMap<String, AudienceCounts>> = HashMap::with_capacity(ids.len());
    for count in jam_store::tally::vote_counts(db, &ids).await? {
        let audience = audience_names
            .get(&count.audience_id)
            .map_or_else(|| count.audience_id.to_string(), |name| (*name).to_owned());
        let slot = counts
            .entry(count.idea_id)
            .or_default()
            .entry(audience)
            .or_default();
        if count.value > 0 {
            slot.up += count.count;
        } else {
            slot.down += count.count;
        }
    }
    Ok(slots
        .iter()
        .map(|slot| {
            let by_audience = counts.remove(&slot.id).unwrap_or_default();
            let theme = themes.remove(&slot.id);
            let details = match texts.remove(&slot.id) {
                Some(text) => IdeaDetails {
                    session_title: session_titles
                        .get(&text.session_id)
                        .map(|t| (*t).to_owned())
                        .unwrap_or_default(),
                    title: text.title,
                    session_id: text.session_id,
                    author: text.author,
                    comments: counter(text.comments),
                    by_audience,
                    theme,
                },
                None => IdeaDetails {
                    by_audience,
                    theme,
                    ..IdeaDetails::default()
                },
            };
            ranking.row(slot, details)
        })
        .collect())
}

/// The three download formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Json,
}

/// Ideas whose texts [`export`] reads per round, and rounds queued ahead of the writer.
const EXPORT_IDEAS: usize = 500;
const EXPORT_QUEUE: usize = 2;

/// Writes a whole export of `ranking` into `out` as a download does: a task that owns the tally's
/// snapshot `txn` reads the ranked ideas' texts and per-audience counts [`EXPORT_IDEAS`] at a time and
/// hands them over ([`EXPORT_QUEUE`] rounds queued) to a blocking thread that runs the writer. Memory:
/// the ranking's fixed-size slots and those few rounds, never every idea's texts. Needs a tokio runtime;
/// ends (rolls back) the snapshot. Returns `out` and the number of idea rows written.
pub async fn export<W>(
    txn: DatabaseTransaction,
    jam: JamFull,
    ranking: Ranking,
    header: ExportHeader,
    format: Format,
    out: W,
) -> Result<(W, u64), LoadError>
where
    W: std::io::Write + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<RankedIdea>, LoadError>>(EXPORT_QUEUE);
    let reader = tokio::spawn(async move {
        for slots in ranking.slots.chunks(EXPORT_IDEAS) {
            let chunk = rows(&txn, &jam, &ranking, slots).await;
            let failed = chunk.is_err();
            // The writer stops reading only when it failed itself: nothing more to do then.
            if tx.send(chunk).await.is_err() || failed {
                break;
            }
        }
        txn.rollback().await
    });
    let written = tokio::task::spawn_blocking(move || -> Result<(W, u64), LoadError> {
        let mut failed: Option<LoadError> = None;
        let rows = std::iter::from_fn(|| match rx.blocking_recv()? {
            Ok(chunk) => Some(chunk),
            Err(e) => {
                failed = Some(e);
                None
            }
        })
        .flatten();
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
        let n = match format {
            Format::Csv => crate::write_csv(&mut out, &header, rows),
            Format::Json => crate::write_json(&mut out, &header, rows),
            Format::Xlsx => crate::write_xlsx(&mut out, &header, rows, &XlsxOptions::default()),
        };
        if let Some(e) = failed {
            return Err(e);
        }
        let n = n?;
        let out = out.into_inner().map_err(|e| TallyError::Io(e.into_error()))?;
        Ok((out, n))
    })
    .await
    .map_err(|e| LoadError::Task(e.to_string()))?;
    let read = reader.await.map_err(|e| LoadError::Task(e.to_string()))?;
    let written = written?;
    read.map_err(|e| LoadError::Store(e.into()))?;
    Ok(written)
}

/// The `params` JSON of a snapshot: everything needed to recompute it besides the votes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotParams {
    pub method: Method,
    pub shortlist_size: usize,
    /// The Bayesian prior used, if that is the method (derived from the votes; kept for readers).
    pub prior: Option<BayesianPrior>,
    /// The digest's byte format.
    pub digest_version: String,
    /// Non-zero votes hashed.
    pub votes: u64,
    /// The curation in force when it was published.
    pub curation: Curation,
    /// The fairness report when it was published (absent from older snapshots).
    #[serde(default)]
    pub fairness: Vec<MethodFairness>,
}

impl SnapshotParams {
    pub fn params(&self) -> Params {
        Params {
            method: self.method,
            shortlist_size: self.shortlist_size,
        }
    }
}

/// A published snapshot, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub shortlist: Shortlist,
    pub params: SnapshotParams,
    pub published_at: DateTime<Utc>,
    pub published_by: Option<Uuid>,
}

/// The `shortlist_snapshots` row that freezes `tally`.
pub fn snapshot_row(
    tally: &Tally,
    published_at: DateTime<Utc>,
    published_by: Option<Uuid>,
) -> Result<shortlist_snapshots::Model, LoadError> {
    let params = SnapshotParams {
        method: tally.ranking.params.method,
        shortlist_size: tally.ranking.params.shortlist_size,
        prior: tally.ranking.prior,
        digest_version: DIGEST_VERSION.to_owned(),
        votes: tally.votes,
        curation: tally.ranking.curation.clone(),
        fairness: tally.ranking.fairness.clone(),
    };
    let items: Vec<ShortlistItem> = tally.shortlist.iter().map(ShortlistItem::from).collect();
    Ok(shortlist_snapshots::Model {
        id: Uuid::now_v7(),
        jam_id: tally.jam_id,
        method: params.method.as_str().to_owned(),
        params: serde_json::to_string(&params).map_err(TallyError::from)?,
        computed_at: tally.ranking.computed_at,
        published_at,
        published_by,
        digest: tally.digest.to_string(),
        items: serde_json::to_string(&items).map_err(TallyError::from)?,
    })
}

/// Reads a snapshot row back.
pub fn read_snapshot(row: &shortlist_snapshots::Model) -> Result<Published, LoadError> {
    let bad = |e: &dyn std::fmt::Display| LoadError::BadSnapshot(e.to_string());
    let params: SnapshotParams = serde_json::from_str(&row.params).map_err(|e| bad(&e))?;
    let items: Vec<ShortlistItem> = serde_json::from_str(&row.items).map_err(|e| bad(&e))?;
    let digest: Digest = row.digest.parse().map_err(|e: TallyError| bad(&e))?;
    Ok(Published {
        shortlist: Shortlist {
            jam_id: row.jam_id,
            state: ShortlistState::Published,
            method: params.method,
            computed_at: row.computed_at,
            digest,
            items,
            fairness: params.fairness.clone(),
        },
        params,
        published_at: row.published_at,
        published_by: row.published_by,
    })
}

/// A published shortlist next to the one recomputed from the database now.
#[derive(Debug, Clone)]
pub struct Verification {
    pub published: Published,
    pub recomputed: Shortlist,
    /// Non-zero votes in the database now.
    pub votes: u64,
    /// One line per difference; empty when the two agree.
    pub differences: Vec<String>,
}

impl Verification {
    pub fn verified(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Recomputes the jam's published shortlist from every vote row ([`Source::VoteRows`]: no stored
/// counter, no cached leaf) with the snapshot's method and size and the curation in force (frozen by
/// publishing), and compares digest and items. Call it inside a snapshot transaction.
pub async fn verify(
    db: &impl ConnectionTrait,
    jam: &JamFull,
    now: DateTime<Utc>,
) -> Result<Verification, LoadError> {
    let row = jam_store::tally::snapshot(db, jam.jam.id)
        .await?
        .ok_or(LoadError::NotPublished)?;
    let published = read_snapshot(&row)?;
    let tally = tally(db, jam, published.params.params(), now, Source::VoteRows).await?;
    let recomputed = tally.shortlist(ShortlistState::Published);
    let mut out = differences(&published.shortlist, &recomputed);
    if published.params.votes != tally.votes {
        out.insert(
            0,
            format!(
                "votes: {} when published, {} now",
                published.params.votes, tally.votes
            ),
        );
    }
    if published.params.digest_version != DIGEST_VERSION {
        out.insert(
            0,
            format!(
                "digest format: published as {:?}, this build computes {:?}",
                published.params.digest_version, DIGEST_VERSION
            ),
        );
    }
    Ok(Verification {
        published,
        recomputed,
        votes: tally.votes,
        differences: out,
    })
}

/// Scores read back from JSON may differ from the computed ones in the last bit.
const SCORE_TOLERANCE: f64 = 1e-12;

/// What differs between a published shortlist and a recomputed one: the digest, ideas on one list
/// only, and per idea every field that differs (named with its old and new value).
pub fn differences(published: &Shortlist, recomputed: &Shortlist) -> Vec<String> {
    let mut out = Vec::new();
    if published.digest != recomputed.digest {
        out.push(format!(
            "digest: published {}, recomputed {}",
            published.digest, recomputed.digest
        ));
    }
    if published.method != recomputed.method {
        out.push(format!(
            "method: published {}, recomputed {}",
            published.method, recomputed.method
        ));
    }
    let now: HashMap<Uuid, &ShortlistItem> = recomputed.items.iter().map(|i| (i.idea.id, i)).collect();
    let then: HashMap<Uuid, &ShortlistItem> = published.items.iter().map(|i| (i.idea.id, i)).collect();
    for old in &published.items {
        let Some(new) = now.get(&old.idea.id) else {
            out.push(format!(
                "idea {} ({:?}): on the published shortlist at {}, not on the recomputed one",
                old.idea.id, old.idea.title, old.rank
            ));
            continue;
        };
        let mut fields = Vec::new();
        let mut field = |name: &str, a: String, b: String| {
            if a != b {
                fields.push(format!("{name} {a} → {b}"));
            }
        };
        field("rank", old.rank.to_string(), new.rank.to_string());
        field(
            "method_rank",
            old.method_rank.to_string(),
            new.method_rank.to_string(),
        );
        field("up", old.up.to_string(), new.up.to_string());
        field("down", old.down.to_string(), new.down.to_string());
        field("voters", old.voters.to_string(), new.voters.to_string());
        field("comments", old.comments.to_string(), new.comments.to_string());
        field("pinned", old.pinned.to_string(), new.pinned.to_string());
        field(
            "title",
            format!("{:?}", old.idea.title),
            format!("{:?}", new.idea.title),
        );
        field(
            "author",
            format!("{:?}", old.idea.author),
            format!("{:?}", new.idea.author),
        );
        field(
            "by_audience",
            format!("{:?}", old.by_audience),
            format!("{:?}", new.by_audience),
        );
        if (old.score - new.score).abs() > SCORE_TOLERANCE {
            fields.push(format!("score {} → {}", old.score, new.score));
        }
        if !fields.is_empty() {
            out.push(format!(
                "idea {} ({:?}): {}",
                old.idea.id,
                old.idea.title,
                fields.join(", ")
            ));
        }
    }
    for new in &recomputed.items {
        if !then.contains_key(&new.idea.id) {
            out.push(format!(
                "idea {} ({:?}): not on the published shortlist, recomputed at {}",
                new.idea.id, new.idea.title, new.rank
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::compute::{ShortlistIdea, compute};
    use crate::model::IdeaFacts;
    use chrono::TimeZone;

    fn item(id: u128, rank: usize, up: u64) -> ShortlistItem {
        ShortlistItem {
            rank,
            method_rank: rank,
            idea: ShortlistIdea {
                id: Uuid::from_u128(id),
                title: format!("idea {id}"),
                session_id: Uuid::from_u128(99),
                author: "Ada".into(),
            },
            score: up as f64 / 10.0,
            up,
            down: 0,
            voters: up,
            by_audience: BTreeMap::from([("employee".to_owned(), AudienceCounts { up, down: 0 })]),
            comments: 0,
            pinned: false,
        }
    }

    fn shortlist(digest: u8, items: Vec<ShortlistItem>) -> Shortlist {
        Shortlist {
            jam_id: Uuid::from_u128(1),
            state: ShortlistState::Published,
            method: Method::Wilson,
            computed_at: Utc.with_ymd_and_hms(2027, 3, 4, 0, 0, 0).unwrap(),
            digest: Digest([digest; 32]),
            items,
            fairness: Vec::new(),
        }
    }

    #[test]
    fn equal_shortlists_have_no_differences() {
        let a = shortlist(1, vec![item(1, 1, 5), item(2, 2, 3)]);
        assert!(differences(&a, &a.clone()).is_empty());
    }

    #[test]
    fn a_changed_vote_shows_as_the_digest_and_the_fields_that_moved() {
        let a = shortlist(1, vec![item(1, 1, 5), item(2, 2, 3)]);
        let b = shortlist(2, vec![item(1, 1, 4), item(2, 2, 3)]);
        let diff = differences(&a, &b);
        assert_eq!(diff.len(), 2, "{diff:?}");
        assert!(diff[0].starts_with("digest: published 0101"), "{diff:?}");
        assert!(
            diff[1].contains("up 5 → 4") && diff[1].contains("score 0.5 → 0.4"),
            "{diff:?}"
        );
    }

    #[test]
    fn ideas_on_one_list_only_are_named() {
        let a = shortlist(1, vec![item(1, 1, 5), item(2, 2, 3)]);
        let b = shortlist(1, vec![item(1, 1, 5), item(3, 2, 3)]);
        let diff = differences(&a, &b);
        assert_eq!(diff.len(), 2, "{diff:?}");
        assert!(
            diff[0].contains(&Uuid::from_u128(2).to_string()) && diff[0].contains("not on the recomputed")
        );
        assert!(
            diff[1].contains(&Uuid::from_u128(3).to_string()) && diff[1].contains("not on the published")
        );
    }

    #[test]
    fn a_snapshot_row_reads_back_as_the_shortlist_it_froze() {
        let facts = vec![IdeaFacts {
            id: Uuid::from_u128(7),
            title: "Bikes".into(),
            session_id: Uuid::from_u128(8),
            session_title: "Cities".into(),
            author: "Ada".into(),
            created_at: Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap(),
            status: jam_domain::ItemStatus::Visible,
            up: 3,
            down: 1,
            impressions: 0,
            comments: 2,
            by_audience: BTreeMap::from([("client".to_owned(), AudienceCounts { up: 3, down: 1 })]),
        }];
        let computed_at = Utc.with_ymd_and_hms(2027, 3, 4, 0, 0, 0).unwrap();
        let results = compute(
            facts.clone(),
            &Curation::default(),
            &Params::default(),
            computed_at,
        );
        let ranking = rank_ideas(
            facts.iter().map(RankInput::from),
            &Curation::default(),
            &Params::default(),
            computed_at,
        );
        let shortlist: Vec<RankedIdea> = results.shortlist().cloned().collect();
        let tally = Tally {
            jam_id: Uuid::from_u128(1),
            ranking,
            shortlist,
            digest: Digest([3; 32]),
            audiences: vec!["client".into()],
            votes: 4,
            fresh_leaves: Vec::new(),
            drifted: Vec::new(),
        };
        let at = Utc.with_ymd_and_hms(2027, 3, 5, 0, 0, 0).unwrap();
        let row = snapshot_row(&tally, at, None).unwrap();
        assert_eq!(row.method, "wilson");
        let back = read_snapshot(&row).unwrap();
        assert_eq!(back.published_at, at);
        assert_eq!(back.params.votes, 4);
        assert!(differences(&back.shortlist, &tally.shortlist(ShortlistState::Published)).is_empty());
    }
}
