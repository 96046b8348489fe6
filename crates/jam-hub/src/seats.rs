//! Live connections per sign-in: one cookie may hold at most `max_per_sign_in` sockets on this node
//! (a person has a few tabs and devices; a script with one cookie could otherwise take every socket
//! of the node). A connection holds a [`Seat`] for its whole life; dropping it gives the seat back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Open connections by sign-in (token hash).
#[derive(Default)]
pub(crate) struct Seats {
    /// Held only to bump or drop one count, never across an await.
    taken: Mutex<HashMap<Arc<str>, usize>>,
}

/// One connection's place; gives it back when dropped.
pub(crate) struct Seat {
    seats: Arc<Seats>,
    sign_in: Arc<str>,
}

impl Seats {
    /// A seat for `sign_in`, or `None` when it already holds `max` (0 = no limit).
    pub(crate) fn take(self: &Arc<Self>, sign_in: &str, max: usize) -> Option<Seat> {
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        let key: Arc<str> = sign_in.into();
        let n = taken.entry(key.clone()).or_insert(0);
        if max > 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(Seat {
            seats: self.clone(),
            sign_in: key,
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut taken = self.seats.taken.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = taken.get_mut(&self.sign_in) {
            *n -= 1;
            if *n == 0 {
                taken.remove(&self.sign_in);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_holds_at_most_max_seats_and_gets_them_back_when_dropped() {
        let seats = Arc::new(Seats::default());
        let held: Vec<Seat> = (0..3).filter_map(|_| seats.take("a", 3)).collect();
        assert_eq!(held.len(), 3);
        assert!(seats.take("a", 3).is_none());
        assert!(seats.take("b", 3).is_some(), "another sign-in has its own");
        drop(held);
        assert!(seats.take("a", 3).is_some());
        assert!(seats.taken.lock().unwrap_or_else(PoisonError::into_inner).len() <= 1);
    }
}
