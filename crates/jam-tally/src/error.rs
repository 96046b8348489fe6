//! The one error type of this crate.

use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum TallyError {
    /// The vote stream handed to [`crate::DigestBuilder`] was not sorted by `(idea_id, participant_id)`.
    #[error("votes are not sorted: ({next_idea}, {next_participant}) came after ({idea}, {participant})")]
    UnsortedVotes {
        idea: Uuid,
        participant: Uuid,
        next_idea: Uuid,
        next_participant: Uuid,
    },
    /// Leaves handed to [`crate::DigestBuilder::push_leaf`] were not in ascending idea order.
    #[error("leaves are not sorted: idea {next_idea} came after idea {idea}")]
    UnsortedLeaves { idea: Uuid, next_idea: Uuid },
    /// The same participant appears twice for the same idea; there is at most one vote per pair.
    #[error("two votes by participant {participant} on idea {idea}")]
    DuplicateVote { idea: Uuid, participant: Uuid },
    /// A vote value other than `+1`, `-1` or `0` (retracted).
    #[error("vote by participant {participant} on idea {idea} has value {value}; expected +1, -1 or 0")]
    InvalidVoteValue {
        idea: Uuid,
        participant: Uuid,
        value: i8,
    },
    /// `finish` was called on a builder that had already rejected a vote: its hash covers a partial,
    /// unverified vote set and must not be published.
    #[error("the digest builder rejected a vote earlier; its digest would not cover the vote set")]
    DigestAbandoned,
    /// A digest string that is not 64 hex digits.
    #[error("not a SHA-256 digest in hex: {0:?}")]
    MalformedDigest(String),
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the CSV export failed: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing the XLSX export failed: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("writing the JSON export failed: {0}")]
    Json(#[from] serde_json::Error),
}
