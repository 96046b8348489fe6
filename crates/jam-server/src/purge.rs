//! Expired sign-ins are deleted periodically, by one node at a time: every node wakes each
//! `auth.purge_interval_secs`, and only the node that takes (or renews) the broker lease
//! `signin-purge:{deployment}` for that interval deletes. Expired rows are refused anyway
//! (`jam_store::auth::principal_for` checks the expiry); the purge keeps the table small.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jam_broker::Broker;
use jam_domain::Clock;
use sea_orm::DatabaseConnection;

/// The lease's name is this, a colon, and the deployment's id (several deployments may share a
/// broker).
const LEASE: &str = "signin-purge";

pub struct Purger {
    pub db: DatabaseConnection,
    pub broker: Arc<dyn Broker>,
    pub clock: Arc<dyn Clock>,
    pub node_id: String,
    pub interval: Duration,
}

impl Purger {
    /// Purges once if this node holds the lease for the next interval; how many rows went, or
    /// `None` when another node holds it.
    pub async fn purge_once(&self) -> anyhow::Result<Option<u64>> {
        let lease = format!(
            "{LEASE}:{}",
            jam_store::tally_dirty::deployment_id(&self.db).await?
        );
        if !self
            .broker
            .acquire_lease(&lease, &self.node_id, self.interval)
            .await?
        {
            return Ok(None);
        }
        let purged = jam_store::auth::purge_expired(&self.db, self.clock.now()).await?;
        Ok(Some(purged))
    }

    /// Purges every interval until `stop` resolves.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = tick.tick() => match self.purge_once().await {
                    Ok(Some(purged)) if purged > 0 => tracing::info!(purged, "expired sign-ins purged"),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "could not purge expired sign-ins"),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Duration as Days;
    use jam_domain::ManualClock;
    use jam_store::entity::auth_sessions;
    use jam_store::sea_orm::{EntityTrait, PaginatorTrait};
    use jam_testkit::db::TestDb;
    use jam_testkit::rows::{self, With};
    use jam_testkit::seed;

    use super::*;

    #[tokio::test]
    async fn one_node_under_the_lease_deletes_expired_sign_ins_and_keeps_the_others() {
        let db = TestDb::sqlite_migrated().await;
        let staff = rows::staff();
        seed::insert(&db.db, &staff).await.unwrap();
        let now = rows::now();
        let expired = rows::staff_sign_in(&staff).with(|s| s.expires_at = now - Days::seconds(1));
        let live = rows::staff_sign_in(&staff).with(|s| s.expires_at = now + Days::hours(1));
        seed::insert_all(&db.db, &[expired.clone(), live.clone()])
            .await
            .unwrap();

        let broker: Arc<dyn Broker> = Arc::new(jam_broker::MemoryBroker::new(Default::default()));
        let clock = Arc::new(ManualClock::new(now));
        let node = |id: &str| Purger {
            db: db.db.clone(),
            broker: broker.clone(),
            clock: clock.clone(),
            node_id: id.into(),
            interval: Duration::from_secs(3600),
        };
        assert_eq!(node("a").purge_once().await.unwrap(), Some(1));
        assert_eq!(
            node("b").purge_once().await.unwrap(),
            None,
            "another node holds the lease for the interval"
        );
        let left: Vec<String> = auth_sessions::Entity::find()
            .all(&db.db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(left, vec![live.id.clone()], "the unexpired sign-in stays");
        clock.set(now + Days::hours(2));
        assert_eq!(
            node("a").purge_once().await.unwrap(),
            Some(1),
            "the holder purges again"
        );
        assert_eq!(auth_sessions::Entity::find().count(&db.db).await.unwrap(), 0);
    }
}
