//! Mood: the sentiment of one post (an idea's title and body, or a comment), scored when it is
//! written. Lexicon-based, local and cheap (well under a millisecond per post, `examples/bench_mood.rs`):
//! nothing is downloaded at run time.
//!
//! - **English**: VADER (Hutto & Gilbert, 2014) through the `vader_sentiment` crate (MIT), which
//!   compiles in VADER's own lexicon and rules. The score is VADER's `compound` in [-1, 1]; the
//!   label follows VADER's documented thresholds: positive at ≥ 0.05, negative at ≤ -0.05,
//!   neutral between.
//! - **French**: the French adjective lexicon of Pattern (De Smedt & Daelemans, CLiPS; PDDL), as
//!   shipped in the npm package `natural` 8.2.6 (MIT), compiled in from `lexicon/fr-pattern.tsv`
//!   (see `lexicon/README.md`). The score follows Pattern's method: the mean polarity of the
//!   lexicon's words found in the text, each multiplied by a preceding intensifier's intensity
//!   ("très", "trop", …) and reversed at half strength after a negation ("pas", "jamais", …).
//!   Review text reads positive on average with this lexicon, so Pattern's documented decision
//!   point, polarity ≥ 0.1 for positive, is the neutral point here: the raw mean is re-centred on
//!   0.1 and stretched back to [-1, 1]. A text with no lexicon word is neutral, score 0.
//!
//! The language comes from the caller when it knows it (the jam's locale); otherwise
//! [`Lang::detect`] counts common English and French function words and picks the language with
//! more (English on a tie, which includes text with neither).

use std::collections::HashMap;
use std::sync::LazyLock;

use jam_domain::Sentiment;
use vader_sentiment::SentimentIntensityAnalyzer;

/// The languages the analyser knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    /// The language of a locale tag such as `fr`, `fr-CA` or `en-GB`; `None` for any other.
    pub fn from_locale(locale: &str) -> Option<Self> {
        let primary = locale.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            _ => None,
        }
    }

    /// English or French by counting common function words (English on a tie).
    pub fn detect(text: &str) -> Self {
        let (mut en, mut fr) = (0usize, 0usize);
        for word in words(text) {
            if EN_FUNCTION_WORDS.contains(&word.as_str()) {
                en += 1;
            }
            if FR_FUNCTION_WORDS.contains(&word.as_str()) {
                fr += 1;
            }
        }
        if fr > en { Lang::Fr } else { Lang::En }
    }
}

/// A post's mood: its label and its score in [-1, 1] (negative below, positive above).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mood {
    pub label: Sentiment,
    pub score: f64,
    pub lang: Lang,
}

/// Scores `text` in `lang`, or in the detected language when `lang` is `None`.
pub fn score(text: &str, lang: Option<Lang>) -> Mood {
    let lang = lang.unwrap_or_else(|| Lang::detect(text));
    let (label, score) = match lang {
        Lang::En => english(text),
        Lang::Fr => french(text),
    };
    Mood { label, score, lang }
}

/// Scores an idea: its title and body read as one text.
pub fn score_idea(title: &str, body: &str, lang: Option<Lang>) -> Mood {
    score(&format!("{title}. {body}"), lang)
}

/// VADER's documented neutral band on the compound score.
const EN_NEUTRAL: f64 = 0.05;

static VADER: LazyLock<SentimentIntensityAnalyzer<'static>> = LazyLock::new(SentimentIntensityAnalyzer::new);

fn english(text: &str) -> (Sentiment, f64) {
    let compound = VADER
        .polarity_scores(text)
        .get("compound")
        .copied()
        .unwrap_or(0.0)
        .clamp(-1.0, 1.0);
    let label = if compound >= EN_NEUTRAL {
        Sentiment::Positive
    } else if compound <= -EN_NEUTRAL {
        Sentiment::Negative
    } else {
        Sentiment::Neutral
    };
    (label, compound)
}

/// Pattern's documented decision point for "positive" (`positive(s, threshold=0.1)`).
const FR_CENTRE: f64 = 0.1;
/// A negated word counts reversed at this strength (Pattern's negation).
const FR_NEGATED: f64 = -0.5;
/// Words after which the next lexicon words within this distance are negated.
const FR_NEGATION_REACH: usize = 3;
const FR_NEGATIONS: &[&str] = &[
    "ne",
    "n",
    "pas",
    "jamais",
    "rien",
    "aucun",
    "aucune",
    "ni",
    "sans",
    "guère",
    "nullement",
    "personne",
];

/// One entry of Pattern's French lexicon.
#[derive(Debug, Clone, Copy)]
struct Entry {
    polarity: f64,
    intensity: f64,
}

static FR_LEXICON: LazyLock<HashMap<String, Entry>> =
    LazyLock::new(|| parse_lexicon(include_str!("../lexicon/fr-pattern.tsv")));

fn parse_lexicon(tsv: &str) -> HashMap<String, Entry> {
    tsv.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let form = fields.next()?;
            let polarity = fields.next()?.parse().ok()?;
            let intensity = fields.next()?.parse().ok()?;
            Some((form.to_string(), Entry { polarity, intensity }))
        })
        .collect()
}

fn french(text: &str) -> (Sentiment, f64) {
    let tokens: Vec<String> = words(text).collect();
    let mut sum = 0.0;
    let mut found = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        let Some(entry) = FR_LEXICON.get(token) else {
            continue;
        };
        if entry.polarity == 0.0 {
            continue;
        }
        let mut polarity = entry.polarity;
        if let Some(modifier) = i.checked_sub(1).and_then(|p| FR_LEXICON.get(&tokens[p]))
            && modifier.intensity != 1.0
        {
            polarity *= modifier.intensity;
        }
        let before = &tokens[i.saturating_sub(FR_NEGATION_REACH)..i];
        let after_is_negation = tokens
            .get(i + 1)
            .is_some_and(|next| FR_NEGATIONS.contains(&next.as_str()));
        if after_is_negation || before.iter().any(|w| FR_NEGATIONS.contains(&w.as_str())) {
            polarity *= FR_NEGATED;
        }
        sum += polarity.clamp(-1.0, 1.0);
        found += 1;
    }
    if found == 0 {
        return (Sentiment::Neutral, 0.0);
    }
    let mean = sum / found as f64;
    // Re-centred on Pattern's decision point and stretched back to [-1, 1].
    let score = if mean >= FR_CENTRE {
        (mean - FR_CENTRE) / (1.0 - FR_CENTRE)
    } else {
        (mean - FR_CENTRE) / (1.0 + FR_CENTRE)
    }
    .clamp(-1.0, 1.0);
    let label = if mean >= FR_CENTRE {
        Sentiment::Positive
    } else {
        Sentiment::Negative
    };
    (label, score)
}

/// Lower-cased words: runs of letters and digits (apostrophes and hyphens split words, so
/// "l'émotion" is "l", "émotion").
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

const EN_FUNCTION_WORDS: &[&str] = &[
    "the", "and", "is", "are", "was", "were", "of", "to", "in", "it", "this", "that", "with", "for", "not",
    "we", "you", "they", "have", "has", "be", "but", "or", "on", "at", "an", "would", "should", "could",
    "very", "our", "my", "i", "so", "from", "what", "which",
];

const FR_FUNCTION_WORDS: &[&str] = &[
    "le", "la", "les", "et", "est", "sont", "de", "des", "du", "un", "une", "dans", "pour", "pas", "ne",
    "nous", "vous", "ils", "elle", "ce", "cette", "que", "qui", "avec", "sur", "mais", "ou", "très", "au",
    "aux", "je", "il", "on", "c", "l", "d", "j", "qu", "n", "était", "être", "avoir",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_praise_is_positive_and_complaints_negative() {
        let good = score("This is a great idea, I love it!", Some(Lang::En));
        assert_eq!(good.label, Sentiment::Positive);
        assert!(good.score > 0.5, "{good:?}");
        let bad = score("This is a terrible, useless waste of time.", Some(Lang::En));
        assert_eq!(bad.label, Sentiment::Negative);
        assert!(bad.score < -0.5, "{bad:?}");
    }

    #[test]
    fn english_facts_are_neutral() {
        let mood = score("The meeting room is on the third floor.", Some(Lang::En));
        assert_eq!(mood.label, Sentiment::Neutral);
        assert!(mood.score.abs() < EN_NEUTRAL);
    }

    #[test]
    fn english_negation_turns_the_mood() {
        let mood = score("This is not good at all.", Some(Lang::En));
        assert_eq!(mood.label, Sentiment::Negative, "{mood:?}");
    }

    #[test]
    fn french_praise_is_positive_and_complaints_negative() {
        let good = score("Une idée excellente, vraiment magnifique.", Some(Lang::Fr));
        assert_eq!(good.label, Sentiment::Positive, "{good:?}");
        assert!(good.score > 0.3, "{good:?}");
        let bad = score("C'est nul, mauvais et ennuyeux.", Some(Lang::Fr));
        assert_eq!(bad.label, Sentiment::Negative, "{bad:?}");
        assert!(bad.score < -0.3, "{bad:?}");
    }

    #[test]
    fn french_negation_reverses_a_positive_word() {
        let plain = score("Ce projet est excellent.", Some(Lang::Fr));
        let negated = score("Ce projet n'est pas excellent.", Some(Lang::Fr));
        assert_eq!(plain.label, Sentiment::Positive);
        assert_eq!(negated.label, Sentiment::Negative, "{negated:?}");
    }

    #[test]
    fn french_text_without_lexicon_words_is_neutral() {
        let mood = score("La réunion a lieu au troisième étage.", Some(Lang::Fr));
        assert_eq!(mood.label, Sentiment::Neutral);
        assert_eq!(mood.score, 0.0);
    }

    #[test]
    fn the_language_comes_from_function_words_when_not_given() {
        assert_eq!(
            Lang::detect("Nous pensons que la cantine est trop chère pour les étudiants"),
            Lang::Fr
        );
        assert_eq!(
            Lang::detect("We think that the canteen is too expensive for the students"),
            Lang::En
        );
        assert_eq!(Lang::detect(""), Lang::En);
        assert_eq!(score("C'est une très belle idée", None).lang, Lang::Fr);
    }

    #[test]
    fn locales_map_to_languages() {
        assert_eq!(Lang::from_locale("fr-CA"), Some(Lang::Fr));
        assert_eq!(Lang::from_locale("en"), Some(Lang::En));
        assert_eq!(Lang::from_locale("de"), None);
    }

    #[test]
    fn scores_stay_within_bounds() {
        for text in [
            "GREAT GREAT GREAT!!! love love love :) :) :)",
            "horrible horrible horrible awful worst ever!!!",
            "parfait parfait merveilleux magnifique sublime",
            "horrible affreux nul détestable lamentable",
            "",
        ] {
            for lang in [Lang::En, Lang::Fr] {
                let mood = score(text, Some(lang));
                assert!((-1.0..=1.0).contains(&mood.score), "{text}: {mood:?}");
            }
        }
    }

    #[test]
    fn the_french_lexicon_is_compiled_in() {
        assert!(FR_LEXICON.len() > 4000, "{}", FR_LEXICON.len());
        assert!(FR_LEXICON.get("excellent").is_some_and(|e| e.polarity > 0.0));
    }
}
