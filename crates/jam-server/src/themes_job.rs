//! The periodic re-clustering of each jam's ideas into themes (issue 16), by one node at a time.
//!
//! # Design
//!
//! - **One node per cluster**: every node wakes each `pulse.themes_every_secs`; only the node that
//!   takes (or renews) the broker lease `themes:{deployment}` (TTL 2.5 intervals, like the mood
//!   alert's) works. A run that outlasts the lease and overlaps another node's is harmless: each
//!   saves a whole run in one transaction (`jam_store::themes::save_run`), the later one wins.
//! - **Which jams**: those neither draft nor published whose state (`jam_domain::jam_state` at the
//!   server clock) is live or closed (a closed jam's ideas may still be moderated before its
//!   results are published), whose ideas changed since their last run (the count of the jam's
//!   ideas or their latest `updated_at` differs: a post, an edit or a moderation decision), and
//!   whose last run is at least `themes_every_secs` old on the server clock. So a test moves the
//!   clock (the file clock, or a `ManualClock` in-process) instead of sleeping.
//! - **Stable ids**: the previous run's assignments are the seed (`jam_pulse::themes::Previous`);
//!   a theme that continues keeps its id, a new theme gets a fresh v7 id.
//! - **Off the async runtime**: the clustering is CPU-bound (seconds for 100,000 ideas), so it runs
//!   on the blocking pool.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use jam_broker::Broker;
use jam_domain::{Clock, JamState};
use jam_pulse::themes::{self as clustering, Idea, Outcome, Previous, ThemeKey};
use jam_store::sea_orm::DatabaseConnection;
use jam_store::themes::{IdeasState, NewTheme, Run};
use uuid::Uuid;

/// The lease's name is this, a colon and the deployment's id.
pub const LEASE: &str = "themes";

#[derive(Debug, Clone)]
pub struct JobConfig {
    pub node_id: String,
    /// Between wake-ups, and the least time between two runs of one jam (server clock).
    pub every: Duration,
    pub clustering: clustering::Config,
}

/// One jam's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub jam_id: Uuid,
    pub themes: usize,
    /// Ideas that got a theme, and visible ideas that got none (too far from every theme).
    pub themed: usize,
    pub unthemed: usize,
}

pub struct ThemesJob {
    db: DatabaseConnection,
    broker: Arc<dyn Broker>,
    clock: Arc<dyn Clock>,
    config: JobConfig,
    /// Named after the deployment, read once.
    lease: Option<String>,
}

impl ThemesJob {
    pub fn new(
        db: DatabaseConnection,
        broker: Arc<dyn Broker>,
        clock: Arc<dyn Clock>,
        config: JobConfig,
    ) -> Self {
        Self {
            db,
            broker,
            clock,
            config,
            lease: None,
        }
    }

    /// Runs every interval until `shutdown` resolves, then gives the lease up.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut interval = tokio::time::interval(self.config.every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = interval.tick() => match self.run_once().await {
                    Ok(Some(reports)) => {
                        for r in reports {
                            tracing::info!(jam_id = %r.jam_id, themes = r.themes, themed = r.themed,
                                unthemed = r.unthemed, "themes re-clustered");
                        }
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "themes re-clustering failed; retried next interval"),
                },
            }
        }
        if let Some(lease) = &self.lease
            && let Err(error) = self.broker.release_lease(lease, &self.config.node_id).await
        {
            tracing::warn!(%error, "could not release the themes lease; it expires by itself");
        }
    }

    /// One pass: `None` when another node holds the lease, else the runs made (one per jam due).
    pub async fn run_once(&mut self) -> anyhow::Result<Option<Vec<Report>>> {
        let lease = match &self.lease {
            Some(lease) => lease.clone(),
            None => {
                let id = jam_store::tally_dirty::deployment_id(&self.db).await?;
                let lease = format!("{LEASE}:{id}");
                self.lease = Some(lease.clone());
                lease
            }
        };
        let ttl = (self.config.every * 5 / 2).max(Duration::from_millis(50));
        if !self
            .broker
            .acquire_lease(&lease, &self.config.node_id, ttl)
            .await?
        {
            return Ok(None);
        }
        let now = self.clock.now();
        let every = TimeDelta::from_std(self.config.every)?;
        let states = jam_store::themes::ideas_states(&self.db).await?;
        let runs = jam_store::themes::last_runs(&self.db).await?;
        let mut reports = Vec::new();
        for jam in jam_store::themes::jams_to_check(&self.db).await? {
            let state = jam_domain::lifecycle::jam_state(&jam_store::jams::times_of(&jam), now);
            if !matches!(state, JamState::Live | JamState::Closed) {
                continue;
            }
            let current = states.get(&jam.id).copied().unwrap_or_default();
            let due = match runs.get(&jam.id) {
                None => current.ideas > 0,
                Some(last) => {
                    let read = IdeasState {
                        ideas: last.ideas,
                        updated_at: last.ideas_updated_at,
                    };
                    read != current && now - last.run_at >= every
                }
            };
            if due {
                reports.push(self.recluster(jam.id, current, now).await?);
            }
        }
        Ok(Some(reports))
    }

    /// Re-clusters one jam now, seeded by its previous run, and saves the run.
    pub async fn recluster(
        &self,
        jam_id: Uuid,
        read: IdeasState,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Report> {
        let texts = jam_store::themes::idea_texts(&self.db, jam_id).await?;
        let previous: Vec<Previous> = jam_store::themes::members(&self.db, jam_id)
            .await?
            .into_iter()
            .map(|m| Previous {
                id: m.theme_id,
                members: m.ideas,
            })
            .collect();
        let config = self.config.clustering.clone();
        let visible = texts.len();
        let outcome = tokio::task::spawn_blocking(move || {
            let ideas: Vec<Idea<'_>> = texts
                .iter()
                .map(|t| Idea {
                    id: t.id,
                    text: &t.text,
                })
                .collect();
            clustering::cluster(&ideas, &previous, &config)
        })
        .await?;
        let run = to_run(jam_id, now, read, outcome);
        let themed = run.themes.iter().map(|t| t.ideas.len()).sum();
        jam_store::themes::save_run(&self.db, &run).await?;
        self.announce(jam_id, now, run.themes.len()).await;
        Ok(Report {
            jam_id,
            themes: run.themes.len(),
            themed,
            unthemed: visible - themed,
        })
    }
}

impl ThemesJob {
    /// Tells the jam's pages that its themes changed (`themes.updated` on `jam:{id}`). Best effort:
    /// pages that miss it refetch on their own timer.
    async fn announce(&self, jam_id: Uuid, run_at: DateTime<Utc>, themes: usize) {
        let event = jam_protocol::live::Event::ThemesUpdated {
            jam_id,
            run_at,
            themes: u32::try_from(themes).unwrap_or(u32::MAX),
        };
        let payload = match serde_json::to_vec(&event) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!(%error, "could not encode themes.updated");
                return;
            }
        };
        let topic = jam_protocol::live::jam_topic(jam_id);
        if let Err(error) = self.broker.publish(&topic, payload.into()).await {
            tracing::warn!(%error, %jam_id, "could not publish themes.updated; pages refetch on their timer");
        }
    }
}

/// A clustering outcome as the run to save: continued themes keep their ids, new ones get fresh ids.
pub fn to_run(jam_id: Uuid, run_at: DateTime<Utc>, read: IdeasState, outcome: Outcome) -> Run {
    let themes = outcome
        .themes
        .into_iter()
        .map(|t| NewTheme {
            id: match t.key {
                ThemeKey::Existing(id) => id,
                ThemeKey::New(_) => Uuid::now_v7(),
            },
            label: t.label,
            ideas: t.members,
        })
        .collect();
    Run {
        jam_id,
        run_at,
        read,
        themes,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use jam_domain::ManualClock;
    use jam_store::entity::ideas;
    use jam_testkit::db::TestDb;
    use jam_testkit::{Seed, insert};

    use super::*;

    /// Four topics, eight ideas each, in English and French.
    const TOPICS: [[&str; 4]; 4] = [
        [
            "canteen lunch menu",
            "vegetarian canteen lunch",
            "canteen menu prices",
            "lunch queue canteen",
        ],
        [
            "bike parking shower",
            "bike racks parking",
            "shower bike commute",
            "parking bike secure",
        ],
        [
            "télétravail maison bureau",
            "bureau télétravail jours",
            "maison télétravail écran",
            "jours bureau maison",
        ],
        [
            "meeting agenda minutes",
            "shorter meeting agenda",
            "meeting minutes shared",
            "agenda meeting rooms",
        ],
    ];

    fn seed() -> Seed {
        let mut seed = Seed::new(2, 32);
        for (i, idea) in seed.ideas.iter_mut().enumerate() {
            let (topic, n) = (i % 4, i / 4);
            idea.title = TOPICS[topic][n % 4].into();
            idea.body = format!("{} {}", TOPICS[topic][(n + 1) % 4], TOPICS[topic][(n + 2) % 4]);
        }
        seed
    }

    fn job(db: &DatabaseConnection, broker: &Arc<dyn Broker>, clock: &ManualClock, node: &str) -> ThemesJob {
        ThemesJob::new(
            db.clone(),
            broker.clone(),
            Arc::new(clock.clone()),
            JobConfig {
                node_id: node.into(),
                every: Duration::from_secs(300),
                clustering: clustering::Config {
                    min_theme_size: 3,
                    threads: 1,
                    ..clustering::Config::default()
                },
            },
        )
    }

    #[tokio::test]
    async fn a_new_idea_gets_its_theme_by_the_next_run_and_themes_keep_their_ids() {
        let db = TestDb::sqlite_migrated().await;
        let seed = seed();
        seed.insert(&db.db).await.unwrap();
        let broker: Arc<dyn Broker> = Arc::new(jam_broker::MemoryBroker::new(Default::default()));
        let clock = ManualClock::new(seed.jam.starts_at + TimeDelta::hours(1));
        let mut a = job(&db.db, &broker, &clock, "a");
        let mut b = job(&db.db, &broker, &clock, "b");

        let first = a.run_once().await.unwrap().unwrap();
        assert_eq!(first.len(), 1, "{first:?}");
        assert!(first[0].themes >= 3, "{first:?}");
        assert!(b.run_once().await.unwrap().is_none(), "one node at a time");
        let before = jam_store::themes::of_ideas(&db.db, seed.ideas.iter().map(|i| i.id))
            .await
            .unwrap();
        assert!(before.len() >= 28, "most ideas have a theme: {}", before.len());

        // A new idea about bikes, posted now, gets a theme at the next run, the bikes' one.
        let posted = ideas::Model::posted(
            &seed.session,
            seed.participants[0].id,
            "secure bike parking".into(),
            "a shower after the bike commute".into(),
            &[],
            clock.now(),
        );
        insert(&db.db, &posted).await.unwrap();
        assert!(
            jam_store::themes::of_ideas(&db.db, [posted.id])
                .await
                .unwrap()
                .is_empty(),
            "no theme before the run"
        );
        // Within the interval of the last run: not yet.
        clock.advance(TimeDelta::seconds(1));
        assert!(
            a.run_once().await.unwrap().unwrap().is_empty(),
            "the interval is not over"
        );
        clock.advance(TimeDelta::minutes(5));
        let second = a.run_once().await.unwrap().unwrap();
        assert_eq!(second.len(), 1);
        let after = jam_store::themes::of_ideas(&db.db, seed.ideas.iter().map(|i| i.id).chain([posted.id]))
            .await
            .unwrap();
        let bikes = before[&seed.ideas[1].id];
        assert_eq!(
            after.get(&posted.id),
            Some(&bikes),
            "the new idea joined the bikes' theme"
        );
        let kept = before
            .iter()
            .filter(|(idea, theme)| after.get(*idea) == Some(*theme))
            .count();
        assert!(
            kept * 10 >= before.len() * 9,
            "{kept} of {} kept their theme",
            before.len()
        );
        let run = jam_store::themes::last_run(&db.db, seed.jam.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(run.run_at, clock.now());
        assert_eq!(run.ideas, 33);

        // Nothing changed since: no run, even once the interval has passed.
        clock.advance(TimeDelta::minutes(10));
        assert_eq!(a.run_once().await.unwrap().unwrap(), vec![]);
    }

    #[tokio::test]
    async fn drafts_are_not_clustered() {
        let db = TestDb::sqlite_migrated().await;
        let mut seed = seed();
        seed.jam.scheduled_at = None;
        seed.insert(&db.db).await.unwrap();
        let broker: Arc<dyn Broker> = Arc::new(jam_broker::MemoryBroker::new(Default::default()));
        let clock = ManualClock::new(seed.jam.starts_at + TimeDelta::hours(1));
        let mut a = job(&db.db, &broker, &clock, "a");
        assert_eq!(a.run_once().await.unwrap().unwrap(), vec![]);
        assert!(
            jam_store::themes::list(&db.db, seed.jam.id)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
