//! The C ABI exercised from Rust: every bad input, event order and content, close semantics,
//! reentrant calls from callbacks, callback replacement and free, threads, the event queue.

use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use pcstate::ffi::*;

mod common;
use common::*;

fn name(s: *const std::ffi::c_char) -> &'static str {
    assert!(!s.is_null());
    unsafe { CStr::from_ptr(s) }.to_str().unwrap()
}

#[test]
fn version_messages_and_names() {
    assert_eq!(name(pcstate_version()), env!("CARGO_PKG_VERSION"));
    let mut seen = std::collections::HashSet::new();
    for code in 0..=10 {
        assert!(
            seen.insert(name(pcstate_result_message(code))),
            "distinct messages"
        );
    }
    assert_eq!(name(pcstate_result_message(999)), "unknown result code");
    assert_eq!(name(pcstate_connection_state_name(1)), "connecting");
    assert!(pcstate_connection_state_name(6).is_null());
    assert_eq!(name(pcstate_ice_connection_state_name(3)), "completed");
    assert!(pcstate_ice_connection_state_name(7).is_null());
    assert_eq!(name(pcstate_ice_transport_state_name(6)), "closed");
    assert!(pcstate_ice_transport_state_name(u32::MAX).is_null());
    assert_eq!(name(pcstate_dtls_transport_state_name(4)), "failed");
    assert!(pcstate_dtls_transport_state_name(5).is_null());
    assert_eq!(name(pcstate_ice_gathering_state_name(1)), "gathering");
    assert!(pcstate_ice_gathering_state_name(3).is_null());
    assert_eq!(name(pcstate_ice_gatherer_state_name(2)), "complete");
    assert!(pcstate_ice_gatherer_state_name(3).is_null());
}

/// Every bad input gets its own code, changes nothing, and writes no out-parameter.
#[test]
fn bad_input_changes_nothing() {
    let p = new_peer(0, PCSTATE_FLAG_EVENT_QUEUE);
    let plain = new_peer(0, 0);
    let t = add(p);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK);
    let gone = add(p);
    assert_eq!(pcstate_transport_remove(p, gone), OK);
    let freed = new_peer(0, 0);
    assert_eq!(pcstate_peer_free(freed), OK);
    let before = snapshot(p);

    // NULL out-pointers.
    assert_eq!(pcstate_peer_new(0, 0, std::ptr::null_mut()), NULL_ARGUMENT);
    assert_eq!(
        pcstate_transport_add(p, std::ptr::null_mut()),
        NULL_ARGUMENT
    );
    assert_eq!(
        pcstate_transport_get_states(p, t, std::ptr::null_mut()),
        NULL_ARGUMENT
    );
    assert_eq!(
        pcstate_peer_connection_state(p, std::ptr::null_mut()),
        NULL_ARGUMENT
    );
    assert_eq!(
        pcstate_peer_ice_connection_state(p, std::ptr::null_mut()),
        NULL_ARGUMENT
    );
    assert_eq!(
        pcstate_peer_ice_gathering_state(p, std::ptr::null_mut()),
        NULL_ARGUMENT
    );
    assert_eq!(
        pcstate_peer_snapshot(p, std::ptr::null_mut()),
        NULL_ARGUMENT
    );
    assert_eq!(
        pcstate_peer_poll_event(p, std::ptr::null_mut()),
        NULL_ARGUMENT
    );
    assert_eq!(
        pcstate_peer_event_fd(p, std::ptr::null_mut()),
        NULL_ARGUMENT
    );

    // Unknown profile and flag bits.
    let mut out = 12345u64;
    assert_eq!(pcstate_peer_new(3, 0, &mut out), INVALID_ARGUMENT);
    assert_eq!(pcstate_peer_new(u32::MAX, 0, &mut out), INVALID_ARGUMENT);
    assert_eq!(pcstate_peer_new(0, 16, &mut out), INVALID_ARGUMENT); // 4 is IGNORE_AFTER_CLOSE, 8 HISTORY
    assert_eq!(pcstate_peer_new(0, 1 << 31, &mut out), INVALID_ARGUMENT);
    assert_eq!(out, 12345);

    // Invalid handles: 0, never issued, freed; for every function taking a peer.
    for h in [
        0,
        0xdead_beef_0000_0001u64,
        (1u64 << 32) | 0x00ff_ffff,
        freed,
    ] {
        let mut v = 77u32;
        let mut tid = 77u32;
        let mut fd = 77;
        assert_eq!(pcstate_peer_close(h), INVALID_HANDLE);
        assert_eq!(pcstate_peer_free(h), INVALID_HANDLE);
        assert_eq!(pcstate_transport_add(h, &mut tid), INVALID_HANDLE);
        assert_eq!(pcstate_transport_remove(h, 1), INVALID_HANDLE);
        assert_eq!(pcstate_transport_set_ice_state(h, 1, 0), INVALID_HANDLE);
        assert_eq!(pcstate_transport_set_dtls_state(h, 1, 0), INVALID_HANDLE);
        assert_eq!(
            pcstate_transport_set_gatherer_state(h, 1, 0),
            INVALID_HANDLE
        );
        let mut st = pcstate_transport_states {
            ice_state: 77,
            dtls_state: 77,
            gatherer_state: 77,
        };
        assert_eq!(pcstate_transport_get_states(h, 1, &mut st), INVALID_HANDLE);
        assert_eq!(st.ice_state, 77);
        assert_eq!(pcstate_peer_connection_state(h, &mut v), INVALID_HANDLE);
        assert_eq!(pcstate_peer_ice_connection_state(h, &mut v), INVALID_HANDLE);
        assert_eq!(pcstate_peer_ice_gathering_state(h, &mut v), INVALID_HANDLE);
        let mut s = snapshot(p);
        s.last_seq = 999;
        assert_eq!(pcstate_peer_snapshot(h, &mut s), INVALID_HANDLE);
        assert_eq!(s.last_seq, 999);
        assert_eq!(
            pcstate_peer_set_callback(h, Some(trampoline), std::ptr::null_mut(), None),
            INVALID_HANDLE
        );
        let mut e = std::mem::MaybeUninit::<pcstate_event>::zeroed();
        assert_eq!(pcstate_peer_poll_event(h, e.as_mut_ptr()), INVALID_HANDLE);
        assert_eq!(pcstate_peer_event_fd(h, &mut fd), INVALID_HANDLE);
        assert_eq!((v, tid, fd), (77, 77, 77));
    }

    // States outside their enums.
    assert_eq!(pcstate_transport_set_ice_state(p, t, 7), INVALID_STATE);
    assert_eq!(pcstate_transport_set_dtls_state(p, t, 5), INVALID_STATE);
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, 3), INVALID_STATE);
    assert_eq!(
        pcstate_transport_set_ice_state(p, t, u32::MAX),
        INVALID_STATE
    );

    // Transports 0, never added, removed.
    for id in [0, gone, 999] {
        let mut st = pcstate_transport_states {
            ice_state: 77,
            dtls_state: 77,
            gatherer_state: 77,
        };
        assert_eq!(pcstate_transport_remove(p, id), UNKNOWN_TRANSPORT);
        assert_eq!(pcstate_transport_set_ice_state(p, id, 1), UNKNOWN_TRANSPORT);
        assert_eq!(
            pcstate_transport_set_dtls_state(p, id, 1),
            UNKNOWN_TRANSPORT
        );
        assert_eq!(
            pcstate_transport_set_gatherer_state(p, id, 1),
            UNKNOWN_TRANSPORT
        );
        assert_eq!(
            pcstate_transport_get_states(p, id, &mut st),
            UNKNOWN_TRANSPORT
        );
        assert_eq!(st.ice_state, 77);
    }

    // Queue functions on a peer without the flag.
    let mut fd = 77;
    let mut e = std::mem::MaybeUninit::<pcstate_event>::zeroed();
    assert_eq!(
        pcstate_peer_poll_event(plain, e.as_mut_ptr()),
        INVALID_ARGUMENT
    );
    assert_eq!(pcstate_peer_event_fd(plain, &mut fd), INVALID_ARGUMENT);
    assert_eq!(fd, 77);

    // Nothing changed.
    assert_eq!(snapshot(p), before);
    let mut st = pcstate_transport_states {
        ice_state: 0,
        dtls_state: 0,
        gatherer_state: 0,
    };
    assert_eq!(pcstate_transport_get_states(p, t, &mut st), OK);
    assert_eq!(
        (st.ice_state, st.dtls_state, st.gatherer_state),
        (ICE_CHECKING, 0, 0)
    );
    assert_eq!(pcstate_peer_free(p), OK);
    assert_eq!(pcstate_peer_free(plain), OK);
}

/// A realistic call: events in order, with the right content, all delivered when each call
/// returns (one thread makes all calls), and aggregates already updated inside the callback.
#[test]
fn scripted_call_events() {
    let p = new_peer(0, 0);
    let seen_inside = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen_inside.clone();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l2 = log.clone();
    let frees = set_handler(
        p,
        Box::new(move |e| {
            l2.lock()
                .unwrap()
                .push((e.seq, e.kind, e.old_state, e.new_state, e.transport));
            // All aggregates are updated before any of the call's events is delivered.
            let s = snapshot(e.peer);
            s2.lock()
                .unwrap()
                .push((e.seq, s.connection_state, s.ice_connection_state));
        }),
    );
    let t1 = add(p);
    let t2 = add(p);
    assert_eq!((t1, t2), (1, 2));
    let step = |f: &dyn Fn() -> ResultCode, want: &[(u32, u32, u32, u32)]| {
        let n = log.lock().unwrap().len();
        assert_eq!(f(), OK);
        let got: Vec<_> = log.lock().unwrap()[n..]
            .iter()
            .map(|&(_, k, o, n, t)| (k, o, n, t))
            .collect();
        assert_eq!(got, want);
    };
    step(
        &|| pcstate_transport_set_gatherer_state(p, t1, GATHERING),
        &[(K_GATHER, 0, 1, t1)],
    );
    step(
        &|| pcstate_transport_set_gatherer_state(p, t2, GATHERING),
        &[],
    );
    step(
        &|| pcstate_transport_set_ice_state(p, t1, ICE_CHECKING),
        &[(K_ICE, 0, 1, t1), (K_CONN, 0, 1, t1)],
    );
    step(
        &|| pcstate_transport_set_ice_state(p, t2, ICE_CHECKING),
        &[],
    );
    step(
        &|| pcstate_transport_set_gatherer_state(p, t1, COMPLETE),
        &[],
    );
    step(
        &|| pcstate_transport_set_gatherer_state(p, t2, COMPLETE),
        &[(K_GATHER, 1, 2, t2)],
    );
    step(
        &|| pcstate_transport_set_ice_state(p, t1, ICE_CONNECTED),
        &[],
    );
    step(
        &|| pcstate_transport_set_ice_state(p, t2, ICE_CONNECTED),
        &[(K_ICE, 1, 2, t2)],
    );
    step(
        &|| pcstate_transport_set_dtls_state(p, t1, DTLS_CONNECTING),
        &[],
    );
    step(
        &|| pcstate_transport_set_dtls_state(p, t1, DTLS_CONNECTED),
        &[],
    );
    step(
        &|| pcstate_transport_set_dtls_state(p, t2, DTLS_CONNECTED),
        &[(K_CONN, 1, 2, t2)],
    );
    step(
        &|| pcstate_transport_set_ice_state(p, t1, ICE_DISCONNECTED),
        &[(K_ICE, 2, 4, t1), (K_CONN, 2, 3, t1)],
    );
    step(
        &|| pcstate_transport_set_ice_state(p, t1, ICE_CONNECTED),
        &[(K_ICE, 4, 2, t1), (K_CONN, 3, 2, t1)],
    );
    step(
        &|| pcstate_transport_set_dtls_state(p, t2, DTLS_FAILED),
        &[(K_CONN, 2, 4, t2)],
    );
    // Removing the failed transport recomputes at once.
    step(&|| pcstate_transport_remove(p, t2), &[(K_CONN, 4, 2, t2)]);
    // Adding a new transport to a connected peer: ICE checking, connecting, gathering new.
    let t3 = std::cell::Cell::new(0u32);
    step(
        &|| pcstate_transport_add(p, t3.as_ptr()),
        &[(K_ICE, 2, 1, 3), (K_CONN, 2, 1, 3), (K_GATHER, 2, 0, 3)],
    );
    step(&|| pcstate_peer_close(p), &[]);
    let log = log.lock().unwrap();
    for (i, e) in log.iter().enumerate() {
        assert_eq!(e.0, i as u64 + 1, "seq 1, 2, 3, ... without gaps");
    }
    assert_eq!(snapshot(p).last_seq, log.len() as u64);
    for &(seq, conn, ice) in seen_inside.lock().unwrap().iter() {
        let e = log[seq as usize - 1];
        if e.1 == K_CONN {
            assert_eq!(conn, e.3);
        }
        if e.1 == K_ICE {
            assert_eq!(ice, e.3);
        }
    }
    assert_eq!(frees.load(SeqCst), 0);
    assert_eq!(pcstate_peer_free(p), OK);
    assert_eq!(
        frees.load(SeqCst),
        1,
        "user_data_free exactly once, by free"
    );
}

#[test]
fn close_semantics() {
    for flags in [0, PCSTATE_FLAG_CLOSE_EVENTS] {
        let p = new_peer(0, flags);
        let t = add(p);
        assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK);
        assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CONNECTED), OK);
        assert_eq!(pcstate_transport_set_dtls_state(p, t, DTLS_CONNECTED), OK);
        let (log, _) = record(p);
        let before = snapshot(p);
        assert_eq!(pcstate_peer_close(p), OK);
        assert_eq!(pcstate_peer_close(p), OK, "idempotent");
        let s = snapshot(p);
        assert_eq!((s.connection_state, s.ice_connection_state), (5, 6));
        assert_eq!(s.ice_gathering_state, before.ice_gathering_state);
        let got = log.lock().unwrap().clone();
        if flags == 0 {
            assert!(got.is_empty(), "the spec's close fires no event");
            assert_eq!(s.last_seq, before.last_seq);
        } else {
            let n = before.last_seq;
            assert_eq!(got, [(n + 1, K_ICE, 2, 6, 0), (n + 2, K_CONN, 2, 5, 0)]);
        }
        let mut st = pcstate_transport_states {
            ice_state: 0,
            dtls_state: 0,
            gatherer_state: 0,
        };
        assert_eq!(pcstate_transport_get_states(p, t, &mut st), OK);
        assert_eq!(
            (st.ice_state, st.dtls_state, st.gatherer_state),
            (6, 3, GATHERING)
        );
        let mut x = 0;
        assert_eq!(pcstate_transport_add(p, &mut x), CLOSED);
        assert_eq!(pcstate_transport_remove(p, t), CLOSED);
        assert_eq!(pcstate_transport_set_ice_state(p, t, 1), CLOSED);
        assert_eq!(pcstate_transport_set_dtls_state(p, t, 1), CLOSED);
        assert_eq!(pcstate_transport_set_gatherer_state(p, t, 2), CLOSED);
        assert_eq!(snapshot(p), s, "nothing changed after close");
        let mut v = 0;
        assert_eq!(pcstate_peer_connection_state(p, &mut v), OK);
        assert_eq!(v, 5);
        assert_eq!(pcstate_peer_free(p), OK);
    }
}

/// Calls from inside a callback: their events come after the running callback returns, in
/// order, never nested; close and callback replacement from inside work.
#[test]
fn reentrant_calls_from_the_callback() {
    let p = new_peer(0, PCSTATE_FLAG_CLOSE_EVENTS);
    let t = add(p);
    let depth = Arc::new(AtomicUsize::new(0));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (d, l) = (depth.clone(), log.clone());
    let _frees = set_handler(
        p,
        Box::new(move |e| {
            assert_eq!(d.fetch_add(1, SeqCst), 0, "never nested");
            l.lock().unwrap().push((e.seq, e.kind, e.new_state));
            if e.kind == K_GATHER && e.new_state == GATHERING {
                // Causes ICE + connection events: delivered after this callback returns.
                assert_eq!(
                    pcstate_transport_set_ice_state(e.peer, e.transport, ICE_CHECKING),
                    OK
                );
                assert_eq!(l.lock().unwrap().len(), 1);
            }
            if e.kind == K_CONN && e.new_state == 1 {
                assert_eq!(pcstate_peer_close(e.peer), OK);
            }
            d.fetch_sub(1, SeqCst);
        }),
    );
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK);
    let got = log.lock().unwrap().clone();
    assert_eq!(
        got,
        [
            (1, K_GATHER, 1),
            (2, K_ICE, 1),
            (3, K_CONN, 1),
            (4, K_ICE, 6),
            (5, K_CONN, 5)
        ]
    );
    assert_eq!(pcstate_peer_free(p), OK);
}

#[test]
fn replace_and_clear_callback_from_inside() {
    let p = new_peer(0, 0);
    let t = add(p);
    let second = Arc::new(Mutex::new(Vec::new()));
    let s2 = second.clone();
    let first_frees_seen_inside = Arc::new(AtomicUsize::new(usize::MAX));
    let seen = first_frees_seen_inside.clone();
    let frees_slot: Arc<Mutex<Option<Arc<AtomicUsize>>>> = Arc::new(Mutex::new(None));
    let fs = frees_slot.clone();
    let frees1 = set_handler(
        p,
        Box::new(move |e| {
            let s3 = s2.clone();
            // Replace ourselves: our user_data must survive until we return.
            set_handler(e.peer, Box::new(move |e| s3.lock().unwrap().push(e.seq)));
            let f = fs.lock().unwrap().clone().unwrap();
            seen.store(f.load(SeqCst), SeqCst);
            // Cause more events: they go to the new callback.
            assert_eq!(pcstate_transport_set_ice_state(e.peer, 1, ICE_CHECKING), OK);
        }),
    );
    *frees_slot.lock().unwrap() = Some(frees1.clone());
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK);
    assert_eq!(
        first_frees_seen_inside.load(SeqCst),
        0,
        "not freed while running"
    );
    assert_eq!(frees1.load(SeqCst), 1, "freed once the callback returned");
    assert_eq!(*second.lock().unwrap(), [2, 3]);
    // Clearing with cb NULL: no more deliveries; a NULL-cb registration's user_data is freed.
    assert_eq!(
        pcstate_peer_set_callback(p, None, std::ptr::null_mut(), None),
        OK
    );
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CONNECTED), OK);
    assert_eq!(*second.lock().unwrap(), [2, 3]);
    let frees = Arc::new(AtomicUsize::new(0));
    let reg = Box::into_raw(Box::new(Reg {
        handler: Box::new(|_| {}),
        frees: frees.clone(),
    }));
    assert_eq!(
        pcstate_peer_set_callback(p, None, reg.cast(), Some(free_reg)),
        OK
    );
    assert_eq!(frees.load(SeqCst), 1);
    assert_eq!(pcstate_peer_free(p), OK);
}

#[test]
fn free_from_inside_own_callback() {
    let p = new_peer(0, 0);
    let t = add(p);
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let frees_seen = Arc::new(AtomicUsize::new(usize::MAX));
    let fsn = frees_seen.clone();
    let holder: Arc<Mutex<Option<Arc<AtomicUsize>>>> = Arc::new(Mutex::new(None));
    let h = holder.clone();
    let frees = set_handler(
        p,
        Box::new(move |e| {
            c.fetch_add(1, SeqCst);
            assert_eq!(pcstate_peer_free(e.peer), OK);
            assert_eq!(pcstate_peer_free(e.peer), INVALID_HANDLE);
            let mut v = 0;
            assert_eq!(
                pcstate_peer_connection_state(e.peer, &mut v),
                INVALID_HANDLE
            );
            fsn.store(h.lock().unwrap().as_ref().unwrap().load(SeqCst), SeqCst);
        }),
    );
    *holder.lock().unwrap() = Some(frees.clone());
    // This call causes two events; the first callback frees the peer: the second is dropped.
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK);
    assert_eq!(calls.load(SeqCst), 1);
    assert_eq!(
        frees_seen.load(SeqCst),
        0,
        "user_data alive while its callback runs"
    );
    assert_eq!(
        frees.load(SeqCst),
        1,
        "freed exactly once after it returned"
    );
}

/// One peer updated from four threads: events in seq order, contiguous, never two at a time; after
/// free returns no callback runs, and user_data_free ran exactly once.
#[test]
fn threads_on_one_peer() {
    let p = new_peer(0, 0);
    let ts: Vec<u32> = (0..4).map(|_| add(p)).collect();
    let busy = Arc::new(AtomicBool::new(false));
    let last = Arc::new(AtomicU64::new(0));
    let freed = Arc::new(AtomicBool::new(false));
    let late = Arc::new(AtomicUsize::new(0));
    let (b, l, f, lt) = (busy.clone(), last.clone(), freed.clone(), late.clone());
    let frees = set_handler(
        p,
        Box::new(move |e| {
            assert!(!b.swap(true, SeqCst), "two callbacks at once");
            if e.kind == K_OVERFLOW {
                // The backlog's bound was reached: the gap is announced, never silent.
                assert!(e.seq > l.load(SeqCst) && e.old_state >= 1);
            } else {
                assert_eq!(e.seq, l.load(SeqCst) + 1, "in order, no gaps");
            }
            l.store(e.seq, SeqCst);
            if f.load(SeqCst) {
                lt.fetch_add(1, SeqCst);
            }
            std::thread::yield_now();
            b.store(false, SeqCst);
        }),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = ts
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0u32;
                let mut x = i as u32 + 1;
                while !stop.load(SeqCst) {
                    x = x.wrapping_mul(1103515245).wrapping_add(12345);
                    let r = match (x >> 8) % 3 {
                        0 => pcstate_transport_set_ice_state(p, t, (x >> 12) % 7),
                        1 => pcstate_transport_set_dtls_state(p, t, (x >> 12) % 5),
                        _ => pcstate_transport_set_gatherer_state(p, t, (x >> 12) % 3),
                    };
                    if r == INVALID_HANDLE {
                        break;
                    }
                    assert_eq!(r, OK);
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // On a loaded machine give the threads time to make progress (at most 10 s more).
    for _ in 0..1000 {
        if last.load(SeqCst) > 10 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(pcstate_peer_free(p), OK);
    freed.store(true, SeqCst);
    stop.store(true, SeqCst);
    let updates: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(updates > 100, "threads made progress: {updates}");
    assert!(last.load(SeqCst) > 10, "events were delivered");
    assert_eq!(late.load(SeqCst), 0, "no callback after free returned");
    assert_eq!(frees.load(SeqCst), 1);
}

/// Replacing the callback from another thread while it runs waits for it to return and for its
/// user_data_free.
#[test]
fn replace_from_another_thread_waits_for_the_running_callback() {
    let p = new_peer(0, 0);
    let t = add(p);
    let inside = Arc::new(Barrier::new(2));
    let running = Arc::new(AtomicBool::new(false));
    let (i2, r2) = (inside.clone(), running.clone());
    let frees = set_handler(
        p,
        Box::new(move |_| {
            r2.store(true, SeqCst);
            i2.wait();
            std::thread::sleep(Duration::from_millis(100));
            r2.store(false, SeqCst);
        }),
    );
    let th = std::thread::spawn(move || pcstate_transport_set_gatherer_state(p, t, GATHERING));
    inside.wait();
    let frees2 = set_handler(p, Box::new(|_| {}));
    assert!(
        !running.load(SeqCst),
        "set_callback returned while the old callback ran"
    );
    assert_eq!(frees.load(SeqCst), 1);
    assert_eq!(th.join().unwrap(), OK);
    assert_eq!(pcstate_peer_free(p), OK);
    assert_eq!(frees2.load(SeqCst), 1);
}

/// Two threads, each inside a callback of its own peer, each freeing the other's peer: one of them
/// gets WOULD_DEADLOCK instead of both waiting forever.
#[test]
fn crossed_frees_from_callbacks_do_not_deadlock() {
    let a = new_peer(0, 0);
    let b = new_peer(0, 0);
    let ta = add(a);
    let tb = add(b);
    let barrier = Arc::new(Barrier::new(2));
    let results = Arc::new(Mutex::new(Vec::new()));
    for (me, other) in [(a, b), (b, a)] {
        let (bar, res) = (barrier.clone(), results.clone());
        let done = AtomicBool::new(false);
        set_handler(
            me,
            Box::new(move |_| {
                if done.swap(true, SeqCst) {
                    return;
                }
                bar.wait();
                let r = pcstate_peer_free(other);
                res.lock().unwrap().push(r);
            }),
        );
    }
    let h1 = std::thread::spawn(move || pcstate_transport_set_gatherer_state(a, ta, GATHERING));
    let h2 = std::thread::spawn(move || pcstate_transport_set_gatherer_state(b, tb, GATHERING));
    assert_eq!(h1.join().unwrap(), OK);
    assert_eq!(h2.join().unwrap(), OK);
    let mut r = results.lock().unwrap().clone();
    r.sort_by_key(|&c| c as u32);
    assert_eq!(r, [OK, WOULD_DEADLOCK]);
    // Exactly one peer is left; free it.
    let left: Vec<_> = [a, b]
        .into_iter()
        .filter(|&p| pcstate_peer_free(p) == OK)
        .collect();
    assert_eq!(left.len(), 1);
}

fn readable(fd: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    assert!(unsafe { libc::poll(&mut pfd, 1, 0) } >= 0);
    pfd.revents & libc::POLLIN != 0
}

#[test]
fn event_queue_and_fd() {
    let p = new_peer(0, PCSTATE_FLAG_EVENT_QUEUE | PCSTATE_FLAG_CLOSE_EVENTS);
    let (log, _) = record(p);
    let mut fd = -1;
    assert_eq!(pcstate_peer_event_fd(p, &mut fd), OK);
    assert!(fd >= 0);
    assert!(!readable(fd));
    let mut e = std::mem::MaybeUninit::<pcstate_event>::zeroed();
    assert_eq!(pcstate_peer_poll_event(p, e.as_mut_ptr()), EMPTY);
    let t = add(p);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK);
    assert!(readable(fd));
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK);
    assert_eq!(pcstate_peer_close(p), OK);
    let mut polled = Vec::new();
    while readable(fd) {
        assert_eq!(pcstate_peer_poll_event(p, e.as_mut_ptr()), OK);
        let e = unsafe { e.assume_init() };
        assert_eq!(e.peer, p);
        polled.push((e.seq, e.kind, e.old_state, e.new_state, e.transport));
    }
    assert_eq!(pcstate_peer_poll_event(p, e.as_mut_ptr()), EMPTY);
    assert_eq!(polled.len(), 5);
    assert_eq!(
        polled,
        *log.lock().unwrap(),
        "callback and queue each see the full stream"
    );
    assert_eq!(pcstate_peer_free(p), OK);
    // The fd was closed by free.
    assert_eq!(unsafe { libc::fcntl(fd, libc::F_GETFD) }, -1);
}

#[test]
fn callback_may_call_into_other_peers() {
    let a = new_peer(0, 0);
    let b = new_peer(0, 0);
    let tb = add(b);
    let (log_b, _) = record(b);
    set_handler(
        a,
        Box::new(move |e| {
            if e.kind == K_GATHER {
                assert_eq!(pcstate_transport_set_gatherer_state(b, tb, e.new_state), OK);
            }
        }),
    );
    let ta = add(a);
    assert_eq!(pcstate_transport_set_gatherer_state(a, ta, GATHERING), OK);
    assert_eq!(*log_b.lock().unwrap(), [(1, K_GATHER, 0, 1, tb)]);
    assert_eq!(pcstate_peer_free(a), OK);
    assert_eq!(pcstate_peer_free(b), OK);
}

#[cfg(feature = "fault-injection")]
#[test]
fn panics_are_contained() {
    let p = new_peer(0, 0);
    let other = new_peer(0, 0);
    let t = add(p);
    pcstate::fault::panic_on_next_call();
    assert_eq!(
        pcstate_transport_set_ice_state(p, t, ICE_CHECKING),
        ResultCode::Panic
    );
    // Nothing changed, and everything keeps working.
    assert_eq!(snapshot(p).last_seq, 0);
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK);
    assert_eq!(add(other), 1);
    assert_eq!(pcstate_peer_free(p), OK);
    assert_eq!(pcstate_peer_free(other), OK);
}
