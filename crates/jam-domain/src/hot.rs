//! Hot topics (issue 16): how busy a theme is in a recent window and whether it is getting busier.
//!
//! # Method
//!
//! - **Activity** of a theme in a window: the ideas posted in it (any status but removed), the
//!   comments written on its ideas, and the votes cast or changed on its ideas (a vote counts once,
//!   at its latest change, and only while it is not retracted). The window is the last
//!   `pulse.hot_window_minutes` minutes of the server clock, `[now - window, now)`.
//! - **Hot score** = 3 × ideas + 2 × comments + 1 × votes. A new idea weighs most (someone cared
//!   enough to write one), a reply next, a vote least (the cheapest act). Themes rank by score, then
//!   by size, then by id.
//! - **Trend** compares the score with the same-length window just before, `[now - 2 window,
//!   now - window)`: `rising` when the recent score is at least [`RISING_RATIO`] times the earlier
//!   one and at least [`MIN_CHANGE`] higher (so 1 → 2 is not a rise), `falling` in the mirror case,
//!   `steady` otherwise. `growth` is the plain difference of the two scores.

use serde::{Deserialize, Serialize};

/// Weight of an idea, a comment and a vote in the hot score.
pub const WEIGHTS: Activity = Activity {
    ideas: 3,
    comments: 2,
    votes: 1,
};

/// How many times the earlier score the recent one must reach to be a rise (and the mirror for a fall).
pub const RISING_RATIO: f64 = 1.25;

/// The least difference of the two scores that is a rise or a fall.
pub const MIN_CHANGE: u64 = 3;

/// Counts of one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Activity {
    pub ideas: u32,
    pub comments: u32,
    pub votes: u32,
}

impl Activity {
    /// The hot score (see the module documentation).
    pub fn score(&self) -> u64 {
        u64::from(self.ideas) * u64::from(WEIGHTS.ideas)
            + u64::from(self.comments) * u64::from(WEIGHTS.comments)
            + u64::from(self.votes) * u64::from(WEIGHTS.votes)
    }
}

/// Whether a theme is getting busier.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trend {
    Rising,
    Steady,
    Falling,
}

impl Trend {
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Rising => "rising",
            Trend::Steady => "steady",
            Trend::Falling => "falling",
        }
    }
}

/// The trend from the earlier window's score to the recent one's.
pub fn trend(earlier: u64, recent: u64) -> Trend {
    let (lo, hi) = (earlier.min(recent), earlier.max(recent));
    let changed = hi - lo >= MIN_CHANGE && hi as f64 >= lo as f64 * RISING_RATIO;
    match (changed, recent > earlier) {
        (false, _) => Trend::Steady,
        (true, true) => Trend::Rising,
        (true, false) => Trend::Falling,
    }
}

/// A theme's hot score, the earlier window's and the trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hot {
    pub score: u64,
    pub previous: u64,
    pub trend: Trend,
}

/// A theme's heat from its activity in the earlier and the recent window.
pub fn hot(earlier: Activity, recent: Activity) -> Hot {
    let (previous, score) = (earlier.score(), recent.score());
    Hot {
        score,
        previous,
        trend: trend(previous, score),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn act(ideas: u32, comments: u32, votes: u32) -> Activity {
        Activity {
            ideas,
            comments,
            votes,
        }
    }

    #[test]
    fn an_idea_weighs_three_votes_and_a_comment_two() {
        assert_eq!(act(1, 0, 0).score(), act(0, 0, 3).score());
        assert_eq!(act(0, 1, 0).score(), 2);
        assert_eq!(act(2, 3, 4).score(), 6 + 6 + 4);
    }

    #[test]
    fn small_or_proportionally_small_changes_are_steady() {
        assert_eq!(trend(0, 0), Trend::Steady);
        assert_eq!(trend(1, 2), Trend::Steady, "too small a difference");
        assert_eq!(trend(100, 110), Trend::Steady, "under a quarter more");
        assert_eq!(trend(0, 3), Trend::Rising);
        assert_eq!(trend(100, 125), Trend::Rising);
        assert_eq!(trend(125, 100), Trend::Falling);
        assert_eq!(trend(9, 0), Trend::Falling);
        let h = hot(act(1, 0, 0), act(2, 1, 1));
        assert_eq!((h.previous, h.score, h.trend), (3, 9, Trend::Rising));
    }

    #[test]
    fn every_trend_spells_as_its_wire_form() {
        for t in [Trend::Rising, Trend::Steady, Trend::Falling] {
            assert_eq!(
                serde_json::to_string(&t).ok(),
                Some(format!("\"{}\"", t.as_str()))
            );
        }
    }

    proptest! {
        #[test]
        fn swapping_the_windows_mirrors_the_trend(a in 0u64..10_000, b in 0u64..10_000) {
            let mirrored = match trend(a, b) {
                Trend::Rising => Trend::Falling,
                Trend::Falling => Trend::Rising,
                Trend::Steady => Trend::Steady,
            };
            prop_assert_eq!(trend(b, a), mirrored);
        }
    }
}
