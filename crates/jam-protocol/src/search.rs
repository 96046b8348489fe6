//! Bodies of search, similar ideas and likely duplicates (issue 16), re-exported by `api`.

use serde::{Deserialize, Serialize};

use crate::api::IdeaView;

/// `sort` of `GET /jams/{slug}/search`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchSort {
    /// Best match first (BM25 on SQLite, `ts_rank` on PostgreSQL).
    #[default]
    Relevance,
    /// Newest first.
    New,
}

/// `GET /sessions/{id}/tags`: a tag and how many visible ideas of the session carry it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    /// The spelling most ideas use.
    pub tag: String,
    /// What `tag=` of the search matches: letters and digits, lower-cased, accents folded (any
    /// spelling of the tag may be sent; the server derives the key).
    pub key: String,
    pub count: u64,
}

/// `GET /sessions/{id}/similar`: a likely duplicate and how alike it is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarIdea {
    pub idea: IdeaView,
    /// In [0, 1]: 1 for the same words (a weighted cosine over stemmed terms).
    pub score: f64,
}

/// `GET /jams/{slug}/duplicates`: two ideas of a session that look alike (`idea` the newer).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicatePair {
    pub idea: IdeaView,
    pub other: IdeaView,
    pub score: f64,
}
