//! Search terms: the one text analysis behind full-text search and similar ideas, on both backends.
//!
//! Neither database stems French the way the other does (SQLite's `porter` is English only;
//! PostgreSQL's `french` config and `unaccent` have no SQLite twin), so the analysis happens here, in
//! Rust, and both databases index its output verbatim (SQLite FTS5 with `unicode61`, PostgreSQL a
//! `'simple'` `tsvector`). A query goes through the same analysis, so both backends match alike.
//!
//! A word is a run of letters and digits (anything else separates words), lower-cased. Each word
//! that is not a common English or French word gives its Snowball stems in both languages (the
//! language of a post is not known), accents folded after stemming: "Running" → `run`; "écoles",
//! "école" and "ecoles" → `ecol`. A stored idea keeps both stems of each of its words; a query word
//! matches an idea holding either of its stems.
//!
//! The stored form (`ideas.search_text`) is three lines: the title's terms, the body's and the
//! tags' words' terms, then one key per tag ([`tag_key`]), so the databases can weigh the title
//! above the body and filter by tag.

use std::collections::{BTreeSet, HashMap};

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Longest word kept, in characters; longer runs (hashes, links) are cut to this.
pub const WORD_MAX: usize = 40;

/// Common words of English and French that say nothing about an idea: neither stored nor searched.
/// Listed accent-folded and lower-cased, as words are compared after folding.
const STOP_WORDS: &[&str] = &[
    // English
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by",
    "can", "could", "do", "does", "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if",
    "in", "into", "is", "it", "its", "just", "may", "me", "more", "most", "my", "no", "not", "of", "on",
    "or", "our", "she", "should", "so", "some", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "those", "to", "too", "up", "us", "very", "was", "we", "were", "what", "when",
    "where", "which", "who", "why", "will", "with", "would", "you", "your", // French
    "afin", "ai", "au", "aux", "avec", "ce", "ces", "cet", "cette", "comme", "dans", "de", "des", "donc",
    "du", "elle", "elles", "en", "est", "et", "etre", "eux", "il", "ils", "je", "la", "le", "les", "leur",
    "leurs", "lui", "ma", "mais", "me", "meme", "mes", "moi", "mon", "ne", "nos", "notre", "nous", "on",
    "ont", "ou", "par", "pas", "plus", "pour", "qu", "que", "qui", "sa", "se", "ses", "si", "son", "sont",
    "sur", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos", "votre", "vous", "y", "l", "d", "c",
    "j", "n", "s", "t",
];

/// The words of `text`: runs of letters and digits, lower-cased, cut to [`WORD_MAX`] characters.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(WORD_MAX).flat_map(char::to_lowercase).collect())
}

/// `text` with accents and other combining marks removed, ligatures spelt out (`œ` → `oe`).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfd() {
        match c {
            c if is_combining_mark(c) => {}
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            'æ' => out.push_str("ae"),
            'Æ' => out.push_str("AE"),
            'ß' => out.push_str("ss"),
            'ø' => out.push('o'),
            'Ø' => out.push('O'),
            'ł' => out.push('l'),
            'Ł' => out.push('L'),
            'đ' => out.push('d'),
            'Đ' => out.push('D'),
            c => out.push(c),
        }
    }
    out
}

/// True for a common English or French word (compared folded).
pub fn is_stop_word(word: &str) -> bool {
    let folded = fold(word);
    STOP_WORDS.contains(&folded.as_str())
}

/// The stems of one lower-cased word: English (of the folded word) and French (of the word with its
/// accents, which the French stemmer reads), each folded; one entry when both agree. Empty for a
/// common word.
pub fn stems(word: &str) -> Vec<String> {
    if is_stop_word(word) {
        return Vec::new();
    }
    let folded = fold(word);
    let en = Stemmer::create(Algorithm::English).stem(&folded).into_owned();
    let fr = fold(&Stemmer::create(Algorithm::French).stem(word));
    let mut out = Vec::with_capacity(2);
    for s in [en, fr] {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Every stem of every word of `text`, in order of appearance, without repeats.
pub fn terms(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for w in words(text) {
        for s in stems(&w) {
            if seen.insert(s.clone()) {
                out.push(s);
            }
        }
    }
    out
}

/// The filter key of a tag: its letters and digits, lower-cased and folded, run together
/// ("Solar energy" and "solar-Energy" → `solarenergy`); `None` when it has no letter or digit.
pub fn tag_key(tag: &str) -> Option<String> {
    let key: String = fold(tag)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .take(WORD_MAX * 2)
        .collect();
    (!key.is_empty()).then_some(key)
}

/// The stored form of an idea's searchable text (`ideas.search_text`): three lines of
/// space-separated terms: the title's, the body's and tags' words', then the tags' keys.
pub fn stored_text(title: &str, body: &str, tags: &[String]) -> String {
    let title_terms = terms(title);
    let mut body_terms = terms(body);
    for t in terms(&tags.join(" ")) {
        if !body_terms.contains(&t) {
            body_terms.push(t);
        }
    }
    let mut keys: Vec<String> = Vec::new();
    for k in tags.iter().filter_map(|t| tag_key(t)) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    format!(
        "{}\n{}\n{}",
        title_terms.join(" "),
        body_terms.join(" "),
        keys.join(" ")
    )
}

/// The three parts of a stored text (see [`stored_text`]); missing lines are empty.
pub struct StoredParts<'a> {
    pub title: Vec<&'a str>,
    pub body: Vec<&'a str>,
    pub tags: Vec<&'a str>,
}

/// Splits a stored text back into its parts.
pub fn parse_stored(stored: &str) -> StoredParts<'_> {
    let mut lines = stored.splitn(3, '\n');
    let mut next = || lines.next().unwrap_or("").split_whitespace().collect::<Vec<_>>();
    StoredParts {
        title: next(),
        body: next(),
        tags: next(),
    }
}

/// A parsed query: one group of stems per searchable word; an idea matches when it holds at least
/// one stem of every group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Words the person typed (common words included), to enforce the query's word limit.
    pub word_count: usize,
    pub groups: Vec<Vec<String>>,
}

/// Parses what someone typed into a search box.
pub fn query(text: &str) -> Query {
    let mut word_count = 0;
    let mut groups: Vec<Vec<String>> = Vec::new();
    for w in words(text) {
        word_count += 1;
        let g = stems(&w);
        if !g.is_empty() && !groups.contains(&g) {
            groups.push(g);
        }
    }
    Query { word_count, groups }
}

/// How alike two ideas' terms are, in [0, 1]: the cosine of their term vectors, where a title term
/// weighs 2 and a body term 1 (a term in both weighs 2). 1 for the same terms, 0 for none shared.
pub fn similarity(a: &StoredParts<'_>, b: &StoredParts<'_>) -> f64 {
    let (wa, wb) = (weights(a), weights(b));
    let dot: f64 = wa.iter().filter_map(|(t, x)| wb.get(t).map(|y| x * y)).sum();
    let denom = norm(&wa) * norm(&wb);
    if denom == 0.0 {
        0.0
    } else {
        (dot / denom).clamp(0.0, 1.0)
    }
}

/// Each term's weight: 2 in the title, 1 in the body only.
fn weights<'a>(p: &StoredParts<'a>) -> HashMap<&'a str, f64> {
    let mut m = HashMap::new();
    for t in &p.body {
        m.insert(*t, 1.0);
    }
    for t in &p.title {
        m.insert(*t, 2.0);
    }
    m
}

fn norm(m: &HashMap<&str, f64>) -> f64 {
    m.values().map(|x| x * x).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True when a stored text of `doc` matches the query `q` (every group shares a stem with it).
    fn finds(q: &str, doc: &str) -> bool {
        let t = terms(doc);
        let q = query(q);
        !q.groups.is_empty() && q.groups.iter().all(|g| g.iter().any(|s| t.contains(s)))
    }

    #[test]
    fn english_inflections_share_a_stem() {
        assert!(finds("runs", "Running"));
        assert!(finds("running", "she runs"));
        assert!(finds("panel", "solar panels"));
        assert!(!finds("runner", "solar panels"));
    }

    #[test]
    fn french_plurals_and_accents_share_a_stem() {
        for w in ["écoles", "École", "ecoles", "écolé"] {
            assert!(finds(w, "ecole"), "{w}");
            assert!(finds("ecole", w), "{w}");
        }
        assert!(finds("énergies", "energie renouvelable"));
        assert!(finds("vélos", "un velo"));
    }

    #[test]
    fn common_words_and_punctuation_are_dropped() {
        assert_eq!(terms("The, and: les; des!"), Vec::<String>::new());
        assert_eq!(query("the solar").groups.len(), 1);
        assert_eq!(query("the solar").word_count, 2);
    }

    #[test]
    fn tag_keys_ignore_case_accents_and_punctuation() {
        assert_eq!(tag_key("Solar energy").as_deref(), Some("solarenergy"));
        assert_eq!(tag_key("solar-Énergy").as_deref(), Some("solarenergy"));
        assert_eq!(tag_key("!!"), None);
    }

    #[test]
    fn the_stored_text_parses_back_into_its_parts() {
        let s = stored_text(
            "Solar roofs",
            "Put panels\non every school",
            &["Green Energy".into()],
        );
        let p = parse_stored(&s);
        assert!(p.title.contains(&"solar"));
        assert!(p.body.contains(&"panel") && p.body.contains(&"green"));
        assert_eq!(p.tags, vec!["greenenergy"]);
        assert_eq!(s.lines().count(), 3);
    }

    #[test]
    fn similarity_is_one_for_the_same_text_and_zero_for_none_shared() {
        let a = stored_text("Solar roofs on schools", "panels", &[]);
        let b = stored_text("Bike lanes", "wider streets", &[]);
        let (pa, pb) = (parse_stored(&a), parse_stored(&b));
        assert!((similarity(&pa, &pa) - 1.0).abs() < 1e-9);
        assert_eq!(similarity(&pa, &pb), 0.0);
        let c = stored_text("Solar panels on school roofs", "", &[]);
        let s = similarity(&pa, &parse_stored(&c));
        assert!(s > 0.5 && s < 1.0, "{s}");
    }
}
