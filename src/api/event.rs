//! The Rust API's events: a committed change of one aggregate, or an overflow, typed.

use std::fmt;

use crate::rules::{ConnectionState, EventKind, IceConnectionState, IceGatheringState};
use crate::state;

/// A change of one of a peer's aggregate states (or an overflow), as `pcstate_event` carries it:
/// given to the [`on_event`](crate::PeerConnection::on_event) callback, returned by
/// [`poll_event`](crate::PeerConnection::poll_event) and
/// [`history`](crate::PeerConnection::history).
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Event(pub(crate) state::Event);

/// What an [`Event`] reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// `iceconnectionstatechange`.
    IceConnectionState {
        /// The value before.
        old: IceConnectionState,
        /// The value after.
        new: IceConnectionState,
    },
    /// `connectionstatechange`.
    ConnectionState {
        /// The value before.
        old: ConnectionState,
        /// The value after.
        new: ConnectionState,
    },
    /// `icegatheringstatechange`.
    IceGatheringState {
        /// The value before.
        old: IceGatheringState,
        /// The value after.
        new: IceGatheringState,
    },
    /// Not a state change: the peer's event limit was reached (in the event queue, or in the
    /// backlog of a slow callback) and events were dropped; the event's [`seq`](Event::seq) is
    /// the newest dropped one. Read [`snapshot`](crate::PeerConnection::snapshot) to
    /// resynchronise.
    Overflow {
        /// How many events were dropped (saturating).
        dropped: u32,
    },
}

/// A state number the engine committed, as its enum (always in range).
fn valid<T>(v: u32, from: fn(u32) -> Option<T>) -> T {
    from(v).expect("pcstate commits only valid states")
}

impl Event {
    /// 1, 2, 3, ... per peer, across all kinds, no gaps.
    pub fn seq(&self) -> u64 {
        self.0.seq
    }

    /// CLOCK_MONOTONIC, in nanoseconds, when the change was committed (see [`now_ns`](crate::now_ns)).
    pub fn time_ns(&self) -> u64 {
        self.0.time_ns
    }

    /// The transport whose add, remove or set caused the change (for a liveness tick, the first
    /// that changed); `None` for close and for an overflow.
    pub fn transport(&self) -> Option<u32> {
        (self.0.transport != 0).then_some(self.0.transport)
    }

    /// Which aggregate changed, or [`EventKind::Overflow`].
    pub fn kind(&self) -> EventKind {
        self.0.kind
    }

    /// The change, typed.
    pub fn change(&self) -> Change {
        let (old, new) = (self.0.old_state, self.0.new_state);
        match self.0.kind {
            EventKind::IceConnectionState => Change::IceConnectionState {
                old: valid(old, IceConnectionState::from_u32),
                new: valid(new, IceConnectionState::from_u32),
            },
            EventKind::ConnectionState => Change::ConnectionState {
                old: valid(old, ConnectionState::from_u32),
                new: valid(new, ConnectionState::from_u32),
            },
            EventKind::IceGatheringState => Change::IceGatheringState {
                old: valid(old, IceGatheringState::from_u32),
                new: valid(new, IceGatheringState::from_u32),
            },
            EventKind::Overflow => Change::Overflow { dropped: old },
        }
    }

    /// The new `connectionState` when this event is a `connectionstatechange`.
    pub fn connection_state(&self) -> Option<ConnectionState> {
        match self.change() {
            Change::ConnectionState { new, .. } => Some(new),
            _ => None,
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("seq", &self.seq())
            .field("time_ns", &self.time_ns())
            .field("transport", &self.transport())
            .field("change", &self.change())
            .finish()
    }
}

/// `#seq name old -> new`, e.g. `#2 connectionstatechange new -> connecting`, with the W3C
/// names; an overflow reads `#9 overflow (3 dropped)`.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (seq, name) = (self.seq(), self.kind().dom_name());
        let (old, new) = match self.change() {
            Change::IceConnectionState { old, new } => (old.name(), new.name()),
            Change::ConnectionState { old, new } => (old.name(), new.name()),
            Change::IceGatheringState { old, new } => (old.name(), new.name()),
            Change::Overflow { dropped } => return write!(f, "#{seq} {name} ({dropped} dropped)"),
        };
        write!(f, "#{seq} {name} {old} -> {new}")
    }
}
