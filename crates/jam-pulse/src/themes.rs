//! Themes: a deterministic, incremental clustering of a jam's ideas into labelled themes with
//! stable ids.
//!
//! # Method
//!
//! 1. **Terms** (`text`): lowercase, English and French stop words dropped, the post's language
//!    guessed from its stop words, Snowball stemming (`rust-stemmers`), accents folded.
//! 2. **Vectors** (`tfidf`): sparse TF-IDF unit vectors over the terms found in at least two ideas
//!    and in at most half of them.
//! 3. **Clusters** (`kmeans`): spherical k-means, over-partitioned then merged. It starts from the
//!    previous run's themes (each one's centroid over its current ideas) plus k-means++ seeds drawn
//!    with a fixed seed, `ceil(sqrt(n))` clusters in all (at least a quarter of them new, at most
//!    four times `max_themes`). After Lloyd's iterations, the two clusters of highest centroid
//!    cosine (centred: the corpus mean taken out, so words every topic uses count for nothing) are
//!    merged while that cosine is at least `merge_similarity` (a topic the
//!    over-partition cut in pieces is whole again), except two clusters whose ideas mostly come from
//!    two different previous themes (so a facilitator's split stays split); then, regardless, while
//!    there are more than `max_themes`. A few more iterations settle the merged clusters; clusters
//!    smaller than `min_theme_size` give their ideas to the next nearest; an idea whose cosine to
//!    every centroid is below `min_similarity` (off-topic noise) gets no theme.
//! 4. **Stable ids**: a cluster takes the id of the previous theme it shares the most ideas with
//!    (greedily, largest overlap first, when the overlap is over half of the smaller of the two); a
//!    cluster whose ideas mostly come from a previous theme another cluster took joins that cluster
//!    (an existing theme does not break apart by itself, and ideas merged into a theme by a
//!    facilitator stay there); a previous theme no cluster took keeps its ideas when most of them
//!    landed in one cluster (so a facilitator's split is not undone); any other cluster is a new
//!    theme. So with no new posts almost every
//!    idea keeps its theme, and a new idea gets one at the next run.
//! 5. **Labels**: the 3–5 terms whose weight in the theme's centroid most exceeds their mean
//!    weight over all ideas, each shown as its most frequent written form.
//!
//! Why not `linfa-clustering`: its k-means works on dense `ndarray` matrices, and 100,000 ideas by
//! a vocabulary of tens of thousands of terms do not fit in memory densely (100,000 × 30,000 × 4 B
//! is 12 GB). Sparse spherical k-means is the standard for text, is short, and gives us control of
//! the seeding (previous themes first), which is what makes ids stable.
//!
//! Everything is a pure function of its inputs: ideas are processed in id order, the generator is
//! seeded from the configuration, and float sums run in a fixed order, so the same ideas and
//! previous themes give the same themes.

mod kmeans;
mod text;
mod tfidf;

use std::collections::HashMap;

use uuid::Uuid;

pub use text::{Lang, Token, Tokenizer, fold};

use kmeans::{Centroids, NONE, Rng};
use tfidf::{Vectors, VocabularyLimits};

/// One idea to cluster: its id and its text (title, body and tags together).
#[derive(Debug, Clone, Copy)]
pub struct Idea<'a> {
    pub id: Uuid,
    pub text: &'a str,
}

/// A theme of the previous run (after facilitators' merges and splits), with its ideas.
#[derive(Debug, Clone)]
pub struct Previous {
    pub id: Uuid,
    pub members: Vec<Uuid>,
}

/// Tuning of the clustering; `Config::default()` is what the server uses unless configured.
#[derive(Debug, Clone)]
pub struct Config {
    /// Most themes a run produces.
    pub max_themes: usize,
    /// Smallest theme; smaller clusters give their ideas to their neighbours.
    pub min_theme_size: usize,
    /// Clusters whose centroids have at least this cosine are one theme.
    pub merge_similarity: f32,
    /// An idea less similar than this to every theme gets none.
    pub min_similarity: f32,
    /// Lloyd iterations per phase.
    pub max_iterations: usize,
    /// Seed of the k-means++ sampling.
    pub seed: u64,
    /// Terms in the labels.
    pub label_terms: usize,
    /// Threads for the assignment steps (the result does not depend on it).
    pub threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_themes: 40,
            min_theme_size: 5,
            merge_similarity: 0.3,
            min_similarity: 0.05,
            max_iterations: 25,
            seed: 0x0be4_4a11,
            label_terms: 4,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()).min(4),
        }
    }
}

/// Where a theme of a run comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ThemeKey {
    /// It continues this previous theme (same id).
    Existing(Uuid),
    /// A new theme; the number orders the run's new themes (by their smallest idea id).
    New(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub key: ThemeKey,
    /// Idea ids, sorted.
    pub members: Vec<Uuid>,
    /// 3–5 distinctive words (fewer for a tiny theme).
    pub label: Vec<String>,
}

/// A run's themes (existing ones by id, then new ones) and the ideas that got none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub themes: Vec<Theme>,
    pub unassigned: Vec<Uuid>,
}

impl Outcome {
    /// Each idea's theme key.
    pub fn assignment(&self) -> HashMap<Uuid, ThemeKey> {
        self.themes
            .iter()
            .flat_map(|t| t.members.iter().map(move |m| (*m, t.key)))
            .collect()
    }
}

const LIMITS: VocabularyLimits = VocabularyLimits {
    min_df: 2,
    max_df_share: 0.5,
};

/// Ideas sorted by id and their vectors.
fn vectorise<'a>(ideas: &[Idea<'a>]) -> (Vec<Idea<'a>>, Vectors) {
    let mut sorted = ideas.to_vec();
    sorted.sort_by_key(|idea| idea.id);
    sorted.dedup_by_key(|idea| idea.id);
    let vectors = tfidf::build(sorted.iter().map(|idea| idea.text), &Tokenizer::new(), LIMITS);
    (sorted, vectors)
}

/// Clusters `ideas` into themes, continuing `previous` (see the module documentation).
pub fn cluster(ideas: &[Idea<'_>], previous: &[Previous], config: &Config) -> Outcome {
    let (ideas, vectors) = vectorise(ideas);
    let n = ideas.len();
    let position: HashMap<Uuid, usize> = ideas.iter().enumerate().map(|(i, idea)| (idea.id, i)).collect();
    let mut previous: Vec<&Previous> = previous.iter().collect();
    previous.sort_by_key(|p| p.id);
    previous.dedup_by_key(|p| p.id);
    // Each idea's previous theme (index into `previous`).
    let mut before = vec![NONE; n];
    for (p, theme) in previous.iter().enumerate() {
        for member in &theme.members {
            if let Some(&i) = position.get(member) {
                before[i] = p as u32;
            }
        }
    }
    let nonempty = (0..n)
        .filter(|&i| vectors.offsets[i + 1] > vectors.offsets[i])
        .count();
    if nonempty == 0 {
        return finish(&ideas, &vectors, &vec![NONE; n], &before, &previous, config);
    }

    // Seeds: the previous themes that still have ideas with terms, then k-means++.
    let (fixed, sizes) = Centroids::from_assignment(&vectors, &before, previous.len());
    let kept: Vec<usize> = (0..previous.len()).filter(|&p| sizes[p] > 0).collect();
    let mut fixed_kept = Centroids::empty(kept.len(), vectors.dims);
    for t in 0..vectors.dims {
        for (c, &p) in kept.iter().enumerate() {
            fixed_kept.data[t * kept.len() + c] = fixed.data[t * fixed.k + p];
        }
    }
    let max_themes = config.max_themes.max(1);
    let k0 = ((nonempty as f64).sqrt().ceil() as usize)
        .clamp(2, 4 * max_themes)
        .min(nonempty);
    let extra = k0.saturating_sub(kept.len()).max(k0.div_ceil(4)).min(nonempty);
    let mut rng = Rng::new(config.seed);
    let seeds = kmeans::seed(&vectors, &fixed_kept, extra, &mut rng, config.threads);
    let k = seeds.k;
    let mut assignment = kmeans::iterate(&vectors, seeds, config.max_iterations, config.threads);

    // Merge clusters that are one topic, then down to `max_themes`.
    let majority = majorities(&assignment, &before, k);
    let group = merge(&vectors, &assignment, k, &majority, config);
    for c in assignment.iter_mut().filter(|c| **c != NONE) {
        *c = group[*c as usize];
    }
    let k = compact(&mut assignment);
    let (centroids, _) = Centroids::from_assignment(&vectors, &assignment, k);
    let mut assignment = kmeans::iterate(&vectors, centroids, config.max_iterations, config.threads);

    // Small clusters give their ideas away; far ideas get none.
    let k = compact(&mut assignment);
    let mut sizes = vec![0usize; k];
    for &c in assignment.iter().filter(|c| **c != NONE) {
        sizes[c as usize] += 1;
    }
    let keep: Vec<bool> = sizes.iter().map(|&s| s >= config.min_theme_size.max(1)).collect();
    let keep = if keep.iter().any(|k| *k) {
        keep
    } else {
        // Too few ideas for any theme of the minimum size: keep the largest.
        let largest = (0..k)
            .max_by_key(|&c| (sizes[c], std::cmp::Reverse(c)))
            .unwrap_or(0);
        (0..k).map(|c| c == largest).collect()
    };
    for c in assignment
        .iter_mut()
        .filter(|c| **c != NONE && !keep[**c as usize])
    {
        *c = NONE;
    }
    let k = compact(&mut assignment);
    let (centroids, _) = Centroids::from_assignment(&vectors, &assignment, k);
    let nearest = kmeans::assign_all(&vectors, &centroids, config.threads);
    for (slot, (c, similarity)) in assignment.iter_mut().zip(nearest) {
        *slot = if similarity >= config.min_similarity {
            c
        } else {
            NONE
        };
    }
    finish(&ideas, &vectors, &assignment, &before, &previous, config)
}

/// Splits `ideas` (a theme's) into two themes, keys `New(0)` (the one with the smallest idea id)
/// and `New(1)`; `None` when they do not make two groups. Every idea lands in one of the two.
pub fn split(ideas: &[Idea<'_>], config: &Config) -> Option<Outcome> {
    let (ideas, vectors) = vectorise(ideas);
    let nonempty = (0..ideas.len())
        .filter(|&i| vectors.offsets[i + 1] > vectors.offsets[i])
        .count();
    if nonempty < 2 {
        return None;
    }
    let seeds = kmeans::seed(
        &vectors,
        &Centroids::empty(0, vectors.dims),
        2,
        &mut Rng::new(config.seed),
        config.threads,
    );
    let mut assignment = kmeans::iterate(&vectors, seeds, config.max_iterations, config.threads);
    if compact(&mut assignment) != 2 {
        return None;
    }
    // Ideas without terms join the first group.
    for c in assignment.iter_mut().filter(|c| **c == NONE) {
        *c = 0;
    }
    let outcome = finish(
        &ideas,
        &vectors,
        &assignment,
        &vec![NONE; ideas.len()],
        &[],
        config,
    );
    (outcome.themes.len() == 2).then_some(outcome)
}

/// Renumbers the clusters in use as `0..k` in order of first appearance; returns `k`.
fn compact(assignment: &mut [u32]) -> usize {
    let mut map: HashMap<u32, u32> = HashMap::new();
    for c in assignment.iter_mut().filter(|c| **c != NONE) {
        let next = map.len() as u32;
        *c = *map.entry(*c).or_insert(next);
    }
    map.len()
}

/// Per cluster: the previous theme more than half of its ideas come from, if any.
fn majorities(assignment: &[u32], before: &[u32], k: usize) -> Vec<Option<u32>> {
    let mut counts: HashMap<(u32, u32), usize> = HashMap::new();
    let mut sizes = vec![0usize; k];
    for (&c, &b) in assignment.iter().zip(before) {
        if c == NONE {
            continue;
        }
        sizes[c as usize] += 1;
        if b != NONE {
            *counts.entry((c, b)).or_default() += 1;
        }
    }
    let mut out = vec![None; k];
    for ((c, b), count) in counts {
        if count * 2 > sizes[c as usize] {
            out[c as usize] = Some(b);
        }
    }
    out
}

/// Agglomerative merging of clusters by centroid cosine (see the module documentation); returns
/// each cluster's group (the index of the cluster it was merged into).
fn merge(
    vectors: &Vectors,
    assignment: &[u32],
    k: usize,
    majority: &[Option<u32>],
    config: &Config,
) -> Vec<u32> {
    let mut gram = kmeans::Gram::new(vectors, assignment, k);
    let mut alive: Vec<bool> = (0..k).map(|c| gram.n[c] > 0.0).collect();
    let mut majority = majority.to_vec();
    let mut group: Vec<u32> = (0..k as u32).collect();
    loop {
        let live = alive.iter().filter(|a| **a).count();
        let over = live > config.max_themes.max(1);
        let mut best: Option<(usize, usize, f64)> = None;
        for a in (0..k).filter(|&a| alive[a]) {
            for b in (a + 1..k).filter(|&b| alive[b]) {
                let separate = matches!((majority[a], majority[b]), (Some(x), Some(y)) if x != y);
                if separate && !over {
                    continue;
                }
                let s = gram.cosine(a, b);
                if best.is_none_or(|(_, _, top)| s > top) {
                    best = Some((a, b, s));
                }
            }
        }
        let Some((a, b, s)) = best else { break };
        if !over && s < f64::from(config.merge_similarity) {
            break;
        }
        gram.absorb(a, b);
        alive[b] = false;
        majority[a] = majority[a].or(majority[b]);
        for slot in group.iter_mut().filter(|slot| **slot == b as u32) {
            *slot = a as u32;
        }
    }
    group
}

/// Stable ids, labels and the ordered outcome from a final assignment.
fn finish(
    ideas: &[Idea<'_>],
    vectors: &Vectors,
    assignment: &[u32],
    before: &[u32],
    previous: &[&Previous],
    config: &Config,
) -> Outcome {
    let k = assignment
        .iter()
        .filter(|c| **c != NONE)
        .map(|c| *c as usize + 1)
        .max()
        .unwrap_or(0);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    let mut unassigned = Vec::new();
    for (i, &c) in assignment.iter().enumerate() {
        if c == NONE {
            unassigned.push(ideas[i].id);
        } else {
            members[c as usize].push(i);
        }
    }
    // Overlaps with previous themes.
    let mut present = vec![0usize; previous.len()];
    for &b in before.iter().filter(|b| **b != NONE) {
        present[b as usize] += 1;
    }
    let mut overlap: HashMap<(usize, usize), usize> = HashMap::new();
    for (c, list) in members.iter().enumerate() {
        for &i in list {
            if before[i] != NONE {
                *overlap.entry((c, before[i] as usize)).or_default() += 1;
            }
        }
    }
    let mut pairs: Vec<((usize, usize), usize)> = overlap.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut taken_by: Vec<Option<usize>> = vec![None; previous.len()];
    let mut key_of: Vec<Option<usize>> = vec![None; k];
    for &((c, p), count) in &pairs {
        if key_of[c].is_none() && taken_by[p].is_none() && count * 2 > members[c].len().min(present[p]) {
            key_of[c] = Some(p);
            taken_by[p] = Some(c);
        }
    }
    // A previous theme no cluster took, whose ideas mostly landed together in one cluster, keeps
    // them: re-clustering does not undo a split by itself (merges are the facilitators' call).
    let mut k = k;
    for &((c, p), count) in &pairs {
        if taken_by[p].is_none() && count * 2 > present[p] && key_of[c] != Some(p) {
            let (stay, carved): (Vec<usize>, Vec<usize>) =
                members[c].iter().partition(|&&i| before[i] as usize != p);
            members[c] = stay;
            members.push(carved);
            key_of.push(Some(p));
            taken_by[p] = Some(k);
            k += 1;
        }
    }
    // Clusters mostly made of a taken theme's ideas join the cluster that took it.
    let mut target: Vec<usize> = (0..k).collect();
    for &((c, p), count) in &pairs {
        if key_of[c].is_none()
            && target[c] == c
            && count * 2 > members[c].len()
            && let Some(owner) = taken_by[p]
        {
            target[c] = owner;
        }
    }
    let mut grouped: Vec<Vec<usize>> = vec![Vec::new(); k];
    for c in 0..k {
        let t = target[c];
        let moved = std::mem::take(&mut members[c]);
        grouped[t].extend(moved);
    }
    let mut existing = Vec::new();
    let mut fresh = Vec::new();
    for (c, mut list) in grouped.into_iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        list.sort_unstable();
        let label = label(vectors, &list, config.label_terms);
        let ids: Vec<Uuid> = list.iter().map(|&i| ideas[i].id).collect();
        match key_of[c] {
            Some(p) => existing.push(Theme {
                key: ThemeKey::Existing(previous[p].id),
                members: ids,
                label,
            }),
            None => fresh.push(Theme {
                key: ThemeKey::New(0),
                members: ids,
                label,
            }),
        }
    }
    existing.sort_by_key(|t| t.key);
    fresh.sort_by_key(|t| t.members[0]);
    for (j, theme) in fresh.iter_mut().enumerate() {
        theme.key = ThemeKey::New(j as u32);
    }
    existing.extend(fresh);
    Outcome {
        themes: existing,
        unassigned,
    }
}

/// The terms whose centroid weight most exceeds their corpus mean, as written forms.
fn label(vectors: &Vectors, members: &[usize], terms: usize) -> Vec<String> {
    let mut sum: HashMap<u32, f32> = HashMap::new();
    for &i in members {
        let (ts, ws) = vectors.row(i);
        for (&t, &w) in ts.iter().zip(ws) {
            *sum.entry(t).or_default() += w;
        }
    }
    let size = members.len().max(1) as f32;
    let mut scored: Vec<(f32, u32)> = sum
        .into_iter()
        .map(|(t, s)| (s / size - vectors.mean[t as usize], t))
        .filter(|(score, _)| *score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<String> = Vec::new();
    for (_, t) in scored {
        let word = &vectors.surfaces[t as usize];
        if !out.contains(word) {
            out.push(word.clone());
        }
        if out.len() >= terms.clamp(3, 5) {
            break;
        }
    }
    out
}

/// The adjusted Rand index of two labellings of the same items (Hubert and Arabie, 1985): 1 for
/// identical partitions, about 0 for independent ones.
pub fn adjusted_rand_index<A: Eq + std::hash::Hash, B: Eq + std::hash::Hash>(
    truth: &[A],
    found: &[B],
) -> f64 {
    assert_eq!(truth.len(), found.len(), "both labellings cover the same items");
    let pairs = |n: u64| (n * n.saturating_sub(1) / 2) as f64;
    let mut cells: HashMap<(&A, &B), u64> = HashMap::new();
    let mut rows: HashMap<&A, u64> = HashMap::new();
    let mut cols: HashMap<&B, u64> = HashMap::new();
    for (a, b) in truth.iter().zip(found) {
        *cells.entry((a, b)).or_default() += 1;
        *rows.entry(a).or_default() += 1;
        *cols.entry(b).or_default() += 1;
    }
    let index: f64 = cells.values().map(|&n| pairs(n)).sum();
    let row_sum: f64 = rows.values().map(|&n| pairs(n)).sum();
    let col_sum: f64 = cols.values().map(|&n| pairs(n)).sum();
    let total = pairs(truth.len() as u64);
    if total == 0.0 {
        return 1.0;
    }
    let expected = row_sum * col_sum / total;
    let max = (row_sum + col_sum) / 2.0;
    if max == expected {
        1.0
    } else {
        (index - expected) / (max - expected)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn the_adjusted_rand_index_is_one_for_the_same_partition_and_near_zero_for_a_crossed_one() {
        assert!((adjusted_rand_index(&[1, 1, 2, 2], &["a", "a", "b", "b"]) - 1.0).abs() < 1e-12);
        let crossed = adjusted_rand_index(&[1, 1, 2, 2], &["a", "b", "a", "b"]);
        assert!(crossed < 0.0, "{crossed}");
    }

    #[test]
    fn a_split_makes_two_themes_holding_every_idea() {
        let texts = [
            "solar panels roofs",
            "solar roofs energy",
            "solar energy panels",
            "bikes lanes trains",
            "trains bikes stations",
            "stations lanes bikes",
            "",
        ];
        let ideas: Vec<Idea> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| Idea {
                id: id(i as u128 + 1),
                text: t,
            })
            .collect();
        let outcome = split(&ideas, &Config::default()).expect("two groups");
        assert_eq!(outcome.themes.len(), 2);
        assert_eq!(
            outcome.themes.iter().map(|t| t.members.len()).sum::<usize>(),
            texts.len()
        );
        assert!(outcome.unassigned.is_empty());
    }

    #[test]
    fn no_ideas_make_no_themes() {
        assert_eq!(cluster(&[], &[], &Config::default()), Outcome::default());
    }
}
