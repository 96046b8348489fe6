//! Words to terms: lowercase, split on anything that is not a letter or a digit, drop English and
//! French stop words (lists in `src/stopwords/`, compared with accents folded), guess the post's
//! language from its stop words, stem with that language's Snowball stemmer (`rust-stemmers`), then
//! fold the stem's accents. A post's term keeps the lowercased word it came from (its surface form)
//! so labels can show words, not stems.

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};

/// A post's language, guessed from which list its stop words come from (English on a tie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

/// One kept word of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The folded stem: what the vectors count.
    pub term: String,
    /// The lowercased word as written (accents kept): what labels show.
    pub surface: String,
}

/// Words shorter than this (in characters) carry no theme.
const MIN_WORD_CHARS: usize = 3;

pub struct Tokenizer {
    english: Stemmer,
    french: Stemmer,
    stop_en: HashSet<&'static str>,
    stop_fr: HashSet<&'static str>,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self::new()
    }
}

fn word_list(text: &'static str) -> HashSet<&'static str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

impl Tokenizer {
    pub fn new() -> Self {
        Self {
            english: Stemmer::create(Algorithm::English),
            french: Stemmer::create(Algorithm::French),
            stop_en: word_list(include_str!("../stopwords/en.txt")),
            stop_fr: word_list(include_str!("../stopwords/fr.txt")),
        }
    }

    fn is_stop(&self, folded: &str) -> bool {
        self.stop_en.contains(folded) || self.stop_fr.contains(folded)
    }

    /// The language whose stop words the words use more (English on a tie).
    pub fn language<'a>(&self, folded_words: impl Iterator<Item = &'a str>) -> Lang {
        let (mut en, mut fr) = (0usize, 0usize);
        for word in folded_words {
            en += usize::from(self.stop_en.contains(word));
            fr += usize::from(self.stop_fr.contains(word));
        }
        if fr > en { Lang::Fr } else { Lang::En }
    }

    /// The terms of a post, in order.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let words: Vec<(String, String)> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(|word| {
                let lower = word.to_lowercase();
                let folded = fold(&lower);
                (lower, folded)
            })
            .collect();
        let stemmer = match self.language(words.iter().map(|(_, folded)| folded.as_str())) {
            Lang::En => &self.english,
            Lang::Fr => &self.french,
        };
        words
            .into_iter()
            .filter(|(_, folded)| {
                folded.chars().count() >= MIN_WORD_CHARS
                    && !folded.chars().all(|c| c.is_ascii_digit())
                    && !self.is_stop(folded)
            })
            .map(|(surface, _)| {
                let term = fold(&stemmer.stem(&surface));
                Token { term, surface }
            })
            .collect()
    }
}

/// Lowercase text with the accents of Latin letters removed (`é` → `e`, `œ` → `oe`), so `énergie`
/// and `energie` are one word.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        Tokenizer::new()
            .tokens(text)
            .into_iter()
            .map(|t| t.term)
            .collect()
    }

    #[test]
    fn accents_are_folded_after_stemming() {
        assert_eq!(fold("énergie œuvre"), "energie oeuvre");
        assert_eq!(
            terms("les énergies renouvelables"),
            terms("les energies renouvelables")
        );
    }

    #[test]
    fn stop_words_of_both_languages_are_dropped() {
        assert_eq!(terms("We should have the bikes"), vec!["bike"]);
        assert_eq!(terms("Il faudrait que nous ayons des véhicules"), vec!["vehicul"]);
    }

    #[test]
    fn the_language_picks_the_stemmer() {
        // English Snowball: "trains" → "train"; French: "formations" → "format".
        assert_eq!(terms("the trains of the city"), vec!["train", "citi"]);
        assert_eq!(terms("les formations de la ville"), vec!["format", "vill"]);
    }

    #[test]
    fn surfaces_keep_the_written_word() {
        let tokens = Tokenizer::new().tokens("L'Énergie solaire");
        assert_eq!(tokens[0].surface, "énergie");
        assert_eq!(tokens[0].term, "energ");
    }
}
