//! TF-IDF vectors of a set of posts, sparse, in one compressed-row block.
//!
//! - The vocabulary is the terms that appear in at least `min_df` posts and, with ten posts or
//!   more, in at most `max_df_share` of them (a word in most posts tells them apart no better than
//!   a stop word). Term ids follow the terms' sorted order, so the same posts give the same ids
//!   whatever order they were read in.
//! - A term's weight in a post is `(1 + ln tf) · idf`, `idf = ln((1 + n) / (1 + df)) + 1`, and each
//!   post's vector has unit length (so a dot product is a cosine). A post with no vocabulary term
//!   has an empty vector.

use std::collections::HashMap;

use super::text::Tokenizer;

/// Sparse unit vectors, one row per post (compressed sparse rows).
#[derive(Debug, Clone, Default)]
pub struct Vectors {
    /// Row `i` is `terms[offsets[i]..offsets[i + 1]]`, sorted by term id.
    pub offsets: Vec<usize>,
    pub terms: Vec<u32>,
    pub weights: Vec<f32>,
    /// Vocabulary size.
    pub dims: usize,
    /// Per term id: the folded stem.
    #[cfg_attr(not(test), allow(dead_code))]
    pub vocabulary: Vec<String>,
    /// Per term id: its most frequent surface form (ties: the first in sorted order).
    pub surfaces: Vec<String>,
    /// Per term id: its mean weight over all posts (what a label's terms must stand out from).
    pub mean: Vec<f32>,
}

impl Vectors {
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let range = self.offsets[i]..self.offsets[i + 1];
        (&self.terms[range.clone()], &self.weights[range])
    }
}

/// Vocabulary limits.
#[derive(Debug, Clone, Copy)]
pub struct VocabularyLimits {
    pub min_df: usize,
    pub max_df_share: f32,
}

pub fn build<'a>(
    texts: impl Iterator<Item = &'a str>,
    tokenizer: &Tokenizer,
    limits: VocabularyLimits,
) -> Vectors {
    // First pass: each post's term counts under provisional ids, document frequencies, surfaces.
    let mut provisional: HashMap<String, u32> = HashMap::new();
    let mut df: Vec<u32> = Vec::new();
    let mut surfaces: Vec<Vec<(String, u32)>> = Vec::new();
    let mut posts: Vec<Vec<(u32, u32)>> = Vec::new();
    for text in texts {
        let mut counts: Vec<(u32, u32)> = Vec::new();
        for token in tokenizer.tokens(text) {
            let next = provisional.len() as u32;
            let id = *provisional.entry(token.term).or_insert(next);
            if id == next {
                df.push(0);
                surfaces.push(Vec::new());
            }
            let forms = &mut surfaces[id as usize];
            match forms.iter_mut().find(|(form, _)| *form == token.surface) {
                Some((_, count)) => *count += 1,
                None => forms.push((token.surface, 1)),
            }
            counts.push((id, 1));
        }
        counts.sort_unstable();
        counts.dedup_by(|next, kept| {
            if next.0 == kept.0 {
                kept.1 += next.1;
                true
            } else {
                false
            }
        });
        for &(id, _) in &counts {
            df[id as usize] += 1;
        }
        posts.push(counts);
    }

    // The vocabulary, in sorted order.
    let n = posts.len();
    let max_df = if n >= 10 {
        ((limits.max_df_share * n as f32).floor() as usize).max(limits.min_df)
    } else {
        n
    };
    let mut kept: Vec<(String, u32)> = provisional
        .into_iter()
        .filter(|(_, id)| {
            let d = df[*id as usize] as usize;
            d >= limits.min_df && d <= max_df
        })
        .collect();
    kept.sort_unstable();
    let mut final_id = vec![u32::MAX; df.len()];
    let mut vocabulary = Vec::with_capacity(kept.len());
    let mut surface_of = Vec::with_capacity(kept.len());
    let mut idf = Vec::with_capacity(kept.len());
    for (new_id, (term, old_id)) in kept.into_iter().enumerate() {
        final_id[old_id as usize] = new_id as u32;
        let mut forms = std::mem::take(&mut surfaces[old_id as usize]);
        forms.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        surface_of.push(
            forms
                .into_iter()
                .next()
                .map(|(form, _)| form)
                .unwrap_or_else(|| term.clone()),
        );
        idf.push((((1 + n) as f32) / ((1 + df[old_id as usize]) as f32)).ln() + 1.0);
        vocabulary.push(term);
    }

    // Second pass: weights.
    let dims = vocabulary.len();
    let mut vectors = Vectors {
        offsets: Vec::with_capacity(n + 1),
        dims,
        vocabulary,
        surfaces: surface_of,
        mean: vec![0.0; dims],
        ..Vectors::default()
    };
    vectors.offsets.push(0);
    let mut row: Vec<(u32, f32)> = Vec::new();
    for counts in posts {
        row.clear();
        row.extend(counts.into_iter().filter_map(|(old, tf)| {
            let id = final_id[old as usize];
            (id != u32::MAX).then(|| (id, (1.0 + (tf as f32).ln()) * idf[id as usize]))
        }));
        row.sort_unstable_by_key(|(id, _)| *id);
        let norm = row.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        for &(id, w) in &row {
            let w = w / norm;
            vectors.terms.push(id);
            vectors.weights.push(w);
            vectors.mean[id as usize] += w;
        }
        vectors.offsets.push(vectors.terms.len());
    }
    if n > 0 {
        for m in &mut vectors.mean {
            *m /= n as f32;
        }
    }
    vectors
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: VocabularyLimits = VocabularyLimits {
        min_df: 2,
        max_df_share: 0.5,
    };

    #[test]
    fn rows_are_unit_vectors_over_the_shared_vocabulary() {
        let texts = [
            "solar panels on roofs",
            "solar roofs everywhere",
            "bikes for everyone",
            "bikes and trains",
        ];
        let vectors = build(texts.iter().copied(), &Tokenizer::new(), LIMITS);
        assert_eq!(vectors.vocabulary, vec!["bike", "roof", "solar"]);
        for i in 0..vectors.len() {
            let (_, weights) = vectors.row(i);
            let norm: f32 = weights.iter().map(|w| w * w).sum();
            assert!((norm - 1.0).abs() < 1e-5, "row {i} has norm {norm}");
        }
        assert_eq!(vectors.surfaces[1], "roofs");
    }

    #[test]
    fn the_order_of_posts_does_not_change_term_ids() {
        let a = ["wind power", "power lines", "wind farms"];
        let b = ["wind farms", "power lines", "wind power"];
        let va = build(a.iter().copied(), &Tokenizer::new(), LIMITS);
        let vb = build(b.iter().copied(), &Tokenizer::new(), LIMITS);
        assert_eq!(va.vocabulary, vb.vocabulary);
    }
}
