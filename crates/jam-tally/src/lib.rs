//! OpenJam's tally: from the facts about a jam's ideas to a ranked, curated, auditable shortlist and the
//! files executives download (DESIGN.md §5, issue 5). The core is pure (no database, no clock, no
//! async): it takes the facts and the sorted vote set as plain values. `load` is the one async module:
//! it reads those values from the database (through `jam-store`) for every caller alike.
//!
//! Layout:
//! - `model`: the inputs: [`IdeaFacts`] per idea, the facilitators' [`Curation`], the ranking [`Params`].
//! - `compute`: [`rank_ideas`] ranks every visible idea into fixed-size [`Slot`]s and picks the shortlist
//!   (the pin and exclusion rules are documented there); [`compute`] does the same over whole
//!   [`IdeaFacts`] into [`Results`]; the API's [`Shortlist`] object.
//! - `digest`: [`DigestBuilder`], the SHA-256 over the canonical sorted vote set (one [`Leaf`] per idea)
//!   and the curation, with its byte format written out so anyone can recompute it.
//! - `export`: streaming writers for `results.csv` ([`write_csv`]), `results.xlsx` ([`write_xlsx`]) and
//!   `results.json` ([`write_json`]), all fed by an iterator of rows.
//! - `load`: [`count`] reads a jam's ranking inputs, curation and digest from the database (stored
//!   counters and cached leaves, or every vote row), [`rows`] the texts of chosen ideas; snapshots of a
//!   published shortlist ([`snapshot_row`], [`read_snapshot`]) and [`verify`].
//! - `ticker`: the live tallies: every tick, the holder of a broker lease publishes the counts that
//!   changed (read from `jam_store::tally_dirty`) as one `TallyMessage` per session.
//! - `error`: [`TallyError`].

mod compute;
mod digest;
mod error;
mod export;
mod load;
mod model;
pub mod ticker;

pub use compute::{
    IdeaDetails, IdeaRef, MethodFairness, REPORTED_METHODS, RankInput, RankedIdea, Ranking, Results,
    Shortlist, ShortlistIdea, ShortlistItem, ShortlistState, Slot, compute, fairness_report, rank_ideas,
};
pub use digest::{DIGEST_VERSION, Digest, DigestBuilder, Leaf, LeafBuilder, Vote, digest_of};
pub use error::TallyError;
pub use export::{
    Basis, ExportHeader, ExportRow, MoodHour, XlsxOptions, csv_columns, format_score, guard_formula,
    write_csv, write_json, write_xlsx,
};
pub use jam_domain::ItemStatus;
pub use load::{
    Counted, Format, LoadError, Published, Ranked, SnapshotParams, Source, Tally, Verification, count,
    curation, differences, export, keep_leaves, params_of, read_snapshot, rows, snapshot_row, tally, verify,
};
pub use model::{AudienceCounts, Curation, Exclusion, IdeaFacts, Params};

/// Re-exported so callers name the method and prior without a direct dependency on `jam-domain`.
pub use jam_domain::ranking::{BayesianPrior, Method};
