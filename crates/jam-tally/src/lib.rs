//! OpenJam's tally: from the facts about a jam's ideas to a ranked, curated, auditable shortlist and the
//! files executives download (DESIGN.md §5, issue 5). The core is pure (no database, no clock, no
//! async): it takes the facts and the sorted vote set as plain values. `load` is the one async module:
//! it reads those values from the database (through `jam-store`) for every caller alike.
//!
//! Layout:
//! - `model`: the inputs: [`IdeaFacts`] per idea, the facilitators' [`Curation`], the ranking [`Params`].
//! - `compute`: [`compute`] ranks every visible idea and picks the shortlist (the pin and exclusion rules
//!   are documented there); [`Results`] and the API's [`Shortlist`] object.
//! - `digest`: [`DigestBuilder`], the SHA-256 over the canonical sorted vote set and the curation, with its
//!   byte format written out so anyone can recompute it.
//! - `export`: streaming writers for `results.csv` ([`write_csv`]), `results.xlsx` ([`write_xlsx`]) and
//!   `results.json` ([`write_json`]), all fed by an iterator of rows.
//! - `load`: [`load()`] reads a jam's facts, curation and digest from the database; snapshots of a
//!   published shortlist ([`snapshot_row`], [`read_snapshot`]) and [`verify`].
//! - `error`: [`TallyError`].

mod compute;
mod digest;
mod error;
mod export;
mod load;
mod model;

pub use compute::{
    IdeaRef, RankedIdea, Results, Shortlist, ShortlistIdea, ShortlistItem, ShortlistState, compute,
};
pub use digest::{DIGEST_VERSION, Digest, DigestBuilder, Vote, digest_of};
pub use error::TallyError;
pub use export::{
    ExportHeader, ExportRow, XlsxOptions, csv_columns, format_score, guard_formula, write_csv, write_json,
    write_xlsx,
};
pub use load::{
    LoadError, Loaded, Published, SnapshotParams, Tally, Verification, curation, differences, digest, load,
    params_of, read_snapshot, snapshot_row, verify,
};
pub use model::{AudienceCounts, Curation, Exclusion, IdeaFacts, IdeaStatus, Params};

/// Re-exported so callers name the method and prior without a direct dependency on `jam-domain`.
pub use jam_domain::ranking::{BayesianPrior, Method};
