//! OpenJam's pulse (issue 16): what a facilitator needs to see a jam of 100,000 people without reading
//! every post. The computations are pure and deterministic (no database, no clock, nothing downloaded at
//! run time); the server stores their results and publishes their events.
//!
//! Layout:
//! - `themes`: a deterministic, incremental clustering of a jam's ideas into labelled themes.
//! - `mood`: the sentiment of a post (English and French), scored at write time.

pub mod mood;
pub mod themes;
