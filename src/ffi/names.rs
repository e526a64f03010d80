//! The library's version and the static names of result codes, states, event kinds and failure
//! causes.

use std::ffi::c_char;

use super::boundary_or;
use crate::enums::{
    ConnectionState, DtlsTransportState, EventKind, GathererState, IceConnectionState,
    IceGatheringState, IceTransportState,
};
use crate::error::ResultCode;
use crate::stats::FailureCause;

/// A static NUL-terminated string as C reads it.
fn c_str(s: &'static str) -> *const c_char {
    debug_assert!(s.ends_with('\0'));
    s.as_ptr().cast()
}

/// The static NUL-terminated name that `name` gives, or NULL when it gives none; computed inside
/// the panic boundary.
fn name(name: impl FnOnce() -> Option<&'static str>) -> *const c_char {
    boundary_or(std::ptr::null(), || name().map_or(std::ptr::null(), c_str))
}

/// The library's version, e.g. `"0.1.0"` (static).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_version() -> *const c_char {
    boundary_or(std::ptr::null(), || {
        c_str(concat!(env!("CARGO_PKG_VERSION"), "\0"))
    })
}

/// A short static description of a result code; never NULL, also for unknown codes. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_result_message(result: u32) -> *const c_char {
    boundary_or(c"internal error".as_ptr(), || {
        ResultCode::message_with_nul(result).as_ptr()
    })
}

/// The W3C name of a `pcstate_connection_state` ("new", "connecting", ...); NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_connection_state_name(value: u32) -> *const c_char {
    name(|| ConnectionState::from_u32(value).map(ConnectionState::name_with_nul))
}

/// The W3C name of a `pcstate_ice_connection_state`; NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_ice_connection_state_name(value: u32) -> *const c_char {
    name(|| IceConnectionState::from_u32(value).map(IceConnectionState::name_with_nul))
}

/// The W3C name of a `pcstate_ice_transport_state`; NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_ice_transport_state_name(value: u32) -> *const c_char {
    name(|| IceTransportState::from_u32(value).map(IceTransportState::name_with_nul))
}

/// The W3C name of a `pcstate_dtls_transport_state`; NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_dtls_transport_state_name(value: u32) -> *const c_char {
    name(|| DtlsTransportState::from_u32(value).map(DtlsTransportState::name_with_nul))
}

/// The W3C name of a `pcstate_ice_gathering_state`; NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_ice_gathering_state_name(value: u32) -> *const c_char {
    name(|| IceGatheringState::from_u32(value).map(IceGatheringState::name_with_nul))
}

/// The W3C name of a `pcstate_ice_gatherer_state`; NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_ice_gatherer_state_name(value: u32) -> *const c_char {
    name(|| GathererState::from_u32(value).map(GathererState::name_with_nul))
}

/// The DOM event name of a `pcstate_event_kind` ("iceconnectionstatechange",
/// "connectionstatechange", "icegatheringstatechange", "overflow"); NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_event_kind_name(kind: u32) -> *const c_char {
    name(|| EventKind::from_u32(kind).map(EventKind::dom_name_with_nul))
}

/// The name of a `pcstate_failure_cause` ("none", "ice", "dtls", "liveness": the labels the
/// bindings and metrics use); NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_failure_cause_name(cause: u32) -> *const c_char {
    name(|| FailureCause::from_u32(cause).map(FailureCause::name_with_nul))
}
