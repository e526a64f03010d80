//! A reference model of pcstate (see `rules.rs`) and a harness that runs the same sequence of API
//! calls against the library's C ABI and against the model, comparing every result code, the
//! aggregates, every transport's states, the queue and the full event stream.
#![allow(dead_code)]

pub mod rules;

use std::collections::{BTreeMap, VecDeque};
use std::ffi::c_void;
use std::sync::{Arc, Mutex};

use pcstate::ResultCode;
use pcstate::ffi::*;
use pcstate::rules::{
    Aggregates, DtlsTransportState, GathererState, IceTransportState, Profile, TransportStates,
};

/// (seq, kind, old, new, transport)
pub type EventRec = (u64, u32, u32, u32, u32);

/// One API call. Peers are chosen by index into the peers created so far; an index past them
/// picks handle 0 or a forged handle.
#[derive(Clone, Debug)]
pub enum Op {
    New { profile: u32, flags: u32 },
    Free(u8),
    Close(u8),
    Add(u8),
    Remove(u8, u32),
    SetIce(u8, u32, u32),
    SetDtls(u8, u32, u32),
    SetGatherer(u8, u32, u32),
    GetStates(u8, u32),
    Snapshot(u8),
    Poll(u8),
    Callback(u8, bool),
}

const OK: ResultCode = ResultCode::Ok;
const INVALID_HANDLE: ResultCode = ResultCode::InvalidHandle;
const UNKNOWN_TRANSPORT: ResultCode = ResultCode::UnknownTransport;
const INVALID_STATE: ResultCode = ResultCode::InvalidState;
const INVALID_ARGUMENT: ResultCode = ResultCode::InvalidArgument;
const CLOSED: ResultCode = ResultCode::Closed;
const EMPTY: ResultCode = ResultCode::Empty;

struct ModelPeer {
    profile: Profile,
    flags: u32,
    closed: bool,
    freed: bool,
    transports: BTreeMap<u32, TransportStates>,
    next_id: u32,
    agg: Aggregates,
    seq: u64,
    queue: VecDeque<EventRec>,
    callback: bool,
    /// What the callback must have received, in order.
    delivered: Vec<EventRec>,
}

impl ModelPeer {
    /// What add/remove/set return on a closed peer: OK (nothing changes) with
    /// `PCSTATE_FLAG_IGNORE_AFTER_CLOSE`, else CLOSED.
    fn after_close(&self) -> ResultCode {
        if self.flags & PCSTATE_FLAG_IGNORE_AFTER_CLOSE != 0 {
            OK
        } else {
            CLOSED
        }
    }

    fn new(profile: Profile, flags: u32) -> Self {
        ModelPeer {
            profile,
            flags,
            closed: false,
            freed: false,
            transports: BTreeMap::new(),
            next_id: 1,
            agg: Aggregates::default(),
            seq: 0,
            queue: VecDeque::new(),
            callback: false,
            delivered: Vec::new(),
        }
    }

    fn commit(&mut self, new: Aggregates, transport: u32) {
        let old = self.agg;
        self.agg = new;
        let changes = [
            (1, old.ice_connection as u32, new.ice_connection as u32),
            (2, old.connection as u32, new.connection as u32),
            (3, old.ice_gathering as u32, new.ice_gathering as u32),
        ];
        for (kind, o, n) in changes {
            if o != n {
                self.seq += 1;
                let e = (self.seq, kind, o, n, transport);
                if self.flags & PCSTATE_FLAG_EVENT_QUEUE != 0 {
                    self.queue.push_back(e);
                }
                if self.callback {
                    self.delivered.push(e);
                }
            }
        }
    }

    fn recompute(&mut self, transport: u32) {
        let ts: Vec<_> = self.transports.values().copied().collect();
        let new = rules::reference(self.profile, &ts, self.closed);
        self.commit(new, transport);
    }
}

type Log = Arc<Mutex<Vec<EventRec>>>;

unsafe extern "C" fn record(user_data: *mut c_void, e: *const pcstate_event) {
    let log = unsafe { &*(user_data as *const Log) };
    let e = unsafe { &*e };
    log.lock()
        .unwrap()
        .push((e.seq, e.kind, e.old_state, e.new_state, e.transport));
}

unsafe extern "C" fn drop_log(user_data: *mut c_void) {
    drop(unsafe { Box::from_raw(user_data as *mut Log) });
}

/// Runs ops against the library and the model side by side.
pub struct Harness {
    model: Vec<ModelPeer>,
    handles: Vec<u64>,
    logs: Vec<Log>,
    pub events: usize,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Self {
        Harness {
            model: Vec::new(),
            handles: Vec::new(),
            logs: Vec::new(),
            events: 0,
        }
    }

    /// The handle and model index an op's peer selector picks (None: an invalid handle).
    fn pick(&self, sel: u8) -> (u64, Option<usize>) {
        let n = self.handles.len();
        let i = sel as usize % (n + 2);
        if i < n {
            (self.handles[i], Some(i))
        } else if i == n {
            (0, None)
        } else {
            (0xfff0_0000_0000_0001, None)
        }
    }

    /// The model's result for a call on peer `i` whose arguments are valid.
    fn live(&self, i: Option<usize>) -> Option<usize> {
        i.filter(|&i| !self.model[i].freed)
    }

    fn expect(&self, what: &Op, want: ResultCode, got: ResultCode) -> Result<(), String> {
        if want == got {
            Ok(())
        } else {
            Err(format!(
                "{what:?}: library returned {got:?}, the model expects {want:?}"
            ))
        }
    }

    /// Applies one op to both; returns a description of the first disagreement.
    pub fn step(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::New { profile, flags } => {
                let mut h = 0;
                let got = pcstate_peer_new(profile, flags, &mut h);
                let want = match Profile::from_u32(profile) {
                    Some(p) if flags & !7 == 0 => {
                        self.model.push(ModelPeer::new(p, flags));
                        self.handles.push(h);
                        self.logs.push(Arc::default());
                        OK
                    }
                    _ => INVALID_ARGUMENT,
                };
                self.expect(op, want, got)?;
            }
            Op::Free(sel) => {
                let (h, i) = self.pick(sel);
                let got = pcstate_peer_free(h);
                let want = match self.live(i) {
                    Some(i) => {
                        self.model[i].freed = true;
                        OK
                    }
                    None => INVALID_HANDLE,
                };
                self.expect(op, want, got)?;
            }
            Op::Close(sel) => {
                let (h, i) = self.pick(sel);
                let got = pcstate_peer_close(h);
                let want = match self.live(i) {
                    Some(i) => {
                        let m = &mut self.model[i];
                        if !m.closed {
                            m.closed = true;
                            for t in m.transports.values_mut() {
                                t.ice = IceTransportState::Closed;
                                t.dtls = DtlsTransportState::Closed;
                            }
                            if m.flags & PCSTATE_FLAG_CLOSE_EVENTS != 0 {
                                m.recompute(0);
                            } else {
                                let ts: Vec<_> = m.transports.values().copied().collect();
                                m.agg = rules::reference(m.profile, &ts, true);
                            }
                        }
                        OK
                    }
                    None => INVALID_HANDLE,
                };
                self.expect(op, want, got)?;
            }
            Op::Add(sel) => {
                let (h, i) = self.pick(sel);
                let mut id = 0;
                let got = pcstate_transport_add(h, &mut id);
                let want = match self.live(i) {
                    None => INVALID_HANDLE,
                    Some(i) if self.model[i].closed => {
                        if id != 0 {
                            return Err(format!("{op:?}: id {id} after close"));
                        }
                        self.model[i].after_close()
                    }
                    Some(i) => {
                        let m = &mut self.model[i];
                        let want_id = m.next_id;
                        m.next_id += 1;
                        m.transports.insert(want_id, TransportStates::default());
                        m.recompute(want_id);
                        if id != want_id {
                            return Err(format!("{op:?}: id {id}, the model expects {want_id}"));
                        }
                        OK
                    }
                };
                self.expect(op, want, got)?;
            }
            Op::Remove(sel, t) => {
                let (h, i) = self.pick(sel);
                let got = pcstate_transport_remove(h, t);
                let want = match self.live(i) {
                    None => INVALID_HANDLE,
                    Some(i) if self.model[i].closed => self.model[i].after_close(),
                    Some(i) => match self.model[i].transports.remove(&t) {
                        None => UNKNOWN_TRANSPORT,
                        Some(_) => {
                            self.model[i].recompute(t);
                            OK
                        }
                    },
                };
                self.expect(op, want, got)?;
            }
            Op::SetIce(sel, t, s) | Op::SetDtls(sel, t, s) | Op::SetGatherer(sel, t, s) => {
                let (h, i) = self.pick(sel);
                let (got, valid) = match op {
                    Op::SetIce(..) => (
                        pcstate_transport_set_ice_state(h, t, s),
                        IceTransportState::from_u32(s).is_some(),
                    ),
                    Op::SetDtls(..) => (
                        pcstate_transport_set_dtls_state(h, t, s),
                        DtlsTransportState::from_u32(s).is_some(),
                    ),
                    _ => (
                        pcstate_transport_set_gatherer_state(h, t, s),
                        GathererState::from_u32(s).is_some(),
                    ),
                };
                let want = match self.live(i) {
                    _ if !valid => INVALID_STATE,
                    None => INVALID_HANDLE,
                    Some(i) if self.model[i].closed => self.model[i].after_close(),
                    Some(i) => {
                        let m = &mut self.model[i];
                        match m.transports.get_mut(&t) {
                            None => UNKNOWN_TRANSPORT,
                            Some(ts) => {
                                let before = *ts;
                                match op {
                                    Op::SetIce(..) => ts.ice = IceTransportState::ALL[s as usize],
                                    Op::SetDtls(..) => {
                                        ts.dtls = DtlsTransportState::ALL[s as usize]
                                    }
                                    _ => ts.gatherer = GathererState::ALL[s as usize],
                                }
                                if *ts != before {
                                    m.recompute(t);
                                }
                                OK
                            }
                        }
                    }
                };
                self.expect(op, want, got)?;
            }
            Op::GetStates(sel, t) => {
                let (h, i) = self.pick(sel);
                let mut out = pcstate_transport_states {
                    ice_state: 99,
                    dtls_state: 99,
                    gatherer_state: 99,
                };
                let got = pcstate_transport_get_states(h, t, &mut out);
                let (want, states) = match self.live(i) {
                    None => (INVALID_HANDLE, None),
                    Some(i) => match self.model[i].transports.get(&t) {
                        None => (UNKNOWN_TRANSPORT, None),
                        Some(s) => (OK, Some(*s)),
                    },
                };
                self.expect(op, want, got)?;
                let read = (out.ice_state, out.dtls_state, out.gatherer_state);
                let want_read = states.map_or((99, 99, 99), |s| {
                    (s.ice as u32, s.dtls as u32, s.gatherer as u32)
                });
                if read != want_read {
                    return Err(format!(
                        "{op:?}: read {read:?}, the model has {want_read:?}"
                    ));
                }
            }
            Op::Snapshot(sel) => {
                let (h, i) = self.pick(sel);
                if let Some(i) = self.live(i) {
                    self.compare(h, i, op)?;
                } else {
                    let mut s = std::mem::MaybeUninit::<pcstate_snapshot>::zeroed();
                    let got = pcstate_peer_snapshot(h, s.as_mut_ptr());
                    self.expect(op, INVALID_HANDLE, got)?;
                }
            }
            Op::Poll(sel) => {
                let (h, i) = self.pick(sel);
                let mut e = std::mem::MaybeUninit::<pcstate_event>::zeroed();
                let got = pcstate_peer_poll_event(h, e.as_mut_ptr());
                let (want, ev) = match self.live(i) {
                    None => (INVALID_HANDLE, None),
                    Some(i) if self.model[i].flags & PCSTATE_FLAG_EVENT_QUEUE == 0 => {
                        (INVALID_ARGUMENT, None)
                    }
                    Some(i) => match self.model[i].queue.pop_front() {
                        None => (EMPTY, None),
                        Some(e) => (OK, Some(e)),
                    },
                };
                self.expect(op, want, got)?;
                if let Some(want_e) = ev {
                    let e = unsafe { e.assume_init() };
                    let got_e = (e.seq, e.kind, e.old_state, e.new_state, e.transport);
                    if got_e != want_e || e.peer != h {
                        return Err(format!(
                            "{op:?}: polled {got_e:?}, the model expects {want_e:?}"
                        ));
                    }
                }
            }
            Op::Callback(sel, on) => {
                let (h, i) = self.pick(sel);
                let got = match (i, on) {
                    (Some(i), true) => {
                        let data = Box::into_raw(Box::new(self.logs[i].clone()));
                        let r =
                            pcstate_peer_set_callback(h, Some(record), data.cast(), Some(drop_log));
                        if r != OK {
                            drop(unsafe { Box::from_raw(data) });
                        }
                        r
                    }
                    _ => pcstate_peer_set_callback(h, None, std::ptr::null_mut(), None),
                };
                let want = match self.live(i) {
                    None => INVALID_HANDLE,
                    Some(i) => {
                        self.model[i].callback = on;
                        OK
                    }
                };
                self.expect(op, want, got)?;
            }
        }
        // After every op: every live peer agrees with its model.
        for i in 0..self.model.len() {
            if !self.model[i].freed {
                self.compare(self.handles[i], i, op)?;
            }
        }
        Ok(())
    }

    fn compare(&self, h: u64, i: usize, op: &Op) -> Result<(), String> {
        let m = &self.model[i];
        let mut s = std::mem::MaybeUninit::<pcstate_snapshot>::zeroed();
        if pcstate_peer_snapshot(h, s.as_mut_ptr()) != OK {
            return Err(format!("after {op:?}: peer {i} has no snapshot"));
        }
        let s = unsafe { s.assume_init() };
        let got = (
            s.connection_state,
            s.ice_connection_state,
            s.ice_gathering_state,
            s.transport_count,
            s.last_seq,
        );
        let want = (
            m.agg.connection as u32,
            m.agg.ice_connection as u32,
            m.agg.ice_gathering as u32,
            m.transports.len() as u32,
            m.seq,
        );
        if got != want {
            return Err(format!(
                "after {op:?}: peer {i} ({:?}) reads {got:?}, the model has {want:?}",
                m.profile
            ));
        }
        let log = self.logs[i].lock().unwrap();
        if *log != m.delivered {
            return Err(format!(
                "after {op:?}: peer {i} delivered {:?}, the model expects {:?}",
                *log, m.delivered
            ));
        }
        Ok(())
    }

    /// Frees every peer still alive.
    pub fn finish(&mut self) -> Result<(), String> {
        for i in 0..self.model.len() {
            if !self.model[i].freed {
                self.model[i].freed = true;
                let r = pcstate_peer_free(self.handles[i]);
                if r != OK {
                    return Err(format!("final free of peer {i}: {r:?}"));
                }
            }
        }
        self.events = self.model.iter().map(|m| m.seq as usize).sum();
        Ok(())
    }
}

/// Runs a whole sequence; the first disagreement, if any.
pub fn run(ops: &[Op]) -> Result<usize, String> {
    let mut h = Harness::new();
    let r = ops.iter().try_for_each(|op| h.step(op));
    let f = h.finish();
    r.and(f).map(|()| h.events)
}

/// Decodes bytes into ops (for the fuzz target): every byte string is a valid sequence.
pub fn decode(data: &[u8]) -> Vec<Op> {
    let mut ops = vec![Op::New {
        profile: 0,
        flags: 3,
    }];
    let mut it = data.chunks_exact(4);
    for c in &mut it {
        let (a, p, t, s) = (c[0], c[1], (c[2] % 6) as u32, (c[3] % 9) as u32);
        ops.push(match a % 16 {
            0 => Op::New {
                profile: (p % 4) as u32,
                flags: (c[3] % 5) as u32,
            },
            1 => Op::Free(p),
            2 => Op::Close(p),
            3 | 4 => Op::Add(p),
            5 => Op::Remove(p, t),
            6 | 7 => Op::SetIce(p, t, s),
            8 | 9 => Op::SetDtls(p, t, s % 7),
            10 => Op::SetGatherer(p, t, s % 5),
            11 => Op::GetStates(p, t),
            12 => Op::Snapshot(p),
            13 => Op::Poll(p),
            _ => Op::Callback(p, s % 3 != 0),
        });
    }
    ops
}
