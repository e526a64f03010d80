//! pcstate: the RTCPeerConnection state machine exactly as browsers define it, behind a stable
//! C ABI.
//!
//! Layout, from the pure rules out to the C surface: [`enums`] the C enums and their names;
//! [`rules`] the aggregation rules (no FFI,
//! O(1) from counters); `agents` the ICE agent adapters' tables; `transports` a peer's transport
//! table; `state` one peer's state machine; `queue` the bounded event buffers; `sync` the
//! locks delivery uses (loom's when model-checked); `delivery` the cell, the deliverer and the
//! wait graph; `registry` the handles; [`ffi`] the `extern "C"`
//! surface, which only checks arguments, converts and calls in. The header `include/pcstate.h`
//! is generated from [`ffi`] by build.rs.

mod agents;
mod alloc;
mod delivery;
pub mod enums;
mod error;
pub mod fault;
pub mod ffi;
mod liveness;
#[cfg(all(test, loom))]
mod loom_models;
mod queue;
mod registry;
pub mod rules;
mod state;
mod stats;
mod sync;
mod transports;

pub use error::ResultCode;
pub use stats::FailureCause;

/// What the tests of the state machine reach below the C surface (not a stable API).
#[doc(hidden)]
pub mod testing {
    pub use crate::state::{Event, PeerState};
}
