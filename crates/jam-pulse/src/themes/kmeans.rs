//! Spherical k-means on the sparse unit vectors of `tfidf`: each cluster's centroid is the
//! normalised sum of its members, a post goes to the centroid of highest cosine. Deterministic:
//! seeds come from a fixed-seed generator (k-means++ sampling), sums run in post order, ties go to
//! the lowest cluster index, and the assignment step, which is split across threads, writes each
//! post's result independently of the others.

use super::tfidf::Vectors;

/// Candidates drawn per k-means++ seed (the best is kept).
const CANDIDATES: usize = 3;

/// A post with no cluster (no vocabulary term, or too far from every centroid).
pub const NONE: u32 = u32::MAX;

/// The splitmix64 generator: tiny, seedable and the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `k` centroids over `dims` terms, stored term-major (`data[t * k + c]`), so scoring one post
/// against every centroid reads one contiguous run of `k` floats per term of the post.
#[derive(Debug, Clone)]
pub struct Centroids {
    pub k: usize,
    pub dims: usize,
    pub data: Vec<f32>,
}

impl Centroids {
    pub fn empty(k: usize, dims: usize) -> Self {
        Self {
            k,
            dims,
            data: vec![0.0; k * dims],
        }
    }

    /// The normalised sums of each cluster's members, and each cluster's size. Clusters with no
    /// member get a zero centroid (nothing is ever nearest to it).
    pub fn from_assignment(vectors: &Vectors, assignment: &[u32], k: usize) -> (Self, Vec<usize>) {
        let mut centroids = Self::empty(k, vectors.dims);
        let mut sizes = vec![0usize; k];
        for (i, &cluster) in assignment.iter().enumerate() {
            if cluster == NONE {
                continue;
            }
            let c = cluster as usize;
            sizes[c] += 1;
            let (terms, weights) = vectors.row(i);
            for (&t, &w) in terms.iter().zip(weights) {
                centroids.data[t as usize * k + c] += w;
            }
        }
        centroids.normalise();
        (centroids, sizes)
    }

    fn normalise(&mut self) {
        let k = self.k;
        let mut norms = vec![0.0f32; k];
        for row in self.data.chunks_exact(k.max(1)) {
            for (n, &v) in norms.iter_mut().zip(row) {
                *n += v * v;
            }
        }
        let inverse: Vec<f32> = norms
            .iter()
            .map(|n| if *n > 0.0 { 1.0 / n.sqrt() } else { 0.0 })
            .collect();
        for row in self.data.chunks_exact_mut(k.max(1)) {
            for (v, inv) in row.iter_mut().zip(&inverse) {
                *v *= inv;
            }
        }
    }

    /// Sets centroid `c` to a post's vector.
    pub fn set_to_row(&mut self, c: usize, vectors: &Vectors, i: usize) {
        for t in 0..self.dims {
            self.data[t * self.k + c] = 0.0;
        }
        let (terms, weights) = vectors.row(i);
        for (&t, &w) in terms.iter().zip(weights) {
            self.data[t as usize * self.k + c] = w;
        }
    }

    /// The nearest centroid to a post and its cosine; `None` for an empty post or when every
    /// centroid is orthogonal to it. `scores` is scratch space.
    pub fn nearest(&self, terms: &[u32], weights: &[f32], scores: &mut Vec<f32>) -> Option<(u32, f32)> {
        if terms.is_empty() || self.k == 0 {
            return None;
        }
        scores.clear();
        scores.resize(self.k, 0.0);
        for (&t, &w) in terms.iter().zip(weights) {
            let row = &self.data[t as usize * self.k..(t as usize + 1) * self.k];
            for (s, &v) in scores.iter_mut().zip(row) {
                *s += w * v;
            }
        }
        let mut best: Option<(u32, f32)> = None;
        for (c, &s) in scores.iter().enumerate() {
            if s > 0.0 && best.is_none_or(|(_, b)| s > b) {
                best = Some((c as u32, s));
            }
        }
        best
    }
}

/// Every post's nearest centroid and cosine (`NONE`, 0 when it has none), computed on up to
/// `threads` threads; the result does not depend on the thread count.
pub fn assign_all(vectors: &Vectors, centroids: &Centroids, threads: usize) -> Vec<(u32, f32)> {
    let n = vectors.len();
    let mut out = vec![(NONE, 0.0f32); n];
    let threads = threads.clamp(1, 16);
    let chunk = n.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (part, slice) in out.chunks_mut(chunk).enumerate() {
            scope.spawn(move || {
                let mut scores = Vec::new();
                for (j, slot) in slice.iter_mut().enumerate() {
                    let (terms, weights) = vectors.row(part * chunk + j);
                    if let Some(best) = centroids.nearest(terms, weights, &mut scores) {
                        *slot = best;
                    }
                }
            });
        }
    });
    out
}

/// Adds `extra` seeds to `centroids` (whose first `fixed` columns are already set) by k-means++
/// sampling over the non-empty posts: each next seed is the best of `CANDIDATES` posts drawn with
/// probability proportional to the square of their cosine distance to the nearest seed so far. Returns the new centroids
/// (`fixed + extra` columns, fewer if the posts run out).
pub fn seed(vectors: &Vectors, fixed: &Centroids, extra: usize, rng: &mut Rng, threads: usize) -> Centroids {
    let n = vectors.len();
    let k = fixed.k + extra;
    let mut centroids = Centroids::empty(k, vectors.dims);
    for t in 0..vectors.dims {
        for c in 0..fixed.k {
            centroids.data[t * k + c] = fixed.data[t * fixed.k + c];
        }
    }
    let mut best: Vec<f32> = if fixed.k > 0 {
        assign_all(vectors, fixed, threads)
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    } else {
        vec![0.0; n]
    };
    let nonempty: Vec<usize> = (0..n)
        .filter(|&i| vectors.offsets[i + 1] > vectors.offsets[i])
        .collect();
    let weight = |s: f32| f64::from((1.0 - s).max(0.0)).powi(2);
    let mut dense = vec![0.0f32; vectors.dims];
    let mut placed = fixed.k;
    while placed < k {
        let total: f64 = nonempty.iter().map(|&i| weight(best[i])).sum();
        if total <= 1e-12 {
            break;
        }
        // Greedy k-means++: draw a few candidates, keep the one that lowers the total potential most.
        let mut chosen: Option<(f64, usize, Vec<f32>)> = None;
        for _ in 0..CANDIDATES {
            let mut target = rng.next_f64() * total;
            let mut candidate = *nonempty.last().unwrap_or(&0);
            for &i in &nonempty {
                target -= weight(best[i]);
                if target <= 0.0 {
                    candidate = i;
                    break;
                }
            }
            let (terms, weights) = vectors.row(candidate);
            for (&t, &w) in terms.iter().zip(weights) {
                dense[t as usize] = w;
            }
            let mut potential = 0.0f64;
            let updated: Vec<f32> = nonempty
                .iter()
                .map(|&i| {
                    let (ts, ws) = vectors.row(i);
                    let s: f32 = ts.iter().zip(ws).map(|(&t, &w)| w * dense[t as usize]).sum();
                    let b = best[i].max(s);
                    potential += weight(b);
                    b
                })
                .collect();
            for &t in terms {
                dense[t as usize] = 0.0;
            }
            if chosen.as_ref().is_none_or(|(p, _, _)| potential < *p) {
                chosen = Some((potential, candidate, updated));
            }
        }
        let Some((_, candidate, updated)) = chosen else {
            break;
        };
        centroids.set_to_row(placed, vectors, candidate);
        placed += 1;
        for (&i, b) in nonempty.iter().zip(updated) {
            best[i] = b;
        }
    }
    if placed < k {
        centroids = shrink(&centroids, placed);
    }
    centroids
}

/// The first `k` columns of `centroids`.
fn shrink(centroids: &Centroids, k: usize) -> Centroids {
    let mut out = Centroids::empty(k, centroids.dims);
    for t in 0..centroids.dims {
        for c in 0..k {
            out.data[t * k + c] = centroids.data[t * centroids.k + c];
        }
    }
    out
}

/// Lloyd iterations from `centroids` until fewer than one post in a thousand moves or
/// `max_iterations` ran. Returns each post's cluster (`NONE` for empty posts).
pub fn iterate(
    vectors: &Vectors,
    mut centroids: Centroids,
    max_iterations: usize,
    threads: usize,
) -> Vec<u32> {
    let n = vectors.len();
    let mut assignment = vec![NONE; n];
    for _ in 0..max_iterations.max(1) {
        let next = assign_all(vectors, &centroids, threads);
        let moved = next
            .iter()
            .zip(&assignment)
            .filter(|((c, _), old)| c != *old)
            .count();
        for (slot, (c, _)) in assignment.iter_mut().zip(next) {
            *slot = c;
        }
        if moved * 1000 <= n {
            break;
        }
        centroids = Centroids::from_assignment(vectors, &assignment, centroids.k).0;
    }
    assignment
}

/// What merging compares: the Gram matrix of the clusters' unnormalised member sums
/// (`g[a * k + b] = S_a · S_b`), each sum's dot product with the corpus mean vector `m`, `m · m`,
/// and the sizes. All of it adds up under a union of clusters, so the centred cosine of any two
/// (unions of) clusters follows without going back to the posts.
pub struct Gram {
    pub k: usize,
    pub g: Vec<f64>,
    pub sm: Vec<f64>,
    pub mm: f64,
    pub n: Vec<f64>,
}

impl Gram {
    pub fn new(vectors: &Vectors, assignment: &[u32], k: usize) -> Self {
        let mut sums = vec![0.0f32; k * vectors.dims];
        let mut n = vec![0.0f64; k];
        for (i, &cluster) in assignment.iter().enumerate() {
            if cluster == NONE {
                continue;
            }
            n[cluster as usize] += 1.0;
            let (terms, weights) = vectors.row(i);
            for (&t, &w) in terms.iter().zip(weights) {
                sums[t as usize * k + cluster as usize] += w;
            }
        }
        let mut g = vec![0.0f64; k * k];
        let mut sm = vec![0.0f64; k];
        let mut nonzero: Vec<(usize, f64)> = Vec::with_capacity(k);
        for (t, row) in sums.chunks_exact(k.max(1)).enumerate() {
            nonzero.clear();
            nonzero.extend(
                row.iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(c, v)| (c, f64::from(*v))),
            );
            let m = f64::from(vectors.mean[t]);
            for &(a, va) in &nonzero {
                sm[a] += va * m;
                for &(b, vb) in &nonzero {
                    g[a * k + b] += va * vb;
                }
            }
        }
        let mm = vectors.mean.iter().map(|m| f64::from(*m) * f64::from(*m)).sum();
        Self { k, g, sm, mm, n }
    }

    /// `(c_a - m) · (c_b - m)` with `c` the mean of a cluster's posts.
    fn centred_dot(&self, a: usize, b: usize) -> f64 {
        let (na, nb) = (self.n[a], self.n[b]);
        if na == 0.0 || nb == 0.0 {
            return 0.0;
        }
        self.g[a * self.k + b] / (na * nb) - self.sm[a] / na - self.sm[b] / nb + self.mm
    }

    /// The cosine of two clusters' centroids once the corpus mean is taken out of both, so words
    /// every topic uses do not make topics look alike.
    pub fn cosine(&self, a: usize, b: usize) -> f64 {
        let d = (self.centred_dot(a, a) * self.centred_dot(b, b)).sqrt();
        if d > 0.0 { self.centred_dot(a, b) / d } else { 0.0 }
    }

    /// Cluster `b` joins cluster `a`.
    pub fn absorb(&mut self, a: usize, b: usize) {
        let k = self.k;
        let gab = self.g[a * k + b];
        let gbb = self.g[b * k + b];
        for c in 0..k {
            self.g[a * k + c] += self.g[b * k + c];
        }
        for c in 0..k {
            self.g[c * k + a] = self.g[a * k + c];
        }
        // S_a·S_a + 2 S_a·S_b + S_b·S_b: the first loop added only S_b·S_a to it.
        self.g[a * k + a] += gab + gbb;
        self.sm[a] += self.sm[b];
        self.n[a] += self.n[b];
        self.n[b] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::Tokenizer;
    use super::super::tfidf::{VocabularyLimits, build};
    use super::*;

    #[test]
    fn two_obvious_groups_are_found() {
        let texts = [
            "solar panels roofs",
            "solar roofs energy",
            "solar energy panels",
            "bikes lanes trains",
            "trains bikes stations",
            "stations lanes bikes",
        ];
        let vectors = build(
            texts.iter().copied(),
            &Tokenizer::new(),
            VocabularyLimits {
                min_df: 2,
                max_df_share: 1.0,
            },
        );
        let seeds = seed(
            &vectors,
            &Centroids::empty(0, vectors.dims),
            2,
            &mut Rng::new(7),
            2,
        );
        let assignment = iterate(&vectors, seeds, 20, 2);
        assert_eq!(assignment.len(), 6, "{:?}", vectors.vocabulary);
        assert_eq!(
            assignment[0], assignment[1],
            "{assignment:?} {:?}",
            vectors.vocabulary
        );
        assert_eq!(assignment[1], assignment[2]);
        assert_eq!(assignment[3], assignment[4]);
        assert_eq!(assignment[4], assignment[5]);
        assert_ne!(assignment[0], assignment[3]);
    }

    #[test]
    fn the_thread_count_does_not_change_the_assignment() {
        let texts: Vec<String> = (0..50)
            .map(|i| format!("word{} common{} other{}", i % 7, i % 3, i % 5))
            .collect();
        let vectors = build(
            texts.iter().map(String::as_str),
            &Tokenizer::new(),
            VocabularyLimits {
                min_df: 2,
                max_df_share: 1.0,
            },
        );
        let seeds = seed(
            &vectors,
            &Centroids::empty(0, vectors.dims),
            4,
            &mut Rng::new(1),
            1,
        );
        assert_eq!(assign_all(&vectors, &seeds, 1), assign_all(&vectors, &seeds, 3));
    }
}
