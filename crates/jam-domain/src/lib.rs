//! OpenJam's pure rules and types. No I/O, no async: everything here is a function of its inputs,
//! so it is unit- and property-tested without a database or a clock.
//!
//! Layout:
//! - `ids`: newtype ids (`JamId`, `IdeaId`, …) so ids of different things cannot be swapped.
//! - `text`: validated text types (slug, titles, display names, e-mail) with one `parse` each.
//! - `roles`: staff roles and the signed-in principal.
//! - `status`: a post's moderation status and a vote's value, each defined once and mapped to its
//!   column and its wire form in one place.
//! - `lifecycle`: jam and session states as functions of the schedule, overrides and the time.
//! - `ranking`: idea scores (Wilson, net, Bayesian), the ranked order with its tie-breaks, the hot score.
//! - `fairness`: the exposure-aware score, the discover order, Bradley–Terry and its pair sampler,
//!   Spearman's ρ (issue 17).
//! - `sentiment`: a post's mood label (negative, neutral, positive), its column and its wire form.
//! - `notify`: what an inbox entry reports, who hears of a new comment, and `@name` mentions
//!   (issue 18).
//! - `polls`: quick polls' bounds and whether one takes answers at a given time.
//! - `hot`: hot topics: a theme's activity score in a recent window and its trend against the window
//!   before.
//! - `admission`: how an audience admits participants (shared code, personal invites, single sign-on).
//! - `clock`: the injected source of time.
//! - `terms`: the text analysis of search and similar ideas (words, English and French stems, folded
//!   accents, tag keys, the stored form and the similarity of two ideas).

pub mod admission;
pub mod clock;
pub mod fairness;
pub mod hot;
pub mod ids;
pub mod lifecycle;
pub mod notify;
pub mod polls;
pub mod ranking;
pub mod roles;
pub mod sentiment;
pub mod status;
pub mod terms;
pub mod text;

pub use admission::{Admission, MailStatus};
pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::*;
pub use lifecycle::{JamState, JamTimes, ManualAction, SessionState, SessionTimes};
pub use notify::NotificationKind;
pub use polls::PollState;
pub use roles::{Principal, Role};
pub use sentiment::Sentiment;
pub use status::{BadVote, HiddenBy, ItemStatus, VoteValue};
pub use text::FieldError;
