/* pcstate.hpp: a header-only C++17 wrapper over pcstate.h. It adds no behaviour of its own: RAII
 * handles, enum classes, callables as callbacks, errors as exceptions.
 *
 *   pcstate::PeerConnection pc;                          // W3C profile
 *   pc.on_event([&](const pcstate::Event &e) { ... });    // any callable, captures welcome
 *   pcstate::Transport t = pc.add_transport();
 *   t.set_ice_state(pcstate::IceTransportState::Checking);
 *   if (pc.connection_state() == pcstate::ConnectionState::Connecting) { ... }
 *
 * Destructors free: ~PeerConnection frees the peer (and with it the callable); ~Transport removes
 * the transport (ignoring a peer that is closed or already freed). Both are move-only.
 * A callable must not throw: an exception cannot cross the C library, so one escaping the callable
 * calls std::terminate. */
#ifndef PCSTATE_HPP
#define PCSTATE_HPP

#include "pcstate.h"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace pcstate {

enum class Profile : uint32_t {
    W3C = PCSTATE_PROFILE_W3C,
    W3CLiteral = PCSTATE_PROFILE_W3C_LITERAL,
    Legacy2016 = PCSTATE_PROFILE_LEGACY_2016,
};

enum class ConnectionState : uint32_t {
    New = PCSTATE_CONNECTION_STATE_NEW,
    Connecting = PCSTATE_CONNECTION_STATE_CONNECTING,
    Connected = PCSTATE_CONNECTION_STATE_CONNECTED,
    Disconnected = PCSTATE_CONNECTION_STATE_DISCONNECTED,
    Failed = PCSTATE_CONNECTION_STATE_FAILED,
    Closed = PCSTATE_CONNECTION_STATE_CLOSED,
};

enum class IceConnectionState : uint32_t {
    New = PCSTATE_ICE_CONNECTION_STATE_NEW,
    Checking = PCSTATE_ICE_CONNECTION_STATE_CHECKING,
    Connected = PCSTATE_ICE_CONNECTION_STATE_CONNECTED,
    Completed = PCSTATE_ICE_CONNECTION_STATE_COMPLETED,
    Disconnected = PCSTATE_ICE_CONNECTION_STATE_DISCONNECTED,
    Failed = PCSTATE_ICE_CONNECTION_STATE_FAILED,
    Closed = PCSTATE_ICE_CONNECTION_STATE_CLOSED,
};

enum class IceTransportState : uint32_t {
    New = PCSTATE_ICE_TRANSPORT_STATE_NEW,
    Checking = PCSTATE_ICE_TRANSPORT_STATE_CHECKING,
    Connected = PCSTATE_ICE_TRANSPORT_STATE_CONNECTED,
    Completed = PCSTATE_ICE_TRANSPORT_STATE_COMPLETED,
    Disconnected = PCSTATE_ICE_TRANSPORT_STATE_DISCONNECTED,
    Failed = PCSTATE_ICE_TRANSPORT_STATE_FAILED,
    Closed = PCSTATE_ICE_TRANSPORT_STATE_CLOSED,
};

enum class DtlsTransportState : uint32_t {
    New = PCSTATE_DTLS_TRANSPORT_STATE_NEW,
    Connecting = PCSTATE_DTLS_TRANSPORT_STATE_CONNECTING,
    Connected = PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED,
    Closed = PCSTATE_DTLS_TRANSPORT_STATE_CLOSED,
    Failed = PCSTATE_DTLS_TRANSPORT_STATE_FAILED,
};

enum class IceGatheringState : uint32_t {
    New = PCSTATE_ICE_GATHERING_STATE_NEW,
    Gathering = PCSTATE_ICE_GATHERING_STATE_GATHERING,
    Complete = PCSTATE_ICE_GATHERING_STATE_COMPLETE,
};

enum class IceGathererState : uint32_t {
    New = PCSTATE_ICE_GATHERER_STATE_NEW,
    Gathering = PCSTATE_ICE_GATHERER_STATE_GATHERING,
    Complete = PCSTATE_ICE_GATHERER_STATE_COMPLETE,
};

enum class EventKind : uint32_t {
    IceConnectionState = PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE,
    ConnectionState = PCSTATE_EVENT_KIND_CONNECTION_STATE,
    IceGatheringState = PCSTATE_EVENT_KIND_ICE_GATHERING_STATE,
};

/** Flags for PeerConnection(profile, flags). */
namespace flags {
constexpr uint32_t CloseEvents = PCSTATE_FLAG_CLOSE_EVENTS;
constexpr uint32_t EventQueue = PCSTATE_FLAG_EVENT_QUEUE;
} // namespace flags

namespace detail {
inline const char *or_unknown(const char *s) noexcept { return s ? s : "unknown"; }
} // namespace detail

/* The W3C names ("new", "connecting", ...); "unknown" for a value outside the enum. */
inline const char *to_string(ConnectionState s) noexcept {
    return detail::or_unknown(pcstate_connection_state_name(static_cast<uint32_t>(s)));
}
inline const char *to_string(IceConnectionState s) noexcept {
    return detail::or_unknown(pcstate_ice_connection_state_name(static_cast<uint32_t>(s)));
}
inline const char *to_string(IceTransportState s) noexcept {
    return detail::or_unknown(pcstate_ice_transport_state_name(static_cast<uint32_t>(s)));
}
inline const char *to_string(DtlsTransportState s) noexcept {
    return detail::or_unknown(pcstate_dtls_transport_state_name(static_cast<uint32_t>(s)));
}
inline const char *to_string(IceGatheringState s) noexcept {
    return detail::or_unknown(pcstate_ice_gathering_state_name(static_cast<uint32_t>(s)));
}
inline const char *to_string(IceGathererState s) noexcept {
    return detail::or_unknown(pcstate_ice_gatherer_state_name(static_cast<uint32_t>(s)));
}
inline const char *to_string(EventKind k) noexcept {
    switch (k) {
    case EventKind::IceConnectionState: return "iceconnectionstatechange";
    case EventKind::ConnectionState: return "connectionstatechange";
    case EventKind::IceGatheringState: return "icegatheringstatechange";
    }
    return "unknown";
}

/** A failed pcstate call; code() is the C result (PCSTATE_RESULT_*). */
class Error : public std::runtime_error {
public:
    explicit Error(uint32_t code) : std::runtime_error(pcstate_result_message(code)), code_(code) {}
    uint32_t code() const noexcept { return code_; }

private:
    uint32_t code_;
};

namespace detail {
inline void check(uint32_t result) {
    if (result != PCSTATE_RESULT_OK) throw Error(result);
}
} // namespace detail

/** A change of one aggregate state (a copy of pcstate_event). */
struct Event {
    pcstate_peer peer;
    uint64_t seq;
    uint64_t time_ns;
    EventKind kind;
    uint32_t old_state;
    uint32_t new_state;
    pcstate_transport transport;

    static Event from_c(const pcstate_event &e) noexcept {
        return Event{e.peer, e.seq, e.time_ns, static_cast<EventKind>(e.kind), e.old_state, e.new_state, e.transport};
    }
    /** The W3C name of old_state / new_state in this event's kind. */
    const char *old_name() const noexcept { return name(old_state); }
    const char *new_name() const noexcept { return name(new_state); }

private:
    const char *name(uint32_t v) const noexcept {
        switch (kind) {
        case EventKind::IceConnectionState: return to_string(static_cast<IceConnectionState>(v));
        case EventKind::ConnectionState: return to_string(static_cast<ConnectionState>(v));
        case EventKind::IceGatheringState: return to_string(static_cast<IceGatheringState>(v));
        }
        return "unknown";
    }
};

struct Snapshot {
    ConnectionState connection_state;
    IceConnectionState ice_connection_state;
    IceGatheringState ice_gathering_state;
    uint32_t transport_count;
    uint64_t last_seq;
};

struct TransportStates {
    IceTransportState ice;
    DtlsTransportState dtls;
    IceGathererState gatherer;
};

/** One transport of a peer; removes itself from the peer when destroyed (unless removed or
 * released before). Move-only. */
class Transport {
public:
    Transport() noexcept = default;
    Transport(pcstate_peer peer, pcstate_transport id) noexcept : peer_(peer), id_(id) {}
    Transport(Transport &&o) noexcept : peer_(std::exchange(o.peer_, 0)), id_(std::exchange(o.id_, 0)) {}
    Transport &operator=(Transport &&o) noexcept {
        if (this != &o) {
            reset();
            peer_ = std::exchange(o.peer_, 0);
            id_ = std::exchange(o.id_, 0);
        }
        return *this;
    }
    Transport(const Transport &) = delete;
    Transport &operator=(const Transport &) = delete;
    ~Transport() { reset(); }

    pcstate_transport id() const noexcept { return id_; }
    pcstate_peer peer() const noexcept { return peer_; }
    explicit operator bool() const noexcept { return id_ != 0; }

    void set_ice_state(IceTransportState s) {
        detail::check(pcstate_transport_set_ice_state(peer_, id_, static_cast<uint32_t>(s)));
    }
    void set_dtls_state(DtlsTransportState s) {
        detail::check(pcstate_transport_set_dtls_state(peer_, id_, static_cast<uint32_t>(s)));
    }
    void set_gatherer_state(IceGathererState s) {
        detail::check(pcstate_transport_set_gatherer_state(peer_, id_, static_cast<uint32_t>(s)));
    }
    TransportStates states() const {
        pcstate_transport_states s;
        detail::check(pcstate_transport_get_states(peer_, id_, &s));
        return TransportStates{static_cast<IceTransportState>(s.ice_state),
                               static_cast<DtlsTransportState>(s.dtls_state),
                               static_cast<IceGathererState>(s.gatherer_state)};
    }
    /** Removes the transport from its peer now (throws on error). */
    void remove() {
        detail::check(pcstate_transport_remove(peer_, id_));
        peer_ = 0;
        id_ = 0;
    }
    /** Gives up ownership: the destructor will not remove the transport. Returns its id. */
    pcstate_transport release() noexcept {
        peer_ = 0;
        return std::exchange(id_, 0);
    }

private:
    void reset() noexcept {
        if (id_ != 0) (void)pcstate_transport_remove(peer_, id_); /* closed or freed peer: nothing to do */
        peer_ = 0;
        id_ = 0;
    }
    pcstate_peer peer_ = 0;
    pcstate_transport id_ = 0;
};

/** A peer connection's aggregate states; frees the peer when destroyed. Move-only. */
class PeerConnection {
public:
    /** A W3C-profile peer without flags. */
    PeerConnection() : PeerConnection(Profile::W3C, 0) {}
    /** A peer with any profile and flags::* bits. */
    explicit PeerConnection(Profile profile, uint32_t flag_bits = 0) {
        detail::check(pcstate_peer_new(static_cast<uint32_t>(profile), flag_bits, &peer_));
    }
    PeerConnection(PeerConnection &&o) noexcept : peer_(std::exchange(o.peer_, 0)) {}
    PeerConnection &operator=(PeerConnection &&o) noexcept {
        if (this != &o) {
            reset();
            peer_ = std::exchange(o.peer_, 0);
        }
        return *this;
    }
    PeerConnection(const PeerConnection &) = delete;
    PeerConnection &operator=(const PeerConnection &) = delete;
    ~PeerConnection() { reset(); }

    pcstate_peer handle() const noexcept { return peer_; }
    explicit operator bool() const noexcept { return peer_ != 0; }

    /** RTCPeerConnection.close(): no event unless flags::CloseEvents. */
    void close() { detail::check(pcstate_peer_close(peer_)); }
    /** Frees the peer now (the destructor then does nothing). */
    void free() {
        detail::check(pcstate_peer_free(peer_));
        peer_ = 0;
    }

    Transport add_transport() {
        pcstate_transport id = 0;
        detail::check(pcstate_transport_add(peer_, &id));
        return Transport(peer_, id);
    }

    ConnectionState connection_state() const {
        return static_cast<ConnectionState>(read(pcstate_peer_connection_state));
    }
    IceConnectionState ice_connection_state() const {
        return static_cast<IceConnectionState>(read(pcstate_peer_ice_connection_state));
    }
    IceGatheringState ice_gathering_state() const {
        return static_cast<IceGatheringState>(read(pcstate_peer_ice_gathering_state));
    }
    Snapshot snapshot() const {
        pcstate_snapshot s;
        detail::check(pcstate_peer_snapshot(peer_, &s));
        return Snapshot{static_cast<ConnectionState>(s.connection_state),
                        static_cast<IceConnectionState>(s.ice_connection_state),
                        static_cast<IceGatheringState>(s.ice_gathering_state), s.transport_count, s.last_seq};
    }

    /** Calls fn(const Event&) for every change, replacing any previous callable (which is destroyed
     * as pcstate_peer_set_callback describes). fn may be move-only and capture anything. */
    template <class F> void on_event(F &&fn) {
        using Fn = std::decay_t<F>;
        static_assert(std::is_invocable_v<Fn &, const Event &>, "on_event needs a callable taking const Event&");
        Fn *holder = new Fn(std::forward<F>(fn));
        uint32_t r = pcstate_peer_set_callback(peer_, &call<Fn>, holder, &destroy<Fn>);
        if (r != PCSTATE_RESULT_OK) {
            delete holder; /* on error pcstate took nothing */
            throw Error(r);
        }
    }
    /** Clears the callback. */
    void on_event(std::nullptr_t) { detail::check(pcstate_peer_set_callback(peer_, nullptr, nullptr, nullptr)); }

    /** The oldest queued event, if any (needs flags::EventQueue). */
    std::optional<Event> poll_event() {
        pcstate_event e;
        uint32_t r = pcstate_peer_poll_event(peer_, &e);
        if (r == PCSTATE_RESULT_EMPTY) return std::nullopt;
        detail::check(r);
        return Event::from_c(e);
    }
    /** The eventfd readable while events are queued; owned by the peer (needs flags::EventQueue). */
    int event_fd() const {
        int fd = -1;
        detail::check(pcstate_peer_event_fd(peer_, &fd));
        return fd;
    }

private:
    template <class Fn> static void call(void *user_data, const pcstate_event *e) noexcept {
        (*static_cast<Fn *>(user_data))(Event::from_c(*e));
    }
    template <class Fn> static void destroy(void *user_data) noexcept { delete static_cast<Fn *>(user_data); }

    uint32_t read(uint32_t (*fn)(pcstate_peer, uint32_t *)) const {
        uint32_t v = 0;
        detail::check(fn(peer_, &v));
        return v;
    }
    void reset() noexcept {
        if (peer_ != 0) (void)pcstate_peer_free(peer_);
        peer_ = 0;
    }
    pcstate_peer peer_ = 0;
};

} // namespace pcstate

#endif /* PCSTATE_HPP */
