//! pcstate: the RTCPeerConnection state machine exactly as browsers define it, behind a stable
//! C ABI.
//!
//! Layout: [`rules`] holds the pure aggregation rules (no FFI, O(1) from counters);
//! [`transports`] a peer's transport table; [`peer`] the peer state machine and event delivery;
//! [`registry`] the handles; [`ffi`] the `extern "C"` surface, which only checks arguments,
//! converts and calls in. The header `include/pcstate.h` is generated from [`ffi`] by build.rs.

pub mod error;
pub mod fault;
pub mod ffi;
pub mod peer;
pub mod registry;
pub mod rules;
pub mod transports;

pub use error::ResultCode;
