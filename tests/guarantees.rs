//! Regression tests for the delivery guarantees in the patterns real applications use: replacing
//! or freeing while a callback runs elsewhere, stale wait edges, wait cycles of 2 to 8 threads,
//! the event fd's wakeups, and the bounded event queue and backlog.

mod common;
use common::*;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use pcstate::ffi::*;

/// A callback that, on its first event, says it is running and then blocks until released; the
/// flags tell whether it has finished and whether its user_data_free ran.
struct Blocker {
    running: Arc<AtomicBool>,
    release: Arc<AtomicBool>,
    finished: Arc<AtomicBool>,
    frees: Arc<AtomicUsize>,
}

impl Blocker {
    /// Registers on `p` a callback that runs `inside` and then blocks until released.
    fn install(p: pcstate_peer, inside: impl FnMut() + Send + 'static) -> Blocker {
        let running = Arc::new(AtomicBool::new(false));
        let release = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicBool::new(false));
        let (r, rel, f) = (running.clone(), release.clone(), finished.clone());
        let mut inside = Some(inside);
        let frees = set_handler(
            p,
            Box::new(move |_| {
                let Some(mut inside) = inside.take() else {
                    return;
                };
                r.store(true, SeqCst);
                inside();
                while !rel.load(SeqCst) {
                    thread::sleep(Duration::from_millis(1));
                }
                f.store(true, SeqCst);
            }),
        );
        Blocker {
            running,
            release,
            finished,
            frees,
        }
    }

    fn wait_running(&self) {
        while !self.running.load(SeqCst) {
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Whether the callback has returned and its user_data_free ran.
    fn done(&self) -> bool {
        self.finished.load(SeqCst) && self.frees.load(SeqCst) == 1
    }
}

/// Starts a thread that commits an event on `p` (so its callback runs there).
fn trigger(p: pcstate_peer, t: pcstate_transport) -> thread::JoinHandle<ResultCode> {
    thread::spawn(move || pcstate_transport_set_gatherer_state(p, t, GATHERING))
}

/// Runs `call` on a new thread; returns a flag set when it returned and what it saw of `done`
/// at that moment.
fn watch(
    call: impl FnOnce() -> ResultCode + Send + 'static,
    done: impl Fn() -> bool + Send + 'static,
) -> (Arc<AtomicBool>, thread::JoinHandle<(ResultCode, bool)>) {
    let returned = Arc::new(AtomicBool::new(false));
    let r = returned.clone();
    let h = thread::spawn(move || {
        let code = call();
        let seen = done();
        r.store(true, SeqCst);
        (code, seen)
    });
    (returned, h)
}

fn settle() {
    thread::sleep(Duration::from_millis(60));
}

/// `set_callback` waiting for a callback running on another thread must not return when
/// the peer is freed meanwhile, by a third thread or by the running callback itself.
#[test]
fn set_callback_waits_for_the_old_callback_even_when_the_peer_is_freed() {
    for free_from_inside in [false, true] {
        let p = new_peer(0, 0);
        let t = add(p);
        let go = Arc::new(AtomicBool::new(false));
        let go2 = go.clone();
        let b = Arc::new(Blocker::install(p, move || {
            if free_from_inside {
                while !go2.load(SeqCst) {
                    thread::sleep(Duration::from_millis(1));
                }
                assert_eq!(pcstate_peer_free(p), OK);
            }
        }));
        let d = trigger(p, t);
        b.wait_running();
        let b2 = b.clone();
        let (returned, a) = watch(
            move || {
                let code = pcstate_peer_set_callback(p, None, std::ptr::null_mut(), None);
                assert!(code == OK || code == INVALID_HANDLE, "{code:?}");
                OK
            },
            move || b2.done(),
        );
        settle();
        // The running callback frees its own peer, or a third thread does (and waits too).
        go.store(true, SeqCst);
        let f = thread::spawn(move || {
            if !free_from_inside {
                assert_eq!(pcstate_peer_free(p), OK);
            }
        });
        settle();
        assert!(
            !returned.load(SeqCst),
            "set_callback returned while the replaced callback still ran (free from inside: {free_from_inside})"
        );
        b.release.store(true, SeqCst);
        let (_, seen_done) = a.join().unwrap();
        assert!(
            seen_done,
            "set_callback returned before the callback and its user_data_free ended"
        );
        f.join().unwrap();
        assert_eq!(d.join().unwrap(), OK);
        assert_eq!(b.frees.load(SeqCst), 1);
    }
}

/// A callback that replaced itself from inside keeps running; another thread's
/// set_callback must still wait for it, and so must free.
#[test]
fn replaced_from_inside_and_still_running_is_waited_for() {
    for use_free in [false, true] {
        let p = new_peer(0, 0);
        let t = add(p);
        let later_frees = Arc::new(AtomicUsize::new(0));
        let lf = later_frees.clone();
        let b = Arc::new(Blocker::install(p, move || {
            let frees = set_handler(p, Box::new(|_| {}));
            lf.store(0, SeqCst);
            std::mem::forget(frees);
        }));
        let d = trigger(p, t);
        b.wait_running();
        settle();
        let b2 = b.clone();
        let (returned, a) = watch(
            move || {
                if use_free {
                    pcstate_peer_free(p)
                } else {
                    pcstate_peer_set_callback(p, None, std::ptr::null_mut(), None)
                }
            },
            move || b2.done(),
        );
        settle();
        assert!(
            !returned.load(SeqCst),
            "{} returned while the replaced callback still ran",
            if use_free { "free" } else { "set_callback" }
        );
        b.release.store(true, SeqCst);
        let (code, seen_done) = a.join().unwrap();
        assert_eq!(code, OK);
        assert!(seen_done);
        assert_eq!(d.join().unwrap(), OK);
        if !use_free {
            assert_eq!(pcstate_peer_free(p), OK);
        }
    }
}

/// A wait edge whose waiter was released but has not run yet must not count as a
/// cycle. A, inside P1's callback, frees P2 and waits for B's P2 callback; B's callback returns
/// (releasing A); B then, inside P3's callback, frees P1 (whose callback A is still in).
#[test]
fn released_waiter_is_not_a_deadlock() {
    let mut deadlocks = 0;
    for _ in 0..60 {
        let (p1, p2, p3) = (new_peer(0, 0), new_peer(0, 0), new_peer(0, 0));
        let (t1, t2, t3) = (add(p1), add(p2), add(p3));
        let b_in_p2 = Arc::new(AtomicBool::new(false));
        let a_freeing = Arc::new(AtomicBool::new(false));
        let b_result = Arc::new(AtomicU32::new(u32::MAX));
        let (bi, af) = (b_in_p2.clone(), a_freeing.clone());
        let mut once = true;
        set_handler(
            p2,
            Box::new(move |_| {
                if std::mem::take(&mut once) {
                    bi.store(true, SeqCst);
                    while !af.load(SeqCst) {
                        thread::yield_now();
                    }
                    thread::sleep(Duration::from_millis(2)); // A is now waiting for us
                }
            }),
        );
        let (bi, af) = (b_in_p2.clone(), a_freeing.clone());
        let mut once = true;
        set_handler(
            p1,
            Box::new(move |_| {
                if std::mem::take(&mut once) {
                    while !bi.load(SeqCst) {
                        thread::yield_now();
                    }
                    af.store(true, SeqCst);
                    assert_eq!(pcstate_peer_free(p2), OK);
                }
            }),
        );
        let br = b_result.clone();
        let mut once = true;
        set_handler(
            p3,
            Box::new(move |_| {
                if std::mem::take(&mut once) {
                    br.store(pcstate_peer_free(p1) as u32, SeqCst);
                }
            }),
        );
        let b = thread::spawn(move || {
            assert_eq!(pcstate_transport_set_gatherer_state(p2, t2, GATHERING), OK);
            assert_eq!(pcstate_transport_set_gatherer_state(p3, t3, GATHERING), OK);
        });
        let a = thread::spawn(move || pcstate_transport_set_gatherer_state(p1, t1, GATHERING));
        b.join().unwrap();
        assert_eq!(a.join().unwrap(), OK);
        match b_result.load(SeqCst) {
            r if r == OK as u32 => {}
            r if r == WOULD_DEADLOCK as u32 => {
                deadlocks += 1;
                assert_eq!(pcstate_peer_free(p1), OK);
            }
            other => panic!("free(P1) returned {other}"),
        }
        assert_eq!(pcstate_peer_free(p3), OK);
    }
    assert_eq!(deadlocks, 0, "WOULD_DEADLOCK without a cycle");
}

/// Real cycles of 2 to 8 threads, each inside a callback of its own peer and freeing
/// the next one's, are detected every time: at least one call gets WOULD_DEADLOCK and nobody hangs.
#[test]
fn wait_cycles_of_2_to_8_threads_are_detected() {
    for n in 2..=8usize {
        let (peers, r) = ring_acting_inside_callbacks(n, |next| pcstate_peer_free(next));
        assert_eq!(r.len(), n);
        let refused = r.iter().filter(|&&c| c == WOULD_DEADLOCK).count();
        assert!(refused >= 1, "cycle of {n} not detected: {r:?}");
        assert!(r.iter().all(|&c| c == OK || c == WOULD_DEADLOCK), "{r:?}");
        let left = peers
            .iter()
            .filter(|&&p| pcstate_peer_free(p) == OK)
            .count();
        assert_eq!(left, refused, "each refused free left its peer alive");
    }
}

fn event_fd(p: pcstate_peer) -> i32 {
    let mut fd = -1;
    assert_eq!(pcstate_peer_event_fd(p, &mut fd), OK);
    fd
}

/// poll()s `fd` for input: its revents (0 when the timeout passed).
fn poll_fd(fd: i32, timeout_ms: i32) -> i16 {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    assert!(n >= 0);
    pfd.revents
}

fn readable(fd: i32, timeout_ms: i32) -> bool {
    poll_fd(fd, timeout_ms) & libc::POLLIN != 0
}

fn poll(p: pcstate_peer) -> Result<pcstate_event, ResultCode> {
    let mut e = std::mem::MaybeUninit::<pcstate_event>::zeroed();
    match pcstate_peer_poll_event(p, e.as_mut_ptr()) {
        OK => Ok(unsafe { e.assume_init() }),
        code => Err(code),
    }
}

/// Reading the eventfd directly (the usual way to clear one) must not lose later wakeups.
#[test]
fn reading_the_fd_directly_loses_no_wakeup() {
    let p = new_peer(0, PCSTATE_FLAG_EVENT_QUEUE);
    let fd = event_fd(p);
    let t = add(p);
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK);
    let mut v = 0u64;
    assert_eq!(unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) }, 8);
    assert!(!readable(fd, 0));
    assert_eq!(pcstate_transport_set_ice_state(p, t, ICE_CHECKING), OK);
    assert!(
        readable(fd, 0),
        "a new event after a direct read must wake the reader"
    );
    let mut n = 0;
    while poll(p).is_ok() {
        n += 1;
    }
    assert_eq!(n, 3);
    assert!(!readable(fd, 0));
    assert_eq!(pcstate_peer_free(p), OK);
}

/// Closing a peer wakes its event fd once even when close commits no event, so a reader can see
/// the closed state; polling EMPTY clears it again.
#[test]
fn close_wakes_the_event_fd() {
    let p = new_peer(0, PCSTATE_FLAG_EVENT_QUEUE);
    let fd = event_fd(p);
    assert!(!readable(fd, 0));
    assert_eq!(pcstate_peer_close(p), OK);
    assert!(readable(fd, 0), "close must wake the reader");
    assert_eq!(poll(p).unwrap_err(), EMPTY);
    assert!(!readable(fd, 0), "EMPTY resets the fd");
    assert_eq!(pcstate_peer_free(p), OK);
}

/// Freeing a peer wakes a thread blocked in poll() on its event fd.
#[test]
fn free_wakes_a_thread_polling_the_fd() {
    let p = new_peer(0, PCSTATE_FLAG_EVENT_QUEUE);
    // A reader that waits on its own dup of the fd (as event loops that may outlive the peer
    // should) is not woken by the close alone.
    let fd = unsafe { libc::dup(event_fd(p)) };
    let waiter = thread::spawn(move || poll_fd(fd, 5_000));
    settle();
    assert_eq!(pcstate_peer_free(p), OK);
    let revents = waiter.join().unwrap();
    assert_ne!(
        revents & libc::POLLIN,
        0,
        "free must wake the poll()ing thread"
    );
    unsafe { libc::close(fd) };
    assert_eq!(poll(p).unwrap_err(), INVALID_HANDLE);
}

/// A queue that is never polled keeps at most the peer's event limit; the rest is
/// reported by one overflow event, after which the stream goes on; the state is never refused.
#[test]
fn unpolled_queue_is_bounded_and_reports_the_overflow() {
    let p = new_peer(0, PCSTATE_FLAG_EVENT_QUEUE);
    assert_eq!(pcstate_peer_set_event_limit(p, 0), INVALID_ARGUMENT);
    assert_eq!(
        pcstate_peer_set_event_limit(p, PCSTATE_MAX_EVENT_LIMIT + 1),
        INVALID_ARGUMENT
    );
    assert_eq!(pcstate_peer_set_event_limit(p, 16), OK);
    let t = add(p);
    for i in 0..100u32 {
        let g = [GATHERING, COMPLETE][i as usize % 2];
        assert_eq!(pcstate_transport_set_gatherer_state(p, t, g), OK);
    }
    let kept: Vec<_> = (0..16).map(|_| poll(p).unwrap()).collect();
    assert!(
        kept.iter()
            .enumerate()
            .all(|(i, e)| e.seq == i as u64 + 1 && e.kind == K_GATHER)
    );
    let gap = poll(p).unwrap();
    assert_eq!((gap.kind, gap.old_state, gap.seq), (K_OVERFLOW, 84, 100));
    assert_eq!(poll(p).unwrap_err(), EMPTY);
    assert_eq!(snapshot(p).last_seq, 100, "every change was applied");
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK);
    assert_eq!(
        poll(p).unwrap().seq,
        101,
        "the stream goes on after the overflow"
    );
    assert_eq!(
        pcstate_peer_set_event_limit(pcstate_peer::MAX, 16),
        INVALID_HANDLE
    );
    assert_eq!(pcstate_peer_free(p), OK);
}

/// Events committed while a slow callback runs wait in a backlog bounded by the
/// same limit; the callback gets what fit, then one overflow event.
#[test]
fn slow_callback_backlog_is_bounded() {
    let p = new_peer(0, 0);
    assert_eq!(pcstate_peer_set_event_limit(p, 8), OK);
    let t = add(p);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (in_cb, release) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (s, i, r) = (seen.clone(), in_cb.clone(), release.clone());
    set_handler(
        p,
        Box::new(move |e| {
            s.lock().unwrap().push((e.seq, e.kind, e.old_state));
            i.store(true, SeqCst);
            while !r.load(SeqCst) {
                thread::sleep(Duration::from_millis(1));
            }
        }),
    );
    let d = trigger(p, t);
    while !in_cb.load(SeqCst) {
        thread::sleep(Duration::from_millis(1));
    }
    for k in 0..50u32 {
        let g = [COMPLETE, GATHERING][k as usize % 2];
        assert_eq!(pcstate_transport_set_gatherer_state(p, t, g), OK);
    }
    release.store(true, SeqCst);
    assert_eq!(d.join().unwrap(), OK);
    let seen = seen.lock().unwrap().clone();
    let seqs: Vec<u64> = seen.iter().map(|e| e.0).collect();
    assert_eq!(seqs, (1..=9).chain([51]).collect::<Vec<u64>>());
    assert_eq!(seen[9].1, K_OVERFLOW);
    assert_eq!(seen[9].2, 42);
    assert_eq!(pcstate_peer_free(p), OK);
}

/// The peer is freed by another thread while the deliverer runs the user_data_free of a
/// registration that was replaced during its callback: delivery must notice and stop cleanly.
#[test]
fn freed_while_a_retired_registration_is_dropped() {
    use std::ffi::c_void;
    static IN_FREE: AtomicBool = AtomicBool::new(false);
    static RELEASE_FREE: AtomicBool = AtomicBool::new(false);
    unsafe extern "C" fn slow_free(_: *mut c_void) {
        IN_FREE.store(true, SeqCst);
        while !RELEASE_FREE.load(SeqCst) {
            thread::sleep(Duration::from_millis(1));
        }
    }
    unsafe extern "C" fn blocking_cb(_: *mut c_void, _: *const pcstate_event) {
        while !RELEASE_CB.load(SeqCst) {
            thread::sleep(Duration::from_millis(1));
        }
    }
    static RELEASE_CB: AtomicBool = AtomicBool::new(false);
    let p = new_peer(0, 0);
    let t = add(p);
    assert_eq!(
        pcstate_peer_set_callback(p, Some(blocking_cb), std::ptr::null_mut(), Some(slow_free)),
        OK
    );
    let d = trigger(p, t);
    settle();
    // Replace it while it runs (waits), then let the callback return: the deliverer now runs
    // the slow user_data_free outside the lock.
    let a = thread::spawn(move || pcstate_peer_set_callback(p, None, std::ptr::null_mut(), None));
    settle();
    RELEASE_CB.store(true, SeqCst);
    while !IN_FREE.load(SeqCst) {
        thread::sleep(Duration::from_millis(1));
    }
    let f = thread::spawn(move || pcstate_peer_free(p));
    settle();
    RELEASE_FREE.store(true, SeqCst);
    assert_eq!(d.join().unwrap(), OK, "the deliverer's call");
    assert_eq!(a.join().unwrap(), OK);
    assert_eq!(f.join().unwrap(), OK);
}

/// Events committed while the callback is cleared, during another callback's outing, are not
/// skipped silently when a new registration comes before the deliverer reaches them: the new
/// registration gets a gap-free run (found by review: it got seqs 2 and 4).
#[test]
fn cleared_then_replaced_inside_a_callback_leaves_no_silent_gap() {
    let p = new_peer(0, 0);
    let t = add(p);
    let got: Arc<Mutex<Vec<(u64, u32)>>> = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let frees_a = set_handler(
        p,
        Box::new(move |e| {
            if e.seq != 1 {
                return;
            }
            assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK); // e2 deferred
            assert_eq!(
                pcstate_peer_set_callback(p, None, std::ptr::null_mut(), None),
                OK
            );
            assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK); // e3
            let g2 = g.clone();
            set_handler(
                p,
                Box::new(move |e| g2.lock().unwrap().push((e.seq, e.kind))),
            );
            assert_eq!(pcstate_transport_set_gatherer_state(p, t, COMPLETE), OK); // e4
        }),
    );
    assert_eq!(pcstate_transport_set_gatherer_state(p, t, GATHERING), OK); // e1
    assert_eq!(snapshot(p).last_seq, 4);
    assert_eq!(frees_a.load(SeqCst), 1);
    let got = got.lock().unwrap().clone();
    let seqs: Vec<u64> = got.iter().map(|e| e.0).collect();
    let has_overflow = got.iter().any(|e| e.1 == K_OVERFLOW);
    let gap_free = seqs.windows(2).all(|w| w[1] == w[0] + 1);
    assert!(
        gap_free || has_overflow,
        "B got {got:?}: a gap without an overflow event"
    );
    assert_eq!(pcstate_peer_free(p), OK);
}
