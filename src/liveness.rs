//! Liveness deadlines of one peer: which transport to look at next, by the caller's clock.
//!
//! A transport watched by liveness has one current check, a (deadline, id, check) item in a
//! min-heap; rescheduling it bumps the transport's `check` number, which makes older items
//! stale (skipped when they surface). `note_alive` only stores a time: the check that surfaces
//! later sees the newer time and reschedules itself, so a packet costs no heap operation.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::error::{Result, ResultCode};

/// A scheduled look at transport `id`, valid while the transport's check number is `check`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Due {
    pub deadline: u64,
    pub id: u32,
    pub check: u8,
}

/// The liveness settings and schedule of a peer (boxed: most peers never turn it on).
#[derive(Debug)]
pub(crate) struct Liveness {
    /// Nothing noted alive for this long: disconnected.
    pub disconnected_after: u64,
    /// Nothing noted alive for this long: failed (0: never).
    pub failed_after: u64,
    heap: BinaryHeap<Reverse<Due>>,
}

impl Liveness {
    /// Checks the settings: `disconnected_after` > 0, and `failed_after` 0 or greater than it.
    pub(crate) fn new(disconnected_after: u64, failed_after: u64) -> Result<Self> {
        if disconnected_after == 0 || (failed_after != 0 && failed_after <= disconnected_after) {
            return Err(ResultCode::InvalidArgument);
        }
        Ok(Liveness {
            disconnected_after,
            failed_after,
            heap: BinaryHeap::new(),
        })
    }

    /// Room for `n` more items, so that `schedule` cannot fail after a change was made.
    pub(crate) fn reserve(&mut self, n: usize) -> Result<()> {
        self.heap.try_reserve(n).map_err(|_| ResultCode::NoMemory)
    }

    /// Keeps only the items `current` accepts (to drop stale ones); allocates nothing.
    pub(crate) fn retain(&mut self, mut current: impl FnMut(&Due) -> bool) {
        self.heap.retain(|Reverse(d)| current(d));
    }

    /// Schedules a look (room reserved before).
    pub(crate) fn schedule(&mut self, due: Due) {
        self.heap.push(Reverse(due));
    }

    /// The earliest item whose deadline is at or before `now`, taken out.
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Due> {
        match self.heap.peek() {
            Some(Reverse(d)) if d.deadline <= now => self.heap.pop().map(|Reverse(d)| d),
            _ => None,
        }
    }

    /// The earliest deadline scheduled (stale items included: a tick then finds nothing to do),
    /// `u64::MAX` when none.
    pub(crate) fn next_deadline(&self) -> u64 {
        self.heap.peek().map_or(u64::MAX, |Reverse(d)| d.deadline)
    }

    /// How many items are scheduled, stale ones included.
    pub(crate) fn scheduled(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert!(Liveness::new(0, 0).is_err());
        assert!(Liveness::new(0, 5).is_err());
        assert!(Liveness::new(5, 5).is_err());
        assert!(Liveness::new(5, 4).is_err());
        assert!(Liveness::new(5, 0).is_ok());
        assert!(Liveness::new(5, 6).is_ok());
    }

    #[test]
    fn earliest_first() {
        let mut l = Liveness::new(10, 0).unwrap();
        for (deadline, id) in [(30, 1), (10, 2), (20, 3)] {
            l.reserve(1).unwrap();
            l.schedule(Due {
                deadline,
                id,
                check: 0,
            });
        }
        assert_eq!(l.next_deadline(), 10);
        assert_eq!(l.pop_due(9), None);
        assert_eq!(l.pop_due(25).map(|d| d.id), Some(2));
        assert_eq!(l.pop_due(25).map(|d| d.id), Some(3));
        assert_eq!(l.pop_due(25), None);
        assert_eq!(l.next_deadline(), 30);
    }
}
