//! Ranking math: the score of one idea under each method, the ranked order of a set of ideas, and the
//! "hot" score of the live feed (DESIGN.md §5).
//!
//! Every function here is total: no panics, no NaN out of sane inputs, and `rank` orders with a total,
//! deterministic comparison, so a published shortlist can be recomputed exactly from its vote set.
//!
//! Each participant has at most one vote per idea, so an idea's distinct voters are `up + down`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
#[cfg(feature = "sea-orm")]
use sea_orm::sea_query::StringLen;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// z for a two-sided 95% interval: the 97.5th percentile of the standard normal distribution.
pub const WILSON_Z: f64 = 1.959963984540054;

/// Hours of age that cost the hot score as much as a tenfold change in net votes (see [`hot_score`]).
pub const HOT_HOURS_PER_DECADE: f64 = 6.0;

/// The `+1` and `-1` votes on one idea.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tally {
    pub up: u64,
    pub down: u64,
}

impl Tally {
    pub fn new(up: u64, down: u64) -> Self {
        Self { up, down }
    }

    /// Distinct voters: each participant has at most one vote per idea.
    pub fn voters(self) -> u64 {
        self.up.saturating_add(self.down)
    }

    pub fn net(self) -> i64 {
        net(self.up, self.down)
    }
}

/// Lower bound of the 95% Wilson score interval for the share of `+1` among an idea's votes; in `[0, 1]`.
///
/// With `n = up + down`, `p = up / n` and `z = WILSON_Z`:
///
/// ```text
///       p + z²/(2n) − z·√( p(1−p)/n + z²/(4n²) )       up + z²/2 − z·√( up·down/n + z²/4 )
/// lb = ------------------------------------------  =  --------------------------------------
///                     1 + z²/n                                      n + z²
/// ```
///
/// (the right-hand form, multiplied through by `n`, is the one computed). It is the share of `+1` we can be
/// 95% sure of given how few votes there are, so one `+1` (≈ 0.2065) ranks below ten `+1` and ten `−1`
/// (≈ 0.2993). It is `0.0` with no votes or no `+1` votes (the bound is exactly 0 there). An extra `+1`
/// never lowers it and an extra `−1` never raises it; past about 10⁸ votes on one idea those steps
/// fall below `f64` resolution.
pub fn wilson_lower_bound(up: u64, down: u64) -> f64 {
    if up == 0 {
        return 0.0;
    }
    let (up, down) = (up as f64, down as f64);
    let n = up + down;
    let z2 = WILSON_Z * WILSON_Z;
    let lb = (up + z2 / 2.0 - WILSON_Z * (up * down / n + z2 / 4.0).sqrt()) / (n + z2);
    lb.clamp(0.0, 1.0)
}

/// `up − down`, saturating at the bounds of `i64`.
pub fn net(up: u64, down: u64) -> i64 {
    let diff = i128::from(up) - i128::from(down);
    i64::try_from(diff).unwrap_or(if diff > 0 { i64::MAX } else { i64::MIN })
}

/// The prior of a Bayesian average: `weight` pseudo-votes whose share of `+1` is `mean`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BayesianPrior {
    /// Share of `+1` the prior assumes, in `[0, 1]`.
    pub mean: f64,
    /// How many votes the prior counts for; `0.0` means no shrinkage at all.
    pub weight: f64,
}

/// The share of `+1` among an idea's votes (in `[0, 1]`, like the Wilson bound), shrunk toward
/// `prior.mean` by `prior.weight` pseudo-votes:
///
/// ```text
/// (weight · mean + up) / (weight + up + down)
/// ```
///
/// With no votes and no weight it is `prior.mean`. A share rather than an average vote value in `[-1, 1]`
/// was chosen so that Wilson and Bayesian scores read on the same scale; the order is the same either way
/// (`value = 2·share − 1`). Out-of-range priors are read leniently instead of producing NaN: a NaN mean
/// counts as 0.5, a mean outside `[0, 1]` is clamped, a NaN or negative weight counts as 0, and an infinite
/// weight pins the score to the mean.
pub fn bayesian_average(up: u64, down: u64, prior: BayesianPrior) -> f64 {
    let mean = if prior.mean.is_nan() {
        0.5
    } else {
        prior.mean.clamp(0.0, 1.0)
    };
    let weight = if prior.weight.is_nan() {
        0.0
    } else {
        prior.weight.max(0.0)
    };
    let total = weight + up as f64 + down as f64;
    if total <= 0.0 || weight.is_infinite() {
        return mean;
    }
    ((weight * mean + up as f64) / total).clamp(0.0, 1.0)
}

/// The prior for one jam, from the tallies of all its ranked ideas: `mean` is the jam-wide share of `+1`
/// (every vote counted once) and `weight` is the mean number of votes per idea, ideas without votes
/// included. So a typical idea's score is half its own votes and half the jam's mood, and an idea with few
/// votes stays near the jam's average until it has about as many votes as a typical idea.
///
/// With no votes at all the prior is `{ mean: 0.5, weight: 0.0 }`: every idea then scores 0.5 and ties.
/// Counts are summed as integers, so the prior does not depend on the order of `tallies`.
pub fn jam_prior(tallies: impl IntoIterator<Item = Tally>) -> BayesianPrior {
    let (mut ideas, mut up, mut votes) = (0u128, 0u128, 0u128);
    for tally in tallies {
        ideas += 1;
        up += u128::from(tally.up);
        votes += u128::from(tally.up) + u128::from(tally.down);
    }
    if votes == 0 {
        return BayesianPrior {
            mean: 0.5,
            weight: 0.0,
        };
    }
    BayesianPrior {
        mean: up as f64 / votes as f64,
        weight: votes as f64 / ideas as f64,
    }
}

/// The exposure-aware score: the Wilson lower bound ([`wilson_lower_bound`]) of the share of `+1`
/// votes among the participants who saw the idea, in `[0, 1]`.
///
/// A vote implies the voter saw the idea, so the exposure counted is `max(impressions, up + down)`
/// (votes from clients that report no impressions still count). Every viewer who did not vote `+1`
/// counts as a "no":
///
/// ```text
/// shown = max(impressions, up + down)
/// score = wilson_lower_bound(up, shown − up)
/// ```
///
/// An idea shown to 40 people with 20 `+1` (≈ 0.35) ranks above one shown to 400 with 100 (≈ 0.21),
/// whatever their post times; and the bound still asks for evidence, so one `+1` from one viewer
/// (≈ 0.21) does not beat 20 from 40.
pub fn exposure_score(up: u64, down: u64, impressions: u64) -> f64 {
    let shown = impressions.max(up.saturating_add(down));
    wilson_lower_bound(up, shown - up.min(shown))
}

/// The score shown next to an idea's live counts (the idea views, a vote's answer, live tallies):
/// [`wilson_lower_bound`], whatever the jam's ranking method, so it reads the same everywhere.
pub fn shown_score(up: u32, down: u32) -> f64 {
    wilson_lower_bound(u64::from(up), u64::from(down))
}

/// How a jam ranks its ideas. Wilson is the default (DESIGN.md §5). Stored in `jams.voting_method`
/// and sent on the wire by its lowercase name.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(rs_type = "String", db_type = "String(StringLen::None)")
)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// [`wilson_lower_bound`].
    #[default]
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "wilson"))]
    Wilson,
    /// [`net`] votes.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "net"))]
    Net,
    /// [`bayesian_average`] with the [`jam_prior`] of the ideas being ranked.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "bayesian"))]
    Bayesian,
    /// [`exposure_score`]: `+1` votes over the participants who saw the idea (issue 17).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "exposure"))]
    Exposure,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Wilson => "wilson",
            Method::Net => "net",
            Method::Bayesian => "bayesian",
            Method::Exposure => "exposure",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wilson" => Ok(Method::Wilson),
            "net" => Ok(Method::Net),
            "bayesian" => Ok(Method::Bayesian),
            "exposure" => Ok(Method::Exposure),
            other => Err(format!(
                "unknown ranking method `{other}` (expected wilson, net, bayesian or exposure)"
            )),
        }
    }
}

/// An idea that may rank: the caller has already left out hidden, removed and merged-away ideas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Candidate {
    pub id: Uuid,
    pub up: u64,
    pub down: u64,
    /// Distinct participants who saw it (reported impressions); only [`Method::Exposure`] reads it.
    pub impressions: u64,
    pub created_at: DateTime<Utc>,
}

impl Candidate {
    pub fn tally(&self) -> Tally {
        Tally::new(self.up, self.down)
    }
}

/// One idea's place in a ranking.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    pub id: Uuid,
    /// 1-based; no two ideas share a rank, because ties are broken all the way down to the id.
    pub rank: usize,
    pub score: f64,
    pub up: u64,
    pub down: u64,
    /// Distinct voters (`up + down`).
    pub voters: u64,
    pub created_at: DateTime<Utc>,
}

/// Ranks `candidates` best first: by score descending, then more distinct voters, then earlier
/// `created_at`, then smaller id. The order is total, so it does not depend on the order of `candidates`.
/// The Bayesian method takes its prior from `candidates` themselves ([`jam_prior`]).
///
/// Under Wilson every idea without a `+1` scores 0, so among those the tie-break puts the most-voted (that
/// is, most down-voted) first.
pub fn rank(method: Method, candidates: &[Candidate]) -> Vec<Ranked> {
    let prior = match method {
        Method::Bayesian => Some(jam_prior(candidates.iter().map(Candidate::tally))),
        Method::Wilson | Method::Net | Method::Exposure => None,
    };
    let mut scored: Vec<(f64, &Candidate)> = candidates
        .iter()
        .map(|c| {
            let score = match (method, prior) {
                (_, Some(prior)) => bayesian_average(c.up, c.down, prior),
                (Method::Net, None) => net(c.up, c.down) as f64,
                (Method::Exposure, None) => exposure_score(c.up, c.down, c.impressions),
                (Method::Wilson | Method::Bayesian, None) => wilson_lower_bound(c.up, c.down),
            };
            (comparable(score), c)
        })
        .collect();
    scored.sort_by(|a, b| ranks_before(*a, *b));
    scored
        .into_iter()
        .enumerate()
        .map(|(i, (score, c))| Ranked {
            id: c.id,
            rank: i + 1,
            score,
            up: c.up,
            down: c.down,
            voters: c.tally().voters(),
            created_at: c.created_at,
        })
        .collect()
}

/// `total_cmp` orders −0.0 below 0.0 and NaN above everything; the scores never produce either, but if
/// one ever did, it must neither split a tie at zero nor put a broken score first.
fn comparable(score: f64) -> f64 {
    if score.is_nan() {
        f64::NEG_INFINITY
    } else if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// `Less` when `a` ranks before `b`.
fn ranks_before((a_score, a): (f64, &Candidate), (b_score, b): (f64, &Candidate)) -> Ordering {
    b_score
        .total_cmp(&a_score)
        .then_with(|| b.tally().voters().cmp(&a.tally().voters()))
        .then_with(|| a.created_at.cmp(&b.created_at))
        .then_with(|| a.id.cmp(&b.id))
}

/// The live feed's order: higher is shown first. Not for choosing winners (DESIGN.md §5).
///
/// ```text
/// hot = sign(net) · log10(1 + |net|)  −  age_hours / HOT_HOURS_PER_DECADE
/// ```
///
/// with `net = up − down` and `age_hours = (now − created_at)` in hours. A log of the votes against a
/// linear age (Reddit's shape) rather than a gravity ratio like `(net + 1) / (age + 2)^1.5` because:
/// - the age term is the same shift for every idea at a given `now`, so two ideas only swap places when
///   votes arrive, never as time merely passes: clients re-sort on tally events, without a timer;
/// - it is monotone for negative nets too (a gravity ratio lets an old down-voted idea climb toward 0);
/// - the first votes count most: each tenfold of net votes buys `HOT_HOURS_PER_DECADE` hours of
///   visibility, so a new idea with a few votes sits level with an older idea with many.
///
/// `1 + |net|` (instead of Reddit's `max(|net|, 1)`) keeps one `+1` above none. An extra `+1` never lowers
/// the score, an extra `−1` never raises it, and an older `created_at` never raises it. A `created_at` after
/// `now` (clock skew) counts as a negative age, which keeps the order independent of `now`.
pub fn hot_score(up: u64, down: u64, created_at: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    let net = net(up, down);
    let magnitude = (1.0 + net.unsigned_abs() as f64).log10();
    let votes = if net < 0 { -magnitude } else { magnitude };
    let age_hours = now.signed_duration_since(created_at).num_milliseconds() as f64 / 3_600_000.0;
    votes - age_hours / HOT_HOURS_PER_DECADE
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
    }

    fn idea(n: u128, up: u64, down: u64, minutes_after_t0: i64) -> Candidate {
        Candidate {
            impressions: 0,
            id: Uuid::from_u128(n),
            up,
            down,
            created_at: t0() + Duration::minutes(minutes_after_t0),
        }
    }

    fn order(ranked: &[Ranked]) -> Vec<u128> {
        ranked.iter().map(|r| r.id.as_u128()).collect()
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
    }

    #[test]
    fn wilson_lower_bound_matches_values_computed_by_hand() {
        // Computed independently from p + z²/2n − z√(p(1−p)/n + z²/4n²) over 1 + z²/n.
        assert_close(wilson_lower_bound(1, 0), 0.206_549_314_377_237_4);
        assert_close(wilson_lower_bound(5, 0), 0.565_517_535_216_825_2);
        assert_close(wilson_lower_bound(10, 10), 0.299_298_008_198_212_3);
        assert_close(wilson_lower_bound(1, 1), 0.094_531_205_734_230_7);
        assert_close(wilson_lower_bound(3, 1), 0.300_641_842_582_401_9);
        assert_close(wilson_lower_bound(2, 1), 0.207_659_600_802_047_7);
        assert_close(wilson_lower_bound(60, 40), 0.502_002_586_791_061_7);
        assert_close(wilson_lower_bound(100, 0), 0.963_006_501_793_014_3);
    }

    #[test]
    fn wilson_lower_bound_is_zero_without_votes_or_without_up_votes() {
        assert_eq!(wilson_lower_bound(0, 0), 0.0);
        assert_eq!(wilson_lower_bound(0, 7), 0.0);
        assert!(wilson_lower_bound(1, 7) > 0.0);
    }

    #[test]
    fn wilson_lower_bound_stays_in_range_at_the_extremes() {
        for (up, down) in [(u64::MAX, 0), (u64::MAX, u64::MAX), (1, u64::MAX), (u64::MAX, 1)] {
            let lb = wilson_lower_bound(up, down);
            assert!((0.0..=1.0).contains(&lb), "{up} {down} → {lb}");
        }
    }

    #[test]
    fn net_is_up_minus_down_and_saturates() {
        assert_eq!(net(0, 0), 0);
        assert_eq!(net(7, 3), 4);
        assert_eq!(net(3, 7), -4);
        assert_eq!(net(u64::MAX, 0), i64::MAX);
        assert_eq!(net(0, u64::MAX), i64::MIN);
        assert_eq!(Tally::new(2, 5).net(), -3);
        assert_eq!(Tally::new(2, 5).voters(), 7);
        assert_eq!(Tally::new(u64::MAX, 1).voters(), u64::MAX);
    }

    #[test]
    fn bayesian_average_shrinks_the_share_of_up_votes_toward_the_prior() {
        let prior = BayesianPrior {
            mean: 0.5,
            weight: 2.0,
        };
        assert_close(bayesian_average(0, 0, prior), 0.5);
        assert_close(bayesian_average(1, 0, prior), 2.0 / 3.0);
        assert_close(bayesian_average(0, 1, prior), 1.0 / 3.0);
        assert_close(bayesian_average(10, 0, prior), 11.0 / 12.0);
        assert_close(
            bayesian_average(
                3,
                1,
                BayesianPrior {
                    mean: 0.7,
                    weight: 0.0,
                },
            ),
            0.75,
        );
    }

    #[test]
    fn bayesian_average_reads_broken_priors_leniently() {
        assert_eq!(
            bayesian_average(
                0,
                0,
                BayesianPrior {
                    mean: 0.8,
                    weight: 0.0
                }
            ),
            0.8
        );
        assert_eq!(
            bayesian_average(
                0,
                0,
                BayesianPrior {
                    mean: f64::NAN,
                    weight: 1.0
                }
            ),
            0.5
        );
        assert_eq!(
            bayesian_average(
                1,
                0,
                BayesianPrior {
                    mean: 0.3,
                    weight: f64::NAN
                }
            ),
            1.0
        );
        assert_eq!(
            bayesian_average(
                1,
                0,
                BayesianPrior {
                    mean: 0.3,
                    weight: -4.0
                }
            ),
            1.0
        );
        assert_eq!(
            bayesian_average(
                9,
                0,
                BayesianPrior {
                    mean: 0.3,
                    weight: f64::INFINITY
                }
            ),
            0.3
        );
        assert_eq!(
            bayesian_average(
                0,
                0,
                BayesianPrior {
                    mean: 7.0,
                    weight: 1.0
                }
            ),
            1.0
        );
    }

    #[test]
    fn jam_prior_is_the_jam_wide_share_weighted_by_mean_votes_per_idea() {
        let prior = jam_prior([Tally::new(3, 1), Tally::new(0, 0), Tally::new(3, 1)]);
        assert_close(prior.mean, 0.75);
        assert_close(prior.weight, 8.0 / 3.0);
    }

    #[test]
    fn jam_prior_without_votes_is_neutral_and_weightless() {
        let none = BayesianPrior {
            mean: 0.5,
            weight: 0.0,
        };
        assert_eq!(jam_prior([]), none);
        assert_eq!(jam_prior([Tally::default(), Tally::default()]), none);
    }

    #[test]
    fn methods_round_trip_through_their_names() {
        for method in [Method::Wilson, Method::Net, Method::Bayesian, Method::Exposure] {
            assert_eq!(method.as_str().parse::<Method>(), Ok(method));
            assert_eq!(method.to_string(), method.as_str());
        }
        assert!("Wilson".parse::<Method>().is_err());
        assert_eq!(Method::default(), Method::Wilson);
    }

    #[test]
    fn wilson_ranks_one_up_vote_below_a_split_idea_with_many_votes() {
        let ideas = [
            idea(1, 1, 0, 0),   // 0.2065
            idea(2, 0, 0, 0),   // 0
            idea(3, 10, 10, 0), // 0.2993
            idea(4, 0, 3, 0),   // 0, more voters than idea 2
            idea(5, 5, 0, 0),   // 0.5655
            idea(6, 2, 1, 0),   // 0.2077
            idea(7, 3, 1, 0),   // 0.3006
        ];
        let ranked = rank(Method::Wilson, &ideas);
        assert_eq!(order(&ranked), [5, 7, 3, 6, 1, 4, 2]);
        assert_eq!(
            ranked.iter().map(|r| r.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6, 7]
        );
        assert_close(ranked[0].score, 0.565_517_535_216_825_2);
        assert_eq!((ranked[2].up, ranked[2].down, ranked[2].voters), (10, 10, 20));
        assert_eq!(ranked[6].score, 0.0);
    }

    #[test]
    fn equal_scores_rank_more_voters_first_then_earlier_ideas_then_smaller_ids() {
        let ideas = [
            idea(1, 2, 0, 0),  // net 2, 2 voters
            idea(2, 5, 3, 20), // net 2, 8 voters, later
            idea(3, 5, 3, 10), // net 2, 8 voters, earlier
            idea(4, 0, 0, 0),  // net 0
            idea(9, 5, 3, 10), // same as idea 3 but a larger id
            idea(8, 5, 3, 10),
        ];
        let ranked = rank(Method::Net, &ideas);
        assert_eq!(order(&ranked), [3, 8, 9, 2, 1, 4]);
        assert_eq!(ranked[0].score, 2.0);
        assert_eq!(ranked[5].score, 0.0);
    }

    #[test]
    fn net_ranks_down_voted_ideas_below_unvoted_ones() {
        let ranked = rank(
            Method::Net,
            &[idea(1, 0, 1, 0), idea(2, 0, 0, 0), idea(3, 1, 0, 0)],
        );
        assert_eq!(order(&ranked), [3, 2, 1]);
        assert_eq!(
            ranked.iter().map(|r| r.score).collect::<Vec<_>>(),
            [1.0, 0.0, -1.0]
        );
    }

    #[test]
    fn bayesian_ranking_takes_its_prior_from_the_ideas_ranked() {
        // 7 up and 7 down over 4 ideas: mean 0.5, weight 3.5.
        let ideas = [
            idea(1, 3, 1, 0),
            idea(2, 1, 3, 0),
            idea(3, 1, 1, 0),
            idea(4, 2, 2, 0),
        ];
        let ranked = rank(Method::Bayesian, &ideas);
        // 4.75/7.5, then 3.75/7.5 = 2.75/5.5 = 0.5 (a tie: more voters first), then 2.75/7.5.
        assert_eq!(order(&ranked), [1, 4, 3, 2]);
        assert_close(ranked[0].score, 4.75 / 7.5);
        assert_eq!(ranked[1].score, 0.5);
        assert_eq!(ranked[2].score, 0.5);
        assert_close(ranked[3].score, 2.75 / 7.5);
    }

    #[test]
    fn exposure_ranks_a_late_idea_liked_by_most_who_saw_it_above_an_early_one_seen_by_many() {
        // Early: 100 up of 400 who saw it; late: 20 up of 40. Wilson over votes alone puts the early
        // one first (more evidence, same share of the votes); exposure puts the late one first.
        let early = Candidate {
            impressions: 400,
            ..idea(1, 100, 0, 0)
        };
        let late = Candidate {
            impressions: 40,
            ..idea(2, 20, 0, 600)
        };
        let ideas = [early, late];
        assert_eq!(order(&rank(Method::Wilson, &ideas)), [1, 2]);
        let ranked = rank(Method::Exposure, &ideas);
        assert_eq!(order(&ranked), [2, 1]);
        assert_eq!(ranked[0].score, exposure_score(20, 0, 40));
    }

    #[test]
    fn bayesian_ranking_of_unvoted_ideas_is_a_tie_broken_by_age() {
        let ranked = rank(Method::Bayesian, &[idea(1, 0, 0, 5), idea(2, 0, 0, 1)]);
        assert_eq!(order(&ranked), [2, 1]);
        assert!(ranked.iter().all(|r| r.score == 0.5));
    }

    #[test]
    fn an_idea_alone_ranks_first_under_every_method() {
        for method in [Method::Wilson, Method::Net, Method::Bayesian, Method::Exposure] {
            let ranked = rank(method, &[idea(1, 1, 0, 0)]);
            assert_eq!(ranked.len(), 1);
            assert_eq!((ranked[0].rank, ranked[0].voters), (1, 1));
        }
        assert_close(
            rank(Method::Wilson, &[idea(1, 1, 0, 0)])[0].score,
            0.206_549_314_377_237_4,
        );
        // Its own vote is the whole jam: mean 1, weight 1, so (1·1 + 1) / (1 + 1).
        assert_eq!(rank(Method::Bayesian, &[idea(1, 1, 0, 0)])[0].score, 1.0);
    }

    #[test]
    fn ranking_no_ideas_gives_an_empty_list() {
        for method in [Method::Wilson, Method::Net, Method::Bayesian, Method::Exposure] {
            assert!(rank(method, &[]).is_empty());
        }
    }

    #[test]
    fn hot_score_is_log_net_votes_minus_age_in_decade_units() {
        let now = t0();
        assert_eq!(hot_score(0, 0, now, now), 0.0);
        assert_close(hot_score(10, 1, now, now), 1.0);
        assert_close(hot_score(1, 10, now, now), -1.0);
        assert_close(hot_score(10, 1, now - Duration::hours(6), now), 0.0);
        assert_close(hot_score(99, 0, now - Duration::hours(3), now), 1.5);
        assert!(hot_score(1, 0, now, now) > hot_score(0, 0, now, now));
    }

    #[test]
    fn hot_order_changes_with_votes_not_with_time_alone() {
        let (old, new) = (t0(), t0() + Duration::hours(6));
        for now in [new, new + Duration::hours(1), new + Duration::days(2)] {
            // Ten times the net votes six hours earlier: level.
            assert_close(hot_score(99, 0, old, now), hot_score(9, 0, new, now));
            assert!(hot_score(100, 0, old, now) > hot_score(9, 0, new, now));
            assert!(hot_score(98, 0, old, now) < hot_score(9, 0, new, now));
        }
    }

    /// Small counts and few distinct times, so that ties are common.
    fn candidates() -> impl Strategy<Value = Vec<Candidate>> {
        prop::collection::vec((0u64..6, 0u64..6, 0i64..3), 0..24).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (up, down, minutes))| idea(i as u128, up, down, minutes))
                .collect()
        })
    }

    fn method() -> impl Strategy<Value = Method> {
        prop_oneof![
            Just(Method::Wilson),
            Just(Method::Net),
            Just(Method::Bayesian),
            Just(Method::Exposure)
        ]
    }

    /// A prior as a jam would produce it.
    fn prior() -> impl Strategy<Value = BayesianPrior> {
        prop::collection::vec((0u64..1_000, 0u64..1_000), 1..8)
            .prop_map(|rows| jam_prior(rows.into_iter().map(|(up, down)| Tally::new(up, down))))
    }

    // Counts stay below a million: far past any jam, and where each vote still moves the scores by more
    // than f64 rounding.
    proptest! {
        #[test]
        fn an_extra_up_vote_never_lowers_the_wilson_score(up in 0u64..1_000_000, down in 0u64..1_000_000) {
            prop_assert!(wilson_lower_bound(up + 1, down) >= wilson_lower_bound(up, down));
        }

        #[test]
        fn an_extra_down_vote_never_raises_the_wilson_score(up in 0u64..1_000_000, down in 0u64..1_000_000) {
            prop_assert!(wilson_lower_bound(up, down + 1) <= wilson_lower_bound(up, down));
        }

        #[test]
        fn an_extra_up_vote_never_lowers_the_bayesian_score(
            up in 0u64..1_000_000, down in 0u64..1_000_000, prior in prior(),
        ) {
            prop_assert!(bayesian_average(up + 1, down, prior) >= bayesian_average(up, down, prior));
        }

        #[test]
        fn an_extra_down_vote_never_raises_the_bayesian_score(
            up in 0u64..1_000_000, down in 0u64..1_000_000, prior in prior(),
        ) {
            prop_assert!(bayesian_average(up, down + 1, prior) <= bayesian_average(up, down, prior));
        }

        #[test]
        fn scores_stay_in_their_ranges(up in any::<u64>(), down in any::<u64>(), prior in prior()) {
            prop_assert!((0.0..=1.0).contains(&wilson_lower_bound(up, down)));
            prop_assert!((0.0..=1.0).contains(&bayesian_average(up, down, prior)));
        }

        #[test]
        fn the_ranking_does_not_depend_on_the_order_of_the_ideas(
            (ideas, shuffled) in candidates().prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
            method in method(),
        ) {
            prop_assert_eq!(rank(method, &ideas), rank(method, &shuffled));
        }

        #[test]
        fn ranks_run_from_one_to_n_without_gaps_and_best_first(ideas in candidates(), method in method()) {
            let ranked = rank(method, &ideas);
            prop_assert_eq!(ranked.len(), ideas.len());
            prop_assert!(ranked.iter().map(|r| r.rank).eq(1..=ideas.len()));
            for pair in ranked.windows(2) {
                prop_assert!(pair[0].score >= pair[1].score);
                if pair[0].score == pair[1].score {
                    prop_assert!(pair[0].voters >= pair[1].voters);
                }
            }
            let mut ids: Vec<_> = ranked.iter().map(|r| r.id).collect();
            ids.sort();
            prop_assert!(ids.iter().copied().eq(ideas.iter().map(|c| c.id)));
        }

        #[test]
        fn hot_score_never_drops_with_an_up_vote_nor_rises_with_a_down_vote_or_age(
            up in 0u64..1_000_000,
            down in 0u64..1_000_000,
            age_ms in -3_600_000i64..30 * 86_400_000,
            older_by_ms in 0i64..86_400_000,
        ) {
            let now = t0();
            let created = now - Duration::milliseconds(age_ms);
            let hot = hot_score(up, down, created, now);
            prop_assert!(hot_score(up + 1, down, created, now) >= hot);
            prop_assert!(hot_score(up, down + 1, created, now) <= hot);
            prop_assert!(hot_score(up, down, created - Duration::milliseconds(older_by_ms), now) <= hot);
        }
    }
}
