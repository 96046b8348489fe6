//! The fan-out: what the broker delivers, and presence counts that changed, wait here by topic, and
//! one task offers them to the local subscribers, paced two ways (`DESIGN.md` §8: a wake costs far
//! more than a message). All of the hub's pacing is in this module.
//!
//! - **Per topic, in time**: a topic is fanned out at most once per `coalesce`. What comes meanwhile
//!   (and whatever comes while the task is busy) waits and goes out together: each subscriber is woken
//!   once for all of it, so the busier a topic, the more each wake carries.
//! - **Per node, in work**: the task offers to a chunk of `CHUNK` subscribers, then waits (at most
//!   `BACKLOG_WAIT`) while more than `BACKLOG_LIMIT` connections have frames their socket's task has
//!   not taken yet (the `Backlog`). The workers' run queues stay short, so an API request among them
//!   (an idea posted, a vote) waits for a few hundred writes, not for a whole fan-out of 19,000.
//!
//! A hub built outside a Tokio runtime has no task: what is pushed is offered at once, unpaced.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use jam_broker::Published;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::backlog::{BACKLOG_LIMIT, Backlog};
use crate::frames::{self, Frame};
use crate::registry::{Registry, Seq, Sub};
use crate::settings::HubSettings;
use crate::stats::Counters;

/// Subscribers offered to between two looks at the backlog.
const CHUNK: usize = 256;

/// Longest wait of the fan-out for the backlog to drain before it offers to the next chunk anyway.
const BACKLOG_WAIT: Duration = Duration::from_millis(100);

/// Something to fan out to a topic's subscribers.
pub(crate) enum Item {
    /// An event, with its offset.
    Event(Published),
    /// A frame without an offset (a tally, a presence count).
    Untracked(Frame),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The critical sections only move items between collections.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The queue and its task. The hub's `Core` holds it to push and forget; the task holds it to fan
/// out, with its own handles on what that needs (the registry, the counters, the backlog).
pub(crate) struct Fanout {
    state: Mutex<State>,
    /// Wakes the task: something was queued.
    work: Notify,
    coalesce: Duration,
    /// A task runs (the hub was built inside a Tokio runtime). Without one, `push` offers at once.
    paced: bool,
    /// What a starting subscription holds back (`HubSettings::queue_capacity`).
    hold_limit: usize,
    /// The local subscribers, shared with the hub's `Core`.
    registry: Arc<Registry>,
    counters: Arc<Counters>,
    /// Connections with frames their socket's task has not taken yet.
    backlog: Arc<Backlog>,
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
    /// `paced`: the caller runs `run` (inside a Tokio runtime).
    pub(crate) fn new(
        settings: &HubSettings,
        paced: bool,
        registry: Arc<Registry>,
        counters: Arc<Counters>,
        backlog: Arc<Backlog>,
    ) -> Arc<Fanout> {
        Arc::new(Fanout {
            state: Mutex::new(State::default()),
            work: Notify::new(),
            coalesce: settings.coalesce,
            paced,
            hold_limit: settings.queue_capacity,
            registry,
            counters,
            backlog,
        })
    }

    /// Queues an item of `topic` for the task (never waits). Without a task, offers it at once.
    pub(crate) fn push(&self, topic: Arc<str>, item: Item) {
        if !self.paced {
            let frames = self.frames(&topic, std::slice::from_ref(&item));
            if let Some(subs) = self.registry.subscribers(&topic) {
                self.offer(&subs, &frames);
            }
            return;
        }
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

    /// The task: runs until `owner` (the hub's `Core`) is gone. It holds the owner weakly, so that
    /// it does not keep the hub alive, and only to know when to end: what it fans out with, it holds.
    pub(crate) async fn run<Owner>(self: Arc<Self>, owner: Weak<Owner>) {
        loop {
            let work = self.work.notified();
            tokio::pin!(work);
            work.as_mut().enable();
            match self.next(Instant::now()) {
                Next::FanOut(topic, items) => {
                    if owner.strong_count() == 0 {
                        return;
                    }
                    self.fan_out(&topic, &items).await;
                }
                Next::Sleep(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = work => {}
                    }
                }
                Next::Idle => {
                    if owner.strong_count() == 0 {
                        return;
                    }
                    work.await;
                }
            }
        }
    }

    /// Offers `items` (of one topic, in order) to every local subscriber, `CHUNK` subscribers at a
    /// time, waiting while too many connections are behind. Each item is built into a frame once; a
    /// subscriber's share is queued under one lock, so it is woken once for all of it.
    async fn fan_out(&self, topic: &str, items: &[Item]) {
        let Some(subs) = self.registry.subscribers(topic) else {
            return; // no longer held here
        };
        let frames = self.frames(topic, items);
        for chunk in subs.chunks(CHUNK) {
            if self.backlog.len() >= BACKLOG_LIMIT {
                // Bounded: connections that stopped taking frames leave the backlog when they are
                // closed (4008, or the client timeout), but the fan-out never waits on them longer.
                let _ = tokio::time::timeout(BACKLOG_WAIT, self.backlog.wait_for_room()).await;
            }
            self.offer(chunk, &frames);
        }
    }

    fn frames<'a>(&self, topic: &str, items: &'a [Item]) -> Vec<(Seq<'a>, Frame)> {
        items
            .iter()
            .filter_map(|item| match item {
                Item::Event(event) => {
                    let frame = frames::event_frame(topic, event.offset, &event.payload);
                    if frame.is_none() {
                        tracing::error!(
                            topic,
                            offset = event.offset,
                            "dropped an event whose payload is not a UTF-8 JSON object"
                        );
                    }
                    let seq = Seq::Event {
                        epoch: &event.epoch,
                        offset: event.offset,
                    };
                    Some((seq, frame?))
                }
                Item::Untracked(frame) => Some((Seq::Untracked, frame.clone())),
            })
            .collect()
    }

    fn offer(&self, subs: &[Arc<Sub>], frames: &[(Seq<'_>, Frame)]) {
        let hold_limit = self.hold_limit;
        for sub in subs {
            sub.offer(frames, hold_limit, &self.counters);
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

    fn fanout(coalesce: Duration) -> Arc<Fanout> {
        let settings = HubSettings {
            coalesce,
            ..HubSettings::default()
        };
        let registry = Arc::new(Registry::new());
        Fanout::new(&settings, true, registry, Arc::default(), Arc::default())
    }

    #[test]
    fn a_topic_goes_out_at_once_then_waits_its_window_while_others_go_first() {
        let fanout = fanout(Duration::from_millis(100));
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
}
