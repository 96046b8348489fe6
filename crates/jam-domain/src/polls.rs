//! Quick polls (issue 18): a facilitator (or a host) asks a session a question with 2 to 6
//! answers, open until a time; each participant answers once. Whether a poll takes answers is a
//! function of its closing time and the clock at the moment of the answer, like every other write.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Fewest options a poll may offer.
pub const MIN_OPTIONS: usize = 2;
/// Most options a poll may offer.
pub const MAX_OPTIONS: usize = 6;

/// Whether a poll takes answers.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PollState {
    Open,
    Closed,
}

/// Open strictly before `closes_at`: an answer at the closing instant is too late.
pub fn poll_state(closes_at: DateTime<Utc>, now: DateTime<Utc>) -> PollState {
    if now < closes_at {
        PollState::Open
    } else {
        PollState::Closed
    }
}

/// The option an answer names, if the poll has it (`options` long).
pub fn option_index(answer: i64, options: usize) -> Option<usize> {
    usize::try_from(answer).ok().filter(|i| *i < options)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn a_poll_is_open_until_its_closing_instant() {
        let t = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        assert_eq!(poll_state(t, t - Duration::milliseconds(1)), PollState::Open);
        assert_eq!(poll_state(t, t), PollState::Closed);
        assert_eq!(poll_state(t, t + Duration::hours(1)), PollState::Closed);
    }

    #[test]
    fn an_answer_names_one_of_the_options() {
        assert_eq!(option_index(0, 2), Some(0));
        assert_eq!(option_index(5, 6), Some(5));
        assert_eq!(option_index(6, 6), None);
        assert_eq!(option_index(-1, 6), None);
    }
}
