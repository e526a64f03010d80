//! pcstate: the RTCPeerConnection state machine exactly as browsers define it, behind a stable
//! C ABI.
//!
//! Layout, from the pure rules out to the C surface: `constants` the C ABI's `#define`s;
//! [`enums`] the C enums and their names; [`rules`] the aggregation rules (no FFI, O(1) from
//! counters); `agents` the ICE agent adapters' tables; `ice_source` where a transport's ICE state
//! comes from and restart continuity; `liveness` silence by the caller's clock; `transports` a
//! peer's transport table; `update` one transport's update; `state` one peer's state machine,
//! `batch` what one of its calls committed; `queue` the bounded event buffers; `peer` a live peer and
//! where its events go (allocated only when used); `sync` the locks delivery uses (loom's when model-checked); `delivery` the
//! cell, the deliverer and the wait graph; `registry` the handles; [`ffi`] the `extern "C"`
//! surface, which only checks arguments, converts and calls in. The header `include/pcstate.h`
//! and the ABI manifest `include/pcstate.abi.json` are generated from these sources by
//! cbindgen in `tests/header.rs`. Beside it, the safe Rust API ([`PeerConnection`] and
//! its types, at the crate root) calls the same engine through `handle`; `wakeup` is the event
//! queue's fd (an eventfd, or a pipe where there is none). Rust programs start at
//! [`PeerConnection`]; `docs/rust.md` is the guide.
//!
//! ```
//! use pcstate::{ConnectionState, DtlsTransportState, IceTransportState, PeerConnection, Profile};
//!
//! let pc = PeerConnection::new(Profile::W3c)?;
//! pc.on_event(|e| println!("{e}"))?;
//! let t = pc.add_transport()?;
//! t.set_ice_state(IceTransportState::Checking)?;
//! t.set_dtls_state(DtlsTransportState::Connected)?;
//! assert_eq!(pc.connection_state(), ConnectionState::Connecting);
//! # Ok::<(), pcstate::Error>(())
//! ```
#![deny(clippy::undocumented_unsafe_blocks)]

mod agents;
mod alloc;
mod api;
mod batch;
mod constants;
mod delivery;
pub mod enums;
mod error;
pub mod fault;
pub mod ffi;
mod handle;
mod ice_source;
mod liveness;
#[cfg(all(test, loom))]
mod loom_models;
mod peer;
mod queue;
mod registry;
pub mod rules;
mod state;
mod stats;
mod sync;
mod transports;
mod update;
mod wakeup;

pub use api::{
    Change, Error, Event, GlobalStats, IceAgent, LivenessPreset, PeerConnection,
    PeerConnectionBuilder, PeerStats, Snapshot, StateUpdate, Transport, global_stats, now_ns,
};
pub use enums::{
    ConnectionState, DtlsTransportState, EventKind, GathererState, IceConnectionState,
    IceGatheringState, IceTransportState, Profile, TransportStates,
};
pub use error::ResultCode;
pub use stats::FailureCause;

/// What the tests of the state machine reach below the C surface (not a stable API).
#[doc(hidden)]
pub mod testing {
    pub use crate::state::{Event, PeerState};
}
