//! A refused `pcstate_peer_set_callback` takes nothing: on a stale handle (also once its cell is
//! reused) or WOULD_DEADLOCK (two callbacks each replacing the other peer's registration), the
//! application's `user_data_free` is not called; the accepted registration is freed once, later.

mod common;
use common::*;
use pcstate::ffi::*;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

static FREES: AtomicUsize = AtomicUsize::new(0);
unsafe extern "C" fn nop(_: *mut std::ffi::c_void, _: *const pcstate_event) {}
unsafe extern "C" fn count_free(_: *mut std::ffi::c_void) {
    FREES.fetch_add(1, SeqCst);
}

#[test]
fn refused_set_callback_takes_nothing() {
    // stale handle: its cell exists, generation mismatch
    let p = new_peer(0, 0);
    assert_eq!(pcstate_peer_free(p), OK);
    assert_eq!(
        pcstate_peer_set_callback(p, Some(nop), std::ptr::null_mut(), Some(count_free)),
        INVALID_HANDLE
    );
    let q = new_peer(0, 0); // reuses the cell
    assert_eq!(
        pcstate_peer_set_callback(p, Some(nop), std::ptr::null_mut(), Some(count_free)),
        INVALID_HANDLE
    );
    assert_eq!(FREES.load(SeqCst), 0, "stale handle: user_data_free called");
    assert_eq!(pcstate_peer_free(q), OK);

    // WOULD_DEADLOCK: two threads, each inside its own peer's callback, replace the other's
    fn replace(next: pcstate_peer) -> ResultCode {
        pcstate_peer_set_callback(next, Some(nop), std::ptr::null_mut(), Some(count_free))
    }
    let (peers, mut r) = ring_acting_inside_callbacks(2, replace);
    r.sort_by_key(|&c| c as u32);
    assert_eq!(r, [OK, WOULD_DEADLOCK]);
    assert_eq!(FREES.load(SeqCst), 0, "the refused call freed user_data");
    for p in peers {
        assert_eq!(pcstate_peer_free(p), OK);
    }
    assert_eq!(
        FREES.load(SeqCst),
        1,
        "the accepted registration is freed once, at peer free"
    );
}
