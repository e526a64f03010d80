//! The safe Rust API: a program written against exactly the pinned names compiles and runs;
//! `PeerConnection` is `Send + Sync`; every C feature is reachable with the C results; the
//! callback and event-queue guarantees hold as in C (whichever wake-up backend is built).

use std::os::fd::{AsRawFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex, Weak};
use std::thread;
use std::time::Duration;

use pcstate::{
    Change, ConnectionState, DtlsTransportState, Error, Event, EventKind, FailureCause,
    GathererState, IceAgent, IceConnectionState, IceGatheringState, IceTransportState,
    PeerConnection, Profile, ResultCode, StateUpdate, TransportStates,
};

/// The program, written with exactly the pinned names (and nothing else of the crate).
#[test]
fn a_program_using_only_the_pinned_names_compiles_and_runs() {
    fn program() -> Result<Vec<u64>, pcstate::Error> {
        use pcstate::{DtlsTransportState, IceTransportState};
        let pc = pcstate::PeerConnection::new(pcstate::Profile::W3c)?;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        pc.on_event(move |e: &pcstate::Event| {
            let _ = format!("{e:?}");
            log.lock().unwrap().push(e.seq());
        })?;
        let t = pc.add_transport()?;
        t.set_ice_state(IceTransportState::Checking)?;
        t.set_dtls_state(DtlsTransportState::Connected)?;
        t.set_gatherer_state(pcstate::GathererState::Complete)?;
        t.set_ice_state(IceTransportState::Connected)?;
        assert_eq!(pc.connection_state(), pcstate::ConnectionState::Connected);
        assert_eq!(
            pc.ice_connection_state(),
            pcstate::IceConnectionState::Connected
        );
        assert_eq!(
            pc.ice_gathering_state(),
            pcstate::IceGatheringState::Complete
        );
        pc.close()?;
        assert!(t.set_ice_state(IceTransportState::Failed).is_err());
        assert_eq!(pc.connection_state(), pcstate::ConnectionState::Closed);
        let seqs = seen.lock().unwrap().clone();
        Ok(seqs)
    }
    assert_eq!(program().unwrap(), [1, 2, 3, 4, 5]);
}

#[test]
fn peer_connection_and_transport_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<PeerConnection>();
    send_sync::<pcstate::Transport<'static>>();
    send_sync::<Event>();
    send_sync::<Error>();
    let err: Box<dyn std::error::Error + Send + Sync> = Box::new(closed_error());
    assert_eq!(err.to_string(), "the peer is closed");
}

fn closed_error() -> Error {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    pc.close().unwrap();
    pc.add_transport().unwrap_err()
}

#[test]
fn errors_carry_the_c_code_and_the_c_message() {
    let e = closed_error();
    assert_eq!(e.code(), ResultCode::Closed);
    assert_eq!(ResultCode::from(e), ResultCode::Closed);
    let c = unsafe { std::ffi::CStr::from_ptr(pcstate::ffi::pcstate_result_message(6)) };
    assert_eq!(e.to_string(), c.to_str().unwrap());
    assert!(format!("{e:?}").contains("Closed"));
}

#[test]
fn root_enums_are_the_c_enums_with_the_c_values() {
    let _: pcstate::enums::Profile = Profile::Legacy_2016;
    assert_eq!(Profile::W3cLiteral as u32, 1);
    assert_eq!(IceTransportState::Closed as u32, 6);
    assert_eq!(DtlsTransportState::Failed as u32, 4);
    assert_eq!(GathererState::Complete as u32, 2);
    assert_eq!(ConnectionState::Closed as u32, 5);
    assert_eq!(IceConnectionState::Completed as u32, 3);
    assert_eq!(IceGatheringState::Gathering as u32, 1);
    assert_eq!(EventKind::Overflow as u32, 4);
    assert_eq!(FailureCause::Liveness as u32, 3);
}

#[test]
fn after_close_setters_fail_as_in_c_or_are_ignored_with_the_flag() {
    for ignore in [false, true] {
        let pc = PeerConnection::builder(Profile::W3c)
            .ignore_after_close(ignore)
            .build()
            .unwrap();
        let t = pc.add_transport().unwrap();
        pc.close().unwrap();
        pc.close().unwrap();
        let results = [
            t.set_ice_state(IceTransportState::Checking),
            t.set_dtls_state(DtlsTransportState::Connected),
            t.set_gatherer_state(GathererState::Gathering),
            t.set_states(StateUpdate::default()),
            t.set_ice_agent_state(IceAgent::Libnice, 4),
            t.set_remote_end_of_candidates(),
            t.note_alive(1),
            pc.add_transport().map(|t| assert_eq!(t.id(), 0)),
            pc.remove_transport(t.id()),
        ];
        for r in results {
            match ignore {
                false => assert_eq!(r.unwrap_err().code(), ResultCode::Closed),
                true => r.unwrap(),
            }
        }
        // Reading works, and the transport reads closed.
        assert_eq!(pc.connection_state(), ConnectionState::Closed);
        assert_eq!(t.states().unwrap().ice, IceTransportState::Closed);
        assert_eq!(t.states().unwrap().dtls, DtlsTransportState::Closed);
    }
}

#[test]
fn transports_are_found_by_id_and_removed() {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let a = pc.add_transport().unwrap();
    let b = pc.add_transport().unwrap();
    assert_eq!((a.id(), b.id()), (1, 2));
    assert!(std::ptr::eq(a.peer(), &pc));
    let found = pc.transport(2).unwrap();
    found.set_ice_state(IceTransportState::Checking).unwrap();
    assert_eq!(b.states().unwrap().ice, IceTransportState::Checking);
    b.remove().unwrap();
    assert_eq!(
        pc.transport(2).unwrap_err().code(),
        ResultCode::UnknownTransport
    );
    assert_eq!(
        found
            .set_ice_state(IceTransportState::New)
            .unwrap_err()
            .code(),
        ResultCode::UnknownTransport
    );
    assert_eq!(
        pc.transport(0).unwrap_err().code(),
        ResultCode::UnknownTransport
    );
    assert_eq!(
        pc.remove_transport(2).unwrap_err().code(),
        ResultCode::UnknownTransport
    );
    assert_eq!(pc.snapshot().transport_count, 1);
    assert_eq!(pc.add_transport().unwrap().id(), 3, "ids are never reused");
}

#[test]
fn set_states_and_add_with_states_commit_once() {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let events = record(&pc);
    let t = pc
        .add_transport_with_states(TransportStates {
            ice: IceTransportState::Connected,
            dtls: DtlsTransportState::Connected,
            gatherer: GathererState::Complete,
        })
        .unwrap();
    assert_eq!(pc.connection_state(), ConnectionState::Connected);
    let e = events.lock().unwrap().clone();
    assert_eq!(
        e.len(),
        3,
        "one event per aggregate, no intermediate states: {e:?}"
    );
    assert!(e.iter().all(|e| e.transport() == Some(t.id())));
    // DTLS alone; ICE kept.
    t.set_states(StateUpdate {
        dtls: Some(DtlsTransportState::Failed),
        ..Default::default()
    })
    .unwrap();
    let s = t.states().unwrap();
    assert_eq!(
        (s.ice, s.dtls),
        (IceTransportState::Connected, DtlsTransportState::Failed)
    );
    assert_eq!(pc.connection_state(), ConnectionState::Failed);
    let all = StateUpdate::from(TransportStates::default());
    t.set_states(all).unwrap();
    assert_eq!(t.states().unwrap(), TransportStates::default());
}

#[test]
fn ice_agent_states_derive_the_ice_state() {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let t = pc.add_transport().unwrap();
    // libnice READY (4): connected, completed once gathering and the remote's candidates are done.
    t.set_ice_agent_state(IceAgent::Libnice, 4).unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::Connected);
    t.set_gatherer_state(GathererState::Complete).unwrap();
    t.set_remote_end_of_candidates().unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::Completed);
    assert_eq!(
        t.reported_states().unwrap().ice,
        IceTransportState::Completed
    );
    let e = t.set_ice_agent_state(IceAgent::Libjuice, 6).unwrap_err();
    assert_eq!(e.code(), ResultCode::InvalidState);
    assert_eq!(
        t.states().unwrap().ice,
        IceTransportState::Completed,
        "nothing changed"
    );
}

#[test]
fn liveness_takes_durations_and_tick_returns_the_next_deadline() {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let t = pc.add_transport().unwrap();
    t.set_ice_state(IceTransportState::Connected).unwrap();
    t.set_dtls_state(DtlsTransportState::Connected).unwrap();
    let (s5, s30) = (Duration::from_secs(5), Duration::from_secs(30));
    let bad = [
        pc.set_liveness(Duration::ZERO, None),
        pc.set_liveness(s5, Some(Duration::ZERO)),
        pc.set_liveness(s5, Some(s5)),
    ];
    for r in bad {
        assert_eq!(r.unwrap_err().code(), ResultCode::InvalidArgument);
    }
    assert_eq!(pc.tick(0).unwrap(), None, "liveness off: no deadline");
    pc.set_liveness(s5, Some(s30)).unwrap();
    let sec = 1_000_000_000u64;
    assert_eq!(pc.tick(100 * sec).unwrap(), Some(105 * sec));
    assert_eq!(pc.tick(106 * sec).unwrap(), Some(130 * sec));
    assert_eq!(t.states().unwrap().ice, IceTransportState::Disconnected);
    assert_eq!(
        t.reported_states().unwrap().ice,
        IceTransportState::Connected
    );
    t.note_alive(107 * sec).unwrap();
    assert_eq!(pc.connection_state(), ConnectionState::Connected);
    pc.tick(200 * sec).unwrap();
    assert_eq!(pc.connection_state(), ConnectionState::Failed);
    assert_eq!(pc.stats().failure_cause, FailureCause::Liveness);
    assert_eq!(pc.stats().failure_transport, Some(t.id()));
    pc.clear_liveness().unwrap();
    assert_eq!(pc.connection_state(), ConnectionState::Connected);
    assert_eq!(pc.tick(300 * sec).unwrap(), None);
}

#[test]
fn stats_history_and_global_stats_read_the_peer() {
    let before = pcstate::now_ns();
    let pc = PeerConnection::builder(Profile::W3c)
        .history(true)
        .build()
        .unwrap();
    let t = pc.add_transport().unwrap();
    t.set_ice_state(IceTransportState::Connected).unwrap();
    t.set_dtls_state(DtlsTransportState::Connected).unwrap();
    let s = pc.stats();
    assert!(s.created_ns >= before && s.first_connected_ns >= Some(s.created_ns));
    assert_eq!(s.entered(ConnectionState::New), 1);
    assert_eq!(s.entered(ConnectionState::Connected), 1);
    assert_eq!(
        (s.failure_cause, s.failure_transport),
        (FailureCause::None, None)
    );
    let h = pc.history().unwrap();
    assert_eq!(h.iter().map(Event::seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(h[2].connection_state(), Some(ConnectionState::Connected));
    assert!(pcstate::global_stats().live_peers >= 1);
    let none = PeerConnection::new(Profile::W3c).unwrap();
    assert_eq!(
        none.history().unwrap_err().code(),
        ResultCode::InvalidArgument
    );
}

/// Records the events of `pc`'s callback.
fn record(pc: &PeerConnection) -> Arc<Mutex<Vec<Event>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    pc.on_event(move |e| l.lock().unwrap().push(*e)).unwrap();
    log
}

#[test]
fn events_are_typed_and_print_with_the_w3c_names() {
    let pc = PeerConnection::builder(Profile::W3c)
        .close_events(true)
        .build()
        .unwrap();
    let events = record(&pc);
    let t = pc.add_transport().unwrap();
    t.set_ice_state(IceTransportState::Checking).unwrap();
    pc.close().unwrap();
    let e = events.lock().unwrap().clone();
    assert_eq!(
        e.iter().map(Event::change).collect::<Vec<_>>(),
        [
            Change::IceConnectionState {
                old: IceConnectionState::New,
                new: IceConnectionState::Checking
            },
            Change::ConnectionState {
                old: ConnectionState::New,
                new: ConnectionState::Connecting
            },
            Change::IceConnectionState {
                old: IceConnectionState::Checking,
                new: IceConnectionState::Closed
            },
            Change::ConnectionState {
                old: ConnectionState::Connecting,
                new: ConnectionState::Closed
            },
        ]
    );
    assert_eq!(
        e[1].to_string(),
        "#2 connectionstatechange new -> connecting"
    );
    assert_eq!(
        (e[1].transport(), e[3].transport()),
        (Some(1), None),
        "close has no transport"
    );
    assert_eq!(e[1].kind(), EventKind::ConnectionState);
    assert!(e[0].time_ns() > 0 && format!("{:?}", e[0]).contains("Checking"));
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
