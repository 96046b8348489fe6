//! Jam and session states as pure functions of the schedule, the facilitators' overrides and the
//! time. Writes are admitted only when `session_state(..., now) == Open`, evaluated at the moment of
//! the write, so a late timer can never let a write in after `closes_at`.
//!
//! The orchestrator turns these functions into events with `changes`: the points in time where a
//! state changed, replayed from the last state it recorded.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `draft` → `scheduled` → `live` → `closed` → `published`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum JamState {
    Draft,
    Scheduled,
    Live,
    Closed,
    Published,
}

/// `scheduled` → `open` → `closed` (and back to `open` when reopened while the jam is live).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Scheduled,
    Open,
    Closed,
}

/// A facilitator's "open now" or "close now" on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ManualAction {
    Open,
    Close,
}

macro_rules! str_enum {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)*
                    other => Err(format!("unknown {} `{other}`", stringify!($ty))),
                }
            }
        }
    };
}

str_enum!(JamState { Draft => "draft", Scheduled => "scheduled", Live => "live", Closed => "closed", Published => "published" });
str_enum!(SessionState { Scheduled => "scheduled", Open => "open", Closed => "closed" });
str_enum!(ManualAction { Open => "open", Close => "close" });

/// The times that decide a jam's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JamTimes {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// When a facilitator scheduled it (`None`: still a draft).
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When a facilitator closed it early.
    pub closed_at: Option<DateTime<Utc>>,
    /// When its results were published.
    pub published_at: Option<DateTime<Utc>>,
}

/// The times that decide a session's state, besides its jam's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTimes {
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// The facilitator's latest "open now"/"close now" and when it was given.
    pub manual: Option<(ManualAction, DateTime<Utc>)>,
}

fn at_or_before(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    t.is_some_and(|t| t <= now)
}

/// The jam's state at `now`. The live window is `[starts_at, ends_at)`.
pub fn jam_state(jam: &JamTimes, now: DateTime<Utc>) -> JamState {
    if !at_or_before(jam.scheduled_at, now) {
        return JamState::Draft;
    }
    if at_or_before(jam.published_at, now) {
        return JamState::Published;
    }
    if at_or_before(jam.closed_at, now) || now >= jam.ends_at {
        return JamState::Closed;
    }
    if now >= jam.starts_at {
        JamState::Live
    } else {
        JamState::Scheduled
    }
}

/// The session's state at `now`: while the jam is live, the latest of the session's own events at or
/// before `now` decides (scheduled open, scheduled close, the facilitator's override; an override
/// given at the same instant as a scheduled event wins). Outside a live jam no session is open.
pub fn session_state(jam: &JamTimes, session: &SessionTimes, now: DateTime<Utc>) -> SessionState {
    match jam_state(jam, now) {
        JamState::Draft | JamState::Scheduled => SessionState::Scheduled,
        JamState::Closed | JamState::Published => SessionState::Closed,
        JamState::Live => {
            // (time, precedence, state): the greatest tuple at or before `now` wins.
            let scheduled = [
                (session.opens_at, 0, SessionState::Open),
                (session.closes_at, 1, SessionState::Closed),
            ];
            let manual = session.manual.map(|(action, at)| {
                let state = match action {
                    ManualAction::Open => SessionState::Open,
                    ManualAction::Close => SessionState::Closed,
                };
                (at, 2, state)
            });
            scheduled
                .into_iter()
                .chain(manual)
                .filter(|(at, _, _)| *at <= now)
                .max_by_key(|(at, precedence, _)| (*at, *precedence))
                .map_or(SessionState::Scheduled, |(_, _, state)| state)
        }
    }
}

/// Whether ideas, comments and votes may be written in the session at `now`.
pub fn accepts_writes(jam: &JamTimes, session: &SessionTimes, now: DateTime<Utc>) -> bool {
    session_state(jam, session, now) == SessionState::Open
}

/// Every instant at which the jam's state can change.
pub fn jam_change_points(jam: &JamTimes) -> Vec<DateTime<Utc>> {
    [
        Some(jam.starts_at),
        Some(jam.ends_at),
        jam.scheduled_at,
        jam.closed_at,
        jam.published_at,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every instant at which the session's state can change.
pub fn session_change_points(jam: &JamTimes, session: &SessionTimes) -> Vec<DateTime<Utc>> {
    let mut points = jam_change_points(jam);
    points.extend([session.opens_at, session.closes_at]);
    points.extend(session.manual.map(|(_, at)| at));
    points
}

/// The state changes in `(after, upto]`, starting from `from` (the last state recorded), in time
/// order. `state_at` is one of the functions above; `points` its change points.
pub fn changes<S: Copy + PartialEq>(
    from: S,
    after: Option<DateTime<Utc>>,
    upto: DateTime<Utc>,
    mut points: Vec<DateTime<Utc>>,
    state_at: impl Fn(DateTime<Utc>) -> S,
) -> Vec<(DateTime<Utc>, S)> {
    // A caller whose `now` is at or before the last record (a node whose clock is behind, or that
    // read the time before another node recorded) has nothing to add: never record backwards.
    if after.is_some_and(|a| upto <= a) {
        return Vec::new();
    }
    points.retain(|p| after.is_none_or(|a| *p > a) && *p <= upto);
    points.sort_unstable();
    points.dedup();
    let mut current = from;
    let mut out = Vec::new();
    for p in points {
        let state = state_at(p);
        if state != current {
            out.push((p, state));
            current = state;
        }
    }
    // A schedule edited after the last record may make `upto` differ from every point; the final
    // state must still be reached.
    let last = state_at(upto);
    if last != current {
        out.push((upto, last));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::hours(h)
    }

    fn jam() -> JamTimes {
        JamTimes {
            starts_at: t(0),
            ends_at: t(72),
            scheduled_at: Some(t(-24)),
            closed_at: None,
            published_at: None,
        }
    }

    fn session(open: i64, close: i64) -> SessionTimes {
        SessionTimes {
            opens_at: t(open),
            closes_at: t(close),
            manual: None,
        }
    }

    #[test]
    fn a_jam_moves_from_draft_to_published() {
        let mut j = jam();
        j.scheduled_at = None;
        assert_eq!(jam_state(&j, t(10)), JamState::Draft);
        j.scheduled_at = Some(t(-24));
        assert_eq!(jam_state(&j, t(-25)), JamState::Draft);
        assert_eq!(jam_state(&j, t(-1)), JamState::Scheduled);
        assert_eq!(jam_state(&j, t(0)), JamState::Live);
        assert_eq!(jam_state(&j, t(72)), JamState::Closed);
        j.published_at = Some(t(80));
        assert_eq!(jam_state(&j, t(80)), JamState::Published);
    }

    #[test]
    fn a_jam_scheduled_after_its_start_is_live_at_once_and_can_close_early() {
        let mut j = jam();
        j.scheduled_at = Some(t(5));
        assert_eq!(jam_state(&j, t(5)), JamState::Live);
        j.closed_at = Some(t(10));
        assert_eq!(jam_state(&j, t(9)), JamState::Live);
        assert_eq!(jam_state(&j, t(10)), JamState::Closed);
    }

    #[test]
    fn a_session_follows_its_window_inside_a_live_jam() {
        let (j, s) = (jam(), session(10, 20));
        assert_eq!(session_state(&j, &s, t(-1)), SessionState::Scheduled);
        assert_eq!(session_state(&j, &s, t(5)), SessionState::Scheduled);
        assert_eq!(session_state(&j, &s, t(10)), SessionState::Open);
        assert_eq!(session_state(&j, &s, t(20)), SessionState::Closed);
        assert_eq!(session_state(&j, &s, t(100)), SessionState::Closed);
    }

    #[test]
    fn overrides_open_early_close_early_and_reopen() {
        let j = jam();
        let mut s = session(10, 20);
        s.manual = Some((ManualAction::Open, t(5)));
        assert_eq!(session_state(&j, &s, t(6)), SessionState::Open);
        assert_eq!(
            session_state(&j, &s, t(20)),
            SessionState::Closed,
            "the scheduled close still applies"
        );
        s.manual = Some((ManualAction::Close, t(12)));
        assert_eq!(session_state(&j, &s, t(11)), SessionState::Open);
        assert_eq!(session_state(&j, &s, t(12)), SessionState::Closed);
        s.manual = Some((ManualAction::Open, t(30)));
        assert_eq!(
            session_state(&j, &s, t(31)),
            SessionState::Open,
            "reopened after its window"
        );
        assert_eq!(
            session_state(&j, &s, t(72)),
            SessionState::Closed,
            "but never past the jam's end"
        );
        s.manual = Some((ManualAction::Open, t(20)));
        assert_eq!(
            session_state(&j, &s, t(20)),
            SessionState::Open,
            "an override at the same instant wins"
        );
    }

    #[test]
    fn changes_replay_every_transition_once_in_order() {
        let j = jam();
        let s = session(10, 20);
        let all = changes(
            SessionState::Scheduled,
            None,
            t(100),
            session_change_points(&j, &s),
            |p| session_state(&j, &s, p),
        );
        assert_eq!(
            all,
            vec![(t(10), SessionState::Open), (t(20), SessionState::Closed)]
        );
        let rest = changes(
            SessionState::Open,
            Some(t(10)),
            t(100),
            session_change_points(&j, &s),
            |p| session_state(&j, &s, p),
        );
        assert_eq!(rest, vec![(t(20), SessionState::Closed)]);
        let none = changes(
            SessionState::Closed,
            Some(t(20)),
            t(100),
            session_change_points(&j, &s),
            |p| session_state(&j, &s, p),
        );
        assert!(none.is_empty());
    }

    #[test]
    fn a_caller_behind_the_last_record_records_nothing() {
        let j = jam();
        let s = session(10, 20);
        let state_at = |p| session_state(&j, &s, p);
        // Another node recorded `open` at 10 h; this one still thinks it is 5 h.
        assert!(
            changes(
                SessionState::Open,
                Some(t(10)),
                t(5),
                session_change_points(&j, &s),
                state_at
            )
            .is_empty()
        );
        assert!(
            changes(
                SessionState::Open,
                Some(t(10)),
                t(10),
                session_change_points(&j, &s),
                state_at
            )
            .is_empty()
        );
    }

    #[test]
    fn a_jam_replays_scheduled_live_closed() {
        let j = jam();
        let all = changes(JamState::Draft, None, t(100), jam_change_points(&j), |p| {
            jam_state(&j, p)
        });
        assert_eq!(
            all,
            vec![
                (t(-24), JamState::Scheduled),
                (t(0), JamState::Live),
                (t(72), JamState::Closed)
            ]
        );
    }

    fn arb_schedule() -> impl Strategy<Value = (JamTimes, SessionTimes)> {
        (
            -10i64..10,
            1i64..100,
            prop::option::of(-20i64..120),
            prop::option::of(-20i64..120),
            0i64..100,
            1i64..100,
            prop::option::of((any::<bool>(), -20i64..120)),
        )
            .prop_map(|(start, len, scheduled, closed, open, slen, manual)| {
                let j = JamTimes {
                    starts_at: t(start),
                    ends_at: t(start + len),
                    scheduled_at: scheduled.map(t),
                    closed_at: closed.map(t),
                    published_at: None,
                };
                let s = SessionTimes {
                    opens_at: t(start + open),
                    closes_at: t(start + open + slen),
                    manual: manual.map(|(o, at)| {
                        (
                            if o {
                                ManualAction::Open
                            } else {
                                ManualAction::Close
                            },
                            t(at),
                        )
                    }),
                };
                (j, s)
            })
    }

    proptest! {
        #[test]
        fn no_write_is_admitted_outside_an_open_window((j, s) in arb_schedule(), probe in -30i64..130) {
            let now = t(probe);
            if accepts_writes(&j, &s, now) {
                prop_assert_eq!(jam_state(&j, now), JamState::Live);
                prop_assert!(now >= j.starts_at && now < j.ends_at);
                prop_assert!(j.closed_at.is_none_or(|c| now < c));
                // Either inside the scheduled window with no later close-now, or reopened by hand.
                let in_window = now >= s.opens_at && now < s.closes_at
                    && !matches!(s.manual, Some((ManualAction::Close, at)) if at <= now && at >= s.opens_at);
                let reopened = matches!(s.manual, Some((ManualAction::Open, at)) if at <= now);
                prop_assert!(in_window || reopened);
            }
            // Past the jam's end nothing is ever open.
            prop_assert!(!accepts_writes(&j, &s, j.ends_at.max(now)));
        }

        #[test]
        fn replayed_changes_end_in_the_state_at_the_last_instant((j, s) in arb_schedule(), upto in -30i64..130) {
            let state_at = |p| session_state(&j, &s, p);
            let all = changes(SessionState::Scheduled, None, t(upto), session_change_points(&j, &s), state_at);
            let last = all.last().map_or(SessionState::Scheduled, |(_, st)| *st);
            prop_assert_eq!(last, session_state(&j, &s, t(upto)));
            for pair in all.windows(2) {
                prop_assert!(pair[0].0 < pair[1].0, "strictly increasing times");
                prop_assert_ne!(pair[0].1, pair[1].1, "each change changes the state");
            }
        }

        #[test]
        fn replaying_in_two_steps_equals_replaying_once((j, s) in arb_schedule(), mid in -30i64..130, end in -30i64..130) {
            let (mid, end) = (t(mid.min(end)), t(mid.max(end)));
            let state_at = |p| session_state(&j, &s, p);
            let pts = session_change_points(&j, &s);
            let once = changes(SessionState::Scheduled, None, end, pts.clone(), state_at);
            let first = changes(SessionState::Scheduled, None, mid, pts.clone(), state_at);
            let (after, from) = first.last().map_or((None, SessionState::Scheduled), |(at, st)| (Some(*at), *st));
            let mut twice = first.clone();
            twice.extend(changes(from, after, end, pts, state_at));
            prop_assert_eq!(once, twice);
        }
    }
}
