//! Wrong states at the edges, through the C ABI: facts of an old agent run after detaching, liveness
//! deadlines at the end of a 64-bit clock, and notes that arrive out of order.

mod common;
use common::*;

use pcstate::ffi::*;
use pcstate::rules::{ConnectionState as C, IceTransportState as I};

const NICE_GATHERING: u32 = 1;
const NICE_CONNECTING: u32 = 2;
const NICE_READY: u32 = 4;

/// A connected transport (ICE set directly) on a peer with liveness (`d`, `f`).
fn live_peer(d: u64, f: u64) -> (pcstate_peer, pcstate_transport) {
    let p = new_peer(0, 0);
    let up = pcstate_transport_states {
        ice_state: ICE_CONNECTED,
        dtls_state: DTLS_CONNECTED,
        gatherer_state: COMPLETE,
    };
    let mut t = 0;
    assert_eq!(pcstate_transport_add_with_states(p, &up, &mut t), OK);
    assert_eq!(pcstate_peer_set_liveness(p, d, f), OK);
    (p, t)
}

/// Setting the ICE state directly detaches the agent and ends its run: a new agent run on the
/// transport starts without the old run's remote end-of-candidates, so its READY reads connected
/// until the remote's new end-of-candidates.
#[test]
fn a_new_agent_run_after_detaching_starts_without_the_old_facts() {
    let p = new_peer(0, 0);
    let t = add(p);
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK);
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
    let agent = |s| pcstate_transport_set_ice_agent_state(p, t, PCSTATE_ICE_AGENT_LIBNICE, s);
    assert_eq!(agent(NICE_READY), OK);
    assert_eq!(ice(p, t), I::Completed as u32);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CONNECTED), OK); // detached
    assert_eq!(agent(NICE_GATHERING), OK); // a new run
    assert_eq!(agent(NICE_CONNECTING), OK);
    assert_eq!(agent(NICE_READY), OK);
    assert_eq!(
        ice(p, t),
        I::Connected as u32,
        "the old run's end-of-candidates does not hold for the new run"
    );
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t), OK);
    assert_eq!(ice(p, t), I::Completed as u32);
    // A fact given before any agent ran is kept for the first run.
    let t2 = add(p);
    assert_eq!(pcstate_transport_set_gatherer_state(p, t2, COMPLETE), OK);
    assert_eq!(pcstate_transport_set_remote_end_of_candidates(p, t2), OK);
    assert_eq!(
        pcstate_transport_set_ice_agent_state(p, t2, PCSTATE_ICE_AGENT_LIBNICE, NICE_READY),
        OK
    );
    assert_eq!(ice(p, t2), I::Completed as u32);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// A packet noted at the clock's last value is not "failed now": deadlines run past the end of
/// a 64-bit clock by wrapping around, as the clock itself would.
#[test]
fn a_packet_at_the_end_of_the_clock_is_alive() {
    let (p, t) = live_peer(5, 9);
    assert_eq!(
        tick(p, u64::MAX),
        4,
        "the clock started at u64::MAX: due 5 ns later"
    );
    assert_eq!(pcstate_transport_note_alive(p, t, u64::MAX), OK);
    assert_eq!(tick(p, u64::MAX), 4);
    assert_eq!(
        ice(p, t),
        I::Connected as u32,
        "no time passed since the packet"
    );
    assert_eq!(tick(p, 3), 4);
    assert_eq!(ice(p, t), I::Connected as u32);
    assert_eq!(tick(p, 4), 8);
    assert_eq!(ice(p, t), I::Disconnected as u32);
    assert_eq!(tick(p, 8), u64::MAX);
    assert_eq!(ice(p, t), I::Failed as u32);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// A deadline near the end of the clock is reported, never as "none" (`UINT64_MAX`): one past the
/// end wraps around; one that falls exactly on `UINT64_MAX` is reported 1 ns early (a tick then
/// finds it not yet due and reports it again).
#[test]
fn deadlines_near_the_end_of_the_clock_are_reported() {
    let (p, t) = live_peer(5, 0);
    tick(p, u64::MAX - 20);
    assert_eq!(pcstate_transport_note_alive(p, t, u64::MAX - 3), OK);
    assert_eq!(tick(p, u64::MAX - 15), 1, "u64::MAX + 2, wrapped");
    assert_eq!(tick(p, 0), 1);
    assert_eq!(ice(p, t), I::Connected as u32);
    assert_eq!(tick(p, 1), u64::MAX, "disconnected; nothing else to come");
    assert_eq!(ice(p, t), I::Disconnected as u32);
    assert_eq!(pcstate_peer_free(p), OK);

    let (p, t) = live_peer(5, 0);
    tick(p, u64::MAX - 20);
    assert_eq!(pcstate_transport_note_alive(p, t, u64::MAX - 5), OK);
    assert_eq!(tick(p, u64::MAX - 15), u64::MAX - 1);
    assert_eq!(tick(p, u64::MAX - 1), u64::MAX - 1, "not due yet");
    assert_eq!(ice(p, t), I::Connected as u32);
    assert_eq!(tick(p, u64::MAX), u64::MAX);
    assert_eq!(ice(p, t), I::Disconnected as u32);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// A note older than the last one changes nothing: it cannot bring a disconnected transport back
/// (which the next tick would undo), nor can a note that the last tick had already left behind.
#[test]
fn a_note_older_than_the_last_one_changes_nothing() {
    let (p, t) = live_peer(10, 100);
    let (log, _) = record(p);
    tick(p, 0);
    assert_eq!(pcstate_transport_note_alive(p, t, 8), OK);
    assert_eq!(tick(p, 20), 108);
    assert_eq!(ice(p, t), I::Disconnected as u32);
    assert_eq!(snapshot(p).connection_state, C::Disconnected as u32);
    let events = log.lock().unwrap().len();
    assert_eq!(pcstate_transport_note_alive(p, t, 5), OK, "older than 8");
    assert_eq!(pcstate_transport_note_alive(p, t, 8), OK, "as old as 8");
    assert_eq!(
        pcstate_transport_note_alive(p, t, 9),
        OK,
        "newer than 8, but silent for 10 by the tick at 20"
    );
    assert_eq!(ice(p, t), I::Disconnected as u32);
    assert_eq!(
        tick(p, 21),
        109,
        "the failed deadline follows the newest note"
    );
    assert_eq!(log.lock().unwrap().len(), events, "no event either way");
    assert_eq!(pcstate_transport_note_alive(p, t, 15), OK);
    assert_eq!(
        ice(p, t),
        I::Connected as u32,
        "a note the tick at 20 saw alive"
    );
    assert_eq!(tick(p, 24), 25);
    assert_eq!(ice(p, t), I::Connected as u32);
    assert_eq!(pcstate_peer_free(p), OK);
}
