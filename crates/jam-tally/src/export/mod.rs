//! The downloads: `results.csv`, `results.xlsx` and `results.json`. Each writer takes an
//! [`ExportHeader`] (the jam, method, digest, curation and audience column order) and an iterator of rows
//! in rank order, and writes row by row, so memory does not grow with the number of ideas (the XLSX
//! writer keeps its two big sheets in temporary files; only the shortlist rows are held).
//!
//! Text cells are exact everywhere except in the CSV, which guards against formula injection (see
//! [`guard_formula`]). Scores are exact in JSON and XLSX (which shows them with [`format_score`]'s
//! decimals) and written with [`format_score`] in the CSV.

mod to_csv;
mod to_json;
mod to_xlsx;

use std::borrow::Cow;
use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, Utc};
use jam_domain::ranking::{BayesianPrior, Method};
use serde::Serialize;
use uuid::Uuid;

use crate::compute::{RankedIdea, Ranking, Results, ShortlistState};
use crate::digest::Digest;
use crate::model::{Curation, Params};

pub use to_csv::{csv_columns, write_csv};
pub use to_json::write_json;
pub use to_xlsx::write_xlsx;

/// The row type the exports stream: one ranked visible idea.
pub type ExportRow = RankedIdea;

/// What every export says about the tally as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportHeader {
    pub jam_id: Uuid,
    pub jam_title: String,
    pub state: ShortlistState,
    pub params: Params,
    /// The prior the Bayesian method used, if that is the method.
    pub prior: Option<BayesianPrior>,
    pub computed_at: DateTime<Utc>,
    pub digest: Digest,
    /// Audience names in the order of their columns (the jam's order); counts of audiences not listed
    /// here are left out of the per-audience columns.
    pub audiences: Vec<String>,
    pub curation: Curation,
    /// Spearman's ρ between rank and posting time for each method (the fairness report).
    pub fairness: Vec<crate::compute::MethodFairness>,
    /// The jam's mood per hour (UTC), for the XLSX's "Mood" sheet (left out when empty, and from the
    /// CSV and JSON).
    #[serde(skip)]
    pub mood_hourly: Vec<MoodHour>,
}

/// Posts (ideas and comments) per sentiment label in one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoodHour {
    pub start: DateTime<Utc>,
    pub negative: u32,
    pub neutral: u32,
    pub positive: u32,
}

/// What an [`ExportHeader`] takes from a tally, whole ([`Results`]) or streamed ([`Ranking`]).
#[derive(Debug, Clone, Copy)]
pub struct Basis<'a> {
    params: Params,
    prior: Option<BayesianPrior>,
    computed_at: DateTime<Utc>,
    curation: &'a Curation,
    fairness: &'a [crate::compute::MethodFairness],
}

impl<'a> From<&'a Results> for Basis<'a> {
    fn from(results: &'a Results) -> Self {
        Self {
            params: results.params,
            prior: results.prior,
            computed_at: results.computed_at,
            curation: &results.curation,
            fairness: &results.fairness,
        }
    }
}

impl<'a> From<&'a Ranking> for Basis<'a> {
    fn from(ranking: &'a Ranking) -> Self {
        Self {
            params: ranking.params,
            prior: ranking.prior,
            computed_at: ranking.computed_at,
            curation: &ranking.curation,
            fairness: &ranking.fairness,
        }
    }
}

impl ExportHeader {
    /// The header for a tally (`&Results` or `&Ranking`), with the jam's identity, the shortlist state, its
    /// digest and the audience column order (for example the jam's audiences in their configured order,
    /// or [`Results::audiences`]).
    pub fn new<'a>(
        tally: impl Into<Basis<'a>>,
        jam_id: Uuid,
        jam_title: impl Into<String>,
        state: ShortlistState,
        digest: Digest,
        audiences: Vec<String>,
    ) -> Self {
        let basis = tally.into();
        Self {
            jam_id,
            jam_title: jam_title.into(),
            state,
            params: basis.params,
            prior: basis.prior,
            computed_at: basis.computed_at,
            digest,
            audiences,
            curation: basis.curation.clone(),
            fairness: basis.fairness.to_vec(),
            mood_hourly: Vec::new(),
        }
    }
}

/// Options of the XLSX writer.
#[derive(Debug, Clone, Default)]
pub struct XlsxOptions {
    /// Where the big sheets are buffered while writing; the system temporary directory when `None`.
    /// Point it at a disk, not a RAM-backed `/tmp`, for the memory to stay flat.
    pub tempdir: Option<PathBuf>,
}

/// Protects spreadsheet users from formula injection (OWASP "CSV injection"): a text cell that starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`, so a spreadsheet program shows it
/// as text instead of evaluating it. Applied to every user-supplied text cell of the CSV (titles, session
/// names, authors, reasons, audience names in the column headers), never to numbers, ids or times; the JSON
/// and the XLSX (whose text cells are typed as strings and never evaluated) keep the exact text.
pub fn guard_formula(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

/// Decimals shown for a score: whole numbers under the net method, 6 decimals for the shares of the
/// Wilson and Bayesian methods.
pub(crate) fn score_decimals(method: Method) -> usize {
    match method {
        Method::Net => 0,
        Method::Wilson | Method::Bayesian | Method::Exposure => 6,
    }
}

/// A score as the CSV writes it and the XLSX shows it: whole numbers under the net method, 6 decimals for
/// the shares of the Wilson and Bayesian methods (Rust's correctly rounded `{:.N}` formatting).
pub fn format_score(method: Method, score: f64) -> String {
    format!("{score:.prec$}", prec = score_decimals(method))
}

/// Times in the exports: RFC 3339 in UTC with a `Z`, fractional seconds only when present.
pub(crate) fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The method in plain words, one paragraph per entry, for the XLSX "Method" sheet and the JSON.
pub(crate) fn method_explanation(method: Method) -> [&'static str; 3] {
    let score = match method {
        Method::Wilson => {
            "Score: the lower bound of the 95% Wilson score interval for the share of +1 among an idea's \
             votes. It is the share of support we can be 95% sure of given how many people voted, so an idea \
             with a few lucky votes does not outrank a well-supported one: a single +1 scores 0.21, while 60 \
             +1 and 40 -1 score 0.50."
        }
        Method::Net => "Score: the number of +1 votes minus the number of -1 votes.",
        Method::Bayesian => {
            "Score: the share of +1 among an idea's votes, pulled toward the whole jam's share of +1 (the \
             prior mean) by as many imagined votes as an idea receives on average (the prior weight): \
             (weight x mean + up) / (weight + up + down). An idea with few votes stays near the jam's \
             average until it has about as many votes as a typical idea."
        }
        Method::Exposure => {
            "Score: the lower bound of the 95% Wilson score interval for the share of +1 among the \
             participants who saw the idea (at least half of it on screen for a second, or who voted on \
             it): everyone who saw it and did not vote +1 counts as a no. An idea posted late and liked by \
             most of the few who saw it can outrank one posted early and seen by many, which a tally of \
             votes alone rewards for being early."
        }
    };
    [
        score,
        "Order: highest score first; equal scores rank the idea with more distinct voters first, then the \
         one posted earlier, then the smaller idea id. Only visible ideas rank: hidden, removed and merged \
         ideas do not (a merged idea's votes count for the idea it was merged into, once per voter).",
        "Shortlist: facilitators may exclude ideas (with a reason, listed here) or pin them. The shortlist is \
         every pinned idea plus the best-ranked remaining ideas until it holds N, shown in rank order; excluded \
         ideas stay in the full list. The digest is the SHA-256 of the method, N, every vote sorted by idea \
         and participant, and the curation decisions (format openjam-tally-digest v2), so anyone with the \
         votes can recompute it.",
    ]
}

/// Shortlisted rows seen while streaming, put in shortlist order at the end.
#[derive(Default)]
pub(crate) struct ShortlistCollector {
    rows: Vec<RankedIdea>,
}

impl ShortlistCollector {
    pub(crate) fn offer(&mut self, row: &RankedIdea) {
        if row.shortlist_position.is_some() {
            self.rows.push(row.clone());
        }
    }

    pub(crate) fn into_sorted(mut self) -> Vec<RankedIdea> {
        self.rows.sort_by_key(|row| row.shortlist_position);
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_evaluate_get_a_leading_quote() {
        for text in ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(guard_formula(text), format!("'{text}"));
        }
        for text in [
            "",
            "plain",
            "'quoted",
            " =x",
            "<img src=x onerror=alert(1)>",
            "Überlegung",
        ] {
            assert_eq!(guard_formula(text), text);
        }
    }

    #[test]
    fn scores_have_fixed_decimals_per_method() {
        assert_eq!(format_score(Method::Wilson, 0.206_549_314_377_237_4), "0.206549");
        assert_eq!(format_score(Method::Bayesian, 0.5), "0.500000");
        assert_eq!(format_score(Method::Net, -3.0), "-3");
        assert_eq!(format_score(Method::Wilson, 0.0), "0.000000");
    }
}
