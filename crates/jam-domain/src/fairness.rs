//! Fairness (issue 17): ranking that corrects for how often an idea was shown, the order of the
//! discover view, the pairwise final round's Bradley–Terry scores and pair sampler, and Spearman's ρ
//! for the fairness report.
//!
//! Why: a feed sorted by hot or top and a tally over votes alone reward being early, because an early
//! idea is shown to more visitors. Counting impressions (an idea at least half visible for at least a
//! second) lets the tally divide by exposure, and the discover view spreads exposure evenly.
//!
//! Like `ranking`, every function here is total and deterministic: same inputs, same bits out.

use std::cmp::Ordering;

use uuid::Uuid;

/// The exposure-aware score (defined beside the other ranking methods, which rank by it as
/// `Method::Exposure`).
pub use crate::ranking::exposure_score;

/// Mixes 64 bits (SplitMix64's finaliser): a fixed, portable permutation of `u64`.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A participant's stable shuffle key for an idea: the same pair always gives the same key, two
/// participants see different orders. Not a secret (anyone may compute it); it only has to spread.
pub fn discover_key(participant: Uuid, idea: Uuid) -> u64 {
    let p = participant.as_u128();
    let i = idea.as_u128();
    let mut h = mix64(p as u64 ^ mix64((p >> 64) as u64));
    h = mix64(h ^ i as u64);
    mix64(h ^ (i >> 64) as u64)
}

/// One idea as the discover view sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoverItem {
    pub id: Uuid,
    /// Unique impressions by everyone.
    pub impressions: u64,
    /// Whether this participant already saw it (an impression or a vote).
    pub seen: bool,
}

/// `Less` when `a` comes before `b` in `participant`'s discover view: ideas this participant has not
/// seen first, then the least seen by everyone, then the participant's stable shuffle
/// ([`discover_key`]), then the id (a total order even if two keys collide).
pub fn discover_cmp(participant: Uuid, a: &DiscoverItem, b: &DiscoverItem) -> Ordering {
    a.seen
        .cmp(&b.seen)
        .then_with(|| a.impressions.cmp(&b.impressions))
        .then_with(|| discover_key(participant, a.id).cmp(&discover_key(participant, b.id)))
        .then_with(|| a.id.cmp(&b.id))
}

/// Sorts `items` into `participant`'s discover order ([`discover_cmp`]).
pub fn discover_order(participant: Uuid, items: &mut [DiscoverItem]) {
    items.sort_by(|a, b| discover_cmp(participant, a, b));
}

/// Spearman's rank correlation of two paired samples, in `[-1, 1]`: Pearson's correlation of their
/// ranks, tied values sharing their average rank. `0.0` when there are fewer than two pairs, the
/// lengths differ, or either sample is constant (no order to correlate). NaN inputs rank last.
pub fn spearman(xs: &[f64], ys: &[f64]) -> f64 {
    if xs.len() != ys.len() || xs.len() < 2 {
        return 0.0;
    }
    let (rx, ry) = (average_ranks(xs), average_ranks(ys));
    let n = rx.len() as f64;
    let mean = (n + 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in rx.iter().zip(&ry) {
        let (dx, dy) = (x - mean, y - mean);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return 0.0;
    }
    (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
}

/// 1-based ranks of `values` in ascending order, ties sharing the mean of the ranks they span.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let key = |v: f64| if v.is_nan() { f64::INFINITY } else { v };
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| key(values[a]).total_cmp(&key(values[b])).then(a.cmp(&b)));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && key(values[order[end]]) == key(values[order[start]]) {
            end += 1;
        }
        // Positions start..end hold ranks start+1..=end; their mean:
        let shared = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = shared;
        }
        start = end;
    }
    ranks
}

/// One judgement of the pairwise round, by index into the shortlist being compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Comparison {
    pub winner: usize,
    pub loser: usize,
}

/// The outcome of a Bradley–Terry fit.
#[derive(Debug, Clone, PartialEq)]
pub struct BradleyTerry {
    /// `ln` of each idea's strength: the log-odds of beating an idea of average strength (`0.0`).
    /// P(i beats j) = 1 / (1 + e^(score_j − score_i)).
    pub scores: Vec<f64>,
    pub wins: Vec<u64>,
    pub losses: Vec<u64>,
    /// MM iterations run.
    pub iterations: usize,
}

impl BradleyTerry {
    /// Wins over comparisons, in `[0, 1]`; `None` for an idea never compared.
    pub fn win_rate(&self, i: usize) -> Option<f64> {
        let total = self.wins.get(i)? + self.losses.get(i)?;
        (total > 0).then(|| self.wins[i] as f64 / total as f64)
    }
}

/// Stops once no strength moves by more than this factor in one iteration.
const BT_TOLERANCE: f64 = 1e-9;
/// A bound that is never reached in practice (a few hundred iterations suffice), so the fit always ends.
const BT_MAX_ITERATIONS: usize = 10_000;

/// Fits Bradley–Terry strengths to `comparisons` among `n` ideas with Hunter's (2004) MM algorithm,
/// deterministically (a fixed order of operations, no randomness), in `O(comparisons + n² · iterations)`.
///
/// Each idea also gets one virtual win and one virtual loss against an idea of average strength (a
/// weak prior): without it an idea that never won would get strength 0 and one that never lost
/// infinity. Strengths are rescaled to a geometric mean of 1 after every step (the likelihood only
/// sees their ratios; this also makes the fit converge in tens of iterations instead of thousands), so
/// "average" is 1 and a score of 0 is an average idea:
///
/// ```text
/// p_i ← (W_i + 1) / ( Σ_j n_ij / (p_i + p_j)  +  2 / (p_i + 1) ),   then p ← p / geomean(p)
/// ```
///
/// where `W_i` is i's wins and `n_ij` the comparisons between i and j, until no strength moves by
/// more than a factor of `e^(10⁻⁹)`. Comparisons naming an index `≥ n` or an idea against itself are
/// ignored.
pub fn bradley_terry(n: usize, comparisons: &[Comparison]) -> BradleyTerry {
    let mut wins = vec![0u64; n];
    let mut losses = vec![0u64; n];
    // Pair counts, symmetric, row-major.
    let mut pairs = vec![0u64; n * n];
    for c in comparisons {
        if c.winner >= n || c.loser >= n || c.winner == c.loser {
            continue;
        }
        wins[c.winner] += 1;
        losses[c.loser] += 1;
        pairs[c.winner * n + c.loser] += 1;
        pairs[c.loser * n + c.winner] += 1;
    }
    let mut p = vec![1.0f64; n];
    let mut next = vec![0.0f64; n];
    let mut iterations = 0;
    while iterations < BT_MAX_ITERATIONS {
        iterations += 1;
        for i in 0..n {
            let mut denominator = 2.0 / (p[i] + 1.0);
            let row = &pairs[i * n..(i + 1) * n];
            for (j, &count) in row.iter().enumerate() {
                if count > 0 {
                    denominator += count as f64 / (p[i] + p[j]);
                }
            }
            next[i] = (wins[i] as f64 + 1.0) / denominator;
        }
        let log_mean = next.iter().map(|s| s.ln()).sum::<f64>() / n as f64;
        let scale = log_mean.exp();
        let mut largest_change = 0.0f64;
        for (new, old) in next.iter_mut().zip(&p) {
            *new /= scale;
            largest_change = largest_change.max((*new / old).ln().abs());
        }
        std::mem::swap(&mut p, &mut next);
        if largest_change < BT_TOLERANCE {
            break;
        }
    }
    BradleyTerry {
        scores: p.iter().map(|s| s.ln()).collect(),
        wins,
        losses,
        iterations,
    }
}

/// The next pair to show in the pairwise round, as two distinct indexes among `n` ideas, favouring
/// the pairs compared least (All Our Ideas' "catchup" idea): among all pairs with the fewest
/// comparisons so far, the one `random` picks. `pair_count(i, j)` (for `i < j`) says how often a
/// pair was compared. The order within the pair is flipped by a bit of `random`, so neither side is
/// always the favourite. `None` with fewer than two ideas.
pub fn choose_pair(
    n: usize,
    pair_count: impl Fn(usize, usize) -> u64,
    random: u64,
) -> Option<(usize, usize)> {
    if n < 2 {
        return None;
    }
    let mut fewest = u64::MAX;
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            let count = pair_count(i, j);
            match count.cmp(&fewest) {
                Ordering::Less => {
                    fewest = count;
                    candidates.clear();
                    candidates.push((i, j));
                }
                Ordering::Equal => candidates.push((i, j)),
                Ordering::Greater => {}
            }
        }
    }
    let mixed = mix64(random);
    let (i, j) = candidates[(mixed % candidates.len() as u64) as usize];
    Some(if (mixed >> 63) == 1 { (j, i) } else { (i, j) })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::ranking::wilson_lower_bound;
    use proptest::prelude::*;

    fn assert_close(actual: f64, expected: f64, tolerance: f64) {
        assert!((actual - expected).abs() < tolerance, "{actual} != {expected}");
    }

    #[test]
    fn exposure_score_is_the_wilson_bound_of_up_votes_over_viewers() {
        assert_eq!(exposure_score(20, 0, 40), wilson_lower_bound(20, 20));
        assert_eq!(exposure_score(100, 5, 400), wilson_lower_bound(100, 300));
        assert!(exposure_score(20, 0, 40) > exposure_score(100, 0, 400));
        assert!(exposure_score(20, 0, 40) > exposure_score(1, 0, 1));
        assert_eq!(exposure_score(0, 0, 0), 0.0);
        assert_eq!(exposure_score(0, 9, 50), 0.0);
    }

    #[test]
    fn votes_without_reported_impressions_count_as_seen() {
        // Three voters, no impressions reported: three viewers, two said yes.
        assert_eq!(exposure_score(2, 1, 0), wilson_lower_bound(2, 1));
        assert_eq!(exposure_score(u64::MAX, 1, 0), wilson_lower_bound(u64::MAX, 0));
    }

    #[test]
    fn spearman_matches_hand_computed_values() {
        assert_close(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 40.0]),
            1.0,
            1e-12,
        );
        assert_close(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]),
            -1.0,
            1e-12,
        );
        // d = (0, −1, 1, 0): 1 − 6·2 / (4·15) = 0.8.
        assert_close(spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]), 0.8, 1e-12);
        // Ties share ranks: x ranks (1.5, 1.5, 3), y ranks (1, 2, 3): Pearson = √3/2.
        assert_close(
            spearman(&[5.0, 5.0, 7.0], &[1.0, 2.0, 3.0]),
            3f64.sqrt() / 2.0,
            1e-12,
        );
    }

    #[test]
    fn spearman_of_nothing_to_order_is_zero() {
        assert_eq!(spearman(&[], &[]), 0.0);
        assert_eq!(spearman(&[1.0], &[2.0]), 0.0);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(spearman(&[1.0, 2.0], &[1.0]), 0.0);
    }

    #[test]
    fn discover_puts_unseen_then_least_seen_ideas_first() {
        let me = Uuid::from_u128(7);
        let item = |n: u128, impressions: u64, seen: bool| DiscoverItem {
            id: Uuid::from_u128(n),
            impressions,
            seen,
        };
        let mut items = vec![
            item(1, 0, true),
            item(2, 50, false),
            item(3, 3, false),
            item(4, 3, true),
        ];
        discover_order(me, &mut items);
        let ids: Vec<u128> = items.iter().map(|i| i.id.as_u128()).collect();
        assert_eq!(ids, [3, 2, 1, 4]);
    }

    #[test]
    fn the_discover_shuffle_is_stable_per_participant_and_differs_between_them() {
        let items: Vec<DiscoverItem> = (0..50u128)
            .map(|n| DiscoverItem {
                id: Uuid::from_u128(n),
                impressions: 0,
                seen: false,
            })
            .collect();
        let order_for = |p: u128| {
            let mut v = items.clone();
            discover_order(Uuid::from_u128(p), &mut v);
            v.iter().map(|i| i.id).collect::<Vec<_>>()
        };
        assert_eq!(order_for(1), order_for(1));
        assert_ne!(order_for(1), order_for(2));
        assert_ne!(order_for(1), items.iter().map(|i| i.id).collect::<Vec<_>>());
    }

    #[test]
    fn bradley_terry_orders_by_wins_against_the_same_opponents() {
        // 0 beats 1 three times out of four, 1 beats 2 three times out of four.
        let mut comparisons = Vec::new();
        for (a, b) in [(0, 1), (1, 2)] {
            comparisons.extend([Comparison { winner: a, loser: b }; 3]);
            comparisons.push(Comparison { winner: b, loser: a });
        }
        let fit = bradley_terry(4, &comparisons);
        assert!(fit.scores[0] > fit.scores[1] && fit.scores[1] > fit.scores[2]);
        // Never compared: between the others, and the scores average to 0.
        assert!(fit.scores[0] > fit.scores[3] && fit.scores[3] > fit.scores[2]);
        assert!(fit.scores.iter().sum::<f64>().abs() < 1e-9);
        assert_eq!((fit.wins[1], fit.losses[1]), (4, 4));
        assert_eq!(fit.win_rate(0), Some(0.75));
        assert_eq!(fit.win_rate(3), None);
        assert!(fit.iterations < BT_MAX_ITERATIONS);
    }

    #[test]
    fn bradley_terry_recovers_known_strengths() {
        // Exact expected counts for strengths 4, 2, 1 over 10,000 comparisons a pair: the MLE is the
        // truth up to the weak prior, which 20,000 comparisons per idea make negligible.
        let strengths = [4.0f64, 2.0, 1.0];
        let mut comparisons = Vec::new();
        for i in 0..3 {
            for j in i + 1..3 {
                let wins_i = (10_000.0 * strengths[i] / (strengths[i] + strengths[j])).round() as usize;
                comparisons.extend(std::iter::repeat_n(Comparison { winner: i, loser: j }, wins_i));
                comparisons.extend(std::iter::repeat_n(
                    Comparison { winner: j, loser: i },
                    10_000 - wins_i,
                ));
            }
        }
        let fit = bradley_terry(3, &comparisons);
        assert_close(fit.scores[0] - fit.scores[1], 2f64.ln(), 1e-3);
        assert_close(fit.scores[1] - fit.scores[2], 2f64.ln(), 1e-3);
    }

    #[test]
    fn bradley_terry_ignores_comparisons_it_cannot_place() {
        let fit = bradley_terry(
            2,
            &[
                Comparison { winner: 0, loser: 0 },
                Comparison { winner: 5, loser: 1 },
            ],
        );
        assert!(fit.scores.iter().all(|s| s.abs() < 1e-12), "{:?}", fit.scores);
        assert_eq!(fit.wins, [0, 0]);
        assert!(bradley_terry(0, &[]).scores.is_empty());
    }

    #[test]
    fn the_pair_sampler_picks_among_the_least_compared_pairs() {
        // Pairs (0,1) and (0,2) compared, (1,2) not: it must be chosen whatever the randomness.
        let count = |i: usize, j: usize| u64::from((i, j) != (1, 2));
        for random in 0..64 {
            let (a, b) = choose_pair(3, count, random).unwrap();
            assert_eq!((a.min(b), a.max(b)), (1, 2));
        }
        assert_eq!(choose_pair(1, count, 0), None);
        // Both orders occur, so no side is always the favourite.
        let sides: std::collections::HashSet<_> =
            (0..64).map(|r| choose_pair(2, |_, _| 0, r).unwrap()).collect();
        assert_eq!(sides.len(), 2);
    }

    proptest! {
        #[test]
        fn bradley_terry_is_deterministic_and_finite(
            raw in prop::collection::vec((0usize..6, 0usize..6), 0..200),
        ) {
            let comparisons: Vec<Comparison> =
                raw.iter().map(|&(winner, loser)| Comparison { winner, loser }).collect();
            let a = bradley_terry(6, &comparisons);
            let b = bradley_terry(6, &comparisons);
            prop_assert_eq!(&a, &b);
            prop_assert!(a.scores.iter().all(|s| s.is_finite()));
        }

        #[test]
        fn an_extra_win_never_lowers_an_ideas_score(
            raw in prop::collection::vec((0usize..5, 0usize..5), 0..100),
            winner in 0usize..5, loser in 0usize..5,
        ) {
            prop_assume!(winner != loser);
            let mut comparisons: Vec<Comparison> =
                raw.iter().map(|&(winner, loser)| Comparison { winner, loser }).collect();
            let before = bradley_terry(5, &comparisons);
            comparisons.push(Comparison { winner, loser });
            let after = bradley_terry(5, &comparisons);
            prop_assert!(after.scores[winner] - after.scores[loser] >= before.scores[winner] - before.scores[loser] - 1e-9);
        }

        #[test]
        fn spearman_stays_in_range_and_is_symmetric(
            pairs in prop::collection::vec((-100i32..100, -100i32..100), 0..40),
        ) {
            let xs: Vec<f64> = pairs.iter().map(|p| f64::from(p.0)).collect();
            let ys: Vec<f64> = pairs.iter().map(|p| f64::from(p.1)).collect();
            let rho = spearman(&xs, &ys);
            prop_assert!((-1.0..=1.0).contains(&rho));
            prop_assert!((rho - spearman(&ys, &xs)).abs() < 1e-12);
        }

        #[test]
        fn exposure_never_rises_with_more_viewers_nor_falls_with_an_up_vote(
            up in 0u64..10_000, down in 0u64..10_000, impressions in 0u64..30_000,
        ) {
            prop_assert!(exposure_score(up, down, impressions + 1) <= exposure_score(up, down, impressions));
            prop_assert!(exposure_score(up + 1, down, impressions + 1) >= exposure_score(up, down, impressions));
        }
    }
}
