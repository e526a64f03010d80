//! A peer's transports: add and remove them, set and read their ICE, DTLS and gatherer states.

use super::{boundary, input, out, pcstate_peer, read, update, update_value};
use crate::constants::PCSTATE_STATE_UNCHANGED;
use crate::enums::{DtlsTransportState, GathererState, IceTransportState, TransportStates};
use crate::error::{Result, ResultCode};
use crate::state::PeerState;

/// A transport id within one peer: 1, 2, 3, ...; never reused within that peer; 0 is never valid.
pub type pcstate_transport = u32;

/// One transport's three states.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct pcstate_transport_states {
    /// A `pcstate_ice_transport_state`.
    pub ice_state: u32,
    /// A `pcstate_dtls_transport_state`.
    pub dtls_state: u32,
    /// A `pcstate_ice_gatherer_state`.
    pub gatherer_state: u32,
}

/// `pcstate_transport_states` names `struct pcstate_transport_states` too.
// (Rust needs another name for the alias; cbindgen.toml renames it to the struct's.)
pub type pcstate_transport_states_typedef = pcstate_transport_states;

impl pcstate_transport_states {
    /// The C form of a transport's states.
    fn from_states(s: TransportStates) -> Self {
        pcstate_transport_states {
            ice_state: s.ice as u32,
            dtls_state: s.dtls as u32,
            gatherer_state: s.gatherer as u32,
        }
    }

    /// The three states as enums, or `INVALID_STATE`.
    fn states(&self) -> Result<TransportStates> {
        Ok(TransportStates {
            ice: valid(self.ice_state, IceTransportState::from_u32)?,
            dtls: valid(self.dtls_state, DtlsTransportState::from_u32)?,
            gatherer: valid(self.gatherer_state, GathererState::from_u32)?,
        })
    }
}

/// A state number from C as its enum, or `INVALID_STATE`.
fn valid<T>(v: u32, from: fn(u32) -> Option<T>) -> Result<T> {
    from(v).ok_or(ResultCode::InvalidState)
}

/// A field given to `pcstate_transport_set_states`: `None` for `PCSTATE_STATE_UNCHANGED`, else
/// the validated state (`INVALID_STATE`).
fn kept_or<T>(v: u32, from: fn(u32) -> Option<T>) -> Result<Option<T>> {
    match v {
        PCSTATE_STATE_UNCHANGED => Ok(None),
        v => valid(v, from).map(Some),
    }
}

/// Adds a transport (ICE new, DTLS new, gatherer new); writes its id to `*out_transport` (0
/// when ignored after close). Ids are 1, 2, 3, ... per peer, never reused.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; CLOSED; LIMIT (65,535 transports on the peer, or
/// its 2^32 - 1 ids used up); NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_add(
    peer: pcstate_peer,
    out_transport: *mut pcstate_transport,
) -> ResultCode {
    boundary(|| {
        let out_transport = out(out_transport)?;
        out_transport.write(update_value(peer, |p| p.state.add_transport())?);
        Ok(())
    })
}

/// Adds a transport already in the given states (for example one that is already connected):
/// one commit, no intermediate events; writes its id to `*out_transport`.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; INVALID_STATE; CLOSED; LIMIT; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_add_with_states(
    peer: pcstate_peer,
    states: *const pcstate_transport_states,
    out_transport: *mut pcstate_transport,
) -> ResultCode {
    boundary(|| {
        let states = input(states)?;
        let out_transport = out(out_transport)?;
        let s = states.states()?;
        out_transport.write(update_value(peer, |p| p.state.add_with_states(s))?);
        Ok(())
    })
}

/// Removes a transport; the aggregates are recomputed at once.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_remove(
    peer: pcstate_peer,
    transport: pcstate_transport,
) -> ResultCode {
    boundary(|| update(peer, |p| p.state.remove_transport(transport)))
}

/// Sets a transport's ICE state (a `pcstate_ice_transport_state`), detaching it from an ICE agent
/// (see `pcstate_transport_set_ice_agent_state`). Setting it again ends a failed liveness reading.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE; CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_ice_state(
    peer: pcstate_peer,
    transport: pcstate_transport,
    state: u32,
) -> ResultCode {
    boundary(|| {
        let s = valid(state, IceTransportState::from_u32)?;
        update(peer, |p| p.state.set_ice(transport, s))
    })
}

/// Sets a transport's DTLS state (a `pcstate_dtls_transport_state`).
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE; CLOSED.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_dtls_state(
    peer: pcstate_peer,
    transport: pcstate_transport,
    state: u32,
) -> ResultCode {
    boundary(|| {
        let s = valid(state, DtlsTransportState::from_u32)?;
        update(peer, |p| p.state.set_dtls(transport, s))
    })
}

/// Sets a transport's ICE gatherer state (a `pcstate_ice_gatherer_state`); an agent-driven ICE
/// state is recomputed in the same commit.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE; CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_gatherer_state(
    peer: pcstate_peer,
    transport: pcstate_transport,
    state: u32,
) -> ResultCode {
    boundary(|| {
        let s = valid(state, GathererState::from_u32)?;
        update(peer, |p| p.state.set_gatherer(transport, s))
    })
}

/// Sets a transport's ICE, DTLS and gatherer states at once: one commit, events only for the net
/// change (no intermediate states). A field set to `PCSTATE_STATE_UNCHANGED` keeps that state. A
/// given ICE state is set directly, as by `pcstate_transport_set_ice_state` (detaching an ICE agent
/// and ending a failed liveness reading); a kept one stays agent-derived, and a gatherer change
/// re-derives it in the same commit.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE (any field out of
/// range); CLOSED; NO_MEMORY. On error nothing changed.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_states(
    peer: pcstate_peer,
    transport: pcstate_transport,
    states: *const pcstate_transport_states,
) -> ResultCode {
    boundary(|| {
        let s = input(states)?;
        let ice = kept_or(s.ice_state, IceTransportState::from_u32)?;
        let dtls = kept_or(s.dtls_state, DtlsTransportState::from_u32)?;
        let gatherer = kept_or(s.gatherer_state, GathererState::from_u32)?;
        update(peer, |p| p.state.set_states(transport, ice, dtls, gatherer))
    })
}

/// Reads one transport's states with `get` into `*out`.
fn transport_states(
    peer: pcstate_peer,
    out: *mut pcstate_transport_states,
    get: impl FnOnce(&PeerState) -> Result<TransportStates>,
) -> ResultCode {
    boundary(|| {
        let out = super::out(out)?;
        let s = read(peer, |p| get(&p.state))?;
        out.write(pcstate_transport_states::from_states(s));
        Ok(())
    })
}

/// Reads one transport's three effective states (the ICE state after agent derivation and
/// liveness: what the aggregates use); ICE and DTLS read closed once the peer is closed.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; UNKNOWN_TRANSPORT.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_get_states(
    peer: pcstate_peer,
    transport: pcstate_transport,
    out: *mut pcstate_transport_states,
) -> ResultCode {
    transport_states(peer, out, |p| p.transport(transport))
}

/// Reads one transport's states as reported: ICE as set, or as derived from its ICE agent, before
/// liveness (`pcstate_transport_get_states` gives the effective ones, which the aggregates use).
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; UNKNOWN_TRANSPORT.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_get_reported_states(
    peer: pcstate_peer,
    transport: pcstate_transport,
    out: *mut pcstate_transport_states,
) -> ResultCode {
    transport_states(peer, out, |p| p.reported(transport))
}
