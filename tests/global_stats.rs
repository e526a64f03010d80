//! the process-wide gauges under 4 threads creating, updating and freeing peers; at
//! every quiescent point the per-state gauges sum to the live peers and match what the threads
//! left. A test binary of its own: no other test may run peers in this process meanwhile.

mod common;
use common::*;

use std::sync::{Arc, Barrier};

use pcstate::ffi::*;
use pcstate::rules::ConnectionState as C;

fn global() -> pcstate_global_stats {
    let mut g = std::mem::MaybeUninit::<pcstate_global_stats>::zeroed();
    assert_eq!(pcstate_global_stats(g.as_mut_ptr()), OK);
    unsafe { g.assume_init() }
}

#[test]
fn gauges_sum_to_live_peers_at_quiescent_points() {
    assert_eq!(pcstate_global_stats(std::ptr::null_mut()), NULL_ARGUMENT);
    let start = global();
    assert_eq!(start.live_peers, 0);
    let rounds = 5;
    let barrier = Arc::new(Barrier::new(5));
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let mut x = w * 7919 + 1;
                for _ in 0..rounds {
                    for _ in 0..200 {
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let p = new_peer(0, 0);
                        let t = add(p);
                        let ice = [ICE_CHECKING, ICE_CONNECTED, 5][(x >> 33) as usize % 3];
                        assert_eq!(pcstate_transport_set_ice_state(p, t, ice), OK);
                        assert_eq!(pcstate_transport_set_dtls_state(p, t, DTLS_CONNECTED), OK);
                        if (x >> 40) % 2 == 0 {
                            assert_eq!(pcstate_peer_free(p), OK);
                        } else {
                            kept.push(p);
                        }
                    }
                    b.wait(); // quiescent: the main thread reads
                    b.wait();
                }
                kept
            })
        })
        .collect();
    for _ in 0..rounds {
        barrier.wait();
        let g = global();
        assert_eq!(g.peers_in_state.iter().sum::<u64>(), g.live_peers);
        assert!(g.live_peers > 0);
        assert_eq!(
            g.peers_in_state[C::New as usize],
            0,
            "every peer moved on from new"
        );
        barrier.wait();
    }
    let kept: Vec<pcstate_peer> = workers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let g = global();
    assert_eq!(g.live_peers, kept.len() as u64);
    let mut by_state = [0u64; 6];
    for &p in &kept {
        by_state[snapshot(p).connection_state as usize] += 1;
    }
    assert_eq!(g.peers_in_state, by_state);
    assert!(g.failures >= by_state[C::Failed as usize]);
    assert!(g.events_committed > start.events_committed);
    kept.iter()
        .for_each(|&p| assert_eq!(pcstate_peer_free(p), OK));
    let end = global();
    assert_eq!((end.live_peers, end.peers_in_state), (0, [0; 6]));
}
