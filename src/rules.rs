//! The aggregate-state rules of `docs/states.md`, with no FFI and no locking.
//!
//! A peer keeps, for each input kind, how many of its transports are in each state ([`Counts`]);
//! every rule below reads only those counters, so an aggregate costs O(1) whatever the number of
//! transports. The state enums live in [`crate::enums`] (re-exported here).

pub use crate::enums::{
    ConnectionState, DtlsTransportState, EventKind, GathererState, IceConnectionState,
    IceGatheringState, IceTransportState, Profile, TransportStates,
};

/// Defines a field-less enum and `ALL` (every variant, in declaration order) from one list, so
/// that a variant cannot be added without being in `ALL`.
macro_rules! listed_enum {
    ($(#[$m:meta])* $vis:vis enum $ty:ident { $($(#[$vm:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        $vis enum $ty { $($(#[$vm])* $variant),+ }
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            /// How many values there are.
            pub const COUNT: usize = Self::ALL.len();
        }
    };
}

listed_enum! {
    /// The three per-transport inputs, each counted separately.
    pub enum Input {
        /// RTCIceTransportState (the effective one: after agent derivation and liveness).
        Ice,
        /// RTCDtlsTransportState.
        Dtls,
        /// RTCIceGathererState.
        Gatherer,
    }
}

listed_enum! {
    /// The three aggregates of a peer, in the order a commit reports their changes.
    pub enum Aggregate {
        /// `iceConnectionState`.
        IceConnection,
        /// `connectionState`.
        Connection,
        /// `iceGatheringState`.
        IceGathering,
    }
}

impl Aggregate {
    /// The kind of the event that reports a change of this aggregate.
    pub const fn event_kind(self) -> EventKind {
        match self {
            Aggregate::IceConnection => EventKind::IceConnectionState,
            Aggregate::Connection => EventKind::ConnectionState,
            Aggregate::IceGathering => EventKind::IceGatheringState,
        }
    }

    /// The bit position of this aggregate's C number in [`Packed`].
    const fn shift(self) -> u32 {
        8 * self as u32
    }
}

impl TransportStates {
    /// One input's state as its C number.
    #[inline(always)]
    pub const fn get(&self, which: Input) -> u8 {
        match which {
            Input::Ice => self.ice as u8,
            Input::Dtls => self.dtls as u8,
            Input::Gatherer => self.gatherer as u8,
        }
    }
}

/// The three aggregates of a peer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Aggregates {
    pub ice_connection: IceConnectionState,
    pub connection: ConnectionState,
    pub ice_gathering: IceGatheringState,
}

/// The counter type; a peer holds at most `Count::MAX` (65,535) transports, which keeps a peer
/// small (see docs/performance.md).
pub type Count = u16;

/// How many of a peer's transports are in each input state, and which states are present at
/// all (bit `s` of a mask is set while some transport is in state `s`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Counts {
    ice: [Count; IceTransportState::COUNT],
    dtls: [Count; DtlsTransportState::COUNT],
    gatherer: [Count; GathererState::COUNT],
    total: Count,
    /// Per input, bit `s` set while some transport is in state `s`.
    present: [u8; Input::COUNT],
}

/// Moves one counter from state `old` to `new`, keeping the presence mask.
#[inline(always)]
fn shift_in(counts: &mut [Count], present: &mut u8, old: u8, new: u8) {
    counts[old as usize] -= 1;
    if counts[old as usize] == 0 {
        *present &= !(1 << old);
    }
    counts[new as usize] += 1;
    *present |= 1 << new;
}

impl Counts {
    /// Counts of no transports.
    pub const fn new() -> Self {
        Counts {
            ice: [0; IceTransportState::COUNT],
            dtls: [0; DtlsTransportState::COUNT],
            gatherer: [0; GathererState::COUNT],
            total: 0,
            present: [0; Input::COUNT],
        }
    }

    /// The counts of a list of transports (O(n): for tests and rebuilding, not the update path).
    pub fn of(transports: impl IntoIterator<Item = TransportStates>) -> Self {
        let mut c = Counts::new();
        for t in transports {
            c.add(t);
        }
        c
    }

    #[inline(always)]
    fn parts(&mut self, which: Input) -> (&mut [Count], &mut u8) {
        let present = &mut self.present[which as usize];
        match which {
            Input::Ice => (&mut self.ice, present),
            Input::Dtls => (&mut self.dtls, present),
            Input::Gatherer => (&mut self.gatherer, present),
        }
    }

    /// Counts one more transport in these states.
    pub fn add(&mut self, t: TransportStates) {
        for &which in Input::ALL {
            let s = t.get(which);
            let (counts, present) = self.parts(which);
            counts[s as usize] += 1;
            *present |= 1 << s;
        }
        self.total += 1;
    }

    /// Stops counting a transport that was in these states.
    pub fn remove(&mut self, t: TransportStates) {
        for &which in Input::ALL {
            let s = t.get(which);
            let (counts, present) = self.parts(which);
            counts[s as usize] -= 1;
            if counts[s as usize] == 0 {
                *present &= !(1 << s);
            }
        }
        self.total -= 1;
    }

    /// Moves one transport's input `which` from C number `old` to `new`; both must be in range
    /// for that input.
    #[inline(always)]
    pub fn shift(&mut self, which: Input, old: u8, new: u8) {
        let (counts, present) = self.parts(which);
        shift_in(counts, present, old, new);
    }

    /// Moves one transport's ICE state from `old` to `new`.
    pub fn move_ice(&mut self, old: IceTransportState, new: IceTransportState) {
        self.shift(Input::Ice, old as u8, new as u8);
    }

    /// Moves one transport's DTLS state from `old` to `new`.
    pub fn move_dtls(&mut self, old: DtlsTransportState, new: DtlsTransportState) {
        self.shift(Input::Dtls, old as u8, new as u8);
    }

    /// How many transports are counted.
    #[inline]
    pub const fn total(&self) -> Count {
        self.total
    }

    /// How many transports have this ICE state.
    #[inline]
    pub const fn ice(&self, s: IceTransportState) -> Count {
        self.ice[s as usize]
    }

    /// How many transports have this DTLS state.
    #[inline]
    pub const fn dtls(&self, s: DtlsTransportState) -> Count {
        self.dtls[s as usize]
    }

    /// How many transports have this gatherer state.
    #[inline]
    pub const fn gatherer(&self, s: GathererState) -> Count {
        self.gatherer[s as usize]
    }

    /// Counts with these ICE and DTLS states present (bit masks), as few transports as that takes:
    /// one per present state, the smaller side padded on its lowest present state. None when
    /// exactly one side is empty (no real peer has that).
    const fn with_present(ice: u8, dtls: u8) -> Option<Counts> {
        let (ni, nd) = (ice.count_ones() as Count, dtls.count_ones() as Count);
        if (ni == 0) != (nd == 0) {
            return None;
        }
        let n = if ni > nd { ni } else { nd };
        let mut c = Counts::new();
        c.total = n;
        let mut s = 0;
        while s < 8 {
            if s < IceTransportState::COUNT && ice & (1 << s) != 0 {
                c.ice[s] = 1;
            }
            if s < DtlsTransportState::COUNT && dtls & (1 << s) != 0 {
                c.dtls[s] = 1;
            }
            s += 1;
        }
        if n > 0 {
            c.ice[ice.trailing_zeros() as usize] += n - ni;
            c.dtls[dtls.trailing_zeros() as usize] += n - nd;
        }
        c.present[Input::Ice as usize] = ice;
        c.present[Input::Dtls as usize] = dtls;
        Some(c)
    }
}

use DtlsTransportState as D;
use IceTransportState as I;

/// iceConnectionState of an open peer by the W3C rules (also used by W3C_LITERAL).
const fn ice_connection_w3c(c: &Counts) -> IceConnectionState {
    let n = c.total();
    if c.ice(I::Failed) > 0 {
        IceConnectionState::Failed
    } else if c.ice(I::Disconnected) > 0 {
        IceConnectionState::Disconnected
    } else if c.ice(I::New) + c.ice(I::Closed) == n {
        IceConnectionState::New
    } else if c.ice(I::New) + c.ice(I::Checking) > 0 {
        IceConnectionState::Checking
    } else if c.ice(I::Completed) + c.ice(I::Closed) == n {
        IceConnectionState::Completed
    } else {
        IceConnectionState::Connected
    }
}

/// connectionState of an open peer by the W3C rules.
const fn connection_w3c(c: &Counts) -> ConnectionState {
    let n = c.total();
    if c.ice(I::Failed) > 0 || c.dtls(D::Failed) > 0 {
        ConnectionState::Failed
    } else if c.ice(I::Disconnected) > 0 {
        ConnectionState::Disconnected
    } else if c.ice(I::New) + c.ice(I::Closed) == n && c.dtls(D::New) + c.dtls(D::Closed) == n {
        ConnectionState::New
    } else if c.ice(I::New) + c.ice(I::Checking) > 0 || c.dtls(D::New) + c.dtls(D::Connecting) > 0 {
        ConnectionState::Connecting
    } else {
        ConnectionState::Connected
    }
}

/// connectionState of an open peer by the W3C Recommendation read literally, from the freshly
/// derived iceConnectionState `ics`.
const fn connection_w3c_literal(c: &Counts, ics: IceConnectionState) -> ConnectionState {
    let n = c.total();
    let dtls_new_or_closed = c.dtls(D::New) + c.dtls(D::Closed) == n;
    match ics {
        IceConnectionState::Closed => ConnectionState::Closed,
        IceConnectionState::Failed => ConnectionState::Failed,
        _ if c.dtls(D::Failed) > 0 => ConnectionState::Failed,
        IceConnectionState::Disconnected => ConnectionState::Disconnected,
        _ if n == 0 => ConnectionState::New,
        IceConnectionState::New if dtls_new_or_closed => ConnectionState::New,
        IceConnectionState::Connected if c.dtls(D::Connected) + c.dtls(D::Closed) == n => {
            ConnectionState::Connected
        }
        _ => ConnectionState::Connecting,
    }
}

/// iceConnectionState of an open peer by the 2016-2017 rules.
const fn ice_connection_legacy(c: &Counts) -> IceConnectionState {
    if c.ice(I::Failed) > 0 {
        IceConnectionState::Failed
    } else if c.ice(I::Disconnected) > 0 {
        IceConnectionState::Disconnected
    } else if c.ice(I::Checking) > 0 {
        IceConnectionState::Checking
    } else if c.ice(I::New) > 0 {
        IceConnectionState::New
    } else if c.ice(I::Connected) > 0 {
        IceConnectionState::Connected
    } else if c.ice(I::Completed) > 0 {
        IceConnectionState::Completed
    } else {
        IceConnectionState::New
    }
}

/// connectionState of an open peer by the 2016 table (ICE and DTLS states pooled).
const fn connection_legacy(c: &Counts) -> ConnectionState {
    if c.ice(I::Failed) + c.dtls(D::Failed) > 0 {
        ConnectionState::Failed
    } else if c.ice(I::Checking) + c.dtls(D::Connecting) > 0 {
        ConnectionState::Connecting
    } else if c.ice(I::Disconnected) > 0 {
        ConnectionState::Disconnected
    } else if c.ice(I::New) + c.dtls(D::New) > 0 {
        ConnectionState::New
    } else if c.ice(I::Connected) + c.ice(I::Completed) + c.dtls(D::Connected) > 0 {
        ConnectionState::Connected
    } else {
        ConnectionState::New
    }
}

/// iceGatheringState (the same in every profile).
const fn ice_gathering_by_rules(c: &Counts) -> IceGatheringState {
    if c.gatherer(GathererState::Gathering) > 0 {
        IceGatheringState::Gathering
    } else if c.total() > 0 && c.gatherer(GathererState::Complete) == c.total() {
        IceGatheringState::Complete
    } else {
        IceGatheringState::New
    }
}

/// iceConnectionState and connectionState of an open peer, evaluated rule by rule.
const fn open_by_rules(profile: Profile, c: &Counts) -> (IceConnectionState, ConnectionState) {
    match profile {
        Profile::W3c => (ice_connection_w3c(c), connection_w3c(c)),
        Profile::W3cLiteral => {
            let ics = ice_connection_w3c(c);
            (ics, connection_w3c_literal(c, ics))
        }
        Profile::Legacy_2016 => (ice_connection_legacy(c), connection_legacy(c)),
    }
}

/// The three aggregates evaluated rule by rule from the counters: the definition, which the
/// tables below are generated from.
pub const fn aggregate_by_rules(profile: Profile, c: &Counts, peer_closed: bool) -> Aggregates {
    let ice_gathering = ice_gathering_by_rules(c);
    let (ice_connection, connection) = if peer_closed {
        (IceConnectionState::Closed, ConnectionState::Closed)
    } else {
        open_by_rules(profile, c)
    };
    Aggregates {
        ice_connection,
        connection,
        ice_gathering,
    }
}

// Every rule of every profile asks only "is some transport in state X" or "are all transports in
// states S" (that is, is no transport in any other state): the answers depend only on which
// states are present. So the aggregates are tables indexed by the presence masks, generated at
// compile time from the rule functions above; the update path reads one entry.
const ICE_MASKS: usize = 1 << IceTransportState::COUNT;
const DTLS_MASKS: usize = 1 << DtlsTransportState::COUNT;

/// The aggregates packed as their C numbers in one word, one byte each at `Aggregate::shift`:
/// one compare tells whether anything changed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct Packed(u32);

const _: () = assert!(Aggregate::COUNT <= 4, "Packed holds one byte per aggregate");

impl Packed {
    /// The C number of one aggregate.
    #[inline]
    pub fn get(self, which: Aggregate) -> u8 {
        (self.0 >> which.shift()) as u8
    }

    /// The aggregates as enums.
    pub fn unpack(self) -> Aggregates {
        Aggregates {
            ice_connection: IceConnectionState::ALL[self.get(Aggregate::IceConnection) as usize],
            connection: ConnectionState::ALL[self.get(Aggregate::Connection) as usize],
            ice_gathering: IceGatheringState::ALL[self.get(Aggregate::IceGathering) as usize],
        }
    }

    /// The aggregates whose values differ between `self` and `other`, in commit order.
    #[inline]
    pub fn changed(self, other: Packed) -> Changed {
        Changed(self.0 ^ other.0)
    }

    /// Whether connectionState differs between `self` and `other`.
    #[inline(always)]
    pub fn connection_changed(self, other: Packed) -> bool {
        self.get(Aggregate::Connection) != other.get(Aggregate::Connection)
    }
}

/// The aggregates that changed, in commit order: the bytes of `old ^ new` that are not zero (the
/// byte order of [`Packed`] is the commit order), taken lowest first.
#[derive(Copy, Clone, Debug)]
pub struct Changed(u32);

impl Iterator for Changed {
    type Item = Aggregate;

    #[inline(always)]
    fn next(&mut self) -> Option<Aggregate> {
        if self.0 == 0 {
            return None;
        }
        let byte = self.0.trailing_zeros() / 8;
        self.0 &= !(0xFF << (8 * byte));
        Some(Aggregate::ALL[byte as usize])
    }

    #[inline(always)]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Changed {
    /// How many aggregates changed: the number of non-zero bytes.
    #[inline(always)]
    fn len(&self) -> usize {
        let x = self.0;
        // A byte's high bit set when the byte is not zero.
        let nonzero = ((x & 0x7F7F_7F7F).wrapping_add(0x7F7F_7F7F) | x) & 0x8080_8080;
        nonzero.count_ones() as usize
    }
}

const OPEN_ENTRIES: usize = ICE_MASKS * DTLS_MASKS;
const GATHERING_ENTRIES: usize = 1 << GathererState::COUNT;

/// The iceConnectionState and connectionState of an open peer, packed (in the low 16 bits, which
/// keeps the table below small).
const fn pack_open(ics: IceConnectionState, cs: ConnectionState) -> u16 {
    ((ics as u32) << Aggregate::IceConnection.shift()
        | (cs as u32) << Aggregate::Connection.shift()) as u16
}
const _: () = assert!(Aggregate::IceConnection.shift() <= 8 && Aggregate::Connection.shift() <= 8);

/// [profile][ice mask << 5 | dtls mask] -> the packed iceConnectionState and connectionState.
static OPEN_TABLE: [[u16; OPEN_ENTRIES]; Profile::COUNT] = {
    let mut t = [[0u16; OPEN_ENTRIES]; Profile::COUNT];
    let mut p = 0;
    while p < Profile::COUNT {
        let mut i = 0;
        while i < ICE_MASKS {
            let mut d = 0;
            while d < DTLS_MASKS {
                if let Some(c) = Counts::with_present(i as u8, d as u8) {
                    let (ics, cs) = open_by_rules(Profile::ALL[p], &c);
                    t[p][i * DTLS_MASKS + d] = pack_open(ics, cs);
                }
                d += 1;
            }
            i += 1;
        }
        p += 1;
    }
    t
};

/// [gatherer mask] -> the packed iceGatheringState (already in place).
static GATHERING_TABLE: [u32; GATHERING_ENTRIES] = {
    let mut t = [0u32; GATHERING_ENTRIES];
    let mut m = 0;
    while m < GATHERING_ENTRIES {
        let mut c = Counts::new();
        let mut s = 0;
        while s < GathererState::COUNT {
            if m & (1 << s) != 0 {
                c.gatherer[s] = 1;
                c.total += 1;
            }
            s += 1;
        }
        t[m] = (ice_gathering_by_rules(&c) as u32) << Aggregate::IceGathering.shift();
        m += 1;
    }
    t
};

/// The packed ICE connection and connection states of a closed peer.
const CLOSED_OPEN: u16 = pack_open(IceConnectionState::Closed, ConnectionState::Closed);

/// The three aggregates, packed, in O(1): two table reads. A closed peer's ICE connection and
/// connection states are `closed`; its gathering state still follows the gatherers.
#[inline(always)]
pub fn aggregate_packed(profile: Profile, counts: &Counts, peer_closed: bool) -> Packed {
    let present = |which: Input| counts.present[which as usize];
    let (ice, dtls, gatherer) = (
        present(Input::Ice),
        present(Input::Dtls),
        present(Input::Gatherer),
    );
    let gathering = GATHERING_TABLE[gatherer as usize & (GATHERING_ENTRIES - 1)];
    let open = if peer_closed {
        CLOSED_OPEN
    } else {
        let i = ((ice as usize) << DtlsTransportState::COUNT | dtls as usize) & (OPEN_ENTRIES - 1);
        OPEN_TABLE[profile as usize][i]
    };
    Packed(open as u32 | gathering)
}

/// The three aggregates of a peer with these transport counts (see `aggregate_packed`).
pub fn aggregate(profile: Profile, counts: &Counts, peer_closed: bool) -> Aggregates {
    aggregate_packed(profile, counts, peer_closed).unpack()
}

#[cfg(test)]
mod tests;
