//! Observability: a peer's numbers and its last events, and the process-wide numbers.

use super::{boundary, out_array, pcstate_event, pcstate_peer, pcstate_transport, read};
use crate::constants::PCSTATE_HISTORY_LEN;
use crate::error::ResultCode;
use crate::peer::Peer;
use crate::registry;
use crate::state;
use crate::stats;

/// A peer's connection in numbers (`pcstate_peer_stats`). Times are CLOCK_MONOTONIC nanoseconds
/// (`pcstate_now_ns`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct pcstate_peer_stats {
    /// When the peer was created.
    pub created_ns: u64,
    /// When connectionState first became connected; 0 until then.
    pub first_connected_ns: u64,
    /// Time spent in each `pcstate_connection_state`, up to the moment of the call; sums to that
    /// moment minus `created_ns`.
    pub time_in_state_ns: [u64; 6],
    /// How many times each `pcstate_connection_state` was entered (new: 1, at creation).
    pub entered_state: [u32; 6],
    /// A `pcstate_failure_cause`: why connectionState last became failed, or NONE.
    pub failure_cause: u32,
    /// The transport whose input that was (0 if none).
    pub failure_transport: pcstate_transport,
}

/// Process-wide numbers (`pcstate_global_stats`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct pcstate_global_stats {
    /// Peers created and not freed.
    pub live_peers: u64,
    /// Live peers per `pcstate_connection_state`; sums to `live_peers` when no call is in flight.
    pub peers_in_state: [u64; 6],
    /// Events committed by all peers since the process started (freed peers' included).
    pub events_committed: u64,
    /// How many times any peer's connectionState became failed.
    pub failures: u64,
}

/// Reads the peer's numbers: when it was created and first connected, the time spent in and the
/// number of entries into each connectionState, and the cause of its latest failure: the input
/// (ICE transport, DTLS transport, or a liveness deadline) whose failure started the run of failed
/// inputs that made connectionState failed (when ICE and DTLS both failed, the one that failed
/// first). Kept for every peer at no cost on the update path.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_stats(
    peer: pcstate_peer,
    out: *mut pcstate_peer_stats,
) -> ResultCode {
    boundary(|| {
        let out = super::out(out)?;
        out.write(read(peer, |p| Ok(c_stats(p)))?);
        Ok(())
    })
}

/// Frees the peer as `pcstate_peer_free` does and, on OK, writes its numbers as of the free into
/// `*last` (as `pcstate_peer_stats` reads them), read in the same step: every commit made before
/// the free is in them, none after. For a final report of a peer (metrics, logs) without closing
/// it first. On any other result nothing was freed or written.
///
/// Results: OK; NULL_ARGUMENT (nothing freed); INVALID_HANDLE; WOULD_DEADLOCK (see
/// `pcstate_peer_free`).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_free_with_stats(
    peer: pcstate_peer,
    last: *mut pcstate_peer_stats,
) -> ResultCode {
    boundary(|| {
        let last = super::out(last)?;
        last.write(registry::remove_reading(peer, c_stats)?);
        Ok(())
    })
}

/// A peer's numbers now, in their C form.
fn c_stats(p: &Peer) -> pcstate_peer_stats {
    let s = p.state.stats(state::monotonic_ns());
    pcstate_peer_stats {
        created_ns: s.created_ns,
        first_connected_ns: s.first_connected_ns,
        time_in_state_ns: s.time_in_state_ns,
        entered_state: s.entered_state,
        failure_cause: s.failure_cause as u32,
        failure_transport: s.failure_transport,
    }
}

/// Copies the peer's last events (at most `PCSTATE_HISTORY_LEN`, oldest first) into `out`: at
/// most `capacity` of them, the newest ones when it is smaller; writes how many to `*out_count`.
/// `out` may be NULL when `capacity` is 0 (then `*out_count` is how many are kept). Needs
/// `PCSTATE_FLAG_HISTORY`.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; INVALID_ARGUMENT (no history flag).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_history(
    peer: pcstate_peer,
    out: *mut pcstate_event,
    capacity: usize,
    out_count: *mut usize,
) -> ResultCode {
    boundary(|| {
        let out_count = super::out(out_count)?;
        let out = out_array(out, capacity)?;
        let blank = pcstate_event {
            peer,
            seq: 0,
            time_ns: 0,
            kind: 0,
            old_state: 0,
            new_state: 0,
            transport: 0,
        };
        let mut kept = [blank; PCSTATE_HISTORY_LEN as usize];
        let n = read(peer, |p| {
            let mut n = 0;
            for (slot, e) in kept.iter_mut().zip(p.history()?) {
                *slot = pcstate_event::from_event(peer, e);
                n += 1;
            }
            Ok(n)
        })?;
        let kept = &kept[..n];
        if capacity == 0 {
            out_count.write(n);
        } else {
            let newest = &kept[n - n.min(capacity)..];
            out.write(newest);
            out_count.write(newest.len());
        }
        Ok(())
    })
}

/// Reads the process-wide numbers: live peers, live peers per connectionState (exact at the
/// moment of the call when no other call is in flight), events committed and failures. Kept in
/// per-thread shards touched only when an aggregate changes, so threads on different peers do not
/// contend. Any thread.
///
/// Results: OK; NULL_ARGUMENT.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_global_stats(out: *mut pcstate_global_stats) -> ResultCode {
    boundary(|| {
        let out = super::out(out)?;
        let (live_peers, peers_in_state, events_committed, failures) = stats::global::read();
        out.write(pcstate_global_stats {
            live_peers,
            peers_in_state,
            events_committed,
            failures,
        });
        Ok(())
    })
}
