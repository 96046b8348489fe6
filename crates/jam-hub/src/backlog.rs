//! The node's backlog: how many connections have frames queued that their socket's task has not
//! taken yet. Outboxes count themselves in and out; the fan-out waits on it (see `fanout`).

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Connections with untaken frames above which the fan-out waits (see `fanout`).
pub(crate) const BACKLOG_LIMIT: usize = 1024;

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

    use std::sync::Arc;
    use std::time::Duration;

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
