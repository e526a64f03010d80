//! An announced ICE restart (`pcstate_transport_restart_ice`) and the agent's own restart are one
//! restart: facts noted for the new session in between survive the agent's move back to
//! GATHERING; and a restart announced but never made by the agent (rolled back) does not hold a
//! later in-session move to checking.

mod common;
use common::*;

use pcstate::ffi::*;
use pcstate::rules::IceTransportState as I;

const JUICE_GATHERING: u32 = 1;
const JUICE_CONNECTING: u32 = 2;
const JUICE_CONNECTED: u32 = 3;
const JUICE_COMPLETED: u32 = 4;
const NICE_CONNECTING: u32 = 2;
const NICE_READY: u32 = 4;

/// A completed transport driven by agent `a` in its concluded state `done`.
fn completed(p: pcstate_peer, a: u32, done: u32) -> pcstate_transport {
    let t = add(p);
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK);
    assert_eq!(pcstate_transport_set_dtls_state(p, t, DTLS_CONNECTED), OK);
    assert_eq!(pcstate_transport_note_remote_candidate(p, t), OK);
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
    agent(p, t, a, done);
    assert_eq!(ice(p, t), I::Completed as u32);
    t
}

/// The answerer's order of libjuice's own examples (remote description first, then gathering):
/// `restart_ice`, a new agent, the remote's new candidates and end-of-candidates, then the new
/// agent gathers and connects. The facts noted after `restart_ice` belong to the new session;
/// the new agent's GATHERING (the same restart, already announced) must not end them.
#[test]
fn facts_noted_after_an_announced_restart_survive_the_agents_own_restart() {
    let p = new_peer(0, 0);
    let a = PCSTATE_ICE_AGENT_LIBJUICE;
    let t = completed(p, a, JUICE_COMPLETED);
    assert_eq!(pcstate_transport_restart_ice(p, t), OK);
    // New session: the remote's candidates and end-of-candidates (non-trickle remote).
    assert_eq!(pcstate_transport_note_remote_candidate(p, t), OK);
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
    // The new agent gathers and concludes.
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK);
    for s in [JUICE_GATHERING, JUICE_CONNECTING, JUICE_CONNECTED] {
        agent(p, t, a, s);
    }
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK);
    agent(p, t, a, JUICE_COMPLETED);
    assert_eq!(
        ice(p, t),
        I::Completed as u32,
        "gathering complete, remote end-of-candidates of this session noted, agent COMPLETED"
    );
    assert_eq!(pcstate_peer_free(p), OK);
}

/// A restart announced and then rolled back (the offer with new credentials withdrawn, the
/// agent never restarted): a later in-session move to CONNECTING (libnice: the selected pair's
/// TCP socket died) reads checking, as it does without the withdrawn restart.
#[test]
fn a_withdrawn_restart_does_not_hold_a_later_checking() {
    let p = new_peer(0, 0);
    let a = PCSTATE_ICE_AGENT_LIBNICE;
    let t = completed(p, a, NICE_READY);
    assert_eq!(pcstate_transport_restart_ice(p, t), OK);
    // Rolled back: libnice was never restarted and stays READY; later, within the session:
    agent(p, t, a, NICE_CONNECTING);
    assert_eq!(ice(p, t), I::Checking as u32);
    assert_eq!(pcstate_peer_free(p), OK);
}
