//! The negative-mood alert (issue 16): when the negative share of a jam's posts (ideas and
//! comments, scored when written) over the last `pulse.alert_window_minutes` rises above
//! `pulse.negative_alert_share`, a `mood.alert` event goes to the jam's staff topic
//! (`staff:{jam_id}`) once, and the dashboard shows a banner (`GET /jams/{slug}/mood`'s `alert`);
//! it re-arms once the share falls back to or below the threshold.
//!
//! # Design
//!
//! - **Evaluated per server-clock minute, not per tick.** The state (`mood_alerts`: evaluated up to,
//!   raised or not, since, how many times fired) is in the database. Each evaluation walks every
//!   whole minute `t` since the last one evaluated, up to the last complete minute (`now - 1 min`,
//!   so a post written at `now` is never behind an evaluated minute) and looks at the posts with
//!   `t - window < created_at <= t`. So the outcome is a function of the posts and the clock only,
//!   not of when the ticks run: the black-box replay under the file clock is deterministic without
//!   sleeping. A window with fewer than `pulse.alert_min_posts` posts counts as "not above".
//! - **One evaluator: the holder of broker lease `mood-alert:{deployment}`**, taken or renewed
//!   every `pulse.alert_tick_ms` (TTL 2.5 ticks), like the tally ticker's.
//! - **Exactly once per crossing**: the event is published with `publish_once` keyed by the jam and
//!   the crossing's number before the state is saved, so a holder that dies between the two
//!   publishes nothing new when the next holder evaluates the same minutes again.
//! - Jams evaluated: those with a post within the window (plus one tick of slack) and those whose
//!   alert is raised (so it re-arms once posts age out of the window). A jam's first evaluation
//!   starts at the minute before its first scored post. At most `MAX_MINUTES` minutes per jam per
//!   tick, so a long catch-up is spread over ticks.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use jam_broker::Broker;
use jam_domain::{Clock, Sentiment};
use jam_protocol::live::{Event, staff_topic};
use jam_store::entity::mood_alerts;
use jam_store::mood::Post;
use jam_store::sea_orm::DatabaseConnection;
use uuid::Uuid;

/// The lease's name is this, a colon and the deployment's id.
pub const LEASE: &str = "mood-alert";

/// Most minutes evaluated per jam per tick.
pub const MAX_MINUTES: i64 = 20_000;

/// How long a crossing's event key is remembered by the broker (`publish_once`).
const ONCE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct AlertConfig {
    pub node_id: String,
    pub tick: Duration,
    pub share: f64,
    pub window_minutes: u32,
    pub min_posts: u32,
}

/// One firing: the minute, the negative share and the posts in the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fired {
    pub at: DateTime<Utc>,
    pub share: f64,
    pub posts: u32,
}

/// Evaluates every minute `t` with `state.evaluated_until < t <= until`, over `posts` (sorted by
/// time, covering at least `(state.evaluated_until - window, until]`), updating `state`; returns
/// the firings in order.
pub fn evaluate(
    posts: &[Post],
    state: &mut mood_alerts::Model,
    until: DateTime<Utc>,
    config: &AlertConfig,
) -> Vec<Fired> {
    let window = TimeDelta::minutes(i64::from(config.window_minutes));
    let mut fired = Vec::new();
    // Posts in (t - window, t] are posts[lo..hi]; negatives counted among them.
    let (mut lo, mut hi, mut negative) = (0usize, 0usize, 0u32);
    let mut t = state.evaluated_until + TimeDelta::minutes(1);
    while t <= until {
        while hi < posts.len() && posts[hi].at <= t {
            negative += u32::from(posts[hi].label == Sentiment::Negative);
            hi += 1;
        }
        while lo < hi && posts[lo].at <= t - window {
            negative -= u32::from(posts[lo].label == Sentiment::Negative);
            lo += 1;
        }
        let total = (hi - lo) as u32;
        let share = if total == 0 {
            0.0
        } else {
            f64::from(negative) / f64::from(total)
        };
        let above = total >= config.min_posts && share > config.share;
        if above && !state.active {
            state.active = true;
            state.since = Some(t);
            state.fired += 1;
            fired.push(Fired {
                at: t,
                share,
                posts: total,
            });
        } else if !above && state.active {
            state.active = false;
        }
        state.evaluated_until = t;
        t += TimeDelta::minutes(1);
    }
    fired
}

/// The evaluator task: every node runs it; the lease holder evaluates.
pub struct MoodAlert {
    db: DatabaseConnection,
    broker: Arc<dyn Broker>,
    clock: Arc<dyn Clock>,
    config: AlertConfig,
    lease: Option<String>,
}

impl MoodAlert {
    pub fn new(
        db: DatabaseConnection,
        broker: Arc<dyn Broker>,
        clock: Arc<dyn Clock>,
        config: AlertConfig,
    ) -> Self {
        Self {
            db,
            broker,
            clock,
            config,
            lease: None,
        }
    }

    /// Runs until `shutdown` resolves, then gives the lease up.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut interval = tokio::time::interval(self.config.tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = interval.tick() => {
                    if let Err(error) = self.tick().await {
                        tracing::warn!(%error, "mood alert evaluation failed; retried next tick");
                    }
                }
            }
        }
        if let Some(lease) = &self.lease
            && let Err(error) = self.broker.release_lease(lease, &self.config.node_id).await
        {
            tracing::warn!(%error, "could not release the mood-alert lease; it expires by itself");
        }
    }

    async fn tick(&mut self) -> anyhow::Result<()> {
        let lease = match &self.lease {
            Some(lease) => lease.clone(),
            None => {
                let id = jam_store::tally_dirty::deployment_id(&self.db).await?;
                let lease = format!("{LEASE}:{id}");
                self.lease = Some(lease.clone());
                lease
            }
        };
        let ttl = (self.config.tick * 5 / 2).max(Duration::from_millis(50));
        if !self
            .broker
            .acquire_lease(&lease, &self.config.node_id, ttl)
            .await?
        {
            return Ok(());
        }
        let now = self.clock.now();
        // The last complete minute.
        let until = (now - TimeDelta::minutes(1)).duration_trunc(TimeDelta::minutes(1))?;
        let window = TimeDelta::minutes(i64::from(self.config.window_minutes));
        let since = now - window - TimeDelta::from_std(self.config.tick * 3)?;
        for jam_id in jam_store::mood::jams_to_watch(&self.db, since).await? {
            self.evaluate_jam(jam_id, until).await?;
        }
        Ok(())
    }

    async fn evaluate_jam(&self, jam_id: Uuid, until: DateTime<Utc>) -> anyhow::Result<()> {
        let mut state = match jam_store::mood::alert(&self.db, jam_id).await? {
            Some(state) => state,
            None => {
                let Some(first) = jam_store::mood::first_post(&self.db, jam_id).await? else {
                    return Ok(());
                };
                mood_alerts::Model {
                    jam_id,
                    evaluated_until: first.duration_trunc(TimeDelta::minutes(1))? - TimeDelta::minutes(1),
                    active: false,
                    since: None,
                    fired: 0,
                }
            }
        };
        if state.evaluated_until >= until {
            return Ok(());
        }
        let until = until.min(state.evaluated_until + TimeDelta::minutes(MAX_MINUTES));
        let window = TimeDelta::minutes(i64::from(self.config.window_minutes));
        let posts = jam_store::mood::posts(
            &self.db,
            jam_id,
            None,
            Some(state.evaluated_until - window),
            until,
        )
        .await?;
        let before = state.fired;
        let fired = evaluate(&posts, &mut state, until, &self.config);
        for (n, f) in fired.iter().enumerate() {
            let event = Event::MoodAlert {
                jam_id,
                negative_share: f.share,
                threshold: self.config.share,
                window_minutes: self.config.window_minutes,
                posts: f.posts,
                at: f.at,
            };
            let payload = Bytes::from(serde_json::to_vec(&event)?);
            let key = format!("mood-alert:{jam_id}:{}", before + 1 + n as i32);
            self.broker
                .publish_once(&staff_topic(jam_id), &key, ONCE_TTL, payload)
                .await?;
            tracing::info!(%jam_id, share = f.share, at = %f.at, "mood alert fired");
        }
        jam_store::mood::save_alert(&self.db, state).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config() -> AlertConfig {
        AlertConfig {
            node_id: "n".into(),
            tick: Duration::from_millis(10),
            share: 0.5,
            window_minutes: 30,
            min_posts: 3,
        }
    }

    fn t0() -> DateTime<Utc> {
        // 2027-01-15 08:00 UTC: a whole hour (1.8e9 is a multiple of 3,600).
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn post(minute: i64, label: Sentiment) -> Post {
        Post {
            at: t0() + TimeDelta::minutes(minute),
            session_id: Uuid::nil(),
            label,
        }
    }

    fn state() -> mood_alerts::Model {
        mood_alerts::Model {
            jam_id: Uuid::nil(),
            evaluated_until: t0() - TimeDelta::minutes(1),
            active: false,
            since: None,
            fired: 0,
        }
    }

    /// Two posts a minute: negative for `neg` minutes, then positive.
    fn crowd(neg: i64, total: i64) -> Vec<Post> {
        (0..total)
            .flat_map(|m| {
                let label = if m < neg {
                    Sentiment::Negative
                } else {
                    Sentiment::Positive
                };
                [post(m, label), post(m, label)]
            })
            .collect()
    }

    #[test]
    fn a_long_negative_stretch_fires_once_and_rearms_when_it_ends() {
        let posts = crowd(120, 240);
        let mut s = state();
        let fired = evaluate(&posts, &mut s, t0() + TimeDelta::minutes(240), &config());
        assert_eq!(fired.len(), 1, "{fired:?}");
        // Enough posts (3) at minute 1; the share is 1.
        assert_eq!(fired[0].at, t0() + TimeDelta::minutes(1));
        assert_eq!(fired[0].share, 1.0);
        assert!(!s.active, "re-armed once positive posts took over the window");
        assert_eq!(s.fired, 1);
    }

    #[test]
    fn evaluating_in_pieces_gives_the_same_outcome_as_at_once() {
        let posts = crowd(60, 100);
        let mut whole = state();
        let all = evaluate(&posts, &mut whole, t0() + TimeDelta::minutes(100), &config());
        let mut pieces = state();
        let mut fired = Vec::new();
        for end in [5, 6, 40, 61, 75, 100] {
            let until = t0() + TimeDelta::minutes(end);
            fired.extend(evaluate(&posts, &mut pieces, until, &config()));
        }
        assert_eq!(fired, all);
        assert_eq!(pieces, whole);
    }

    #[test]
    fn a_second_crossing_fires_again_and_a_share_at_the_threshold_does_not() {
        let mut posts = crowd(40, 100);
        posts.extend((100..140).flat_map(|m| [post(m, Sentiment::Negative), post(m, Sentiment::Negative)]));
        let mut s = state();
        let fired = evaluate(&posts, &mut s, t0() + TimeDelta::minutes(140), &config());
        assert_eq!(fired.len(), 2, "{fired:?}");
        // Exactly half negative is not above 0.5.
        let half: Vec<Post> = (0..60)
            .flat_map(|m| [post(m, Sentiment::Negative), post(m, Sentiment::Positive)])
            .collect();
        let mut s = state();
        assert!(evaluate(&half, &mut s, t0() + TimeDelta::minutes(60), &config()).is_empty());
    }

    #[test]
    fn too_few_posts_raise_nothing() {
        let posts = [post(0, Sentiment::Negative), post(10, Sentiment::Negative)];
        let mut s = state();
        assert!(evaluate(&posts, &mut s, t0() + TimeDelta::minutes(60), &config()).is_empty());
        assert_eq!(s.evaluated_until, t0() + TimeDelta::minutes(60));
    }
}
