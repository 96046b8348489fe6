//! From the database to the tally's inputs, and back: the one code path that the shortlist route,
//! publishing, the exports and `jamd tally verify` all share, so a published digest can be recomputed
//! exactly as it was made.
//!
//! - [`load`] reads a jam's [`IdeaFacts`] (counts from the vote rows, not the ideas' counters), the
//!   [`Curation`] in force and the digest of the vote set. Call it inside one snapshot transaction
//!   (`jam_store::tally::begin_snapshot`) so that the counts and the digest see the same votes.
//! - [`Loaded::compute`] ranks (pure CPU, for a blocking thread) and returns a [`Tally`].
//! - [`snapshot_row`] and [`read_snapshot`] write and read the frozen `shortlist_snapshots` row.
//! - [`verify`] recomputes a published shortlist and lists what differs ([`differences`]).
//!
//! # The vote set the digest covers
//!
//! Every stored vote row with a non-zero value on an idea of the jam, whatever the idea's status,
//! read in `(idea_id, participant_id)` order. Hidden and removed ideas keep their votes, so those votes
//! are in the digest although the ideas do not rank; a merge moves the duplicate's votes to the idea it
//! was merged into (each voter at most once) and deletes them from the duplicate, so they are hashed
//! under the target. The digest is thus a fingerprint of the vote table as stored: changing, adding or
//! removing any of those rows changes it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use jam_domain::ranking::{BayesianPrior, Method};
use jam_store::JamFull;
use jam_store::entity::{jams, shortlist_snapshots};
use jam_store::sea_orm::ConnectionTrait;
use jam_store::tally::{CurationAction, VOTE_CHUNK_IDEAS};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::compute::{Results, Shortlist, ShortlistItem, ShortlistState, compute};
use crate::digest::{DIGEST_VERSION, Digest, DigestBuilder, Vote};
use crate::error::TallyError;
use crate::model::{AudienceCounts, Curation, Exclusion, IdeaFacts, IdeaStatus, Params};

/// Why reading or checking a tally failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] jam_store::StoreError),
    #[error(transparent)]
    Tally(#[from] TallyError),
    /// `jams.voting_method` holds no known method.
    #[error("the jam's voting method {0:?} is unknown")]
    UnknownMethod(String),
    /// `jams.shortlist_size` is negative.
    #[error("the jam's shortlist size {0} is negative")]
    BadShortlistSize(i32),
    /// The jam has no published snapshot (for [`verify`]).
    #[error("the jam has not been published")]
    NotPublished,
    /// The snapshot row does not parse.
    #[error("the published snapshot is unreadable: {0}")]
    BadSnapshot(String),
}

/// The jam's ranking parameters from its row.
pub fn params_of(jam: &jams::Model) -> Result<Params, LoadError> {
    let method: Method = jam
        .voting_method
        .parse()
        .map_err(|_| LoadError::UnknownMethod(jam.voting_method.clone()))?;
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

/// What [`load`] read: everything [`compute`] needs, and the digest.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub jam_id: Uuid,
    pub params: Params,
    pub ideas: Vec<IdeaFacts>,
    pub curation: Curation,
    /// The jam's audience names in their configured order (the exports' column order).
    pub audiences: Vec<String>,
    pub digest: Digest,
    /// Non-zero votes hashed into the digest.
    pub votes: u64,
}

/// A computed tally with its digest.
#[derive(Debug, Clone)]
pub struct Tally {
    pub jam_id: Uuid,
    pub results: Results,
    pub digest: Digest,
    pub audiences: Vec<String>,
    pub votes: u64,
}

impl Loaded {
    /// Ranks the ideas (CPU only: run it off the async threads for big jams).
    pub fn compute(self, computed_at: DateTime<Utc>) -> Tally {
        let results = compute(self.ideas, &self.curation, &self.params, computed_at);
        Tally {
            jam_id: self.jam_id,
            results,
            digest: self.digest,
            audiences: self.audiences,
            votes: self.votes,
        }
    }
}

impl Tally {
    /// The API's shortlist object.
    pub fn shortlist(&self, state: ShortlistState) -> Shortlist {
        self.results.shortlist_object(self.jam_id, state, self.digest)
    }
}

/// Reads the jam's facts, the curation in force and the digest of its vote set under `params`.
/// Memory: one row per idea (and audience); the votes are hashed a chunk of ideas at a time.
pub async fn load(db: &impl ConnectionTrait, jam: &JamFull, params: Params) -> Result<Loaded, LoadError> {
    let jam_id = jam.jam.id;
    let rows = jam_store::tally::ideas(db, jam_id).await?;
    let names = jam_store::tally::participant_names(db, jam_id).await?;
    let audience_names: HashMap<Uuid, String> =
        jam.audiences.iter().map(|a| (a.id, a.name.clone())).collect();
    let session_titles: HashMap<Uuid, &str> = jam.sessions.iter().map(|s| (s.id, s.title.as_str())).collect();

    let mut counts: HashMap<Uuid, BTreeMap<String, AudienceCounts>> = HashMap::new();
    for count in jam_store::tally::vote_counts(db, jam_id).await? {
        let audience = audience_names
            .get(&count.audience_id)
            .cloned()
            .unwrap_or_else(|| count.audience_id.to_string());
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

    let idea_ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let ideas: Vec<IdeaFacts> = rows
        .into_iter()
        .map(|row| {
            let by_audience = counts.remove(&row.id).unwrap_or_default();
            let (up, down) = by_audience
                .values()
                .fold((0, 0), |(u, d), c| (u + c.up, d + c.down));
            IdeaFacts {
                id: row.id,
                title: row.title,
                session_id: row.session_id,
                session_title: session_titles
                    .get(&row.session_id)
                    .map(|t| (*t).to_owned())
                    .unwrap_or_default(),
                author: names.get(&row.author_id).cloned().unwrap_or_default(),
                created_at: row.created_at,
                status: status_of(&row.status),
                up,
                down,
                comments: u64::try_from(row.comments).unwrap_or(0),
                by_audience,
            }
        })
        .collect();

    let curation = curation(db, jam_id).await?;
    let (digest, votes) = digest(db, &idea_ids, &params, &curation).await?;
    Ok(Loaded {
        jam_id,
        params,
        ideas,
        curation,
        audiences: jam.audiences.iter().map(|a| a.name.clone()).collect(),
        digest,
        votes,
    })
}

/// An unknown status ranks like a hidden idea: not at all.
fn status_of(status: &str) -> IdeaStatus {
    match status {
        "visible" => IdeaStatus::Visible,
        "removed" => IdeaStatus::Removed,
        "merged" => IdeaStatus::Merged,
        _ => IdeaStatus::Hidden,
    }
}

/// The digest of the votes on `idea_ids` (in id order) and the curation, and how many votes it
/// covers. Reads [`VOTE_CHUNK_IDEAS`] ideas' votes per query.
pub async fn digest(
    db: &impl ConnectionTrait,
    idea_ids: &[Uuid],
    params: &Params,
    curation: &Curation,
) -> Result<(Digest, u64), LoadError> {
    let mut builder = DigestBuilder::new(params);
    for chunk in idea_ids.chunks(VOTE_CHUNK_IDEAS) {
        for (idea_id, participant_id, value) in jam_store::tally::sorted_votes(db, chunk).await? {
            builder.push(Vote {
                idea_id,
                participant_id,
                // The column's CHECK allows -1, 0 and 1 only; anything else is refused by `push`.
                value: i8::try_from(value).unwrap_or(i8::MAX),
            })?;
        }
    }
    let votes = builder.votes_counted();
    Ok((builder.finish(curation)?, votes))
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
        method: tally.results.params.method,
        shortlist_size: tally.results.params.shortlist_size,
        prior: tally.results.prior,
        digest_version: DIGEST_VERSION.to_owned(),
        votes: tally.votes,
        curation: tally.results.curation.clone(),
    };
    let items: Vec<ShortlistItem> = tally.results.shortlist().map(ShortlistItem::from).collect();
    Ok(shortlist_snapshots::Model {
        id: Uuid::now_v7(),
        jam_id: tally.jam_id,
        method: params.method.as_str().to_owned(),
        params: serde_json::to_string(&params).map_err(TallyError::from)?,
        computed_at: tally.results.computed_at,
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

/// Recomputes the jam's published shortlist with the snapshot's method and size, the curation in
/// force (frozen by publishing) and the votes in the database, and compares digest and items.
/// Call it inside a snapshot transaction.
pub async fn verify(
    db: &impl ConnectionTrait,
    jam: &JamFull,
    now: DateTime<Utc>,
) -> Result<Verification, LoadError> {
    let row = jam_store::tally::snapshot(db, jam.jam.id)
        .await?
        .ok_or(LoadError::NotPublished)?;
    let published = read_snapshot(&row)?;
    let loaded = load(db, jam, published.params.params()).await?;
    let tally = loaded.compute(now);
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
    use crate::compute::ShortlistIdea;
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
        let results = compute(
            vec![IdeaFacts {
                id: Uuid::from_u128(7),
                title: "Bikes".into(),
                session_id: Uuid::from_u128(8),
                session_title: "Cities".into(),
                author: "Ada".into(),
                created_at: Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap(),
                status: IdeaStatus::Visible,
                up: 3,
                down: 1,
                comments: 2,
                by_audience: BTreeMap::from([("client".to_owned(), AudienceCounts { up: 3, down: 1 })]),
            }],
            &Curation::default(),
            &Params::default(),
            Utc.with_ymd_and_hms(2027, 3, 4, 0, 0, 0).unwrap(),
        );
        let tally = Tally {
            jam_id: Uuid::from_u128(1),
            results,
            digest: Digest([3; 32]),
            audiences: vec!["client".into()],
            votes: 4,
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
