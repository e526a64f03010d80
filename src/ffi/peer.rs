//! A peer's life (create, close, free) and its aggregate states.

use super::{boundary, out, read, update};
use crate::constants::ALL_FLAGS;
use crate::enums::Profile;
use crate::error::ResultCode;
use crate::peer::Peer;
use crate::registry;

/// An opaque peer handle. 0 is never valid; a freed handle never becomes valid again.
pub type pcstate_peer = u64;

/// One consistent reading of a peer.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct pcstate_snapshot {
    /// The seq of the newest event committed (0 if none).
    pub last_seq: u64,
    /// A `pcstate_connection_state`.
    pub connection_state: u32,
    /// A `pcstate_ice_connection_state`.
    pub ice_connection_state: u32,
    /// A `pcstate_ice_gathering_state`.
    pub ice_gathering_state: u32,
    /// How many transports the peer has.
    pub transport_count: u32,
}

/// `pcstate_snapshot` names `struct pcstate_snapshot` too.
// (Rust needs another name for the alias; cbindgen.toml renames it to the struct's.)
pub type pcstate_snapshot_typedef = pcstate_snapshot;

/// Creates a peer with a `pcstate_profile` and `PCSTATE_FLAG_*` bits; writes its handle to
/// `*out_peer`.
///
/// Results: OK; NULL_ARGUMENT; INVALID_ARGUMENT (unknown profile or flag bits); LIMIT (16M live
/// peers, or no event fd (eventfd or pipe) could be had for `PCSTATE_FLAG_EVENT_QUEUE`); NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_new(
    profile: u32,
    flags: u32,
    out_peer: *mut pcstate_peer,
) -> ResultCode {
    boundary(|| {
        let out_peer = out(out_peer)?;
        let profile = Profile::from_u32(profile).ok_or(ResultCode::InvalidArgument)?;
        if flags & !ALL_FLAGS != 0 {
            return Err(ResultCode::InvalidArgument);
        }
        out_peer.write(registry::insert(Peer::new(profile, flags)?)?);
        Ok(())
    })
}

/// Closes the peer as `RTCPeerConnection.close()` does: the ICE connection and connection states
/// become closed, every transport's ICE and DTLS state reads closed, gathering is unchanged. No
/// event unless the peer has `PCSTATE_FLAG_CLOSE_EVENTS`. Afterwards add/remove/set return
/// `CLOSED` (or OK and nothing, with `PCSTATE_FLAG_IGNORE_AFTER_CLOSE`); getters keep working;
/// the event fd is made readable once so that a reader sees the closed state. Closing a closed
/// peer is OK and does nothing.
///
/// Results: OK; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_close(peer: pcstate_peer) -> ResultCode {
    boundary(|| update(peer, |p| Ok(p.close())))
}

/// Frees the peer. Afterwards every call with this handle returns `INVALID_HANDLE`. Called from
/// outside the peer's own callbacks, it first waits until no callback of the peer runs on another
/// thread; when it returns, no callback of any of the peer's registrations is running or will
/// run, and their `user_data_free` calls have returned. Called from inside the peer's callback,
/// that registration is dropped as soon as the callback returns. Undelivered events are dropped;
/// the event fd is made readable (waking a poll() on a dup of it) and closed. The peer's cell
/// (192 bytes) is kept for reuse by a later peer.
///
/// Results: OK; INVALID_HANDLE; WOULD_DEADLOCK (called from inside a callback, waiting would
/// close a cycle of threads each waiting for the other's callback; nothing changed).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_free(peer: pcstate_peer) -> ResultCode {
    boundary(|| registry::remove(peer))
}

/// Reads one aggregate, as its C number, into `*out`.
fn aggregate(peer: pcstate_peer, out: *mut u32, get: fn(&Peer) -> u32) -> ResultCode {
    boundary(|| {
        let out = super::out(out)?;
        out.write(read(peer, |p| Ok(get(p)))?);
        Ok(())
    })
}

/// Reads `connectionState` (a `pcstate_connection_state`).
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_connection_state(peer: pcstate_peer, out: *mut u32) -> ResultCode {
    aggregate(peer, out, |p| p.state.aggregates().connection as u32)
}

/// Reads `iceConnectionState` (a `pcstate_ice_connection_state`).
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_ice_connection_state(
    peer: pcstate_peer,
    out: *mut u32,
) -> ResultCode {
    aggregate(peer, out, |p| p.state.aggregates().ice_connection as u32)
}

/// Reads `iceGatheringState` (a `pcstate_ice_gathering_state`).
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_ice_gathering_state(
    peer: pcstate_peer,
    out: *mut u32,
) -> ResultCode {
    aggregate(peer, out, |p| p.state.aggregates().ice_gathering as u32)
}

/// Reads all three aggregates, the transport count and the newest event's seq in one consistent
/// reading (use it to resynchronise after a `PCSTATE_EVENT_KIND_OVERFLOW` event).
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_snapshot(
    peer: pcstate_peer,
    out: *mut pcstate_snapshot,
) -> ResultCode {
    boundary(|| {
        let out = super::out(out)?;
        let s = read(peer, |p| Ok(p.state.snapshot()))?;
        out.write(pcstate_snapshot {
            last_seq: s.last_seq,
            connection_state: s.aggregates.connection as u32,
            ice_connection_state: s.aggregates.ice_connection as u32,
            ice_gathering_state: s.aggregates.ice_gathering as u32,
            transport_count: s.transport_count,
        });
        Ok(())
    })
}
