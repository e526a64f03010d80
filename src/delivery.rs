//! The delivery protocol: the cell that guards a peer, the deliverer, and the wait graph.
//!
//! Every call that commits events does so under the cell's lock. If no thread is delivering
//! this peer's events, the calling thread becomes the deliverer: it takes the registration out
//! of the peer ("an outing"), releases the lock, calls it, takes the lock again, and goes on
//! until nothing is left. Events committed meanwhile (by other threads, or by the callback
//! itself) wait in the peer's bounded backlog and are delivered by the deliverer in order. So
//! callbacks of one peer never overlap, never run under a lock, and may call anything.
//!
//! A registration replaced (`set_callback`) or freed (`free`) during its outing is retired: the
//! deliverer drops it (calling `user_data_free`) when the callback returns. A thread that
//! replaced or freed it from outside that callback waits until then, so when `set_callback` or
//! `free` returns, no replaced registration is running or will run. Waiting is tracked per
//! outing, which outlives the peer: the cell is not reused until its last outing is over.
//!
//! Waits form a graph of threads (waiter -> thread holding the awaited outing). A wait that
//! would close a cycle gets `WouldDeadlock` instead. The thread that ends an outing removes
//! the edges of its waiters before waking them, so no stale edge is ever seen as a cycle.

use crate::error::{Result, ResultCode};
use crate::peer::{EventSink, Peer};
use crate::state::{Batch, Event, FLAG_EVENT_QUEUE, FLAG_HISTORY};
use crate::sync::{self, Mutex, Parker, thread_token};

/// How one outing ended.
enum Delivered {
    /// The callback ran and its peer lives on.
    Yes,
    /// There is no callback (any deferred events were dropped).
    NoCallback,
    /// The peer was freed meanwhile: delivery ends.
    Freed,
}

/// Which registration, if any, is out with a deliverer. While one is (`Current` or `Retired`),
/// a thread is delivering the peer's events, and events committed by others are deferred to it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Out {
    /// None: the current registration (if any) is home.
    Home,
    /// The current registration is out.
    Current,
    /// A registration replaced or freed during its outing is out; the deliverer drops it.
    Retired,
}

/// One waiting thread: it waits for outing `outing` of the cell at `cell`, held by `holder`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Wait {
    waiter: usize,
    holder: usize,
    cell: usize,
    outing: u32,
}

/// Every thread waiting in `set_callback` or `free`. Touched only by those calls and by the end
/// of an outing that has waiters, never on the update path.
#[cfg(not(loom))]
static WAITS: Mutex<Vec<Wait>> = Mutex::new(Vec::new());
#[cfg(loom)]
loom::lazy_static! {
    static ref WAITS: Mutex<Vec<Wait>> = Mutex::new(Vec::new());
}

/// Whether `me` waiting for `holder` closes a cycle of waiting threads. Each waiting thread has
/// one edge, so a cycle through `me` is found within `waits.len()` steps; the walk is bounded by
/// that, so it ends even on a cycle that does not pass through `me`.
fn closes_cycle(waits: &[Wait], me: usize, holder: usize) -> bool {
    let mut t = holder;
    for _ in 0..=waits.len() {
        if t == me {
            return true;
        }
        match waits.iter().find(|w| w.waiter == t) {
            Some(w) => t = w.holder,
            None => return false,
        }
    }
    false
}

/// Records that this thread waits for `outing` of `cell` held by `holder`, unless that closes a
/// cycle of threads each waiting inside a callback for the next: then `WouldDeadlock`. (Only a
/// thread inside a callback is waited for, so a cycle can close only through such a thread.)
fn begin_wait(cell: &Cell, holder: usize, outing: u32) -> Result<()> {
    let me = thread_token();
    let mut waits = WAITS.lock();
    if closes_cycle(&waits, me, holder) {
        return Err(ResultCode::WouldDeadlock);
    }
    waits.try_reserve(1).map_err(|_| ResultCode::NoMemory)?;
    waits.push(Wait {
        waiter: me,
        holder,
        cell: cell as *const Cell as usize,
        outing,
    });
    Ok(())
}

/// The guarded slot a peer lives in. Cells are never deallocated; a freed cell is reused for a
/// later peer with a new generation, so a stale handle (old generation) is always detected.
/// Cache-line aligned: threads updating neighbouring peers never write to a shared line.
#[repr(align(64))]
pub struct Cell {
    inner: Mutex<CellInner>,
    /// Where `set_callback` and `free` wait for an outing to end (no room: see `Parker`).
    parker: Parker,
}

struct CellInner {
    /// Generation of the current (or next) occupant; 0 means the cell is retired for good.
    generation: u32,
    peer: Option<Peer>,
    /// The registration out with a deliverer, if any; it can outlive its peer.
    out: Out,
    /// Token of the thread holding it.
    out_holder: usize,
    /// How many outings have started in this cell (wrapping): names the current one. A waiter
    /// waits for one outing, and no other can start before that one ends.
    outings: u32,
    /// Some thread waits for the current outing to end (they all stop waiting when it ends,
    /// so its end clears this).
    waited: bool,
    /// Freed during its last outing: the deliverer's call reports the cell reusable (see
    /// `Cell::update`) when the outing ends.
    recycle: bool,
    /// While the cell is free: the index of the next free cell plus one (0: the last). The
    /// registry links its free cells by it, so its free list takes no memory of its own.
    free_link: u32,
}

impl CellInner {
    fn empty(generation: u32) -> Self {
        CellInner {
            generation,
            peer: None,
            out: Out::Home,
            out_holder: 0,
            outings: 0,
            waited: false,
            recycle: false,
            free_link: 0,
        }
    }
}

impl Cell {
    /// An empty cell.
    pub fn new() -> Self {
        Cell {
            inner: Mutex::new(CellInner::empty(1)),
            parker: Parker::new(),
        }
    }
}

type Guard<'a> = sync::Guard<'a, CellInner>;

/// What `free` leaves to its caller about the cell.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// The cell may be reused now.
    Now,
    /// A callback of the freed peer is still running on this thread; the call that runs it
    /// reports the cell reusable when it returns (see `Cell::update`).
    Later,
    /// The cell's generations are used up: it is retired.
    Never,
}

impl Cell {
    /// Puts a new peer in this empty cell; returns its generation and the free-list link the
    /// cell held (None if the cell is retired).
    pub fn occupy(&self, peer: Peer) -> Option<(u32, u32)> {
        let mut g = self.inner.lock();
        debug_assert!(g.peer.is_none() && g.out == Out::Home);
        if g.generation == 0 {
            return None;
        }
        g.peer = Some(peer);
        crate::stats::global::peer_created();
        Some((g.generation, std::mem::take(&mut g.free_link)))
    }

    /// Links this free cell into the registry's free list: `next` is the index of the next free
    /// cell plus one (0: none); `occupy` hands it back.
    pub fn link_free(&self, next: u32) {
        let mut g = self.inner.lock();
        debug_assert!(g.peer.is_none());
        g.free_link = next;
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
    /// delivers them when no other thread is delivering this peer's events. Also returns whether
    /// the cell may be reused now: true when a callback run by this call freed its own peer
    /// (`Reuse::Later`) and has returned; the owner of the cell (the registry) acts on it.
    #[inline(always)]
    pub fn update<T>(
        &self,
        generation: u32,
        op: impl FnOnce(&mut Peer) -> Result<(T, Batch)>,
    ) -> (Result<T>, bool) {
        let mut g = match self.lock_live(generation) {
            Ok(g) => g,
            Err(e) => return (Err(e), false),
        };
        match op(g.peer.as_mut().expect("checked live")) {
            Ok((value, batch)) if batch.is_empty() => (Ok(value), false),
            Ok((value, batch)) => (Ok(value), self.publish(g, generation, batch)),
            Err(e) => (Err(e), false),
        }
    }

    /// Queues a call's events and delivers them (the part of an update that runs only when an
    /// aggregate changed; kept out of line so the no-change path stays short). Returns whether
    /// the cell may be reused now (see `update`).
    #[cold]
    #[inline(never)]
    fn publish(&self, mut g: Guard<'_>, generation: u32, batch: Batch) -> bool {
        let delivering = g.out != Out::Home;
        let peer = g.peer.as_mut().expect("checked live");
        // The peer has a history or a queue exactly when created with their flags.
        if peer.state.flags() & (FLAG_HISTORY | FLAG_EVENT_QUEUE) != 0 {
            peer.record(&batch);
        }
        if delivering {
            // A registration is out: its deliverer (another thread, or this one further up the
            // stack) delivers these after what it has, in order, to whatever registration is
            // current then (and drops them all if none is).
            batch.iter().for_each(|e| peer.defer(e));
            return false;
        }
        let Some(cb) = peer.take_callback() else {
            return false;
        };
        self.deliver(g, generation, &batch, cb)
    }

    /// The delivery loop: the batch's events, then any deferred meanwhile. Entered with the lock
    /// held and the registration `first` just taken out (so this thread is the deliverer: others
    /// defer to it); returns with the lock released, and whether the cell may be reused now (its
    /// peer was freed by the last callback).
    fn deliver(
        &self,
        mut g: Guard<'_>,
        generation: u32,
        batch: &Batch,
        first: Box<dyn EventSink>,
    ) -> bool {
        let mut events = batch.iter();
        let event = events.next().expect("a batch that is not empty");
        if !self.outing(&mut g, generation, &event, first) {
            return std::mem::take(&mut g.recycle);
        }
        for event in events {
            match self.deliver_one(&mut g, generation, &event) {
                Delivered::Yes => {}
                Delivered::NoCallback => return false,
                Delivered::Freed => return std::mem::take(&mut g.recycle),
            }
        }
        loop {
            let Some(event) = g.peer.as_mut().expect("live").next_deferred() else {
                return false;
            };
            match self.deliver_one(&mut g, generation, &event) {
                Delivered::Yes => {}
                Delivered::NoCallback => return false,
                Delivered::Freed => return std::mem::take(&mut g.recycle),
            }
        }
    }

    /// Takes the registration out and runs an outing with it (lock held before and after).
    #[inline(always)]
    fn deliver_one(&self, g: &mut Guard<'_>, generation: u32, event: &Event) -> Delivered {
        let peer = g.peer.as_mut().expect("live while we deliver");
        let Some(cb) = peer.take_callback() else {
            // The callback was cleared: nothing is left to deliver to.
            peer.clear_deferred();
            return Delivered::NoCallback;
        };
        if self.outing(g, generation, event, cb) {
            Delivered::Yes
        } else {
            Delivered::Freed
        }
    }

    /// One outing of `cb`, the registration just taken out: calls it with `event` with the lock
    /// released, and brings it back (lock held before and after). False when the peer was freed
    /// meanwhile.
    #[inline(always)]
    fn outing(
        &self,
        g: &mut Guard<'_>,
        generation: u32,
        event: &Event,
        mut cb: Box<dyn EventSink>,
    ) -> bool {
        g.out = Out::Current;
        g.out_holder = thread_token();
        g.outings = g.outings.wrapping_add(1);
        sync::unlocked(g, || cb.on_event(event));
        self.end_outing(g, generation, cb)
    }

    /// Back from a callback with the lock held: puts the registration back, or drops it when it
    /// was retired meanwhile, then releases the outing's waiters. Returns false when the peer
    /// was freed (delivery ends).
    #[inline(always)]
    fn end_outing(&self, g: &mut Guard<'_>, generation: u32, cb: Box<dyn EventSink>) -> bool {
        if g.generation == generation && g.out == Out::Current {
            let peer = g.peer.as_mut().expect("live");
            // Empty: a registration set meanwhile would have retired this one. (So nothing is
            // dropped here, and the compiler need not check.)
            let home = peer.replace_callback(Some(cb));
            debug_assert!(home.is_none());
            std::mem::forget(home);
        } else {
            // Retired by set_callback or free: drop it (user_data_free) outside the lock; the
            // outing lasts until that returned (the peer may be freed meanwhile).
            sync::unlocked(g, || drop(cb));
        }
        g.out = Out::Home;
        if std::mem::take(&mut g.waited) {
            let (cell, outing) = (self as *const Cell as usize, g.outings);
            WAITS
                .lock()
                .retain(|w| !(w.cell == cell && w.outing == outing));
            self.parker.notify_all(self.wait_key());
        }
        g.generation == generation
    }

    /// The key this cell's waiters park under: the address of its second byte, inside the
    /// cell, where no lock is (the cell's lock parks its own waiters under its address).
    fn wait_key(&self) -> usize {
        self as *const Cell as usize + 1
    }

    /// Waits (lock held) until outing `outing` is over; the edge was added by `begin_wait`.
    fn wait_for_outing(&self, g: &mut Guard<'_>, outing: u32) {
        while g.outings == outing && g.out != Out::Home {
            self.parker.wait(self.wait_key(), g);
        }
    }

    /// If a registration of this cell is out on another thread, records the wait for it (or
    /// refuses with `WouldDeadlock`) and returns its outing.
    fn must_wait(&self, g: &mut Guard<'_>) -> Result<Option<u32>> {
        if g.out == Out::Home || g.out_holder == thread_token() {
            return Ok(None);
        }
        begin_wait(self, g.out_holder, g.outings)?;
        g.waited = true;
        Ok(Some(g.outings))
    }

    /// Replaces the registration with the one `make` builds, or clears it (`make` None). `make`
    /// is called only once nothing can fail any more: the handle is good, no deadlock is
    /// possible, and the peer has room for a registration (else `NoMemory`). When this returns,
    /// no replaced registration is running or will run and each one's drop (`user_data_free`)
    /// has run, unless the call comes from inside the running callback itself: that
    /// registration is dropped as soon as it returns.
    pub fn set_callback(
        &self,
        generation: u32,
        make: Option<impl FnOnce() -> Box<dyn EventSink>>,
    ) -> Result<()> {
        let mut g = self.lock_live(generation)?;
        if make.is_some() {
            g.peer.as_mut().expect("live").reserve_callback()?;
        }
        let wait = self.must_wait(&mut g)?;
        let new = make.map(|make| make());
        let old = g.peer.as_mut().expect("live").replace_callback(new);
        if g.out == Out::Current {
            g.out = Out::Retired;
        }
        if let Some(outing) = wait {
            self.wait_for_outing(&mut g, outing);
        }
        drop(g);
        drop(old);
        Ok(())
    }

    /// Frees the peer: the handle is invalid from now on; undelivered events are dropped; the
    /// registrations are dropped and none runs after this returns, unless the call comes from
    /// inside the peer's own callback (then that registration is dropped when it returns).
    #[cfg(all(test, loom))]
    pub fn free(&self, generation: u32) -> Result<Reuse> {
        self.free_reading(generation, |_| ())
            .map(|(reuse, ())| reuse)
    }

    /// `free`, which also returns what `last` reads of the peer in the same step, under the
    /// lock that frees it (so no commit falls between that reading and the free). `last` runs
    /// only when the free goes ahead.
    pub fn free_reading<R>(
        &self,
        generation: u32,
        last: impl FnOnce(&Peer) -> R,
    ) -> Result<(Reuse, R)> {
        let mut g = self.lock_live(generation)?;
        let wait = self.must_wait(&mut g)?;
        // Taken out (one move) and dropped where it lies, with the lock released: a closure
        // owning the peer would move it once more.
        let mut peer = g.peer.take();
        let read = last(peer.as_ref().expect("checked live"));
        let connection = peer.as_ref().expect("checked live").state.connection();
        crate::stats::global::peer_freed(connection);
        g.generation = g.generation.wrapping_add(1);
        let retired = g.generation == 0;
        let from_inside = g.out != Out::Home && wait.is_none();
        g.recycle = from_inside && !retired;
        if g.out == Out::Current {
            g.out = Out::Retired;
        }
        if let Some(outing) = wait {
            sync::unlocked(&mut g, || peer = None);
            self.wait_for_outing(&mut g, outing);
        } else {
            drop(g);
            drop(peer);
        }
        let reuse = if retired {
            Reuse::Never
        } else if from_inside {
            Reuse::Later
        } else {
            Reuse::Now
        };
        Ok((reuse, read))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(usize, usize)]) -> Vec<Wait> {
        let wait = |&(waiter, holder)| Wait {
            waiter,
            holder,
            cell: 0,
            outing: 0,
        };
        edges.iter().map(wait).collect()
    }

    /// A peer's cell stays within three cache lines (the state machine with its 73 bytes of
    /// stats, delivery; what only some peers use is one pointer); a transport takes 8 bytes, and
    /// the table that holds them 16 more. The memory figure of `make bench` depends on all three.
    #[test]
    fn sizes() {
        assert!(size_of::<Cell>() <= 192, "{}", size_of::<Cell>());
        assert!(size_of::<crate::transports::Entry>() <= 8);
        assert!(size_of::<crate::transports::TransportTable>() <= 16);
    }

    #[test]
    fn wait_graph_cycles() {
        // 1 waits for 2, 2 for 3: 3 waiting for 1 closes a cycle; 4 waiting for 1 does not.
        let waits = graph(&[(1, 2), (2, 3)]);
        assert!(closes_cycle(&waits, 3, 1));
        assert!(!closes_cycle(&waits, 4, 1));
        assert!(closes_cycle(&[], 5, 5));
        // A cycle 1 -> 2 -> 1 not through 4: the walk ends, no deadlock through 4.
        assert!(!closes_cycle(&graph(&[(1, 2), (2, 1)]), 4, 1));
        assert!(!closes_cycle(&graph(&[(1, 2), (2, 1), (3, 1)]), 4, 3));
    }
}
