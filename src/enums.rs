//! The C ABI's enums (profiles, transport and aggregate states, event kinds) with their numbers
//! and W3C names; cbindgen exports them, renamed `pcstate_*`, as the header's constants. Values
//! arriving from C are validated with `from_u32`.

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
pub(crate) use state_enum_impl;

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
    /// Not a state change: the peer's event limit was reached and events were dropped, in the
    /// event queue or in a slow callback's backlog. `old_state` is how many were dropped
    /// (saturating), `seq` the seq of the newest dropped one. Read the snapshot to resynchronise.
    Overflow = 4,
}

impl EventKind {
    /// The kind with this C number, or `None`.
    pub fn from_u32(v: u32) -> Option<Self> {
        [
            Self::IceConnectionState,
            Self::ConnectionState,
            Self::IceGatheringState,
            Self::Overflow,
        ]
        .get((v as usize).wrapping_sub(1))
        .copied()
    }

    /// The DOM event's name, e.g. `"connectionstatechange"` (`"overflow"` for an overflow).
    pub fn dom_name(self) -> &'static str {
        let s = self.dom_name_with_nul();
        &s[..s.len() - 1]
    }

    /// The name as a NUL-terminated static string.
    pub fn dom_name_with_nul(self) -> &'static str {
        match self {
            EventKind::IceConnectionState => "iceconnectionstatechange\0",
            EventKind::ConnectionState => "connectionstatechange\0",
            EventKind::IceGatheringState => "icegatheringstatechange\0",
            EventKind::Overflow => "overflow\0",
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
