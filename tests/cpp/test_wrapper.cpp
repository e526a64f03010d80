// Tests of include/pcstate.hpp, every member, under ASan + UBSan (Makefile test-cpp).
#include "pcstate.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;
using pcstate::DtlsTransportState;
using pcstate::IceGathererState;
using pcstate::IceTransportState;

static std::atomic<int> checks{0}, failures{0};
#define CHECK(cond)                                                                        \
    do {                                                                                   \
        ++checks;                                                                          \
        if (!(cond)) {                                                                     \
            ++failures;                                                                    \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                                  \
    } while (0)

/* The result a call threw as pcstate::Error, or OK when it returned. */
template <class F> static pcstate_result error_code(F &&f) {
    try {
        f();
    } catch (const pcstate::Error &e) {
        return e.code();
    }
    return PCSTATE_RESULT_OK;
}

static bool handle_valid(pcstate_peer h) {
    uint32_t v;
    return pcstate_peer_connection_state(h, &v) == PCSTATE_RESULT_OK;
}

static pcstate::Config queue_config() {
    pcstate::Config c;
    c.event_queue = true;
    return c;
}

static std::vector<pcstate::Event> drain(pcstate::PeerConnection &pc) {
    std::vector<pcstate::Event> out;
    while (auto e = pc.poll_event()) out.push_back(*e);
    return out;
}

static void test_moves_and_destructors() {
    pcstate_peer h = 0;
    {
        pcstate::PeerConnection pc;
        h = pc.handle();
        CHECK(h != 0 && handle_valid(h));
        pcstate::PeerConnection moved(std::move(pc));
        CHECK(!pc && moved.handle() == h);
        pcstate::PeerConnection other(pcstate::Profile::Legacy2016);
        pcstate_peer h2 = other.handle();
        other = std::move(moved); // frees other's peer
        CHECK(!handle_valid(h2));
        CHECK(other.handle() == h && handle_valid(h));
    }
    CHECK(!handle_valid(h)); // destructor freed it

    pcstate::PeerConnection pc;
    {
        pcstate::Transport t = pc.add_transport();
        CHECK(t.id() == 1 && t.peer() == pc.handle() && pc.snapshot().transport_count == 1);
        pcstate::Transport t2(std::move(t));
        CHECK(!t && t2.id() == 1);
    }
    CHECK(pc.snapshot().transport_count == 0); // ~Transport removed it
    pcstate::Transport kept = pc.add_transport();
    CHECK(kept.id() == 2);
    pcstate_transport id = kept.release();
    CHECK(id == 2 && !kept);
    CHECK(pc.snapshot().transport_count == 1);
    pcstate::Transport removed = pc.add_transport();
    removed.remove();
    CHECK(pc.snapshot().transport_count == 1);
    // A transport that outlives its peer: its destructor ignores the freed peer.
    pcstate::Transport orphan;
    {
        pcstate::PeerConnection short_lived;
        orphan = short_lived.add_transport();
    }
    CHECK(orphan.id() == 1);
    // Discarding add_transport's result (with an explicit cast, as [[nodiscard]] demands) removes
    // the transport at once.
    (void)pc.add_transport();
    CHECK(pc.snapshot().transport_count == 1);
    static_assert(!std::is_copy_constructible_v<pcstate::PeerConnection> &&
                      !std::is_copy_constructible_v<pcstate::Transport> &&
                      std::is_nothrow_move_constructible_v<pcstate::PeerConnection> &&
                      std::is_nothrow_move_assignable_v<pcstate::Transport>,
                  "move-only RAII");
}

static void test_lambdas() {
    pcstate::PeerConnection pc(pcstate::Profile::W3C, pcstate::flags::CloseEvents);
    std::vector<std::string> log;
    int destroyed = 0;
    struct Tracker {
        explicit Tracker(int *d) : destroyed(d) {}
        int *destroyed;
        ~Tracker() { ++*destroyed; }
    };
    auto tracker = std::make_unique<Tracker>(&destroyed);
    // A move-only lambda with captures by reference and by move.
    pc.on_event([&log, t = std::move(tracker)](const pcstate::Event &e) {
        (void)t;
        log.push_back(std::string(pcstate::to_string(e.kind())) + " " + e.old_name() + "->" + e.new_name());
    });
    pcstate::Transport t = pc.add_transport();
    t.set_ice_state(IceTransportState::Checking);
    t.set_dtls_state(DtlsTransportState::Connected);
    t.set_ice_state(IceTransportState::Connected);
    CHECK(pc.connection_state() == pcstate::ConnectionState::Connected);
    CHECK(pc.ice_connection_state() == pcstate::IceConnectionState::Connected);
    CHECK(pc.ice_gathering_state() == pcstate::IceGatheringState::New);
    std::vector<std::string> want = {
        "iceconnectionstatechange new->checking", "connectionstatechange new->connecting",
        "iceconnectionstatechange checking->connected", "connectionstatechange connecting->connected"};
    CHECK(log == want);
    // Replacing the callable destroys the old one exactly once.
    int calls = 0;
    CHECK(destroyed == 0);
    pc.on_event([&calls](const pcstate::Event &) { ++calls; });
    CHECK(destroyed == 1);
    CHECK(!pc.closed());
    pc.close();
    CHECK(pc.closed());
    CHECK(calls == 2);
    auto st = t.states();
    CHECK(st.ice == IceTransportState::Closed && st.dtls == DtlsTransportState::Closed);
    pc.on_event(nullptr);
    CHECK(std::string(pcstate::to_string(pcstate::ConnectionState::Failed)) == "failed");
    CHECK(std::string(pcstate::to_string(static_cast<pcstate::ConnectionState>(99))) == "unknown");
}

static void test_errors_and_queue() {
    pcstate::PeerConnection pc(pcstate::Profile::W3CLiteral, pcstate::flags::EventQueue);
    CHECK(error_code([] { pcstate::PeerConnection bad(static_cast<pcstate::Profile>(7)); }) ==
          PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(error_code([] { pcstate::PeerConnection bad(pcstate::Profile::W3C, 64); }) ==
          PCSTATE_RESULT_INVALID_ARGUMENT);
    pcstate::Transport t = pc.add_transport();
    CHECK(error_code([&] { t.set_ice_state(static_cast<IceTransportState>(9)); }) == PCSTATE_RESULT_INVALID_STATE);
    CHECK(pc.event_fd() >= 0);
    CHECK(!pc.poll_event());
    t.set_gatherer_state(IceGathererState::Gathering);
    auto e = pc.poll_event();
    CHECK(e && e->seq() == 1 && e->kind() == pcstate::EventKind::IceGatheringState && e->transport() == t.id());
    pc.close();
    CHECK(error_code([&] { (void)pc.add_transport(); }) == PCSTATE_RESULT_CLOSED);
    try {
        t.set_ice_state(IceTransportState::Checking);
        CHECK(false);
    } catch (const pcstate::Error &err) {
        CHECK(err.code() == PCSTATE_RESULT_CLOSED);
        CHECK(std::string(err.what()) == "the peer is closed");
    }
    pcstate::PeerConnection plain;
    CHECK(error_code([&] { (void)plain.poll_event(); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(error_code([&] { (void)plain.event_fd(); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    pcstate_peer h = plain.handle();
    plain.free();
    CHECK(!plain && !handle_valid(h));
    pcstate::PeerConnection moved_from;
    pcstate::PeerConnection sink(std::move(moved_from));
    CHECK(error_code([&] { (void)moved_from.snapshot(); }) == PCSTATE_RESULT_INVALID_HANDLE);
    CHECK(error_code([&] { (void)moved_from.closed(); }) == PCSTATE_RESULT_INVALID_HANDLE);
    // A transport id the peer never issued.
    pcstate::Transport bogus(sink.handle(), 999);
    CHECK(error_code([&] { bogus.set_dtls_state(DtlsTransportState::Connected); }) ==
          PCSTATE_RESULT_UNKNOWN_TRANSPORT);
    CHECK(error_code([&] { (void)bogus.reported_states(); }) == PCSTATE_RESULT_UNKNOWN_TRANSPORT);
    CHECK(error_code([&] { bogus.remove(); }) == PCSTATE_RESULT_UNKNOWN_TRANSPORT && bogus.id() == 999);
    // A callable that frees its own peer from inside, through the C call.
    pcstate::PeerConnection self_freeing;
    pcstate_peer sh = self_freeing.handle();
    int seen = 0;
    self_freeing.on_event([&seen, sh](const pcstate::Event &) {
        ++seen;
        CHECK(pcstate_peer_free(sh) == PCSTATE_RESULT_OK);
    });
    pcstate::Transport st = self_freeing.add_transport();
    st.set_ice_state(IceTransportState::Checking);
    CHECK(seen == 1 && !handle_valid(sh));
}

/* Every result maps to pcstate::Error with that code and the C library's message, NO_MEMORY
 * included; the error allocates nothing and is a std::exception. */
static void test_error_mapping() {
    static_assert(std::is_base_of_v<std::exception, pcstate::Error>);
    static_assert(std::is_nothrow_copy_constructible_v<pcstate::Error>);
    static_assert(std::is_same_v<decltype(std::declval<pcstate::Error>().code()), pcstate_result>);
    CHECK(error_code([] { pcstate::detail::check(PCSTATE_RESULT_OK); }) == PCSTATE_RESULT_OK);
    for (uint32_t code = PCSTATE_RESULT_NULL_ARGUMENT; code <= PCSTATE_RESULT_NO_MEMORY; ++code) {
        try {
            pcstate::detail::check(static_cast<pcstate_result>(code));
            CHECK(false);
        } catch (const pcstate::Error &e) {
            CHECK(e.code() == static_cast<pcstate_result>(code));
            CHECK(std::strcmp(e.what(), pcstate_result_message(code)) == 0);
            CHECK(std::strcmp(e.what(), pcstate_result_message(PCSTATE_RESULT_OK)) != 0);
        }
    }
    pcstate::Error oom(PCSTATE_RESULT_NO_MEMORY);
    CHECK(oom.code() == PCSTATE_RESULT_NO_MEMORY);
    CHECK(std::string(oom.what()) == "out of memory; nothing was changed");
    const std::exception &base = oom;
    CHECK(std::string(base.what()) == pcstate_result_message(PCSTATE_RESULT_NO_MEMORY));
}

/* LIMIT through a real call: 65,535 transports on one peer, then one more. */
static void test_limit() {
    pcstate::PeerConnection pc;
    std::vector<pcstate::Transport> ts;
    ts.reserve(65535);
    for (int i = 0; i < 65535; i++) ts.push_back(pc.add_transport());
    CHECK(pc.snapshot().transport_count == 65535);
    CHECK(error_code([&] { (void)pc.add_transport(); }) == PCSTATE_RESULT_LIMIT);
    CHECK(error_code([&] { (void)pc.add_transport(IceTransportState::Connected); }) == PCSTATE_RESULT_LIMIT);
    CHECK(pc.snapshot().transport_count == 65535);
}

static void test_event_accessors() {
    pcstate::PeerConnection pc(queue_config());
    pcstate::Transport t = pc.add_transport();
    const auto before = pcstate::now();
    t.set_ice_state(IceTransportState::Checking);
    t.set_gatherer_state(IceGathererState::Gathering);
    const auto after = pcstate::now();
    auto ev = drain(pc);
    CHECK(ev.size() == 3);
    if (ev.size() != 3) return;

    const pcstate::Event &ice = ev[0];
    CHECK(ice.kind() == pcstate::EventKind::IceConnectionState);
    CHECK(std::string(ice.name()) == "iceconnectionstatechange");
    CHECK(ice.seq() == 1 && ice.peer() == pc.handle() && ice.transport() == t.id());
    CHECK(ice.time() >= before && ice.time() <= after);
    using IC = pcstate::IceConnectionState;
    CHECK(ice.ice_connection_state() == (pcstate::StateChange<IC>{IC::New, IC::Checking}));
    CHECK(!ice.connection_state() && !ice.ice_gathering_state());
    CHECK(!ice.is_overflow() && ice.dropped() == 0);
    CHECK(std::string(ice.old_name()) == "new" && std::string(ice.new_name()) == "checking");
    CHECK(ice.raw().kind == PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE && ice.raw().seq == 1);

    const pcstate::Event &conn = ev[1];
    using C = pcstate::ConnectionState;
    CHECK(conn.connection_state() == (pcstate::StateChange<C>{C::New, C::Connecting}));
    CHECK(conn.connection_state() != (pcstate::StateChange<C>{C::New, C::Connected}));
    CHECK(!conn.ice_connection_state() && !conn.ice_gathering_state());
    CHECK(std::string(conn.name()) == "connectionstatechange" && conn.seq() == 2);

    const pcstate::Event &gathering = ev[2];
    using G = pcstate::IceGatheringState;
    CHECK(gathering.ice_gathering_state() == (pcstate::StateChange<G>{G::New, G::Gathering}));
    CHECK(!gathering.connection_state() && !gathering.ice_connection_state());
    CHECK(std::string(gathering.name()) == "icegatheringstatechange");
    CHECK(std::string(gathering.new_name()) == "gathering");

    // The DOM names are the C library's own strings, not copies.
    for (uint32_t k = 0; k <= 5; ++k)
        CHECK(pcstate::to_string(static_cast<pcstate::EventKind>(k)) ==
              (pcstate_event_kind_name(k) ? pcstate_event_kind_name(k) : std::string("unknown")));
    CHECK(pcstate::to_string(pcstate::EventKind::ConnectionState) ==
          pcstate_event_kind_name(PCSTATE_EVENT_KIND_CONNECTION_STATE));
    CHECK(std::string(pcstate::to_string(pcstate::EventKind::Overflow)) == "overflow");
    CHECK(std::string(pcstate::to_string(static_cast<pcstate::EventKind>(0))) == "unknown");

    // A C event read back, from_c and the constructor alike.
    pcstate_event raw{};
    raw.kind = 77;
    raw.seq = 9;
    auto odd = pcstate::Event::from_c(raw);
    CHECK(odd.seq() == 9 && std::string(odd.name()) == "unknown" && std::string(odd.old_name()) == "unknown");
    CHECK(!odd.connection_state() && !odd.is_overflow());

    std::ostringstream out;
    out << C::Connected << ' ' << IC::Completed << ' ' << IceTransportState::Disconnected << ' '
        << DtlsTransportState::Failed << ' ' << G::Complete << ' ' << IceGathererState::Gathering << ' '
        << pcstate::EventKind::IceGatheringState;
    CHECK(out.str() == "connected completed disconnected failed complete gathering icegatheringstatechange");
    CHECK(std::string(pcstate::version()) == pcstate_version());
}

/* Event limit and overflow, in the queue and in a callable's backlog. */
static void test_overflow_and_event_limit() {
    pcstate::Config config = queue_config();
    config.event_limit = 2;
    pcstate::PeerConnection pc(config);
    pcstate::Transport t = pc.add_transport();
    t.set_ice_state(IceTransportState::Checking);          // seq 1, 2
    t.set_gatherer_state(IceGathererState::Gathering);     // seq 3: dropped
    t.set_gatherer_state(IceGathererState::Complete);      // seq 4: dropped
    auto ev = drain(pc);
    CHECK(ev.size() == 3);
    if (ev.size() == 3) {
        CHECK(ev[0].seq() == 1 && ev[1].seq() == 2);
        const pcstate::Event &o = ev[2];
        CHECK(o.is_overflow() && o.kind() == pcstate::EventKind::Overflow);
        CHECK(o.dropped() == 2 && o.seq() == 4);
        CHECK(std::string(o.name()) == "overflow" && std::string(o.old_name()) == "unknown");
        CHECK(!o.connection_state() && !o.ice_connection_state() && !o.ice_gathering_state());
    }
    auto s = pc.snapshot(); // resynchronise
    CHECK(s.last_seq == 4 && s.ice_gathering_state == pcstate::IceGatheringState::Complete);

    CHECK(error_code([&] { pc.set_event_limit(0); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(error_code([&] { pc.set_event_limit(PCSTATE_MAX_EVENT_LIMIT + 1); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    pc.set_event_limit(1);
    t.set_ice_state(IceTransportState::Connected);   // ice checking->connected; connection stays
    t.set_dtls_state(DtlsTransportState::Connected); // connection connecting->connected: dropped
    ev = drain(pc);
    CHECK(ev.size() == 2 && ev[1].is_overflow() && ev[1].dropped() == 1);
    pc.set_event_limit(PCSTATE_MAX_EVENT_LIMIT);

    pcstate::Config bad;
    bad.event_limit = 0;
    CHECK(error_code([&] { pcstate::PeerConnection p(bad); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    bad.event_limit = PCSTATE_MAX_EVENT_LIMIT + 1;
    CHECK(error_code([&] { pcstate::PeerConnection p(bad); }) == PCSTATE_RESULT_INVALID_ARGUMENT);

    // A callable's backlog: events committed while it runs wait for it, bounded by the limit.
    // (What a callable captures by reference is declared before the peer: ~Transport removes,
    // which may deliver events.)
    std::vector<pcstate::Event> got;
    bool nested = false;
    pcstate::PeerConnection cb_pc;
    cb_pc.set_event_limit(1);
    pcstate::Transport ct = cb_pc.add_transport();
    cb_pc.on_event([&](const pcstate::Event &e) {
        got.push_back(e);
        if (nested) return;
        nested = true;
        ct.set_gatherer_state(IceGathererState::Gathering); // kept
        ct.set_gatherer_state(IceGathererState::Complete);  // dropped
        ct.set_gatherer_state(IceGathererState::Gathering); // dropped
    });
    ct.set_dtls_state(DtlsTransportState::Connecting); // connection new->connecting
    CHECK(got.size() == 3);
    if (got.size() == 3) {
        CHECK(got[0].connection_state() && got[1].ice_gathering_state());
        CHECK(got[2].is_overflow() && got[2].dropped() == 2 && got[2].seq() == 4);
    }
}

static void test_set_states_and_add_with_states() {
    pcstate::PeerConnection pc(queue_config());
    // Attaching a transport that already runs: one commit, only the net change.
    pcstate::Transport t =
        pc.add_transport(IceTransportState::Connected, DtlsTransportState::Connected, IceGathererState::Complete);
    auto ev = drain(pc);
    std::vector<std::string> names;
    for (auto &e : ev) names.push_back(std::string(e.name()) + " " + e.old_name() + "->" + e.new_name());
    std::vector<std::string> want = {"iceconnectionstatechange new->connected", "connectionstatechange new->connected",
                                     "icegatheringstatechange new->complete"};
    CHECK(names == want);
    CHECK((t.states() == pcstate::TransportStates{IceTransportState::Connected, DtlsTransportState::Connected,
                                                   IceGathererState::Complete}));
    CHECK(t.reported_states() == t.states());

    // The same through three setters passes through connecting: the control.
    pcstate::PeerConnection control(queue_config());
    pcstate::Transport c = control.add_transport();
    c.set_ice_state(IceTransportState::Connected);
    c.set_dtls_state(DtlsTransportState::Connected);
    c.set_gatherer_state(IceGathererState::Complete);
    bool via_connecting = false;
    for (auto &e : drain(control))
        if (auto cs = e.connection_state()) via_connecting |= cs->new_state == pcstate::ConnectionState::Connecting;
    CHECK(via_connecting);

    // set_states: ICE and DTLS change together, one commit.
    t.set_states(IceTransportState::Checking, DtlsTransportState::Connecting, IceGathererState::Gathering);
    ev = drain(pc);
    CHECK(ev.size() == 3 && ev[0].seq() == 4 && ev[2].seq() == 6);
    pcstate::TransportStates back;
    back.ice = IceTransportState::Connected;
    back.dtls = DtlsTransportState::Connected;
    back.gatherer = IceGathererState::Complete;
    t.set_states(back);
    CHECK(t.states() == back);
    CHECK(pc.connection_state() == pcstate::ConnectionState::Connected);
    drain(pc);
    const uint64_t seq = pc.snapshot().last_seq;
    t.set_states(back); // no change, no event
    CHECK(pc.snapshot().last_seq == seq && !pc.poll_event());

    // The struct overload of add_transport, defaults new/new/new except what is set.
    pcstate::TransportStates checking;
    checking.ice = IceTransportState::Checking;
    pcstate::Transport t2 = pc.add_transport(checking);
    CHECK(t2.states() == checking && t2.states().dtls == DtlsTransportState::New);
    CHECK(pc.snapshot().transport_count == 2);
    pcstate::Transport t3 = pc.add_transport(IceTransportState::Completed);
    CHECK((t3.states() == pcstate::TransportStates{IceTransportState::Completed, DtlsTransportState::New,
                                                    IceGathererState::New}));

    // Bad values: refused, nothing changed.
    drain(pc);
    const auto snap = pc.snapshot();
    CHECK(error_code([&] {
              t.set_states(static_cast<IceTransportState>(9), DtlsTransportState::New, IceGathererState::New);
          }) == PCSTATE_RESULT_INVALID_STATE);
    CHECK(error_code([&] {
              t.set_states(IceTransportState::New, DtlsTransportState::New, static_cast<IceGathererState>(3));
          }) == PCSTATE_RESULT_INVALID_STATE);
    CHECK(error_code([&] {
              (void)pc.add_transport(IceTransportState::New, static_cast<DtlsTransportState>(5));
          }) == PCSTATE_RESULT_INVALID_STATE);
    CHECK(t.states() == back && pc.snapshot().transport_count == snap.transport_count &&
          pc.snapshot().last_seq == snap.last_seq);
    pc.close();
    CHECK(error_code([&] { t.set_states(back); }) == PCSTATE_RESULT_CLOSED);
    CHECK(error_code([&] { (void)pc.add_transport(back); }) == PCSTATE_RESULT_CLOSED);
}

static void test_ice_agent() {
    using pcstate::IceAgent;
    pcstate::PeerConnection pc;
    pcstate::Transport t = pc.add_transport();
    t.set_agent_state(IceAgent::Libnice, 1); // GATHERING
    CHECK(t.states().ice == IceTransportState::New);
    t.set_agent_state(IceAgent::Libnice, 2); // CONNECTING
    CHECK(t.states().ice == IceTransportState::Checking);
    t.set_agent_state(IceAgent::Libnice, 4); // READY without the two facts: connected
    CHECK(t.states().ice == IceTransportState::Connected);
    t.set_gatherer_state(IceGathererState::Complete);
    CHECK(t.states().ice == IceTransportState::Connected);
    t.set_remote_end_of_candidates();
    CHECK(t.states().ice == IceTransportState::Completed);
    CHECK(t.reported_states().ice == IceTransportState::Completed);
    CHECK(pc.ice_connection_state() == pcstate::IceConnectionState::Completed);
    const uint64_t seq = pc.snapshot().last_seq;
    t.set_remote_end_of_candidates(); // idempotent
    CHECK(pc.snapshot().last_seq == seq);
    t.set_agent_state(IceAgent::Libnice, 5); // FAILED with both facts
    CHECK(t.states().ice == IceTransportState::Failed);
    t.set_agent_state(IceAgent::Libnice, 1); // restart clears end-of-candidates
    t.set_agent_state(IceAgent::Libnice, 4);
    CHECK(t.states().ice == IceTransportState::Connected);

    // libjuice: COMPLETED (4) is completed only with the facts too.
    pcstate::Transport j = pc.add_transport();
    j.set_agent_state(IceAgent::Libjuice, 4);
    CHECK(j.states().ice == IceTransportState::Connected);
    j.set_remote_end_of_candidates();
    j.set_gatherer_state(IceGathererState::Complete);
    CHECK(j.states().ice == IceTransportState::Completed);

    // Bad inputs: distinct errors, nothing changed.
    const auto before = t.states();
    const uint64_t last = pc.snapshot().last_seq;
    CHECK(error_code([&] { t.set_agent_state(static_cast<IceAgent>(3), 2); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(error_code([&] { t.set_agent_state(IceAgent::Libnice, 6); }) == PCSTATE_RESULT_INVALID_STATE);
    CHECK(error_code([&] { j.set_agent_state(IceAgent::Libjuice, 6); }) == PCSTATE_RESULT_INVALID_STATE);
    CHECK(t.states() == before && pc.snapshot().last_seq == last);
    pcstate::Transport bogus(pc.handle(), 4242);
    CHECK(error_code([&] { bogus.set_remote_end_of_candidates(); }) == PCSTATE_RESULT_UNKNOWN_TRANSPORT);
    pc.close();
    CHECK(error_code([&] { t.set_agent_state(IceAgent::Libnice, 3); }) == PCSTATE_RESULT_CLOSED);
    CHECK(error_code([&] { t.set_remote_end_of_candidates(); }) == PCSTATE_RESULT_CLOSED);
}

/* Liveness on a fake clock (Clock::time_point values chosen by the test). */
static void test_liveness() {
    using TP = pcstate::Clock::time_point;
    const TP T(100s);
    pcstate::PeerConnection pc;
    std::vector<pcstate::ConnectionState> conn;
    pc.on_event([&conn](const pcstate::Event &e) {
        if (auto c = e.connection_state()) conn.push_back(c->new_state);
    });
    CHECK(!pc.tick(T)); // liveness off: no deadline
    CHECK(error_code([&] { pc.set_liveness(0s, 1s); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(error_code([&] { pc.set_liveness(2s, 1s); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(error_code([&] { pc.set_liveness(1s, 1s); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(error_code([&] { pc.set_liveness(-1s, 3s); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(error_code([&] { pc.set_liveness(1s, -3s); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    pc.set_liveness(std::chrono::milliseconds(1000), 3s); // any duration converts
    CHECK(!pc.tick(T)); // nothing connected: nothing to watch

    pcstate::Transport t =
        pc.add_transport(IceTransportState::Connected, DtlsTransportState::Connected, IceGathererState::Complete);
    auto next = pc.tick(T); // the alive clock starts here
    CHECK(next && *next == T + 1s);
    t.note_alive(T + 500ms);
    next = pc.tick(T + 1s);
    CHECK(t.states().ice == IceTransportState::Connected); // the packet moved the deadline
    CHECK(next && *next == T + 1500ms);
    next = pc.tick(T + 1500ms);
    CHECK(t.states().ice == IceTransportState::Disconnected);
    CHECK(t.reported_states().ice == IceTransportState::Connected);
    CHECK(pc.connection_state() == pcstate::ConnectionState::Disconnected && !pc.closed());
    CHECK(next && *next == T + 3500ms);
    t.note_alive(T + 2s); // a packet brings it back at once
    CHECK(t.states().ice == IceTransportState::Connected);
    conn.clear();
    next = pc.tick(T + 10s); // silence: disconnected, then failed, in one commit
    CHECK(t.states().ice == IceTransportState::Failed && !next);
    CHECK(conn == std::vector<pcstate::ConnectionState>{pcstate::ConnectionState::Failed});
    t.note_alive(T + 11s); // failed sticks
    CHECK(t.states().ice == IceTransportState::Failed);
    t.set_ice_state(IceTransportState::Connected);
    CHECK(t.states().ice == IceTransportState::Connected);

    // Time points before the clock's epoch have no C value.
    const TP negative(-1ns);
    CHECK(error_code([&] { t.note_alive(negative); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(error_code([&] { (void)pc.tick(negative); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    // A deadline beyond what a time point holds saturates.
    pc.set_liveness(std::chrono::nanoseconds::max(), 0ns);
    next = pc.tick(T + 12s);
    CHECK(next && *next == TP::max());

    pc.set_liveness(0ns, 0ns); // off
    CHECK(!pc.tick(T + 100s) && t.states().ice == IceTransportState::Connected);
    pcstate::Transport bogus(pc.handle(), 777);
    CHECK(error_code([&] { bogus.note_alive(T); }) == PCSTATE_RESULT_UNKNOWN_TRANSPORT);

    // The real clock: the defaults of note_alive() and tick().
    CHECK(pcstate::Clock::is_steady);
    const auto a = pcstate::now();
    const auto ns = pcstate_now_ns();
    const auto b = pcstate::Clock::now();
    CHECK(a <= b && a.time_since_epoch().count() <= static_cast<int64_t>(ns) &&
          static_cast<int64_t>(ns) <= b.time_since_epoch().count());
    pc.set_liveness(10s, 0s);
    t.note_alive();
    next = pc.tick();
    CHECK(next && *next > b && *next <= pcstate::now() + 10s);
    pc.close();
    CHECK(!pc.tick()); // after close: no deadline
}

/* Restart continuity, remote candidates and liveness presets. */
static void test_restart_and_presets() {
    using pcstate::IceAgent;
    pcstate::PeerConnection pc;
    std::vector<pcstate::ConnectionState> conn;
    pc.on_event([&conn](const pcstate::Event &e) {
        if (auto c = e.connection_state()) conn.push_back(c->new_state);
    });
    // libjuice's early CONNECTING reads new until a remote candidate is noted.
    pcstate::Transport j = pc.add_transport();
    j.set_agent_state(IceAgent::Libjuice, 1);
    j.set_agent_state(IceAgent::Libjuice, 2);
    CHECK(j.states().ice == IceTransportState::New);
    j.note_remote_candidate();
    CHECK(j.states().ice == IceTransportState::Checking);
    j.set_gatherer_state(IceGathererState::Complete);
    j.set_dtls_state(DtlsTransportState::Connected);
    j.set_remote_end_of_candidates();
    j.set_agent_state(IceAgent::Libjuice, 4);
    CHECK(j.states().ice == IceTransportState::Completed);
    CHECK(pc.connection_state() == pcstate::ConnectionState::Connected);
    // A restart: connected throughout, completed again with the new end-of-candidates.
    conn.clear();
    j.restart_ice();
    CHECK(j.states().ice == IceTransportState::Connected && j.reported_states().ice == IceTransportState::Connected);
    for (uint32_t s : {1u, 2u, 3u, 4u}) { /* a new libjuice agent */
        j.set_agent_state(IceAgent::Libjuice, s);
        CHECK(j.states().ice == IceTransportState::Connected);
    }
    j.set_remote_end_of_candidates();
    CHECK(j.states().ice == IceTransportState::Completed);
    CHECK(conn.empty());
    pcstate::Transport bogus(pc.handle(), 4242);
    CHECK(error_code([&] { bogus.restart_ice(); }) == PCSTATE_RESULT_UNKNOWN_TRANSPORT);
    CHECK(error_code([&] { bogus.note_remote_candidate(); }) == PCSTATE_RESULT_UNKNOWN_TRANSPORT);
    bogus.release();

    // Presets: the documented thresholds.
    using TP = pcstate::Clock::time_point;
    const TP T(100s);
    CHECK(static_cast<uint32_t>(pcstate::LivenessPreset::Chromium) == 1 &&
          static_cast<uint32_t>(pcstate::LivenessPreset::Firefox) == 2 &&
          static_cast<uint32_t>(pcstate::LivenessPreset::Off) == 0);
    pc.set_liveness_preset(pcstate::LivenessPreset::Chromium);
    (void)pc.tick(T);
    auto next = pc.tick(T);
    CHECK(next && *next == T + 6500ms);
    next = pc.tick(T + 6500ms);
    CHECK(j.states().ice == IceTransportState::Disconnected && next && *next == T + 17600ms);
    pc.set_liveness_preset(pcstate::LivenessPreset::Firefox);
    (void)pc.tick(T);
    next = pc.tick(T);
    CHECK(next && *next == T + 7s);
    next = pc.tick(T + 7s);
    CHECK(next && *next == T + 27500ms);
    (void)pc.tick(T + 27500ms);
    CHECK(j.states().ice == IceTransportState::Failed);
    CHECK(error_code([&] { pc.set_liveness_preset(static_cast<pcstate::LivenessPreset>(3)); }) ==
          PCSTATE_RESULT_INVALID_ARGUMENT);
    pc.set_liveness_preset(pcstate::LivenessPreset::Off);
    CHECK(!pc.tick(T + 100s) && j.states().ice == IceTransportState::Completed);
    pc.close();
    CHECK(error_code([&] { j.restart_ice(); }) == PCSTATE_RESULT_CLOSED);
    CHECK(error_code([&] { j.note_remote_candidate(); }) == PCSTATE_RESULT_CLOSED);
    CHECK(error_code([&] { pc.set_liveness_preset(pcstate::LivenessPreset::Chromium); }) == PCSTATE_RESULT_CLOSED);
    j.release();
}

static void test_close_options() {
    pcstate::Config c;
    CHECK(c.flags() == 0 && c.profile == pcstate::Profile::W3C && c.event_limit == PCSTATE_DEFAULT_EVENT_LIMIT);
    c.close_events = true;
    c.ignore_after_close = true;
    CHECK(c.flags() == (PCSTATE_FLAG_CLOSE_EVENTS | PCSTATE_FLAG_IGNORE_AFTER_CLOSE));
    c.event_queue = true;
    CHECK(c.flags() == (pcstate::flags::CloseEvents | pcstate::flags::EventQueue | pcstate::flags::IgnoreAfterClose));
    c.event_queue = false;

    pcstate::PeerConnection pc(c);
    pcstate::Transport t = pc.add_transport(IceTransportState::Checking);
    int events = 0;
    pc.on_event([&events](const pcstate::Event &) { ++events; });
    CHECK(!pc.closed());
    pc.close();
    CHECK(pc.closed() && events == 2); // close events: ice and connection -> closed
    const auto snap = pc.snapshot();
    const auto states = t.states();
    // After close, a stack tearing down may go on reporting: OK, nothing changes.
    pcstate::Transport late = pc.add_transport();
    CHECK(!late && late.id() == 0);
    CHECK(error_code([&] { (void)late.states(); }) == PCSTATE_RESULT_UNKNOWN_TRANSPORT);
    pcstate::Transport late_up = pc.add_transport(IceTransportState::Connected);
    CHECK(!late_up);
    late.set_ice_state(IceTransportState::Failed);
    t.set_ice_state(IceTransportState::Failed);
    t.set_states(IceTransportState::Connected, DtlsTransportState::Failed, IceGathererState::Complete);
    t.set_agent_state(pcstate::IceAgent::Libnice, 4);
    t.set_remote_end_of_candidates();
    t.note_alive(pcstate::Clock::time_point(5s));
    CHECK(!pc.tick(pcstate::Clock::time_point(5s)));
    const pcstate_transport id = t.id();
    t.remove();
    CHECK(!t);
    pcstate::Transport same(pc.handle(), id);
    CHECK(same.states() == states && same.states().ice == IceTransportState::Closed);
    same.release();
    auto after = pc.snapshot();
    CHECK(after.last_seq == snap.last_seq && after.transport_count == snap.transport_count &&
          after.connection_state == pcstate::ConnectionState::Closed);
    CHECK(events == 2);
    // Bad values are still refused.
    pcstate::Transport again(pc.handle(), id);
    CHECK(error_code([&] { again.set_ice_state(static_cast<IceTransportState>(99)); }) ==
          PCSTATE_RESULT_INVALID_STATE);
    again.release();

    // Without the option: CLOSED.
    pcstate::PeerConnection strict;
    pcstate::Transport st = strict.add_transport();
    strict.close();
    CHECK(strict.closed());
    CHECK(error_code([&] { st.note_alive(pcstate::Clock::time_point(5s)); }) == PCSTATE_RESULT_CLOSED);
    CHECK(error_code([&] { st.set_agent_state(pcstate::IceAgent::Libjuice, 3); }) == PCSTATE_RESULT_CLOSED);
    CHECK(error_code([&] { st.remove(); }) == PCSTATE_RESULT_CLOSED);
    CHECK(error_code([&] { strict.set_liveness(1s, 0s); }) == PCSTATE_RESULT_CLOSED);
}

/* What a callable throws goes to the hook; the event counts as delivered; the peer goes on. */
struct Caught {
    uint64_t seq;
    std::string what;
};
static std::vector<Caught> caught;
static void recording_hook(const pcstate::Event &e, std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception &x) {
        caught.push_back({e.seq(), x.what()});
    } catch (int v) {
        caught.push_back({e.seq(), "int " + std::to_string(v)});
    }
}
static void throwing_hook(const pcstate::Event &, std::exception_ptr) { throw std::runtime_error("hook"); }

static void test_handler_exceptions() {
    auto previous = pcstate::set_handler_exception_hook(&recording_hook);
    CHECK(previous == &pcstate::default_handler_exception_hook);
    pcstate::PeerConnection pc;
    std::vector<uint64_t> delivered;
    pc.on_event([&delivered](const pcstate::Event &e) {
        delivered.push_back(e.seq());
        if (e.seq() == 1) throw std::runtime_error("boom");
        if (e.seq() == 2) throw 42;
    });
    pcstate::Transport t = pc.add_transport();
    t.set_ice_state(IceTransportState::Checking); // seq 1 and 2 both throw; the call returns normally
    t.set_dtls_state(DtlsTransportState::Connected);
    t.set_ice_state(IceTransportState::Connected); // seq 3, 4
    CHECK((delivered == std::vector<uint64_t>{1, 2, 3, 4}));
    CHECK(caught.size() == 2);
    if (caught.size() == 2) {
        CHECK(caught[0].seq == 1 && caught[0].what == "boom");
        CHECK(caught[1].seq == 2 && caught[1].what == "int 42");
    }
    CHECK(pc.connection_state() == pcstate::ConnectionState::Connected);

    // A hook that throws in turn: dropped.
    CHECK(pcstate::set_handler_exception_hook(&throwing_hook) == &recording_hook);
    pc.on_event([](const pcstate::Event &) { throw std::logic_error("again"); });
    t.set_gatherer_state(IceGathererState::Gathering);
    CHECK(pc.ice_gathering_state() == pcstate::IceGatheringState::Gathering);

    // nullptr restores the default hook, which writes one line on stderr.
    CHECK(pcstate::set_handler_exception_hook(nullptr) == &throwing_hook);
    std::fflush(stderr);
    FILE *tmp = std::tmpfile();
    const int saved = dup(2);
    CHECK(tmp && saved >= 0);
    if (!tmp || saved < 0) return;
    dup2(fileno(tmp), 2);
    pc.on_event([](const pcstate::Event &) { throw std::runtime_error("to stderr"); });
    t.set_gatherer_state(IceGathererState::Complete);
    pc.on_event([](const pcstate::Event &) { throw 7; });
    t.set_gatherer_state(IceGathererState::Gathering);
    pc.on_event(nullptr);
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::rewind(tmp);
    char buf[1024] = {0};
    const size_t n = std::fread(buf, 1, sizeof buf - 1, tmp);
    std::fclose(tmp);
    const std::string text(buf, n);
    const std::string h = std::to_string(pc.handle());
    CHECK(text.find("pcstate: an event handler of peer " + h + " threw on event #6 (icegatheringstatechange): " +
                    "to stderr; the event counts as delivered\n") != std::string::npos);
    CHECK(text.find("on event #7 (icegatheringstatechange): an exception not derived from std::exception") !=
          std::string::npos);
    CHECK(pcstate::set_handler_exception_hook(nullptr) == &pcstate::default_handler_exception_hook);
}

/* A callable that ends its thread does not return: the wrapper lets the forced unwind through
 * (it does not swallow it), and pcstate stops the process with its message. In a child process. */
static pcstate::PeerConnection *exiting_pc;
static void *exiting_updater(void *) {
    pcstate::Transport t = exiting_pc->add_transport();
    t.set_ice_state(IceTransportState::Checking);
    return nullptr;
}
static void test_thread_exit_in_handler() {
    int err[2];
    CHECK(pipe(err) == 0);
    std::fflush(nullptr);
    const pid_t child = fork();
    if (child == 0) {
        dup2(err[1], 2);
        pcstate::PeerConnection pc;
        exiting_pc = &pc;
        pc.on_event([](const pcstate::Event &) { pthread_exit(nullptr); });
        pthread_t th;
        if (pthread_create(&th, nullptr, exiting_updater, nullptr) != 0) _exit(3);
        pthread_join(th, nullptr);
        _exit(0); // the process survived: not what the contract says
    }
    close(err[1]);
    std::string text;
    char buf[512];
    ssize_t k;
    while ((k = read(err[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(k));
    close(err[0]);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(text.find("pcstate: a callback or user_data_free did not return normally") != std::string::npos);
}

/* Callbacks run on the threads that call into the peer, one at a time, in seq order. */
static void test_threads() {
    pcstate::PeerConnection pc;
    std::vector<uint64_t> seqs; // no lock: the callable is never run twice at once
    std::atomic<int> off_main{0};
    const auto main_id = std::this_thread::get_id();
    pc.on_event([&](const pcstate::Event &e) {
        seqs.push_back(e.seq());
        if (std::this_thread::get_id() != main_id) ++off_main;
    });
    pcstate::Transport a = pc.add_transport(), b = pc.add_transport();
    auto flap = [](pcstate::Transport &t) {
        for (int i = 0; i < 200; i++) {
            t.set_ice_state(IceTransportState::Checking);
            t.set_ice_state(IceTransportState::Connected);
        }
    };
    std::thread ta(flap, std::ref(a)), tb(flap, std::ref(b));
    ta.join();
    tb.join();
    const uint64_t last = pc.snapshot().last_seq;
    CHECK(last > 0 && seqs.size() == last && off_main.load() == static_cast<int>(last));
    bool in_order = true;
    for (size_t i = 0; i < seqs.size(); i++) in_order &= seqs[i] == i + 1;
    CHECK(in_order);
}

/* A callable may free its own peer through its PeerConnection; it is destroyed once it returns. */
static void test_self_free_and_replace_from_inside() {
    pcstate::PeerConnection pc;
    int destroyed = 0, seen = 0;
    bool alive_after_free = false;
    struct Tracker {
        int *d;
        ~Tracker() { ++*d; }
    };
    std::shared_ptr<Tracker> tracker(new Tracker{&destroyed});
    pc.on_event([&, tr = std::move(tracker)](const pcstate::Event &) {
        ++seen;
        pc.free();
        alive_after_free = destroyed == 0; // still alive until it returns
    });
    pcstate::Transport t = pc.add_transport();
    t.set_ice_state(IceTransportState::Checking);
    CHECK(seen == 1 && alive_after_free && destroyed == 1 && !pc);

    // Replacing itself from inside: the new callable gets the next event.
    pcstate::PeerConnection pc2;
    std::vector<std::string> who;
    pc2.on_event([&](const pcstate::Event &) {
        who.push_back("first");
        pc2.on_event([&who](const pcstate::Event &) { who.push_back("second"); });
    });
    pcstate::Transport t2 = pc2.add_transport();
    t2.set_ice_state(IceTransportState::Checking);
    CHECK((who == std::vector<std::string>{"first", "second"}));
}

/* Crossed frees between two handlers on two threads: exactly one free() throws WOULD_DEADLOCK,
 * and that PeerConnection still owns its peer (its destructor frees it later). */
static void test_would_deadlock() {
    auto p1 = std::make_unique<pcstate::PeerConnection>();
    auto p2 = std::make_unique<pcstate::PeerConnection>();
    std::atomic<int> inside{0};
    std::atomic<int> deadlocks{0}, freed{0};
    auto wait_both = [&inside] {
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (inside.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    };
    auto handler = [&](pcstate::PeerConnection &other) {
        return [&, peer = &other, once = std::make_shared<std::atomic<bool>>(false)](const pcstate::Event &) {
            if (once->exchange(true)) return;
            ++inside;
            wait_both();
            try {
                peer->free();
                ++freed;
            } catch (const pcstate::Error &e) {
                if (e.code() == PCSTATE_RESULT_WOULD_DEADLOCK &&
                    std::string(e.what()) == pcstate_result_message(PCSTATE_RESULT_WOULD_DEADLOCK))
                    ++deadlocks;
            }
        };
    };
    p1->on_event(handler(*p2));
    p2->on_event(handler(*p1));
    pcstate::Transport t1 = p1->add_transport(), t2 = p2->add_transport();
    std::thread a([&] { t1.set_ice_state(IceTransportState::Checking); });
    std::thread b([&] { t2.set_ice_state(IceTransportState::Checking); });
    a.join();
    b.join();
    CHECK(inside.load() == 2 && deadlocks.load() == 1 && freed.load() == 1);
    CHECK((!*p1) != (!*p2)); // one peer freed, the other still owned
    pcstate::PeerConnection &left = *p1 ? *p1 : *p2;
    CHECK(handle_valid(left.handle()));
    const pcstate_peer h = left.handle();
    p1.reset();
    p2.reset();
    CHECK(!handle_valid(h));
}

/* Two events are the same committed event: every field of the C event. */
static bool same_event(const pcstate::Event &a, const pcstate::Event &b) {
    const pcstate_event &x = a.raw(), &y = b.raw();
    return x.peer == y.peer && x.seq == y.seq && x.time_ns == y.time_ns && x.kind == y.kind &&
           x.old_state == y.old_state && x.new_state == y.new_state && x.transport == y.transport;
}
static bool same_events(const std::vector<pcstate::Event> &a, const std::vector<pcstate::Event> &b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); i++)
        if (!same_event(a[i], b[i])) return false;
    return true;
}

/* A scripted call: entries per connectionState, and times equal to the gaps between the events'
 * commit times (the library stamps both with one clock reading). */
static void test_stats_scripted_call() {
    using C = pcstate::ConnectionState;
    std::vector<pcstate::Event> conn; // connectionState events, as the callable saw them
    pcstate::Config config;
    config.close_events = true;
    const auto before_new = pcstate::now();
    pcstate::PeerConnection pc(config);
    const auto after_new = pcstate::now();
    pc.on_event([&conn](const pcstate::Event &e) {
        if (e.connection_state()) conn.push_back(e);
    });

    const pcstate::PeerStats fresh = pc.stats();
    CHECK(fresh.created() >= before_new && fresh.created() <= after_new);
    CHECK(fresh.entered(C::New) == 1 && fresh.entered(C::Connecting) == 0 && fresh.entered(C::Connected) == 0 &&
          fresh.entered(C::Disconnected) == 0 && fresh.entered(C::Failed) == 0 && fresh.entered(C::Closed) == 0);
    CHECK(!fresh.first_connected() && !fresh.time_to_connected());
    CHECK(fresh.failure_cause() == pcstate::FailureCause::None && fresh.failure_transport() == 0);
    CHECK(fresh.time_in_state(C::Connecting) == 0ns && fresh.time_in_state(C::Closed) == 0ns);

    pcstate::Transport t = pc.add_transport();
    t.set_ice_state(IceTransportState::Checking);     // connecting
    t.set_dtls_state(DtlsTransportState::Connecting);
    t.set_ice_state(IceTransportState::Connected);
    t.set_dtls_state(DtlsTransportState::Connected);  // connected
    std::this_thread::sleep_for(1ms);                 // nonzero stays, so that the sums below mean something
    t.set_ice_state(IceTransportState::Disconnected); // disconnected
    t.set_ice_state(IceTransportState::Connected);    // connected again
    std::this_thread::sleep_for(1ms);
    pc.close();                                       // closed (a close event: its time is known)
    std::vector<C> path;
    for (auto &e : conn) path.push_back(e.connection_state()->new_state);
    CHECK((path == std::vector<C>{C::Connecting, C::Connected, C::Disconnected, C::Connected, C::Closed}));
    if (path.size() != 5) return;
    const auto connecting = conn[0].time(), connected = conn[1].time(), disconnected = conn[2].time(),
               reconnected = conn[3].time(), closed = conn[4].time();

    const auto before = pcstate::now();
    const pcstate::PeerStats s = pc.stats();
    const auto after = pcstate::now();
    CHECK(s.created() == fresh.created());
    CHECK(s.entered(C::New) == 1 && s.entered(C::Connecting) == 1 && s.entered(C::Connected) == 2 &&
          s.entered(C::Disconnected) == 1 && s.entered(C::Failed) == 0 && s.entered(C::Closed) == 1);
    CHECK(s.first_connected() == connected);
    CHECK(s.time_to_connected() == connected - s.created());
    // Past stays are kept in whole milliseconds (rounded at each change): within 1 ms per stay.
    const auto near = [](std::chrono::nanoseconds got, std::chrono::nanoseconds want, int stays) {
        return got - want <= stays * 1ms && want - got <= stays * 1ms;
    };
    CHECK(near(s.time_in_state(C::New), connecting - s.created(), 1));
    CHECK(near(s.time_in_state(C::Connecting), connected - connecting, 1));
    CHECK(near(s.time_in_state(C::Connected), (disconnected - connected) + (closed - reconnected), 2));
    CHECK(s.time_in_state(C::Connected) >= 2ms);
    CHECK(near(s.time_in_state(C::Disconnected), reconnected - disconnected, 1));
    CHECK(s.time_in_state(C::Failed) == 0ns);
    // The current stay runs up to the call: the six times sum to the call's moment minus created.
    std::chrono::nanoseconds total{0};
    for (uint32_t k = 0; k <= PCSTATE_CONNECTION_STATE_CLOSED; k++) total += s.time_in_state(static_cast<C>(k));
    CHECK(s.created() + total >= before && s.created() + total <= after);
    CHECK(near(s.time_in_state(C::Closed), s.created() + total - closed, 1));
    CHECK(s.failure_cause() == pcstate::FailureCause::None && s.failure_transport() == 0);
    // The raw numbers are the C library's.
    CHECK(s.raw().created_ns == static_cast<uint64_t>(s.created().time_since_epoch().count()));
    CHECK(pcstate::PeerStats::from_c(s.raw()).time_in_state(C::Connected) == s.time_in_state(C::Connected));

    // Later: only the current stay (closed) has grown.
    std::this_thread::sleep_for(1ms);
    const pcstate::PeerStats later = pc.stats();
    CHECK(later.time_in_state(C::Closed) >= s.time_in_state(C::Closed) + 1ms);
    CHECK(later.time_in_state(C::Connected) == s.time_in_state(C::Connected) &&
          later.time_in_state(C::New) == s.time_in_state(C::New) && later.entered(C::Closed) == 1);

    // Bad inputs: a state outside the enum, a handle that owns nothing.
    CHECK(error_code([&] { (void)s.time_in_state(static_cast<C>(6)); }) == PCSTATE_RESULT_INVALID_STATE);
    CHECK(error_code([&] { (void)s.entered(static_cast<C>(UINT32_MAX)); }) == PCSTATE_RESULT_INVALID_STATE);
    pcstate::PeerConnection gone;
    gone.free();
    CHECK(error_code([&] { (void)gone.stats(); }) == PCSTATE_RESULT_INVALID_HANDLE);

    // A last reading as a peer is freed: as it was (connected, never closed); the peer is gone.
    pcstate::PeerConnection up;
    pcstate::Transport tu = up.add_transport(IceTransportState::Connected, DtlsTransportState::Connected);
    const pcstate::PeerStats last = up.free_with_stats();
    CHECK(!up && last.entered(C::Connected) == 1 && last.entered(C::Closed) == 0);
    CHECK(last.time_in_state(C::Closed) == 0ns);
    CHECK(error_code([&] { (void)up.free_with_stats(); }) == PCSTATE_RESULT_INVALID_HANDLE);
}

/* A peer with two transports up: ICE, DTLS and gatherer states all connected/complete. */
static void connect_both(pcstate::Transport &a, pcstate::Transport &b) {
    a.set_states(IceTransportState::Connected, DtlsTransportState::Connected, IceGathererState::Complete);
    b.set_states(IceTransportState::Connected, DtlsTransportState::Connected, IceGathererState::Complete);
}

static void test_failure_causes() {
    using C = pcstate::ConnectionState;
    using F = pcstate::FailureCause;
    {
        pcstate::PeerConnection pc;
        pcstate::Transport a = pc.add_transport(), b = pc.add_transport();
        connect_both(a, b);
        CHECK(pc.connection_state() == C::Connected);
        b.set_ice_state(IceTransportState::Failed);
        const auto s = pc.stats();
        CHECK(pc.connection_state() == C::Failed && s.entered(C::Failed) == 1);
        CHECK(s.failure_cause() == F::Ice && s.failure_transport() == b.id());
    }
    {
        pcstate::PeerConnection pc;
        pcstate::Transport a = pc.add_transport(), b = pc.add_transport();
        connect_both(a, b);
        a.set_dtls_state(DtlsTransportState::Failed);
        const auto s = pc.stats();
        CHECK(pc.connection_state() == C::Failed && s.entered(C::Failed) == 1);
        CHECK(s.failure_cause() == F::Dtls && s.failure_transport() == a.id());
    }
    {
        // First failed wins: DTLS on a, then ICE on b. The run of failed inputs goes on while a
        // recovers (connectionState stays failed, no new entry); only a new run is blamed anew.
        pcstate::PeerConnection pc;
        pcstate::Transport a = pc.add_transport(), b = pc.add_transport();
        connect_both(a, b);
        a.set_dtls_state(DtlsTransportState::Failed);
        b.set_ice_state(IceTransportState::Failed);
        auto s = pc.stats();
        CHECK(s.failure_cause() == F::Dtls && s.failure_transport() == a.id() && s.entered(C::Failed) == 1);
        a.set_dtls_state(DtlsTransportState::Connected);
        s = pc.stats();
        CHECK(pc.connection_state() == C::Failed && s.entered(C::Failed) == 1);
        CHECK(s.failure_cause() == F::Dtls && s.failure_transport() == a.id());
        b.set_ice_state(IceTransportState::Connected);
        s = pc.stats();
        CHECK(pc.connection_state() == C::Connected && s.failure_cause() == F::Dtls); // the latest failure's
        // The mirror: ICE on b first, then DTLS on a.
        b.set_ice_state(IceTransportState::Failed);
        a.set_dtls_state(DtlsTransportState::Failed);
        s = pc.stats();
        CHECK(s.failure_cause() == F::Ice && s.failure_transport() == b.id() && s.entered(C::Failed) == 2);
        CHECK(s.entered(C::Connected) == 2);
    }
    CHECK(std::string(pcstate::to_string(F::None)) == "none" && std::string(pcstate::to_string(F::Ice)) == "ice" &&
          std::string(pcstate::to_string(F::Dtls)) == "dtls" &&
          std::string(pcstate::to_string(F::Liveness)) == "liveness" &&
          std::string(pcstate::to_string(static_cast<F>(4))) == "unknown");
    std::ostringstream out;
    out << F::Liveness << ' ' << F::Dtls;
    CHECK(out.str() == "liveness dtls");
    CHECK(static_cast<uint32_t>(F::Liveness) == PCSTATE_FAILURE_CAUSE_LIVENESS);
}

/* Liveness on a fake clock: a silent transport is blamed, not the one that keeps sending. */
static void test_liveness_failure_cause() {
    using C = pcstate::ConnectionState;
    using F = pcstate::FailureCause;
    using TP = pcstate::Clock::time_point;
    const TP T(200s);
    pcstate::PeerConnection pc;
    pc.set_liveness(1s, 3s);
    pcstate::Transport a = pc.add_transport(), b = pc.add_transport();
    connect_both(a, b);
    (void)pc.tick(T); // both alive clocks start at T
    b.note_alive(T + 3400ms);
    (void)pc.tick(T + 3500ms); // a: silent 3.5 s: failed; b: 100 ms
    CHECK(a.states().ice == IceTransportState::Failed && a.reported_states().ice == IceTransportState::Connected);
    CHECK(b.states().ice == IceTransportState::Connected);
    auto s = pc.stats();
    CHECK(pc.connection_state() == C::Failed && s.entered(C::Failed) == 1);
    CHECK(s.failure_cause() == F::Liveness && s.failure_transport() == a.id());
    // Setting the ICE state again ends the failed reading; a later DTLS failure is blamed as such.
    a.set_ice_state(IceTransportState::Connected);
    CHECK(pc.connection_state() == C::Connected);
    b.set_dtls_state(DtlsTransportState::Failed);
    s = pc.stats();
    CHECK(s.failure_cause() == F::Dtls && s.failure_transport() == b.id() && s.entered(C::Failed) == 2);
}

/* History: the callable's events, the last PCSTATE_HISTORY_LEN of them; also the ones a full queue
 * dropped. */
static void test_history() {
    std::vector<pcstate::Event> seen;
    pcstate::Config config;
    config.history = true;
    CHECK(config.flags() == PCSTATE_FLAG_HISTORY && pcstate::flags::History == PCSTATE_FLAG_HISTORY);
    pcstate::PeerConnection pc(config);
    pc.on_event([&seen](const pcstate::Event &e) { seen.push_back(e); });
    CHECK(pc.history().empty());
    pcstate::Transport t = pc.add_transport();
    t.set_ice_state(IceTransportState::Checking);      // ice, connection
    t.set_gatherer_state(IceGathererState::Gathering); // gathering
    auto h = pc.history();
    CHECK(seen.size() == 3 && same_events(h, seen));
    for (int i = 0; i < 20; i++) { // 40 iceConnectionState changes
        t.set_ice_state(IceTransportState::Connected);
        t.set_ice_state(IceTransportState::Checking);
    }
    CHECK(seen.size() == 43);
    h = pc.history();
    CHECK(h.size() == PCSTATE_HISTORY_LEN);
    CHECK(same_events(h, std::vector<pcstate::Event>(seen.end() - PCSTATE_HISTORY_LEN, seen.end())));
    CHECK(!h.empty() && h.front().seq() == 43 - PCSTATE_HISTORY_LEN + 1 && h.back().seq() == 43);
    CHECK(!h.empty() && h.back().ice_connection_state() &&
          h.back().ice_connection_state()->new_state == pcstate::IceConnectionState::Checking);

    // A queue that drops at its limit: history still has every committed event, no overflow.
    pcstate::Config queued = config;
    queued.event_queue = true;
    queued.event_limit = 2;
    pcstate::PeerConnection q(queued);
    pcstate::Transport qt = q.add_transport();
    qt.set_ice_state(IceTransportState::Checking);      // seq 1, 2
    qt.set_gatherer_state(IceGathererState::Gathering); // seq 3: dropped by the queue
    qt.set_gatherer_state(IceGathererState::Complete);  // seq 4: dropped by the queue
    auto polled = drain(q);
    CHECK(polled.size() == 3 && polled.back().is_overflow());
    h = q.history();
    CHECK(h.size() == 4);
    bool numbered = h.size() == 4;
    for (size_t i = 0; i < h.size(); i++) numbered &= h[i].seq() == i + 1 && !h[i].is_overflow();
    CHECK(numbered);
    if (polled.size() == 3 && h.size() == 4) CHECK(same_event(polled[0], h[0]) && same_event(polled[1], h[1]));

    // Without the flag, or without a peer: the C result.
    pcstate::PeerConnection plain;
    CHECK(error_code([&] { (void)plain.history(); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    pcstate::PeerConnection sink(std::move(pc));
    CHECK(error_code([&] { (void)pc.history(); }) == PCSTATE_RESULT_INVALID_HANDLE);
    CHECK(sink.history().size() == PCSTATE_HISTORY_LEN);
}

/* Process-wide gauges move by exactly what this test does (single-threaded at this point). */
static uint64_t in_states(const pcstate::GlobalStats &g) {
    uint64_t n = 0;
    for (uint32_t k = 0; k <= PCSTATE_CONNECTION_STATE_CLOSED; k++)
        n += g.peers_in_state(static_cast<pcstate::ConnectionState>(k));
    return n;
}
static void test_global_stats() {
    using C = pcstate::ConnectionState;
    const pcstate::GlobalStats g0 = pcstate::global_stats();
    CHECK(in_states(g0) == g0.live_peers());
    auto moved = [&g0](const pcstate::GlobalStats &g, C s) {
        return static_cast<int64_t>(g.peers_in_state(s)) - static_cast<int64_t>(g0.peers_in_state(s));
    };

    pcstate::PeerConnection a, b, c, d;
    const pcstate::GlobalStats g1 = pcstate::global_stats();
    CHECK(g1.live_peers() == g0.live_peers() + 4 && in_states(g1) == g1.live_peers());
    CHECK(moved(g1, C::New) == 4 && moved(g1, C::Connecting) == 0 && moved(g1, C::Closed) == 0);
    CHECK(g1.events_committed() == g0.events_committed() && g1.failures() == g0.failures());

    pcstate::Transport ta = a.add_transport(IceTransportState::Checking); // connecting
    pcstate::Transport tb =
        b.add_transport(IceTransportState::Connected, DtlsTransportState::Connected, IceGathererState::Complete);
    pcstate::Transport tc =
        c.add_transport(IceTransportState::Connected, DtlsTransportState::Connected, IceGathererState::Complete);
    tc.set_dtls_state(DtlsTransportState::Failed); // connected, then failed
    d.close();                                     // closed, silently
    const pcstate::GlobalStats g2 = pcstate::global_stats();
    CHECK(g2.live_peers() == g0.live_peers() + 4 && in_states(g2) == g2.live_peers());
    CHECK(moved(g2, C::New) == 0 && moved(g2, C::Connecting) == 1 && moved(g2, C::Connected) == 1 &&
          moved(g2, C::Disconnected) == 0 && moved(g2, C::Failed) == 1 && moved(g2, C::Closed) == 1);
    const uint64_t events =
        a.snapshot().last_seq + b.snapshot().last_seq + c.snapshot().last_seq + d.snapshot().last_seq;
    CHECK(events == 2 + 3 + 4 + 0);
    CHECK(g2.events_committed() == g0.events_committed() + events);
    CHECK(g2.failures() == g0.failures() + 1);
    CHECK(pcstate::GlobalStats::from_c(g2.raw()).live_peers() == g2.live_peers());
    CHECK(error_code([&] { (void)g2.peers_in_state(static_cast<C>(6)); }) == PCSTATE_RESULT_INVALID_STATE);

    // Freed (the transports after their peers: their removal then commits nothing).
    a.free();
    b.free();
    c.free();
    d.free();
    const pcstate::GlobalStats g3 = pcstate::global_stats();
    CHECK(g3.live_peers() == g0.live_peers() && in_states(g3) == g3.live_peers());
    for (uint32_t k = 0; k <= PCSTATE_CONNECTION_STATE_CLOSED; k++) CHECK(moved(g3, static_cast<C>(k)) == 0);
    CHECK(g3.events_committed() == g2.events_committed() && g3.failures() == g2.failures());
}

/* set_states with empty optionals keeps those states: DTLS and gathering change on an
 * agent-driven transport in one commit, and the agent keeps driving its ICE state. */
static void test_set_states_keeps_unchanged() {
    using pcstate::IceAgent;
    pcstate::PeerConnection pc;
    pcstate::Transport t = pc.add_transport();
    t.set_remote_end_of_candidates();
    t.set_agent_state(IceAgent::Libnice, 4); // READY, gathering not complete: connected
    const uint64_t seq = pc.snapshot().last_seq;
    t.set_states(std::nullopt, DtlsTransportState::Connected, IceGathererState::Complete);
    CHECK(t.states().ice == IceTransportState::Completed); // re-derived in the same commit
    CHECK(t.states().dtls == DtlsTransportState::Connected);
    CHECK(pc.snapshot().last_seq == seq + 3); // ICE, connection and gathering: one commit
    t.set_agent_state(IceAgent::Libnice, 1);  // still agent-driven: a restart
    t.set_agent_state(IceAgent::Libnice, 4);
    CHECK(t.states().ice == IceTransportState::Connected);
    t.set_states(IceTransportState::Checking, std::nullopt, std::nullopt);
    CHECK(t.states().ice == IceTransportState::Checking && t.states().dtls == DtlsTransportState::Connected);
}

int main() {
    test_moves_and_destructors();
    test_lambdas();
    test_errors_and_queue();
    test_error_mapping();
    test_limit();
    test_event_accessors();
    test_overflow_and_event_limit();
    test_set_states_and_add_with_states();
    test_ice_agent();
    test_set_states_keeps_unchanged();
    test_liveness();
    test_restart_and_presets();
    test_close_options();
    test_handler_exceptions();
    test_thread_exit_in_handler();
    test_threads();
    test_self_free_and_replace_from_inside();
    test_would_deadlock();
    test_stats_scripted_call();
    test_failure_causes();
    test_liveness_failure_cause();
    test_history();
    test_global_stats();
    std::printf("C++ wrapper test: %d checks, %d failed\n", checks.load(), failures.load());
    std::printf("%d passed, %d failed\n", checks.load() - failures.load(), failures.load());
    return failures == 0 ? 0 : 1;
}
