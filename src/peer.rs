//! A live peer: its state machine, and where its events go (the registration, the deliverer's
//! backlog, the history, the queue), allocated only for peers that use them.

use crate::error::{Result, ResultCode};
use crate::queue::{DEFAULT_LIMIT, EventBuffer, EventQueue, MAX_LIMIT};
use crate::rules::{EventKind, Profile};
use crate::state::{Batch, Event, FLAG_EVENT_QUEUE, FLAG_HISTORY, PeerState};

/// How many events `FLAG_HISTORY` keeps.
pub(crate) const HISTORY_LEN: usize = crate::constants::PCSTATE_HISTORY_LEN as usize;

/// A ring of the last `HISTORY_LEN` committed events.
struct History {
    events: [Event; HISTORY_LEN],
    /// How many were ever recorded (the next goes at `count % HISTORY_LEN`).
    count: u64,
}

impl History {
    fn new() -> Self {
        let blank = Event {
            seq: 0,
            time_ns: 0,
            kind: EventKind::Overflow,
            old_state: 0,
            new_state: 0,
            transport: 0,
        };
        History {
            events: [blank; HISTORY_LEN],
            count: 0,
        }
    }

    fn push(&mut self, e: Event) {
        self.events[(self.count % HISTORY_LEN as u64) as usize] = e;
        self.count += 1;
    }

    /// The kept events, oldest first.
    fn iter(&self) -> impl Iterator<Item = &Event> {
        let n = self.count.min(HISTORY_LEN as u64) as usize;
        let start = (self.count as usize + HISTORY_LEN - n) % HISTORY_LEN;
        (0..n).map(move |i| &self.events[(start + i) % HISTORY_LEN])
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

/// What only some peers use, in one allocation made when first needed: by a registration, an
/// event limit, `FLAG_HISTORY` or `FLAG_EVENT_QUEUE`. A registration is out with a deliverer
/// only after it was set here, so a peer whose events are deferred always has its outlets.
struct Outlets {
    /// The current registration while it is home (not out with the deliverer).
    callback: Option<Box<dyn EventSink>>,
    /// Events committed while another outing ran, for the deliverer (bounded); allocated the
    /// first time it is needed.
    backlog: Option<Box<EventBuffer>>,
    /// Events dropped because memory for the backlog itself could not be had (reported as one
    /// overflow event once the backlog is drained).
    lost: u32,
    /// The limit of the backlog and the queue.
    limit: u32,
    /// The last `HISTORY_LEN` events, with `FLAG_HISTORY`.
    history: Option<Box<History>>,
    queue: Option<Box<EventQueue>>,
}

impl Outlets {
    fn new() -> Self {
        Outlets {
            callback: None,
            backlog: None,
            lost: 0,
            limit: DEFAULT_LIMIT,
            history: None,
            queue: None,
        }
    }
}

/// A live peer inside its cell: the state machine and what delivery needs.
pub struct Peer {
    pub state: PeerState,
    /// None until a registration, an event limit, a history or a queue needs them.
    outlets: Option<Box<Outlets>>,
}

impl Peer {
    /// A new open peer; fails when an event fd cannot be had (`Limit`) or memory runs out.
    pub fn new(profile: Profile, flags: u32) -> Result<Self> {
        let outlets = if flags & (FLAG_HISTORY | FLAG_EVENT_QUEUE) != 0 {
            let mut o = Outlets::new();
            if flags & FLAG_HISTORY != 0 {
                o.history = Some(crate::alloc::try_box(History::new())?);
            }
            if flags & FLAG_EVENT_QUEUE != 0 {
                o.queue = Some(crate::alloc::try_box(EventQueue::new(DEFAULT_LIMIT)?)?);
            }
            Some(crate::alloc::try_box(o)?)
        } else {
            None
        };
        Ok(Peer {
            state: PeerState::new(profile, flags),
            outlets,
        })
    }

    /// The outlets, allocated now if the peer has none yet (`NoMemory` if that fails).
    fn outlets(&mut self) -> Result<&mut Outlets> {
        if self.outlets.is_none() {
            self.outlets = Some(crate::alloc::try_box(Outlets::new())?);
        }
        Ok(self.outlets.as_deref_mut().expect("just set"))
    }

    /// Makes room for a registration (the outlets), so that setting one cannot fail later.
    pub fn reserve_callback(&mut self) -> Result<()> {
        self.outlets().map(|_| ())
    }

    /// Takes the registration out (None when none is home).
    #[inline(always)]
    pub fn take_callback(&mut self) -> Option<Box<dyn EventSink>> {
        let home = &mut self.outlets.as_mut()?.callback;
        // Tested first: taking from an empty slot would still write it.
        if home.is_none() {
            return None;
        }
        home.take()
    }

    /// Puts `cb` in as the registration; returns the one it replaces. A peer that never had
    /// one gets room first (`reserve_callback`); without it, a registration is dropped.
    #[inline(always)]
    pub fn replace_callback(
        &mut self,
        cb: Option<Box<dyn EventSink>>,
    ) -> Option<Box<dyn EventSink>> {
        match self.outlets.as_deref_mut() {
            Some(o) => std::mem::replace(&mut o.callback, cb),
            None => {
                debug_assert!(cb.is_none(), "a registration set without reserve_callback");
                cb
            }
        }
    }

    /// The last `HISTORY_LEN` events, oldest first (`InvalidArgument` without `FLAG_HISTORY`).
    pub fn history(&self) -> Result<impl Iterator<Item = &Event>> {
        let o = self.outlets.as_deref();
        let h = o.and_then(|o| o.history.as_deref());
        Ok(h.ok_or(ResultCode::InvalidArgument)?.iter())
    }

    fn queue(&self) -> Option<&EventQueue> {
        self.outlets.as_deref()?.queue.as_deref()
    }

    /// Pops the oldest queued event (`InvalidArgument` without `FLAG_EVENT_QUEUE`).
    pub fn poll_event(&mut self) -> Result<Event> {
        let o = self.outlets.as_deref_mut();
        let q = o.and_then(|o| o.queue.as_deref_mut());
        q.ok_or(ResultCode::InvalidArgument)?
            .pop()
            .ok_or(ResultCode::Empty)
    }

    /// The queue's fd (`InvalidArgument` without `FLAG_EVENT_QUEUE`).
    pub fn event_fd(&self) -> Result<libc::c_int> {
        self.queue()
            .map(|q| q.fd())
            .ok_or(ResultCode::InvalidArgument)
    }

    /// Bounds the queue and the backlog to `limit` events each (1 ..= `MAX_LIMIT`).
    pub fn set_event_limit(&mut self, limit: u32) -> Result<()> {
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ResultCode::InvalidArgument);
        }
        if limit == DEFAULT_LIMIT && self.outlets.is_none() {
            return Ok(()); // already so, and nothing to allocate
        }
        let o = self.outlets()?;
        o.limit = limit;
        if let Some(b) = o.backlog.as_mut() {
            b.set_limit(limit);
        }
        if let Some(q) = o.queue.as_mut() {
            q.set_limit(limit);
        }
        Ok(())
    }

    /// Keeps `e` for the deliverer, or counts it as dropped (see `queue`). Only while a
    /// registration is out, so the outlets exist.
    pub fn defer(&mut self, e: Event) {
        let Some(o) = self.outlets.as_deref_mut() else {
            debug_assert!(false, "events deferred by a peer without outlets");
            return;
        };
        if o.lost == 0 {
            if o.backlog.is_none() {
                o.backlog = crate::alloc::try_box(EventBuffer::new(o.limit)).ok();
            }
            if let Some(b) = o.backlog.as_mut() {
                return b.push(e);
            }
        }
        o.lost = o.lost.saturating_add(1);
    }

    /// The next deferred event, then the overflow event for any lost ones.
    #[inline(always)]
    pub fn next_deferred(&mut self) -> Option<Event> {
        let o = self.outlets.as_deref()?;
        if o.backlog.is_none() && o.lost == 0 {
            return None; // nothing was deferred (the usual case: no other thread committed)
        }
        self.next_deferred_slow()
    }

    /// `next_deferred` when something may have been deferred.
    #[cold]
    #[inline(never)]
    fn next_deferred_slow(&mut self) -> Option<Event> {
        let last_seq = self.state.snapshot().last_seq;
        let o = self.outlets.as_deref_mut()?;
        if let Some(e) = o.backlog.as_mut().and_then(|b| b.pop()) {
            return Some(e);
        }
        let lost = std::mem::take(&mut o.lost);
        // Every event committed since the first loss was lost, so the newest is the last seq.
        (lost > 0).then(|| Event {
            seq: last_seq,
            time_ns: crate::state::monotonic_ns(),
            kind: EventKind::Overflow,
            old_state: lost,
            new_state: 0,
            transport: 0,
        })
    }

    /// Appends a batch to the history and the queue, those the peer has.
    #[inline(never)]
    pub fn record(&mut self, batch: &Batch) {
        let Some(o) = self.outlets.as_deref_mut() else {
            return;
        };
        if let Some(h) = o.history.as_mut() {
            batch.iter().for_each(|e| h.push(e));
        }
        if let Some(q) = o.queue.as_mut() {
            batch.iter().for_each(|e| q.push(e));
        }
    }

    /// Drops every deferred event (nobody is left to deliver them to).
    pub fn clear_deferred(&mut self) {
        if let Some(o) = self.outlets.as_deref_mut() {
            o.backlog = None;
            o.lost = 0;
        }
    }

    /// Closes the peer (see `PeerState::close`) and wakes the queue's reader, even when close
    /// commits no event, so that it sees the closed state.
    pub fn close(&mut self) -> Batch {
        let batch = self.state.close();
        if let Some(q) = self.queue() {
            q.wake();
        }
        batch
    }
}
