//! The state machine of one peer: transports, counters, aggregates and event numbering, with no
//! locking and no delivery; every operation returns the events it committed as a [`Batch`].

use crate::agents::{AgentState, Facts};
pub use crate::batch::{Batch, Event};
use crate::error::{Result, ResultCode};
use crate::ice_source::Source;
use crate::liveness::{Liveness, Thresholds};
use crate::rules::ConnectionState;
use crate::rules::{
    self, Aggregates, Counts, DtlsTransportState, GathererState, IceTransportState, Input, Packed,
    Profile, TransportStates,
};
use crate::stats::{Causes, FailureCause, PeerStats, StatsReport, global};
use crate::transports::TransportTable;
use crate::update::{Update, reported};

// The peer flags, defined with the C ABI's constants.
use crate::constants::ALL_FLAGS;
pub(crate) use crate::constants::{
    PCSTATE_FLAG_CLOSE_EVENTS as FLAG_CLOSE_EVENTS, PCSTATE_FLAG_EVENT_QUEUE as FLAG_EVENT_QUEUE,
    PCSTATE_FLAG_HISTORY as FLAG_HISTORY,
    PCSTATE_FLAG_IGNORE_AFTER_CLOSE as FLAG_IGNORE_AFTER_CLOSE,
};
/// `PeerState::flags`: the peer was closed (not a flag from C).
const CLOSED: u8 = 0x80;
const _: () = assert!(ALL_FLAGS < CLOSED as u32, "the flags fit below CLOSED");

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
    /// `Profile` as its C number (a byte, not the enum's four).
    profile: u8,
    /// The `FLAG_*` bits, and `CLOSED`.
    flags: u8,
    agg: Packed,
    next_id: u32,
    seq: u64,
    counts: Counts,
    table: TransportTable,
    /// Liveness settings, records and schedule, when on.
    liveness: Option<Box<Liveness>>,
    stats: PeerStats,
    /// The failure causes the stats report (beside them: see `Causes`).
    causes: Causes,
}

impl PeerState {
    /// A new open peer with no transports.
    pub fn new(profile: Profile, flags: u32) -> Self {
        debug_assert!(flags & !ALL_FLAGS == 0);
        PeerState {
            profile: profile as u8,
            flags: (flags & ALL_FLAGS) as u8,
            agg: Packed::default(),
            next_id: 1,
            seq: 0,
            counts: Counts::new(),
            table: TransportTable::default(),
            liveness: None,
            stats: PeerStats::new(monotonic_ns()),
            causes: Causes::default(),
        }
    }

    pub fn profile(&self) -> Profile {
        Profile::ALL[usize::from(self.profile)]
    }

    pub fn flags(&self) -> u32 {
        u32::from(self.flags) & ALL_FLAGS
    }

    pub fn is_closed(&self) -> bool {
        self.flags & CLOSED != 0
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

    /// Whether the peer takes changes: `Ok(true)` open; `Ok(false)` closed with
    /// `FLAG_IGNORE_AFTER_CLOSE` (the call succeeds and changes nothing); else `Closed`.
    #[inline(always)]
    fn open(&self) -> Result<bool> {
        if !self.is_closed() {
            Ok(true)
        } else if self.flags() & FLAG_IGNORE_AFTER_CLOSE != 0 {
            Ok(false)
        } else {
            Err(ResultCode::Closed)
        }
    }

    /// Transport `id`, to change: `None` when the peer is closed and ignores changes.
    #[inline(always)]
    fn lookup(&mut self, id: u32) -> Result<Option<Update<'_>>> {
        if !self.open()? {
            return Ok(None);
        }
        let PeerState {
            table,
            counts,
            liveness,
            ..
        } = self;
        let e = table.entry_mut(id).ok_or(ResultCode::UnknownTransport)?;
        Ok(Some(Update {
            e,
            counts,
            live: liveness.as_deref_mut(),
        }))
    }

    /// Adds a transport in states new/new/new; returns its id (0 when ignored after close).
    pub fn add_transport(&mut self) -> Result<(u32, Batch)> {
        self.add_with_states(TransportStates::default())
    }

    /// Adds a transport already in the given states, with one commit; returns its id (0 when
    /// ignored after close).
    pub fn add_with_states(&mut self, s: TransportStates) -> Result<(u32, Batch)> {
        if !self.open()? {
            return Ok((0, Batch::default()));
        }
        if self.next_id == u32::MAX || self.table.len() >= u32::from(rules::Count::MAX) {
            return Err(ResultCode::Limit);
        }
        if let Some(l) = self.liveness.as_deref_mut() {
            l.reserve(self.table.len() as usize + 1)?; // before anything changes
        }
        let id = self.next_id;
        let source = Source::direct(s.ice, Facts::NONE);
        self.table.insert_entry(id, s, source)?;
        self.next_id += 1;
        self.counts.add(s);
        let PeerState {
            table,
            counts,
            liveness,
            ..
        } = self;
        let e = table.entry_mut(id).expect("just added");
        let mut live = liveness.as_deref_mut();
        if let Some(l) = live.as_deref_mut() {
            e.live = l.attach(id);
        }
        Update { e, counts, live }.settle(false);
        Ok((id, self.commit(id)))
    }

    /// Removes a transport.
    pub fn remove_transport(&mut self, id: u32) -> Result<Batch> {
        if !self.open()? {
            return Ok(Batch::default());
        }
        if let (Some(l), Some(e)) = (self.liveness.as_deref_mut(), self.table.entry(id)) {
            l.detach(e.live);
        }
        let s = self.table.remove(id).ok_or(ResultCode::UnknownTransport)?;
        self.counts.remove(s);
        Ok(self.commit(id))
    }

    /// Sets one transport's ICE state (it no longer follows an ICE agent).
    #[inline(always)]
    pub fn set_ice(&mut self, id: u32, v: IceTransportState) -> Result<Batch> {
        let Some(mut t) = self.lookup(id)? else {
            return Ok(Batch::default());
        };
        if t.e.source == Source::direct(v, t.e.source.facts().without(Facts::RESTARTING))
            && t.e.get(Input::Ice) == v as u8
        {
            // Set directly to the same state, nothing held, and liveness reads it as it is (a
            // failed liveness reading ends when the state is set again).
            return Ok(Batch::default());
        }
        t.set_directly(v);
        Ok(self.commit(id))
    }

    /// Reports the state of the ICE agent driving transport `id`; its ICE state is derived
    /// from it, its gathering and the remote's end-of-candidates (see `agents`).
    pub(crate) fn set_agent_state(&mut self, id: u32, new: AgentState) -> Result<Batch> {
        let Some(mut t) = self.lookup(id)? else {
            return Ok(Batch::default());
        };
        if t.e.source.agent_state() == Some(new) {
            return Ok(Batch::default()); // the same report again: a failed liveness reading stays
        }
        t.set_agent(new);
        Ok(self.commit(id))
    }

    /// Records that the remote signalled end-of-candidates for transport `id`.
    pub fn set_remote_end_of_candidates(&mut self, id: u32) -> Result<Batch> {
        self.add_fact(id, Facts::REMOTE_END_OF_CANDIDATES)
    }

    /// Records that the application added a remote candidate to transport `id`'s agent.
    pub fn note_remote_candidate(&mut self, id: u32) -> Result<Batch> {
        self.add_fact(id, Facts::REMOTE_CANDIDATE)
    }

    /// Records a fact of transport `id`'s ICE session (kept until the session ends); an
    /// agent-driven ICE state is derived again.
    fn add_fact(&mut self, id: u32, f: Facts) -> Result<Batch> {
        let Some(mut t) = self.lookup(id)? else {
            return Ok(Batch::default());
        };
        if !t.add_fact(f) || t.e.source.agent_state().is_none() {
            return Ok(Batch::default());
        }
        t.settle(false);
        Ok(self.commit(id))
    }

    /// An ICE restart began on transport `id` (what `restartIce()`, or an ICE-restart offer or
    /// answer, means): the session's facts end, and a transport that reads connected or
    /// completed keeps reading connected while its agent gathers and checks again, until the
    /// agent (or a state set directly) reports connected, completed, disconnected or failed.
    pub fn restart_ice(&mut self, id: u32) -> Result<Batch> {
        let Some(mut t) = self.lookup(id)? else {
            return Ok(Batch::default());
        };
        t.restart(true);
        t.settle(false);
        Ok(self.commit(id))
    }

    /// Sets one transport's DTLS state.
    #[inline(always)]
    pub fn set_dtls(&mut self, id: u32, v: DtlsTransportState) -> Result<Batch> {
        let Some(mut t) = self.lookup(id)? else {
            return Ok(Batch::default());
        };
        if !t.store(Input::Dtls, v as u8) {
            return Ok(Batch::default());
        }
        Ok(self.commit(id))
    }

    /// Sets one transport's gatherer state (which an agent-driven ICE state depends on).
    #[inline(always)]
    pub fn set_gatherer(&mut self, id: u32, v: GathererState) -> Result<Batch> {
        let Some(mut t) = self.lookup(id)? else {
            return Ok(Batch::default());
        };
        if !t.store(Input::Gatherer, v as u8) {
            return Ok(Batch::default());
        }
        if t.e.source.agent_state().is_some() {
            t.settle(false);
        }
        Ok(self.commit(id))
    }

    /// Sets any of a transport's three states at once (`None` keeps one; ICE directly, as
    /// `set_ice`): one commit, events only for the net change. A gatherer change re-derives an
    /// agent-driven ICE state (when ICE is kept) in the same commit.
    pub fn set_states(
        &mut self,
        id: u32,
        ice: Option<IceTransportState>,
        dtls: Option<DtlsTransportState>,
        gatherer: Option<GathererState>,
    ) -> Result<Batch> {
        let Some(mut t) = self.lookup(id)? else {
            return Ok(Batch::default());
        };
        if let Some(v) = dtls {
            t.store(Input::Dtls, v as u8);
        }
        if let Some(v) = gatherer {
            t.store(Input::Gatherer, v as u8);
        }
        match ice {
            Some(v) => t.set_directly(v),
            None if t.e.source.agent_state().is_some() => t.settle(false),
            None => {}
        }
        Ok(self.commit(id))
    }

    /// The states of one transport as reported: ICE as set or derived from its agent, before
    /// liveness.
    pub fn reported(&self, id: u32) -> Result<TransportStates> {
        let e = self.table.entry(id).ok_or(ResultCode::UnknownTransport)?;
        Ok(TransportStates {
            ice: reported(e),
            ..e.states()
        })
    }

    /// Turns liveness on with these settings (`disconnected_after` = 0 and `failed_after` = 0:
    /// off). Every transport is watched afresh; one commit.
    pub fn set_liveness(&mut self, disconnected_after: u64, failed_after: u64) -> Result<Batch> {
        let thresholds = match (disconnected_after, failed_after) {
            (0, 0) => None,
            _ => Some(Thresholds::new(disconnected_after, failed_after)?), // checked before all else
        };
        if !self.open()? {
            return Ok(Batch::default());
        }
        let mut live = match thresholds {
            Some(t) => {
                let mut l = Liveness::new(t);
                l.reserve(self.table.len() as usize)?;
                Some(crate::alloc::try_box(l)?)
            }
            None => None,
        };
        let counts = &mut self.counts;
        let mut first = 0;
        self.table.update_all(|e| {
            let id = e.id();
            let mut live = live.as_deref_mut();
            e.live = live.as_deref_mut().map_or(0, |l| l.attach(id));
            let was = e.get(Input::Ice);
            Update { e, counts, live }.settle(false);
            if was != e.get(Input::Ice) && first == 0 {
                first = id;
            }
        });
        self.liveness = live;
        Ok(self.commit(first))
    }

    /// Records that something arrived on transport `id` at `now` (the caller's clock): a
    /// transport that liveness reads disconnected reads its reported state again.
    #[inline(always)]
    pub fn note_alive(&mut self, id: u32, now: u64) -> Result<Batch> {
        let Some(mut t) = self.lookup(id)? else {
            return Ok(Batch::default());
        };
        let Some(l) = t.live.as_deref_mut() else {
            return Ok(Batch::default());
        };
        if !l.note(t.e.live, now) {
            return Ok(Batch::default()); // the per-packet path
        }
        Ok(self.back_alive(id))
    }

    /// Transport `id` (present), read disconnected by liveness, was noted alive again: it reads
    /// its reported state. Out of line: the per-packet path stays short.
    #[cold]
    #[inline(never)]
    fn back_alive(&mut self, id: u32) -> Batch {
        let PeerState { table, counts, .. } = self;
        let e = table.entry_mut(id).expect("noted alive");
        let mut t = Update {
            e,
            counts,
            live: None,
        };
        let reported = t.reported();
        t.store_ice(reported);
        self.commit(id)
    }

    /// Applies the liveness deadlines that passed by `now`: one commit for all of them (the
    /// events carry the first transport that changed). Returns the next deadline, `u64::MAX`
    /// when none.
    pub fn tick(&mut self, now: u64) -> (u64, Batch) {
        let PeerState {
            table,
            counts,
            liveness,
            ..
        } = self;
        let Some(live) = liveness.as_deref_mut() else {
            return (u64::MAX, Batch::default());
        };
        // The first transport that changed (the events carry it), and the first that failed
        // (a failure is blamed on it).
        let (mut first, mut blamed) = (0, 0);
        live.tick(now, |id, phase| {
            let e = table
                .entry_mut(id)
                .expect("records are freed with their transports");
            let effective = phase.effective(reported(e));
            if (Update {
                e,
                counts,
                live: None,
            })
            .store_ice(effective)
            {
                if first == 0 {
                    first = id;
                }
                if effective == IceTransportState::Failed && blamed == 0 {
                    blamed = id;
                }
            }
        });
        let next = live.next_deadline();
        let batch = if first != 0 {
            self.commit_for(
                first,
                FailureCause::Liveness,
                if blamed != 0 { blamed } else { first },
            )
        } else {
            Batch::default()
        };
        (next, batch)
    }

    /// Closes the peer: ICE and DTLS of every transport become closed, the ICE connection and
    /// connection states become closed, gathering stays. Events only with `FLAG_CLOSE_EVENTS`.
    /// Closing a closed peer does nothing.
    pub fn close(&mut self) -> Batch {
        if self.is_closed() {
            return Batch::default();
        }
        self.flags |= CLOSED;
        self.liveness = None;
        let counts = &mut self.counts;
        self.table.update_all(|e| {
            e.live = 0;
            e.source = Source::direct(IceTransportState::Closed, Facts::NONE);
            let mut t = Update {
                e,
                counts,
                live: None,
            };
            t.store_ice(IceTransportState::Closed);
            t.store(Input::Dtls, DtlsTransportState::Closed as u8);
        });
        if self.flags() & FLAG_CLOSE_EVENTS != 0 {
            self.commit(0)
        } else {
            let (old, new) = (
                self.agg,
                rules::aggregate_packed(self.profile(), &self.counts, true),
            );
            self.agg = new;
            self.account(old, new, monotonic_ns());
            Batch::default()
        }
    }

    /// Recomputes the aggregates (O(1)) and commits one event per aggregate that changed, in the
    /// order of [`rules::Aggregate`], all numbered after the new values are stored.
    #[inline(always)]
    fn commit(&mut self, transport: u32) -> Batch {
        self.commit_for(transport, FailureCause::Ice, transport)
    }

    /// `commit`, where an ICE failure is blamed on `ice_cause` (ICE, or liveness for a tick) of
    /// transport `blamed`.
    #[inline(always)]
    fn commit_for(&mut self, transport: u32, ice_cause: FailureCause, blamed: u32) -> Batch {
        let ice_failed = self.counts.ice(IceTransportState::Failed) > 0;
        let dtls_failed = self.counts.dtls(DtlsTransportState::Failed) > 0;
        let cause = if ice_failed {
            ice_cause
        } else {
            FailureCause::Dtls
        };
        let failing = ice_failed || dtls_failed;
        (self.stats).note_failing(&mut self.causes, failing, cause, blamed);
        let old = self.agg;
        let new = rules::aggregate_packed(self.profile(), &self.counts, self.is_closed());
        if new == old {
            return Batch::default();
        }
        self.agg = new;
        let time_ns = monotonic_ns();
        self.account(old, new, time_ns);
        let batch = Batch::new(time_ns, self.seq + 1, transport, old, new);
        let n = old.changed(new).len() as u64;
        self.seq += n;
        global::events_committed(n);
        batch
    }

    /// Keeps the numbers of a change of the aggregates from `old` to `new` at `now`.
    #[inline(always)]
    fn account(&mut self, old: Packed, new: Packed, now: u64) {
        if old.connection_changed(new) {
            self.connection_changed(old, new, now);
        }
    }

    /// `account` when connectionState changed (out of line: most commits leave it).
    #[inline(never)]
    fn connection_changed(&mut self, old: Packed, new: Packed, now: u64) {
        let (was, is) = (old.unpack().connection, new.unpack().connection);
        (self.stats).connection_changed(&mut self.causes, was, is, now);
    }

    /// The peer's numbers, times up to `now`.
    pub fn stats(&self, now: u64) -> StatsReport {
        (self.stats).report(self.causes, now, self.aggregates().connection)
    }

    /// The peer's connectionState (for the process-wide gauges when it is freed).
    pub fn connection(&self) -> ConnectionState {
        self.agg.unpack().connection
    }
}

#[cfg(test)]
mod tests;
