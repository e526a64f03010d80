//! Issue 9.6: running out of memory is never an abort. A global allocator that fails on demand
//! shows each call that needs memory return NO_MEMORY with nothing changed, and an event that
//! cannot be stored turn into an overflow event rather than a lost one.

mod common;
use common::*;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use pcstate::ResultCode;
use pcstate::ffi::*;

const NO_MEMORY: u32 = ResultCode::NoMemory as u32;

struct FailOnDemand;

thread_local!(static FAIL: Cell<bool> = const { Cell::new(false) });

// SAFETY: forwards to the system allocator, or returns NULL (allowed: allocation failure).
unsafe impl GlobalAlloc for FailOnDemand {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if FAIL.with(|f| f.get()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if FAIL.with(|f| f.get()) {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: FailOnDemand = FailOnDemand;

/// Runs `f` with every allocation of this thread failing.
fn starved<T>(f: impl FnOnce() -> T) -> T {
    FAIL.with(|x| x.set(true));
    let r = f();
    FAIL.with(|x| x.set(false));
    r
}

#[test]
fn add_transport_without_memory_changes_nothing() {
    let p = new_peer(0, 0);
    let ts: Vec<_> = (0..4).map(|_| add(p)).collect();
    let before = snapshot(p);
    let mut t = 0;
    // A fifth transport needs a bigger table.
    assert_eq!(starved(|| pcstate_transport_add(p, &mut t)), NO_MEMORY);
    assert_eq!(t, 0, "no out-parameter written");
    assert_eq!(snapshot(p), before);
    assert_eq!(add(p), ts[3] + 1, "no transport id was used up");
    assert_eq!(pcstate_peer_free(p), OK);
}

#[test]
fn peer_new_without_memory_fails_cleanly() {
    let mut p = 0;
    assert_eq!(
        starved(|| pcstate_peer_new(0, PCSTATE_FLAG_EVENT_QUEUE, &mut p)),
        NO_MEMORY
    );
    assert_eq!(p, 0);
    let p = new_peer(0, PCSTATE_FLAG_EVENT_QUEUE);
    assert_eq!(pcstate_peer_free(p), OK);
}

#[test]
fn event_without_memory_becomes_an_overflow_event() {
    let p = new_peer(0, PCSTATE_FLAG_EVENT_QUEUE);
    let t = add(p);
    // The queue has no room allocated yet: the event cannot be stored.
    assert_eq!(
        starved(|| pcstate_transport_set_gatherer_state(p, t, GATHERING)),
        OK,
        "a state change is never refused"
    );
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK);
    let mut e = std::mem::MaybeUninit::<pcstate_event>::zeroed();
    assert_eq!(pcstate_peer_poll_event(p, e.as_mut_ptr()), OK);
    let e = unsafe { e.assume_init() };
    assert_eq!((e.kind, e.old_state, e.seq), (K_OVERFLOW, 2, 2));
    assert_eq!(snapshot(p).ice_gathering_state, COMPLETE);
    assert_eq!(pcstate_peer_free(p), OK);
}
