//! One connection's way out: its bounded queue, and `LiveBody`, the WebSocket response body that
//! drains that queue straight into actix-http.
//!
//! There is no writer task and no second channel: publishers (the broker sink, presence) push a
//! shared, already encoded `Frame` under a short per-connection lock and wake the connection's
//! actix-http dispatcher, which polls `LiveBody` and gets what is queued coalesced into one frame (up
//! to `MAX_BATCH_BYTES` per poll; the rest stays queued, shared, for the next poll). One wake per
//! write, the socket's own task, nothing per connection but the queue.
//! Publishers never wait; only this connection's reader waits for room (for its own replies), so a
//! client that does not read slows down only itself.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use actix_http::ws::OpCode;
use actix_web::body::{BodySize, MessageBody};
use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;

use crate::backlog::Backlog;
use crate::frames::{self, Frame, MAX_BATCH_BYTES, Reply};
use crate::stats::Counters;

/// Close codes of the live protocol (`spec/live.md`).
pub(crate) mod close {
    pub(crate) const NORMAL: u16 = 1000;
    pub(crate) const GOING_AWAY: u16 = 1001;
    pub(crate) const POLICY: u16 = 1008;
    pub(crate) const TOO_BIG: u16 = 1009;
    pub(crate) const TRY_AGAIN_LATER: u16 = 1013;
    pub(crate) const SIGNED_OUT: u16 = 4001;
    pub(crate) const TOO_SLOW: u16 = 4008;

    pub(crate) fn describe(code: u16) -> &'static str {
        match code {
            NORMAL => "bye",
            GOING_AWAY => "server going away",
            POLICY => "policy violation",
            TOO_BIG => "frame too big",
            TRY_AGAIN_LATER => "try again later",
            SIGNED_OUT => "signed out",
            TOO_SLOW => "too slow",
            _ => "closed",
        }
    }
}

/// Why a subscription was ended with `resync`.
pub(crate) mod reason {
    pub(crate) const TOO_SLOW: &str = "too slow";
    pub(crate) const BROKER_RECONNECTED: &str = "broker reconnected";
    pub(crate) const MISSED_EVENTS: &str = "missed events";
    pub(crate) const EPOCH_CHANGED: &str = "epoch changed";
    pub(crate) const HISTORY_GAP: &str = "gap not in history";
}

/// What of `MAX_BATCH_BYTES` the items of one poll may fill: the rest is for the coalesced frames'
/// headers (4 bytes each at this size) and array brackets (a control frame taken between texts
/// splits them into two arrays).
const BATCH_BUDGET: usize = MAX_BATCH_BYTES - 32;

/// Bytes an item adds to a poll's chunk: a text's JSON and its separator in the array, a control
/// frame whole (header and payload, which is at most 125 bytes).
fn wire_size(out: &Out) -> usize {
    match out {
        Out::Text(frame) => frame.len() + 1,
        Out::Resync(topic, reason) => topic.len() + reason.len() + 48,
        Out::Ping => 2,
        Out::Pong(payload) => payload.len() + 2,
    }
}

/// An item of the queue.
#[derive(Debug)]
pub(crate) enum Out {
    /// A JSON object, or a JSON array of objects (a replay chunk), shared with other connections.
    Text(Frame),
    /// A WebSocket ping from the server's heartbeat.
    Ping,
    /// The answer to a WebSocket ping from the client.
    Pong(Bytes),
    /// A `resync` for a topic: queued past the capacity (it is needed exactly when the queue is
    /// full), at most one per topic, and written after what was queued before it.
    Resync(Arc<str>, &'static str),
}

/// What happened to a `try_text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    Queued,
    Full,
    Closed,
}

/// The connection is closing or closed: nothing more will be written.
#[derive(Debug)]
pub(crate) struct Gone;

/// The shared half of a connection: publishers, the reader and the hub hold it; `LiveBody` drains it.
pub(crate) struct Outbox {
    state: Mutex<State>,
    /// Frames the queue holds before `try_text` answers `Full` (`HubSettings::queue_capacity`).
    capacity: usize,
    /// Notified when the body is gone (the connection ended).
    gone: Notify,
    /// The node's count of connections with untaken frames, which this one is in while `behind`.
    backlog: Arc<Backlog>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Out>,
    /// The dispatcher polling `LiveBody`, woken when something is queued.
    writer: Option<Waker>,
    /// This connection's reader, waiting for room in the queue.
    reader: Option<Waker>,
    /// Close now with this code, dropping what is queued (the hub's reasons).
    close_now: Option<u16>,
    /// Close with this code once what is queued is written (the client's reasons).
    close_after: Option<u16>,
    /// A queue overflow resynced a topic, and the client has sent nothing since (a client that
    /// reads answers the resync by subscribing again, and the heartbeat's pings with pongs).
    overflowed: bool,
    /// The body is gone: nothing more is taken.
    gone: bool,
    /// Counted in the node's backlog: a publisher woke the body, which has not been polled since
    /// (its socket's task waits in a worker's run queue). A body that is being served, or whose
    /// socket is full, does not count: waiting for it would not shorten any run queue.
    behind: bool,
}

impl State {
    fn set_behind(&mut self, behind: bool, backlog: &Backlog) {
        if self.behind != behind {
            self.behind = behind;
            if behind {
                backlog.add();
            } else {
                backlog.remove();
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves the state consistent and calls no foreign code (wakers are
    // woken after the lock is released).
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl Outbox {
    pub(crate) fn new(capacity: usize, backlog: Arc<Backlog>) -> Arc<Outbox> {
        Arc::new(Outbox {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            gone: Notify::new(),
            backlog,
        })
    }

    /// The queue, locked, to queue several items with one wake (see `Queue`).
    pub(crate) fn queue(&self) -> Queue<'_> {
        Queue {
            state: lock(&self.state),
            capacity: self.capacity,
            backlog: &self.backlog,
            wake_writer: false,
            wake_reader: false,
        }
    }

    /// Queues an item, waiting for room. Only this connection's reader uses it (for its own replies),
    /// so a client that does not read its replies slows down only its own requests.
    pub(crate) async fn send(&self, out: Out) -> Result<(), Gone> {
        self.room().await?;
        self.push(out)
    }

    /// Waits until the queue has room (this connection's reader only).
    pub(crate) async fn room(&self) -> Result<(), Gone> {
        poll_fn(|cx| {
            let mut state = lock(&self.state);
            if state.gone || state.close_now.is_some() {
                return Poll::Ready(Err(Gone));
            }
            if state.queue.len() < self.capacity {
                return Poll::Ready(Ok(()));
            }
            state.reader = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Queues an item whatever the queue holds. For the reader's `subscribed`, after waiting for
    /// `room` (a publisher may have taken that room meanwhile: the queue then holds one more).
    pub(crate) fn push(&self, out: Out) -> Result<(), Gone> {
        self.queue().push(out)
    }

    /// Queues a heartbeat ping ahead of everything queued: a backlog must not hold up the
    /// heartbeat, nor therefore the client's pong (at most one per ping interval, so it needs no room).
    pub(crate) fn ping(&self) {
        let mut queue = self.queue();
        if queue.open() {
            queue.state.queue.push_front(Out::Ping);
            queue.wake_writer = true;
        }
    }

    /// Asks for the connection to be closed with `code` now, dropping what is queued. For the hub's
    /// own reasons: too slow, shutting down, over the limit. The first request wins.
    pub(crate) fn request_close(&self, code: u16) {
        self.queue().close_now(code);
    }

    /// Asks for the connection to be closed with `code` once what is queued now is written. For the
    /// client's reasons: abuse, signed out, its own close. The first request wins.
    pub(crate) fn finish(&self, code: u16) {
        let mut state = lock(&self.state);
        if state.close_after.is_some() {
            return;
        }
        state.close_after = Some(code);
        let writer = state.writer.take();
        drop(state);
        wake(writer);
    }

    /// Has `reason` written as a `resync` for `topic` after what is queued now (unless one for the
    /// topic is already waiting).
    pub(crate) fn resync(&self, topic: &Arc<str>, reason: &'static str) {
        self.queue().resync(topic, reason);
    }

    /// The client sent something: it is reading, so a later overflow resyncs again.
    pub(crate) fn client_spoke(&self) {
        lock(&self.state).overflowed = false;
    }

    /// Forgets a resync not yet written for a topic the client just subscribed to again.
    pub(crate) fn cancel_resync(&self, topic: &str) {
        lock(&self.state)
            .queue
            .retain(|out| !matches!(out, Out::Resync(t, _) if &**t == topic));
    }

    /// Completes when the connection has ended (its body is gone).
    pub(crate) async fn closed(&self) {
        loop {
            let notified = self.gone.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if lock(&self.state).gone {
                return;
            }
            notified.await;
        }
    }
}

/// The queue, locked. What is queued through it wakes the writer once, when it is dropped (a
/// subscriber's share of a fan-out is several frames: one wake, one coalesced frame).
pub(crate) struct Queue<'a> {
    state: MutexGuard<'a, State>,
    capacity: usize,
    backlog: &'a Backlog,
    wake_writer: bool,
    wake_reader: bool,
}

impl Queue<'_> {
    fn open(&self) -> bool {
        !self.state.gone && self.state.close_now.is_none()
    }

    /// Queues a frame unless the queue is full.
    pub(crate) fn try_text(&mut self, frame: &Frame) -> Offer {
        if !self.open() {
            return Offer::Closed;
        }
        if self.state.queue.len() >= self.capacity {
            return Offer::Full;
        }
        self.state.queue.push_back(Out::Text(frame.clone()));
        self.wake_writer = true;
        Offer::Queued
    }

    /// Queues an item whatever the queue holds.
    pub(crate) fn push(&mut self, out: Out) -> Result<(), Gone> {
        if !self.open() {
            return Err(Gone);
        }
        self.state.queue.push_back(out);
        self.wake_writer = true;
        Ok(())
    }

    /// Queues a resync for `topic` unless one is queued.
    pub(crate) fn resync(&mut self, topic: &Arc<str>, reason: &'static str) {
        let queued = self
            .state
            .queue
            .iter()
            .any(|out| matches!(out, Out::Resync(t, _) if t == topic));
        if !queued && self.open() {
            self.state.queue.push_back(Out::Resync(topic.clone(), reason));
            self.wake_writer = true;
        }
    }

    /// The queue was full for a frame of `topic`. The first overflow resyncs the topic; another one
    /// before the client has sent anything since (it is not reading) closes the connection with 4008.
    /// Returns true when it closes.
    pub(crate) fn overflowed(&mut self, topic: &Arc<str>) -> bool {
        if self.state.overflowed {
            self.close_now(close::TOO_SLOW);
            return true;
        }
        self.state.overflowed = true;
        self.resync(topic, reason::TOO_SLOW);
        false
    }

    /// Closes with `code` now, dropping what is queued; the first request wins.
    fn close_now(&mut self, code: u16) {
        if self.state.close_now.is_none() {
            self.state.close_now = Some(code);
            self.state.queue.clear();
            // Closing: nothing more is taken from it, so it is no longer behind.
            self.state.set_behind(false, self.backlog);
            self.wake_writer = true;
            self.wake_reader = true;
        }
    }
}

impl Drop for Queue<'_> {
    fn drop(&mut self) {
        let writer = if self.wake_writer {
            self.state.writer.take()
        } else {
            None
        };
        if writer.is_some() && self.state.close_now.is_none() && !self.state.gone {
            self.state.set_behind(true, self.backlog);
        }
        let reader = if self.wake_reader {
            self.state.reader.take()
        } else {
            None
        };
        // The lock is released when `self.state` is dropped, after this; waking under it is fine
        // (a waker only schedules its task) and keeps this simple.
        wake(writer);
        wake(reader);
    }
}

/// The WebSocket response body of a live connection: actix-http's dispatcher polls it whenever it
/// can write, and gets what is queued, up to about `MAX_BATCH_BYTES` per poll, as one frame (a lone
/// text is the shared frame as it is; several become one JSON array; control frames go as they are).
pub(crate) struct LiveBody {
    outbox: Arc<Outbox>,
    counters: Arc<Counters>,
    /// What was taken from the queue this poll, encoded after the queue's lock is released so that
    /// publishers are not held up. Reused from poll to poll.
    taken: VecDeque<Out>,
    batch: Vec<Frame>,
    batch_bytes: usize,
    /// Encoded bytes of this poll when it is more than one shared frame. Handed over whole with the
    /// chunk (actix-http copies it into its write buffer and drops it), so that a connection keeps
    /// no buffer of its own between polls.
    out: BytesMut,
    /// The close frame is written: the body ends.
    done: bool,
}

impl LiveBody {
    pub(crate) fn new(outbox: Arc<Outbox>, counters: Arc<Counters>) -> Self {
        LiveBody {
            outbox,
            counters,
            taken: VecDeque::new(),
            batch: Vec::new(),
            batch_bytes: 0,
            out: BytesMut::new(),
            done: false,
        }
    }

    /// Turns what was taken into bytes: `Some` shared frame when it is exactly one text, otherwise
    /// everything is appended to `self.out`.
    fn encode(&mut self) -> Option<Bytes> {
        if self.taken.len() == 1
            && let Some(Out::Text(frame)) = self.taken.front()
        {
            let wire = frame.wire().clone();
            self.counters.frame_out(frame.len() as u64);
            self.taken.clear();
            return Some(wire);
        }
        while let Some(out) = self.taken.pop_front() {
            match out {
                Out::Text(frame) => self.add(frame),
                Out::Resync(topic, reason) => self.add(
                    Reply::Resync {
                        topic: &topic,
                        reason,
                    }
                    .to_frame(),
                ),
                Out::Ping => {
                    self.flush();
                    frames::put_control(&mut self.out, OpCode::Ping, b"");
                }
                Out::Pong(payload) => {
                    self.flush();
                    frames::put_control(&mut self.out, OpCode::Pong, &payload);
                }
            }
        }
        self.flush();
        None
    }

    fn add(&mut self, frame: Frame) {
        self.batch_bytes += frame.len();
        self.batch.push(frame);
        if self.batch_bytes >= MAX_BATCH_BYTES {
            self.flush();
        }
    }

    /// Appends the batch as one frame.
    fn flush(&mut self) {
        let frame = match self.batch.len() {
            0 => return,
            1 => self.batch.pop(),
            _ => Some(frames::join(&self.batch)),
        };
        self.batch.clear();
        self.batch_bytes = 0;
        if let Some(frame) = frame {
            self.counters.frame_out(frame.len() as u64);
            self.out.extend_from_slice(frame.wire());
        }
    }

    /// Gives back what this poll used, so that a connection between writes holds no slots. Slots kept
    /// from a burst (even a few per connection) were allocated among the burst's garbage and kept
    /// those allocator pages resident (measured: keeping 16 left 22.0 KiB per connection after the
    /// overloaded phase, keeping none 20.3).
    fn trim(&mut self) {
        if self.taken.capacity() > 0 {
            self.taken = VecDeque::new();
        }
        if self.batch.capacity() > 0 {
            self.batch = Vec::new();
        }
    }
}

impl MessageBody for LiveBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Infallible>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let outbox = this.outbox.clone();
        let mut state = lock(&outbox.state);
        state.set_behind(false, &outbox.backlog);
        let close = match (state.close_now, state.close_after) {
            (Some(code), _) => Some(code),
            (None, Some(code)) if state.queue.is_empty() => Some(code),
            _ => None,
        };
        if let Some(code) = close {
            state.queue.clear();
            let reader = state.reader.take();
            drop(state);
            wake(reader);
            this.done = true;
            tracing::debug!(code, "closing live connection");
            let mut out = BytesMut::new();
            frames::put_close(&mut out, code, close::describe(code));
            return Poll::Ready(Some(Ok(out.freeze())));
        }
        if state.queue.is_empty() {
            state.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        // At most one coalesced frame's worth per poll (`MAX_BATCH_BYTES` in all, or one larger frame
        // alone): what stays queued is shared with other connections, while what is taken is copied
        // into this connection's buffers, so a backlog never becomes a per-connection copy. With
        // actix-http flushing at the same size, its write buffer never outgrows its first 8 KiB.
        let mut bytes = 0;
        while let Some(out) = state.queue.front() {
            let size = wire_size(out);
            if bytes > 0 && bytes + size > BATCH_BUDGET {
                break;
            }
            bytes += size;
            if let Some(out) = state.queue.pop_front() {
                this.taken.push_back(out);
            }
        }
        if !state.queue.is_empty() {
            // More to come: be polled again once this is written.
            cx.waker().wake_by_ref();
        } else if state.queue.capacity() > 0 {
            // Drained: give back the slots (see `trim`).
            state.queue = VecDeque::new();
        }
        let reader = state.reader.take();
        drop(state);
        wake(reader);

        let bytes = match this.encode() {
            Some(shared) => shared,
            None => std::mem::take(&mut this.out).freeze(),
        };
        this.trim();
        Poll::Ready(Some(Ok(bytes)))
    }
}

impl Drop for LiveBody {
    fn drop(&mut self) {
        let mut state = lock(&self.outbox.state);
        state.gone = true;
        state.queue.clear();
        state.set_behind(false, &self.outbox.backlog);
        state.writer = None;
        let reader = state.reader.take();
        drop(state);
        wake(reader);
        self.outbox.gone.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use std::task::Wake;

    /// Counts its wakes.
    #[derive(Default)]
    struct Wakes(std::sync::atomic::AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn poll(body: &mut LiveBody, waker: &Arc<Wakes>) -> Poll<Option<Bytes>> {
        let waker = Waker::from(waker.clone());
        let mut cx = Context::from_waker(&waker);
        Pin::new(body).poll_next(&mut cx).map(|o| o.map(|r| r.unwrap()))
    }

    fn text(s: &str) -> Frame {
        Frame::text(s)
    }

    #[test]
    fn one_queued_frame_goes_out_as_the_shared_bytes_and_several_as_one_array() {
        let outbox = Outbox::new(8, Arc::default());
        let mut body = LiveBody::new(outbox.clone(), Arc::new(Counters::default()));
        let wakes = Arc::new(Wakes::default());
        assert_eq!(poll(&mut body, &wakes), Poll::Pending);

        let shared = text(r#"{"n":1}"#);
        assert_eq!(outbox.queue().try_text(&shared), Offer::Queued);
        assert_eq!(
            wakes.0.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the writer is woken"
        );
        let Poll::Ready(Some(bytes)) = poll(&mut body, &wakes) else {
            panic!()
        };
        assert_eq!(bytes.as_ptr(), shared.wire().as_ptr(), "not copied");

        for n in 2..=4 {
            outbox.queue().try_text(&text(&format!(r#"{{"n":{n}}}"#)));
        }
        let Poll::Ready(Some(bytes)) = poll(&mut body, &wakes) else {
            panic!()
        };
        assert_eq!(bytes, text(r#"[{"n":2},{"n":3},{"n":4}]"#).wire());
        assert_eq!(poll(&mut body, &wakes), Poll::Pending);
    }

    #[test]
    fn a_backlog_goes_out_a_frame_at_a_time_while_the_rest_stays_queued() {
        let outbox = Outbox::new(1000, Arc::default());
        let mut body = LiveBody::new(outbox.clone(), Arc::new(Counters::default()));
        let wakes = Arc::new(Wakes::default());
        // Several frames fit in one poll's chunk, and 40 fill several chunks.
        let pad = "x".repeat(MAX_BATCH_BYTES / 8);
        for n in 0..40 {
            let frame = text(&format!(r#"{{"n":{n},"pad":"{pad}"}}"#));
            assert_eq!(outbox.queue().try_text(&frame), Offer::Queued);
        }
        let mut seen = Vec::new();
        let mut polls = 0;
        while let Poll::Ready(Some(bytes)) = poll(&mut body, &wakes) {
            polls += 1;
            assert!(
                bytes.len() <= MAX_BATCH_BYTES,
                "{} bytes in one poll",
                bytes.len()
            );
            let mut buf = BytesMut::from(&bytes[..]);
            let (_, _, payload) = actix_http::ws::Parser::parse(&mut buf, false, usize::MAX)
                .unwrap()
                .unwrap();
            assert!(buf.is_empty(), "one frame per poll");
            // One text alone goes as it is, several as an array.
            let messages = match serde_json::from_slice(&payload.unwrap()).unwrap() {
                serde_json::Value::Array(all) => all,
                one => vec![one],
            };
            seen.extend(messages.iter().map(|m| m["n"].as_u64().unwrap()));
        }
        assert_eq!(seen, (0..40).collect::<Vec<_>>(), "everything, in order");
        assert!(
            lock(&outbox.state).queue.capacity() == 0,
            "the drained backlog's slots were given back"
        );
        assert_eq!(body.out.capacity(), 0, "no encoding buffer kept between polls");
        assert!(
            polls >= 3,
            "40 frames in chunks of at most {MAX_BATCH_BYTES} bytes: {polls} polls"
        );
        // Each poll that left something queued asked to be polled again.
        assert!(wakes.0.load(std::sync::atomic::Ordering::SeqCst) >= polls - 1);
    }

    #[test]
    fn the_backlog_counts_a_connection_from_its_wake_to_its_next_poll_and_pings_go_first() {
        let backlog = Arc::new(Backlog::default());
        let outbox = Outbox::new(8, backlog.clone());
        let mut body = LiveBody::new(outbox.clone(), Arc::new(Counters::default()));
        let wakes = Arc::new(Wakes::default());
        assert_eq!(poll(&mut body, &wakes), Poll::Pending);
        outbox.queue().try_text(&text("{}"));
        outbox.queue().try_text(&text("[]"));
        assert_eq!(backlog.len(), 1, "one wake, counted once");
        outbox.ping();
        let Poll::Ready(Some(bytes)) = poll(&mut body, &wakes) else {
            panic!()
        };
        assert_eq!(backlog.len(), 0, "polled");
        assert_eq!(&bytes[..2], &[0x89, 0x00], "the ping is ahead of the queued data");
        // Queued while the body is being served (no waker registered): no wake, not counted.
        outbox.queue().try_text(&text("{}"));
        assert_eq!(backlog.len(), 0);
        drop(body);
        assert_eq!(backlog.len(), 0);
    }

    #[test]
    fn a_full_queue_refuses_then_overflow_resyncs_and_a_second_one_while_silent_closes_with_4008() {
        let outbox = Outbox::new(2, Arc::default());
        let mut body = LiveBody::new(outbox.clone(), Arc::new(Counters::default()));
        let wakes = Arc::new(Wakes::default());
        let topic: Arc<str> = "session:s".into();
        assert_eq!(outbox.queue().try_text(&text("{}")), Offer::Queued);
        assert_eq!(outbox.queue().try_text(&text("{}")), Offer::Queued);
        assert_eq!(outbox.queue().try_text(&text("{}")), Offer::Full);
        assert!(!outbox.queue().overflowed(&topic), "the first overflow resyncs");
        // The resync is queued past the capacity, once.
        outbox.resync(&topic, reason::MISSED_EVENTS);
        let Poll::Ready(Some(bytes)) = poll(&mut body, &wakes) else {
            panic!()
        };
        let resync = Reply::Resync {
            topic: &topic,
            reason: reason::TOO_SLOW,
        }
        .to_frame();
        assert_eq!(bytes, frames::join(&[text("{}"), text("{}"), resync]).wire());

        // The client speaks (it reads): the next overflow resyncs again; one more before it speaks
        // again closes.
        outbox.client_spoke();
        outbox.queue().try_text(&text("{}"));
        outbox.queue().try_text(&text("{}"));
        assert!(!outbox.queue().overflowed(&topic));
        assert!(
            outbox.queue().overflowed(&topic),
            "second overflow while the client is silent"
        );
        let Poll::Ready(Some(bytes)) = poll(&mut body, &wakes) else {
            panic!()
        };
        let mut close = BytesMut::new();
        frames::put_close(&mut close, close::TOO_SLOW, "too slow");
        assert_eq!(
            bytes,
            close.freeze(),
            "queued frames are dropped, the close goes out"
        );
        assert_eq!(poll(&mut body, &wakes), Poll::Ready(None));
        assert_eq!(outbox.queue().try_text(&text("{}")), Offer::Closed);
    }

    #[test]
    fn finish_writes_what_is_queued_then_closes() {
        let outbox = Outbox::new(4, Arc::default());
        let mut body = LiveBody::new(outbox.clone(), Arc::new(Counters::default()));
        let wakes = Arc::new(Wakes::default());
        outbox.push(Out::Text(text(r#"{"e":1}"#))).unwrap();
        outbox.push(Out::Ping).unwrap();
        outbox.finish(close::POLICY);
        let Poll::Ready(Some(bytes)) = poll(&mut body, &wakes) else {
            panic!()
        };
        let mut expected = BytesMut::from(&text(r#"{"e":1}"#).wire()[..]);
        frames::put_control(&mut expected, OpCode::Ping, b"");
        assert_eq!(bytes, expected.freeze());
        let Poll::Ready(Some(bytes)) = poll(&mut body, &wakes) else {
            panic!()
        };
        let mut close = BytesMut::new();
        frames::put_close(&mut close, close::POLICY, "policy violation");
        assert_eq!(bytes, close.freeze());
        assert_eq!(poll(&mut body, &wakes), Poll::Ready(None));
    }

    #[tokio::test]
    async fn the_reader_waits_for_room_and_learns_when_the_body_is_gone() {
        let outbox = Outbox::new(1, Arc::default());
        let mut body = LiveBody::new(outbox.clone(), Arc::new(Counters::default()));
        let wakes = Arc::new(Wakes::default());
        outbox.send(Out::Text(text("{}"))).await.unwrap();
        let waiting = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.send(Out::Text(text("[]"))).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "full: the reader waits");
        assert!(matches!(poll(&mut body, &wakes), Poll::Ready(Some(_))));
        waiting.await.unwrap().unwrap();

        let closed = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.closed().await }
        });
        tokio::task::yield_now().await;
        assert!(!closed.is_finished());
        drop(body);
        closed.await.unwrap();
        assert!(outbox.send(Out::Ping).await.is_err());
    }
}
