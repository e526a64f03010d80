//! Inputs from the field: a transport's ICE agent and the remote's end-of-candidates, and the
//! caller-clocked liveness of its traffic.

use super::{boundary, boundary_or, out, pcstate_peer, pcstate_transport, update, update_value};
use crate::agents;
use crate::error::ResultCode;
use crate::state;

/// Reports the state of the ICE agent that drives the transport (`PCSTATE_ICE_AGENT_*` and the
/// agent's own state number); the transport's ICE state is then derived from it, from the
/// transport's gatherer state and from the remote's end-of-candidates, and recomputed whenever
/// one of them changes. "completed" needs the agent's checks concluded (libnice READY, libjuice
/// COMPLETED) and gathering complete and remote end-of-candidates; without the last two it reads
/// "connected". An ICE restart (the agent going back to an earlier state) clears the remote
/// end-of-candidates. The tables are in docs/feeding.md. `pcstate_transport_set_ice_state` or
/// `pcstate_transport_set_states` detach the transport from its agent.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_ARGUMENT (unknown agent);
/// INVALID_STATE (state number out of the agent's range); CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_ice_agent_state(
    peer: pcstate_peer,
    transport: pcstate_transport,
    agent: u32,
    agent_state: u32,
) -> ResultCode {
    boundary(|| {
        let a = agents::agent_state(agent, agent_state)?;
        update(peer, |p| p.state.set_agent_state(transport, a))
    })
}

/// Records that the remote signalled the end of its candidates for this transport (an
/// `a=end-of-candidates` line, an empty candidate, or a remote that does not trickle). Kept until
/// the transport's agent restarts ICE. Idempotent.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_remote_end_of_candidates(
    peer: pcstate_peer,
    transport: pcstate_transport,
) -> ResultCode {
    boundary(|| update(peer, |p| p.state.set_remote_end_of_candidates(transport)))
}

/// CLOCK_MONOTONIC now, in nanoseconds: the clock event times use, and a clock to pass to
/// `pcstate_transport_note_alive` and `pcstate_peer_tick` (any monotonic nanosecond clock works if
/// used consistently for one peer).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_now_ns() -> u64 {
    boundary_or(0, state::monotonic_ns)
}

/// Turns liveness on for the peer: a transport whose ICE state is connected or completed and on
/// which nothing was noted alive (`pcstate_transport_note_alive`) for `disconnected_after_ns`
/// reads disconnected; for `failed_after_ns`, failed, until its ICE state is set again (as after
/// an ICE restart). Browsers report disconnected after about 5 s without traffic and failed
/// after about 30 s; libnice and libjuice report neither promptly. A transport's alive clock
/// starts at the first tick or note after it became connected. (0, 0) turns liveness off (the
/// default); otherwise `disconnected_after_ns` > 0 and `failed_after_ns` is 0 (never failed) or
/// greater. Every transport is watched afresh; one commit. Caller-clocked: no threads, no timers;
/// call `pcstate_peer_tick` when the deadline it returns has passed and after changing states.
///
/// Results: OK; INVALID_HANDLE; INVALID_ARGUMENT (bad durations); CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_set_liveness(
    peer: pcstate_peer,
    disconnected_after_ns: u64,
    failed_after_ns: u64,
) -> ResultCode {
    boundary(|| {
        update(peer, |p| {
            p.state.set_liveness(disconnected_after_ns, failed_after_ns)
        })
    })
}

/// Notes that something arrived on the transport at `now_ns` (call it per received packet): a
/// transport that liveness reads disconnected reads its reported state again at once. Does
/// nothing when liveness is off or the transport is not connected. Costs about one update.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_note_alive(
    peer: pcstate_peer,
    transport: pcstate_transport,
    now_ns: u64,
) -> ResultCode {
    boundary(|| update(peer, |p| p.state.note_alive(transport, now_ns)))
}

/// Applies the liveness deadlines that passed by `now_ns`, delivers the events (one commit for
/// all transports; the events carry the first transport that changed), and writes the next
/// deadline to `*out_next_deadline_ns` (`UINT64_MAX` when none): one timer per peer. Cheap when
/// nothing is due. After close: OK, next deadline `UINT64_MAX`.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_tick(
    peer: pcstate_peer,
    now_ns: u64,
    out_next_deadline_ns: *mut u64,
) -> ResultCode {
    boundary(|| {
        let out_next_deadline_ns = out(out_next_deadline_ns)?;
        out_next_deadline_ns.write(update_value(peer, |p| Ok(p.state.tick(now_ns)))?);
        Ok(())
    })
}
