//! ICE sessions through the C ABI: an ICE restart keeps a connected transport connected until the
//! new checks conclude (announced with `pcstate_transport_restart_ice` or seen in the agent's
//! states), and an agent that checks before any pair exists reads checking only once a remote
//! candidate was noted.

mod common;
use common::*;

use pcstate::ffi::*;
use pcstate::rules::{ConnectionState as C, IceConnectionState as IC, IceTransportState as I};

const NICE_GATHERING: u32 = 1;
const NICE_CONNECTING: u32 = 2;
const NICE_CONNECTED: u32 = 3;
const NICE_READY: u32 = 4;
const NICE_FAILED: u32 = 5;
const JUICE_GATHERING: u32 = 1;
const JUICE_CONNECTING: u32 = 2;
const JUICE_CONNECTED: u32 = 3;
const JUICE_COMPLETED: u32 = 4;

fn states(p: pcstate_peer, t: pcstate_transport) -> (u32, u32) {
    let mut eff = pcstate_transport_states {
        ice_state: 0,
        dtls_state: 0,
        gatherer_state: 0,
    };
    let mut rep = eff;
    assert_eq!(pcstate_transport_get_states(p, t, &mut eff), OK);
    assert_eq!(pcstate_transport_get_reported_states(p, t, &mut rep), OK);
    (eff.ice_state, rep.ice_state)
}

/// A transport driven by `a`, completed: DTLS connected, gathering complete, a remote candidate
/// and the remote's end-of-candidates noted, the agent concluded.
fn completed(p: pcstate_peer, a: u32) -> pcstate_transport {
    let t = add(p);
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK);
    assert_eq!(pcstate_transport_set_dtls_state(p, t, DTLS_CONNECTED), OK);
    assert_eq!(pcstate_transport_note_remote_candidate(p, t), OK);
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
    agent(
        p,
        t,
        a,
        if a == PCSTATE_ICE_AGENT_LIBNICE {
            NICE_READY
        } else {
            JUICE_COMPLETED
        },
    );
    assert_eq!(ice(p, t), I::Completed as u32);
    t
}

/// The connectionState values the log holds.
fn connection_changes(log: &Log) -> Vec<u32> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|e| e.1 == K_CONN)
        .map(|e| e.3)
        .collect()
}

/// libnice on a healthy call: `pcstate_transport_restart_ice`, then `nice_agent_restart_stream`
/// (GATHERING), new remote candidates (CONNECTING, CONNECTED, READY): connected throughout, as in
/// browsers; completed again once the remote's new end-of-candidates arrives.
#[test]
fn a_restart_keeps_a_connected_libnice_transport_connected() {
    let p = new_peer(0, 0);
    let t = completed(p, PCSTATE_ICE_AGENT_LIBNICE);
    let (log, _) = record(p);
    assert_eq!(pcstate_transport_restart_ice(p, t), OK);
    assert_eq!(
        states(p, t),
        (I::Connected as u32, I::Connected as u32),
        "completed needs the new session's end-of-candidates"
    );
    for s in [NICE_GATHERING, NICE_CONNECTING, NICE_CONNECTED, NICE_READY] {
        agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, s);
        assert_eq!(ice(p, t), I::Connected as u32, "agent state {s}");
        assert_eq!(snapshot(p).connection_state, C::Connected as u32);
    }
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
    assert_eq!(ice(p, t), I::Completed as u32);
    assert!(
        connection_changes(&log).is_empty(),
        "connectionState stayed connected"
    );
    let ice_changes: Vec<_> = log.lock().unwrap().iter().map(|e| (e.1, e.3)).collect();
    assert_eq!(
        ice_changes,
        [(K_ICE, IC::Connected as u32), (K_ICE, IC::Completed as u32)]
    );
    // Once the checks concluded, the usual rules again: a later move back to CONNECTING within
    // the session reads checking.
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTED);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTING);
    assert_eq!(ice(p, t), I::Checking as u32);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// A restart seen only in the agent's states (libnice back to GATHERING; a new libjuice agent)
/// holds the transport connected the same way.
#[test]
fn a_restart_seen_in_the_agents_states_keeps_the_transport_connected() {
    let p = new_peer(0, 0);
    let t = completed(p, PCSTATE_ICE_AGENT_LIBNICE);
    let j = completed(p, PCSTATE_ICE_AGENT_LIBJUICE);
    let (log, _) = record(p);
    for s in [NICE_GATHERING, NICE_CONNECTING, NICE_READY] {
        agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, s);
        assert_eq!(ice(p, t), I::Connected as u32, "libnice state {s}");
    }
    for s in [
        JUICE_GATHERING,
        JUICE_CONNECTING,
        JUICE_CONNECTED,
        JUICE_COMPLETED,
    ] {
        agent(p, j, PCSTATE_ICE_AGENT_LIBJUICE, s);
        assert_eq!(ice(p, j), I::Connected as u32, "libjuice state {s}");
    }
    assert!(connection_changes(&log).is_empty());
    assert_eq!(pcstate_peer_free(p), OK);
}

/// The hold ends when the new checks fail: the agent's FAILED reads disconnected (the new
/// session's facts are not in yet), and the peer reads it.
#[test]
fn a_restart_that_fails_ends_the_hold() {
    let p = new_peer(0, 0);
    let t = completed(p, PCSTATE_ICE_AGENT_LIBNICE);
    assert_eq!(pcstate_transport_restart_ice(p, t), OK);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_GATHERING);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTING);
    assert_eq!(ice(p, t), I::Connected as u32);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_FAILED);
    assert_eq!(ice(p, t), I::Disconnected as u32);
    assert_eq!(snapshot(p).connection_state, C::Disconnected as u32);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTING);
    assert_eq!(ice(p, t), I::Checking as u32, "no hold any more");
    assert_eq!(pcstate_peer_free(p), OK);
}

/// A restart of a transport that was not up holds nothing: it reads what its agent says.
#[test]
fn a_restart_of_a_transport_that_is_not_connected_holds_nothing() {
    let p = new_peer(0, 0);
    let t = add(p);
    assert_eq!(pcstate_transport_note_remote_candidate(p, t), OK);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTING);
    assert_eq!(ice(p, t), I::Checking as u32);
    assert_eq!(pcstate_transport_restart_ice(p, t), OK);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_GATHERING);
    assert_eq!(ice(p, t), I::New as u32);
    // Nor does one of a transport that failed.
    let f = completed(p, PCSTATE_ICE_AGENT_LIBNICE);
    agent(p, f, PCSTATE_ICE_AGENT_LIBNICE, NICE_FAILED);
    assert_eq!(ice(p, f), I::Failed as u32);
    assert_eq!(pcstate_transport_restart_ice(p, f), OK);
    assert_eq!(
        ice(p, f),
        I::Disconnected as u32,
        "failed needs the remote's end-of-candidates of the new session"
    );
    agent(p, f, PCSTATE_ICE_AGENT_LIBNICE, NICE_GATHERING);
    assert_eq!(ice(p, f), I::New as u32);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// With liveness on, silence during a restart still makes the transport disconnected, then
/// failed; the agent's concluding state does not bring a failed reading back, a new state does.
#[test]
fn silence_during_a_restart_still_counts() {
    let p = new_peer(0, 0);
    let t = completed(p, PCSTATE_ICE_AGENT_LIBNICE);
    assert_eq!(pcstate_peer_set_liveness(p, 10, 30), OK);
    let mut next = 0;
    assert_eq!(pcstate_peer_tick(p, 0, &mut next), OK);
    assert_eq!(pcstate_transport_restart_ice(p, t), OK);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_GATHERING);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTING);
    assert_eq!(pcstate_transport_note_alive(p, t, 5), OK);
    assert_eq!(pcstate_peer_tick(p, 14, &mut next), OK);
    assert_eq!(ice(p, t), I::Connected as u32);
    assert_eq!(pcstate_peer_tick(p, 15, &mut next), OK);
    assert_eq!(ice(p, t), I::Disconnected as u32);
    assert_eq!(pcstate_transport_note_alive(p, t, 16), OK);
    assert_eq!(
        ice(p, t),
        I::Connected as u32,
        "a packet brings it back, still held"
    );
    assert_eq!(pcstate_peer_tick(p, 100, &mut next), OK);
    assert_eq!(ice(p, t), I::Failed as u32);
    agent(p, t, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTED);
    assert_eq!(
        ice(p, t),
        I::Connected as u32,
        "a new agent state ends the failed reading"
    );
    assert_eq!(pcstate_peer_free(p), OK);
}

/// An ICE state set directly gets the same hold (libwebrtc keeps its transport connected during a
/// restart until the new checks conclude): after `pcstate_transport_restart_ice` on a connected
/// transport, new and checking read connected until connected, completed, disconnected or failed
/// is set; completed reads connected at once.
#[test]
fn a_restart_holds_an_ice_state_set_directly() {
    let p = new_peer(0, 0);
    let up = pcstate_transport_states {
        ice_state: I::Completed as u32,
        dtls_state: DTLS_CONNECTED,
        gatherer_state: COMPLETE,
    };
    let mut t = 0;
    assert_eq!(pcstate_transport_add_with_states(p, &up, &mut t), OK);
    let (log, _) = record(p);
    assert_eq!(pcstate_transport_restart_ice(p, t), OK);
    assert_eq!(ice(p, t), I::Connected as u32);
    for s in [I::New, I::Checking, I::New] {
        assert_eq!(pcstate_transport_set_ice_state(p, t, s as u32), OK);
        assert_eq!(
            states(p, t),
            (I::Connected as u32, I::Connected as u32),
            "{s:?}"
        );
    }
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CONNECTED), OK);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK);
    assert_eq!(ice(p, t), I::Checking as u32, "the hold ended at connected");
    assert_eq!(
        connection_changes(&log),
        [C::Connecting as u32],
        "connectionState left connected only after the hold"
    );
    // Disconnected ends it too.
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CONNECTED), OK);
    assert_eq!(pcstate_transport_restart_ice(p, t), OK);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_DISCONNECTED), OK);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK);
    assert_eq!(ice(p, t), I::Checking as u32);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// libjuice reports CONNECTING inside `juice_gather_candidates`, before any remote candidate
/// exists: it reads new until `pcstate_transport_note_remote_candidate`, then checking (in one
/// commit). Noted earlier, CONNECTING reads checking at once. libnice's CONNECTING means a pair
/// exists: checking either way.
#[test]
fn an_early_connecting_reads_new_until_a_remote_candidate() {
    let p = new_peer(0, 0);
    let t = add(p);
    let (log, _) = record(p);
    agent(p, t, PCSTATE_ICE_AGENT_LIBJUICE, JUICE_GATHERING);
    agent(p, t, PCSTATE_ICE_AGENT_LIBJUICE, JUICE_CONNECTING);
    assert_eq!(ice(p, t), I::New as u32);
    assert_eq!(snapshot(p).connection_state, C::New as u32);
    assert!(log.lock().unwrap().is_empty());
    assert_eq!(pcstate_transport_note_remote_candidate(p, t), OK);
    assert_eq!(ice(p, t), I::Checking as u32);
    let l = log.lock().unwrap().clone();
    assert_eq!(
        l.iter().map(|e| (e.1, e.3)).collect::<Vec<_>>(),
        [(K_ICE, IC::Checking as u32), (K_CONN, C::Connecting as u32)]
    );
    assert_eq!(l[1].0, l[0].0 + 1, "one commit");
    let seq = snapshot(p).last_seq;
    assert_eq!(pcstate_transport_note_remote_candidate(p, t), OK);
    assert_eq!(snapshot(p).last_seq, seq, "idempotent");
    agent(p, t, PCSTATE_ICE_AGENT_LIBJUICE, JUICE_CONNECTED);
    assert_eq!(ice(p, t), I::Connected as u32);

    let early = add(p);
    assert_eq!(pcstate_transport_note_remote_candidate(p, early), OK);
    agent(p, early, PCSTATE_ICE_AGENT_LIBJUICE, JUICE_CONNECTING);
    assert_eq!(ice(p, early), I::Checking as u32);

    let nice = add(p);
    agent(p, nice, PCSTATE_ICE_AGENT_LIBNICE, NICE_CONNECTING);
    assert_eq!(ice(p, nice), I::Checking as u32);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// A restart ends the remote-candidate fact with the rest of the session; so does detaching the
/// agent.
#[test]
fn a_restart_ends_the_remote_candidate_fact() {
    let p = new_peer(0, 0);
    let t = add(p);
    assert_eq!(pcstate_transport_note_remote_candidate(p, t), OK);
    agent(p, t, PCSTATE_ICE_AGENT_LIBJUICE, JUICE_CONNECTING);
    assert_eq!(ice(p, t), I::Checking as u32);
    assert_eq!(pcstate_transport_restart_ice(p, t), OK);
    assert_eq!(
        ice(p, t),
        I::New as u32,
        "the new session has no remote candidate yet"
    );
    assert_eq!(pcstate_transport_note_remote_candidate(p, t), OK);
    assert_eq!(ice(p, t), I::Checking as u32);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK); // detached
    agent(p, t, PCSTATE_ICE_AGENT_LIBJUICE, JUICE_CONNECTING);
    assert_eq!(ice(p, t), I::New as u32);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// Bad handles and transports get their own results and change nothing; after close, CLOSED, or
/// OK and nothing with `PCSTATE_FLAG_IGNORE_AFTER_CLOSE`.
#[test]
fn restart_and_remote_candidate_results() {
    for call in [
        pcstate_transport_restart_ice
            as extern "C" fn(pcstate_peer, pcstate_transport) -> ResultCode,
        pcstate_transport_note_remote_candidate,
    ] {
        let p = new_peer(0, 0);
        let t = completed(p, PCSTATE_ICE_AGENT_LIBJUICE);
        let before = (snapshot(p), states(p, t));
        assert_eq!(call(0, t), INVALID_HANDLE);
        assert_eq!(call(p + 1, t), INVALID_HANDLE);
        assert_eq!(call(p, 0), UNKNOWN_TRANSPORT);
        assert_eq!(call(p, t + 1), UNKNOWN_TRANSPORT);
        assert_eq!((snapshot(p), states(p, t)), before);
        assert_eq!(pcstate_peer_close(p), OK);
        assert_eq!(call(p, t), CLOSED);
        assert_eq!(pcstate_peer_free(p), OK);
        assert_eq!(call(p, t), INVALID_HANDLE);

        let p = new_peer(0, PCSTATE_FLAG_IGNORE_AFTER_CLOSE);
        let t = completed(p, PCSTATE_ICE_AGENT_LIBJUICE);
        assert_eq!(pcstate_peer_close(p), OK);
        let before = (snapshot(p), states(p, t));
        assert_eq!(call(p, t), OK);
        assert_eq!(call(p, 0), OK);
        assert_eq!((snapshot(p), states(p, t)), before);
        assert_eq!(pcstate_peer_free(p), OK);
    }
}
