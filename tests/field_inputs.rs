//! Through the C ABI: ICE agent adapters and end-of-candidates, liveness on a fake clock,
//! several states in one commit, and calls after close with `PCSTATE_FLAG_IGNORE_AFTER_CLOSE`.

mod common;
use common::*;

use pcstate::ffi::*;
use pcstate::rules::{ConnectionState as C, IceConnectionState as IC, IceTransportState as I};

const NICE_GATHERING: u32 = 1;
const NICE_CONNECTING: u32 = 2;
const NICE_CONNECTED: u32 = 3;
const NICE_READY: u32 = 4;
const NICE_FAILED: u32 = 5;
const JUICE_COMPLETED: u32 = 4;

fn states(ice: I, dtls: u32, gatherer: u32) -> pcstate_transport_states {
    pcstate_transport_states {
        ice_state: ice as u32,
        dtls_state: dtls,
        gatherer_state: gatherer,
    }
}

fn get(
    p: pcstate_peer,
    t: pcstate_transport,
) -> (pcstate_transport_states, pcstate_transport_states) {
    let mut eff = states(I::New, 0, 0);
    let mut rep = eff;
    assert_eq!(pcstate_transport_get_states(p, t, &mut eff), OK);
    assert_eq!(pcstate_transport_get_reported_states(p, t, &mut rep), OK);
    (eff, rep)
}

#[test]
fn completed_only_with_gathering_done_and_remote_end_of_candidates() {
    for eoc_before_ready in [false, true] {
        let p = new_peer(0, 0);
        let t = add(p);
        agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_GATHERING);
        assert_eq!(ice(p, t), I::New as u32);
        agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTING);
        assert_eq!(ice(p, t), I::Checking as u32);
        if eoc_before_ready {
            assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
        }
        agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_READY);
        assert_eq!(
            ice(p, t),
            I::Connected as u32,
            "READY without the facts is connected"
        );
        assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK);
        if !eoc_before_ready {
            assert_eq!(ice(p, t), I::Connected as u32);
            assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
        }
        assert_eq!(ice(p, t), I::Completed as u32);
        assert_eq!(snapshot(p).ice_connection_state, IC::Completed as u32);
        // Idempotent.
        let seq = snapshot(p).last_seq;
        assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
        assert_eq!(snapshot(p).last_seq, seq);
        assert_eq!(pcstate_peer_free(p), OK);
    }
}

#[test]
fn gathering_and_end_of_candidates_change_the_derived_state_in_one_commit() {
    let p = new_peer(0, 0);
    let t = add(p);
    let (log, _) = record(p);
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
    agent(p, t, PCSTATE_ICE_AGENT_LIBJUICE, JUICE_COMPLETED);
    assert_eq!(ice(p, t), I::Connected as u32);
    log.lock().unwrap().clear();
    // Gathering complete flips both iceGatheringState and (through the derived ICE state)
    // iceConnectionState, in one commit with contiguous seqs.
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK);
    let l = log.lock().unwrap().clone();
    let kinds: Vec<_> = l.iter().map(|e| e.1).collect();
    assert_eq!(kinds, [K_ICE, K_GATHER]);
    assert_eq!(l[0].3, IC::Completed as u32);
    assert_eq!(l[1].0, l[0].0 + 1);
    assert_eq!(pcstate_peer_free(p), OK);
}

#[test]
fn restart_clears_end_of_candidates() {
    let p = new_peer(0, 0);
    let t = add(p);
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK);
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_READY);
    assert_eq!(ice(p, t), I::Completed as u32);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_GATHERING); // restart
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTING);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_READY);
    assert_eq!(
        ice(p, t),
        I::Connected as u32,
        "the old end-of-candidates no longer holds"
    );
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
    assert_eq!(ice(p, t), I::Completed as u32);
    // Failed with both facts is failed; a direct set detaches the agent.
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_FAILED);
    assert_eq!(ice(p, t), I::Failed as u32);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CONNECTED), OK);
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK);
    assert_eq!(
        ice(p, t),
        I::Connected as u32,
        "no longer derived from the agent"
    );
    assert_eq!(pcstate_peer_free(p), OK);
}

#[test]
fn agent_bad_inputs_change_nothing() {
    let p = new_peer(0, 0);
    let t = add(p);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTED);
    let before = (snapshot(p), get(p, t));
    for (a, s, want) in [
        (0, 0, INVALID_ARGUMENT),
        (3, 0, INVALID_ARGUMENT),
        (u32::MAX, 0, INVALID_ARGUMENT),
        (PCSTATE_ICE_AGENT_LIBNICE, 6, INVALID_STATE),
        (PCSTATE_ICE_AGENT_LIBJUICE, 6, INVALID_STATE),
        (PCSTATE_ICE_AGENT_LIBNICE, u32::MAX, INVALID_STATE),
    ] {
        assert_eq!(
            pcstate_transport_set_ice_agent_state(p, t, a, s),
            want,
            "{a} {s}"
        );
    }
    assert_eq!(
        pcstate_transport_set_ice_agent_state(p, t + 9, 1, 0),
        UNKNOWN_TRANSPORT
    );
    assert_eq!(
        pcstate_transport_set_remote_end_of_candidates(p, t + 9),
        UNKNOWN_TRANSPORT
    );
    assert_eq!(
        pcstate_transport_set_remote_end_of_candidates(0, t),
        INVALID_HANDLE
    );
    let mut out = 0;
    let bad = states(I::New, 9, 0);
    assert_eq!(pcstate_transport_set_states(p, t, &bad), INVALID_STATE);
    assert_eq!(
        pcstate_transport_set_states(p, t, std::ptr::null()),
        NULL_ARGUMENT
    );
    assert_eq!(
        pcstate_transport_add_with_states(p, &bad, &mut out),
        INVALID_STATE
    );
    assert_eq!(out, 0);
    assert_eq!((snapshot(p), get(p, t)), before);
    assert_eq!(pcstate_peer_free(p), OK);
}

#[test]
fn set_states_and_add_with_states_commit_once() {
    let p = new_peer(0, 0);
    let (log, _) = record(p);
    let mut t = 0;
    let connected = states(I::Connected, DTLS_CONNECTED, COMPLETE);
    assert_eq!(pcstate_transport_add_with_states(p, &connected, &mut t), OK);
    assert_eq!(t, 1);
    let l = log.lock().unwrap().clone();
    // new -> connected directly: no connecting in between.
    let conn: Vec<_> = l
        .iter()
        .filter(|e| e.1 == K_CONN)
        .map(|e| (e.2, e.3))
        .collect();
    assert_eq!(conn, [(C::New as u32, C::Connected as u32)]);
    assert_eq!(l.len(), 3);
    log.lock().unwrap().clear();
    // ICE and DTLS change together: connected -> connected, no events at all.
    let other = states(I::Completed, DTLS_CONNECTED, COMPLETE);
    assert_eq!(pcstate_transport_set_states(p, t, &other), OK);
    let l = log.lock().unwrap().clone();
    assert_eq!(l.iter().filter(|e| e.1 == K_CONN).count(), 0);
    assert_eq!(l.len(), 1, "only iceConnectionState changed: {l:?}");
    assert_eq!(get(p, t).0, other);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// Liveness on a fake clock: disconnected after 1 s of silence, failed after 3 s, back on a
/// packet while disconnected; failed sticks until the ICE state is set again.
#[test]
fn liveness_deadlines_on_a_fake_clock() {
    const S: u64 = 1_000_000_000;
    let p = new_peer(0, 0);
    let t = add(p);
    let (log, _) = record(p);
    assert_eq!(pcstate_peer_set_liveness(p, 0, S), INVALID_ARGUMENT);
    assert_eq!(pcstate_peer_set_liveness(p, 2 * S, S), INVALID_ARGUMENT);
    assert_eq!(pcstate_peer_set_liveness(p, S, S), INVALID_ARGUMENT);
    assert_eq!(pcstate_peer_set_liveness(p, S, 3 * S), OK);
    let mut next = 0;
    assert_eq!(pcstate_peer_tick(p, 100 * S, &mut next), OK);
    assert_eq!(next, u64::MAX, "nothing connected: nothing to watch");
    assert_eq!(
        pcstate_peer_tick(p, 100 * S, std::ptr::null_mut()),
        NULL_ARGUMENT
    );
    let up = states(I::Connected, DTLS_CONNECTED, COMPLETE);
    assert_eq!(pcstate_transport_set_states(p, t, &up), OK);
    // The alive clock starts at the next tick.
    assert_eq!(pcstate_peer_tick(p, 100 * S, &mut next), OK);
    assert_eq!(next, 101 * S);
    assert_eq!(pcstate_transport_note_alive(p, t, 100 * S + S / 2), OK);
    assert_eq!(pcstate_peer_tick(p, 101 * S, &mut next), OK);
    assert_eq!(
        ice(p, t),
        I::Connected as u32,
        "a packet at 100.5 s moved the deadline"
    );
    assert_eq!(next, 101 * S + S / 2);
    assert_eq!(pcstate_peer_tick(p, 101 * S + S / 2, &mut next), OK);
    assert_eq!(ice(p, t), I::Disconnected as u32);
    assert_eq!(
        get(p, t).1.ice_state,
        I::Connected as u32,
        "reported stays connected"
    );
    assert_eq!(snapshot(p).connection_state, C::Disconnected as u32);
    assert_eq!(next, 103 * S + S / 2);
    // A packet brings it back at once.
    assert_eq!(pcstate_transport_note_alive(p, t, 102 * S), OK);
    assert_eq!(ice(p, t), I::Connected as u32);
    assert_eq!(snapshot(p).connection_state, C::Connected as u32);
    // Silence: disconnected at 103 s, failed at 105 s, in one late tick.
    log.lock().unwrap().clear();
    assert_eq!(pcstate_peer_tick(p, 110 * S, &mut next), OK);
    assert_eq!(ice(p, t), I::Failed as u32);
    assert_eq!(next, u64::MAX);
    let conn: Vec<_> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.1 == K_CONN)
        .map(|e| e.3)
        .collect();
    assert_eq!(
        conn,
        [C::Failed as u32],
        "one commit per tick: the net change"
    );
    assert!(log.lock().unwrap().iter().all(|e| e.4 == t));
    // Failed sticks: packets do not bring it back; setting the ICE state again does.
    assert_eq!(pcstate_transport_note_alive(p, t, 111 * S), OK);
    assert_eq!(ice(p, t), I::Failed as u32);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CONNECTED), OK);
    assert_eq!(ice(p, t), I::Connected as u32);
    assert_eq!(pcstate_peer_tick(p, 112 * S, &mut next), OK);
    assert_eq!(next, 113 * S);
    // Liveness off: effective is reported again.
    assert_eq!(pcstate_peer_tick(p, 114 * S, &mut next), OK);
    assert_eq!(ice(p, t), I::Disconnected as u32);
    assert_eq!(pcstate_peer_set_liveness(p, 0, 0), OK);
    assert_eq!(ice(p, t), I::Connected as u32);
    assert_eq!(pcstate_transport_note_alive(p, t + 5, S), UNKNOWN_TRANSPORT);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// Many transports, each watched: a tick does only what is due, and stale checks do not pile up
/// when transports come and go between ticks.
#[test]
fn liveness_with_many_transports() {
    const S: u64 = 1_000_000_000;
    let p = new_peer(0, 0);
    assert_eq!(pcstate_peer_set_liveness(p, S, 0), OK);
    let up = states(I::Connected, DTLS_CONNECTED, COMPLETE);
    let ts: Vec<_> = (0..100)
        .map(|_| {
            let mut t = 0;
            assert_eq!(pcstate_transport_add_with_states(p, &up, &mut t), OK);
            t
        })
        .collect();
    let mut next = 0;
    assert_eq!(pcstate_peer_tick(p, 10 * S, &mut next), OK);
    assert_eq!(next, 11 * S);
    for (i, &t) in ts.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(pcstate_transport_note_alive(p, t, 10 * S + S / 2), OK);
        }
    }
    for _ in 0..1000 {
        // Flapping between ticks reschedules; stale checks must not pile up without bound.
        assert_eq!(pcstate_transport_set_ice_state(p, ts[1], ICE_CHECKING), OK);
        assert_eq!(pcstate_transport_set_ice_state(p, ts[1], ICE_CONNECTED), OK);
    }
    assert_eq!(pcstate_peer_tick(p, 11 * S, &mut next), OK);
    let stale = ts
        .iter()
        .filter(|&&t| ice(p, t) == I::Disconnected as u32)
        .count();
    assert_eq!(stale, 49, "the odd ones, but ts[1] restarted its clock");
    assert_eq!(next, 11 * S + S / 2);
    assert_eq!(pcstate_peer_free(p), OK);
}

#[test]
fn ignore_after_close() {
    let p = new_peer(0, PCSTATE_FLAG_IGNORE_AFTER_CLOSE);
    let t = add(p);
    assert_eq!(pcstate_peer_close(p), OK);
    let before = (snapshot(p), get(p, t));
    let mut out = 7;
    assert_eq!(pcstate_transport_add(p, &mut out), OK);
    assert_eq!(out, 0, "no transport was added");
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK);
    assert_eq!(pcstate_transport_set_ice_state(p, 0, ICE_CHECKING), OK);
    assert_eq!(pcstate_transport_set_dtls_state(p, t, DTLS_FAILED), OK);
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK);
    assert_eq!(
        pcstate_transport_set_ice_agent_state(p, t, 1, NICE_READY),
        OK
    );
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
    assert_eq!(pcstate_transport_note_alive(p, t, 5), OK);
    assert_eq!(pcstate_transport_remove(p, t), OK);
    // Bad values are still refused.
    assert_eq!(pcstate_transport_set_ice_state(p, t, 99), INVALID_STATE);
    assert_eq!((snapshot(p), get(p, t)), before);
    let mut next = 0;
    assert_eq!(pcstate_peer_tick(p, 5, &mut next), OK);
    assert_eq!(next, u64::MAX);
    assert_eq!(pcstate_peer_free(p), OK);
    // Without the flag: CLOSED, as before.
    let p = new_peer(0, 0);
    let t = add(p);
    assert_eq!(pcstate_peer_close(p), OK);
    assert_eq!(
        pcstate_transport_set_ice_agent_state(p, t, 1, NICE_READY),
        CLOSED
    );
    assert_eq!(pcstate_transport_note_alive(p, t, 5), CLOSED);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// A failed liveness reading stays when the agent reports the same state again (apps that poll
/// the agent re-report it), or when a fact changes; a new agent state ends it.
#[test]
fn liveness_failure_survives_repeated_agent_reports() {
    const S: u64 = 1_000_000_000;
    let p = new_peer(0, 0);
    let t = add(p);
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_READY);
    assert_eq!(pcstate_peer_set_liveness(p, S, 2 * S), OK);
    let mut next = 0;
    assert_eq!(pcstate_peer_tick(p, S, &mut next), OK);
    assert_eq!(pcstate_peer_tick(p, 10 * S, &mut next), OK);
    assert_eq!(ice(p, t), I::Failed as u32);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_READY);
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK); // a fact changes
    assert_eq!(ice(p, t), I::Failed as u32, "still failed");
    assert_eq!(
        get(p, t).1.ice_state,
        I::Completed as u32,
        "the fact reached the reported state"
    );
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTED);
    assert_eq!(ice(p, t), I::Connected as u32, "a new agent state ends it");
    assert_eq!(pcstate_peer_free(p), OK);
}

/// The caller's clock may hold any u64, the largest included: deadlines wrap around past it and
/// every tick ends (a time of u64::MAX once looked like "clock not started" and a tick never
/// returned; later, deadlines saturated at u64::MAX and read "failed now").
#[test]
fn liveness_at_the_end_of_time() {
    let p = new_peer(0, 0);
    let t = add(p);
    let up = states(I::Connected, DTLS_CONNECTED, COMPLETE);
    assert_eq!(pcstate_transport_set_states(p, t, &up), OK);
    assert_eq!(pcstate_peer_set_liveness(p, 5, 9), OK);
    let mut next = 0;
    assert_eq!(pcstate_peer_tick(p, u64::MAX, &mut next), OK);
    assert_eq!(next, 4, "u64::MAX + 5, wrapped");
    assert_eq!(pcstate_transport_note_alive(p, t, u64::MAX), OK);
    assert_eq!(pcstate_peer_tick(p, u64::MAX, &mut next), OK);
    assert_eq!(
        ice(p, t),
        I::Connected as u32,
        "no time passed since the packet"
    );
    assert_eq!(next, 4);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// `PCSTATE_STATE_UNCHANGED` keeps a field: DTLS and gathering change on an agent-driven transport
/// in one commit, and the agent keeps driving its ICE state (re-derived from the new gathering).
#[test]
fn set_states_keeps_unchanged_fields() {
    let p = new_peer(0, 0);
    let t = add(p);
    let (log, _) = record(p);
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_READY);
    log.lock().unwrap().clear();
    let s = pcstate_transport_states {
        ice_state: PCSTATE_STATE_UNCHANGED,
        dtls_state: DTLS_CONNECTED,
        gatherer_state: COMPLETE,
    };
    assert_eq!(pcstate_transport_set_states(p, t, &s), OK);
    assert_eq!(get(p, t).0, states(I::Completed, DTLS_CONNECTED, COMPLETE));
    let l = log.lock().unwrap().clone();
    let seqs: Vec<u64> = l.iter().map(|e| e.0).collect();
    assert_eq!(
        l.len(),
        3,
        "ICE, connection and gathering, one commit: {l:?}"
    );
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
    // Still agent-driven: a restart clears end-of-candidates.
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_GATHERING);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_READY);
    assert_eq!(ice(p, t), I::Connected as u32);
    // UNCHANGED is only for set_states, and only the exact value.
    let mut out = 0;
    assert_eq!(
        pcstate_transport_add_with_states(p, &s, &mut out),
        INVALID_STATE
    );
    let bad = pcstate_transport_states {
        ice_state: u32::MAX - 1,
        ..s
    };
    assert_eq!(pcstate_transport_set_states(p, t, &bad), INVALID_STATE);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// A liveness failure is blamed on the transport whose deadline failed, not on the first one that
/// changed in the same tick (found by review).
#[test]
fn liveness_failure_is_blamed_on_the_transport_that_failed() {
    let p = new_peer(0, 0);
    let up = states(I::Connected, DTLS_CONNECTED, COMPLETE);
    let (mut t1, mut t2) = (0, 0);
    assert_eq!(pcstate_transport_add_with_states(p, &up, &mut t1), OK);
    assert_eq!(pcstate_transport_add_with_states(p, &up, &mut t2), OK);
    assert_eq!(pcstate_peer_set_liveness(p, 10, 20), OK);
    let mut next = 0;
    assert_eq!(pcstate_peer_tick(p, 0, &mut next), OK);
    assert_eq!(pcstate_transport_note_alive(p, t1, 8), OK);
    assert_eq!(pcstate_peer_tick(p, 10, &mut next), OK);
    assert_eq!(ice(p, t2), I::Disconnected as u32);
    assert_eq!(pcstate_peer_tick(p, 20, &mut next), OK);
    assert_eq!(ice(p, t1), I::Disconnected as u32);
    assert_eq!(ice(p, t2), I::Failed as u32);
    let mut s = std::mem::MaybeUninit::<pcstate_peer_stats>::zeroed();
    assert_eq!(pcstate_peer_stats(p, s.as_mut_ptr()), OK);
    let s = unsafe { s.assume_init() };
    assert_eq!(
        (s.failure_cause, s.failure_transport),
        (pcstate::FailureCause::Liveness as u32, t2)
    );
    assert_eq!(pcstate_peer_free(p), OK);
}

/// Bad liveness durations are refused also after close with IGNORE_AFTER_CLOSE (found by review).
#[test]
fn bad_liveness_durations_are_refused_after_close() {
    let p = new_peer(0, PCSTATE_FLAG_IGNORE_AFTER_CLOSE);
    assert_eq!(pcstate_peer_set_liveness(p, 0, 5), INVALID_ARGUMENT);
    assert_eq!(pcstate_peer_close(p), OK);
    assert_eq!(pcstate_peer_set_liveness(p, 0, 5), INVALID_ARGUMENT);
    assert_eq!(
        pcstate_peer_set_liveness(p, 5, 10),
        OK,
        "a valid call is ignored after close"
    );
    assert_eq!(pcstate_peer_free(p), OK);
}
