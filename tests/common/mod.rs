//! Helpers shared by the tests that drive the C ABI from Rust: result codes and state numbers,
//! peers and transports, and Rust closures registered as C callbacks.
#![allow(dead_code)]

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

pub use pcstate::ResultCode;
use pcstate::ffi::*;
use pcstate::rules::{DtlsTransportState, EventKind, GathererState, IceTransportState};

pub const OK: ResultCode = ResultCode::Ok;
pub const NULL_ARGUMENT: ResultCode = ResultCode::NullArgument;
pub const INVALID_HANDLE: ResultCode = ResultCode::InvalidHandle;
pub const UNKNOWN_TRANSPORT: ResultCode = ResultCode::UnknownTransport;
pub const INVALID_STATE: ResultCode = ResultCode::InvalidState;
pub const INVALID_ARGUMENT: ResultCode = ResultCode::InvalidArgument;
pub const CLOSED: ResultCode = ResultCode::Closed;
pub const EMPTY: ResultCode = ResultCode::Empty;
pub const WOULD_DEADLOCK: ResultCode = ResultCode::WouldDeadlock;

// ICE transport, DTLS, gatherer values (C numbering).
pub const ICE_CHECKING: u32 = IceTransportState::Checking as u32;
pub const ICE_CONNECTED: u32 = IceTransportState::Connected as u32;
pub const ICE_DISCONNECTED: u32 = IceTransportState::Disconnected as u32;
pub const DTLS_CONNECTING: u32 = DtlsTransportState::Connecting as u32;
pub const DTLS_CONNECTED: u32 = DtlsTransportState::Connected as u32;
pub const DTLS_FAILED: u32 = DtlsTransportState::Failed as u32;
pub const GATHERING: u32 = GathererState::Gathering as u32;
pub const COMPLETE: u32 = GathererState::Complete as u32;
// Event kinds.
pub const K_ICE: u32 = EventKind::IceConnectionState as u32;
pub const K_CONN: u32 = EventKind::ConnectionState as u32;
pub const K_GATHER: u32 = EventKind::IceGatheringState as u32;
pub const K_OVERFLOW: u32 = EventKind::Overflow as u32;

pub fn new_peer(profile: u32, flags: u32) -> pcstate_peer {
    let mut p = 0;
    assert_eq!(pcstate_peer_new(profile, flags, &mut p), OK);
    assert_ne!(p, 0);
    p
}

pub fn add(p: pcstate_peer) -> pcstate_transport {
    let mut t = 0;
    assert_eq!(pcstate_transport_add(p, &mut t), OK);
    t
}

pub fn snapshot(p: pcstate_peer) -> pcstate_snapshot {
    let mut s = pcstate_snapshot {
        last_seq: 0,
        connection_state: 0,
        ice_connection_state: 0,
        ice_gathering_state: 0,
        transport_count: 0,
    };
    assert_eq!(pcstate_peer_snapshot(p, &mut s), OK);
    s
}

/// A Rust closure registered through the C API; `frees` counts user_data_free calls.
pub type Handler = Box<dyn FnMut(&pcstate_event) + Send>;

pub struct Reg {
    pub handler: Handler,
    pub frees: Arc<AtomicUsize>,
}

pub unsafe extern "C" fn trampoline(user_data: *mut c_void, event: *const pcstate_event) {
    let reg = unsafe { &mut *(user_data as *mut Reg) };
    (reg.handler)(unsafe { &*event });
}

pub unsafe extern "C" fn free_reg(user_data: *mut c_void) {
    let reg = unsafe { Box::from_raw(user_data as *mut Reg) };
    reg.frees.fetch_add(1, SeqCst);
}

pub fn set_handler(p: pcstate_peer, handler: Handler) -> Arc<AtomicUsize> {
    let frees = Arc::new(AtomicUsize::new(0));
    let reg = Box::into_raw(Box::new(Reg {
        handler,
        frees: frees.clone(),
    }));
    assert_eq!(
        pcstate_peer_set_callback(p, Some(trampoline), reg.cast(), Some(free_reg)),
        OK
    );
    frees
}

/// Events as (seq, kind, old, new, transport).
pub type Log = Arc<Mutex<Vec<(u64, u32, u32, u32, u32)>>>;

/// Records every event.
pub fn record(p: pcstate_peer) -> (Log, Arc<AtomicUsize>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let frees = set_handler(
        p,
        Box::new(move |e| {
            assert_eq!(std::mem::size_of_val(e), 40);
            l.lock()
                .unwrap()
                .push((e.seq, e.kind, e.old_state, e.new_state, e.transport))
        }),
    );
    (log, frees)
}

/// A transport's effective ICE state (`pcstate_transport_get_states`), asserting OK.
pub fn ice(p: pcstate_peer, t: pcstate_transport) -> u32 {
    let mut s = pcstate_transport_states {
        ice_state: 0,
        dtls_state: 0,
        gatherer_state: 0,
    };
    assert_eq!(pcstate_transport_get_states(p, t, &mut s), OK);
    s.ice_state
}

/// `pcstate_peer_tick` at `now`, asserting OK: the next deadline.
pub fn tick(p: pcstate_peer, now: u64) -> u64 {
    let mut next = 0;
    assert_eq!(pcstate_peer_tick(p, now, &mut next), OK);
    next
}

/// `pcstate_transport_set_ice_agent_state`, asserting OK.
pub fn agent(p: pcstate_peer, t: pcstate_transport, a: u32, s: u32) {
    assert_eq!(pcstate_transport_set_ice_agent_state(p, t, a, s), OK);
}

/// A ring of `n` new peers, each with a transport: one thread per peer commits an event, and the
/// peer's callback, once every thread is inside its own, calls `act(next peer)`. Returns the
/// peers and what each `act` returned (in the order they returned).
#[allow(dead_code)]
pub fn ring_acting_inside_callbacks(
    n: usize,
    act: fn(pcstate_peer) -> ResultCode,
) -> (Vec<pcstate_peer>, Vec<ResultCode>) {
    use std::sync::Barrier;
    let peers: Vec<_> = (0..n).map(|_| new_peer(0, 0)).collect();
    let ts: Vec<_> = peers.iter().map(|&p| add(p)).collect();
    let barrier = Arc::new(Barrier::new(n));
    let results = Arc::new(Mutex::new(Vec::new()));
    for i in 0..n {
        let next = peers[(i + 1) % n];
        let (bar, res) = (barrier.clone(), results.clone());
        let mut once = true;
        set_handler(
            peers[i],
            Box::new(move |_| {
                if std::mem::take(&mut once) {
                    bar.wait();
                    // Let every thread get into its callback before anyone acts.
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    let r = act(next); // not under `res`'s lock: `act` may wait for another callback
                    res.lock().unwrap().push(r);
                }
            }),
        );
    }
    let hs: Vec<_> = (0..n)
        .map(|i| {
            let (p, t) = (peers[i], ts[i]);
            std::thread::spawn(move || {
                pcstate_transport_set_gatherer_state(p, t, GathererState::Gathering as u32)
            })
        })
        .collect();
    for h in hs {
        assert_eq!(h.join().unwrap(), ResultCode::Ok);
    }
    let r = results.lock().unwrap().clone();
    (peers, r)
}
