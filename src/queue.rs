//! Bounded event buffers: the callback backlog and the `FLAG_EVENT_QUEUE` queue with its wake-up
//! fd.
//!
//! A buffer holds at most `limit` events. When an event does not fit (the limit is reached, or
//! memory for it cannot be had) it is not stored: it is counted in a gap that stands after the
//! stored events, and every later event joins the gap until the reader has taken it. The reader
//! then gets one `EventKind::Overflow` event (how many were dropped, the seq of the newest) and
//! resynchronises from the snapshot. Nothing is lost silently and nothing aborts.

use std::collections::VecDeque;

use crate::error::Result;
use crate::rules::EventKind;
use crate::state::Event;
use crate::wakeup::Wakeup;

// The default `limit` of a peer's buffers and the largest one `pcstate_peer_set_event_limit`
// accepts, defined with the C ABI's constants.
pub(crate) use crate::constants::{
    PCSTATE_DEFAULT_EVENT_LIMIT as DEFAULT_LIMIT, PCSTATE_MAX_EVENT_LIMIT as MAX_LIMIT,
};

/// Events dropped since the reader last took the gap.
#[derive(Copy, Clone, Debug, Default)]
struct Gap {
    dropped: u64,
    newest_seq: u64,
    time_ns: u64,
}

/// A FIFO of at most `limit` events followed by an optional gap.
#[derive(Debug)]
pub(crate) struct EventBuffer {
    events: VecDeque<Event>,
    gap: Option<Gap>,
    limit: u32,
}

impl EventBuffer {
    pub(crate) fn new(limit: u32) -> Self {
        EventBuffer {
            events: VecDeque::new(),
            gap: None,
            limit,
        }
    }

    pub(crate) fn set_limit(&mut self, limit: u32) {
        self.limit = limit;
    }

    /// Whether neither an event nor a gap is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.events.is_empty() && self.gap.is_none()
    }

    /// Stores `e`, or counts it in the gap when it does not fit.
    pub(crate) fn push(&mut self, e: Event) {
        let fits = self.gap.is_none()
            && self.events.len() < self.limit as usize
            && self.events.try_reserve(1).is_ok();
        if fits {
            self.events.push_back(e);
            return;
        }
        let gap = self.gap.get_or_insert_default();
        gap.dropped += 1;
        gap.newest_seq = e.seq;
        gap.time_ns = e.time_ns;
    }

    /// Takes the oldest event, or the overflow event for the gap once the stored ones are taken.
    pub(crate) fn pop(&mut self) -> Option<Event> {
        if let Some(e) = self.events.pop_front() {
            if self.events.is_empty() && self.events.capacity() > 64 {
                // A drained burst gives its memory back (no allocation: the new deque is empty).
                self.events = VecDeque::new();
            }
            return Some(e);
        }
        let gap = self.gap.take()?;
        Some(Event {
            seq: gap.newest_seq,
            time_ns: gap.time_ns,
            kind: EventKind::Overflow,
            old_state: u32::try_from(gap.dropped).unwrap_or(u32::MAX),
            new_state: 0,
            transport: 0,
        })
    }
}

/// The queue of `FLAG_EVENT_QUEUE`. Its wake-up fd (see `wakeup`) is made readable by every
/// event stored or dropped, by close and by free, and reset when `pop` finds nothing left, so a
/// reader that reads the fd itself loses no later wakeup.
pub(crate) struct EventQueue {
    buffer: EventBuffer,
    wakeup: Wakeup,
}

impl EventQueue {
    /// A new queue; `Limit` when no wake-up fd can be had (the process or system fd limit).
    pub(crate) fn new(limit: u32) -> Result<Self> {
        Ok(EventQueue {
            buffer: EventBuffer::new(limit),
            wakeup: Wakeup::new()?,
        })
    }

    pub(crate) fn fd(&self) -> libc::c_int {
        self.wakeup.fd()
    }

    pub(crate) fn set_limit(&mut self, limit: u32) {
        self.buffer.set_limit(limit);
    }

    pub(crate) fn push(&mut self, e: Event) {
        self.buffer.push(e);
        self.wake();
    }

    /// Makes the fd readable.
    pub(crate) fn wake(&self) {
        self.wakeup.wake();
    }

    /// The oldest event (or the overflow event); `None` when nothing is left, which also resets
    /// the fd.
    pub(crate) fn pop(&mut self) -> Option<Event> {
        let e = self.buffer.pop();
        if self.buffer.is_empty() {
            self.wakeup.reset();
        }
        e
    }
}

// Dropping the queue drops its `Wakeup`, which wakes a thread blocked in poll() on the fd and
// closes it.

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64) -> Event {
        Event {
            seq,
            time_ns: seq * 10,
            kind: EventKind::ConnectionState,
            old_state: 0,
            new_state: 1,
            transport: 1,
        }
    }

    #[test]
    fn overflow_is_counted_and_reported_in_order() {
        let mut b = EventBuffer::new(3);
        (1..=10).for_each(|s| b.push(ev(s)));
        let seqs: Vec<_> = std::iter::from_fn(|| b.pop()).collect();
        assert_eq!(
            seqs.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 10]
        );
        let gap = seqs[3];
        assert_eq!(
            (gap.kind, gap.old_state, gap.time_ns),
            (EventKind::Overflow, 7, 100)
        );
        assert!(b.is_empty());
        // While a gap stands, later events join it even when there is room again.
        (11..=13).for_each(|s| b.push(ev(s)));
        b.push(ev(14));
        assert_eq!(b.pop().unwrap().seq, 11);
        b.push(ev(15));
        assert_eq!(b.pop().unwrap().seq, 12);
        assert_eq!(b.pop().unwrap().seq, 13);
        let gap = b.pop().unwrap();
        assert_eq!(
            (gap.kind, gap.old_state, gap.seq),
            (EventKind::Overflow, 2, 15)
        );
        assert!(b.pop().is_none());
    }

    #[test]
    fn drained_buffers_give_memory_back() {
        let mut b = EventBuffer::new(MAX_LIMIT);
        (1..=1000).for_each(|s| b.push(ev(s)));
        assert!(b.events.capacity() >= 1000);
        while b.pop().is_some() {}
        assert_eq!(b.events.capacity(), 0);
    }
}
