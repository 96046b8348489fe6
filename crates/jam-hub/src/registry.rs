//! Local subscriptions: which of this node's connections hold which topic, and where each
//! subscription stands (starting, live at an offset, or stopped after a resync).
//!
//! The hub only knows its own connections (the centrifuge model); the broker is subscribed once per
//! topic, for the first local subscriber, and unsubscribed after the last (see `Core::attach`).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::frames::Frame;
use crate::outbox::{Offer, Out, Outbox, Queue, reason};
use crate::stats::Counters;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves the state consistent; the only calls out are `try_send`s and
    // the outbox's own leaf locks, which do not panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a frame sits in its topic's sequence.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seq<'a> {
    /// An event: it must follow the previous one delivered by exactly one offset, in the same epoch.
    Event { epoch: &'a Arc<str>, offset: u64 },
    /// A tally or presence frame: no offset.
    Untracked,
}

/// One connection's subscription to one topic.
pub(crate) struct Sub {
    pub(crate) topic: Arc<str>,
    pub(crate) outbox: Arc<Outbox>,
    /// Guarded by a short, uncontended lock: the broker delivers a topic's events one at a time, and
    /// the connection's reader takes it only to start or stop the subscription.
    state: Mutex<SubState>,
}

enum SubState {
    /// Registered for live events while the replay (or the position) is fetched: live frames wait
    /// here, so nothing published between the broker subscription and the replay is lost.
    Starting { held: Vec<Held>, overflowed: bool },
    /// Delivering; `offset` is the last offset the client has been sent (or told of by `subscribed`).
    Live { epoch: Arc<str>, offset: u64 },
    /// Ended by a resync or an unsubscribe: frames are skipped until the client subscribes again.
    Stopped,
}

struct Held {
    seq: Option<(Arc<str>, u64)>,
    text: Frame,
}

impl Sub {
    pub(crate) fn new(topic: Arc<str>, outbox: Arc<Outbox>) -> Arc<Sub> {
        Arc::new(Sub {
            topic,
            outbox,
            state: Mutex::new(SubState::Starting {
                held: Vec::new(),
                overflowed: false,
            }),
        })
    }

    /// Offers frames of this topic (in order) without waiting, queued under one lock of the
    /// connection's queue, so the connection is woken once for all of them. `hold_limit` bounds
    /// what a starting subscription holds back.
    pub(crate) fn offer(&self, frames: &[(Seq<'_>, Frame)], hold_limit: usize, counters: &Counters) {
        let mut state = lock(&self.state);
        match &mut *state {
            SubState::Starting { held, overflowed } => {
                for (seq, text) in frames {
                    if held.len() >= hold_limit {
                        *overflowed = true;
                        break;
                    }
                    held.push(Held {
                        seq: match seq {
                            Seq::Event { epoch, offset } => Some(((*epoch).clone(), *offset)),
                            Seq::Untracked => None,
                        },
                        text: text.clone(),
                    });
                }
            }
            SubState::Live { .. } => {
                let mut queue = self.outbox.queue();
                for (seq, text) in frames {
                    self.deliver(&mut state, &mut queue, *seq, text, counters);
                }
            }
            SubState::Stopped => {}
        }
    }

    /// The delivery rule of a live subscription: consecutive offsets in one epoch, or a resync.
    fn deliver(
        &self,
        state: &mut SubState,
        queue: &mut Queue<'_>,
        seq: Seq<'_>,
        text: &Frame,
        counters: &Counters,
    ) {
        let SubState::Live { epoch, offset } = state else {
            return;
        };
        if let Seq::Event {
            epoch: event_epoch,
            offset: event_offset,
        } = seq
        {
            if !Arc::ptr_eq(event_epoch, epoch) && **event_epoch != **epoch {
                *state = SubState::Stopped;
                queue.resync(&self.topic, reason::EPOCH_CHANGED);
                return;
            }
            if event_offset <= *offset {
                // Already sent by the replay.
                return;
            }
            if event_offset != *offset + 1 {
                *state = SubState::Stopped;
                queue.resync(&self.topic, reason::MISSED_EVENTS);
                return;
            }
        }
        match queue.try_text(text) {
            Offer::Queued => {
                if let Seq::Event {
                    offset: event_offset, ..
                } = seq
                {
                    *offset = event_offset;
                }
            }
            Offer::Full => {
                counters.queue_drop();
                *state = SubState::Stopped;
                queue.overflowed(&self.topic);
            }
            Offer::Closed => *state = SubState::Stopped,
        }
    }

    /// Starts over (the client subscribed again to a topic it holds).
    pub(crate) fn restart(&self) {
        *lock(&self.state) = SubState::Starting {
            held: Vec::new(),
            overflowed: false,
        };
        self.outbox.cancel_resync(&self.topic);
    }

    /// The client has been sent everything up to `offset` (the replay): queue `subscribed` (the reader
    /// waited for room) and, in the same critical section, release what was held back, skipping what
    /// the replay already covered. Only queues `subscribed` if the subscription was stopped meanwhile
    /// (its `resync` is on its way).
    pub(crate) fn go_live(&self, subscribed: Frame, epoch: Arc<str>, offset: u64, counters: &Counters) {
        let mut state = lock(&self.state);
        let mut queue = self.outbox.queue();
        if queue.push(Out::Text(subscribed)).is_err() {
            *state = SubState::Stopped;
            return;
        }
        if !matches!(*state, SubState::Starting { .. }) {
            return;
        }
        let SubState::Starting { held, overflowed } =
            std::mem::replace(&mut *state, SubState::Live { epoch, offset })
        else {
            return;
        };
        for frame in held {
            let seq = match &frame.seq {
                Some((epoch, offset)) => Seq::Event {
                    epoch,
                    offset: *offset,
                },
                None => Seq::Untracked,
            };
            self.deliver(&mut state, &mut queue, seq, &frame.text, counters);
        }
        if overflowed && matches!(*state, SubState::Live { .. }) {
            // Frames were dropped while starting: the client cannot have them all.
            counters.queue_drop();
            *state = SubState::Stopped;
            queue.overflowed(&self.topic);
        }
    }

    /// Ends delivery with a `resync` (unless already stopped).
    pub(crate) fn resync(&self, why: &'static str) {
        let mut state = lock(&self.state);
        if !matches!(*state, SubState::Stopped) {
            *state = SubState::Stopped;
            self.outbox.resync(&self.topic, why);
        }
    }

    /// Ends delivery silently (unsubscribed or disconnected).
    pub(crate) fn stop(&self) {
        *lock(&self.state) = SubState::Stopped;
    }
}

/// The topics with local subscribers.
pub(crate) struct Registry {
    /// Topic → its subscribers. A `std` mutex held only to look up or copy-on-write a list: the
    /// broadcaster clones the `Arc` of the list and sends after releasing the lock.
    topics: Mutex<HashMap<Arc<str>, Entry>>,
    /// Serialize subscribing and unsubscribing per topic (sharded), across the broker calls that the
    /// first subscriber and the last unsubscriber make, so a concurrent subscriber never sees the
    /// topic registered before the broker delivers it.
    locks: Box<[tokio::sync::Mutex<()>]>,
    hasher: RandomState,
}

struct Entry {
    subs: Arc<Vec<Arc<Sub>>>,
    /// The last cluster-wide presence count pushed for this topic.
    presence: Option<u64>,
}

const LOCK_SHARDS: usize = 64;

pub(crate) type Subscribers = Arc<Vec<Arc<Sub>>>;

impl Registry {
    pub(crate) fn new() -> Self {
        Registry {
            topics: Mutex::new(HashMap::new()),
            locks: (0..LOCK_SHARDS).map(|_| tokio::sync::Mutex::new(())).collect(),
            hasher: RandomState::new(),
        }
    }

    pub(crate) async fn lock_topic(&self, topic: &str) -> tokio::sync::MutexGuard<'_, ()> {
        // The remainder is below the (non-zero) length, so the index is in range.
        let shard = (self.hasher.hash_one(topic) % self.locks.len() as u64) as usize;
        self.locks[shard].lock().await
    }

    pub(crate) fn subscribers(&self, topic: &str) -> Option<Subscribers> {
        lock(&self.topics).get(topic).map(|entry| entry.subs.clone())
    }

    /// Adds a subscription; true when it is the topic's first.
    pub(crate) fn add(&self, sub: &Arc<Sub>) -> bool {
        let mut topics = lock(&self.topics);
        match topics.get_mut(&sub.topic) {
            Some(entry) => {
                Arc::make_mut(&mut entry.subs).push(sub.clone());
                false
            }
            None => {
                let entry = Entry {
                    subs: Arc::new(vec![sub.clone()]),
                    presence: None,
                };
                topics.insert(sub.topic.clone(), entry);
                true
            }
        }
    }

    /// Removes a subscription; true when it was the topic's last.
    pub(crate) fn remove(&self, sub: &Arc<Sub>) -> bool {
        let mut topics = lock(&self.topics);
        let Some(entry) = topics.get_mut(&sub.topic) else {
            return false;
        };
        let subs = Arc::make_mut(&mut entry.subs);
        if let Some(i) = subs.iter().position(|s| Arc::ptr_eq(s, sub)) {
            subs.swap_remove(i);
        }
        if subs.is_empty() {
            topics.remove(&sub.topic);
            return true;
        }
        false
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.topics).len()
    }

    /// Every topic's subscribers.
    pub(crate) fn all(&self) -> Vec<Subscribers> {
        lock(&self.topics).values().map(|e| e.subs.clone()).collect()
    }

    /// Local subscriber counts of the topics that `wanted` selects.
    pub(crate) fn counts(&self, wanted: impl Fn(&str) -> bool) -> Vec<(Arc<str>, u64)> {
        lock(&self.topics)
            .iter()
            .filter(|(topic, _)| wanted(topic))
            .map(|(topic, e)| (topic.clone(), e.subs.len() as u64))
            .collect()
    }

    pub(crate) fn presence(&self, topic: &str) -> Option<u64> {
        lock(&self.topics).get(topic).and_then(|e| e.presence)
    }

    /// Records a presence total of a topic held here; true when it changed.
    pub(crate) fn update_presence(&self, topic: &str, online: u64) -> bool {
        let mut topics = lock(&self.topics);
        let Some(entry) = topics.get_mut(topic) else {
            return false;
        };
        if entry.presence == Some(online) {
            return false;
        }
        entry.presence = Some(online);
        true
    }
}
