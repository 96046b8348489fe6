//! The audit digest of a shortlist: SHA-256 over a canonical text encoding of the method, its parameters,
//! the sorted vote set and the curation, so anyone holding the votes can recompute it.
//!
//! # Byte format (version 2)
//!
//! Two levels, so that a jam's digest is recomputed from the ideas whose votes changed only (the
//! leaves of the others are cached, see `jam-store`'s `tally_leaves`), while the result still covers
//! every vote. UTF-8 text, one record per line, every line ending in a single `\n` (no `\r`), no other
//! whitespace.
//!
//! The **leaf** of one idea is the SHA-256 of:
//!
//! ```text
//! openjam-tally-leaf v2
//! idea <idea_id>
//! vote <participant_id> <+1|-1>      one line per non-zero vote on the idea, participants ascending
//! ```
//!
//! The **digest** is the SHA-256 of:
//!
//! ```text
//! openjam-tally-digest v2
//! method=<wilson|net|bayesian>
//! shortlist_size=<N in decimal>
//! idea <idea_id> <votes> <leaf>                      one line per idea with at least one non-zero vote
//! impressions <total> <seen>                         method=exposure only (see below)
//! exclude <idea_id> <byte length of reason> <reason>  one line per exclusion
//! pin <idea_id>                                     one line per pinned idea
//! ```
//!
//! - Ids are UUIDs in lowercase hyphenated form (`0191c3f0-…`, 36 characters); `<votes>` is the
//!   leaf's number of vote lines in decimal; `<leaf>` is the leaf's 64 lowercase hex digits.
//! - Ideas come sorted by id, participants within an idea by id, comparing the UUIDs' 16 bytes (which
//!   is the same as comparing their lowercase hyphenated text, and PostgreSQL's `uuid` order). At most
//!   one vote per pair. Retracted votes (value 0) are left out: they do not count, and an idea whose
//!   votes are all retracted (or that has none) has no `idea` line.
//! - Exclusions are sorted by `idea_id`, then by the reason's bytes; exact duplicates are written once.
//!   The reason is written verbatim (it may contain spaces or newlines) after its length in bytes, so the
//!   encoding stays unambiguous. Who excluded and when is shown in the exports but not hashed: recording
//!   the same decision again does not change the digest.
//! - Pins are sorted by `idea_id`, duplicates written once.
//! - The Bayesian prior is not written: it is a function of the votes.
//! - Under `method=exposure` the ranking also reads each idea's unique impressions, so they are
//!   covered too: `<seen>` is the 64 hex digits of the SHA-256 of one line `seen <idea_id> <count>`
//!   per idea with at least one impression, ideas ascending, and `<total>` the sum of the counts.
//!   Other methods do not read impressions and have no such line, so their digests are unchanged.
//!
//! The digest is shown as 64 lowercase hex digits. For example, a Wilson shortlist of 10 with one vote
//! and nothing curated is, in a shell:
//!
//! ```text
//! leaf=$(printf 'openjam-tally-leaf v2\nidea 00000000-0000-0000-0000-000000000001\nvote 00000000-0000-0000-0000-000000000002 +1\n' | sha256sum | cut -c1-64)
//! printf 'openjam-tally-digest v2\nmethod=wilson\nshortlist_size=10\nidea 00000000-0000-0000-0000-000000000001 1 %s\n' $leaf | sha256sum
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::error::TallyError;
use crate::model::{Curation, Exclusion, Params};

/// The version tag on the first line of the encoding.
pub const DIGEST_VERSION: &str = "openjam-tally-digest v2";

/// The version tag on the first line of a leaf.
const LEAF_VERSION: &str = "openjam-tally-leaf v2";

/// One participant's vote on one idea: `+1`, `-1`, or `0` for retracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Vote {
    pub idea_id: Uuid,
    pub participant_id: Uuid,
    pub value: i8,
}

/// A SHA-256 digest; `Display` and serde use 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for Digest {
    type Err = TallyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(TallyError::MalformedDigest(s.to_owned()));
        }
        hex::decode_to_slice(s, &mut bytes).map_err(|_| TallyError::MalformedDigest(s.to_owned()))?;
        Ok(Self(bytes))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One idea's leaf: the hash of its sorted non-zero votes and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Leaf {
    pub idea_id: Uuid,
    /// Non-zero votes hashed; a leaf of 0 votes adds nothing to the digest.
    pub votes: u64,
    pub hash: Digest,
}

/// Hashes one idea's votes into its [`Leaf`], one vote at a time, checking that participants come
/// ascending, at most once each, with values in `-1..=1`.
#[derive(Debug, Clone)]
pub struct LeafBuilder {
    idea_id: Uuid,
    hasher: Sha256,
    /// The last participant seen (retracted votes included), to check the order.
    last: Option<Uuid>,
    votes: u64,
}

impl LeafBuilder {
    pub fn new(idea_id: Uuid) -> Self {
        let mut hasher = Sha256::new();
        let mut id = Uuid::encode_buffer();
        hasher.update(LEAF_VERSION.as_bytes());
        hasher.update(b"\nidea ");
        hasher.update(idea_id.hyphenated().encode_lower(&mut id).as_bytes());
        hasher.update(b"\n");
        Self {
            idea_id,
            hasher,
            last: None,
            votes: 0,
        }
    }

    /// Adds the idea's next vote. Retracted votes (value 0) are checked for order but not hashed.
    pub fn push(&mut self, participant_id: Uuid, value: i8) -> Result<(), TallyError> {
        if let Some(last) = self.last {
            if participant_id == last {
                return Err(TallyError::DuplicateVote {
                    idea: self.idea_id,
                    participant: participant_id,
                });
            }
            if participant_id < last {
                return Err(TallyError::UnsortedVotes {
                    idea: self.idea_id,
                    participant: last,
                    next_idea: self.idea_id,
                    next_participant: participant_id,
                });
            }
        }
        let sign: &[u8] = match value {
            1 => b" +1\n",
            -1 => b" -1\n",
            0 => {
                self.last = Some(participant_id);
                return Ok(());
            }
            value => {
                return Err(TallyError::InvalidVoteValue {
                    idea: self.idea_id,
                    participant: participant_id,
                    value,
                });
            }
        };
        self.last = Some(participant_id);
        self.votes += 1;
        let mut id = Uuid::encode_buffer();
        self.hasher.update(b"vote ");
        self.hasher
            .update(participant_id.hyphenated().encode_lower(&mut id).as_bytes());
        self.hasher.update(sign);
        Ok(())
    }

    pub fn finish(self) -> Leaf {
        Leaf {
            idea_id: self.idea_id,
            votes: self.votes,
            hash: Digest(self.hasher.finalize().into()),
        }
    }
}

/// Builds the digest in constant memory, from either the whole sorted vote set ([`DigestBuilder::push`],
/// straight from a database cursor) or ready leaves ([`DigestBuilder::push_leaf`], from a cache), or a
/// mix, as long as ideas come in ascending id order.
///
/// The builder checks the order and rejects an out-of-order or repeated pair (and a value outside
/// `-1..=1`) with an error instead of hashing it. After an error the builder is spent:
/// [`DigestBuilder::finish`] returns [`TallyError::DigestAbandoned`].
#[derive(Debug, Clone)]
pub struct DigestBuilder {
    hasher: Sha256,
    /// The idea whose votes [`DigestBuilder::push`] is hashing.
    open: Option<LeafBuilder>,
    /// The last idea closed (by a leaf, or by moving past its votes), to check the order.
    last_idea: Option<Uuid>,
    counted: u64,
    failed: bool,
    /// The impressions' hash and total, under `method=exposure` only; with the last idea added.
    seen: Option<(Sha256, u64, Option<Uuid>)>,
}

impl DigestBuilder {
    /// Starts the encoding with the version tag, the method and its parameters.
    pub fn new(params: &Params) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(DIGEST_VERSION.as_bytes());
        hasher.update(b"\n");
        hasher.update(
            format!(
                "method={}\nshortlist_size={}\n",
                params.method, params.shortlist_size
            )
            .as_bytes(),
        );
        Self {
            hasher,
            open: None,
            last_idea: None,
            counted: 0,
            failed: false,
            seen: (params.method == jam_domain::ranking::Method::Exposure).then(|| (Sha256::new(), 0, None)),
        }
    }

    /// Adds the next idea's unique impressions (ideas ascending, each once); a no-op unless the
    /// method is exposure, which ranks by them.
    pub fn push_impressions(&mut self, idea_id: Uuid, impressions: u64) -> Result<(), TallyError> {
        if self.failed {
            return Err(TallyError::DigestAbandoned);
        }
        let Some((hasher, total, last)) = self.seen.as_mut() else {
            return Ok(());
        };
        if let Some(previous) = *last
            && idea_id <= previous
        {
            return self.fail(TallyError::UnsortedLeaves {
                idea: previous,
                next_idea: idea_id,
            });
        }
        *last = Some(idea_id);
        if impressions > 0 {
            *total += impressions;
            hasher.update(format!("seen {} {impressions}\n", idea_id.hyphenated()).as_bytes());
        }
        Ok(())
    }

    fn fail<T>(&mut self, error: TallyError) -> Result<T, TallyError> {
        self.failed = true;
        Err(error)
    }

    /// Adds the next vote of the vote set sorted by `(idea_id, participant_id)`.
    pub fn push(&mut self, vote: Vote) -> Result<(), TallyError> {
        if self.failed {
            return Err(TallyError::DigestAbandoned);
        }
        if self.open.as_ref().is_none_or(|open| open.idea_id != vote.idea_id) {
            let previous = self.open.as_ref().map(|open| (open.idea_id, open.last));
            self.close_open();
            if let Some(last) = self.last_idea
                && vote.idea_id <= last
            {
                let participant = match previous {
                    Some((idea, Some(participant))) if idea == last => participant,
                    _ => Uuid::nil(),
                };
                return self.fail(TallyError::UnsortedVotes {
                    idea: last,
                    participant,
                    next_idea: vote.idea_id,
                    next_participant: vote.participant_id,
                });
            }
            self.open = Some(LeafBuilder::new(vote.idea_id));
        }
        let result = match self.open.as_mut() {
            Some(open) => open.push(vote.participant_id, vote.value),
            None => Err(TallyError::DigestAbandoned),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => self.fail(e),
        }
    }

    /// [`DigestBuilder::push`] for each vote in turn, stopping at the first error.
    pub fn extend(&mut self, votes: impl IntoIterator<Item = Vote>) -> Result<(), TallyError> {
        votes.into_iter().try_for_each(|vote| self.push(vote))
    }

    /// Adds the next idea's ready leaf (ideas ascending, each once).
    pub fn push_leaf(&mut self, leaf: &Leaf) -> Result<(), TallyError> {
        if self.failed {
            return Err(TallyError::DigestAbandoned);
        }
        self.close_open();
        if let Some(last) = self.last_idea
            && leaf.idea_id <= last
        {
            return self.fail(TallyError::UnsortedLeaves {
                idea: last,
                next_idea: leaf.idea_id,
            });
        }
        self.add(leaf);
        Ok(())
    }

    fn close_open(&mut self) {
        if let Some(open) = self.open.take() {
            let leaf = open.finish();
            self.add(&leaf);
        }
    }

    fn add(&mut self, leaf: &Leaf) {
        self.last_idea = Some(leaf.idea_id);
        if leaf.votes == 0 {
            return;
        }
        self.counted += leaf.votes;
        let mut id = Uuid::encode_buffer();
        self.hasher.update(b"idea ");
        self.hasher
            .update(leaf.idea_id.hyphenated().encode_lower(&mut id).as_bytes());
        self.hasher
            .update(format!(" {} {}\n", leaf.votes, leaf.hash).as_bytes());
    }

    /// How many non-zero votes have been hashed so far (the idea being pushed included).
    pub fn votes_counted(&self) -> u64 {
        self.counted + self.open.as_ref().map_or(0, |open| open.votes)
    }

    /// Appends the curation (sorted here; it is small) and returns the digest.
    pub fn finish(mut self, curation: &Curation) -> Result<Digest, TallyError> {
        if self.failed {
            return Err(TallyError::DigestAbandoned);
        }
        self.close_open();
        if let Some((seen, total, _)) = self.seen.take() {
            let seen = Digest(seen.finalize().into());
            self.hasher
                .update(format!("impressions {total} {seen}\n").as_bytes());
        }
        let mut excluded: Vec<&Exclusion> = curation.excluded.iter().collect();
        excluded.sort_by(|a, b| (a.idea_id, a.reason.as_bytes()).cmp(&(b.idea_id, b.reason.as_bytes())));
        excluded.dedup_by(|a, b| a.idea_id == b.idea_id && a.reason == b.reason);
        for exclusion in excluded {
            self.hasher.update(
                format!(
                    "exclude {} {} ",
                    exclusion.idea_id.hyphenated(),
                    exclusion.reason.len()
                )
                .as_bytes(),
            );
            self.hasher.update(exclusion.reason.as_bytes());
            self.hasher.update(b"\n");
        }
        let mut pinned = curation.pinned.clone();
        pinned.sort_unstable();
        pinned.dedup();
        for id in pinned {
            self.hasher
                .update(format!("pin {}\n", id.hyphenated()).as_bytes());
        }
        Ok(Digest(self.hasher.finalize().into()))
    }
}

/// The digest of a whole (sorted) vote set and curation in one call.
pub fn digest_of(
    params: &Params,
    votes: impl IntoIterator<Item = Vote>,
    curation: &Curation,
) -> Result<Digest, TallyError> {
    let mut builder = DigestBuilder::new(params);
    builder.extend(votes)?;
    builder.finish(curation)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use chrono::{TimeZone, Utc};
    use jam_domain::ranking::Method;
    use proptest::prelude::*;

    fn params() -> Params {
        Params {
            method: Method::Wilson,
            shortlist_size: 10,
        }
    }

    fn vote(idea: u128, participant: u128, value: i8) -> Vote {
        Vote {
            idea_id: Uuid::from_u128(idea),
            participant_id: Uuid::from_u128(participant),
            value,
        }
    }

    fn exclusion(idea: u128, reason: &str) -> Exclusion {
        Exclusion {
            idea_id: Uuid::from_u128(idea),
            reason: reason.into(),
            by: "Facilitator".into(),
            at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        }
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn the_documented_example_hashes_to_the_documented_bytes() {
        let digest = digest_of(&params(), [vote(1, 2, 1)], &Curation::default()).unwrap();
        // Also checked with the module docs' `printf … | sha256sum` lines in a shell.
        assert_eq!(
            digest.to_string(),
            "05a279e92c785ffeb2da20113f2bed359e136729fb137a5f2f16b76a70b4feb7"
        );
    }

    #[test]
    fn under_exposure_the_digest_covers_every_ideas_impressions_and_is_otherwise_unchanged() {
        let exposure = Params {
            method: Method::Exposure,
            shortlist_size: 10,
        };
        let with = |params: &Params, seen: &[(u128, u64)]| {
            let mut builder = DigestBuilder::new(params);
            builder.push(vote(1, 2, 1)).unwrap();
            for (idea, n) in seen {
                builder.push_impressions(Uuid::from_u128(*idea), *n).unwrap();
            }
            builder.finish(&Curation::default()).unwrap()
        };
        let base = with(&exposure, &[(1, 3), (2, 0), (4, 7)]);
        assert_eq!(base, with(&exposure, &[(1, 3), (2, 0), (4, 7)]), "deterministic");
        assert_ne!(base, with(&exposure, &[(1, 3), (2, 0), (4, 8)]));
        assert_ne!(base, with(&exposure, &[(1, 3), (2, 1), (4, 7)]));
        // The documented lines.
        let seen = sha256_hex(
            b"seen 00000000-0000-0000-0000-000000000001 3\nseen 00000000-0000-0000-0000-000000000004 7\n",
        );
        let leaf = sha256_hex(
            b"openjam-tally-leaf v2\nidea 00000000-0000-0000-0000-000000000001\nvote 00000000-0000-0000-0000-000000000002 +1\n",
        );
        let text = format!(
            "openjam-tally-digest v2\nmethod=exposure\nshortlist_size=10\nidea 00000000-0000-0000-0000-000000000001 1 {leaf}\nimpressions 10 {seen}\n"
        );
        assert_eq!(base.to_string(), sha256_hex(text.as_bytes()));
        // Other methods ignore impressions: the documented Wilson example is untouched.
        assert_eq!(
            with(&params(), &[(1, 3), (4, 7)]),
            digest_of(&params(), [vote(1, 2, 1)], &Curation::default()).unwrap()
        );
        // Out of order is refused.
        let mut builder = DigestBuilder::new(&exposure);
        builder.push_impressions(Uuid::from_u128(4), 1).unwrap();
        assert!(builder.push_impressions(Uuid::from_u128(3), 1).is_err());
    }

    #[test]
    fn the_encoding_is_exactly_the_documented_lines() {
        let curation = Curation {
            excluded: vec![exclusion(3, "two words\nand a line"), exclusion(2, "é")],
            pinned: vec![Uuid::from_u128(9), Uuid::from_u128(4), Uuid::from_u128(9)],
        };
        let params = Params {
            method: Method::Bayesian,
            shortlist_size: 3,
        };
        let votes = [
            vote(1, 2, -1),
            vote(1, 3, 0),
            vote(1, 0xab, 1),
            vote(2, 1, 1),
            vote(5, 1, 0),
        ];
        let leaf1 = sha256_hex(
            "openjam-tally-leaf v2\n\
            idea 00000000-0000-0000-0000-000000000001\n\
            vote 00000000-0000-0000-0000-000000000002 -1\n\
            vote 00000000-0000-0000-0000-0000000000ab +1\n"
                .as_bytes(),
        );
        let leaf2 = sha256_hex(
            "openjam-tally-leaf v2\n\
            idea 00000000-0000-0000-0000-000000000002\n\
            vote 00000000-0000-0000-0000-000000000001 +1\n"
                .as_bytes(),
        );
        let expected = format!(
            "openjam-tally-digest v2\n\
            method=bayesian\n\
            shortlist_size=3\n\
            idea 00000000-0000-0000-0000-000000000001 2 {leaf1}\n\
            idea 00000000-0000-0000-0000-000000000002 1 {leaf2}\n\
            exclude 00000000-0000-0000-0000-000000000002 2 é\n\
            exclude 00000000-0000-0000-0000-000000000003 20 two words\nand a line\n\
            pin 00000000-0000-0000-0000-000000000004\n\
            pin 00000000-0000-0000-0000-000000000009\n"
        );
        let mut builder = DigestBuilder::new(&params);
        builder.extend(votes).unwrap();
        assert_eq!(builder.votes_counted(), 3);
        let digest = builder.finish(&curation).unwrap();
        assert_eq!(digest.to_string(), sha256_hex(expected.as_bytes()));
    }

    #[test]
    fn unsorted_votes_are_rejected_and_spend_the_builder() {
        let mut builder = DigestBuilder::new(&params());
        builder.push(vote(2, 1, 1)).unwrap();
        let err = builder.push(vote(1, 5, 1)).unwrap_err();
        assert!(matches!(err, TallyError::UnsortedVotes { .. }), "{err}");
        assert!(matches!(
            builder.push(vote(3, 1, 1)),
            Err(TallyError::DigestAbandoned)
        ));
        assert!(matches!(
            builder.finish(&Curation::default()),
            Err(TallyError::DigestAbandoned)
        ));

        let mut builder = DigestBuilder::new(&params());
        builder.push(vote(1, 2, 1)).unwrap();
        assert!(matches!(
            builder.push(vote(1, 1, 1)),
            Err(TallyError::UnsortedVotes { .. })
        ));
    }

    #[test]
    fn a_repeated_pair_is_rejected_even_when_one_of_them_is_retracted() {
        let err = digest_of(&params(), [vote(1, 2, 1), vote(1, 2, 1)], &Curation::default()).unwrap_err();
        assert!(matches!(err, TallyError::DuplicateVote { .. }), "{err}");
        let err = digest_of(&params(), [vote(1, 2, 0), vote(1, 2, -1)], &Curation::default()).unwrap_err();
        assert!(matches!(err, TallyError::DuplicateVote { .. }), "{err}");
    }

    #[test]
    fn values_other_than_plus_or_minus_one_or_zero_are_rejected() {
        for value in [2, -2, i8::MAX, i8::MIN] {
            let err = digest_of(&params(), [vote(1, 2, value)], &Curation::default()).unwrap_err();
            assert!(matches!(err, TallyError::InvalidVoteValue { .. }), "{err}");
        }
    }

    #[test]
    fn retracted_votes_do_not_count() {
        let with = digest_of(
            &params(),
            [vote(1, 1, 1), vote(1, 2, 0), vote(2, 1, 0)],
            &Curation::default(),
        );
        let without = digest_of(&params(), [vote(1, 1, 1)], &Curation::default());
        assert_eq!(with.unwrap(), without.unwrap());
    }

    #[test]
    fn the_method_and_the_shortlist_size_are_part_of_the_digest() {
        let base = digest_of(&params(), [], &Curation::default()).unwrap();
        let net = Params {
            method: Method::Net,
            ..params()
        };
        let longer = Params {
            shortlist_size: 11,
            ..params()
        };
        assert_ne!(digest_of(&net, [], &Curation::default()).unwrap(), base);
        assert_ne!(digest_of(&longer, [], &Curation::default()).unwrap(), base);
    }

    #[test]
    fn who_excluded_and_when_is_not_part_of_the_digest() {
        let mut other = exclusion(1, "why");
        other.by = "Someone else".into();
        other.at = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let a = Curation {
            excluded: vec![exclusion(1, "why")],
            pinned: vec![],
        };
        let b = Curation {
            excluded: vec![other],
            pinned: vec![],
        };
        assert_eq!(
            digest_of(&params(), [], &a).unwrap(),
            digest_of(&params(), [], &b).unwrap()
        );
    }

    #[test]
    fn digests_read_back_from_their_hex_form() {
        let digest = digest_of(&params(), [vote(1, 2, 1)], &Curation::default()).unwrap();
        assert_eq!(digest.to_string().parse::<Digest>().unwrap(), digest);
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        for bad in ["", "xyz", &"0".repeat(63), &"A".repeat(64), &"g".repeat(64)] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
    }

    /// Distinct (idea, participant) pairs with values in {−1, 0, +1}; few ideas so that ideas share voters.
    fn vote_set() -> impl Strategy<Value = Vec<Vote>> {
        prop::collection::btree_map(
            (0u128..6, 0u128..40),
            prop_oneof![Just(1i8), Just(-1), Just(0)],
            0..60,
        )
        .prop_map(|map| map.into_iter().map(|((i, p), v)| vote(i, p, v)).collect())
    }

    fn curation() -> impl Strategy<Value = Curation> {
        (
            prop::collection::vec((0u128..6, "[a-z \n]{0,8}"), 0..4),
            prop::collection::vec(0u128..6, 0..4),
        )
            .prop_map(|(excluded, pinned)| Curation {
                excluded: excluded.into_iter().map(|(i, r)| exclusion(i, &r)).collect(),
                pinned: pinned.into_iter().map(Uuid::from_u128).collect(),
            })
    }

    fn sorted_digest(mut votes: Vec<Vote>, curation: &Curation) -> Digest {
        votes.sort_by_key(|v| (v.idea_id, v.participant_id));
        digest_of(&params(), votes, curation).unwrap()
    }

    fn leaves_of(votes: &[Vote]) -> Vec<Leaf> {
        let mut leaves: Vec<Leaf> = Vec::new();
        let mut open: Option<LeafBuilder> = None;
        for v in votes {
            if open.as_ref().is_none_or(|o| o.idea_id != v.idea_id) {
                leaves.extend(open.take().map(LeafBuilder::finish));
                open = Some(LeafBuilder::new(v.idea_id));
            }
            open.as_mut().unwrap().push(v.participant_id, v.value).unwrap();
        }
        leaves.extend(open.map(LeafBuilder::finish));
        leaves
    }

    #[test]
    fn leaves_out_of_order_are_rejected_and_spend_the_builder() {
        let leaves = leaves_of(&[vote(1, 1, 1), vote(2, 1, 1)]);
        let mut builder = DigestBuilder::new(&params());
        builder.push_leaf(&leaves[1]).unwrap();
        let err = builder.push_leaf(&leaves[0]).unwrap_err();
        assert!(matches!(err, TallyError::UnsortedLeaves { .. }), "{err}");
        assert!(matches!(
            builder.finish(&Curation::default()),
            Err(TallyError::DigestAbandoned)
        ));
        // A vote of an idea whose leaf was already given is out of order too.
        let mut builder = DigestBuilder::new(&params());
        builder.push_leaf(&leaves[1]).unwrap();
        assert!(matches!(
            builder.push(vote(2, 5, 1)),
            Err(TallyError::UnsortedVotes { .. })
        ));
    }

    proptest! {
        #[test]
        fn the_digest_does_not_depend_on_the_order_votes_and_decisions_arrive_in(
            (votes, shuffled) in vote_set().prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
            (curation, mut reordered) in curation().prop_map(|c| (c.clone(), c)),
        ) {
            reordered.excluded.reverse();
            reordered.pinned.reverse();
            prop_assert_eq!(sorted_digest(votes, &curation), sorted_digest(shuffled, &reordered));
        }

        #[test]
        fn cached_leaves_and_raw_votes_give_the_same_digest(
            mut votes in vote_set(), cached in prop::collection::vec(any::<bool>(), 6), curation in curation(),
        ) {
            votes.sort_by_key(|v| (v.idea_id, v.participant_id));
            let whole = digest_of(&params(), votes.clone(), &curation).unwrap();
            // Some ideas from their leaf (as from the cache), the others vote by vote.
            let leaves = leaves_of(&votes);
            let mut builder = DigestBuilder::new(&params());
            for leaf in &leaves {
                let idea = usize::try_from(leaf.idea_id.as_u128()).unwrap();
                if cached[idea] {
                    builder.push_leaf(leaf).unwrap();
                } else {
                    builder.extend(votes.iter().copied().filter(|v| v.idea_id == leaf.idea_id)).unwrap();
                }
            }
            let counted: u64 = leaves.iter().map(|l| l.votes).sum();
            prop_assert_eq!(builder.votes_counted(), counted);
            prop_assert_eq!(builder.finish(&curation).unwrap(), whole);
        }

        #[test]
        fn changing_one_vote_value_changes_the_digest(votes in vote_set(), pick in any::<prop::sample::Index>(), curation in curation()) {
            prop_assume!(!votes.is_empty());
            let before = sorted_digest(votes.clone(), &curation);
            let mut changed = votes;
            let i = pick.index(changed.len());
            // Every other value, except 0 → … where the vote did not count: then it starts counting.
            changed[i].value = match changed[i].value { 1 => -1, -1 => 0, _ => 1 };
            prop_assert_ne!(before, sorted_digest(changed, &curation));
        }

        #[test]
        fn adding_or_removing_a_counted_vote_changes_the_digest(
            votes in vote_set(), idea in 0u128..6, participant in 40u128..50, up in any::<bool>(), curation in curation(),
        ) {
            let before = sorted_digest(votes.clone(), &curation);
            let mut more = votes;
            more.push(vote(idea, participant, if up { 1 } else { -1 }));
            let after = sorted_digest(more.clone(), &curation);
            prop_assert_ne!(before, after);
            more.pop();
            prop_assert_eq!(before, sorted_digest(more, &curation));
        }

        #[test]
        fn changing_the_curation_changes_the_digest(votes in vote_set(), curation in curation(), extra in "[a-z]{1,4}") {
            let before = sorted_digest(votes.clone(), &curation);
            if let Some(first) = curation.excluded.first() {
                let mut changed = curation.clone();
                // Generated reasons have no capitals, so the new reason is not already in the set.
                changed.excluded[0].reason = format!("{}{extra}X", first.reason);
                prop_assert_ne!(before, sorted_digest(votes.clone(), &changed));
            }
            let mut pinned = curation.clone();
            pinned.pinned.push(Uuid::from_u128(99));
            prop_assert_ne!(before, sorted_digest(votes.clone(), &pinned));
            let mut excluded = curation;
            excluded.excluded.push(exclusion(99, &extra));
            prop_assert_ne!(before, sorted_digest(votes, &excluded));
        }
    }
}
