//! The safe Rust API: the same peers as the C API, reached through the same engine calls
//! (`handle`, then `delivery` and `state`), with typed enums, `Result`s and closures.

mod callback;
mod error;
mod event;
mod peer;
mod stats;
mod transport;

pub use error::Error;
pub use event::{Change, Event};
pub use peer::{LivenessPreset, PeerConnection, PeerConnectionBuilder};
pub use stats::{GlobalStats, PeerStats, Snapshot, global_stats, now_ns};
pub use transport::{IceAgent, StateUpdate, Transport};
