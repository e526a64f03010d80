//! The C ABI's `#define` constants (peer flags, ICE agents, limits), each defined once: cbindgen
//! writes them into the header and the crate uses them under these names.

/// Flag for `pcstate_peer_new`: `pcstate_peer_close` commits an ICE connection event and then a
/// connection event (old -> closed, transport 0), as native stacks do. Without it close is silent,
/// as the W3C specifies.
pub const PCSTATE_FLAG_CLOSE_EVENTS: u32 = 1;

/// Flag for `pcstate_peer_new`: every committed event is also queued for
/// `pcstate_peer_poll_event`, and `pcstate_peer_event_fd` gives an fd readable while the queue is
/// not empty.
pub const PCSTATE_FLAG_EVENT_QUEUE: u32 = 2;

/// Flag for `pcstate_peer_new`: after `pcstate_peer_close`, calls that add, remove or set
/// transport states (and `pcstate_transport_note_alive`) return OK and change nothing, instead of
/// `CLOSED`: for stacks that keep reporting states while they tear down. `pcstate_transport_add`
/// then writes transport 0, which such calls also accept.
pub const PCSTATE_FLAG_IGNORE_AFTER_CLOSE: u32 = 4;

/// Flag for `pcstate_peer_new`: the peer keeps its last `PCSTATE_HISTORY_LEN` events for
/// `pcstate_peer_history` (about 1.3 KiB); without it a peer pays nothing for history.
pub const PCSTATE_FLAG_HISTORY: u32 = 8;

/// Every flag bit that has a meaning (not exported: C tells unknown bits by `INVALID_ARGUMENT`).
pub(crate) const ALL_FLAGS: u32 = PCSTATE_FLAG_CLOSE_EVENTS
    | PCSTATE_FLAG_EVENT_QUEUE
    | PCSTATE_FLAG_IGNORE_AFTER_CLOSE
    | PCSTATE_FLAG_HISTORY;

/// How many events `PCSTATE_FLAG_HISTORY` keeps.
pub const PCSTATE_HISTORY_LEN: u32 = 32;

/// How many events a peer's event queue, and separately its callback backlog (events committed
/// while a callback of the peer runs), hold at most unless `pcstate_peer_set_event_limit` says
/// otherwise: 1024 (40 KiB each).
pub const PCSTATE_DEFAULT_EVENT_LIMIT: u32 = 1024;

/// The largest limit `pcstate_peer_set_event_limit` accepts (2^20 events, 40 MiB each).
pub const PCSTATE_MAX_EVENT_LIMIT: u32 = 1 << 20;

/// A field of `pcstate_transport_states` given to `pcstate_transport_set_states` that keeps the
/// transport's current state (for example, to change DTLS alone on an agent-driven transport).
pub const PCSTATE_STATE_UNCHANGED: u32 = u32::MAX;

/// `pcstate_transport_set_ice_agent_state`: libnice's `NiceComponentState` of the transport's
/// component (DISCONNECTED 0, GATHERING 1, CONNECTING 2, CONNECTED 3, READY 4, FAILED 5).
pub const PCSTATE_ICE_AGENT_LIBNICE: u32 = 1;

/// `pcstate_transport_set_ice_agent_state`: libjuice's `juice_state_t` (DISCONNECTED 0,
/// GATHERING 1, CONNECTING 2, CONNECTED 3, COMPLETED 4, FAILED 5).
pub const PCSTATE_ICE_AGENT_LIBJUICE: u32 = 2;

/// `pcstate_peer_set_liveness_preset`: liveness off.
pub const PCSTATE_LIVENESS_PRESET_OFF: u32 = 0;
/// `pcstate_peer_set_liveness_preset`: Chromium's timings for a path that goes silent during
/// media: disconnected after 6.5 s without a packet, failed after 17.6 s (measured on Chromium 156:
/// 6.1-7.2 s and 17.5-17.8 s after the loss; libwebrtc's 5 s unwritable and 15 s inactive
/// timeouts counted from its first unanswered check, up to 2.5 s after the loss).
pub const PCSTATE_LIVENESS_PRESET_CHROMIUM: u32 = 1;
/// `pcstate_peer_set_liveness_preset`: Firefox's timings: disconnected after 7 s without a packet,
/// failed after 27.5 s (measured on Firefox ESR 153: 5.4-8.3 s and 26.9-29.3 s after the loss;
/// nICEr's consent checks every 4-6 s and RFC 7675's 30 s consent expiry).
pub const PCSTATE_LIVENESS_PRESET_FIREFOX: u32 = 2;
