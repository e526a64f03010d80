//! One peer connection: its transports and counters ([`PeerState`], no locking), and the cell that
//! guards it and delivers its events ([`Cell`]).
//!
//! Delivery: every call that commits events does so under the cell's lock, numbering them. If no
//! thread is delivering this peer's events, the calling thread becomes the deliverer: it takes the
//! callback out of the cell, releases the lock, calls it, takes the lock again, and goes on until no
//! event is pending. Events committed meanwhile (by other threads, or by the callback itself) are
//! appended to `pending` and delivered by the deliverer in order. So callbacks of one peer never
//! overlap, never run under a lock, and may call anything. A registration replaced or freed while
//! its callback runs is "retired": the deliverer drops it (calling `user_data_free`) as soon as the
//! callback returns, and a thread that replaced or freed it from elsewhere waits for that.

use std::collections::VecDeque;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::error::{Result, ResultCode};
use crate::rules::{
    self, Aggregates, Counts, DtlsTransportState, EventKind, GathererState, IceTransportState,
    Packed, Profile, TransportStates,
};
use crate::transports::{self, TransportTable};

/// Flag: `close()` commits final "closed" events (what libwebrtc's observer and libdatachannel do).
pub(crate) const FLAG_CLOSE_EVENTS: u32 = 1;
/// Flag: every committed event is also appended to a queue read with `poll_event` and an eventfd.
pub(crate) const FLAG_EVENT_QUEUE: u32 = 2;
/// Every flag bit that has a meaning.
pub(crate) const ALL_FLAGS: u32 = FLAG_CLOSE_EVENTS | FLAG_EVENT_QUEUE;

/// A committed change of one aggregate.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// 1, 2, 3, ... per peer, no gaps.
    pub seq: u64,
    /// CLOCK_MONOTONIC, in nanoseconds, when the change was committed.
    pub time_ns: u64,
    pub kind: EventKind,
    pub old_state: u32,
    pub new_state: u32,
    /// The transport whose add, remove or set caused it; 0 for close.
    pub transport: u32,
}

/// The events of one call: one per aggregate whose value differs between `old` and `new`, in
/// the order ICE connection, connection, gathering, numbered from `first_seq`. 32 bytes, built
/// only when something changed; `Event`s are made when they are delivered or queued.
#[derive(Copy, Clone, Debug, Default)]
pub struct Batch {
    time_ns: u64,
    first_seq: u64,
    transport: u32,
    old: Packed,
    new: Packed,
    /// How many of the events were taken by `pop_front`.
    taken: u32,
}

const KINDS: [EventKind; 3] = [
    EventKind::IceConnectionState,
    EventKind::ConnectionState,
    EventKind::IceGatheringState,
];

impl Batch {
    /// The batch's events not yet taken, in commit order.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        (0..3u32)
            .filter(|&k| self.old.get(k) != self.new.get(k))
            .enumerate()
            .skip(self.taken as usize)
            .map(|(i, k)| Event {
                seq: self.first_seq + i as u64,
                time_ns: self.time_ns,
                kind: KINDS[k as usize],
                old_state: self.old.get(k).into(),
                new_state: self.new.get(k).into(),
                transport: self.transport,
            })
    }

    /// Takes the oldest event out of the batch.
    fn pop_front(&mut self) -> Option<Event> {
        let e = self.iter().next();
        self.taken += u32::from(e.is_some());
        e
    }

    /// Whether the call committed no event.
    pub fn is_empty(&self) -> bool {
        self.old == self.new
    }
}

/// One consistent reading of a peer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub last_seq: u64,
    pub aggregates: Aggregates,
    pub transport_count: u32,
}

/// CLOCK_MONOTONIC now, in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The state machine of one peer: transports, counters, aggregates, event numbering. No locking,
/// no delivery: every operation returns the events it committed.
pub struct PeerState {
    profile: Profile,
    flags: u32,
    closed: bool,
    agg: Packed,
    next_id: u32,
    seq: u64,
    counts: Counts,
    table: TransportTable,
}

impl PeerState {
    /// A new open peer with no transports.
    pub fn new(profile: Profile, flags: u32) -> Self {
        PeerState {
            profile,
            flags,
            closed: false,
            agg: Packed::default(),
            next_id: 1,
            seq: 0,
            counts: Counts::new(),
            table: TransportTable::default(),
        }
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn flags(&self) -> u32 {
        self.flags
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    pub fn aggregates(&self) -> Aggregates {
        self.agg.unpack()
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            last_seq: self.seq,
            aggregates: self.agg.unpack(),
            transport_count: self.table.len(),
        }
    }

    /// The states of one transport (ICE and DTLS read closed once the peer is closed).
    pub fn transport(&self, id: u32) -> Result<TransportStates> {
        self.table.get(id).ok_or(ResultCode::UnknownTransport)
    }

    /// Every transport, ordered by id.
    pub fn transports(&self) -> Vec<(u32, TransportStates)> {
        self.table.to_sorted_vec()
    }

    #[inline(always)]
    fn check_open(&self) -> Result<()> {
        if self.closed {
            Err(ResultCode::Closed)
        } else {
            Ok(())
        }
    }

    /// Adds a transport in states new/new/new; returns its id.
    pub fn add_transport(&mut self) -> Result<(u32, Batch)> {
        self.check_open()?;
        if self.next_id == u32::MAX || self.table.len() >= u32::from(rules::Count::MAX) {
            return Err(ResultCode::Limit);
        }
        let id = self.next_id;
        self.next_id += 1;
        let s = TransportStates::default();
        self.table.insert(id, s);
        self.counts.add(s);
        Ok((id, self.commit(id)))
    }

    /// Removes a transport.
    pub fn remove_transport(&mut self, id: u32) -> Result<Batch> {
        self.check_open()?;
        let s = self.table.remove(id).ok_or(ResultCode::UnknownTransport)?;
        self.counts.remove(s);
        Ok(self.commit(id))
    }

    /// Sets one transport's ICE state.
    #[inline(always)]
    pub fn set_ice(&mut self, id: u32, v: IceTransportState) -> Result<Batch> {
        self.update(id, transports::ICE, v as u8)
    }

    /// Sets one transport's DTLS state.
    #[inline(always)]
    pub fn set_dtls(&mut self, id: u32, v: DtlsTransportState) -> Result<Batch> {
        self.update(id, transports::DTLS, v as u8)
    }

    /// Sets one transport's gatherer state.
    #[inline(always)]
    pub fn set_gatherer(&mut self, id: u32, v: GathererState) -> Result<Batch> {
        self.update(id, transports::GATHERER, v as u8)
    }

    /// The update path: one table lookup, the state stored in place, two counters moved, the
    /// aggregates recomputed from the counters.
    #[inline(always)]
    fn update(&mut self, id: u32, which: usize, v: u8) -> Result<Batch> {
        self.check_open()?;
        let states = self.table.raw_mut(id).ok_or(ResultCode::UnknownTransport)?;
        let old = std::mem::replace(&mut states[which], v);
        if old == v {
            return Ok(Batch::default());
        }
        self.counts.shift(which, old, v);
        Ok(self.commit(id))
    }

    /// Closes the peer: ICE and DTLS of every transport become closed, the ICE connection and
    /// connection states become closed, gathering stays. Events only with `FLAG_CLOSE_EVENTS`.
    /// Closing a closed peer does nothing.
    pub fn close(&mut self) -> Batch {
        if self.closed {
            return Batch::default();
        }
        self.closed = true;
        let counts = &mut self.counts;
        self.table.update_all(|mut s| {
            counts.move_ice(s.ice, IceTransportState::Closed);
            counts.move_dtls(s.dtls, DtlsTransportState::Closed);
            s.ice = IceTransportState::Closed;
            s.dtls = DtlsTransportState::Closed;
            s
        });
        if self.flags & FLAG_CLOSE_EVENTS != 0 {
            self.commit(0)
        } else {
            self.agg = rules::aggregate_packed(self.profile, &self.counts, true);
            Batch::default()
        }
    }

    /// Recomputes the aggregates (O(1)) and commits one event per aggregate that changed, in the
    /// order ICE connection, connection, gathering, all numbered after the new values are stored.
    #[inline(always)]
    fn commit(&mut self, transport: u32) -> Batch {
        let old = self.agg;
        let new = rules::aggregate_packed(self.profile, &self.counts, self.closed);
        if new == old {
            return Batch::default();
        }
        self.agg = new;
        let batch = Batch {
            time_ns: monotonic_ns(),
            first_seq: self.seq + 1,
            transport,
            old,
            new,
            taken: 0,
        };
        self.seq += (0..3).filter(|&k| old.get(k) != new.get(k)).count() as u64;
        batch
    }
}

/// Where a peer's events go: implemented by the C registration (whose `Drop` calls
/// `user_data_free`) and by Rust closures.
pub trait EventSink: Send {
    fn on_event(&mut self, event: &Event);
}

impl<F: FnMut(&Event) + Send> EventSink for F {
    fn on_event(&mut self, event: &Event) {
        self(event)
    }
}

/// The queue of `FLAG_EVENT_QUEUE`, with an eventfd readable exactly while it is not empty.
struct EventQueue {
    events: VecDeque<Event>,
    fd: libc::c_int,
}

impl EventQueue {
    fn new() -> Result<Self> {
        // SAFETY: plain syscall; the fd is owned by the queue and closed in Drop.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(ResultCode::Limit);
        }
        Ok(EventQueue {
            events: VecDeque::new(),
            fd,
        })
    }

    fn push(&mut self, e: Event) {
        if self.events.is_empty() {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a valid u64 to our eventfd. The counter cannot
            // overflow (it only ever holds 0 or 1), so the write does not fail.
            unsafe { libc::write(self.fd, (&one as *const u64).cast(), 8) };
        }
        self.events.push_back(e);
    }

    fn pop(&mut self) -> Option<Event> {
        let e = self.events.pop_front()?;
        if self.events.is_empty() {
            let mut v: u64 = 0;
            // SAFETY: reads 8 bytes into a valid u64; resets the eventfd to 0 (not readable).
            unsafe { libc::read(self.fd, (&mut v as *mut u64).cast(), 8) };
            if self.events.capacity() > 64 {
                self.events.shrink_to(8);
            }
        }
        Some(e)
    }
}

impl Drop for EventQueue {
    fn drop(&mut self) {
        // SAFETY: we own the fd and close it once.
        unsafe { libc::close(self.fd) };
    }
}

/// A live peer inside its cell: the state machine and its delivery state.
pub struct Peer {
    pub state: PeerState,
    /// The current registration, when it is home (not out with the deliverer).
    callback: Option<Box<dyn EventSink>>,
    /// The current registration is out with the deliverer, running.
    cb_out: bool,
    /// A retired registration is out with the deliverer; replacing threads wait until it is dropped.
    retired_out: bool,
    /// Token of the thread delivering this peer's events, 0 when none.
    deliverer: usize,
    /// Committed events that the deliverer has yet to deliver; allocated the first time another
    /// thread (or a callback) commits events while this peer's events are being delivered.
    /// Boxed on purpose: 8 bytes instead of 32 in every peer, for a queue most peers never use.
    #[allow(clippy::box_collection)]
    pending: Option<Box<VecDeque<Event>>>,
    queue: Option<Box<EventQueue>>,
}

impl Peer {
    /// A new open peer; fails only when an eventfd cannot be made (`Limit`).
    pub fn new(profile: Profile, flags: u32) -> Result<Self> {
        let queue = if flags & FLAG_EVENT_QUEUE != 0 {
            Some(Box::new(EventQueue::new()?))
        } else {
            None
        };
        Ok(Peer {
            state: PeerState::new(profile, flags),
            callback: None,
            cb_out: false,
            retired_out: false,
            deliverer: 0,
            pending: None,
            queue,
        })
    }

    fn has_callback(&self) -> bool {
        self.callback.is_some() || self.cb_out
    }

    /// Pops the oldest queued event (`InvalidArgument` without `FLAG_EVENT_QUEUE`).
    pub fn poll_event(&mut self) -> Result<Event> {
        let q = self.queue.as_mut().ok_or(ResultCode::InvalidArgument)?;
        q.pop().ok_or(ResultCode::Empty)
    }

    /// The queue's eventfd (`InvalidArgument` without `FLAG_EVENT_QUEUE`).
    pub fn event_fd(&self) -> Result<libc::c_int> {
        self.queue
            .as_ref()
            .map(|q| q.fd)
            .ok_or(ResultCode::InvalidArgument)
    }
}

/// An identifier of the calling thread, unique among live threads, never 0.
fn thread_token() -> usize {
    thread_local!(static TOKEN: u8 = const { 0 });
    TOKEN.with(|t| t as *const u8 as usize)
}

thread_local!(static DELIVERING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });

/// Threads waiting for another thread's callback to finish: (waiter, awaited), both tokens. Only
/// touched by replace/free calls that must wait, never on the update path.
static WAITS: Mutex<Vec<(usize, usize)>> = parking_lot::const_mutex(Vec::new());

/// Whether adding the edge `me -> awaited` to the wait graph closes a cycle through `me`. Each
/// waiting thread has exactly one edge, so a cycle through `me` is reached within `waits.len()`
/// steps. The walk is bounded by that: an edge can be briefly stale (its waiter's callback has
/// finished but the waiter has not woken yet), so a transient cycle that does not pass through
/// `me` can exist, and an unbounded walk would spin on it forever.
fn closes_cycle(waits: &[(usize, usize)], me: usize, awaited: usize) -> bool {
    let mut t = awaited;
    for _ in 0..=waits.len() {
        if t == me {
            return true;
        }
        match waits.iter().find(|(w, _)| *w == t) {
            Some(&(_, next)) => t = next,
            None => return false,
        }
    }
    false
}

/// Registers that this thread will wait for `awaited`'s callback, unless that would close a cycle
/// of threads each waiting inside a callback for the next (a deadlock): then `WouldDeadlock`.
fn begin_wait(awaited: usize) -> Result<()> {
    let me = thread_token();
    let mut waits = WAITS.lock();
    // Only a thread that is itself inside a callback can be waited for, so only then can a cycle
    // close through this thread.
    if DELIVERING.with(|d| d.get()) > 0 && closes_cycle(&waits, me, awaited) {
        return Err(ResultCode::WouldDeadlock);
    }
    waits.push((me, awaited));
    Ok(())
}

fn end_wait() {
    let me = thread_token();
    let mut waits = WAITS.lock();
    if let Some(i) = waits.iter().position(|(w, _)| *w == me) {
        waits.swap_remove(i);
    }
}

/// The guarded slot a peer lives in. Cells are never deallocated; a freed cell is reused for a
/// later peer with a new generation, so a stale handle (old generation) is always detected.
/// Cache-line aligned: threads updating neighbouring peers never write to a shared line.
#[repr(align(64))]
pub struct Cell {
    inner: Mutex<CellInner>,
    cond: Condvar,
}

struct CellInner {
    /// Generation of the current (or next) occupant; 0 means the cell is retired for good.
    generation: u32,
    /// Token of a deliverer whose retired callback a freeing thread waits on, or 0.
    draining: usize,
    peer: Option<Peer>,
}

impl Default for Cell {
    fn default() -> Self {
        Cell {
            inner: Mutex::new(CellInner {
                generation: 1,
                draining: 0,
                peer: None,
            }),
            cond: Condvar::new(),
        }
    }
}

type Guard<'a> = MutexGuard<'a, CellInner>;

impl Cell {
    /// Puts a new peer in this empty cell; returns its generation (None if the cell is retired).
    pub fn occupy(&self, peer: Peer) -> Option<u32> {
        let mut g = self.inner.lock();
        debug_assert!(g.peer.is_none());
        if g.generation == 0 {
            return None;
        }
        g.peer = Some(peer);
        Some(g.generation)
    }

    #[inline(always)]
    fn lock_live(&self, generation: u32) -> Result<Guard<'_>> {
        let g = self.inner.lock();
        if g.generation == generation && g.peer.is_some() {
            Ok(g)
        } else {
            Err(ResultCode::InvalidHandle)
        }
    }

    /// Reads the peer under its lock.
    pub fn read<T>(&self, generation: u32, f: impl FnOnce(&Peer) -> T) -> Result<T> {
        let g = self.lock_live(generation)?;
        Ok(f(g.peer.as_ref().expect("checked live")))
    }

    /// Runs a mutating operation under the lock, commits its events (queue, then callback), and
    /// delivers them when no other thread is delivering this peer's events.
    #[inline(always)]
    pub fn update<T>(
        &self,
        generation: u32,
        op: impl FnOnce(&mut Peer) -> Result<(T, Batch)>,
    ) -> Result<T> {
        let mut g = self.lock_live(generation)?;
        let (value, batch) = op(g.peer.as_mut().expect("checked live"))?;
        if !batch.is_empty() {
            self.publish(g, generation, batch);
        }
        Ok(value)
    }

    /// Queues a call's events and delivers them (the part of an update that runs only when an
    /// aggregate changed; kept out of line so the no-change path stays short).
    #[cold]
    #[inline(never)]
    fn publish(&self, mut g: Guard<'_>, generation: u32, batch: Batch) {
        let peer = g.peer.as_mut().expect("checked live");
        if let Some(q) = peer.queue.as_mut() {
            batch.iter().for_each(|e| q.push(e));
        }
        if !peer.has_callback() {
            return;
        }
        if peer.deliverer != 0 {
            // Another thread, or this one further up the stack, is delivering: it will deliver
            // these after what it has, in order.
            peer.pending.get_or_insert_default().extend(batch.iter());
            return;
        }
        self.deliver(g, generation, batch);
    }

    /// The delivery loop; entered with the lock held and no deliverer; returns with it released.
    fn deliver(&self, mut g: Guard<'_>, generation: u32, batch: Batch) {
        let me = thread_token();
        g.peer.as_mut().expect("live").deliverer = me;
        DELIVERING.with(|d| d.set(d.get() + 1));
        let mut local = batch;
        let still_live = loop {
            let peer = g.peer.as_mut().expect("live while we deliver");
            let queued = || peer.pending.as_mut().and_then(|q| q.pop_front());
            let Some(event) = local.pop_front().or_else(queued) else {
                break true;
            };
            let Some(mut cb) = peer.callback.take() else {
                // The callback was cleared: nothing is left to deliver to.
                peer.pending = None;
                local = Batch::default();
                continue;
            };
            peer.cb_out = true;
            MutexGuard::unlocked(&mut g, || cb.on_event(&event));
            if !self.after_callback(&mut g, generation, cb) {
                break false; // freed: the cell no longer holds this peer
            }
        };
        if still_live {
            g.peer.as_mut().expect("live").deliverer = 0;
        }
        DELIVERING.with(|d| d.set(d.get() - 1));
    }

    /// Back from a callback with the lock held: puts the registration back, or drops it when it
    /// was retired meanwhile. Returns false when the peer was freed (delivery ends).
    fn after_callback(&self, g: &mut Guard<'_>, generation: u32, cb: Box<dyn EventSink>) -> bool {
        let me = thread_token();
        if g.generation == generation {
            let peer = g.peer.as_mut().expect("live");
            if peer.cb_out {
                peer.cb_out = false;
                peer.callback = Some(cb);
                return true;
            }
        }
        // Retired by set_callback or free: drop it (user_data_free) outside the lock.
        MutexGuard::unlocked(g, || drop(cb));
        if g.generation == generation {
            g.peer.as_mut().expect("live").retired_out = false;
            self.cond.notify_all();
            return true;
        }
        if g.draining == me {
            g.draining = 0;
            self.cond.notify_all();
        }
        false
    }

    /// Replaces the registration (`make` builds the new one once the handle is known good). The
    /// old one is dropped before this returns, unless the call comes from inside the old
    /// callback itself: then it is dropped as soon as that callback returns.
    pub fn set_callback(
        &self,
        generation: u32,
        make: impl FnOnce() -> Option<Box<dyn EventSink>>,
    ) -> Result<()> {
        let me = thread_token();
        let mut g = self.lock_live(generation)?;
        let peer = g.peer.as_mut().expect("checked live");
        let running_elsewhere = peer.cb_out && peer.deliverer != me;
        if running_elsewhere {
            begin_wait(peer.deliverer)?;
        }
        let new = make();
        if peer.cb_out {
            // The current registration is running: retire it; the deliverer drops it.
            peer.cb_out = false;
            peer.retired_out = true;
            peer.callback = new;
            if running_elsewhere {
                while g.generation == generation && g.peer.as_ref().is_some_and(|p| p.retired_out) {
                    self.cond.wait(&mut g);
                }
                drop(g);
                end_wait();
            }
            return Ok(());
        }
        let old = std::mem::replace(&mut peer.callback, new);
        drop(g);
        drop(old);
        Ok(())
    }

    /// Frees the peer: the handle is invalid from now on; pending events are dropped; the
    /// registration is dropped before this returns, unless the call comes from inside the
    /// peer's own callback (then as soon as that callback returns). Returns whether the cell
    /// may be reused (false when its generations are used up).
    pub fn free(&self, generation: u32) -> Result<bool> {
        let me = thread_token();
        let mut g = self.lock_live(generation)?;
        let peer = g.peer.as_ref().expect("checked live");
        // A callback of this peer is running elsewhere (current or retired registration): wait.
        let awaited = if (peer.cb_out || peer.retired_out) && peer.deliverer != me {
            begin_wait(peer.deliverer)?;
            peer.deliverer
        } else {
            0
        };
        let peer = g.peer.take().expect("checked live");
        g.generation = g.generation.wrapping_add(1);
        let reusable = g.generation != 0;
        g.draining = awaited;
        self.cond.notify_all();
        drop(g);
        drop(peer);
        if awaited != 0 {
            let mut g = self.inner.lock();
            while g.draining == awaited {
                self.cond.wait(&mut g);
            }
            drop(g);
            end_wait();
        }
        Ok(reusable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{ConnectionState, IceConnectionState};

    #[test]
    fn events_of_a_call_in_order_and_numbered() {
        let mut p = PeerState::new(Profile::W3c, 0);
        let (t, b) = p.add_transport().unwrap();
        assert_eq!(t, 1);
        assert!(b.is_empty(), "a new transport leaves a new peer new");
        let b = p.set_gatherer(t, GathererState::Gathering).unwrap();
        let ev: Vec<_> = b.iter().collect();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, EventKind::IceGatheringState);
        assert_eq!(ev[0].seq, 1);
        let b = p.set_ice(t, IceTransportState::Checking).unwrap();
        let kinds: Vec<_> = b.iter().map(|e| (e.kind, e.seq)).collect();
        assert_eq!(
            kinds,
            [
                (EventKind::IceConnectionState, 2),
                (EventKind::ConnectionState, 3)
            ]
        );
        assert!(
            p.set_ice(t, IceTransportState::Checking)
                .unwrap()
                .is_empty()
        );
        assert_eq!(p.snapshot().last_seq, 3);
        assert_eq!(p.aggregates().connection, ConnectionState::Connecting);
        assert_eq!(p.aggregates().ice_connection, IceConnectionState::Checking);
    }

    #[test]
    fn close_without_and_with_events() {
        for flags in [0, FLAG_CLOSE_EVENTS] {
            let mut p = PeerState::new(Profile::W3c, flags);
            let (t, _) = p.add_transport().unwrap();
            p.set_gatherer(t, GathererState::Complete).unwrap();
            let before = p.snapshot();
            let b = p.close();
            assert_eq!(b.iter().count(), if flags == 0 { 0 } else { 2 });
            for (i, e) in b.iter().enumerate() {
                assert_eq!(e.transport, 0);
                assert_eq!(e.seq, before.last_seq + 1 + i as u64);
            }
            let s = p.snapshot();
            assert_eq!(s.aggregates.connection, ConnectionState::Closed);
            assert_eq!(s.aggregates.ice_connection, IceConnectionState::Closed);
            assert_eq!(s.aggregates.ice_gathering, before.aggregates.ice_gathering);
            let ts = p.transport(t).unwrap();
            assert_eq!(ts.ice, IceTransportState::Closed);
            assert_eq!(ts.dtls, DtlsTransportState::Closed);
            assert_eq!(ts.gatherer, GathererState::Complete);
            assert_eq!(
                p.set_ice(t, IceTransportState::New).unwrap_err(),
                ResultCode::Closed
            );
            assert_eq!(p.add_transport().unwrap_err(), ResultCode::Closed);
            assert_eq!(p.remove_transport(t).unwrap_err(), ResultCode::Closed);
            assert!(p.close().is_empty());
        }
    }

    #[test]
    fn wait_graph_cycles() {
        // 1 waits for 2, 2 for 3: 3 waiting for 1 closes a cycle; 4 waiting for 1 does not.
        let waits = [(1, 2), (2, 3)];
        assert!(closes_cycle(&waits, 3, 1));
        assert!(!closes_cycle(&waits, 4, 1));
        assert!(closes_cycle(&[], 5, 5));
        // A stale cycle 1 -> 2 -> 1 not through 4: the walk ends, no deadlock through 4.
        assert!(!closes_cycle(&[(1, 2), (2, 1)], 4, 1));
        assert!(!closes_cycle(&[(1, 2), (2, 1), (3, 1)], 4, 3));
    }

    #[test]
    fn unknown_transports() {
        let mut p = PeerState::new(Profile::W3c, 0);
        let (t, _) = p.add_transport().unwrap();
        for id in [0, t + 1] {
            assert_eq!(
                p.set_ice(id, IceTransportState::New).unwrap_err(),
                ResultCode::UnknownTransport
            );
            assert_eq!(p.transport(id).unwrap_err(), ResultCode::UnknownTransport);
            assert_eq!(
                p.remove_transport(id).unwrap_err(),
                ResultCode::UnknownTransport
            );
        }
        p.remove_transport(t).unwrap();
        assert_eq!(
            p.remove_transport(t).unwrap_err(),
            ResultCode::UnknownTransport
        );
        assert_eq!(p.add_transport().unwrap().0, t + 1, "ids are never reused");
    }
}
