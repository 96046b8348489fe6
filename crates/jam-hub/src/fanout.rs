//! The fan-out queue: what the broker delivers, and presence counts that changed, wait here by topic,
//! and one task offers them to the local subscribers, paced two ways (`DESIGN.md` §8: a wake costs
//! far more than a message).
//!
//! - **Per topic, in time**: a topic is fanned out at most once per `coalesce`. What comes meanwhile
//!   (and whatever comes while the task is busy) waits and goes out together: each subscriber is woken
//!   once for all of it, so the busier a topic, the more each wake carries.
//! - **Per node, in work**: the task offers to a chunk of subscribers, then waits while more than
//!   `BACKLOG_LIMIT` connections have frames their socket's task has not taken yet. The workers'
//!   run queues stay short, so an API request among them (an idea posted, a vote) waits for a few
//!   hundred writes, not for a whole fan-out of 19,000.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use jam_broker::Published;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::frames::Frame;
use crate::hub::Hub;

/// Connections with untaken frames above which the fan-out waits (see the module documentation).
pub(crate) const BACKLOG_LIMIT: usize = 1024;

/// Subscribers offered to between two looks at the backlog.
pub(crate) const CHUNK: usize = 256;

/// Something to fan out to a topic's subscribers.
pub(crate) enum Item {
    /// An event, with its offset.
    Event(Published),
    /// A frame without an offset (a tally).
    Untracked(Frame),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The critical sections only move items between collections.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct Fanout {
    state: Mutex<State>,
    /// Wakes the task: something was queued.
    work: Notify,
    coalesce: Duration,
}

#[derive(Default)]
struct State {
    /// Topics with items waiting, in the order their first waiting item came.
    order: VecDeque<Arc<str>>,
    waiting: HashMap<Arc<str>, Vec<Item>>,
    /// When each topic was last fanned out.
    last: HashMap<Arc<str>, Instant>,
}

/// What the task does next.
enum Next {
    FanOut(Arc<str>, Vec<Item>),
    /// Nothing is due before this.
    Sleep(Instant),
    Idle,
}

impl Fanout {
    pub(crate) fn new(coalesce: Duration) -> Arc<Fanout> {
        Arc::new(Fanout {
            state: Mutex::new(State::default()),
            work: Notify::new(),
            coalesce,
        })
    }

    /// Queues an item of `topic` (never waits).
    pub(crate) fn push(&self, topic: Arc<str>, item: Item) {
        {
            let mut state = lock(&self.state);
            let state = &mut *state;
            match state.waiting.get_mut(&topic) {
                Some(items) => items.push(item),
                None => {
                    state.order.push_back(topic.clone());
                    state.waiting.insert(topic, vec![item]);
                }
            }
        }
        self.work.notify_one();
    }

    /// The topic has no local subscriber any more: forget when it was last fanned out.
    pub(crate) fn forget(&self, topic: &str) {
        lock(&self.state).last.remove(topic);
    }

    /// The first topic in line that is due, taken with everything it has waiting.
    fn next(&self, now: Instant) -> Next {
        let mut state = lock(&self.state);
        let due_at = |topic: &Arc<str>| state.last.get(topic).map(|last| *last + self.coalesce);
        let mut earliest: Option<Instant> = None;
        let mut chosen = None;
        for (i, topic) in state.order.iter().enumerate() {
            match due_at(topic) {
                Some(at) if at > now => earliest = Some(earliest.map_or(at, |e| e.min(at))),
                _ => {
                    chosen = Some(i);
                    break;
                }
            }
        }
        let Some(i) = chosen else {
            return earliest.map_or(Next::Idle, Next::Sleep);
        };
        let Some(topic) = state.order.remove(i) else {
            return Next::Idle;
        };
        let items = state.waiting.remove(&topic).unwrap_or_default();
        state.last.insert(topic.clone(), now);
        Next::FanOut(topic, items)
    }

    /// The task: runs until the hub is gone.
    pub(crate) async fn run(self: Arc<Self>, hub: Weak<Hub>) {
        loop {
            let work = self.work.notified();
            tokio::pin!(work);
            work.as_mut().enable();
            match self.next(Instant::now()) {
                Next::FanOut(topic, items) => {
                    let Some(hub) = hub.upgrade() else { return };
                    hub.fan_out(&topic, &items).await;
                }
                Next::Sleep(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = work => {}
                    }
                }
                Next::Idle => {
                    if hub.strong_count() == 0 {
                        return;
                    }
                    work.await;
                }
            }
        }
    }
}

/// Connections that have frames queued which their socket's task has not taken yet: how far the
/// workers are behind the fan-out. Each connection counts once however much it has queued.
#[derive(Default)]
pub(crate) struct Backlog {
    count: AtomicUsize,
    drained: Notify,
}

impl Backlog {
    pub(crate) fn add(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn remove(&self) {
        let before = self.count.fetch_sub(1, Ordering::AcqRel);
        if before == BACKLOG_LIMIT / 2 + 1 {
            self.drained.notify_waiters();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Waits until fewer than `BACKLOG_LIMIT` connections are behind (then back to half of it).
    pub(crate) async fn wait_for_room(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.len() < BACKLOG_LIMIT {
                return;
            }
            drained.await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn published(topic: &str, offset: u64) -> Item {
        Item::Event(Published {
            topic: topic.into(),
            offset,
            epoch: "e".into(),
            payload: bytes::Bytes::from_static(b"{}"),
        })
    }

    fn offsets(items: &[Item]) -> Vec<u64> {
        items
            .iter()
            .map(|item| match item {
                Item::Event(event) => event.offset,
                Item::Untracked(_) => 0,
            })
            .collect()
    }

    #[test]
    fn a_topic_goes_out_at_once_then_waits_its_window_while_others_go_first() {
        let fanout = Fanout::new(Duration::from_millis(100));
        let t0 = Instant::now();
        fanout.push("a".into(), published("a", 1));
        let Next::FanOut(topic, items) = fanout.next(t0) else {
            panic!("due at once")
        };
        assert_eq!((&*topic, offsets(&items)), ("a", vec![1]));

        fanout.push("a".into(), published("a", 2));
        fanout.push("b".into(), published("b", 1));
        fanout.push("a".into(), published("a", 3));
        // `a` went out at t0: `b`, queued after it, goes first.
        let Next::FanOut(topic, items) = fanout.next(t0 + Duration::from_millis(10)) else {
            panic!()
        };
        assert_eq!((&*topic, offsets(&items)), ("b", vec![1]));
        let Next::Sleep(at) = fanout.next(t0 + Duration::from_millis(20)) else {
            panic!("a waits")
        };
        assert_eq!(at, t0 + Duration::from_millis(100));
        let Next::FanOut(topic, items) = fanout.next(at) else {
            panic!()
        };
        assert_eq!(
            (&*topic, offsets(&items)),
            ("a", vec![2, 3]),
            "together, in order"
        );
        assert!(matches!(fanout.next(at), Next::Idle));
    }

    #[tokio::test]
    async fn the_backlog_holds_the_fan_out_until_half_of_it_is_taken() {
        let backlog = Arc::new(Backlog::default());
        for _ in 0..BACKLOG_LIMIT {
            backlog.add();
        }
        let waiting = tokio::spawn({
            let backlog = backlog.clone();
            async move { backlog.wait_for_room().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        for _ in 0..BACKLOG_LIMIT / 2 {
            backlog.remove();
        }
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("released")
            .expect("no panic");
        assert_eq!(backlog.len(), BACKLOG_LIMIT / 2);
    }
}
