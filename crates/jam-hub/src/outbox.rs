//! One connection's way out: its bounded queue, the signals that bypass the queue (close, resync), and
//! the writer task that owns the actix-ws `Session` and coalesces what is queued into one frame.
//!
//! Why a separate writer: awaiting `Session::text` blocks while actix's own per-connection channel is
//! full, so whoever awaits it must be this connection's task and nobody else's. Publishers (the broker
//! sink, presence) only ever `try_send` into the queue and move on.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_ws::{CloseCode, CloseReason, Session};
use bytes::Bytes;
use bytestring::ByteString;
use tokio::sync::Notify;
use tokio::sync::mpsc::{self, Permit, Receiver, Sender, error::TrySendError};

use crate::frames::{self, MAX_BATCH_BYTES, Reply};
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

/// An item of the queue. Kept to one word-sized payload: an idle connection's queue allocates one
/// block of 32 slots up front (tokio's mpsc), so the item size is paid 32 times per connection.
#[derive(Debug)]
pub(crate) enum Out {
    /// A JSON object, or a JSON array of objects (a replay chunk), shared with other connections.
    Text(ByteString),
    /// A WebSocket ping from the server's heartbeat.
    Ping,
    /// The answer to a WebSocket ping from the client.
    Pong(Bytes),
}

/// What happened to a `try_text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    Queued,
    Full,
    Closed,
}

/// The writer is gone (the connection is closing or closed).
#[derive(Debug)]
pub(crate) struct Gone;

/// The shared half of a connection: publishers, the reader and the hub hold it; the writer drains it.
pub(crate) struct Outbox {
    /// The bounded queue (`HubSettings::queue_capacity` frames). Never awaited by anyone but this
    /// connection's own reader, so a full queue stalls nobody else.
    tx: Sender<Out>,
    /// Wakes the writer for work that is not in the queue (a close request, resyncs), including while
    /// it is blocked handing a frame to a socket that does not drain.
    wake: Notify,
    /// The close code requested for this connection, to be sent at once; 0 while none is. The
    /// first request wins.
    close_now: AtomicU16,
    /// A close code to be sent after what is queued now (the client's own replies, such as the
    /// errors that led to a 1008); 0 while none is.
    close_after: AtomicU16,
    /// Resyncs waiting to be written. Outside the queue, because they are needed exactly when the
    /// queue is full.
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    resyncs: Vec<(Arc<str>, &'static str)>,
    /// A queue overflow's resync is among `resyncs`: the client has not read since it fell behind.
    overflowed: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves the state consistent and calls no foreign code.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Outbox {
    pub(crate) fn new(capacity: usize) -> (Arc<Outbox>, Receiver<Out>) {
        // tokio panics on a zero capacity.
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let outbox = Outbox {
            tx,
            wake: Notify::new(),
            close_now: AtomicU16::new(0),
            close_after: AtomicU16::new(0),
            pending: Mutex::new(Pending::default()),
        };
        (Arc::new(outbox), rx)
    }

    /// Queues a frame without waiting. Used by everything that serves more than this connection.
    pub(crate) fn try_text(&self, text: &ByteString) -> Offer {
        match self.tx.try_send(Out::Text(text.clone())) {
            Ok(()) => Offer::Queued,
            Err(TrySendError::Full(_)) => Offer::Full,
            Err(TrySendError::Closed(_)) => Offer::Closed,
        }
    }

    /// Queues an item, waiting for room. Only this connection's reader uses it (for its own replies),
    /// so a client that does not read its replies slows down only its own requests.
    pub(crate) async fn send(&self, out: Out) -> Result<(), Gone> {
        self.tx.send(out).await.map_err(|_| Gone)
    }

    /// Queues a heartbeat ping unless the queue is full (then the writer is busy anyway).
    pub(crate) fn try_ping(&self) {
        let _ = self.tx.try_send(Out::Ping);
    }

    /// Reserves a slot in the queue, waiting for room (this connection's reader only).
    pub(crate) async fn reserve(&self) -> Result<Permit<'_, Out>, Gone> {
        self.tx.reserve().await.map_err(|_| Gone)
    }

    /// Asks the writer to close the connection with `code` now, dropping what is queued. For the
    /// hub's own reasons: too slow, shutting down. The first request wins.
    pub(crate) fn request_close(&self, code: u16) {
        if self
            .close_now
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.wake.notify_one();
        }
    }

    /// Asks the writer to close the connection with `code` once it has written what is queued now
    /// (bounded by the close wait). For the client's reasons: abuse, signed out, silence, its close.
    pub(crate) fn finish(&self, code: u16) {
        if self
            .close_after
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.wake.notify_one();
        }
    }

    fn code(cell: &AtomicU16) -> Option<u16> {
        match cell.load(Ordering::Acquire) {
            0 => None,
            code => Some(code),
        }
    }

    fn close_now_code(&self) -> Option<u16> {
        Self::code(&self.close_now)
    }

    /// Has `reason` written as a `resync` for `topic` after what is queued now.
    pub(crate) fn resync(&self, topic: &Arc<str>, reason: &'static str) {
        {
            let mut pending = lock(&self.pending);
            if pending.resyncs.iter().any(|(t, _)| t == topic) {
                return;
            }
            pending.resyncs.push((topic.clone(), reason));
        }
        self.wake.notify_one();
    }

    /// The queue was full for a frame of `topic`. The first overflow resyncs the topic; an overflow
    /// while that resync is still unwritten (the client has not read anything since) closes the
    /// connection with 4008. Returns true when it closes.
    pub(crate) fn overflowed(&self, topic: &Arc<str>) -> bool {
        {
            let mut pending = lock(&self.pending);
            if !pending.overflowed {
                pending.overflowed = true;
                if !pending.resyncs.iter().any(|(t, _)| t == topic) {
                    pending.resyncs.push((topic.clone(), reason::TOO_SLOW));
                }
                drop(pending);
                self.wake.notify_one();
                return false;
            }
        }
        self.request_close(close::TOO_SLOW);
        true
    }

    /// Forgets a resync not yet written for a topic the client just subscribed to again.
    pub(crate) fn cancel_resync(&self, topic: &str) {
        lock(&self.pending).resyncs.retain(|(t, _)| &**t != topic);
    }

    fn take_resyncs(&self) -> Vec<(Arc<str>, &'static str)> {
        let mut pending = lock(&self.pending);
        pending.overflowed = false;
        std::mem::take(&mut pending.resyncs)
    }

    /// Completes when the writer has finished (the queue's receiver is gone).
    pub(crate) async fn closed(&self) {
        self.tx.closed().await;
    }
}

/// Why the writer stopped.
enum Stop {
    /// Close the WebSocket with this code.
    Close(u16),
    /// The session is gone (the client disconnected, or the close is already sent).
    Gone,
}

/// A frame on its way into actix-ws.
enum Wire {
    Text(ByteString),
    Ping,
    Pong(Bytes),
}

/// The connection's one writer: drains the queue, coalescing everything queued at that moment into
/// as few text frames as `MAX_BATCH_BYTES` allows (one object as-is, several as a JSON array).
pub(crate) struct Writer {
    outbox: Arc<Outbox>,
    rx: Receiver<Out>,
    session: Session,
    counters: Arc<Counters>,
    /// How long a closing connection gets to take its close frame before it is dropped.
    close_wait: Duration,
    batch: Vec<ByteString>,
    batch_bytes: usize,
}

impl Writer {
    pub(crate) fn new(
        outbox: Arc<Outbox>,
        rx: Receiver<Out>,
        session: Session,
        counters: Arc<Counters>,
        close_wait: Duration,
    ) -> Self {
        Writer {
            outbox,
            rx,
            session,
            counters,
            close_wait,
            batch: Vec::new(),
            batch_bytes: 0,
        }
    }

    pub(crate) async fn run(mut self) {
        let stop = self.serve().await;
        if let Stop::Close(code) = stop {
            let reason = CloseReason {
                code: CloseCode::from(code),
                description: Some(close::describe(code).to_owned()),
            };
            tracing::debug!(code, "closing live connection");
            // The socket may not be draining (that may be why it closes): bounded wait, then drop.
            let _ = tokio::time::timeout(self.close_wait, self.session.close(Some(reason))).await;
        }
        // Dropping the receiver fails later publishes fast and wakes the reader (`Outbox::closed`).
    }

    async fn serve(&mut self) -> Stop {
        loop {
            if let Some(code) = self.outbox.close_now_code() {
                return Stop::Close(code);
            }
            if let Some(code) = Outbox::code(&self.outbox.close_after) {
                let due = self.rx.len();
                let wait = self.close_wait;
                let last_words = async {
                    self.drain(due).await?;
                    self.flush().await
                };
                return match tokio::time::timeout(wait, last_words).await {
                    Ok(Err(stop)) => stop,
                    Ok(Ok(())) | Err(_) => Stop::Close(code),
                };
            }
            // Resyncs go out after everything queued before they were taken: a resync follows the
            // last event the client got for its topic, never precedes one.
            let resyncs = self.outbox.take_resyncs();
            if !resyncs.is_empty() {
                let due = self.rx.len();
                let step = async {
                    self.drain(due).await?;
                    for (topic, reason) in &resyncs {
                        let text = Reply::Resync { topic, reason }.to_text();
                        self.take(Out::Text(text)).await?;
                    }
                    self.flush().await
                };
                if let Err(stop) = step.await {
                    return stop;
                }
                continue;
            }
            let out = tokio::select! {
                biased;
                () = self.outbox.wake.notified() => continue,
                out = self.rx.recv() => out,
            };
            let Some(out) = out else {
                return Stop::Gone;
            };
            let step = async {
                self.take(out).await?;
                // Everything queued right now goes out with it; what arrives meanwhile waits a turn.
                let due = self.rx.len();
                self.drain(due).await?;
                self.flush().await
            };
            if let Err(stop) = step.await {
                return stop;
            }
        }
    }

    async fn drain(&mut self, due: usize) -> Result<(), Stop> {
        for _ in 0..due {
            match self.rx.try_recv() {
                Ok(out) => self.take(out).await?,
                Err(_) => break,
            }
        }
        Ok(())
    }

    async fn take(&mut self, out: Out) -> Result<(), Stop> {
        match out {
            Out::Text(text) => {
                self.batch_bytes += text.len();
                self.batch.push(text);
                if self.batch_bytes >= MAX_BATCH_BYTES {
                    self.flush().await?;
                }
                Ok(())
            }
            Out::Ping => {
                self.flush().await?;
                self.send(Wire::Ping).await
            }
            Out::Pong(payload) => {
                self.flush().await?;
                self.send(Wire::Pong(payload)).await
            }
        }
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        let frame = match self.batch.len() {
            0 => return Ok(()),
            1 => self.batch.pop(),
            _ => Some(frames::join(&self.batch)),
        };
        self.batch.clear();
        self.batch_bytes = 0;
        if self.batch.capacity() > 16 {
            // Do not keep a burst's worth of slots on an idle connection.
            self.batch = Vec::new();
        }
        let Some(frame) = frame else {
            return Ok(());
        };
        let len = frame.len() as u64;
        self.send(Wire::Text(frame)).await?;
        self.counters.frame_out(len);
        Ok(())
    }

    /// Hands one frame to actix-ws. Waits while actix's channel is full (the socket is not draining),
    /// but gives up at once when the connection is to close now, and within the close wait when it is
    /// to close after its queue: a closing connection never waits on its client for longer.
    async fn send(&mut self, wire: Wire) -> Result<(), Stop> {
        let Writer {
            session,
            outbox,
            close_wait,
            ..
        } = self;
        let send = async {
            match wire {
                Wire::Text(text) => session.text(text).await,
                Wire::Ping => session.ping(b"").await,
                Wire::Pong(payload) => session.pong(&payload).await,
            }
        };
        tokio::pin!(send);
        let mut give_up: Option<(u16, tokio::time::Instant)> = None;
        loop {
            if let Some(code) = outbox.close_now_code() {
                return Err(Stop::Close(code));
            }
            if give_up.is_none()
                && let Some(code) = Outbox::code(&outbox.close_after)
            {
                give_up = Some((code, tokio::time::Instant::now() + *close_wait));
            }
            let deadline = give_up.map(|(_, at)| at);
            tokio::select! {
                biased;
                sent = &mut send => return sent.map_err(|_| Stop::Gone),
                // A resync wakes this too: `serve` looks for resyncs before it waits again.
                () = outbox.wake.notified() => {}
                () = sleep_until_some(deadline) => {
                    if let Some((code, _)) = give_up {
                        return Err(Stop::Close(code));
                    }
                }
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_slot_and_the_shared_half_stay_small() {
        // An idle connection pays for one block of 32 slots (tokio mpsc) plus the `Outbox`.
        eprintln!(
            "Out {} B, Outbox {} B",
            std::mem::size_of::<Out>(),
            std::mem::size_of::<Outbox>()
        );
        assert!(std::mem::size_of::<Out>() <= 40);
        assert!(std::mem::size_of::<Outbox>() <= 128);
    }
}
