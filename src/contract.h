
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
