//! The safe Rust API's delivery keeps the C guarantees: the event queue and its fd (whichever
//! wake-up backend is built), callbacks that call their own and other peers, replacement and
//! drop of closures, `WouldDeadlock` in a cycle of threads, and panics in callbacks.

use std::os::fd::{AsRawFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex, Weak};
use std::thread;
use std::time::Duration;

use pcstate::{
    Change, ConnectionState, DtlsTransportState, Error, Event, EventKind, GathererState,
    IceGatheringState, IceTransportState, PeerConnection, Profile, ResultCode,
};

/// Records the events of `pc`'s callback.
fn record(pc: &PeerConnection) -> Arc<Mutex<Vec<Event>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    pc.on_event(move |e| l.lock().unwrap().push(*e)).unwrap();
    log
}

fn readable(fd: i32, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    assert!(unsafe { libc::poll(&mut p, 1, timeout_ms) } >= 0);
    p.revents & libc::POLLIN != 0
}

/// The C contract of the queue and its fd: readable exactly while events are queued, woken by
/// close, reset by the poll that finds it empty, no wakeup lost to a reader that reads the fd.
#[test]
fn event_queue_and_fd_follow_the_c_contract() {
    let pc = PeerConnection::builder(Profile::W3c)
        .event_queue(true)
        .build()
        .unwrap();
    let fd = pc.event_fd().unwrap().as_raw_fd();
    assert!(!readable(fd, 0));
    assert_eq!(pc.poll_event().unwrap(), None);
    let t = pc.add_transport().unwrap();
    t.set_gatherer_state(GathererState::Gathering).unwrap();
    assert!(readable(fd, 0));
    // A reader that reads the fd itself, as it would an eventfd, loses no later wakeup.
    let mut v = 0u64;
    assert_eq!(unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) }, 8);
    assert!(!readable(fd, 0));
    t.set_ice_state(IceTransportState::Checking).unwrap();
    assert!(
        readable(fd, 0),
        "an event after a direct read wakes the reader"
    );
    let mut seqs = Vec::new();
    while let Some(e) = pc.poll_event().unwrap() {
        seqs.push(e.seq());
    }
    assert_eq!(seqs, [1, 2, 3]);
    assert!(
        !readable(fd, 0),
        "the poll that finds the queue empty resets the fd"
    );
    pc.close().unwrap();
    assert!(
        readable(fd, 0),
        "close wakes the reader even without close events"
    );
    assert_eq!(pc.poll_event().unwrap(), None);
    assert!(!readable(fd, 0));
    let plain = PeerConnection::new(Profile::W3c).unwrap();
    assert_eq!(
        plain.poll_event().unwrap_err().code(),
        ResultCode::InvalidArgument
    );
    assert_eq!(
        plain.event_fd().unwrap_err().code(),
        ResultCode::InvalidArgument
    );
}

#[test]
fn dropping_the_peer_wakes_a_poller_on_a_duplicate_and_closes_the_fd() {
    let pc = PeerConnection::builder(Profile::W3c)
        .event_queue(true)
        .build()
        .unwrap();
    let fd = pc.event_fd().unwrap().as_raw_fd();
    let dup: OwnedFd = pc.event_fd().unwrap().try_clone_to_owned().unwrap();
    let waiter = thread::spawn(move || readable(dup.as_raw_fd(), 10_000));
    thread::sleep(Duration::from_millis(50));
    drop(pc);
    assert!(
        waiter.join().unwrap(),
        "drop must wake the poll()ing thread"
    );
    assert_eq!(
        unsafe { libc::fcntl(fd, libc::F_GETFD) },
        -1,
        "the peer's fd is closed"
    );
}

/// Which backend the build selected: a pipe with the `pipe-wakeup` feature (and off Linux and
/// Android), else an eventfd.
#[test]
fn event_fd_is_a_pipe_or_an_eventfd_as_the_build_selects() {
    let pc = PeerConnection::builder(Profile::W3c)
        .event_queue(true)
        .build()
        .unwrap();
    let fd = pc.event_fd().unwrap().as_raw_fd();
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
    let fifo = st.st_mode & libc::S_IFMT == libc::S_IFIFO;
    let pipe = cfg!(any(
        feature = "pipe-wakeup",
        not(any(target_os = "linux", target_os = "android"))
    ));
    assert_eq!(fifo, pipe);
    if cfg!(target_os = "linux") && !pipe {
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        assert_eq!(link.to_str(), Some("anon_inode:[eventfd]"));
    }
}

#[test]
fn a_full_queue_reports_an_overflow_change() {
    let pc = PeerConnection::builder(Profile::W3c)
        .event_queue(true)
        .build()
        .unwrap();
    assert_eq!(
        pc.set_event_limit(0).unwrap_err().code(),
        ResultCode::InvalidArgument
    );
    pc.set_event_limit(2).unwrap();
    let t = pc.add_transport().unwrap();
    for s in [
        GathererState::Gathering,
        GathererState::Complete,
        GathererState::New,
        GathererState::Gathering,
    ] {
        t.set_gatherer_state(s).unwrap();
    }
    let got: Vec<_> = std::iter::from_fn(|| pc.poll_event().unwrap()).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].change(), Change::Overflow { dropped: 2 });
    assert_eq!((got[2].seq(), got[2].kind()), (4, EventKind::Overflow));
    assert_eq!(got[2].to_string(), "#4 overflow (2 dropped)");
    assert_eq!(pc.snapshot().last_seq, 4);
}

/// Sets a flag when dropped (with the closure that owns it).
struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

#[test]
fn on_event_replaces_and_drops_the_old_closure_before_returning() {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    pc.on_event(move |_| {
        let _ = &flag;
    })
    .unwrap();
    let events = record(&pc);
    assert!(dropped.load(SeqCst));
    pc.add_transport()
        .unwrap()
        .set_ice_state(IceTransportState::Checking)
        .unwrap();
    assert_eq!(events.lock().unwrap().len(), 2);
    pc.clear_on_event().unwrap();
    pc.transport(1)
        .unwrap()
        .set_ice_state(IceTransportState::Connected)
        .unwrap();
    assert_eq!(events.lock().unwrap().len(), 2, "no callback, no delivery");
}

/// Inside its callback a peer may be called (its events follow the current one, in order, on
/// the same thread), and other peers may be dropped (freed at once, their closures with them).
#[test]
fn callbacks_may_call_their_own_peer_and_drop_other_peers() {
    let pc = Arc::new(PeerConnection::new(Profile::W3c).unwrap());
    let t2 = pc.add_transport().unwrap().id();
    let me: Weak<PeerConnection> = Arc::downgrade(&pc);
    let other = PeerConnection::new(Profile::W3c).unwrap();
    let other_dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(other_dropped.clone());
    other
        .on_event(move |_| {
            let _ = &flag;
        })
        .unwrap();
    let mut other = Some(other);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let caller = thread::current().id();
    pc.on_event(move |e| {
        assert_eq!(thread::current().id(), caller);
        log.lock().unwrap().push(e.seq());
        if e.seq() == 1 {
            let pc = me.upgrade().unwrap();
            let t = pc.transport(t2).unwrap();
            t.set_gatherer_state(GathererState::Gathering).unwrap();
            assert_eq!(
                log.lock().unwrap().len(),
                1,
                "not delivered inside the callback"
            );
            assert_eq!(pc.ice_gathering_state(), IceGatheringState::Gathering);
            drop(other.take());
        }
    })
    .unwrap();
    let t1 = pc.add_transport().unwrap();
    t1.set_ice_state(IceTransportState::Checking).unwrap();
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
    assert!(
        other_dropped.load(SeqCst),
        "the other peer and its closure were dropped"
    );
}

/// Two threads, each inside its own peer's callback, replace each other's peer's callback: the
/// second to wait would close a cycle and gets `WouldDeadlock` (its closure dropped, nothing
/// changed); the first waits for the other callback and succeeds. Nobody hangs.
#[test]
fn replacing_callbacks_in_a_cycle_of_threads_gets_would_deadlock() {
    let peers: Vec<_> = (0..2)
        .map(|_| Arc::new(PeerConnection::new(Profile::W3c).unwrap()))
        .collect();
    let barrier = Arc::new(Barrier::new(2));
    let results = Arc::new(Mutex::new(Vec::new()));
    let refused_dropped = Arc::new(AtomicUsize::new(0));
    for i in 0..2 {
        peers[i].add_transport().unwrap();
        let (next, bar, res) = (
            Arc::downgrade(&peers[1 - i]),
            barrier.clone(),
            results.clone(),
        );
        let counter = refused_dropped.clone();
        let mut once = true;
        peers[i]
            .on_event(move |_| {
                if std::mem::take(&mut once) {
                    bar.wait();
                    thread::sleep(Duration::from_millis(20));
                    let flag = DropFlag(Arc::new(AtomicBool::new(false)));
                    let seen = flag.0.clone();
                    let r = next.upgrade().unwrap().on_event(move |_| {
                        let _ = &flag;
                    });
                    if r.is_err() && seen.load(SeqCst) {
                        counter.fetch_add(1, SeqCst);
                    }
                    res.lock().unwrap().push(r.map_err(Error::code));
                }
            })
            .unwrap();
    }
    let threads: Vec<_> = peers
        .iter()
        .map(|pc| {
            let pc = pc.clone();
            thread::spawn(move || {
                pc.transport(1)
                    .unwrap()
                    .set_gatherer_state(GathererState::Gathering)
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let mut r = results.lock().unwrap().clone();
    r.sort_by_key(|r| r.is_err());
    assert_eq!(r, [Ok(()), Err(ResultCode::WouldDeadlock)]);
    assert_eq!(
        refused_dropped.load(SeqCst),
        1,
        "the refused closure was dropped"
    );
}

#[test]
fn a_panicking_callback_resumes_its_panic_from_the_call_and_the_peer_keeps_working() {
    let pc = PeerConnection::builder(Profile::W3c)
        .event_queue(true)
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    pc.on_event(move |_| {
        c.fetch_add(1, SeqCst);
        panic!("callback panic");
    })
    .unwrap();
    let t = pc.add_transport().unwrap();
    let r = catch_unwind(AssertUnwindSafe(|| {
        t.set_ice_state(IceTransportState::Checking)
    }));
    let msg = r.unwrap_err().downcast::<&str>().unwrap();
    assert_eq!(*msg, "callback panic");
    assert_eq!(
        calls.load(SeqCst),
        1,
        "a panicked callback gets no more events"
    );
    assert_eq!(
        pc.connection_state(),
        ConnectionState::Connecting,
        "the change was made"
    );
    let events = record(&pc);
    t.set_ice_state(IceTransportState::Connected).unwrap();
    t.set_dtls_state(DtlsTransportState::Connected).unwrap();
    assert_eq!(
        events
            .lock()
            .unwrap()
            .iter()
            .map(Event::seq)
            .collect::<Vec<_>>(),
        [3, 4]
    );
    assert_eq!(std::iter::from_fn(|| pc.poll_event().unwrap()).count(), 4);
}

/// A closure whose drop panics: the panic comes out of the call that dropped it (`on_event`
/// replacing it), after the replacement is in place.
#[test]
fn a_panic_in_a_closures_drop_resumes_from_the_call_that_dropped_it() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("drop panic");
        }
    }
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let p = PanicsOnDrop;
    pc.on_event(move |_| {
        let _ = &p;
    })
    .unwrap();
    let r = catch_unwind(AssertUnwindSafe(|| pc.on_event(|_| {})));
    assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "drop panic");
    let events = record(&pc);
    pc.add_transport()
        .unwrap()
        .set_ice_state(IceTransportState::Checking)
        .unwrap();
    assert_eq!(
        events.lock().unwrap().len(),
        2,
        "the replacement is in place"
    );
}

/// A panic in a callback run by a call made inside another peer's callback comes out of that
/// inner call, where the outer callback can catch it; the outer call is not disturbed.
#[test]
fn a_panic_in_a_nested_callback_comes_out_of_the_inner_call() {
    let inner = Arc::new(PeerConnection::new(Profile::W3c).unwrap());
    let t = inner.add_transport().unwrap().id();
    inner.on_event(|_| panic!("inner panic")).unwrap();
    let outer = PeerConnection::new(Profile::W3c).unwrap();
    let caught = Arc::new(Mutex::new(Vec::new()));
    let (c, i) = (caught.clone(), inner.clone());
    outer
        .on_event(move |e| {
            if e.seq() == 1 {
                let r = catch_unwind(AssertUnwindSafe(|| {
                    i.transport(t)
                        .unwrap()
                        .set_ice_state(IceTransportState::Checking)
                }));
                c.lock()
                    .unwrap()
                    .push(*r.unwrap_err().downcast::<&str>().unwrap());
            }
        })
        .unwrap();
    outer
        .add_transport()
        .unwrap()
        .set_ice_state(IceTransportState::Checking)
        .unwrap();
    assert_eq!(*caught.lock().unwrap(), ["inner panic"]);
    assert_eq!(inner.connection_state(), ConnectionState::Connecting);
}
