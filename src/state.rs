//! The state machine of one peer: transports, counters, aggregates and event numbering, with no
//! locking and no delivery; every operation returns the events it committed as a [`Batch`].

use crate::agents::{self, AgentState};
use crate::error::{Result, ResultCode};
use crate::liveness::{Due, Liveness};
use crate::rules::ConnectionState;
use crate::rules::{
    self, Aggregates, Counts, DtlsTransportState, EventKind, GathererState, IceTransportState,
    Packed, Profile, TransportStates,
};
use crate::stats::{FailureCause, PeerStats, StatsReport, global};
use crate::transports::{self, CLOCKED, DEAD, EOC, Entry, Extra, STALE, TRACKED, TransportTable};

/// Flag: `close()` commits final "closed" events (what libwebrtc's observer and libdatachannel do).
pub(crate) const FLAG_CLOSE_EVENTS: u32 = 1;
/// Flag: every committed event is also appended to a queue read with `poll_event` and an eventfd.
pub(crate) const FLAG_EVENT_QUEUE: u32 = 2;
/// Flag: after close, add/remove/set return OK and change nothing.
pub(crate) const FLAG_IGNORE_AFTER_CLOSE: u32 = 4;
/// Flag: the peer keeps its last `HISTORY_LEN` events (see `delivery`).
pub(crate) const FLAG_HISTORY: u32 = 8;
/// Every flag bit that has a meaning.
pub(crate) const ALL_FLAGS: u32 =
    FLAG_CLOSE_EVENTS | FLAG_EVENT_QUEUE | FLAG_IGNORE_AFTER_CLOSE | FLAG_HISTORY;

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
}

const KINDS: [EventKind; 3] = [
    EventKind::IceConnectionState,
    EventKind::ConnectionState,
    EventKind::IceGatheringState,
];

impl Batch {
    /// The batch's events, in commit order.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        (0..3u32)
            .filter(|&k| self.old.get(k) != self.new.get(k))
            .enumerate()
            .map(|(i, k)| Event {
                seq: self.first_seq + i as u64,
                time_ns: self.time_ns,
                kind: KINDS[k as usize],
                old_state: self.old.get(k).into(),
                new_state: self.new.get(k).into(),
                transport: self.transport,
            })
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
    /// Liveness settings and schedule, when on.
    liveness: Option<Box<Liveness>>,
    stats: PeerStats,
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
            liveness: None,
            stats: PeerStats::new(monotonic_ns()),
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

    /// Whether the peer takes changes: `Ok(true)` open; `Ok(false)` closed with
    /// `FLAG_IGNORE_AFTER_CLOSE` (the call succeeds and changes nothing); else `Closed`.
    #[inline(always)]
    fn open(&self) -> Result<bool> {
        if !self.closed {
            Ok(true)
        } else if self.flags & FLAG_IGNORE_AFTER_CLOSE != 0 {
            Ok(false)
        } else {
            Err(ResultCode::Closed)
        }
    }

    /// Transport `id`'s entry, to change: `None` when the peer is closed and ignores changes.
    #[inline(always)]
    fn input(&mut self, id: u32) -> Result<Option<&mut Entry>> {
        if !self.open()? {
            return Ok(None);
        }
        self.table
            .entry_mut(id)
            .map(Some)
            .ok_or(ResultCode::UnknownTransport)
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
        self.reserve_check()?;
        let id = self.next_id;
        let extra = Extra {
            reported_ice: s.ice as u8,
            ..Extra::default()
        };
        self.table.insert_entry(id, s, extra)?;
        self.next_id += 1;
        let e = self.table.entry_mut(id).expect("just added");
        let (was, now) = refresh(id, e, self.liveness.as_deref_mut());
        self.counts.add(TransportStates {
            ice: IceTransportState::ALL[was as usize],
            ..s
        });
        self.counts.shift(transports::ICE, was, now);
        Ok((id, self.commit(id)))
    }

    /// Removes a transport.
    pub fn remove_transport(&mut self, id: u32) -> Result<Batch> {
        if !self.open()? {
            return Ok(Batch::default());
        }
        let s = self.table.remove(id).ok_or(ResultCode::UnknownTransport)?;
        self.counts.remove(s);
        Ok(self.commit(id))
    }

    /// Sets one transport's ICE state (it no longer follows an ICE agent).
    #[inline(always)]
    pub fn set_ice(&mut self, id: u32, v: IceTransportState) -> Result<Batch> {
        let Some(e) = self.input(id)? else {
            return Ok(Batch::default());
        };
        if e.extra.reported_ice == v as u8 && e.extra.agent == 0 && e.extra.flags & DEAD == 0 {
            return Ok(Batch::default());
        }
        self.change(id, true, |e| {
            e.extra.agent = 0;
            e.extra.reported_ice = v as u8;
        })
    }

    /// Reports the state of the ICE agent driving transport `id`; its ICE state is derived
    /// from it, its gathering and the remote's end-of-candidates (see `agents`).
    pub(crate) fn set_agent_state(&mut self, id: u32, new: AgentState) -> Result<Batch> {
        let Some(e) = self.input(id)? else {
            return Ok(Batch::default());
        };
        let x = e.extra;
        if x.agent == new.agent() as u8 && x.agent_state == new.state() {
            return Ok(Batch::default()); // the same report again: a failed liveness reading stays
        }
        self.change(id, true, |e| {
            let old = agents::agent_state(e.extra.agent.into(), e.extra.agent_state.into());
            if old.is_ok_and(|old| agents::is_restart(old, new)) {
                e.extra.flags &= !EOC;
            }
            e.extra.agent = new.agent() as u8;
            e.extra.agent_state = new.state();
            e.extra.reported_ice = derived_ice(e);
        })
    }

    /// Records that the remote signalled end-of-candidates for transport `id`.
    pub fn set_remote_end_of_candidates(&mut self, id: u32) -> Result<Batch> {
        let Some(e) = self.input(id)? else {
            return Ok(Batch::default());
        };
        if e.extra.flags & EOC != 0 {
            return Ok(Batch::default());
        }
        if e.extra.agent == 0 {
            e.extra.flags |= EOC;
            return Ok(Batch::default());
        }
        self.reserve_check()?; // before anything changes
        let e = self.table.entry_mut(id).expect("present");
        e.extra.flags |= EOC;
        self.change_derived(id)
    }

    /// Sets one transport's DTLS state.
    #[inline(always)]
    pub fn set_dtls(&mut self, id: u32, v: DtlsTransportState) -> Result<Batch> {
        self.update(id, transports::DTLS, v as u8)
    }

    /// Sets one transport's gatherer state (which an agent-driven ICE state depends on).
    #[inline(always)]
    pub fn set_gatherer(&mut self, id: u32, v: GathererState) -> Result<Batch> {
        let Some(e) = self.input(id)? else {
            return Ok(Batch::default());
        };
        let old = e.states[transports::GATHERER];
        if old == v as u8 {
            return Ok(Batch::default());
        }
        let agent = e.extra.agent != 0;
        if agent {
            self.reserve_check()?;
        }
        let e = self.table.entry_mut(id).expect("present");
        e.states[transports::GATHERER] = v as u8;
        self.counts.shift(transports::GATHERER, old, v as u8);
        if agent {
            self.change_derived(id) // room reserved: cannot fail
        } else {
            Ok(self.commit(id))
        }
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
        if self.input(id)?.is_none() {
            return Ok(Batch::default());
        }
        // Room first: nothing below can fail once something changed.
        self.reserve_check()?;
        let e = self.table.entry_mut(id).expect("present");
        let [_, old_dtls, old_gatherer] = e.states;
        let dtls = dtls.map_or(old_dtls, |v| v as u8);
        let gatherer = gatherer.map_or(old_gatherer, |v| v as u8);
        e.states[transports::DTLS] = dtls;
        e.states[transports::GATHERER] = gatherer;
        let derived = e.extra.agent != 0 && derived_ice(e) != e.extra.reported_ice;
        self.counts.shift(transports::DTLS, old_dtls, dtls);
        self.counts
            .shift(transports::GATHERER, old_gatherer, gatherer);
        match ice {
            Some(v) => self.change(id, true, |e| {
                e.extra.agent = 0;
                e.extra.reported_ice = v as u8;
            }),
            None if derived => self.change_derived(id),
            None => Ok(self.commit(id)),
        }
    }

    /// The states of one transport as reported: ICE as set or derived from its agent, before
    /// liveness.
    pub fn reported(&self, id: u32) -> Result<TransportStates> {
        let e = self.table.entry(id).ok_or(ResultCode::UnknownTransport)?;
        Ok(TransportStates {
            ice: IceTransportState::ALL[e.extra.reported_ice as usize],
            ..e.states()
        })
    }

    /// An ICE input of transport `id` changes (`edit`); when the ICE state itself was reported
    /// (`reported`, not a fact it depends on), that also ends a failed liveness reading. Its
    /// effective ICE state is recomputed and committed.
    fn change(&mut self, id: u32, reported: bool, edit: impl FnOnce(&mut Entry)) -> Result<Batch> {
        self.reserve_check()?;
        let e = self.table.entry_mut(id).expect("checked by the caller");
        edit(e);
        if reported && e.extra.flags & DEAD != 0 {
            e.extra.flags &= !(DEAD | STALE | TRACKED); // watched afresh
        }
        let (was, now) = refresh(id, e, self.liveness.as_deref_mut());
        self.counts.shift(transports::ICE, was, now);
        Ok(self.commit(id))
    }

    /// The agent-derived ICE state of transport `id` is recomputed (a fact changed).
    fn change_derived(&mut self, id: u32) -> Result<Batch> {
        self.change(id, false, |e| e.extra.reported_ice = derived_ice(e))
    }

    /// Room to schedule one liveness check, taken before anything changes.
    /// Stale checks (of transports rescheduled since) are dropped first once they outnumber the
    /// transports, so the schedule stays bounded however often states flap between ticks.
    fn reserve_check(&mut self) -> Result<()> {
        let Some(live) = self.liveness.as_deref_mut() else {
            return Ok(());
        };
        drop_stale_checks(live, &self.table);
        live.reserve(1)
    }

    /// The DTLS and gatherer update path: one table lookup, the state stored in place, two
    /// counters moved, the aggregates recomputed from the counters.
    #[inline(always)]
    fn update(&mut self, id: u32, which: usize, v: u8) -> Result<Batch> {
        if !self.open()? {
            return Ok(Batch::default());
        }
        let states = self.table.raw_mut(id).ok_or(ResultCode::UnknownTransport)?;
        let old = std::mem::replace(&mut states[which], v);
        if old == v {
            return Ok(Batch::default());
        }
        self.counts.shift(which, old, v);
        Ok(self.commit(id))
    }

    /// Turns liveness on with these settings (`disconnected_after` = 0 and `failed_after` = 0:
    /// off). Every transport is watched afresh; one commit.
    pub fn set_liveness(&mut self, disconnected_after: u64, failed_after: u64) -> Result<Batch> {
        let live = match (disconnected_after, failed_after) {
            (0, 0) => None,
            _ => Some(Liveness::new(disconnected_after, failed_after)?), // checked before all else
        };
        if !self.open()? {
            return Ok(Batch::default());
        }
        let mut live = match live {
            Some(mut l) => {
                l.reserve(self.table.len() as usize)?; // one check per transport at most
                Some(crate::alloc::try_box(l)?)
            }
            None => None,
        };
        let counts = &mut self.counts;
        let mut first = 0;
        self.table.update_all(|e| {
            let id = e.id();
            e.extra.flags &= !(TRACKED | STALE | DEAD);
            let (was, now) = refresh(id, e, live.as_deref_mut());
            if was != now && first == 0 {
                first = id;
            }
            counts.shift(transports::ICE, was, now);
        });
        self.liveness = live;
        Ok(self.commit(first))
    }

    /// Records that something arrived on transport `id` at `now` (the caller's clock): a
    /// transport that liveness reads disconnected reads its reported state again.
    #[inline(always)]
    pub fn note_alive(&mut self, id: u32, now: u64) -> Result<Batch> {
        let Some(e) = self.input(id)? else {
            return Ok(Batch::default());
        };
        let x = &mut e.extra;
        if x.flags & TRACKED == 0 {
            return Ok(Batch::default());
        }
        let note = |x: &mut Extra| {
            if x.flags & CLOCKED == 0 || now > x.alive_ns {
                x.alive_ns = now;
                x.flags |= CLOCKED;
            }
        };
        if x.flags & (STALE | DEAD) != STALE {
            note(x); // the per-packet path: one store
            return Ok(Batch::default());
        }
        // Back from disconnected: room for its next check first, then the change.
        self.reserve_check()?;
        let e = self.table.entry_mut(id).expect("present");
        let x = &mut e.extra;
        note(x);
        let live = self
            .liveness
            .as_deref_mut()
            .expect("tracked only with liveness");
        x.flags &= !STALE;
        x.check = x.check.wrapping_add(1);
        live.schedule(Due {
            deadline: x.alive_ns.saturating_add(live.disconnected_after),
            id,
            check: x.check,
        });
        let (was, now) = (IceTransportState::Disconnected as u8, x.reported_ice);
        e.states[transports::ICE] = now;
        self.counts.shift(transports::ICE, was, now);
        Ok(self.commit(id))
    }

    /// Applies the liveness deadlines that passed by `now`: one commit for all of them (the
    /// events carry the first transport that changed). Returns the next deadline, `u64::MAX`
    /// when none.
    pub fn tick(&mut self, now: u64) -> (u64, Batch) {
        let Some(live) = self.liveness.as_deref_mut() else {
            return (u64::MAX, Batch::default());
        };
        // The first transport that changed (the events carry it), and the first that failed
        // (a failure is blamed on it).
        let (mut first, mut blamed) = (0, 0);
        while let Some(due) = live.pop_due(now) {
            let Some(e) = self.table.entry_mut(due.id) else {
                continue; // removed
            };
            let x = &mut e.extra;
            if x.check != due.check || x.flags & TRACKED == 0 {
                continue; // stale
            }
            if x.flags & CLOCKED == 0 {
                x.alive_ns = now; // the alive clock starts
                x.flags |= CLOCKED;
            } else if x.flags & STALE == 0 {
                if now >= x.alive_ns.saturating_add(live.disconnected_after) {
                    x.flags |= STALE;
                }
            } else if live.failed_after != 0 && now >= x.alive_ns.saturating_add(live.failed_after)
            {
                x.flags |= DEAD;
            }
            if let Some(deadline) = next_check(x, live) {
                // The item just taken made room for this one.
                live.schedule(Due {
                    deadline,
                    id: due.id,
                    check: x.check,
                });
            }
            let (was, eff) = (e.states[transports::ICE], effective_ice(&e.extra));
            if was != eff {
                e.states[transports::ICE] = eff;
                self.counts.shift(transports::ICE, was, eff);
                if first == 0 {
                    first = due.id;
                }
                if eff == IceTransportState::Failed as u8 && blamed == 0 {
                    blamed = due.id;
                }
            }
        }
        drop_stale_checks(live, &self.table);
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
        if self.closed {
            return Batch::default();
        }
        self.closed = true;
        self.liveness = None;
        let counts = &mut self.counts;
        self.table.update_all(|e| {
            let [ice, dtls, _] = e.states;
            counts.shift(transports::ICE, ice, IceTransportState::Closed as u8);
            counts.shift(transports::DTLS, dtls, DtlsTransportState::Closed as u8);
            e.states[transports::ICE] = IceTransportState::Closed as u8;
            e.states[transports::DTLS] = DtlsTransportState::Closed as u8;
            e.extra.reported_ice = IceTransportState::Closed as u8;
            e.extra.flags &= !(TRACKED | STALE | DEAD);
        });
        if self.flags & FLAG_CLOSE_EVENTS != 0 {
            self.commit(0)
        } else {
            let (old, new) = (
                self.agg,
                rules::aggregate_packed(self.profile, &self.counts, true),
            );
            self.agg = new;
            self.account(old, new, monotonic_ns());
            Batch::default()
        }
    }

    /// Recomputes the aggregates (O(1)) and commits one event per aggregate that changed, in the
    /// order ICE connection, connection, gathering, all numbered after the new values are stored.
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
        self.stats
            .note_failing(ice_failed || dtls_failed, cause, blamed);
        let old = self.agg;
        let new = rules::aggregate_packed(self.profile, &self.counts, self.closed);
        if new == old {
            return Batch::default();
        }
        self.agg = new;
        let time_ns = monotonic_ns();
        self.account(old, new, time_ns);
        let batch = Batch {
            time_ns,
            first_seq: self.seq + 1,
            transport,
            old,
            new,
        };
        let n = (0..3).filter(|&k| old.get(k) != new.get(k)).count() as u64;
        self.seq += n;
        global::events_committed(n);
        batch
    }

    /// Keeps the numbers of a change of the aggregates from `old` to `new` at `now`.
    fn account(&mut self, old: Packed, new: Packed, now: u64) {
        let (was, is) = (old.unpack().connection, new.unpack().connection);
        if was != is {
            self.stats.connection_changed(was, is, now);
        }
    }

    /// The peer's numbers, times up to `now`.
    pub fn stats(&self, now: u64) -> StatsReport {
        self.stats.report(now, self.aggregates().connection)
    }

    /// The peer's connectionState (for the process-wide gauges when it is freed).
    pub fn connection(&self) -> ConnectionState {
        self.agg.unpack().connection
    }
}

/// The ICE state an agent-driven transport's agent state and facts give.
fn derived_ice(e: &Entry) -> u8 {
    let x = &e.extra;
    match agents::agent_state(x.agent.into(), x.agent_state.into()) {
        Ok(a) => {
            let complete = e.states[transports::GATHERER] == GathererState::Complete as u8;
            agents::derive(a, complete, x.flags & EOC != 0) as u8
        }
        Err(_) => x.reported_ice,
    }
}

/// The effective ICE state: the reported one, unless liveness reads it disconnected or failed.
fn effective_ice(x: &Extra) -> u8 {
    if x.flags & DEAD != 0 {
        IceTransportState::Failed as u8
    } else if x.flags & STALE != 0 {
        IceTransportState::Disconnected as u8
    } else {
        x.reported_ice
    }
}

/// Once stale checks (of transports rescheduled or no longer watched since) outnumber the
/// transports, drops them, so the schedule stays bounded however often states flap between ticks.
fn drop_stale_checks(live: &mut Liveness, table: &TransportTable) {
    if live.scheduled() > 2 * table.len() as usize + 16 {
        live.retain(|d| {
            table
                .entry(d.id)
                .is_some_and(|e| e.extra.check == d.check && e.extra.flags & TRACKED != 0)
        });
    }
}

/// When a watched transport must be looked at next: at once while its alive clock has not
/// started, else when it would go disconnected, then failed; `None` once failed.
fn next_check(x: &Extra, live: &Liveness) -> Option<u64> {
    if x.flags & TRACKED == 0 || x.flags & DEAD != 0 {
        None
    } else if x.flags & CLOCKED == 0 {
        Some(0)
    } else if x.flags & STALE == 0 {
        Some(x.alive_ns.saturating_add(live.disconnected_after))
    } else if live.failed_after != 0 {
        Some(x.alive_ns.saturating_add(live.failed_after))
    } else {
        None
    }
}

/// Starts or stops watching transport `id` after its reported ICE state or the liveness
/// settings changed, and stores its effective ICE state. Returns (old, new) effective state.
/// A check is scheduled only when watching starts (room was reserved by the caller).
fn refresh(id: u32, e: &mut Entry, live: Option<&mut Liveness>) -> (u8, u8) {
    let x = &mut e.extra;
    let connected = x.reported_ice == IceTransportState::Connected as u8
        || x.reported_ice == IceTransportState::Completed as u8;
    match live {
        Some(live) if connected => {
            if x.flags & TRACKED == 0 {
                x.flags = (x.flags & !(STALE | DEAD | CLOCKED)) | TRACKED;
                x.check = x.check.wrapping_add(1);
                live.schedule(Due {
                    deadline: 0,
                    id,
                    check: x.check,
                });
            }
        }
        _ => x.flags &= !(TRACKED | STALE | DEAD | CLOCKED),
    }
    let was = e.states[transports::ICE];
    e.states[transports::ICE] = effective_ice(&e.extra);
    (was, e.states[transports::ICE])
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
