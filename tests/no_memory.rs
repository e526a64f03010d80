//! Running out of memory is never an abort. A global allocator that fails on demand
//! shows each call that needs memory return NO_MEMORY with nothing changed, and an event that
//! cannot be stored turn into an overflow event rather than a lost one.

mod common;
use common::*;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use pcstate::rules::IceTransportState as I;

use pcstate::ResultCode;
use pcstate::ffi::*;

const NO_MEMORY: ResultCode = ResultCode::NoMemory;

/// The system allocator, which can be told to fail (all allocations, or after `n` more) and
/// counts this thread's net bytes.
struct FailOnDemand;

thread_local! {
    /// How many more allocations may succeed (`u64::MAX`: all).
    static ALLOWED: Cell<u64> = const { Cell::new(u64::MAX) };
    static NET: Cell<i64> = const { Cell::new(0) };
}

fn take_one() -> bool {
    ALLOWED.with(|a| match a.get() {
        u64::MAX => true,
        0 => false,
        n => {
            a.set(n - 1);
            true
        }
    })
}

// SAFETY: forwards to the system allocator, or returns NULL (allowed: allocation failure).
unsafe impl GlobalAlloc for FailOnDemand {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !take_one() {
            return std::ptr::null_mut();
        }
        let _ = NET.try_with(|n| n.set(n.get() + layout.size() as i64));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = NET.try_with(|n| n.set(n.get() - layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !take_one() {
            return std::ptr::null_mut();
        }
        let _ = NET.try_with(|n| n.set(n.get() + new_size as i64 - layout.size() as i64));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: FailOnDemand = FailOnDemand;

/// Runs `f` with only `n` more allocations of this thread succeeding.
fn with_allowed<T>(n: u64, f: impl FnOnce() -> T) -> T {
    ALLOWED.with(|a| a.set(n));
    let r = f();
    ALLOWED.with(|a| a.set(u64::MAX));
    r
}

/// Runs `f` with every allocation of this thread failing.
fn starved<T>(f: impl FnOnce() -> T) -> T {
    with_allowed(0, f)
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

const CONNECTED: pcstate_transport_states = pcstate_transport_states {
    ice_state: I::Connected as u32,
    dtls_state: 0,
    gatherer_state: 2,
};

/// With liveness on, the room for every transport's liveness record and checks is taken when the
/// transport is added, so a state change never needs memory: with none left, every setter still
/// takes effect (set_remote_end_of_candidates once returned NO_MEMORY here).
#[test]
fn state_changes_need_no_memory_with_liveness_on() {
    let p = new_peer(0, 0);
    let t1 = add(p);
    assert_eq!(pcstate_transport_set_gatherer_state(p, t1, COMPLETE), OK);
    assert_eq!(
        pcstate_transport_set_ice_agent_state(p, t1, PCSTATE_ICE_AGENT_LIBNICE, 4),
        OK
    );
    assert_eq!(ice(p, t1), I::Connected as u32);
    assert_eq!(pcstate_peer_set_liveness(p, 1_000_000, 0), OK);
    let mut ts = Vec::new();
    for _ in 0..3 {
        let mut t = 0;
        assert_eq!(pcstate_transport_add_with_states(p, &CONNECTED, &mut t), OK);
        ts.push(t);
    }
    let r = starved(|| pcstate_transport_set_remote_end_of_candidates(p, t1));
    assert_eq!(r, OK);
    assert_eq!(ice(p, t1), I::Completed as u32);
    starved(|| {
        let mut next = 0;
        for round in 0..100u64 {
            for &t in &ts {
                assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK);
                assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CONNECTED), OK);
                assert_eq!(pcstate_transport_note_alive(p, t, round), OK);
            }
            assert_eq!(pcstate_peer_tick(p, round * 2_000_000, &mut next), OK);
        }
    });
    assert_eq!(ice(p, ts[0]), I::Disconnected as u32);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// The liveness schedule stays bounded when a transport flaps between ticks (found by review:
/// 100,000 flaps grew a peer by 2 MB).
#[test]
fn liveness_schedule_is_bounded_without_ticks() {
    let p = new_peer(0, 0);
    let t = add(p);
    assert_eq!(pcstate_peer_set_liveness(p, 5_000_000_000, 0), OK);
    let flap = |n: u32| {
        for _ in 0..n {
            assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CONNECTED), OK);
            assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK);
        }
    };
    flap(1000);
    let before = NET.with(|n| n.get());
    flap(100_000);
    let grown = NET.with(|n| n.get()) - before;
    assert!(
        grown < 64 * 1024,
        "grew by {grown} bytes after 100,000 flaps without a tick"
    );
    assert_eq!(pcstate_peer_free(p), OK);
}

/// set_liveness reserves a check for every transport up front: without memory it returns
/// NO_MEMORY or OK, never aborts (found by review: an abort with 5 connected transports). Run in
/// a child process, which an abort would kill.
#[test]
fn set_liveness_without_memory_does_not_abort() {
    if std::env::var_os("PCSTATE_NO_MEMORY_CHILD").is_some() {
        let p = new_peer(0, 0);
        for _ in 0..5 {
            let mut t = 0;
            assert_eq!(pcstate_transport_add_with_states(p, &CONNECTED, &mut t), OK);
        }
        for n in 0..6 {
            let r = with_allowed(n, || pcstate_peer_set_liveness(p, 1_000_000, 0));
            assert!(r == OK || r == NO_MEMORY, "{r:?}");
        }
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "set_liveness_without_memory_does_not_abort",
            "--nocapture",
        ])
        .env("PCSTATE_NO_MEMORY_CHILD", "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child: {:?}\n{text}", out.status);
}

static FREED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static DELIVERED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe extern "C" fn count_delivered(_: *mut std::ffi::c_void, _: *const pcstate_event) {
    DELIVERED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

unsafe extern "C" fn count_freed(_: *mut std::ffi::c_void) {
    FREED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// Setting a callback needs the registration and, the first time, the peer's outlets: without
/// memory for either it returns NO_MEMORY, `user_data_free` is not called (user_data is still the
/// caller's), and nothing changed; it never aborts (it once allocated the registration
/// infallibly).
#[test]
fn set_callback_without_memory_takes_nothing() {
    use std::sync::atomic::Ordering::SeqCst;
    let p = new_peer(0, 0);
    let t = add(p);
    let set = || {
        pcstate_peer_set_callback(
            p,
            Some(count_delivered),
            std::ptr::null_mut(),
            Some(count_freed),
        )
    };
    assert_eq!(starved(set), NO_MEMORY, "no room for the registration");
    assert_eq!(
        with_allowed(1, set),
        NO_MEMORY,
        "room for the registration, none for the outlets"
    );
    assert_eq!(FREED.load(SeqCst), 0, "user_data is still the caller's");
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK);
    assert_eq!(DELIVERED.load(SeqCst), 0, "no callback was set");
    assert_eq!(set(), OK);
    assert_eq!(
        starved(set),
        NO_MEMORY,
        "the outlets exist; no room for the registration"
    );
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK);
    assert_eq!(DELIVERED.load(SeqCst), 1, "the first registration stayed");
    assert_eq!(FREED.load(SeqCst), 0);
    assert_eq!(pcstate_peer_free(p), OK);
    assert_eq!(FREED.load(SeqCst), 1);
}

/// An event limit other than the default needs the outlets on a peer that has none yet: without
/// memory, NO_MEMORY and nothing changed; the default needs nothing.
#[test]
fn set_event_limit_without_memory_changes_nothing() {
    let p = new_peer(0, 0);
    let default = PCSTATE_DEFAULT_EVENT_LIMIT;
    assert_eq!(starved(|| pcstate_peer_set_event_limit(p, default)), OK);
    assert_eq!(starved(|| pcstate_peer_set_event_limit(p, 10)), NO_MEMORY);
    assert_eq!(pcstate_peer_set_event_limit(p, 10), OK);
    assert_eq!(
        starved(|| pcstate_peer_set_event_limit(p, 20)),
        OK,
        "the outlets exist now"
    );
    assert_eq!(pcstate_peer_free(p), OK);
}
