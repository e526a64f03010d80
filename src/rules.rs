//! The aggregate-state rules of `shared/spec/states.md`, with no FFI and no locking.
//!
//! A peer keeps, for each input kind, how many of its transports are in each state ([`Counts`]);
//! every rule below reads only those counters, so an aggregate costs O(1) whatever the number of
//! transports. The enums are `#[repr(u32)]` with the C numbering; cbindgen exports them (renamed
//! `pcstate_*`) as the header's constants. Values arriving from C are validated with `from_u32`.

/// Implements `ALL`, `COUNT`, `from_u32` and `name` for a state enum whose values are 0, 1, 2, ...
/// in declaration order.
macro_rules! state_enum_impl {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in numeric order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            /// How many values the enum has.
            pub const COUNT: usize = Self::ALL.len();
            const NAMES: &'static [&'static str] = &[$(concat!($name, "\0")),+];

            /// The value with this C number, or `None` when it is out of range.
            pub fn from_u32(v: u32) -> Option<Self> {
                Self::ALL.get(v as usize).copied()
            }

            /// The value's name as the W3C spells it (`"new"`, `"checking"`, ...).
            pub fn name(self) -> &'static str {
                let s = Self::NAMES[self as usize];
                &s[..s.len() - 1]
            }

            /// The name as a NUL-terminated static string.
            pub fn name_with_nul(self) -> &'static str {
                Self::NAMES[self as usize]
            }

            /// The name of the value with this C number, or `None` when it is out of range.
            pub fn name_of(v: u32) -> Option<&'static str> {
                Self::from_u32(v).map(Self::name)
            }
        }
        // Values must be 0..COUNT in declaration order for `from_u32` and `name` to be right.
        const _: () = {
            let all = $ty::ALL;
            let mut i = 0;
            while i < all.len() {
                assert!(all[i] as usize == i);
                i += 1;
            }
        };
    };
}

/// Which set of rules a peer follows. Chosen when the peer is created.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[allow(non_camel_case_types)]
pub enum Profile {
    /// The W3C rules as intended (webrtc-pc PR #2687); what libwebrtc computes. The default.
    #[default]
    W3c = 0,
    /// The W3C Recommendation of March 2025 read literally: connectionState from the derived
    /// iceConnectionState.
    W3cLiteral = 1,
    /// The 2016 draft's table (still shown by MDN): ICE and DTLS states pooled.
    Legacy_2016 = 2,
}
state_enum_impl!(Profile { W3c => "w3c", W3cLiteral => "w3c-literal", Legacy_2016 => "legacy-2016" });

/// RTCIceTransportState: one transport's ICE state, as reported by the application.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum IceTransportState {
    #[default]
    New = 0,
    Checking = 1,
    Connected = 2,
    Completed = 3,
    Disconnected = 4,
    Failed = 5,
    Closed = 6,
}
state_enum_impl!(IceTransportState {
    New => "new", Checking => "checking", Connected => "connected", Completed => "completed",
    Disconnected => "disconnected", Failed => "failed", Closed => "closed",
});

/// RTCDtlsTransportState: one transport's DTLS state, as reported by the application.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum DtlsTransportState {
    #[default]
    New = 0,
    Connecting = 1,
    Connected = 2,
    Closed = 3,
    Failed = 4,
}
state_enum_impl!(DtlsTransportState {
    New => "new", Connecting => "connecting", Connected => "connected", Closed => "closed",
    Failed => "failed",
});

/// RTCIceGathererState: one transport's candidate gathering state, as reported by the application.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum GathererState {
    #[default]
    New = 0,
    Gathering = 1,
    Complete = 2,
}
state_enum_impl!(GathererState { New => "new", Gathering => "gathering", Complete => "complete" });

/// RTCPeerConnectionState: the peer's `connectionState`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum ConnectionState {
    #[default]
    New = 0,
    Connecting = 1,
    Connected = 2,
    Disconnected = 3,
    Failed = 4,
    Closed = 5,
}
state_enum_impl!(ConnectionState {
    New => "new", Connecting => "connecting", Connected => "connected",
    Disconnected => "disconnected", Failed => "failed", Closed => "closed",
});

/// RTCIceConnectionState: the peer's `iceConnectionState`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum IceConnectionState {
    #[default]
    New = 0,
    Checking = 1,
    Connected = 2,
    Completed = 3,
    Disconnected = 4,
    Failed = 5,
    Closed = 6,
}
state_enum_impl!(IceConnectionState {
    New => "new", Checking => "checking", Connected => "connected", Completed => "completed",
    Disconnected => "disconnected", Failed => "failed", Closed => "closed",
});

/// RTCIceGatheringState: the peer's `iceGatheringState`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum IceGatheringState {
    #[default]
    New = 0,
    Gathering = 1,
    Complete = 2,
}
state_enum_impl!(IceGatheringState { New => "new", Gathering => "gathering", Complete => "complete" });

/// Which aggregate an event reports a change of.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `iceconnectionstatechange`: old and new are `pcstate_ice_connection_state` values.
    IceConnectionState = 1,
    /// `connectionstatechange`: old and new are `pcstate_connection_state` values.
    ConnectionState = 2,
    /// `icegatheringstatechange`: old and new are `pcstate_ice_gathering_state` values.
    IceGatheringState = 3,
}

impl EventKind {
    /// The DOM event's name, e.g. `"connectionstatechange"`.
    pub fn dom_name(self) -> &'static str {
        match self {
            EventKind::IceConnectionState => "iceconnectionstatechange",
            EventKind::ConnectionState => "connectionstatechange",
            EventKind::IceGatheringState => "icegatheringstatechange",
        }
    }
}

/// One transport's three input states.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct TransportStates {
    pub ice: IceTransportState,
    pub dtls: DtlsTransportState,
    pub gatherer: GathererState,
}

/// The three aggregates of a peer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Aggregates {
    pub ice_connection: IceConnectionState,
    pub connection: ConnectionState,
    pub ice_gathering: IceGatheringState,
}

/// The counter type; a peer holds at most `Count::MAX` (65,535) transports, which keeps a peer
/// small (see the performance section of the README).
pub type Count = u16;

/// How many of a peer's transports are in each input state.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Counts {
    ice: [Count; IceTransportState::COUNT],
    dtls: [Count; DtlsTransportState::COUNT],
    gatherer: [Count; GathererState::COUNT],
    total: Count,
}

impl Counts {
    /// Counts of no transports.
    pub const fn new() -> Self {
        Counts {
            ice: [0; IceTransportState::COUNT],
            dtls: [0; DtlsTransportState::COUNT],
            gatherer: [0; GathererState::COUNT],
            total: 0,
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

    /// Counts one more transport in these states.
    #[inline]
    pub fn add(&mut self, t: TransportStates) {
        self.ice[t.ice as usize] += 1;
        self.dtls[t.dtls as usize] += 1;
        self.gatherer[t.gatherer as usize] += 1;
        self.total += 1;
    }

    /// Stops counting a transport that was in these states.
    #[inline]
    pub fn remove(&mut self, t: TransportStates) {
        self.ice[t.ice as usize] -= 1;
        self.dtls[t.dtls as usize] -= 1;
        self.gatherer[t.gatherer as usize] -= 1;
        self.total -= 1;
    }

    /// Moves one transport's ICE state from `old` to `new`.
    #[inline]
    pub fn move_ice(&mut self, old: IceTransportState, new: IceTransportState) {
        self.ice[old as usize] -= 1;
        self.ice[new as usize] += 1;
    }

    /// Moves one transport's DTLS state from `old` to `new`.
    #[inline]
    pub fn move_dtls(&mut self, old: DtlsTransportState, new: DtlsTransportState) {
        self.dtls[old as usize] -= 1;
        self.dtls[new as usize] += 1;
    }

    /// Moves one transport's gatherer state from `old` to `new`.
    #[inline]
    pub fn move_gatherer(&mut self, old: GathererState, new: GathererState) {
        self.gatherer[old as usize] -= 1;
        self.gatherer[new as usize] += 1;
    }

    /// How many transports are counted.
    #[inline]
    pub fn total(&self) -> Count {
        self.total
    }

    /// How many transports have this ICE state.
    #[inline]
    pub fn ice(&self, s: IceTransportState) -> Count {
        self.ice[s as usize]
    }

    /// How many transports have this DTLS state.
    #[inline]
    pub fn dtls(&self, s: DtlsTransportState) -> Count {
        self.dtls[s as usize]
    }

    /// How many transports have this gatherer state.
    #[inline]
    pub fn gatherer(&self, s: GathererState) -> Count {
        self.gatherer[s as usize]
    }
}

use DtlsTransportState as D;
use IceTransportState as I;

/// iceConnectionState of an open peer by the W3C rules (also used by W3C_LITERAL).
fn ice_connection_w3c(c: &Counts) -> IceConnectionState {
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
fn connection_w3c(c: &Counts) -> ConnectionState {
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
fn connection_w3c_literal(c: &Counts, ics: IceConnectionState) -> ConnectionState {
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
fn ice_connection_legacy(c: &Counts) -> IceConnectionState {
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
fn connection_legacy(c: &Counts) -> ConnectionState {
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
pub fn ice_gathering(c: &Counts) -> IceGatheringState {
    if c.gatherer(GathererState::Gathering) > 0 {
        IceGatheringState::Gathering
    } else if c.total() > 0 && c.gatherer(GathererState::Complete) == c.total() {
        IceGatheringState::Complete
    } else {
        IceGatheringState::New
    }
}

/// The three aggregates of a peer with these transport counts. A closed peer's ICE connection and
/// connection states are `closed`; its gathering state still follows the gatherers.
pub fn aggregate(profile: Profile, counts: &Counts, peer_closed: bool) -> Aggregates {
    let ice_gathering = ice_gathering(counts);
    if peer_closed {
        return Aggregates {
            ice_connection: IceConnectionState::Closed,
            connection: ConnectionState::Closed,
            ice_gathering,
        };
    }
    let (ice_connection, connection) = match profile {
        Profile::W3c => (ice_connection_w3c(counts), connection_w3c(counts)),
        Profile::W3cLiteral => {
            let ics = ice_connection_w3c(counts);
            (ics, connection_w3c_literal(counts, ics))
        }
        Profile::Legacy_2016 => (ice_connection_legacy(counts), connection_legacy(counts)),
    };
    Aggregates {
        ice_connection,
        connection,
        ice_gathering,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ice: I, dtls: D) -> TransportStates {
        TransportStates {
            ice,
            dtls,
            gatherer: GathererState::New,
        }
    }

    /// The examples table of the spec, where the profiles differ.
    #[test]
    fn spec_examples_table() {
        use ConnectionState::*;
        let rows: &[(&[TransportStates], [ConnectionState; 3])] = &[
            (&[t(I::Connected, D::New)], [Connecting, Connecting, New]),
            (
                &[t(I::Completed, D::Connected)],
                [Connected, Connecting, Connected],
            ),
            (
                &[t(I::New, D::New), t(I::Connected, D::Connected)],
                [Connecting, Connecting, New],
            ),
            (
                &[t(I::Disconnected, D::Connected), t(I::Checking, D::New)],
                [Disconnected, Disconnected, Connecting],
            ),
        ];
        for (transports, expected) in rows {
            let c = Counts::of(transports.iter().copied());
            for (p, want) in Profile::ALL.iter().zip(expected) {
                assert_eq!(
                    aggregate(*p, &c, false).connection,
                    *want,
                    "{p:?} {transports:?}"
                );
            }
        }
    }

    #[test]
    fn zero_transports_and_closed() {
        for p in Profile::ALL {
            let a = aggregate(*p, &Counts::new(), false);
            assert_eq!(a, Aggregates::default());
            let a = aggregate(*p, &Counts::new(), true);
            assert_eq!(a.connection, ConnectionState::Closed);
            assert_eq!(a.ice_connection, IceConnectionState::Closed);
            assert_eq!(a.ice_gathering, IceGatheringState::New);
        }
    }

    #[test]
    fn enum_numbers_and_names() {
        assert_eq!(ConnectionState::from_u32(5), Some(ConnectionState::Closed));
        assert_eq!(ConnectionState::from_u32(6), None);
        assert_eq!(DtlsTransportState::Failed as u32, 4);
        assert_eq!(DtlsTransportState::name_of(3), Some("closed"));
        assert_eq!(IceTransportState::name_of(7), None);
        assert_eq!(Profile::from_u32(3), None);
        assert_eq!(
            EventKind::ConnectionState.dom_name(),
            "connectionstatechange"
        );
    }

    #[test]
    fn counts_move_and_remove() {
        let mut c = Counts::of([t(I::New, D::New), t(I::Checking, D::New)]);
        c.move_ice(I::New, I::Connected);
        c.move_dtls(D::New, D::Connected);
        assert_eq!(c.ice(I::Connected), 1);
        assert_eq!(c.ice(I::New), 0);
        assert_eq!(c.dtls(D::Connected), 1);
        c.remove(t(I::Checking, D::New));
        assert_eq!(c.total(), 1);
        assert_eq!(c, Counts::of([t(I::Connected, D::Connected)]));
    }
}
