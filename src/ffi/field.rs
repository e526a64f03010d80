//! Inputs from the field: a transport's ICE agent and the remote's end-of-candidates, and the
//! caller-clocked liveness of its traffic.

use super::{boundary, boundary_or, out, pcstate_peer, pcstate_transport, update, update_value};
use crate::agents;
use crate::error::ResultCode;
use crate::liveness;
use crate::state;

/// Reports the state of the ICE agent that drives the transport (`PCSTATE_ICE_AGENT_*` and the
/// agent's own state number); the transport's ICE state is then derived from it, from the
/// transport's gatherer state and from the remote's end-of-candidates, and recomputed whenever
/// one of them changes. "completed" needs the agent's checks concluded (libnice READY, libjuice
/// COMPLETED) and gathering complete and remote end-of-candidates; without the last two it reads
/// "connected". libjuice CONNECTING reads "checking" only once a remote candidate was noted
/// (`pcstate_transport_note_remote_candidate`). An ICE restart (the agent going back to an earlier
/// state) ends the session's facts and holds a connected transport at "connected", as
/// `pcstate_transport_restart_ice` does. The tables are in docs/feeding.md.
/// `pcstate_transport_set_ice_state` or `pcstate_transport_set_states` detach the transport from
/// its agent, ending the agent run's facts.
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
/// the ICE session ends (`pcstate_transport_restart_ice`, a restart seen in the agent's states, or
/// the agent detached by setting the ICE state). Idempotent.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_remote_end_of_candidates(
    peer: pcstate_peer,
    transport: pcstate_transport,
) -> ResultCode {
    boundary(|| update(peer, |p| p.state.set_remote_end_of_candidates(transport)))
}

/// Says that an ICE restart began on the transport: `restartIce()`, or an ICE-restart offer or
/// answer applied (new ICE credentials). Call it before restarting the agent
/// (`nice_agent_restart_stream`, a new libjuice agent) and before the new session's remote
/// candidates and end-of-candidates. It ends the session's facts (remote end-of-candidates,
/// remote candidates). A transport that reads connected or completed then reads connected while
/// its agent gathers and checks again, until the agent reports a state that reads connected,
/// completed, disconnected or failed (for an ICE state set directly: until such a state is set;
/// new and checking read connected meanwhile), as browsers keep a transport connected through
/// `restartIce()`. A restart seen in the agent's states (a move back to an earlier state) gets
/// the same hold, and it is one restart with an announced one: facts noted between the two
/// belong to the new session. An agent that never restarts (the restart rolled back) and reports
/// CONNECTING or later without passing through GATHERING ends the hold. With liveness on,
/// silence still makes the transport disconnected and failed; a failed liveness reading lasts
/// until a new ICE state is reported.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_restart_ice(
    peer: pcstate_peer,
    transport: pcstate_transport,
) -> ResultCode {
    boundary(|| update(peer, |p| p.state.restart_ice(transport)))
}

/// Says that a remote candidate was given to the transport's agent
/// (`nice_agent_set_remote_candidates`, `juice_add_remote_candidate`, a remote description with
/// candidates, `addIceCandidate`). An agent state that runs checks before any candidate pair
/// exists (libjuice CONNECTING) reads checking only once this was called, new before; libnice
/// CONNECTING means a pair exists and reads checking either way. Kept until the ICE session ends
/// (`pcstate_transport_restart_ice`, a restart seen in the agent's states, or the agent detached
/// by setting the ICE state). Idempotent.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_note_remote_candidate(
    peer: pcstate_peer,
    transport: pcstate_transport,
) -> ResultCode {
    boundary(|| update(peer, |p| p.state.note_remote_candidate(transport)))
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
/// an ICE restart). Browsers report disconnected 5-8 s after traffic stops and failed after
/// about 17.6 s (Chromium) or 27.5 s (Firefox): `pcstate_peer_set_liveness_preset` sets their
/// measured numbers; libnice and libjuice report neither promptly. A transport's alive clock
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

/// Turns liveness on with the thresholds that reproduce a browser's timings for a path that goes
/// silent during media, as `pcstate_peer_set_liveness` with them: `PCSTATE_LIVENESS_PRESET_CHROMIUM`
/// or `PCSTATE_LIVENESS_PRESET_FIREFOX`; `PCSTATE_LIVENESS_PRESET_OFF` turns liveness off. The
/// numbers, measured on the project's own browser recordings, and their sources are in
/// docs/browser-parity.md and docs/feeding.md ("Liveness").
///
/// Results: OK; INVALID_HANDLE; INVALID_ARGUMENT (unknown preset; also after close); CLOSED;
/// NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_set_liveness_preset(peer: pcstate_peer, preset: u32) -> ResultCode {
    boundary(|| {
        let (disconnected, failed) = liveness::Preset::from_u32(preset)
            .ok_or(ResultCode::InvalidArgument)?
            .durations();
        update(peer, |p| p.state.set_liveness(disconnected, failed))
    })
}

/// Notes that something arrived on the transport at `now_ns` (call it per received packet): a
/// transport that liveness reads disconnected reads its reported state again at once. A note
/// older than the transport's last one changes nothing, and so does one that the last
/// `pcstate_peer_tick` would already have read disconnected (it would be disconnected again at
/// the next tick). Does nothing when liveness is off or the transport is not connected. Costs
/// about one update.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
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
/// Times (here and in `pcstate_transport_note_alive`) are read modulo 2^64: only differences
/// between them count, so a clock may start at any value, the largest included, and wrap around.
/// A deadline past `UINT64_MAX` wraps around too (with a clock that can wrap, test
/// `(int64_t)(now - deadline) >= 0`); one that falls on `UINT64_MAX` itself is written as
/// `UINT64_MAX - 1`, and a tick then writes it again. A peer's times must stay within 2^62 ns
/// (146 years) of its first tick.
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
