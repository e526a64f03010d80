/* pcstate.hpp: the header-only C++17 wrapper over pcstate.h: RAII handles, enum classes, chrono, errors.
 *
 *   pcstate::PeerConnection pc;                                  // W3C profile, no flags
 *   pc.on_event([&](const pcstate::Event &e) {                   // any callable, captures welcome
 *       if (auto c = e.connection_state()) std::cout << c->old_state << " -> " << c->new_state;
 *   });
 *   pcstate::Transport t = pc.add_transport();                   // [[nodiscard]]: keep it
 *   t.set_agent_state(pcstate::IceAgent::Libnice, 4);            // libnice READY
 *   if (pc.connection_state() == pcstate::ConnectionState::Connecting) { ... }
 *   if (auto ttc = pc.stats().time_to_connected()) { ... }       // std::chrono::nanoseconds
 *
 * It adds no behaviour of its own: each member makes one C call (PeerConnection(Config) with an
 * event limit makes two), and what the C header says of that call holds. The C header is the
 * contract for threads, callbacks, event order and results (pcstate.h, "Threads and callbacks",
 * "Results and memory"); what follows is only what the wrapper adds. Its own checks are for values
 * C cannot receive (negative durations and time points: Error(PCSTATE_RESULT_INVALID_ARGUMENT))
 * and for a ConnectionState outside the enum as an index into stats
 * (Error(PCSTATE_RESULT_INVALID_STATE)).
 *
 * Ownership. PeerConnection owns a peer and Transport one transport of a peer; both are move-only
 * RAII handles. ~PeerConnection frees the peer, and with it the callable given to on_event;
 * ~Transport removes the transport, which may deliver events: declare what a callable captures by
 * reference before the PeerConnection and its Transports, so that it outlives them. Destructors
 * ignore errors: a transport whose peer is closed or freed has nothing left to remove, a moved-from
 * object owns nothing. The one case where a destructor leaves something behind is a crossed free
 * between two callables (below); free() reports it.
 *
 * Objects and threads. One object may be used by several threads at once, except that moving,
 * assigning, destroying, free(), remove() and release() must not race with any other use of the
 * same object (they change the handle it holds). A callable receives its peer's events as the C
 * header says a callback does; it is destroyed on the thread that lets go of it (on_event, free,
 * the destructor, or the delivering thread once it returns).
 *
 * Callables. A callable may use the wrapper as the C header lets a callback use the C functions,
 * its own peer included: free() it (pcstate destroys the callable once it returns) or on_event()
 * to replace itself. Where the C call returns PCSTATE_RESULT_WOULD_DEADLOCK, on_event() and free()
 * throw Error(PCSTATE_RESULT_WOULD_DEADLOCK) and change nothing; ~PeerConnection then leaves that
 * peer alive, with its callable.
 *
 * Exceptions. Every failed C call throws pcstate::Error, carrying the C result (pcstate_result)
 * and the C library's message; it allocates nothing, so NO_MEMORY is reported as itself. A C++
 * exception thrown by a callable is caught at the C boundary and passed, with the event, to the
 * handler exception hook (set_handler_exception_hook; by default one line on stderr). The event
 * counts as delivered; the peer, its later events and the call that delivered the event go on as
 * if the callable had returned (that call does not throw it). Any other way out of a callable
 * (thread exit, cancellation, longjmp) is what the C header forbids of a callback. A callable's
 * destructor must not throw (it runs in noexcept code: std::terminate).
 *
 * Time. Clock is pcstate's clock (CLOCK_MONOTONIC, nanoseconds); pcstate::now() reads it. Event
 * times, note_alive() and tick() use Clock::time_point; any monotonic time points of that type
 * work (a fake clock in tests) if one peer always gets the same kind. Stats (stats(),
 * global_stats()) are always measured on the real Clock, whatever time points note_alive() and
 * tick() get. */
#ifndef PCSTATE_HPP
#define PCSTATE_HPP

/* pcstate_peer_stats and pcstate_global_stats name both a function and a struct tag (as POSIX
 * stat does); GCC's -Wshadow reports that in C++ unless the header is a system header. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
#include "pcstate.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <optional>
#include <ostream>
#include <type_traits>
#include <utility>
#include <vector>

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
    /** Not a state change: events were dropped at the event limit (Event::dropped()). */
    Overflow = PCSTATE_EVENT_KIND_OVERFLOW,
};

/** Why a peer's connectionState last became failed (PeerStats::failure_cause()). */
enum class FailureCause : uint32_t {
    None = PCSTATE_FAILURE_CAUSE_NONE,         /* it never failed */
    Ice = PCSTATE_FAILURE_CAUSE_ICE,           /* an ICE transport failed (reported or from its agent) */
    Dtls = PCSTATE_FAILURE_CAUSE_DTLS,         /* a DTLS transport failed */
    Liveness = PCSTATE_FAILURE_CAUSE_LIVENESS, /* a liveness deadline expired (set_liveness) */
};

/** The ICE agent whose own state numbers Transport::set_agent_state takes (docs/feeding.md). */
enum class IceAgent : uint32_t {
    Libnice = PCSTATE_ICE_AGENT_LIBNICE,   /* NiceComponentState */
    Libjuice = PCSTATE_ICE_AGENT_LIBJUICE, /* juice_state_t */
};

/** A browser's liveness timings for PeerConnection::set_liveness_preset (docs/feeding.md). */
enum class LivenessPreset : uint32_t {
    Off = PCSTATE_LIVENESS_PRESET_OFF,           ///< liveness off
    Chromium = PCSTATE_LIVENESS_PRESET_CHROMIUM, ///< disconnected after 6.5 s of silence, failed after 17.6 s
    Firefox = PCSTATE_LIVENESS_PRESET_FIREFOX,   ///< disconnected after 7 s of silence, failed after 27.5 s
};

/** Flag bits for PeerConnection(profile, flags); Config names the same options. */
namespace flags {
/** PCSTATE_FLAG_CLOSE_EVENTS: close() commits closed events. */
constexpr uint32_t CloseEvents = PCSTATE_FLAG_CLOSE_EVENTS;
/** PCSTATE_FLAG_EVENT_QUEUE: events are also queued for poll_event() and event_fd(). */
constexpr uint32_t EventQueue = PCSTATE_FLAG_EVENT_QUEUE;
/** PCSTATE_FLAG_IGNORE_AFTER_CLOSE: after close(), setters succeed and change nothing. */
constexpr uint32_t IgnoreAfterClose = PCSTATE_FLAG_IGNORE_AFTER_CLOSE;
/** PCSTATE_FLAG_HISTORY: the peer keeps its last PCSTATE_HISTORY_LEN events for history(). */
constexpr uint32_t History = PCSTATE_FLAG_HISTORY;
} // namespace flags

/** The library's version, e.g. "0.1.0". */
[[nodiscard]] inline const char *version() noexcept { return pcstate_version(); }

namespace detail {
[[nodiscard]] inline const char *or_unknown(const char *s) noexcept { return s ? s : "unknown"; }
} // namespace detail

/* The W3C names ("new", "connecting", ...), from the C library; "unknown" outside the enum. */
[[nodiscard]] inline const char *to_string(ConnectionState s) noexcept {
    return detail::or_unknown(pcstate_connection_state_name(static_cast<uint32_t>(s)));
}
[[nodiscard]] inline const char *to_string(IceConnectionState s) noexcept {
    return detail::or_unknown(pcstate_ice_connection_state_name(static_cast<uint32_t>(s)));
}
[[nodiscard]] inline const char *to_string(IceTransportState s) noexcept {
    return detail::or_unknown(pcstate_ice_transport_state_name(static_cast<uint32_t>(s)));
}
[[nodiscard]] inline const char *to_string(DtlsTransportState s) noexcept {
    return detail::or_unknown(pcstate_dtls_transport_state_name(static_cast<uint32_t>(s)));
}
[[nodiscard]] inline const char *to_string(IceGatheringState s) noexcept {
    return detail::or_unknown(pcstate_ice_gathering_state_name(static_cast<uint32_t>(s)));
}
[[nodiscard]] inline const char *to_string(IceGathererState s) noexcept {
    return detail::or_unknown(pcstate_ice_gatherer_state_name(static_cast<uint32_t>(s)));
}
/** The DOM event name ("iceconnectionstatechange", ..., "overflow"), from the C library. */
[[nodiscard]] inline const char *to_string(EventKind k) noexcept {
    return detail::or_unknown(pcstate_event_kind_name(static_cast<uint32_t>(k)));
}

/** "none", "ice", "dtls", "liveness", from the C library; "unknown" outside the enum. */
[[nodiscard]] inline const char *to_string(FailureCause c) noexcept {
    return detail::or_unknown(pcstate_failure_cause_name(static_cast<uint32_t>(c)));
}

/* Streams write the same names as to_string. */
inline std::ostream &operator<<(std::ostream &out, ConnectionState s) { return out << to_string(s); }
inline std::ostream &operator<<(std::ostream &out, IceConnectionState s) { return out << to_string(s); }
inline std::ostream &operator<<(std::ostream &out, IceTransportState s) { return out << to_string(s); }
inline std::ostream &operator<<(std::ostream &out, DtlsTransportState s) { return out << to_string(s); }
inline std::ostream &operator<<(std::ostream &out, IceGatheringState s) { return out << to_string(s); }
inline std::ostream &operator<<(std::ostream &out, IceGathererState s) { return out << to_string(s); }
inline std::ostream &operator<<(std::ostream &out, EventKind k) { return out << to_string(k); }
inline std::ostream &operator<<(std::ostream &out, FailureCause c) { return out << to_string(c); }

/** A failed pcstate call: code() is the C result, what() the C library's static message for it
 * (pcstate_result_message). Allocates nothing, so it can report PCSTATE_RESULT_NO_MEMORY. */
class Error : public std::exception {
public:
    /** An error carrying the C result `code`. */
    explicit Error(pcstate_result code) noexcept : code_(code) {}
    /** The C result (a PCSTATE_RESULT_* value). */
    [[nodiscard]] pcstate_result code() const noexcept { return code_; }
    /** The C library's static message for code() (pcstate_result_message). */
    const char *what() const noexcept override { return pcstate_result_message(code_); }

private:
    pcstate_result code_;
};

namespace detail {
/** Throws Error for any result but OK. */
inline void check(pcstate_result r) {
    if (r != PCSTATE_RESULT_OK) throw Error(r);
}
} // namespace detail

/** pcstate's clock: CLOCK_MONOTONIC in nanoseconds (pcstate_now_ns), a std::chrono clock. */
struct Clock {
    /** Nanoseconds, signed (std::chrono's requirement). */
    using rep = int64_t;
    /** One tick is a nanosecond. */
    using period = std::nano;
    /** Durations on this clock. */
    using duration = std::chrono::nanoseconds;
    /** Time points on this clock: what note_alive() and tick() take. */
    using time_point = std::chrono::time_point<Clock>;
    /** CLOCK_MONOTONIC never goes back. */
    static constexpr bool is_steady = true;
    /** Now, from pcstate_now_ns(). */
    [[nodiscard]] static time_point now() noexcept;
};

namespace detail {
/** C nanoseconds to a time point, saturating at time_point::max() (UINT64_MAX included). */
[[nodiscard]] inline Clock::time_point from_ns(uint64_t ns) noexcept {
    constexpr uint64_t max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    return Clock::time_point(Clock::duration(static_cast<int64_t>(ns < max ? ns : max)));
}
/** A time point or duration as C nanoseconds; negative ones have none: INVALID_ARGUMENT. */
[[nodiscard]] inline uint64_t to_ns(std::chrono::nanoseconds d) {
    if (d.count() < 0) throw Error(PCSTATE_RESULT_INVALID_ARGUMENT);
    return static_cast<uint64_t>(d.count());
}
[[nodiscard]] inline uint64_t to_ns(Clock::time_point t) { return to_ns(t.time_since_epoch()); }
} // namespace detail

inline Clock::time_point Clock::now() noexcept { return detail::from_ns(pcstate_now_ns()); }

/** Clock::now(): the time to pass to note_alive() and tick(). */
[[nodiscard]] inline Clock::time_point now() noexcept { return Clock::now(); }

/** One aggregate's change, as an event reports it. */
template <class State> struct StateChange {
    /** The value before the change. */
    State old_state;
    /** The value after the change. */
    State new_state;
    /** Equal when both values are. */
    [[nodiscard]] bool operator==(const StateChange &o) const noexcept {
        return old_state == o.old_state && new_state == o.new_state;
    }
    /** Not equal. */
    [[nodiscard]] bool operator!=(const StateChange &o) const noexcept { return !(*this == o); }
};

/** An event: a change of one of a peer's aggregate states, or an overflow notice. A copy of the
 * C pcstate_event, read through typed accessors. */
class Event {
public:
    /** A copy of the C event `e`. */
    explicit Event(const pcstate_event &e) noexcept : e_(e) {}
    /** The same as Event(e). */
    [[nodiscard]] static Event from_c(const pcstate_event &e) noexcept { return Event(e); }

    /** The peer whose event it is (its C handle). */
    [[nodiscard]] pcstate_peer peer() const noexcept { return e_.peer; }
    /** 1, 2, 3, ... per peer, across all kinds, no gaps. */
    [[nodiscard]] uint64_t seq() const noexcept { return e_.seq; }
    /** When the change was committed (pcstate::Clock). */
    [[nodiscard]] Clock::time_point time() const noexcept { return detail::from_ns(e_.time_ns); }
    /** The transport whose add, remove or set caused it; 0 for close. */
    [[nodiscard]] pcstate_transport transport() const noexcept { return e_.transport; }
    /** Which aggregate changed, or EventKind::Overflow. */
    [[nodiscard]] EventKind kind() const noexcept { return static_cast<EventKind>(e_.kind); }
    /** The DOM event name ("connectionstatechange", ...; "overflow"), from the C library. */
    [[nodiscard]] const char *name() const noexcept { return to_string(kind()); }

    /** The connectionState change, or nullopt for an event of another kind. */
    [[nodiscard]] std::optional<StateChange<ConnectionState>> connection_state() const noexcept {
        return change<ConnectionState>(EventKind::ConnectionState);
    }
    /** The iceConnectionState change, or nullopt for an event of another kind. */
    [[nodiscard]] std::optional<StateChange<IceConnectionState>> ice_connection_state() const noexcept {
        return change<IceConnectionState>(EventKind::IceConnectionState);
    }
    /** The iceGatheringState change, or nullopt for an event of another kind. */
    [[nodiscard]] std::optional<StateChange<IceGatheringState>> ice_gathering_state() const noexcept {
        return change<IceGatheringState>(EventKind::IceGatheringState);
    }

    /** Events were dropped at the peer's event limit: read PeerConnection::snapshot() to resync. */
    [[nodiscard]] bool is_overflow() const noexcept { return kind() == EventKind::Overflow; }
    /** How many events were dropped (saturating; seq() is the newest dropped one's); 0 unless
     * is_overflow(). */
    [[nodiscard]] uint32_t dropped() const noexcept { return is_overflow() ? e_.old_state : 0; }

    /** The W3C names of the old and new state; "unknown" for an overflow event. */
    [[nodiscard]] const char *old_name() const noexcept { return state_name(e_.old_state); }
    /** The W3C name of the new state; "unknown" for an overflow event. */
    [[nodiscard]] const char *new_name() const noexcept { return state_name(e_.new_state); }

    /** The C event, as delivered. */
    [[nodiscard]] const pcstate_event &raw() const noexcept { return e_; }

private:
    template <class State> std::optional<StateChange<State>> change(EventKind k) const noexcept {
        if (kind() != k) return std::nullopt;
        return StateChange<State>{static_cast<State>(e_.old_state), static_cast<State>(e_.new_state)};
    }
    const char *state_name(uint32_t v) const noexcept {
        switch (kind()) {
        case EventKind::IceConnectionState: return to_string(static_cast<IceConnectionState>(v));
        case EventKind::ConnectionState: return to_string(static_cast<ConnectionState>(v));
        case EventKind::IceGatheringState: return to_string(static_cast<IceGatheringState>(v));
        case EventKind::Overflow: break;
        }
        return "unknown";
    }
    pcstate_event e_;
};

/** Receives what a callable threw (any C++ exception, in error) and the event it was handling.
 * Called on the thread that ran the callable, right after it; anything it throws is dropped. */
using HandlerExceptionHook = void (*)(const Event &event, std::exception_ptr error);

/** The default hook: one line on stderr naming the peer, the event and what(). */
inline void default_handler_exception_hook(const Event &event, std::exception_ptr error) noexcept {
    auto report = [&event](const char *what) {
        std::fprintf(stderr,
                     "pcstate: an event handler of peer %llu threw on event #%llu (%s): %s; "
                     "the event counts as delivered\n",
                     static_cast<unsigned long long>(event.peer()), static_cast<unsigned long long>(event.seq()),
                     event.name(), what);
    };
    try {
        if (error) std::rethrow_exception(error);
        report("no exception");
    } catch (const std::exception &e) {
        report(e.what());
    } catch (...) {
        report("an exception not derived from std::exception");
    }
}

namespace detail {
inline std::atomic<HandlerExceptionHook> handler_exception_hook{&default_handler_exception_hook};

/* Called by the C callback with the exception a callable threw; drops what the hook throws. A
 * foreign exception (forced unwinding by thread exit or cancellation) is not a C++ exception, so
 * inside catch (...) std::current_exception() is empty: it is let through, and pcstate stops the
 * process with a message that names the rule. */
inline void report_handler_exception(const Event &event, std::exception_ptr error) {
    try {
        handler_exception_hook.load()(event, std::move(error));
    } catch (...) {
        if (!std::current_exception()) throw;
    }
}
} // namespace detail

/** Installs the hook that receives exceptions thrown by callables (nullptr: the default) for the
 * whole program (a shared library that hides its symbols has its own); returns the previous one.
 * Thread-safe. */
inline HandlerExceptionHook set_handler_exception_hook(HandlerExceptionHook hook) noexcept {
    return detail::handler_exception_hook.exchange(hook ? hook : &default_handler_exception_hook);
}

/** A peer's aggregates and the newest event's seq, read at once. */
struct Snapshot {
    /** connectionState. */
    ConnectionState connection_state;
    /** iceConnectionState. */
    IceConnectionState ice_connection_state;
    /** iceGatheringState. */
    IceGatheringState ice_gathering_state;
    /** How many transports the peer has. */
    uint32_t transport_count;
    /** The seq of the newest event committed (0 if none). */
    uint64_t last_seq;
};

namespace detail {
/* The C stats keep one slot per connectionState, new ..= closed. */
constexpr size_t connection_states = PCSTATE_CONNECTION_STATE_CLOSED + 1;
static_assert(std::extent_v<decltype(static_cast<struct pcstate_peer_stats *>(nullptr)->time_in_state_ns)> ==
                  connection_states &&
              std::extent_v<decltype(static_cast<struct pcstate_peer_stats *>(nullptr)->entered_state)> ==
                  connection_states &&
              std::extent_v<decltype(static_cast<struct pcstate_global_stats *>(nullptr)->peers_in_state)> ==
                  connection_states);
/** `s` as an index into those slots; outside the enum: Error(INVALID_STATE). */
[[nodiscard]] inline size_t state_index(ConnectionState s) {
    const auto i = static_cast<size_t>(s);
    if (i >= connection_states) throw Error(PCSTATE_RESULT_INVALID_STATE);
    return i;
}
/** C nanoseconds as a duration, saturating at nanoseconds::max(). */
[[nodiscard]] inline std::chrono::nanoseconds duration_from_ns(uint64_t ns) noexcept {
    return from_ns(ns).time_since_epoch();
}
} // namespace detail

/** A peer's connection in numbers (PeerConnection::stats()): a copy of the C pcstate_peer_stats,
 * read through std::chrono accessors. Measured on the real Clock up to the moment of the call. */
class PeerStats {
public:
    /** A copy of the C numbers `s`. */
    explicit PeerStats(const struct pcstate_peer_stats &s) noexcept : s_(s) {}
    /** The same as PeerStats(s). */
    [[nodiscard]] static PeerStats from_c(const struct pcstate_peer_stats &s) noexcept { return PeerStats(s); }

    /** When the peer was created. */
    [[nodiscard]] Clock::time_point created() const noexcept { return detail::from_ns(s_.created_ns); }
    /** When connectionState first became connected; nullopt until then. */
    [[nodiscard]] std::optional<Clock::time_point> first_connected() const noexcept {
        if (s_.first_connected_ns == 0) return std::nullopt;
        return detail::from_ns(s_.first_connected_ns);
    }
    /** first_connected() - created(); nullopt until connectionState first became connected. */
    [[nodiscard]] std::optional<std::chrono::nanoseconds> time_to_connected() const noexcept {
        if (s_.first_connected_ns == 0) return std::nullopt;
        return detail::duration_from_ns(s_.first_connected_ns - std::min(s_.first_connected_ns, s_.created_ns));
    }
    /** Time spent in connectionState `s` up to the call, the current stay included; over all six
     * states these sum to the moment of the call minus created(). Outside the enum:
     * Error(INVALID_STATE). */
    [[nodiscard]] std::chrono::nanoseconds time_in_state(ConnectionState s) const {
        return detail::duration_from_ns(s_.time_in_state_ns[detail::state_index(s)]);
    }
    /** How many times connectionState entered `s` (New: 1, at creation). Outside the enum:
     * Error(INVALID_STATE). */
    [[nodiscard]] uint32_t entered(ConnectionState s) const { return s_.entered_state[detail::state_index(s)]; }
    /** Why connectionState last became failed: the input whose failure started the run of failed
     * inputs that made it failed (when ICE and DTLS both failed, the one that failed first);
     * None if it never failed. */
    [[nodiscard]] FailureCause failure_cause() const noexcept { return static_cast<FailureCause>(s_.failure_cause); }
    /** The transport of that input; 0 if none. */
    [[nodiscard]] pcstate_transport failure_transport() const noexcept { return s_.failure_transport; }

    /** The C numbers, as read. */
    [[nodiscard]] const struct pcstate_peer_stats &raw() const noexcept { return s_; }

private:
    struct pcstate_peer_stats s_;
};

/** Process-wide numbers (global_stats()): a copy of the C pcstate_global_stats. */
class GlobalStats {
public:
    /** A copy of the C numbers `s`. */
    explicit GlobalStats(const struct pcstate_global_stats &s) noexcept : s_(s) {}
    /** The same as GlobalStats(s). */
    [[nodiscard]] static GlobalStats from_c(const struct pcstate_global_stats &s) noexcept { return GlobalStats(s); }

    /** Peers created and not freed. */
    [[nodiscard]] uint64_t live_peers() const noexcept { return s_.live_peers; }
    /** Live peers whose connectionState is `s`; over all six states these sum to live_peers()
     * when no call was in flight. Outside the enum: Error(INVALID_STATE). */
    [[nodiscard]] uint64_t peers_in_state(ConnectionState s) const {
        return s_.peers_in_state[detail::state_index(s)];
    }
    /** Events committed by all peers since the process started, freed peers' included. */
    [[nodiscard]] uint64_t events_committed() const noexcept { return s_.events_committed; }
    /** How many times any peer's connectionState became failed. */
    [[nodiscard]] uint64_t failures() const noexcept { return s_.failures; }

    /** The C numbers, as read. */
    [[nodiscard]] const struct pcstate_global_stats &raw() const noexcept { return s_; }

private:
    struct pcstate_global_stats s_;
};

/** The process-wide numbers now (any thread; threads on different peers do not contend for them). */
[[nodiscard]] inline GlobalStats global_stats() {
    struct pcstate_global_stats s {};
    detail::check(pcstate_global_stats(&s));
    return GlobalStats(s);
}

/** One transport's three states (all new by default). */
struct TransportStates {
    /** The ICE transport state. */
    IceTransportState ice = IceTransportState::New;
    /** The DTLS transport state. */
    DtlsTransportState dtls = DtlsTransportState::New;
    /** The ICE gatherer state. */
    IceGathererState gatherer = IceGathererState::New;

    /** Equal when all three are. */
    [[nodiscard]] bool operator==(const TransportStates &o) const noexcept {
        return ice == o.ice && dtls == o.dtls && gatherer == o.gatherer;
    }
    /** Not equal. */
    [[nodiscard]] bool operator!=(const TransportStates &o) const noexcept { return !(*this == o); }
    /** As the C struct. */
    [[nodiscard]] pcstate_transport_states to_c() const noexcept {
        return pcstate_transport_states{static_cast<uint32_t>(ice), static_cast<uint32_t>(dtls),
                                        static_cast<uint32_t>(gatherer)};
    }
    /** From the C struct (values as the C library wrote them). */
    [[nodiscard]] static TransportStates from_c(const pcstate_transport_states &s) noexcept {
        return TransportStates{static_cast<IceTransportState>(s.ice_state),
                               static_cast<DtlsTransportState>(s.dtls_state),
                               static_cast<IceGathererState>(s.gatherer_state)};
    }
};

/** How to create a PeerConnection. */
struct Config {
    /** The rules the peer follows (PCSTATE_PROFILE_*). */
    Profile profile = Profile::W3C;
    /** close() commits closed events (PCSTATE_FLAG_CLOSE_EVENTS). */
    bool close_events = false;
    /** Events are also queued for poll_event() and event_fd() (PCSTATE_FLAG_EVENT_QUEUE). */
    bool event_queue = false;
    /** After close(), adding, removing and setting succeed and change nothing instead of throwing
     * Error(CLOSED), for stacks that keep reporting while they tear down
     * (PCSTATE_FLAG_IGNORE_AFTER_CLOSE). add_transport() then gives an empty Transport. */
    bool ignore_after_close = false;
    /** The event queue's and callback backlog's bound (PeerConnection::set_event_limit). */
    uint32_t event_limit = PCSTATE_DEFAULT_EVENT_LIMIT;
    /** Keep the last PCSTATE_HISTORY_LEN events for PeerConnection::history()
     * (PCSTATE_FLAG_HISTORY, about 1.3 KiB per peer). */
    bool history = false;

    /** The PCSTATE_FLAG_* bits these options name. */
    [[nodiscard]] uint32_t flags() const noexcept {
        return (close_events ? flags::CloseEvents : 0u) | (event_queue ? flags::EventQueue : 0u) |
               (ignore_after_close ? flags::IgnoreAfterClose : 0u) | (history ? flags::History : 0u);
    }
};

/** One transport of a peer; removes itself from the peer when destroyed (unless removed or
 * released before). Move-only. Empty (false) when default-constructed or moved from, and when
 * add_transport() ran on a closed peer with Config::ignore_after_close: then its setters and
 * remove() succeed and change nothing (the C library's transport 0), and its getters throw
 * Error(UNKNOWN_TRANSPORT). */
class Transport {
public:
    Transport() noexcept = default;
    /** Takes ownership of transport `id` of `peer`. */
    Transport(pcstate_peer peer, pcstate_transport id) noexcept : peer_(peer), id_(id) {}
    /** Takes over `o`'s transport; `o` is left empty. */
    Transport(Transport &&o) noexcept : peer_(std::exchange(o.peer_, 0)), id_(std::exchange(o.id_, 0)) {}
    /** Removes this object's transport, then takes over `o`'s; `o` is left empty. */
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

    /** The C transport id (0 when empty). */
    [[nodiscard]] pcstate_transport id() const noexcept { return id_; }
    /** The C handle of the transport's peer. */
    [[nodiscard]] pcstate_peer peer() const noexcept { return peer_; }
    /** Whether it holds a transport. */
    [[nodiscard]] explicit operator bool() const noexcept { return id_ != 0; }

    /** Sets the ICE state, detaching an ICE agent (pcstate_transport_set_ice_state). */
    void set_ice_state(IceTransportState s) {
        detail::check(pcstate_transport_set_ice_state(peer_, id_, static_cast<uint32_t>(s)));
    }
    /** Sets the DTLS state (pcstate_transport_set_dtls_state). */
    void set_dtls_state(DtlsTransportState s) {
        detail::check(pcstate_transport_set_dtls_state(peer_, id_, static_cast<uint32_t>(s)));
    }
    /** Sets the gatherer state (pcstate_transport_set_gatherer_state). */
    void set_gatherer_state(IceGathererState s) {
        detail::check(pcstate_transport_set_gatherer_state(peer_, id_, static_cast<uint32_t>(s)));
    }
    /** Sets all three at once: one commit, events only for the net change. Detaches the
     * transport from its ICE agent, as set_ice_state does. */
    void set_states(const TransportStates &s) {
        const pcstate_transport_states c = s.to_c();
        detail::check(pcstate_transport_set_states(peer_, id_, &c));
    }
    /** set_states(TransportStates{ice, dtls, gatherer}). */
    void set_states(IceTransportState ice, DtlsTransportState dtls, IceGathererState gatherer) {
        set_states(TransportStates{ice, dtls, gatherer});
    }
    /** Sets any of the three at once (an empty optional keeps that state,
     * PCSTATE_STATE_UNCHANGED): one commit. Without an ICE state an agent-driven ICE state stays
     * agent-driven, re-derived from a new gatherer state in the same commit. */
    void set_states(std::optional<IceTransportState> ice, std::optional<DtlsTransportState> dtls,
                    std::optional<IceGathererState> gatherer) {
        const auto c = [](auto v) { return v ? static_cast<uint32_t>(*v) : PCSTATE_STATE_UNCHANGED; };
        const pcstate_transport_states s{c(ice), c(dtls), c(gatherer)};
        detail::check(pcstate_transport_set_states(peer_, id_, &s));
    }
    /** Reports the ICE agent's own state number (e.g. IceAgent::Libnice, 4 for READY); the ICE
     * state is derived from it, the gatherer state and the remote's end-of-candidates. Unknown
     * agent: Error(INVALID_ARGUMENT); number outside the agent's states: Error(INVALID_STATE). */
    void set_agent_state(IceAgent agent, uint32_t agent_state) {
        detail::check(
            pcstate_transport_set_ice_agent_state(peer_, id_, static_cast<uint32_t>(agent), agent_state));
    }
    /** The remote signalled the end of its candidates (kept until the ICE session ends: a
     * restart, or the agent detached). */
    void set_remote_end_of_candidates() {
        detail::check(pcstate_transport_set_remote_end_of_candidates(peer_, id_));
    }
    /** A remote candidate was given to the agent: an agent state that checks before any pair
     * exists (libjuice CONNECTING) reads checking only from then on, new before. Kept until the
     * ICE session ends. */
    void note_remote_candidate() { detail::check(pcstate_transport_note_remote_candidate(peer_, id_)); }
    /** An ICE restart began (restartIce(), an ICE-restart offer or answer): call it before
     * restarting the agent. The session's facts end; a connected or completed transport reads
     * connected until its agent (or a state set directly) reports connected, completed,
     * disconnected or failed, as browsers keep a transport connected through restartIce(). */
    void restart_ice() { detail::check(pcstate_transport_restart_ice(peer_, id_)); }
    /** Something arrived on the transport at `now` (per packet, with liveness on). A time point
     * before the clock's epoch: Error(INVALID_ARGUMENT). */
    void note_alive(Clock::time_point now = pcstate::now()) {
        detail::check(pcstate_transport_note_alive(peer_, id_, detail::to_ns(now)));
    }
    /** The effective states, which the aggregates use (liveness applied). */
    [[nodiscard]] TransportStates states() const {
        pcstate_transport_states s;
        detail::check(pcstate_transport_get_states(peer_, id_, &s));
        return TransportStates::from_c(s);
    }
    /** The states as reported (ICE as set or derived from the agent), before liveness. */
    [[nodiscard]] TransportStates reported_states() const {
        pcstate_transport_states s;
        detail::check(pcstate_transport_get_reported_states(peer_, id_, &s));
        return TransportStates::from_c(s);
    }
    /** Removes the transport from its peer now (throws on error; then it still owns it). */
    void remove() {
        detail::check(pcstate_transport_remove(peer_, id_));
        peer_ = 0;
        id_ = 0;
    }
    /** Gives up ownership: the destructor will not remove the transport. Returns its id, which
     * may be ignored (as after close, when there is nothing left to remove). */
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
    /** A peer as `config` says; on error nothing is left behind. */
    explicit PeerConnection(const Config &config) : PeerConnection(config.profile, config.flags()) {
        if (config.event_limit != PCSTATE_DEFAULT_EVENT_LIMIT) {
            const pcstate_result r = pcstate_peer_set_event_limit(peer_, config.event_limit);
            if (r != PCSTATE_RESULT_OK) {
                reset(); /* the destructor does not run when a constructor throws */
                detail::check(r);
            }
        }
    }
    /** Takes over `o`'s peer; `o` is left empty. */
    PeerConnection(PeerConnection &&o) noexcept : peer_(std::exchange(o.peer_, 0)) {}
    /** Frees this object's peer, then takes over `o`'s; `o` is left empty. */
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

    /** The C handle (0 when empty). */
    [[nodiscard]] pcstate_peer handle() const noexcept { return peer_; }
    /** Whether it holds a peer. */
    [[nodiscard]] explicit operator bool() const noexcept { return peer_ != 0; }

    /** RTCPeerConnection.close(): no event unless close events are on. */
    void close() { detail::check(pcstate_peer_close(peer_)); }
    /** Whether connectionState is closed. */
    [[nodiscard]] bool closed() const { return connection_state() == ConnectionState::Closed; }
    /** Frees the peer now (the destructor then does nothing). From inside a callable it may throw
     * Error(WOULD_DEADLOCK) (see the top of this header); the peer is then still owned. */
    void free() {
        detail::check(pcstate_peer_free(peer_));
        peer_ = 0;
    }

    /** Adds a transport in states new/new/new. Discarding the result removes it at once. */
    [[nodiscard]] Transport add_transport() {
        pcstate_transport id = 0;
        detail::check(pcstate_transport_add(peer_, &id));
        return Transport(peer_, id);
    }
    /** Adds a transport already in `states` (e.g. one that already runs): one commit, no
     * intermediate events. */
    [[nodiscard]] Transport add_transport(const TransportStates &states) {
        const pcstate_transport_states c = states.to_c();
        pcstate_transport id = 0;
        detail::check(pcstate_transport_add_with_states(peer_, &c, &id));
        return Transport(peer_, id);
    }
    /** add_transport(TransportStates{ice, dtls, gatherer}). */
    [[nodiscard]] Transport add_transport(IceTransportState ice, DtlsTransportState dtls = DtlsTransportState::New,
                                          IceGathererState gatherer = IceGathererState::New) {
        return add_transport(TransportStates{ice, dtls, gatherer});
    }

    /** connectionState (pcstate_peer_connection_state). */
    [[nodiscard]] ConnectionState connection_state() const {
        return static_cast<ConnectionState>(read(pcstate_peer_connection_state));
    }
    /** iceConnectionState (pcstate_peer_ice_connection_state). */
    [[nodiscard]] IceConnectionState ice_connection_state() const {
        return static_cast<IceConnectionState>(read(pcstate_peer_ice_connection_state));
    }
    /** iceGatheringState (pcstate_peer_ice_gathering_state). */
    [[nodiscard]] IceGatheringState ice_gathering_state() const {
        return static_cast<IceGatheringState>(read(pcstate_peer_ice_gathering_state));
    }
    /** All three aggregates, the transport count and the newest seq in one reading (pcstate_peer_snapshot). */
    [[nodiscard]] Snapshot snapshot() const {
        pcstate_snapshot s;
        detail::check(pcstate_peer_snapshot(peer_, &s));
        return Snapshot{static_cast<ConnectionState>(s.connection_state),
                        static_cast<IceConnectionState>(s.ice_connection_state),
                        static_cast<IceGatheringState>(s.ice_gathering_state), s.transport_count, s.last_seq};
    }

    /** The peer's numbers up to now: times in and entries into each connectionState, when it
     * was created and first connected, and why it last failed. */
    [[nodiscard]] PeerStats stats() const {
        struct pcstate_peer_stats s {};
        detail::check(pcstate_peer_stats(peer_, &s));
        return PeerStats(s);
    }
    /** Frees the peer now, as free() does, and returns its numbers as of the free, read in the
     * same step (pcstate_peer_free_with_stats): a final report that has every change made before
     * and needs no close() first. On an exception (WOULD_DEADLOCK, see free()) the peer is still
     * owned and unchanged. */
    [[nodiscard]] PeerStats free_with_stats() {
        struct pcstate_peer_stats s {};
        detail::check(pcstate_peer_free_with_stats(peer_, &s));
        peer_ = 0;
        return PeerStats(s);
    }
    /** The peer's last committed events, at most PCSTATE_HISTORY_LEN, oldest first: those its
     * callable and queue got, and also those they dropped at the event limit (overflow notices are
     * not events and are not kept). Needs Config::history (flags::History), else
     * Error(INVALID_ARGUMENT). */
    [[nodiscard]] std::vector<Event> history() const {
        pcstate_event kept[PCSTATE_HISTORY_LEN];
        size_t n = 0;
        detail::check(pcstate_peer_history(peer_, kept, PCSTATE_HISTORY_LEN, &n));
        std::vector<Event> out;
        out.reserve(n);
        for (size_t i = 0; i < n; ++i) out.emplace_back(kept[i]);
        return out;
    }

    /** Bounds the event queue and the callback backlog to `max_events` each
     * (1 ..= PCSTATE_MAX_EVENT_LIMIT, else Error(INVALID_ARGUMENT)); what does not fit is dropped
     * and reported by one overflow event (Event::is_overflow()). Error(NO_MEMORY), nothing
     * changed, when a limit other than the default cannot get the few bytes that keep it. */
    void set_event_limit(uint32_t max_events) { detail::check(pcstate_peer_set_event_limit(peer_, max_events)); }

    /** Liveness: a connected transport with nothing noted alive for `disconnected` reads
     * disconnected, for `failed` failed (0: never). (0, 0) turns it off, the default. Negative
     * durations, `disconnected` 0 with `failed` not, or `failed` not longer than `disconnected`:
     * Error(INVALID_ARGUMENT). Call tick() by the deadline it returns. Any std::chrono duration
     * converts (std::chrono::seconds(5)). For a browser's timings use set_liveness_preset. */
    void set_liveness(std::chrono::nanoseconds disconnected, std::chrono::nanoseconds failed) {
        detail::check(pcstate_peer_set_liveness(peer_, detail::to_ns(disconnected), detail::to_ns(failed)));
    }
    /** Liveness with the thresholds that reproduce a browser's timings for a path that goes
     * silent during media: LivenessPreset::Chromium (6.5 s, 17.6 s), LivenessPreset::Firefox
     * (7 s, 27.5 s); LivenessPreset::Off turns it off. Another value:
     * Error(INVALID_ARGUMENT). */
    void set_liveness_preset(LivenessPreset preset) {
        detail::check(pcstate_peer_set_liveness_preset(peer_, static_cast<uint32_t>(preset)));
    }
    /** Applies the liveness deadlines that passed by `now` and delivers their events. Returns the
     * next deadline, when tick() should run again; nullopt when there is none (liveness off, no
     * connected transport, or the peer closed). A deadline beyond Clock::time_point::max()
     * reads as max(). [[nodiscard]]: the deadline is what to arm the timer with; write (void) to
     * tick on a fixed period instead. */
    [[nodiscard]] std::optional<Clock::time_point> tick(Clock::time_point now = pcstate::now()) {
        uint64_t next = 0;
        detail::check(pcstate_peer_tick(peer_, detail::to_ns(now), &next));
        if (next == UINT64_MAX) return std::nullopt;
        return detail::from_ns(next);
    }

    /** Calls fn(const Event&) for every event, replacing any previous callable, which is destroyed
     * before this returns (when called from inside it: once it returns). fn may be move-only and
     * capture anything; what it throws goes to the handler exception hook. From inside a callable
     * this may throw Error(WOULD_DEADLOCK) (see the top of this header); Error(NO_MEMORY) when
     * memory for the registration cannot be had. Either way nothing changed and fn is destroyed. */
    template <class F> void on_event(F &&fn) {
        using Fn = std::decay_t<F>;
        static_assert(std::is_invocable_v<Fn &, const Event &>, "on_event needs a callable taking const Event&");
        Fn *holder = new Fn(std::forward<F>(fn));
        const pcstate_result r = pcstate_peer_set_callback(peer_, &call<Fn>, holder, &destroy<Fn>);
        if (r != PCSTATE_RESULT_OK) {
            delete holder; /* on error pcstate took nothing */
            detail::check(r);
        }
    }
    /** Clears the callable. */
    void on_event(std::nullptr_t) { detail::check(pcstate_peer_set_callback(peer_, nullptr, nullptr, nullptr)); }

    /** The oldest queued event, or nullopt when none is queued (needs the event queue, else
     * Error(INVALID_ARGUMENT)). */
    [[nodiscard]] std::optional<Event> poll_event() {
        pcstate_event e;
        const pcstate_result r = pcstate_peer_poll_event(peer_, &e);
        if (r == PCSTATE_RESULT_EMPTY) return std::nullopt;
        detail::check(r);
        return Event(e);
    }
    /** The event fd (pcstate_peer_event_fd), readable while events are queued; owned by the peer: do not close it (needs
     * the event queue). */
    [[nodiscard]] int event_fd() const {
        int fd = -1;
        detail::check(pcstate_peer_event_fd(peer_, &fd));
        return fd;
    }

private:
    /* The C callback. Not noexcept so that forced unwinding may pass to pcstate's guard; every
     * C++ exception the callable throws stops here. */
    template <class Fn> static void call(void *user_data, const pcstate_event *e) {
        const Event event(*e);
        try {
            (*static_cast<Fn *>(user_data))(event);
        } catch (...) {
            std::exception_ptr error = std::current_exception();
            if (!error) throw; /* foreign: forced unwinding (see report_handler_exception) */
            detail::report_handler_exception(event, std::move(error));
        }
    }
    template <class Fn> static void destroy(void *user_data) noexcept { delete static_cast<Fn *>(user_data); }

    template <class ReadFn> uint32_t read(ReadFn fn) const {
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
