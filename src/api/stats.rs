//! What the Rust API reads in one go: a peer's snapshot and numbers, the process-wide numbers,
//! and the clock.

use std::time::Duration;

use crate::rules::{ConnectionState, IceConnectionState, IceGatheringState};
use crate::stats::FailureCause;

const STATES: usize = ConnectionState::COUNT;

/// One consistent reading of a peer ([`PeerConnection::snapshot`](crate::PeerConnection::snapshot)).
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Snapshot {
    /// The seq of the newest event committed (0 if none).
    pub last_seq: u64,
    /// `connectionState`.
    pub connection_state: ConnectionState,
    /// `iceConnectionState`.
    pub ice_connection_state: IceConnectionState,
    /// `iceGatheringState`.
    pub ice_gathering_state: IceGatheringState,
    /// How many transports the peer has.
    pub transport_count: u32,
}

impl From<crate::state::Snapshot> for Snapshot {
    fn from(s: crate::state::Snapshot) -> Self {
        Snapshot {
            last_seq: s.last_seq,
            connection_state: s.aggregates.connection,
            ice_connection_state: s.aggregates.ice_connection,
            ice_gathering_state: s.aggregates.ice_gathering,
            transport_count: s.transport_count,
        }
    }
}

/// A peer's connection in numbers ([`PeerConnection::stats`](crate::PeerConnection::stats)).
/// Times are CLOCK_MONOTONIC nanoseconds ([`now_ns`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStats {
    /// When the peer was created.
    pub created_ns: u64,
    /// When `connectionState` first became connected; `None` until then.
    pub first_connected_ns: Option<u64>,
    /// Why `connectionState` last became failed ([`FailureCause::None`] if it never did): the
    /// input (ICE, DTLS, or a liveness deadline) whose failure started the run of failed inputs.
    pub failure_cause: FailureCause,
    /// The transport whose input that was.
    pub failure_transport: Option<u32>,
    time_in_state_ns: [u64; STATES],
    entered_state: [u32; STATES],
}

impl PeerStats {
    /// Time spent in `state` up to the reading (the times of all states sum to the peer's age).
    pub fn time_in(&self, state: ConnectionState) -> Duration {
        Duration::from_nanos(self.time_in_state_ns[state as usize])
    }

    /// How many times `state` was entered (new: 1, at creation).
    pub fn entered(&self, state: ConnectionState) -> u32 {
        self.entered_state[state as usize]
    }
}

impl From<crate::stats::StatsReport> for PeerStats {
    fn from(s: crate::stats::StatsReport) -> Self {
        PeerStats {
            created_ns: s.created_ns,
            first_connected_ns: (s.first_connected_ns != 0).then_some(s.first_connected_ns),
            failure_cause: s.failure_cause,
            failure_transport: (s.failure_transport != 0).then_some(s.failure_transport),
            time_in_state_ns: s.time_in_state_ns,
            entered_state: s.entered_state,
        }
    }
}

/// Process-wide numbers ([`global_stats`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalStats {
    /// Peers created and not freed (by the C and the Rust API alike).
    pub live_peers: u64,
    /// Events committed by all peers since the process started (freed peers' included).
    pub events_committed: u64,
    /// How many times any peer's `connectionState` became failed.
    pub failures: u64,
    peers_in_state: [u64; STATES],
}

impl GlobalStats {
    /// Live peers whose `connectionState` is `state` (summed over all states: `live_peers`,
    /// when no call is in flight).
    pub fn peers_in(&self, state: ConnectionState) -> u64 {
        self.peers_in_state[state as usize]
    }
}

/// Reads the process-wide numbers (`pcstate_global_stats`); any thread, no contention with
/// threads working on peers.
pub fn global_stats() -> GlobalStats {
    let (live_peers, peers_in_state, events_committed, failures) = crate::stats::global::read();
    GlobalStats {
        live_peers,
        events_committed,
        failures,
        peers_in_state,
    }
}

/// CLOCK_MONOTONIC now, in nanoseconds (`pcstate_now_ns`): the clock of event times and
/// [`PeerStats`], and a clock for [`Transport::note_alive`](crate::Transport::note_alive) and
/// [`PeerConnection::tick`](crate::PeerConnection::tick) (any monotonic nanosecond clock works
/// if one peer always gets the same one).
pub fn now_ns() -> u64 {
    crate::state::monotonic_ns()
}
