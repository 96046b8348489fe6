//! `Core`: what the hub, its connections' readers, the fan-out task, the broker sink and the presence
//! reporter share, in one `Arc`. Also where a subscription is attached to the broker and detached
//! from it, and the table of open connections.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use jam_broker::{Broker, BrokerError};
use jam_protocol::live::tally_topic;
use tokio::sync::Notify;

use crate::backlog::Backlog;
use crate::fanout::Fanout;
use crate::outbox::Outbox;
use crate::registry::{Registry, Sub};
use crate::seats::Seats;
use crate::settings::HubSettings;
use crate::stats::Counters;
use crate::topic::{ControlSink, TopicAuthorizer};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The connection map's critical sections only insert, remove and copy.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An open connection: its outbox and its sign-in (token hash).
type Open = (Arc<Outbox>, Arc<str>);

/// The state of one node's hub. Readers hold it strongly (a connection keeps it alive); the fan-out
/// task, the broker sink and the presence reporter hold it weakly.
pub(crate) struct Core {
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) authorizer: Arc<dyn TopicAuthorizer>,
    pub(crate) settings: HubSettings,
    /// Local subscriptions by topic; shared with the fan-out, which offers to them.
    pub(crate) registry: Arc<Registry>,
    pub(crate) counters: Arc<Counters>,
    /// Connections with frames their socket's task has not taken yet.
    pub(crate) backlog: Arc<Backlog>,
    /// What waits to be fanned out, by topic, for the fan-out task.
    pub(crate) fanout: Arc<Fanout>,
    /// Set once by `Hub::shutdown`: no new connections, no more presence rounds.
    pub(crate) shutting_down: AtomicBool,
    /// Every open connection's outbox and sign-in (token hash), so that shutdown can close them
    /// all, and an ended sign-in its own.
    connections: Mutex<HashMap<u64, Open>>,
    next_id: AtomicU64,
    /// Notified whenever a connection ends; `shutdown` waits on it.
    ended: Notify,
    /// Where `control:` broadcasts go (set once by the node at start-up; none: they are dropped).
    pub(crate) control: OnceLock<Arc<dyn ControlSink>>,
    /// Open connections per sign-in, capped at `HubSettings::max_connections_per_sign_in`.
    pub(crate) seats: Arc<Seats>,
}

impl Core {
    /// `paced`: the caller runs the fan-out task (see `Fanout::new`).
    pub(crate) fn new(
        broker: Arc<dyn Broker>,
        authorizer: Arc<dyn TopicAuthorizer>,
        settings: HubSettings,
        paced: bool,
    ) -> Arc<Core> {
        let registry = Arc::new(Registry::new());
        let counters = Arc::new(Counters::default());
        let backlog = Arc::new(Backlog::default());
        let fanout = Fanout::new(
            &settings,
            paced,
            registry.clone(),
            counters.clone(),
            backlog.clone(),
        );
        Arc::new(Core {
            broker,
            authorizer,
            settings,
            registry,
            counters,
            backlog,
            fanout,
            shutting_down: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            ended: Notify::new(),
            control: OnceLock::new(),
            seats: Arc::default(),
        })
    }

    /// Counts in a connection that was let in; returns its id for `connection_ended`.
    pub(crate) fn connection_started(&self, outbox: Arc<Outbox>, session_id: &str) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.connections).insert(id, (outbox, session_id.into()));
        self.counters.connections.fetch_add(1, Ordering::Relaxed);
        id
    }

    pub(crate) fn connection_ended(&self, id: u64) {
        lock(&self.connections).remove(&id);
        self.counters.connections.fetch_sub(1, Ordering::Relaxed);
        self.ended.notify_waiters();
    }

    /// Asks every open connection to close now with `code`.
    pub(crate) fn close_all(&self, code: u16) {
        let outboxes: Vec<Arc<Outbox>> = lock(&self.connections)
            .values()
            .map(|(outbox, _)| outbox.clone())
            .collect();
        for outbox in outboxes {
            outbox.request_close(code);
        }
    }

    /// Asks the connections of these sign-ins (token hashes) to close now with `code`; how many.
    pub(crate) fn close_sessions(&self, sessions: &[&str], code: u16) -> usize {
        let outboxes: Vec<Arc<Outbox>> = lock(&self.connections)
            .values()
            .filter(|(_, session)| sessions.contains(&&**session))
            .map(|(outbox, _)| outbox.clone())
            .collect();
        for outbox in &outboxes {
            outbox.request_close(code);
        }
        outboxes.len()
    }

    /// Completes when no connection is open.
    pub(crate) async fn all_ended(&self) {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if lock(&self.connections).is_empty() {
                return;
            }
            ended.await;
        }
    }

    /// Registers a subscription; the topic's first subscriber subscribes the broker (the topic and its
    /// tally topic), and is rolled back when that fails.
    pub(crate) async fn attach(&self, sub: &Arc<Sub>) -> Result<(), BrokerError> {
        let _topic_lock = self.registry.lock_topic(&sub.topic).await;
        let first = self.registry.add(sub);
        if first && let Err(e) = self.subscribe_broker(&sub.topic).await {
            self.registry.remove(sub);
            return Err(e);
        }
        self.counters.subscriptions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn subscribe_broker(&self, topic: &str) -> Result<(), BrokerError> {
        self.broker.subscribe(topic).await?;
        if let Err(e) = self.broker.subscribe(&tally_topic(topic)).await {
            if let Err(undo) = self.broker.unsubscribe(topic).await {
                tracing::warn!(topic, error = %undo, "could not roll back a broker subscription");
            }
            return Err(e);
        }
        Ok(())
    }

    /// Removes an attached subscription; after the topic's last one, unsubscribes the broker.
    pub(crate) async fn detach(&self, sub: &Arc<Sub>) {
        sub.stop();
        let _topic_lock = self.registry.lock_topic(&sub.topic).await;
        if self.registry.remove(sub) {
            self.fanout.forget(&sub.topic);
            for topic in [sub.topic.to_string(), tally_topic(&sub.topic)] {
                if let Err(e) = self.broker.unsubscribe(&topic).await {
                    tracing::warn!(topic, error = %e, "broker unsubscribe failed");
                }
            }
        }
        self.counters.subscriptions.fetch_sub(1, Ordering::Relaxed);
    }
}
