//! `just bench-fairness`: a simulated 72-hour jam comparing how fair each way of showing and ranking
//! ideas is (issue 17), and the time of a Bradley–Terry fit. Pure and deterministic: the same seed
//! prints the same table.
//!
//! ```text
//! cargo run --release -p jam-tally --example bench_fairness -- [options]
//!   --seed N         the simulation's seed (default 17)
//!   --voters N       visitors over the jam (default 10000)
//!   --ideas N        ideas over the jam (default 2000)
//!   --hours N        length of the jam (default 72)
//!   --page N         ideas a visitor is shown per visit (default 20)
//!   --visits N       visits per visitor (default 3)
//!   --shortlist K    size of the pairwise round (default 30)
//!   --pairs N        comparisons per visitor in the pairwise round (default 5)
//! ```
//!
//! The model:
//! - Ideas: posted at uniformly random times over the jam; each has a hidden quality `q`, the chance
//!   that a visitor shown it votes `+1`: `0.02 + 0.48·u³` with `u` uniform in `[0, 1)`, so most ideas
//!   are mediocre and a few are strong. A visitor shown it votes `−1` with chance `(1 − q) / 5`, and
//!   otherwise does not vote. An impression is counted for every idea shown.
//! - Visitors: each arrives at a uniformly random time and comes back `visits − 1` times at random
//!   later times within the jam; each visit shows a page of the ideas posted so far, never an idea the
//!   visitor was shown before (as a visitor scrolls past what they have seen).
//! - Today (`hot/top + wilson`): half the visits open the hot feed (`jam_domain::ranking::hot_score`),
//!   half the top feed (net votes); the final ranking is `Method::Wilson` over the votes.
//! - Discover (`discover + exposure`): every visit opens the discover view
//!   (`jam_domain::fairness::discover_order`: unseen and least-seen ideas first, shuffled per visitor);
//!   the final ranking is `jam_domain::fairness::exposure_score` (Wilson over unique impressions).
//! - Pairwise (`discover + exposure, then pairwise bradley_terry`): the top K of discover + exposure
//!   go to a pairwise round in which every visitor judges `pairs` pairs from
//!   `jam_domain::fairness::choose_pair`, preferring the better idea with the Bradley–Terry chance
//!   `q_i / (q_i + q_j)`; the top K are reordered by `jam_domain::fairness::bradley_terry`, the rest
//!   keep their exposure order.
//!
//! Reported per method, over all ideas with rank 1 the best:
//! - ρ(rank, post time): Spearman's ρ between rank and post time; positive when early ideas rank
//!   higher. Goal for discover + exposure: |ρ| ≤ 0.1.
//! - ρ(rank, quality rank): Spearman's ρ between rank and the rank by hidden quality (1 = best);
//!   1 would be a perfect ranking. Goal: discover + exposure at least 0.15 above today's.
//! - top-10 precision: the share of the true ten best ideas in the method's top ten.
//!
//! Then a timed row: Bradley–Terry fitted to 100,000 comparisons among 50 ideas (goal < 1 s).

use std::process::ExitCode;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jam_domain::fairness::{
    Comparison, DiscoverItem, bradley_terry, choose_pair, discover_cmp, exposure_score, spearman,
};
use jam_domain::ranking::{Candidate, Method, hot_score, rank};
use uuid::Uuid;

/// A small deterministic generator (SplitMix64): portable, seedable, good enough for a simulation.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn uuid(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.next_u64(), self.next_u64())
    }
}

struct Options {
    seed: u64,
    voters: usize,
    ideas: usize,
    hours: f64,
    page: usize,
    visits: usize,
    shortlist: usize,
    pairs: usize,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut o = Options {
            seed: 17,
            voters: 10_000,
            ideas: 2_000,
            hours: 72.0,
            page: 20,
            visits: 3,
            shortlist: 30,
            pairs: 5,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
            match flag.as_str() {
                "--seed" => o.seed = number(&value)?,
                "--voters" => o.voters = number(&value)? as usize,
                "--ideas" => o.ideas = number(&value)? as usize,
                "--hours" => o.hours = number(&value)? as f64,
                "--page" => o.page = number(&value)? as usize,
                "--visits" => o.visits = number(&value)? as usize,
                "--shortlist" => o.shortlist = number(&value)? as usize,
                "--pairs" => o.pairs = number(&value)? as usize,
                other => return Err(format!("unknown option {other}")),
            }
        }
        if o.ideas < 10 || o.voters == 0 || o.page == 0 || o.visits == 0 || o.hours <= 0.0 {
            return Err("need at least 10 ideas, 1 voter, a page, a visit and some hours".into());
        }
        Ok(o)
    }
}

struct Idea {
    id: Uuid,
    posted: DateTime<Utc>,
    quality: f64,
}

/// What the jam recorded of one idea.
#[derive(Default, Clone, Copy)]
struct Counts {
    up: u64,
    down: u64,
    impressions: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Feed {
    HotOrTop,
    Discover,
}

struct World {
    ideas: Vec<Idea>,
    /// Visits in time order: (when, visitor).
    visits: Vec<(DateTime<Utc>, usize)>,
    visitors: Vec<Uuid>,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn at(hours: f64) -> DateTime<Utc> {
    start() + Duration::milliseconds((hours * 3_600_000.0) as i64)
}

fn world(o: &Options, rng: &mut Rng) -> World {
    let ideas = (0..o.ideas)
        .map(|_| Idea {
            id: rng.uuid(),
            posted: at(rng.unit() * o.hours),
            quality: 0.02 + 0.48 * rng.unit().powi(3),
        })
        .collect();
    let visitors: Vec<Uuid> = (0..o.voters).map(|_| rng.uuid()).collect();
    let mut visits = Vec::with_capacity(o.voters * o.visits);
    for v in 0..o.voters {
        let first = rng.unit() * o.hours;
        visits.push((at(first), v));
        for _ in 1..o.visits {
            visits.push((at(first + rng.unit() * (o.hours - first)), v));
        }
    }
    visits.sort_by_key(|&(when, v)| (when, v));
    World {
        ideas,
        visits,
        visitors,
    }
}

/// Runs the jam with one feed; returns what was recorded per idea.
fn run(o: &Options, w: &World, feed: Feed, rng: &mut Rng) -> Vec<Counts> {
    let mut counts = vec![Counts::default(); w.ideas.len()];
    let mut seen: Vec<std::collections::HashSet<usize>> = vec![Default::default(); w.visitors.len()];
    // Ideas in posting order, so "posted so far" is a prefix.
    let mut by_post: Vec<usize> = (0..w.ideas.len()).collect();
    by_post.sort_by_key(|&i| (w.ideas[i].posted, i));
    let mut posted = 0;
    for (visit, &(now, visitor)) in w.visits.iter().enumerate() {
        while posted < by_post.len() && w.ideas[by_post[posted]].posted <= now {
            posted += 1;
        }
        let mut shown: Vec<usize> = by_post[..posted]
            .iter()
            .copied()
            .filter(|i| !seen[visitor].contains(i))
            .collect();
        // The page: the first `page` ideas of the feed's order (a partial sort, then the page sorted).
        let me = w.visitors[visitor];
        let page = o.page.min(shown.len());
        match feed {
            Feed::HotOrTop => {
                let hot = visit % 2 == 0;
                let mut keyed: Vec<(f64, usize)> = shown
                    .iter()
                    .map(|&i| {
                        let c = counts[i];
                        let key = if hot {
                            hot_score(c.up, c.down, w.ideas[i].posted, now)
                        } else {
                            c.up as f64 - c.down as f64
                        };
                        (key, i)
                    })
                    .collect();
                let by = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
                if page > 0 && page < keyed.len() {
                    keyed.select_nth_unstable_by(page - 1, by);
                }
                keyed.truncate(page);
                keyed.sort_by(by);
                shown = keyed.into_iter().map(|(_, i)| i).collect();
            }
            Feed::Discover => {
                let mut items: Vec<(DiscoverItem, usize)> = shown
                    .iter()
                    .map(|&i| {
                        let item = DiscoverItem {
                            id: w.ideas[i].id,
                            impressions: counts[i].impressions,
                            seen: false,
                        };
                        (item, i)
                    })
                    .collect();
                let by = |a: &(DiscoverItem, usize), b: &(DiscoverItem, usize)| discover_cmp(me, &a.0, &b.0);
                if page > 0 && page < items.len() {
                    items.select_nth_unstable_by(page - 1, by);
                }
                items.truncate(page);
                items.sort_by(by);
                shown = items.into_iter().map(|(_, i)| i).collect();
            }
        }
        shown.truncate(o.page);
        for i in shown {
            seen[visitor].insert(i);
            counts[i].impressions += 1;
            let q = w.ideas[i].quality;
            let roll = rng.unit();
            if roll < q {
                counts[i].up += 1;
            } else if roll < q + (1.0 - q) / 5.0 {
                counts[i].down += 1;
            }
        }
    }
    counts
}

/// Idea indexes best first under today's tally (Wilson over votes).
fn wilson_order(w: &World, counts: &[Counts]) -> Vec<usize> {
    let candidates: Vec<Candidate> = w
        .ideas
        .iter()
        .zip(counts)
        .map(|(idea, c)| Candidate {
            id: idea.id,
            up: c.up,
            down: c.down,
            impressions: c.impressions,
            created_at: idea.posted,
        })
        .collect();
    let index: std::collections::HashMap<Uuid, usize> =
        w.ideas.iter().enumerate().map(|(i, idea)| (idea.id, i)).collect();
    rank(Method::Wilson, &candidates)
        .iter()
        .filter_map(|r| index.get(&r.id).copied())
        .collect()
}

/// Idea indexes best first by the exposure-aware score (ties: more impressions, then the id).
fn exposure_order(w: &World, counts: &[Counts]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..w.ideas.len()).collect();
    let score = |i: usize| exposure_score(counts[i].up, counts[i].down, counts[i].impressions);
    order.sort_by(|&a, &b| {
        score(b)
            .total_cmp(&score(a))
            .then(counts[b].impressions.cmp(&counts[a].impressions))
            .then(w.ideas[a].id.cmp(&w.ideas[b].id))
    });
    order
}

/// `order` with its first `k` reordered by a simulated pairwise round; also the comparisons made.
fn pairwise_order(o: &Options, w: &World, order: &[usize], rng: &mut Rng) -> (Vec<usize>, usize) {
    let k = o.shortlist.min(order.len());
    let top = &order[..k];
    let mut pair_counts = vec![0u64; k * k];
    let mut comparisons = Vec::with_capacity(o.voters * o.pairs);
    for _ in 0..o.voters * o.pairs {
        let Some((a, b)) = choose_pair(k, |i, j| pair_counts[i * k + j], rng.next_u64()) else {
            break;
        };
        pair_counts[a.min(b) * k + a.max(b)] += 1;
        let (qa, qb) = (w.ideas[top[a]].quality, w.ideas[top[b]].quality);
        comparisons.push(if rng.unit() < qa / (qa + qb) {
            Comparison { winner: a, loser: b }
        } else {
            Comparison { winner: b, loser: a }
        });
    }
    let fit = bradley_terry(k, &comparisons);
    let mut shortlist: Vec<usize> = (0..k).collect();
    shortlist.sort_by(|&a, &b| fit.scores[b].total_cmp(&fit.scores[a]).then(a.cmp(&b)));
    let mut reordered: Vec<usize> = shortlist.into_iter().map(|i| top[i]).collect();
    reordered.extend_from_slice(&order[k..]);
    (reordered, comparisons.len())
}

struct Fairness {
    rho_time: f64,
    rho_quality: f64,
    precision: f64,
}

fn fairness(w: &World, order: &[usize]) -> Fairness {
    let mut rank = vec![0.0; w.ideas.len()];
    for (position, &i) in order.iter().enumerate() {
        rank[i] = (position + 1) as f64;
    }
    let posted: Vec<f64> = w
        .ideas
        .iter()
        .map(|i| i.posted.timestamp_millis() as f64)
        .collect();
    // Rank by quality, 1 = best: minus the quality orders the same way.
    let quality_rank: Vec<f64> = w.ideas.iter().map(|i| -i.quality).collect();
    let mut best: Vec<usize> = (0..w.ideas.len()).collect();
    best.sort_by(|&a, &b| w.ideas[b].quality.total_cmp(&w.ideas[a].quality));
    let truth: std::collections::HashSet<usize> = best.into_iter().take(10).collect();
    let hits = order.iter().take(10).filter(|i| truth.contains(i)).count();
    Fairness {
        rho_time: spearman(&rank, &posted),
        rho_quality: spearman(&rank, &quality_rank),
        precision: hits as f64 / 10.0,
    }
}

fn main() -> ExitCode {
    let o = match Options::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench_fairness: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let mut rng = Rng(o.seed);
    let w = world(&o, &mut rng);
    let today_counts = run(&o, &w, Feed::HotOrTop, &mut Rng(o.seed ^ 1));
    let discover_counts = run(&o, &w, Feed::Discover, &mut Rng(o.seed ^ 1));
    let today = fairness(&w, &wilson_order(&w, &today_counts));
    let exposure = exposure_order(&w, &discover_counts);
    let discover = fairness(&w, &exposure);
    let (pairwise_ranking, comparisons) = pairwise_order(&o, &w, &exposure, &mut Rng(o.seed ^ 2));
    let pairwise = fairness(&w, &pairwise_ranking);

    let shown = |counts: &[Counts]| counts.iter().map(|c| c.impressions).sum::<u64>();
    let never = |counts: &[Counts]| counts.iter().filter(|c| c.impressions == 0).count();
    println!(
        "Seed {}: {} voters, {} ideas over {} h, {} visits of {} ideas each per voter; {} comparisons in the pairwise round over the top {}.\n",
        o.seed,
        o.voters,
        o.ideas,
        o.hours,
        o.visits,
        o.page,
        comparisons,
        o.shortlist.min(o.ideas)
    );
    println!(
        "| Method | Impressions | Ideas never shown | ρ(rank, post time) | ρ(rank, quality rank) | Top-10 precision |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let row = |name: &str, counts: &[Counts], f: &Fairness| {
        println!(
            "| {name} | {} | {} | {:+.3} | {:+.3} | {:.1} |",
            shown(counts),
            never(counts),
            f.rho_time,
            f.rho_quality,
            f.precision
        );
    };
    row("hot/top feed + wilson (today)", &today_counts, &today);
    row("discover + exposure", &discover_counts, &discover);
    row(
        "discover + exposure, then pairwise bradley_terry (top 30)",
        &discover_counts,
        &pairwise,
    );

    // Bradley–Terry timing: 100,000 comparisons among 50 ideas, outcomes from hidden strengths.
    let mut rng = Rng(o.seed ^ 3);
    let strengths: Vec<f64> = (0..50).map(|_| 0.1 + rng.unit()).collect();
    let comparisons: Vec<Comparison> = (0..100_000)
        .map(|_| {
            let a = (rng.next_u64() % 50) as usize;
            let b = (a + 1 + (rng.next_u64() % 49) as usize) % 50;
            if rng.unit() < strengths[a] / (strengths[a] + strengths[b]) {
                Comparison { winner: a, loser: b }
            } else {
                Comparison { winner: b, loser: a }
            }
        })
        .collect();
    let fit_started = Instant::now();
    let fit = bradley_terry(50, &comparisons);
    let fit_time = fit_started.elapsed();
    let truth: Vec<f64> = strengths.iter().map(|s| s.ln()).collect();
    let fit_rho = spearman(&fit.scores, &truth);
    println!("\n| Bradley–Terry fit | Comparisons | Iterations | Time | ρ(fitted, true strength) | Goal |");
    println!("|---|---:|---:|---:|---:|---|");
    println!(
        "| 50 ideas | 100,000 | {} | {:.1} ms | {:+.3} | < 1 s: {} |",
        fit.iterations,
        fit_time.as_secs_f64() * 1000.0,
        fit_rho,
        if fit_time.as_secs_f64() < 1.0 {
            "met"
        } else {
            "MISSED"
        }
    );

    let time_ok = discover.rho_time.abs() <= 0.1;
    let quality_ok = discover.rho_quality >= today.rho_quality + 0.15;
    println!(
        "\nGoals, discover + exposure: |ρ(rank, post time)| = {:.3} ≤ 0.1: {}; ρ(rank, quality rank) {:+.3} ≥ today's {:+.3} + 0.15: {}. Simulated in {:.1} s.",
        discover.rho_time.abs(),
        if time_ok { "met" } else { "MISSED" },
        discover.rho_quality,
        today.rho_quality,
        if quality_ok { "met" } else { "MISSED" },
        started.elapsed().as_secs_f64()
    );
    if time_ok && quality_ok && fit_time.as_secs_f64() < 1.0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
