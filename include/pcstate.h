/* pcstate 0.1.0: the RTCPeerConnection state machine behind a C ABI.
 * Generated with cbindgen from src/ by tests/header.rs: do not edit. */

#ifndef PCSTATE_H
#define PCSTATE_H

#include <stddef.h>
#include <stdint.h>

/**
 * \file pcstate.h
 * \brief The RTCPeerConnection state machine (connectionState, iceConnectionState,
 * iceGatheringState) exactly as browsers define it, behind a C ABI. POSIX (the event queue's fd: an eventfd on Linux and Android, a pipe elsewhere).
 *
 * \section threads Threads and callbacks
 * - Every function may be called from any thread, on any peer. Calls on different peers share
 *   no lock on the update path.
 * - A peer's events are delivered in order (seq 1, 2, 3, ... without gaps, except where a
 *   PCSTATE_EVENT_KIND_OVERFLOW event announces dropped ones), exactly once, never two at a
 *   time, and never under a library lock: on the thread whose call committed them, or, when
 *   several threads update one peer at once, on the thread already delivering its events.
 * - A callback may call any function, on any peer, including closing or freeing its own peer and
 *   replacing its own callback.
 * - A callback (and a user_data_free) must return normally: no longjmp, pthread_exit, thread
 *   cancellation or C++ exception out of it. An unwind through pcstate stops the process with a
 *   message saying so (the delivery state could not be restored), as C libraries require.
 * - pcstate_peer_set_callback and pcstate_peer_free, called from outside the peer's callbacks,
 *   wait until no callback of that peer runs on another thread; when they return, no replaced
 *   registration is running or will run and its user_data_free has returned. So a callback must
 *   not wait for a lock that the caller of set_callback or free holds: that hangs. Two threads
 *   each inside a callback, each waiting for the other's callback, would deadlock: the call that
 *   would close such a cycle (of any length) returns PCSTATE_RESULT_WOULD_DEADLOCK and changes
 *   nothing.
 * - user_data_free is called exactly once per accepted registration.
 *
 * \section results Results and memory
 * - Every fallible function returns a pcstate_result (uint32_t); on any result but OK nothing was
 *   changed and no out-parameter was written. Each function lists the results it can return.
 * - Memory is bounded per peer: at most 65,535 transports (24 bytes each) and, for the event
 *   queue and the callback backlog, the peer's event limit (pcstate_peer_set_event_limit).
 *   Running out of memory returns PCSTATE_RESULT_NO_MEMORY; an event that cannot be stored
 *   becomes part of an overflow event; nothing aborts.
 * - Handles are generation-checked: a freed or forged handle returns INVALID_HANDLE. A freed
 *   peer's cell (192 bytes) is kept for reuse by later peers; at most 16M peers live at once.
 *   Transport ids run out after 2^32 - 1 adds on one peer (LIMIT).
 *
 * \section fork fork()
 * Only the parent may use its peers. In the child, inherited peers and event fds must not be
 * used; the child may create new peers only if no other thread was inside pcstate at the fork.
 */

/** The header's major version (`pcstate_version()` gives the library's). */
#define PCSTATE_VERSION_MAJOR 0
/** The header's minor version. */
#define PCSTATE_VERSION_MINOR 1
/** The header's patch version. */
#define PCSTATE_VERSION_PATCH 0


/**
 * Flag for `pcstate_peer_new`: `pcstate_peer_close` commits an ICE connection event and then a
 * connection event (old -> closed, transport 0), as native stacks do. Without it close is silent,
 * as the W3C specifies.
 */
#define PCSTATE_FLAG_CLOSE_EVENTS 1

/**
 * Flag for `pcstate_peer_new`: every committed event is also queued for
 * `pcstate_peer_poll_event`, and `pcstate_peer_event_fd` gives an fd readable while the queue is
 * not empty.
 */
#define PCSTATE_FLAG_EVENT_QUEUE 2

/**
 * Flag for `pcstate_peer_new`: after `pcstate_peer_close`, calls that add, remove or set
 * transport states (and `pcstate_transport_note_alive`) return OK and change nothing, instead of
 * `CLOSED`: for stacks that keep reporting states while they tear down. `pcstate_transport_add`
 * then writes transport 0, which such calls also accept.
 */
#define PCSTATE_FLAG_IGNORE_AFTER_CLOSE 4

/**
 * Flag for `pcstate_peer_new`: the peer keeps its last `PCSTATE_HISTORY_LEN` events for
 * `pcstate_peer_history` (about 1.3 KiB); without it a peer pays nothing for history.
 */
#define PCSTATE_FLAG_HISTORY 8

/**
 * How many events `PCSTATE_FLAG_HISTORY` keeps.
 */
#define PCSTATE_HISTORY_LEN 32

/**
 * How many events a peer's event queue, and separately its callback backlog (events committed
 * while a callback of the peer runs), hold at most unless `pcstate_peer_set_event_limit` says
 * otherwise: 1024 (40 KiB each).
 */
#define PCSTATE_DEFAULT_EVENT_LIMIT 1024

/**
 * The largest limit `pcstate_peer_set_event_limit` accepts (2^20 events, 40 MiB each).
 */
#define PCSTATE_MAX_EVENT_LIMIT (1 << 20)

/**
 * A field of `pcstate_transport_states` given to `pcstate_transport_set_states` that keeps the
 * transport's current state (for example, to change DTLS alone on an agent-driven transport).
 */
#define PCSTATE_STATE_UNCHANGED UINT32_MAX

/**
 * `pcstate_transport_set_ice_agent_state`: libnice's `NiceComponentState` of the transport's
 * component (DISCONNECTED 0, GATHERING 1, CONNECTING 2, CONNECTED 3, READY 4, FAILED 5).
 */
#define PCSTATE_ICE_AGENT_LIBNICE 1

/**
 * `pcstate_transport_set_ice_agent_state`: libjuice's `juice_state_t` (DISCONNECTED 0,
 * GATHERING 1, CONNECTING 2, CONNECTED 3, COMPLETED 4, FAILED 5).
 */
#define PCSTATE_ICE_AGENT_LIBJUICE 2

/**
 * `pcstate_peer_set_liveness_preset`: liveness off.
 */
#define PCSTATE_LIVENESS_PRESET_OFF 0

/**
 * `pcstate_peer_set_liveness_preset`: Chromium's timings for a path that goes silent during
 * media: disconnected after 6.5 s without a packet, failed after 17.6 s (measured on Chromium 156:
 * 6.1-7.2 s and 17.5-17.8 s after the loss; libwebrtc's 5 s unwritable and 15 s inactive
 * timeouts counted from its first unanswered check, up to 2.5 s after the loss).
 */
#define PCSTATE_LIVENESS_PRESET_CHROMIUM 1

/**
 * `pcstate_peer_set_liveness_preset`: Firefox's timings: disconnected after 7 s without a packet,
 * failed after 27.5 s (measured on Firefox ESR 153: 5.4-8.3 s and 26.9-29.3 s after the loss;
 * nICEr's consent checks every 4-6 s and RFC 7675's 30 s consent expiry).
 */
#define PCSTATE_LIVENESS_PRESET_FIREFOX 2

/**
 * The result of a pcstate call. Every function that can fail returns one of these (a `uint32_t`
 * in C before C23); on any result but `PCSTATE_RESULT_OK` nothing was changed and no
 * out-parameter was written.
 */
enum pcstate_result
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Success.
   */
  PCSTATE_RESULT_OK = 0,
  /**
   * A required pointer argument was NULL: an out-parameter, or an input such as the states
   * given to `pcstate_transport_set_states`.
   */
  PCSTATE_RESULT_NULL_ARGUMENT = 1,
  /**
   * The peer handle is 0, was never issued, or has been freed.
   */
  PCSTATE_RESULT_INVALID_HANDLE = 2,
  /**
   * The transport id is 0, was never added to this peer, or has been removed.
   */
  PCSTATE_RESULT_UNKNOWN_TRANSPORT = 3,
  /**
   * A state value is outside its enum.
   */
  PCSTATE_RESULT_INVALID_STATE = 4,
  /**
   * An argument is not one the call accepts: an unknown profile, flag bit or ICE agent, a
   * number outside the call's range (event limit, liveness durations), or a peer without the
   * flag the call needs (event queue, history).
   */
  PCSTATE_RESULT_INVALID_ARGUMENT = 5,
  /**
   * The peer is closed: transports can no longer be added, removed or updated.
   */
  PCSTATE_RESULT_CLOSED = 6,
  /**
   * No event is queued.
   */
  PCSTATE_RESULT_EMPTY = 7,
  /**
   * A bug inside pcstate was caught at the API boundary; the process keeps running.
   */
  PCSTATE_RESULT_PANIC = 8,
  /**
   * A limit was reached: too many live peers (16M), too many transports on one peer (65,535),
   * the peer's 2^32 - 1 transport ids used up, or no event fd (eventfd or pipe) could be had (the process's or
   * the system's file descriptor limit).
   */
  PCSTATE_RESULT_LIMIT = 9,
  /**
   * The call would wait for a callback that is itself waiting for this thread's callback.
   */
  PCSTATE_RESULT_WOULD_DEADLOCK = 10,
  /**
   * Memory ran out; nothing was changed.
   */
  PCSTATE_RESULT_NO_MEMORY = 11,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum pcstate_result pcstate_result;
#else
typedef uint32_t pcstate_result;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Which set of rules a peer follows. Chosen when the peer is created.
 */
enum pcstate_profile
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * The W3C rules as intended (webrtc-pc PR #2687); what libwebrtc computes. The default.
   */
  PCSTATE_PROFILE_W3C = 0,
  /**
   * The W3C Recommendation of March 2025 read literally: connectionState from the derived
   * iceConnectionState.
   */
  PCSTATE_PROFILE_W3C_LITERAL = 1,
  /**
   * The 2016 draft's table (still shown by MDN): ICE and DTLS states pooled.
   */
  PCSTATE_PROFILE_LEGACY_2016 = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum pcstate_profile pcstate_profile;
#else
typedef uint32_t pcstate_profile;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * RTCPeerConnectionState: the peer's `connectionState`.
 */
enum pcstate_connection_state
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  PCSTATE_CONNECTION_STATE_NEW = 0,
  PCSTATE_CONNECTION_STATE_CONNECTING = 1,
  PCSTATE_CONNECTION_STATE_CONNECTED = 2,
  PCSTATE_CONNECTION_STATE_DISCONNECTED = 3,
  PCSTATE_CONNECTION_STATE_FAILED = 4,
  PCSTATE_CONNECTION_STATE_CLOSED = 5,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum pcstate_connection_state pcstate_connection_state;
#else
typedef uint32_t pcstate_connection_state;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * RTCIceConnectionState: the peer's `iceConnectionState`.
 */
enum pcstate_ice_connection_state
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  PCSTATE_ICE_CONNECTION_STATE_NEW = 0,
  PCSTATE_ICE_CONNECTION_STATE_CHECKING = 1,
  PCSTATE_ICE_CONNECTION_STATE_CONNECTED = 2,
  PCSTATE_ICE_CONNECTION_STATE_COMPLETED = 3,
  PCSTATE_ICE_CONNECTION_STATE_DISCONNECTED = 4,
  PCSTATE_ICE_CONNECTION_STATE_FAILED = 5,
  PCSTATE_ICE_CONNECTION_STATE_CLOSED = 6,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum pcstate_ice_connection_state pcstate_ice_connection_state;
#else
typedef uint32_t pcstate_ice_connection_state;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * RTCIceTransportState: one transport's ICE state, as reported by the application.
 */
enum pcstate_ice_transport_state
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  PCSTATE_ICE_TRANSPORT_STATE_NEW = 0,
  PCSTATE_ICE_TRANSPORT_STATE_CHECKING = 1,
  PCSTATE_ICE_TRANSPORT_STATE_CONNECTED = 2,
  PCSTATE_ICE_TRANSPORT_STATE_COMPLETED = 3,
  PCSTATE_ICE_TRANSPORT_STATE_DISCONNECTED = 4,
  PCSTATE_ICE_TRANSPORT_STATE_FAILED = 5,
  PCSTATE_ICE_TRANSPORT_STATE_CLOSED = 6,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum pcstate_ice_transport_state pcstate_ice_transport_state;
#else
typedef uint32_t pcstate_ice_transport_state;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * RTCDtlsTransportState: one transport's DTLS state, as reported by the application.
 */
enum pcstate_dtls_transport_state
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  PCSTATE_DTLS_TRANSPORT_STATE_NEW = 0,
  PCSTATE_DTLS_TRANSPORT_STATE_CONNECTING = 1,
  PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED = 2,
  PCSTATE_DTLS_TRANSPORT_STATE_CLOSED = 3,
  PCSTATE_DTLS_TRANSPORT_STATE_FAILED = 4,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum pcstate_dtls_transport_state pcstate_dtls_transport_state;
#else
typedef uint32_t pcstate_dtls_transport_state;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * RTCIceGatheringState: the peer's `iceGatheringState`.
 */
enum pcstate_ice_gathering_state
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  PCSTATE_ICE_GATHERING_STATE_NEW = 0,
  PCSTATE_ICE_GATHERING_STATE_GATHERING = 1,
  PCSTATE_ICE_GATHERING_STATE_COMPLETE = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum pcstate_ice_gathering_state pcstate_ice_gathering_state;
#else
typedef uint32_t pcstate_ice_gathering_state;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * RTCIceGathererState: one transport's candidate gathering state, as reported by the application.
 */
enum pcstate_ice_gatherer_state
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  PCSTATE_ICE_GATHERER_STATE_NEW = 0,
  PCSTATE_ICE_GATHERER_STATE_GATHERING = 1,
  PCSTATE_ICE_GATHERER_STATE_COMPLETE = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum pcstate_ice_gatherer_state pcstate_ice_gatherer_state;
#else
typedef uint32_t pcstate_ice_gatherer_state;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Which aggregate an event reports a change of.
 */
enum pcstate_event_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * `iceconnectionstatechange`: old and new are `pcstate_ice_connection_state` values.
   */
  PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE = 1,
  /**
   * `connectionstatechange`: old and new are `pcstate_connection_state` values.
   */
  PCSTATE_EVENT_KIND_CONNECTION_STATE = 2,
  /**
   * `icegatheringstatechange`: old and new are `pcstate_ice_gathering_state` values.
   */
  PCSTATE_EVENT_KIND_ICE_GATHERING_STATE = 3,
  /**
   * Not a state change: the peer's event limit was reached and events were dropped, in the
   * event queue or in a slow callback's backlog. `old_state` is how many were dropped
   * (saturating), `seq` the seq of the newest dropped one. Read the snapshot to resynchronise.
   */
  PCSTATE_EVENT_KIND_OVERFLOW = 4,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum pcstate_event_kind pcstate_event_kind;
#else
typedef uint32_t pcstate_event_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Why a peer's connectionState became failed (`pcstate_failure_cause`).
 */
enum pcstate_failure_cause
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * It never failed.
   */
  PCSTATE_FAILURE_CAUSE_NONE = 0,
  /**
   * An ICE transport failed (as reported, or derived from its ICE agent).
   */
  PCSTATE_FAILURE_CAUSE_ICE = 1,
  /**
   * A DTLS transport failed.
   */
  PCSTATE_FAILURE_CAUSE_DTLS = 2,
  /**
   * The liveness deadline of a transport expired (`pcstate_peer_set_liveness`).
   */
  PCSTATE_FAILURE_CAUSE_LIVENESS = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum pcstate_failure_cause pcstate_failure_cause;
#else
typedef uint32_t pcstate_failure_cause;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * An opaque peer handle. 0 is never valid; a freed handle never becomes valid again.
 */
typedef uint64_t pcstate_peer;

/**
 * One consistent reading of a peer.
 */
struct pcstate_snapshot {
  /**
   * The seq of the newest event committed (0 if none).
   */
  uint64_t last_seq;
  /**
   * A `pcstate_connection_state`.
   */
  uint32_t connection_state;
  /**
   * A `pcstate_ice_connection_state`.
   */
  uint32_t ice_connection_state;
  /**
   * A `pcstate_ice_gathering_state`.
   */
  uint32_t ice_gathering_state;
  /**
   * How many transports the peer has.
   */
  uint32_t transport_count;
};

/**
 * A transport id within one peer: 1, 2, 3, ...; never reused within that peer; 0 is never valid.
 */
typedef uint32_t pcstate_transport;

/**
 * One transport's three states.
 */
struct pcstate_transport_states {
  /**
   * A `pcstate_ice_transport_state`.
   */
  uint32_t ice_state;
  /**
   * A `pcstate_dtls_transport_state`.
   */
  uint32_t dtls_state;
  /**
   * A `pcstate_ice_gatherer_state`.
   */
  uint32_t gatherer_state;
};

/**
 * A change of one of a peer's aggregate states (40 bytes).
 */
struct pcstate_event {
  /**
   * The peer it belongs to.
   */
  pcstate_peer peer;
  /**
   * 1, 2, 3, ... per peer, across all kinds, no gaps.
   */
  uint64_t seq;
  /**
   * CLOCK_MONOTONIC, in nanoseconds, when the change was committed.
   */
  uint64_t time_ns;
  /**
   * A `pcstate_event_kind`.
   */
  uint32_t kind;
  /**
   * The previous value of that kind's enum.
   */
  uint32_t old_state;
  /**
   * The new value of that kind's enum.
   */
  uint32_t new_state;
  /**
   * The transport whose add, remove or set caused it; 0 for close.
   */
  pcstate_transport transport;
};

/**
 * Receives a peer's events, one at a time, in order. `event` is valid only during the call.
 */
typedef void (*pcstate_event_cb)(void *user_data, const struct pcstate_event *event);

/**
 * Releases a callback's `user_data`; called exactly once when pcstate lets go of it.
 */
typedef void (*pcstate_free_cb)(void *user_data);

/**
 * A peer's connection in numbers (`pcstate_peer_stats`). Times are CLOCK_MONOTONIC nanoseconds
 * (`pcstate_now_ns`).
 */
struct pcstate_peer_stats {
  /**
   * When the peer was created.
   */
  uint64_t created_ns;
  /**
   * When connectionState first became connected; 0 until then.
   */
  uint64_t first_connected_ns;
  /**
   * Time spent in each `pcstate_connection_state`, up to the moment of the call; sums to that
   * moment minus `created_ns`.
   */
  uint64_t time_in_state_ns[6];
  /**
   * How many times each `pcstate_connection_state` was entered (new: 1, at creation).
   */
  uint32_t entered_state[6];
  /**
   * A `pcstate_failure_cause`: why connectionState last became failed, or NONE.
   */
  uint32_t failure_cause;
  /**
   * The transport whose input that was (0 if none).
   */
  pcstate_transport failure_transport;
};

/**
 * Process-wide numbers (`pcstate_global_stats`).
 */
struct pcstate_global_stats {
  /**
   * Peers created and not freed.
   */
  uint64_t live_peers;
  /**
   * Live peers per `pcstate_connection_state`; sums to `live_peers` when no call is in flight.
   */
  uint64_t peers_in_state[6];
  /**
   * Events committed by all peers since the process started (freed peers' included).
   */
  uint64_t events_committed;
  /**
   * How many times any peer's connectionState became failed.
   */
  uint64_t failures;
};

/**
 * `pcstate_transport_states` names `struct pcstate_transport_states` too.
 */
typedef struct pcstate_transport_states pcstate_transport_states;

/**
 * `pcstate_snapshot` names `struct pcstate_snapshot` too.
 */
typedef struct pcstate_snapshot pcstate_snapshot;

/**
 * `pcstate_event` names `struct pcstate_event` too.
 */
typedef struct pcstate_event pcstate_event;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The library's version, e.g. `"0.1.0"` (static).
 */
const char *pcstate_version(void);

/**
 * A short static description of a result code; never NULL, also for unknown codes. Any thread.
 */
const char *pcstate_result_message(uint32_t result);

/**
 * The W3C name of a `pcstate_connection_state` ("new", "connecting", ...); NULL if out of range.
 */
const char *pcstate_connection_state_name(uint32_t value);

/**
 * The W3C name of a `pcstate_ice_connection_state`; NULL if out of range.
 */
const char *pcstate_ice_connection_state_name(uint32_t value);

/**
 * The W3C name of a `pcstate_ice_transport_state`; NULL if out of range.
 */
const char *pcstate_ice_transport_state_name(uint32_t value);

/**
 * The W3C name of a `pcstate_dtls_transport_state`; NULL if out of range.
 */
const char *pcstate_dtls_transport_state_name(uint32_t value);

/**
 * The W3C name of a `pcstate_ice_gathering_state`; NULL if out of range.
 */
const char *pcstate_ice_gathering_state_name(uint32_t value);

/**
 * The W3C name of a `pcstate_ice_gatherer_state`; NULL if out of range.
 */
const char *pcstate_ice_gatherer_state_name(uint32_t value);

/**
 * The DOM event name of a `pcstate_event_kind` ("iceconnectionstatechange",
 * "connectionstatechange", "icegatheringstatechange", "overflow"); NULL if out of range.
 */
const char *pcstate_event_kind_name(uint32_t kind);

/**
 * The name of a `pcstate_failure_cause` ("none", "ice", "dtls", "liveness": the labels the
 * bindings and metrics use); NULL if out of range.
 */
const char *pcstate_failure_cause_name(uint32_t cause);

/**
 * Creates a peer with a `pcstate_profile` and `PCSTATE_FLAG_*` bits; writes its handle to
 * `*out_peer`.
 *
 * Results: OK; NULL_ARGUMENT; INVALID_ARGUMENT (unknown profile or flag bits); LIMIT (16M live
 * peers, or no event fd (eventfd or pipe) could be had for `PCSTATE_FLAG_EVENT_QUEUE`); NO_MEMORY.
 */
pcstate_result pcstate_peer_new(uint32_t profile, uint32_t flags, pcstate_peer *out_peer);

/**
 * Closes the peer as `RTCPeerConnection.close()` does: the ICE connection and connection states
 * become closed, every transport's ICE and DTLS state reads closed, gathering is unchanged. No
 * event unless the peer has `PCSTATE_FLAG_CLOSE_EVENTS`. Afterwards add/remove/set return
 * `CLOSED` (or OK and nothing, with `PCSTATE_FLAG_IGNORE_AFTER_CLOSE`); getters keep working;
 * the event fd is made readable once so that a reader sees the closed state. Closing a closed
 * peer is OK and does nothing.
 *
 * Results: OK; INVALID_HANDLE.
 */
pcstate_result pcstate_peer_close(pcstate_peer peer);

/**
 * Frees the peer. Afterwards every call with this handle returns `INVALID_HANDLE`. Called from
 * outside the peer's own callbacks, it first waits until no callback of the peer runs on another
 * thread; when it returns, no callback of any of the peer's registrations is running or will
 * run, and their `user_data_free` calls have returned. Called from inside the peer's callback,
 * that registration is dropped as soon as the callback returns. Undelivered events are dropped;
 * the event fd is made readable (waking a poll() on a dup of it) and closed. The peer's cell
 * (192 bytes) is kept for reuse by a later peer.
 *
 * Results: OK; INVALID_HANDLE; WOULD_DEADLOCK (called from inside a callback, waiting would
 * close a cycle of threads each waiting for the other's callback; nothing changed).
 */
pcstate_result pcstate_peer_free(pcstate_peer peer);

/**
 * Reads `connectionState` (a `pcstate_connection_state`).
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
 */
pcstate_result pcstate_peer_connection_state(pcstate_peer peer, uint32_t *out);

/**
 * Reads `iceConnectionState` (a `pcstate_ice_connection_state`).
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
 */
pcstate_result pcstate_peer_ice_connection_state(pcstate_peer peer, uint32_t *out);

/**
 * Reads `iceGatheringState` (a `pcstate_ice_gathering_state`).
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
 */
pcstate_result pcstate_peer_ice_gathering_state(pcstate_peer peer, uint32_t *out);

/**
 * Reads all three aggregates, the transport count and the newest event's seq in one consistent
 * reading (use it to resynchronise after a `PCSTATE_EVENT_KIND_OVERFLOW` event).
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
 */
pcstate_result pcstate_peer_snapshot(pcstate_peer peer, struct pcstate_snapshot *out);

/**
 * Adds a transport (ICE new, DTLS new, gatherer new); writes its id to `*out_transport` (0
 * when ignored after close). Ids are 1, 2, 3, ... per peer, never reused.
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE; CLOSED; LIMIT (65,535 transports on the peer, or
 * its 2^32 - 1 ids used up); NO_MEMORY.
 */
pcstate_result pcstate_transport_add(pcstate_peer peer, pcstate_transport *out_transport);

/**
 * Adds a transport already in the given states (for example one that is already connected):
 * one commit, no intermediate events; writes its id to `*out_transport`.
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE; INVALID_STATE; CLOSED; LIMIT; NO_MEMORY.
 */
pcstate_result pcstate_transport_add_with_states(pcstate_peer peer,
                                                 const struct pcstate_transport_states *states,
                                                 pcstate_transport *out_transport);

/**
 * Removes a transport; the aggregates are recomputed at once.
 *
 * Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
 */
pcstate_result pcstate_transport_remove(pcstate_peer peer, pcstate_transport transport);

/**
 * Sets a transport's ICE state (a `pcstate_ice_transport_state`), detaching it from an ICE agent
 * (see `pcstate_transport_set_ice_agent_state`). Setting it again ends a failed liveness reading.
 *
 * Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE; CLOSED; NO_MEMORY.
 */
pcstate_result pcstate_transport_set_ice_state(pcstate_peer peer,
                                               pcstate_transport transport,
                                               uint32_t state);

/**
 * Sets a transport's DTLS state (a `pcstate_dtls_transport_state`).
 *
 * Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE; CLOSED.
 */
pcstate_result pcstate_transport_set_dtls_state(pcstate_peer peer,
                                                pcstate_transport transport,
                                                uint32_t state);

/**
 * Sets a transport's ICE gatherer state (a `pcstate_ice_gatherer_state`); an agent-driven ICE
 * state is recomputed in the same commit.
 *
 * Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE; CLOSED; NO_MEMORY.
 */
pcstate_result pcstate_transport_set_gatherer_state(pcstate_peer peer,
                                                    pcstate_transport transport,
                                                    uint32_t state);

/**
 * Sets a transport's ICE, DTLS and gatherer states at once: one commit, events only for the net
 * change (no intermediate states). A field set to `PCSTATE_STATE_UNCHANGED` keeps that state. A
 * given ICE state is set directly, as by `pcstate_transport_set_ice_state` (detaching an ICE agent
 * and ending a failed liveness reading); a kept one stays agent-derived, and a gatherer change
 * re-derives it in the same commit.
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE (any field out of
 * range); CLOSED; NO_MEMORY. On error nothing changed.
 */
pcstate_result pcstate_transport_set_states(pcstate_peer peer,
                                            pcstate_transport transport,
                                            const struct pcstate_transport_states *states);

/**
 * Reads one transport's three effective states (the ICE state after agent derivation and
 * liveness: what the aggregates use); ICE and DTLS read closed once the peer is closed.
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE; UNKNOWN_TRANSPORT.
 */
pcstate_result pcstate_transport_get_states(pcstate_peer peer,
                                            pcstate_transport transport,
                                            struct pcstate_transport_states *out);

/**
 * Reads one transport's states as reported: ICE as set, or as derived from its ICE agent, before
 * liveness (`pcstate_transport_get_states` gives the effective ones, which the aggregates use).
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE; UNKNOWN_TRANSPORT.
 */
pcstate_result pcstate_transport_get_reported_states(pcstate_peer peer,
                                                     pcstate_transport transport,
                                                     struct pcstate_transport_states *out);

/**
 * Registers the peer's event callback, replacing the previous registration (`cb` NULL clears it).
 * On OK pcstate owns `user_data` and calls `user_data_free` (when not NULL) exactly once when it
 * lets go: when the registration is replaced, cleared or the peer freed; right away when `cb` is
 * NULL. Called from outside the peer's callbacks, it waits until no callback of the peer runs on
 * another thread: when it returns, no replaced registration is running or will run, and their
 * `user_data_free` calls have returned. Called from inside the peer's callback, that (replaced)
 * registration is dropped as soon as the callback returns. Events committed before the call and
 * not yet delivered go to the new registration. On any other result nothing was taken:
 * `user_data` is still the caller's.
 *
 * Results: OK; INVALID_HANDLE; WOULD_DEADLOCK (see `pcstate_peer_free`); NO_MEMORY.
 */
pcstate_result pcstate_peer_set_callback(pcstate_peer peer,
                                         pcstate_event_cb cb,
                                         void *user_data,
                                         pcstate_free_cb user_data_free);

/**
 * Pops the oldest queued event into `*out` (or the `PCSTATE_EVENT_KIND_OVERFLOW` event that
 * stands for dropped ones); `EMPTY` when none is queued, which also resets the event fd. Needs
 * `PCSTATE_FLAG_EVENT_QUEUE`.
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE; INVALID_ARGUMENT (no event queue); EMPTY.
 */
pcstate_result pcstate_peer_poll_event(pcstate_peer peer, struct pcstate_event *out);

/**
 * Writes the peer's event fd (an eventfd on Linux and Android, the read end of a pipe elsewhere or
 * with the `pipe-wakeup` build) to `*out_fd`, for poll, epoll or asyncio. It is made readable by
 * every queued event, by close and by free, and reset when `pcstate_peer_poll_event` returns
 * EMPTY: after a wakeup, call `pcstate_peer_poll_event` until EMPTY. Reading the fd yourself is
 * allowed and loses no later wakeup. Owned by the peer and closed by `pcstate_peer_free`: do not
 * close it (wait on a `dup` of it if your loop may outlive the peer). Needs
 * `PCSTATE_FLAG_EVENT_QUEUE`.
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE; INVALID_ARGUMENT (no event queue).
 */
pcstate_result pcstate_peer_event_fd(pcstate_peer peer, int *out_fd);

/**
 * Bounds the peer's event queue and its callback backlog to `max_events` events each
 * (1 ..= `PCSTATE_MAX_EVENT_LIMIT`, default `PCSTATE_DEFAULT_EVENT_LIMIT`). An event that does
 * not fit (or for which memory cannot be had) is dropped and counted, and so is every later
 * one, even one that would fit again, until the reader has taken the events kept before it and
 * then the one `PCSTATE_EVENT_KIND_OVERFLOW` event that stands for all of them (`old_state`: how
 * many were dropped, saturating at `UINT32_MAX`; `seq`: the newest dropped one); the reader
 * resynchronises with `pcstate_peer_snapshot`. The state changes
 * themselves are never refused. A smaller limit than what is stored keeps what is stored.
 *
 * Results: OK; INVALID_HANDLE; INVALID_ARGUMENT (out of range); NO_MEMORY (a limit other than the
 * default on a peer that has no callback, history or queue yet needs a small allocation to keep
 * it; nothing changed).
 */
pcstate_result pcstate_peer_set_event_limit(pcstate_peer peer, uint32_t max_events);

/**
 * Reports the state of the ICE agent that drives the transport (`PCSTATE_ICE_AGENT_*` and the
 * agent's own state number); the transport's ICE state is then derived from it, from the
 * transport's gatherer state and from the remote's end-of-candidates, and recomputed whenever
 * one of them changes. "completed" needs the agent's checks concluded (libnice READY, libjuice
 * COMPLETED) and gathering complete and remote end-of-candidates; without the last two it reads
 * "connected". libjuice CONNECTING reads "checking" only once a remote candidate was noted
 * (`pcstate_transport_note_remote_candidate`). An ICE restart (the agent going back to an earlier
 * state) ends the session's facts and holds a connected transport at "connected", as
 * `pcstate_transport_restart_ice` does. The tables are in docs/feeding.md.
 * `pcstate_transport_set_ice_state` or `pcstate_transport_set_states` detach the transport from
 * its agent, ending the agent run's facts.
 *
 * Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_ARGUMENT (unknown agent);
 * INVALID_STATE (state number out of the agent's range); CLOSED; NO_MEMORY.
 */
pcstate_result pcstate_transport_set_ice_agent_state(pcstate_peer peer,
                                                     pcstate_transport transport,
                                                     uint32_t agent,
                                                     uint32_t agent_state);

/**
 * Records that the remote signalled the end of its candidates for this transport (an
 * `a=end-of-candidates` line, an empty candidate, or a remote that does not trickle). Kept until
 * the ICE session ends (`pcstate_transport_restart_ice`, a restart seen in the agent's states, or
 * the agent detached by setting the ICE state). Idempotent.
 *
 * Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
 */
pcstate_result pcstate_transport_set_remote_end_of_candidates(pcstate_peer peer,
                                                              pcstate_transport transport);

/**
 * Says that an ICE restart began on the transport: `restartIce()`, or an ICE-restart offer or
 * answer applied (new ICE credentials). Call it before restarting the agent
 * (`nice_agent_restart_stream`, a new libjuice agent) and before the new session's remote
 * candidates and end-of-candidates. It ends the session's facts (remote end-of-candidates,
 * remote candidates). A transport that reads connected or completed then reads connected while
 * its agent gathers and checks again, until the agent reports a state that reads connected,
 * completed, disconnected or failed (for an ICE state set directly: until such a state is set;
 * new and checking read connected meanwhile), as browsers keep a transport connected through
 * `restartIce()`. A restart seen in the agent's states (a move back to an earlier state) gets
 * the same hold, and it is one restart with an announced one: facts noted between the two
 * belong to the new session. An agent that never restarts (the restart rolled back) and reports
 * CONNECTING or later without passing through GATHERING ends the hold. With liveness on,
 * silence still makes the transport disconnected and failed; a failed liveness reading lasts
 * until a new ICE state is reported.
 *
 * Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
 */
pcstate_result pcstate_transport_restart_ice(pcstate_peer peer, pcstate_transport transport);

/**
 * Says that a remote candidate was given to the transport's agent
 * (`nice_agent_set_remote_candidates`, `juice_add_remote_candidate`, a remote description with
 * candidates, `addIceCandidate`). An agent state that runs checks before any candidate pair
 * exists (libjuice CONNECTING) reads checking only once this was called, new before; libnice
 * CONNECTING means a pair exists and reads checking either way. Kept until the ICE session ends
 * (`pcstate_transport_restart_ice`, a restart seen in the agent's states, or the agent detached
 * by setting the ICE state). Idempotent.
 *
 * Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
 */
pcstate_result pcstate_transport_note_remote_candidate(pcstate_peer peer,
                                                       pcstate_transport transport);

/**
 * CLOCK_MONOTONIC now, in nanoseconds: the clock event times use, and a clock to pass to
 * `pcstate_transport_note_alive` and `pcstate_peer_tick` (any monotonic nanosecond clock works if
 * used consistently for one peer).
 */
uint64_t pcstate_now_ns(void);

/**
 * Turns liveness on for the peer: a transport whose ICE state is connected or completed and on
 * which nothing was noted alive (`pcstate_transport_note_alive`) for `disconnected_after_ns`
 * reads disconnected; for `failed_after_ns`, failed, until its ICE state is set again (as after
 * an ICE restart). Browsers report disconnected 5-8 s after traffic stops and failed after
 * about 17.6 s (Chromium) or 27.5 s (Firefox): `pcstate_peer_set_liveness_preset` sets their
 * measured numbers; libnice and libjuice report neither promptly. A transport's alive clock
 * starts at the first tick or note after it became connected. (0, 0) turns liveness off (the
 * default); otherwise `disconnected_after_ns` > 0 and `failed_after_ns` is 0 (never failed) or
 * greater. Every transport is watched afresh; one commit. Caller-clocked: no threads, no timers;
 * call `pcstate_peer_tick` when the deadline it returns has passed and after changing states.
 *
 * Results: OK; INVALID_HANDLE; INVALID_ARGUMENT (bad durations); CLOSED; NO_MEMORY.
 */
pcstate_result pcstate_peer_set_liveness(pcstate_peer peer,
                                         uint64_t disconnected_after_ns,
                                         uint64_t failed_after_ns);

/**
 * Turns liveness on with the thresholds that reproduce a browser's timings for a path that goes
 * silent during media, as `pcstate_peer_set_liveness` with them: `PCSTATE_LIVENESS_PRESET_CHROMIUM`
 * or `PCSTATE_LIVENESS_PRESET_FIREFOX`; `PCSTATE_LIVENESS_PRESET_OFF` turns liveness off. The
 * numbers, measured on the project's own browser recordings, and their sources are in
 * docs/browser-parity.md and docs/feeding.md ("Liveness").
 *
 * Results: OK; INVALID_HANDLE; INVALID_ARGUMENT (unknown preset; also after close); CLOSED;
 * NO_MEMORY.
 */
pcstate_result pcstate_peer_set_liveness_preset(pcstate_peer peer, uint32_t preset);

/**
 * Notes that something arrived on the transport at `now_ns` (call it per received packet): a
 * transport that liveness reads disconnected reads its reported state again at once. A note
 * older than the transport's last one changes nothing, and so does one that the last
 * `pcstate_peer_tick` would already have read disconnected (it would be disconnected again at
 * the next tick). Does nothing when liveness is off or the transport is not connected. Costs
 * about one update.
 *
 * Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
 */
pcstate_result pcstate_transport_note_alive(pcstate_peer peer,
                                            pcstate_transport transport,
                                            uint64_t now_ns);

/**
 * Applies the liveness deadlines that passed by `now_ns`, delivers the events (one commit for
 * all transports; the events carry the first transport that changed), and writes the next
 * deadline to `*out_next_deadline_ns` (`UINT64_MAX` when none): one timer per peer. Cheap when
 * nothing is due. After close: OK, next deadline `UINT64_MAX`.
 *
 * Times (here and in `pcstate_transport_note_alive`) are read modulo 2^64: only differences
 * between them count, so a clock may start at any value, the largest included, and wrap around.
 * A deadline past `UINT64_MAX` wraps around too (with a clock that can wrap, test
 * `(int64_t)(now - deadline) >= 0`); one that falls on `UINT64_MAX` itself is written as
 * `UINT64_MAX - 1`, and a tick then writes it again. A peer's times must stay within 2^62 ns
 * (146 years) of its first tick.
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
 */
pcstate_result pcstate_peer_tick(pcstate_peer peer,
                                 uint64_t now_ns,
                                 uint64_t *out_next_deadline_ns);

/**
 * Reads the peer's numbers: when it was created and first connected, the time spent in and the
 * number of entries into each connectionState, and the cause of its latest failure: the input
 * (ICE transport, DTLS transport, or a liveness deadline) whose failure started the run of failed
 * inputs that made connectionState failed (when ICE and DTLS both failed, the one that failed
 * first). Kept for every peer at no cost on the update path.
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
 */
pcstate_result pcstate_peer_stats(pcstate_peer peer, struct pcstate_peer_stats *out);

/**
 * Frees the peer as `pcstate_peer_free` does and, on OK, writes its numbers as of the free into
 * `*last` (as `pcstate_peer_stats` reads them), read in the same step: every commit made before
 * the free is in them, none after. For a final report of a peer (metrics, logs) without closing
 * it first. On any other result nothing was freed or written.
 *
 * Results: OK; NULL_ARGUMENT (nothing freed); INVALID_HANDLE; WOULD_DEADLOCK (see
 * `pcstate_peer_free`).
 */
pcstate_result pcstate_peer_free_with_stats(pcstate_peer peer, struct pcstate_peer_stats *last);

/**
 * Copies the peer's last events (at most `PCSTATE_HISTORY_LEN`, oldest first) into `out`: at
 * most `capacity` of them, the newest ones when it is smaller; writes how many to `*out_count`.
 * `out` may be NULL when `capacity` is 0 (then `*out_count` is how many are kept). Needs
 * `PCSTATE_FLAG_HISTORY`.
 *
 * Results: OK; NULL_ARGUMENT; INVALID_HANDLE; INVALID_ARGUMENT (no history flag).
 */
pcstate_result pcstate_peer_history(pcstate_peer peer,
                                    struct pcstate_event *out,
                                    size_t capacity,
                                    size_t *out_count);

/**
 * Reads the process-wide numbers: live peers, live peers per connectionState (exact at the
 * moment of the call when no other call is in flight), events committed and failures. Kept in
 * per-thread shards touched only when an aggregate changes, so threads on different peers do not
 * contend. Any thread.
 *
 * Results: OK; NULL_ARGUMENT.
 */
pcstate_result pcstate_global_stats(struct pcstate_global_stats *out);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* PCSTATE_H */
