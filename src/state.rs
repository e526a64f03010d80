//! The state machine of one peer: transports, counters, aggregates and event numbering, with no
//! locking and no delivery; every operation returns the events it committed as a [`Batch`].

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
    pub(crate) fn pop_front(&mut self) -> Option<Event> {
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
        let s = TransportStates::default();
        self.table.insert(id, s)?;
        self.next_id += 1;
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
