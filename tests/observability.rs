//! Through the C ABI: a peer's numbers (times, entries, failure causes) and history.

mod common;
use common::*;

use pcstate::FailureCause;
use pcstate::ffi::*;
use pcstate::rules::{ConnectionState as C, IceTransportState as I};

fn stats(p: pcstate_peer) -> pcstate_peer_stats {
    let mut s = std::mem::MaybeUninit::<pcstate_peer_stats>::zeroed();
    assert_eq!(pcstate_peer_stats(p, s.as_mut_ptr()), OK);
    unsafe { s.assume_init() }
}

fn connect(p: pcstate_peer, t: pcstate_transport) {
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK);
    assert_eq!(pcstate_transport_set_dtls_state(p, t, DTLS_CONNECTING), OK);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CONNECTED), OK);
    assert_eq!(pcstate_transport_set_dtls_state(p, t, DTLS_CONNECTED), OK);
}

#[test]
fn stats_of_a_scripted_call() {
    let before = pcstate_now_ns();
    let p = new_peer(0, 0);
    let s0 = stats(p);
    assert!(s0.created_ns >= before && s0.created_ns <= pcstate_now_ns());
    assert_eq!(s0.first_connected_ns, 0);
    assert_eq!(s0.entered_state, [1, 0, 0, 0, 0, 0]);
    assert_eq!(s0.failure_cause, FailureCause::None as u32);
    let t = add(p);
    connect(p, t);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_DISCONNECTED), OK);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CONNECTED), OK);
    let (lo, s, hi) = (pcstate_now_ns(), stats(p), pcstate_now_ns());
    assert_eq!(s.entered_state, [1, 1, 2, 1, 0, 0]);
    assert!(s.first_connected_ns > s.created_ns && s.first_connected_ns <= lo);
    let total: u64 = s.time_in_state_ns.iter().sum();
    assert!(
        total >= lo - s.created_ns && total <= hi - s.created_ns,
        "sums to now - created"
    );
    assert_eq!(s.time_in_state_ns[C::Failed as usize], 0);
    assert_eq!(s.time_in_state_ns[C::Closed as usize], 0);
    // Close without events still counts the closed state.
    assert_eq!(pcstate_peer_close(p), OK);
    let s = stats(p);
    assert_eq!(s.entered_state[C::Closed as usize], 1);
    assert_eq!(pcstate_peer_stats(p, std::ptr::null_mut()), NULL_ARGUMENT);
    assert_eq!(pcstate_peer_free(p), OK);
    let mut out = s;
    assert_eq!(pcstate_peer_stats(p, &mut out), INVALID_HANDLE);
    assert_eq!(out, s, "nothing written on error");
}

#[test]
fn failure_cause_names() {
    let name = |c| unsafe { std::ffi::CStr::from_ptr(pcstate_failure_cause_name(c)) };
    let names: Vec<_> = (0..4).map(|c| name(c).to_str().unwrap()).collect();
    assert_eq!(names, ["none", "ice", "dtls", "liveness"]);
    assert!(pcstate_failure_cause_name(4).is_null());
}

#[test]
fn failure_causes() {
    // ICE
    let p = new_peer(0, 0);
    let (t1, t2) = (add(p), add(p));
    connect(p, t1);
    connect(p, t2);
    assert_eq!(pcstate_transport_set_ice_state(p, t2, I::Failed as u32), OK);
    let s = stats(p);
    assert_eq!(
        (s.failure_cause, s.failure_transport),
        (FailureCause::Ice as u32, t2)
    );
    assert_eq!(s.entered_state[C::Failed as usize], 1);
    // DTLS then ICE: DTLS failed first.
    assert_eq!(pcstate_transport_set_ice_state(p, t2, ICE_CONNECTED), OK);
    assert_eq!(pcstate_transport_set_dtls_state(p, t1, DTLS_FAILED), OK);
    assert_eq!(pcstate_transport_set_ice_state(p, t2, I::Failed as u32), OK);
    let s = stats(p);
    assert_eq!(
        (s.failure_cause, s.failure_transport),
        (FailureCause::Dtls as u32, t1)
    );
    assert_eq!(s.entered_state[C::Failed as usize], 2);
    assert_eq!(pcstate_peer_free(p), OK);
    // Liveness.
    const S: u64 = 1_000_000_000;
    let p = new_peer(0, 0);
    let t = add(p);
    connect(p, t);
    assert_eq!(pcstate_peer_set_liveness(p, S, 2 * S), OK);
    let mut next = 0;
    assert_eq!(pcstate_peer_tick(p, 10 * S, &mut next), OK);
    assert_eq!(pcstate_peer_tick(p, 20 * S, &mut next), OK);
    let s = stats(p);
    assert_eq!(
        (s.failure_cause, s.failure_transport),
        (FailureCause::Liveness as u32, t)
    );
    assert_eq!(pcstate_peer_free(p), OK);
}

#[test]
fn history_keeps_the_last_events() {
    let p = new_peer(0, PCSTATE_FLAG_HISTORY);
    let (log, _) = record(p);
    let t = add(p);
    let mut n = 0;
    assert_eq!(pcstate_peer_history(p, std::ptr::null_mut(), 0, &mut n), OK);
    assert_eq!(n, 0);
    for k in 0..25u32 {
        assert_eq!(
            pcstate_transport_set_gatherer_state(p, t, [GATHERING, COMPLETE][k as usize % 2]),
            OK
        );
        assert_eq!(
            pcstate_transport_set_ice_state(p, t, [ICE_CHECKING, ICE_CONNECTED][k as usize % 2]),
            OK
        );
    }
    let all = log.lock().unwrap().clone();
    assert!(all.len() > 32);
    let mut out = vec![std::mem::MaybeUninit::<pcstate_event>::zeroed(); 40];
    assert_eq!(pcstate_peer_history(p, out[0].as_mut_ptr(), 40, &mut n), OK);
    assert_eq!(n, 32);
    let got: Vec<_> = out[..n]
        .iter()
        .map(|e| {
            let e = unsafe { e.assume_init() };
            assert_eq!(e.peer, p);
            (e.seq, e.kind, e.old_state, e.new_state, e.transport)
        })
        .collect();
    assert_eq!(got, all[all.len() - 32..], "the newest 32, oldest first");
    assert_eq!(pcstate_peer_history(p, out[0].as_mut_ptr(), 5, &mut n), OK);
    assert_eq!(n, 5);
    assert_eq!(unsafe { out[4].assume_init() }.seq, all.last().unwrap().0);
    assert_eq!(
        pcstate_peer_history(p, std::ptr::null_mut(), 3, &mut n),
        NULL_ARGUMENT
    );
    assert_eq!(
        pcstate_peer_history(p, out[0].as_mut_ptr(), 3, std::ptr::null_mut()),
        NULL_ARGUMENT
    );
    assert_eq!(pcstate_peer_free(p), OK);
    let q = new_peer(0, 0);
    assert_eq!(
        pcstate_peer_history(q, out[0].as_mut_ptr(), 3, &mut n),
        INVALID_ARGUMENT
    );
    assert_eq!(pcstate_peer_free(q), OK);
}

/// `pcstate_peer_free_with_stats` frees the peer and reads it in the same step: the reading has
/// every commit made before (as it was: failed, never closed), the handle is gone after; a NULL
/// `last` frees nothing.
#[test]
fn free_with_stats_reads_the_peer_as_it_is_freed() {
    let p = new_peer(0, 0);
    let t = add(p);
    connect(p, t);
    assert_eq!(pcstate_transport_set_dtls_state(p, t, DTLS_FAILED), OK);
    assert_eq!(
        pcstate_peer_free_with_stats(p, std::ptr::null_mut()),
        NULL_ARGUMENT
    );
    let before = stats(p); // still alive: NULL freed nothing
    let mut last = std::mem::MaybeUninit::<pcstate_peer_stats>::zeroed();
    let lo = pcstate_now_ns();
    assert_eq!(pcstate_peer_free_with_stats(p, last.as_mut_ptr()), OK);
    let hi = pcstate_now_ns();
    let last = unsafe { last.assume_init() };
    assert_eq!(
        last.entered_state,
        [1, 1, 1, 0, 1, 0],
        "failed once, never closed"
    );
    assert_eq!(last.time_in_state_ns[C::Closed as usize], 0);
    assert_eq!(
        (last.failure_cause, last.failure_transport),
        (FailureCause::Dtls as u32, t)
    );
    assert_eq!(last.created_ns, before.created_ns);
    let age: u64 = last.time_in_state_ns.iter().sum();
    assert!(last.created_ns + age >= lo && last.created_ns + age <= hi);
    let mut again = std::mem::MaybeUninit::<pcstate_peer_stats>::zeroed();
    assert_eq!(pcstate_peer_stats(p, again.as_mut_ptr()), INVALID_HANDLE);
    assert_eq!(
        pcstate_peer_free_with_stats(p, again.as_mut_ptr()),
        INVALID_HANDLE
    );
}
