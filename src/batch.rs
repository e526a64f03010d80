//! What one call committed: a [`Batch`] of aggregate changes, and the [`Event`]s made from it when
//! they are delivered or queued.

use crate::rules::{EventKind, Packed};

/// A committed change of one aggregate.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// 1, 2, 3, ... per peer, no gaps.
    pub seq: u64,
    /// CLOCK_MONOTONIC, in nanoseconds, when the change was committed.
    pub time_ns: u64,
    pub kind: EventKind,
    pub old_state: u32,
    pub new_state: u32,
    /// The transport whose add, remove or set caused it; 0 for close.
    pub transport: u32,
}

/// The events of one call: one per aggregate whose value differs between `old` and `new`, in
/// the order of [`crate::rules::Aggregate`], numbered from `first_seq`. 32 bytes, built only when
/// something changed; `Event`s are made when they are delivered or queued.
#[derive(Copy, Clone, Debug, Default)]
pub struct Batch {
    time_ns: u64,
    first_seq: u64,
    transport: u32,
    old: Packed,
    new: Packed,
}

impl Batch {
    /// The batch's events, in commit order.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.old.changed(self.new).enumerate().map(|(i, a)| Event {
            seq: self.first_seq + i as u64,
            time_ns: self.time_ns,
            kind: a.event_kind(),
            old_state: self.old.get(a).into(),
            new_state: self.new.get(a).into(),
            transport: self.transport,
        })
    }

    /// The events of a commit at `time_ns` that changed the aggregates from `old` to `new`,
    /// numbered from `first_seq`, caused by `transport`.
    pub(crate) fn new(
        time_ns: u64,
        first_seq: u64,
        transport: u32,
        old: Packed,
        new: Packed,
    ) -> Batch {
        Batch {
            time_ns,
            first_seq,
            transport,
            old,
            new,
        }
    }

    /// Whether the call committed no event.
    pub fn is_empty(&self) -> bool {
        self.old == self.new
    }
}
