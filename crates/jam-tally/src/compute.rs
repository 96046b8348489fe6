//! Ranking a jam's ideas and picking the shortlist.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use jam_domain::fairness::spearman;
use jam_domain::ranking::{BayesianPrior, Candidate, Method, jam_prior, rank};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::digest::Digest;
use crate::model::{AudienceCounts, Curation, IdeaFacts, Params};
use jam_domain::ItemStatus;

/// The idea a row is about, with the names the exports show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdeaRef {
    pub id: Uuid,
    pub title: String,
    pub session_id: Uuid,
    pub session_title: String,
    /// The author's display name.
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// The label of the idea's theme in the jam's latest clustering run (its terms joined by `, `),
    /// if it has one.
    #[serde(default)]
    pub theme: Option<String>,
}

/// One visible idea in the ranking: the row of the all-ideas export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedIdea {
    /// 1-based place by the method among all visible ideas, excluded ones included; never shared.
    pub rank: usize,
    /// 1-based place on the curated shortlist, `None` when the idea is not on it.
    pub shortlist_position: Option<usize>,
    pub pinned: bool,
    /// `Some(reason)` when a facilitator excluded the idea from the shortlist.
    pub excluded_reason: Option<String>,
    pub idea: IdeaRef,
    pub score: f64,
    pub up: u64,
    pub down: u64,
    /// Distinct voters, `up + down` (one vote per participant per idea).
    pub voters: u64,
    pub comments: u64,
    pub by_audience: BTreeMap<String, AudienceCounts>,
}

/// The ranking of one jam at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub params: Params,
    /// The prior the Bayesian method used (from the ranked ideas' votes); `None` for the other methods.
    pub prior: Option<BayesianPrior>,
    pub computed_at: DateTime<Utc>,
    /// The curation as given, for the exports.
    pub curation: Curation,
    /// Every visible idea, best first (`ideas[i].rank == i + 1`).
    pub ideas: Vec<RankedIdea>,
    /// How much each method rewards being early ([`fairness_report`]).
    #[serde(default)]
    pub fairness: Vec<MethodFairness>,
}

/// The fairness report's line for one ranking method (issue 17).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MethodFairness {
    pub method: Method,
    /// Spearman's ρ between an idea's rank under the method (1 = best) and its posting time, over the
    /// visible ideas, in [-1, 1]: near 0 when posting time does not matter, positive when later ideas
    /// get worse ranks (being early pays), negative when later ideas rank better.
    pub rank_post_time: f64,
}

/// Methods the fairness report compares; the pairwise round's method is added when it exists.
pub const REPORTED_METHODS: [Method; 4] = [Method::Wilson, Method::Net, Method::Bayesian, Method::Exposure];

/// Spearman's ρ between rank and posting time for every method of [`REPORTED_METHODS`], over
/// `candidates` (the visible ideas).
pub fn fairness_report(candidates: &[Candidate]) -> Vec<MethodFairness> {
    let posted: HashMap<Uuid, f64> = candidates
        .iter()
        .map(|c| (c.id, c.created_at.timestamp_millis() as f64))
        .collect();
    REPORTED_METHODS
        .iter()
        .map(|&method| {
            let ranked = rank(method, candidates);
            let ranks: Vec<f64> = ranked.iter().map(|r| r.rank as f64).collect();
            let times: Vec<f64> = ranked
                .iter()
                .map(|r| posted.get(&r.id).copied().unwrap_or_default())
                .collect();
            MethodFairness {
                method,
                rank_post_time: spearman(&ranks, &times),
            }
        })
        .collect()
}

/// What the ranking needs of one idea: its status, counts and age, no text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankInput {
    pub id: Uuid,
    pub status: ItemStatus,
    pub up: u64,
    pub down: u64,
    /// Distinct participants who saw it (reported impressions).
    pub impressions: u64,
    pub created_at: DateTime<Utc>,
}

impl From<&IdeaFacts> for RankInput {
    fn from(idea: &IdeaFacts) -> Self {
        Self {
            id: idea.id,
            status: idea.status,
            up: idea.up,
            down: idea.down,
            impressions: idea.impressions,
            created_at: idea.created_at,
        }
    }
}

/// One visible idea's place in the ranking, without its texts: a fixed ~100 bytes per idea, so a jam's
/// whole ranking stays small while its rows are streamed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    pub id: Uuid,
    /// 1-based place by the method among all visible ideas (see [`RankedIdea::rank`]).
    pub rank: usize,
    pub shortlist_position: Option<usize>,
    pub pinned: bool,
    pub excluded: bool,
    pub score: f64,
    pub up: u64,
    pub down: u64,
    pub voters: u64,
    pub created_at: DateTime<Utc>,
}

/// What a row shows of an idea besides its counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdeaDetails {
    pub title: String,
    pub session_id: Uuid,
    pub session_title: String,
    /// The author's display name.
    pub author: String,
    pub comments: u64,
    pub by_audience: BTreeMap<String, AudienceCounts>,
    /// The idea's theme label, if it has a theme.
    pub theme: Option<String>,
}

/// The ranking of one jam at one moment, without texts: [`rank_ideas`]'s result.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub params: Params,
    /// The prior the Bayesian method used; `None` for the other methods.
    pub prior: Option<BayesianPrior>,
    pub computed_at: DateTime<Utc>,
    /// The curation as given, for the exports.
    pub curation: Curation,
    /// Every visible idea, best first (`slots[i].rank == i + 1`).
    pub slots: Vec<Slot>,
    /// How much each method rewards being early, over the same ideas ([`fairness_report`]).
    pub fairness: Vec<MethodFairness>,
    /// Exclusion reasons by idea, joined as [`rank_ideas`] documents.
    reasons: HashMap<Uuid, String>,
}

impl Ranking {
    /// The shortlisted slots, in shortlist order.
    pub fn shortlist(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().filter(|slot| slot.shortlist_position.is_some())
    }

    /// The full row of `slot`, given its idea's texts.
    pub fn row(&self, slot: &Slot, details: IdeaDetails) -> RankedIdea {
        RankedIdea {
            rank: slot.rank,
            shortlist_position: slot.shortlist_position,
            pinned: slot.pinned,
            excluded_reason: slot
                .excluded
                .then(|| self.reasons.get(&slot.id).cloned().unwrap_or_default()),
            idea: IdeaRef {
                id: slot.id,
                title: details.title,
                session_id: details.session_id,
                session_title: details.session_title,
                author: details.author,
                created_at: slot.created_at,
                theme: details.theme,
            },
            score: slot.score,
            up: slot.up,
            down: slot.down,
            voters: slot.voters,
            comments: details.comments,
            by_audience: details.by_audience,
        }
    }
}

/// Ranks the visible ideas of a jam by `params.method` and picks the curated shortlist, from the
/// ranking inputs alone (no texts: the exports fetch those for a chunk of slots at a time).
///
/// Ranking: only [`ItemStatus::Visible`] ideas rank; [`jam_domain::ranking::rank`] orders them (score
/// descending, then more distinct voters, then earlier `created_at`, then smaller id). Should an id occur
/// twice in `inputs`, the first occurrence is kept.
///
/// Shortlist, with `N = params.shortlist_size`:
/// 1. Excluded ideas never go on the shortlist; they stay in [`Results::ideas`] with their reason. An
///    exclusion beats a pin of the same idea. If several exclusions name one idea, the reasons are shown
///    joined by `"; "` in byte order.
/// 2. Every pinned (and not excluded) visible idea goes on the shortlist, wherever it ranks.
/// 3. The remaining `N − pins` places (none if the pins alone fill or exceed N) go to the best-ranked
///    ideas that are neither excluded nor pinned.
///
/// So the shortlist has `max(N, pins)` ideas when enough ideas rank: a pin takes the place of the weakest
/// unpinned idea above the cut and never makes the list longer than N, unless the pins alone exceed N
/// (a facilitator's explicit pin is never dropped silently). The shortlist is shown in method-rank order
/// (pins are not moved to the top); `shortlist_position` numbers it from 1.
///
/// Pins and exclusions of ideas that do not rank are ignored here (the exports still show them).
pub fn rank_ideas(
    inputs: impl IntoIterator<Item = RankInput>,
    curation: &Curation,
    params: &Params,
    computed_at: DateTime<Utc>,
) -> Ranking {
    let mut seen = HashSet::new();
    let candidates: Vec<Candidate> = inputs
        .into_iter()
        .filter(|idea| idea.status == ItemStatus::Visible && seen.insert(idea.id))
        .map(|idea| Candidate {
            id: idea.id,
            up: idea.up,
            down: idea.down,
            impressions: idea.impressions,
            created_at: idea.created_at,
        })
        .collect();
    drop(seen);
    let prior = match params.method {
        Method::Bayesian => Some(jam_prior(candidates.iter().map(Candidate::tally))),
        Method::Wilson | Method::Net | Method::Exposure => None,
    };
    let ranked = rank(params.method, &candidates);
    let fairness = fairness_report(&candidates);
    drop(candidates);

    let reasons = exclusion_reasons(curation);
    let pinned: HashSet<Uuid> = curation.pinned.iter().copied().collect();
    let mut slots: Vec<Slot> = ranked
        .into_iter()
        .enumerate()
        .map(|(i, r)| Slot {
            id: r.id,
            rank: i + 1,
            shortlist_position: None,
            pinned: pinned.contains(&r.id),
            excluded: reasons.contains_key(&r.id),
            score: r.score,
            up: r.up,
            down: r.down,
            voters: r.voters,
            created_at: r.created_at,
        })
        .collect();

    let pins_on_list = slots.iter().filter(|slot| slot.pinned && !slot.excluded).count();
    let mut open_places = params.shortlist_size.saturating_sub(pins_on_list);
    let mut position = 0;
    for slot in &mut slots {
        if slot.excluded {
            continue;
        }
        let takes_place = if slot.pinned {
            true
        } else if open_places > 0 {
            open_places -= 1;
            true
        } else {
            false
        };
        if takes_place {
            position += 1;
            slot.shortlist_position = Some(position);
        }
    }

    Ranking {
        params: *params,
        prior,
        computed_at,
        curation: curation.clone(),
        slots,
        fairness,
        reasons,
    }
}

/// [`rank_ideas`] over whole [`IdeaFacts`], with every row's texts attached: the pure, in-memory form
/// of the tally (the tests' and small callers'; the server streams [`Ranking`]s instead).
pub fn compute(
    ideas: Vec<IdeaFacts>,
    curation: &Curation,
    params: &Params,
    computed_at: DateTime<Utc>,
) -> Results {
    let ranking = rank_ideas(ideas.iter().map(RankInput::from), curation, params, computed_at);
    let mut by_id: HashMap<Uuid, IdeaFacts> = HashMap::with_capacity(ideas.len());
    for idea in ideas {
        by_id.entry(idea.id).or_insert(idea);
    }
    let rows = ranking
        .slots
        .iter()
        .map(|slot| {
            let details = by_id.remove(&slot.id).map(IdeaDetails::from).unwrap_or_default();
            ranking.row(slot, details)
        })
        .collect();
    Results {
        params: ranking.params,
        prior: ranking.prior,
        computed_at,
        curation: ranking.curation,
        ideas: rows,
        fairness: ranking.fairness,
    }
}

impl From<IdeaFacts> for IdeaDetails {
    fn from(idea: IdeaFacts) -> Self {
        Self {
            title: idea.title,
            session_id: idea.session_id,
            session_title: idea.session_title,
            author: idea.author,
            comments: idea.comments,
            by_audience: idea.by_audience,
            theme: None,
        }
    }
}

fn exclusion_reasons(curation: &Curation) -> HashMap<Uuid, String> {
    let mut all: BTreeMap<Uuid, Vec<&str>> = BTreeMap::new();
    for exclusion in &curation.excluded {
        all.entry(exclusion.idea_id).or_default().push(&exclusion.reason);
    }
    all.into_iter()
        .map(|(id, mut reasons)| {
            reasons.sort_unstable();
            reasons.dedup();
            (id, reasons.join("; "))
        })
        .collect()
}

impl Results {
    /// The shortlisted rows, in shortlist order.
    pub fn shortlist(&self) -> impl Iterator<Item = &RankedIdea> {
        self.ideas.iter().filter(|row| row.shortlist_position.is_some())
    }

    /// Every audience name that occurs in any row, in byte order: a default column order for the exports
    /// when the caller has no jam-defined order.
    pub fn audiences(&self) -> Vec<String> {
        let names: BTreeSet<&String> = self.ideas.iter().flat_map(|row| row.by_audience.keys()).collect();
        names.into_iter().cloned().collect()
    }

    /// The API's Shortlist object (`spec/api.md`).
    pub fn shortlist_object(&self, jam_id: Uuid, state: ShortlistState, digest: Digest) -> Shortlist {
        Shortlist {
            jam_id,
            state,
            method: self.params.method,
            computed_at: self.computed_at,
            digest,
            items: self.shortlist().map(ShortlistItem::from).collect(),
            fairness: self.fairness.clone(),
        }
    }
}

/// Whether the shortlist is still being curated or frozen by publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShortlistState {
    Draft,
    Published,
}

impl ShortlistState {
    pub fn as_str(self) -> &'static str {
        match self {
            ShortlistState::Draft => "draft",
            ShortlistState::Published => "published",
        }
    }
}

/// The API's Shortlist object: `{jam_id, state, method, computed_at, digest, items}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortlist {
    pub jam_id: Uuid,
    pub state: ShortlistState,
    pub method: Method,
    pub computed_at: DateTime<Utc>,
    pub digest: Digest,
    pub items: Vec<ShortlistItem>,
    /// The fairness report of the ranking ([`fairness_report`]); empty in snapshots published
    /// before it existed.
    #[serde(default)]
    pub fairness: Vec<MethodFairness>,
}

/// `idea` of a shortlist item as the spec names it: `{id, title, session_id, author}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortlistIdea {
    pub id: Uuid,
    pub title: String,
    pub session_id: Uuid,
    /// The author's display name.
    pub author: String,
}

/// One shortlist item. `rank` is the place on the curated shortlist (1..); `method_rank` is the place by
/// the method among all visible ideas, which differs when ideas above were excluded or the item is a pin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShortlistItem {
    pub rank: usize,
    pub method_rank: usize,
    pub idea: ShortlistIdea,
    pub score: f64,
    pub up: u64,
    pub down: u64,
    pub voters: u64,
    pub by_audience: BTreeMap<String, AudienceCounts>,
    pub comments: u64,
    pub pinned: bool,
}

impl From<&RankedIdea> for ShortlistItem {
    fn from(row: &RankedIdea) -> Self {
        Self {
            rank: row.shortlist_position.unwrap_or(0),
            method_rank: row.rank,
            idea: ShortlistIdea {
                id: row.idea.id,
                title: row.idea.title.clone(),
                session_id: row.idea.session_id,
                author: row.idea.author.clone(),
            },
            score: row.score,
            up: row.up,
            down: row.down,
            voters: row.voters,
            by_audience: row.by_audience.clone(),
            comments: row.comments,
            pinned: row.pinned,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::model::Exclusion;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
    }

    fn id(name: char) -> Uuid {
        Uuid::from_u128(name as u128)
    }

    fn idea(name: char, up: u64, down: u64, minutes: i64, status: ItemStatus) -> IdeaFacts {
        IdeaFacts {
            id: id(name),
            title: format!("idea {name}"),
            session_id: Uuid::from_u128(1000),
            session_title: "Session".into(),
            author: format!("author {name}"),
            created_at: t0() + Duration::minutes(minutes),
            status,
            up,
            down,
            impressions: 0,
            comments: 2,
            by_audience: BTreeMap::from([("employee".to_owned(), AudienceCounts { up, down })]),
        }
    }

    /// Eight visible ideas (B and C tie on everything but their posting time; E has a single vote; G has
    /// none; H only down-votes) and three that must not rank, although they have the most votes.
    fn fixture() -> Vec<IdeaFacts> {
        use ItemStatus::*;
        vec![
            idea('X', 100, 0, 0, Hidden),
            idea('A', 5, 0, 0, Visible),
            idea('B', 3, 1, 1, Visible),
            idea('C', 3, 1, 2, Visible),
            idea('Y', 60, 0, 0, Merged),
            idea('D', 10, 10, 3, Visible),
            idea('E', 1, 0, 4, Visible),
            idea('F', 2, 1, 5, Visible),
            idea('G', 0, 0, 6, Visible),
            idea('H', 0, 2, 7, Visible),
            idea('Z', 50, 0, 0, Removed),
        ]
    }

    fn params(method: Method, shortlist_size: usize) -> Params {
        Params {
            method,
            shortlist_size,
        }
    }

    fn order(results: &Results) -> String {
        results
            .ideas
            .iter()
            .map(|r| r.idea.title.chars().last().unwrap())
            .collect()
    }

    fn shortlist(results: &Results) -> String {
        results
            .shortlist()
            .map(|r| r.idea.title.chars().last().unwrap())
            .collect()
    }

    fn scores(results: &Results) -> Vec<f64> {
        results.ideas.iter().map(|r| r.score).collect()
    }

    fn assert_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len());
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{actual:?} != {expected:?}");
        }
    }

    fn exclusion(name: char, reason: &str) -> Exclusion {
        Exclusion {
            idea_id: id(name),
            reason: reason.into(),
            by: "Facilitator".into(),
            at: t0(),
        }
    }

    #[test]
    fn wilson_ranks_the_visible_ideas_with_hand_computed_scores_and_tie_breaks() {
        let results = compute(fixture(), &Curation::default(), &params(Method::Wilson, 10), t0());
        // Wilson lower bounds computed independently (Python, z = 1.959963984540054):
        // A 5/0 0.56552, B and C 3/1 0.30064 (equal: B was posted first), D 10/10 0.29930,
        // F 2/1 0.20766, E 1/0 0.20655, then H 0/2 and G 0/0 both 0 (H has more voters).
        assert_eq!(order(&results), "ABCDFEHG");
        assert_close(
            &scores(&results),
            &[
                0.5655175352168252,
                0.3006418425824019,
                0.3006418425824019,
                0.29929800819821234,
                0.20765960080204768,
                0.20654931437723742,
                0.0,
                0.0,
            ],
        );
        assert!(results.ideas.iter().map(|r| r.rank).eq(1..=8));
        assert_eq!(results.prior, None);
        let e = &results.ideas[5];
        assert_eq!((e.up, e.down, e.voters, e.comments), (1, 0, 1, 2));
        // Eight visible ideas and a shortlist of ten: all of them, in rank order.
        assert_eq!(shortlist(&results), "ABCDFEHG");
    }

    #[test]
    fn net_ranks_by_up_minus_down_with_hand_computed_tie_breaks() {
        let results = compute(fixture(), &Curation::default(), &params(Method::Net, 10), t0());
        // A 5; B, C 2 (4 voters each, B earlier); F, E 1 (F has 3 voters, E 1); D, G 0 (D has 20 voters);
        // H −2.
        assert_eq!(order(&results), "ABCFEDGH");
        assert_eq!(scores(&results), [5.0, 2.0, 2.0, 1.0, 1.0, 0.0, 0.0, -2.0]);
    }

    #[test]
    fn bayesian_uses_the_prior_of_the_visible_ideas_only() {
        let results = compute(
            fixture(),
            &Curation::default(),
            &params(Method::Bayesian, 10),
            t0(),
        );
        // Visible ideas: 24 up of 39 votes over 8 ideas, so mean 24/39 and weight 39/8; weight·mean = 3.
        // The hidden, merged and removed ideas' 210 up-votes do not move the prior.
        let prior = results.prior.unwrap();
        assert_close(&[prior.mean, prior.weight], &[24.0 / 39.0, 39.0 / 8.0]);
        // (3 + up) / (4.875 + up + down): A 8/9.875, E 4/5.875, B = C 6/8.875, F 5/7.875, G 3/4.875,
        // D 13/24.875, H 3/6.875.
        assert_eq!(order(&results), "AEBCFGDH");
        assert_close(
            &scores(&results),
            &[
                8.0 / 9.875,
                4.0 / 5.875,
                6.0 / 8.875,
                6.0 / 8.875,
                5.0 / 7.875,
                3.0 / 4.875,
                13.0 / 24.875,
                3.0 / 6.875,
            ],
        );
    }

    #[test]
    fn hidden_removed_and_merged_ideas_never_rank_nor_reach_the_shortlist() {
        for method in [Method::Wilson, Method::Net, Method::Bayesian] {
            let curation = Curation {
                excluded: vec![],
                pinned: vec![id('X'), id('Y'), id('Z')],
            };
            let results = compute(fixture(), &curation, &params(method, 3), t0());
            assert_eq!(results.ideas.len(), 8);
            assert!(
                results
                    .ideas
                    .iter()
                    .all(|r| !"XYZ".contains(r.idea.title.chars().last().unwrap()))
            );
            assert_eq!(results.shortlist().count(), 3);
        }
    }

    #[test]
    fn an_excluded_idea_leaves_the_shortlist_but_keeps_its_rank_and_reason() {
        let curation = Curation {
            excluded: vec![exclusion('B', "duplicate of C")],
            pinned: vec![],
        };
        let results = compute(fixture(), &curation, &params(Method::Wilson, 3), t0());
        assert_eq!(shortlist(&results), "ACD");
        let b = &results.ideas[1];
        assert_eq!((b.rank, b.shortlist_position), (2, None));
        assert_eq!(b.excluded_reason.as_deref(), Some("duplicate of C"));
        let positions: Vec<_> = results
            .shortlist()
            .map(|r| (r.rank, r.shortlist_position))
            .collect();
        assert_eq!(positions, [(1, Some(1)), (3, Some(2)), (4, Some(3))]);
    }

    #[test]
    fn a_pin_takes_the_place_of_the_weakest_idea_above_the_cut_and_keeps_its_rank_order() {
        let curation = Curation {
            excluded: vec![exclusion('B', "duplicate of C")],
            pinned: vec![id('H')],
        };
        let results = compute(fixture(), &curation, &params(Method::Wilson, 3), t0());
        // Eligible by rank: A C D F E H G; H is pinned, so two places remain: A and C.
        assert_eq!(shortlist(&results), "ACH");
        let h = results.ideas.iter().find(|r| r.idea.id == id('H')).unwrap();
        assert_eq!((h.rank, h.shortlist_position, h.pinned), (7, Some(3), true));
    }

    #[test]
    fn a_pin_already_above_the_cut_changes_nothing() {
        let curation = Curation {
            excluded: vec![],
            pinned: vec![id('A'), id('A')],
        };
        let results = compute(fixture(), &curation, &params(Method::Wilson, 3), t0());
        assert_eq!(shortlist(&results), "ABC");
    }

    #[test]
    fn pins_beyond_the_shortlist_size_are_all_kept() {
        let curation = Curation {
            excluded: vec![],
            pinned: vec![id('G'), id('E'), id('H')],
        };
        let results = compute(fixture(), &curation, &params(Method::Wilson, 2), t0());
        assert_eq!(shortlist(&results), "EHG");
        let results = compute(fixture(), &curation, &params(Method::Wilson, 0), t0());
        assert_eq!(shortlist(&results), "EHG");
        let results = compute(fixture(), &Curation::default(), &params(Method::Wilson, 0), t0());
        assert_eq!(shortlist(&results), "");
    }

    #[test]
    fn an_exclusion_beats_a_pin_of_the_same_idea() {
        let curation = Curation {
            excluded: vec![exclusion('H', "off topic")],
            pinned: vec![id('H')],
        };
        let results = compute(fixture(), &curation, &params(Method::Wilson, 3), t0());
        assert_eq!(shortlist(&results), "ABC");
        let h = results.ideas.iter().find(|r| r.idea.id == id('H')).unwrap();
        assert!(h.pinned && h.shortlist_position.is_none());
    }

    #[test]
    fn several_exclusions_of_one_idea_show_all_reasons_in_byte_order() {
        let curation = Curation {
            excluded: vec![
                exclusion('A', "too costly"),
                exclusion('A', "already done"),
                exclusion('A', "too costly"),
            ],
            pinned: vec![],
        };
        let results = compute(fixture(), &curation, &params(Method::Wilson, 3), t0());
        assert_eq!(
            results.ideas[0].excluded_reason.as_deref(),
            Some("already done; too costly")
        );
    }

    #[test]
    fn a_repeated_idea_id_ranks_once() {
        let mut ideas = fixture();
        ideas.push(idea('A', 0, 9, 0, ItemStatus::Visible));
        let results = compute(ideas, &Curation::default(), &params(Method::Wilson, 10), t0());
        assert_eq!(order(&results), "ABCDFEHG");
    }

    #[test]
    fn no_ideas_give_an_empty_ranking() {
        let results = compute(vec![], &Curation::default(), &params(Method::Bayesian, 10), t0());
        assert!(results.ideas.is_empty());
        assert_eq!(results.shortlist().count(), 0);
    }

    #[test]
    fn the_fairness_report_correlates_each_methods_rank_with_post_time() {
        // Earlier ideas have more votes, each liked by half of those who saw it; the last is liked
        // by everyone who saw it. Every vote-only method ranks by age; exposure puts the last first.
        let mut ideas = vec![
            idea('a', 30, 0, 0, ItemStatus::Visible),
            idea('b', 20, 0, 1, ItemStatus::Visible),
            idea('c', 10, 0, 2, ItemStatus::Visible),
            idea('d', 5, 0, 3, ItemStatus::Visible),
            idea('z', 90, 0, 0, ItemStatus::Hidden),
        ];
        for (facts, seen) in ideas.iter_mut().zip([60, 40, 20, 5, 90]) {
            facts.impressions = seen;
        }
        let results = compute(ideas, &Curation::default(), &params(Method::Exposure, 3), t0());
        let rho = |method: Method| {
            results
                .fairness
                .iter()
                .find(|line| line.method == method)
                .map(|line| line.rank_post_time)
                .unwrap()
        };
        assert_eq!(results.fairness.len(), REPORTED_METHODS.len());
        assert!((rho(Method::Wilson) - 1.0).abs() < 1e-12);
        assert!((rho(Method::Net) - 1.0).abs() < 1e-12);
        // Exposure: d (5 of 5) first, then a, b, c (half of more viewers is more evidence): ranks
        // a2 b3 c4 d1 against posting order a1 b2 c3 d4, so ρ = 1 − 6·(1+1+1+9)/(4·15) = −0.2.
        assert!(
            (rho(Method::Exposure) + 0.2).abs() < 1e-12,
            "{}",
            rho(Method::Exposure)
        );
        assert_eq!(results.ideas[0].idea.title, "idea d");
    }

    #[test]
    fn the_shortlist_object_has_the_fields_of_the_spec() {
        let curation = Curation {
            excluded: vec![exclusion('B', "duplicate of C")],
            pinned: vec![id('H')],
        };
        let results = compute(fixture(), &curation, &params(Method::Wilson, 3), t0());
        let digest = Digest([7; 32]);
        let object = results.shortlist_object(Uuid::from_u128(42), ShortlistState::Draft, digest);
        let json = serde_json::to_value(&object).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "computed_at",
                "digest",
                "fairness",
                "items",
                "jam_id",
                "method",
                "state"
            ]
        );
        assert_eq!(json["state"], "draft");
        assert_eq!(json["method"], "wilson");
        assert_eq!(json["digest"], "07".repeat(32));
        assert_eq!(json["computed_at"], "2026-03-02T09:00:00Z");
        let items = json["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        let h = &items[2];
        assert_eq!(h["rank"], 3);
        assert_eq!(h["method_rank"], 7);
        assert_eq!(h["pinned"], true);
        assert_eq!(h["voters"], 2);
        assert_eq!(h["comments"], 2);
        assert_eq!(
            h["by_audience"]["employee"],
            serde_json::json!({"up": 0, "down": 2})
        );
        assert_eq!(
            h["idea"],
            serde_json::json!({"id": id('H'), "title": "idea H", "session_id": Uuid::from_u128(1000), "author": "author H"})
        );
        let back: Shortlist = serde_json::from_value(json).unwrap();
        assert_eq!(back, object);
    }

    #[test]
    fn audiences_are_the_union_of_the_rows_in_byte_order() {
        let mut ideas = fixture();
        ideas[1]
            .by_audience
            .insert("client".into(), AudienceCounts { up: 1, down: 0 });
        let results = compute(ideas, &Curation::default(), &params(Method::Wilson, 3), t0());
        assert_eq!(results.audiences(), ["client", "employee"]);
    }

    /// Up to 20 ideas with small counts (ties are common), some not visible, and a curation that names
    /// some of them (and ids that do not exist).
    fn jam() -> impl Strategy<Value = (Vec<IdeaFacts>, Curation, usize)> {
        let ideas = prop::collection::vec((0u64..5, 0u64..5, 0i64..3, 0u8..8), 0..20).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (up, down, minutes, status))| {
                    let status = match status {
                        0 => ItemStatus::Hidden,
                        1 => ItemStatus::Merged,
                        2 => ItemStatus::Removed,
                        _ => ItemStatus::Visible,
                    };
                    let mut facts = idea('a', up, down, minutes, status);
                    facts.id = Uuid::from_u128(i as u128);
                    facts
                })
                .collect::<Vec<_>>()
        });
        let curation = (
            prop::collection::vec((0u128..24, "[a-z]{1,3}"), 0..5),
            prop::collection::vec(0u128..24, 0..5),
        )
            .prop_map(|(excluded, pinned)| Curation {
                excluded: excluded
                    .into_iter()
                    .map(|(i, reason)| Exclusion {
                        idea_id: Uuid::from_u128(i),
                        reason,
                        by: "F".into(),
                        at: t0(),
                    })
                    .collect(),
                pinned: pinned.into_iter().map(Uuid::from_u128).collect(),
            });
        (ideas, curation, 0usize..8)
    }

    fn method() -> impl Strategy<Value = Method> {
        prop_oneof![Just(Method::Wilson), Just(Method::Net), Just(Method::Bayesian)]
    }

    proptest! {
        #[test]
        fn the_results_do_not_depend_on_the_order_of_ideas_or_decisions(
            ((ideas, curation, size), shuffled) in jam().prop_flat_map(|(i, c, n)| {
                (Just((i.clone(), c, n)), Just(i).prop_shuffle())
            }),
            method in method(),
        ) {
            let params = params(method, size);
            let mut reordered = curation.clone();
            reordered.excluded.reverse();
            reordered.pinned.reverse();
            let a = compute(ideas, &curation, &params, t0());
            let b = compute(shuffled, &reordered, &params, t0());
            prop_assert_eq!(a.ideas, b.ideas);
            prop_assert_eq!(a.prior, b.prior);
        }

        #[test]
        fn the_shortlist_follows_the_documented_rule((ideas, curation, size) in jam(), method in method()) {
            let results = compute(ideas.clone(), &curation, &params(method, size), t0());
            let visible = ideas.iter().filter(|i| i.status == ItemStatus::Visible).count();
            prop_assert_eq!(results.ideas.len(), visible);
            let eligible: Vec<&RankedIdea> =
                results.ideas.iter().filter(|r| r.excluded_reason.is_none()).collect();
            let pins = eligible.iter().filter(|r| r.pinned).count();
            let listed: Vec<&RankedIdea> = results.shortlist().collect();
            // max(N, pins) places, as far as there are eligible ideas.
            prop_assert_eq!(listed.len(), size.max(pins).min(eligible.len()));
            // Excluded ideas never; pinned eligible ideas always.
            prop_assert!(listed.iter().all(|r| r.excluded_reason.is_none()));
            prop_assert!(eligible.iter().filter(|r| r.pinned).all(|r| r.shortlist_position.is_some()));
            // Unpinned places go by rank: no eligible idea left out outranks an unpinned listed one.
            let worst_unpinned = listed.iter().filter(|r| !r.pinned).map(|r| r.rank).max();
            if let Some(worst) = worst_unpinned {
                prop_assert!(eligible.iter().filter(|r| r.shortlist_position.is_none()).all(|r| r.rank > worst));
            }
            // Positions number the list 1.. in rank order.
            prop_assert!(listed.iter().map(|r| r.shortlist_position).eq((1..=listed.len()).map(Some)));
            prop_assert!(listed.windows(2).all(|w| w[0].rank < w[1].rank));
        }
    }
}
